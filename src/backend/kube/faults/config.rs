//! Prepare for config-corrupt: which ConfigMap and key, its value now and after, and how the
//! workload reads it, which decides when the bad value reaches its pods: an environment variable
//! (envFrom, valueFrom) only when a container starts, a mounted file within about a minute
//! (never through a subPath).

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::Api;
use serde_json::Value;

use crate::backend::kube::kit::pods::{check_namespace, workload, Found};
use crate::backend::kube::kit::{api_err, Ctx, HandleData};
use crate::backend::BackendError;
use crate::model::FaultSpec;

/// How a pod template reads one ConfigMap: "envFrom", "env DB_HOST", "volume at /etc/app" ...
fn reads(template_spec: &Value, configmap: &str) -> Vec<String> {
    let mut out = Vec::new();
    let volumes: Vec<String> = template_spec["volumes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|v| v["configMap"]["name"].as_str() == Some(configmap))
        .filter_map(|v| v["name"].as_str().map(str::to_string))
        .collect();
    for c in template_spec["containers"].as_array().into_iter().flatten() {
        let container = c["name"].as_str().unwrap_or_default();
        if c["envFrom"].as_array().into_iter().flatten().any(|e| e["configMapRef"]["name"].as_str() == Some(configmap))
        {
            out.push(format!("{container}: envFrom"));
        }
        for e in c["env"].as_array().into_iter().flatten() {
            if e["valueFrom"]["configMapKeyRef"]["name"].as_str() == Some(configmap) {
                let key = e["valueFrom"]["configMapKeyRef"]["key"].as_str().unwrap_or_default();
                out.push(format!("{container}: env {} from key {key}", e["name"].as_str().unwrap_or_default()));
            }
        }
        for m in c["volumeMounts"].as_array().into_iter().flatten() {
            if m["name"].as_str().is_some_and(|n| volumes.iter().any(|v| v == n)) {
                let path = m["mountPath"].as_str().unwrap_or_default();
                let sub = if m["subPath"].is_string() { " (subPath: never updated)" } else { "" };
                out.push(format!("{container}: file at {path}{sub}"));
            }
        }
    }
    out
}

/// The ConfigMaps a pod template reads (envFrom, env valueFrom, volumes), in that order.
fn configmaps_of(template_spec: &Value) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for c in template_spec["containers"].as_array().into_iter().flatten() {
        for e in c["envFrom"].as_array().into_iter().flatten() {
            if let Some(n) = e["configMapRef"]["name"].as_str() {
                out.push(n.to_string());
            }
        }
        for e in c["env"].as_array().into_iter().flatten() {
            if let Some(n) = e["valueFrom"]["configMapKeyRef"]["name"].as_str() {
                out.push(n.to_string());
            }
        }
    }
    for v in template_spec["volumes"].as_array().into_iter().flatten() {
        if let Some(n) = v["configMap"]["name"].as_str() {
            out.push(n.to_string());
        }
    }
    out.dedup();
    out
}

pub async fn prepare(ctx: &Ctx, spec: &FaultSpec, ns: &str, name: &str) -> Result<Found, BackendError> {
    check_namespace(ctx, ns).await?;
    let (kind, obj) = workload(ctx, ns, name).await?;
    let template = &obj["spec"]["template"]["spec"];
    let wanted = spec.text("configmap").filter(|c| !c.is_empty());
    let read = configmaps_of(template);
    let configmap = match (wanted, read.first()) {
        (Some(c), _) => c,
        (None, Some(c)) => c.clone(),
        (None, None) => {
            return Err(BackendError::Unsupported(format!(
                "{kind} {ns}/{name} reads no ConfigMap; name one with configmap=<name>"
            )))
        }
    };
    let cm = Api::<ConfigMap>::namespaced(ctx.client.clone(), ns)
        .get_opt(&configmap)
        .await
        .map_err(|e| api_err(&format!("ConfigMap {ns}/{configmap}"), e))?
        .ok_or_else(|| BackendError::Unsupported(format!("ConfigMap {ns}/{configmap} does not exist")))?;
    if cm.immutable == Some(true) {
        return Err(BackendError::Unsupported(format!(
            "ConfigMap {ns}/{configmap} is immutable (immutable: true): Kubernetes refuses any change to its data, \
             so it cannot be corrupted; its pods read another ConfigMap only once their template names it"
        )));
    }
    let managed = super::owners::gitops_line(
        &format!("ConfigMap {ns}/{configmap}"),
        &serde_json::to_value(&cm).unwrap_or_default(),
    );
    let data = cm.data.unwrap_or_default();
    let asked = spec.text("key").filter(|k| !k.is_empty());
    let key = asked
        .clone()
        .filter(|k| data.contains_key(k))
        .or_else(|| data.keys().next().cloned())
        .ok_or_else(|| BackendError::Unsupported(format!("ConfigMap {ns}/{configmap} has no data to corrupt")))?;
    let value = spec.text("value").unwrap_or_else(|| "nonexistent.invalid".into());
    let original = data.get(&key).cloned();
    let mut found = vec![format!(
        "ConfigMap {ns}/{configmap}, key {key}: {:?} becomes {value:?} (the old value is saved for the revert)",
        original.as_deref().unwrap_or_default()
    )];
    found.extend(managed);
    if let Some(a) = asked.filter(|a| *a != key) {
        found.push(format!("{a} is not a key of {configmap}: it corrupts {key}, its first key, instead"));
    }
    let how = reads(template, &configmap);
    let restart = spec.text("restart").as_deref() == Some("yes");
    if how.is_empty() {
        found.push(format!("{kind} {ns}/{name} does not read {configmap} itself: the bad value may reach nobody"));
    } else {
        found.push(format!("{kind} {ns}/{name} reads it: {}", how.join("; ")));
        let by_env = how.iter().any(|h| !h.contains(": file at"));
        match (by_env, restart) {
            (_, true) => found.push(format!("restart=yes: rolls {kind} {ns}/{name} now and again on the revert")),
            (true, false) => {
                found.push("restart=no: running pods keep the old value in their environment until they restart".into())
            }
            (false, false) => {
                found.push("restart=no: the kubelet updates the mounted file within about a minute".into())
            }
        }
    }
    let restart = restart.then(|| (kind, name.to_string()));
    Ok(Found {
        plan: HandleData::ConfigCorrupt { namespace: ns.into(), configmap, original, key, value, restart },
        found,
    })
}
