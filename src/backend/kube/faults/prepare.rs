//! Prepare: reads what a fault will touch and everything needed to undo it, and changes
//! nothing (the console journals the plan before anything is applied).

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Node, Pod};
use kube::api::{Api, ListParams};
use rand::seq::SliceRandom;
use serde_json::Value;

use super::{api_err, object_name, Ctx, Plan, PodKey, DENY};
use crate::backend::kube::engines;
use crate::backend::{BackendError, FaultSpec, Mode, Target};

/// Whether faults may touch this namespace (the label on it, or --allow-namespace).
async fn check_namespace(ctx: &Ctx, ns: &str) -> Result<(), BackendError> {
    let nss: Api<Namespace> = Api::all(ctx.client.clone());
    let labels = match nss.get(ns).await {
        Ok(n) => n.metadata.labels.unwrap_or_default(),
        Err(e) => return Err(api_err(&format!("namespace {ns}"), e)),
    };
    match ctx.policy.lock_reason(ns, &labels) {
        Some(why) => Err(BackendError::Unsupported(why)),
        None => Ok(()),
    }
}

/// The candidate pods that still exist and run, never the console's own; `count` of them
/// chosen at random.
pub async fn choose_pods(ctx: &Ctx, spec: &FaultSpec) -> Result<Vec<PodKey>, BackendError> {
    let mut live = Vec::new();
    let mut own = false;
    for r in &spec.pods {
        if ctx.policy.own_pod.as_ref() == Some(&(r.namespace.clone(), r.name.clone())) {
            own = true;
            continue;
        }
        let pods: Api<Pod> = Api::namespaced(ctx.client.clone(), &r.namespace);
        match pods.get_opt(&r.name).await {
            Ok(Some(p)) if p.metadata.deletion_timestamp.is_none() => live.push((r.namespace.clone(), r.name.clone())),
            Ok(_) => {}
            Err(e) => return Err(api_err(&format!("pod {}/{}", r.namespace, r.name), e)),
        }
    }
    if live.is_empty() {
        return Err(if own {
            BackendError::Unsupported("refusing to act on the console's own pod".into())
        } else {
            BackendError::TargetGone(format!("none of the pods {} selects is running", spec.target))
        });
    }
    let mut namespaces: Vec<&String> = live.iter().map(|(ns, _)| ns).collect();
    namespaces.sort();
    namespaces.dedup();
    for ns in namespaces {
        check_namespace(ctx, ns).await?;
    }
    live.shuffle(&mut rand::thread_rng());
    live.truncate(spec.mode.unwrap_or(Mode::All).count(live.len()));
    live.sort();
    Ok(live)
}

/// Which workload kind a `<namespace>/<name>` target is, with its pod template.
async fn workload(ctx: &Ctx, ns: &str, name: &str) -> Result<(String, Value), BackendError> {
    let c = &ctx.client;
    if let Some(d) = Api::<Deployment>::namespaced(c.clone(), ns).get_opt(name).await.map_err(|e| api_err(name, e))? {
        return Ok(("Deployment".into(), serde_json::to_value(d).unwrap_or_default()));
    }
    if let Some(s) = Api::<StatefulSet>::namespaced(c.clone(), ns).get_opt(name).await.map_err(|e| api_err(name, e))? {
        return Ok(("StatefulSet".into(), serde_json::to_value(s).unwrap_or_default()));
    }
    if let Some(d) = Api::<DaemonSet>::namespaced(c.clone(), ns).get_opt(name).await.map_err(|e| api_err(name, e))? {
        return Ok(("DaemonSet".into(), serde_json::to_value(d).unwrap_or_default()));
    }
    Err(BackendError::TargetGone(format!("no Deployment, StatefulSet or DaemonSet {ns}/{name}")))
}

/// A workload's kind and its pods' labels (the selector's matchLabels), after checking its
/// namespace is open to faults.
pub async fn workload_labels(
    ctx: &Ctx,
    ns: &str,
    name: &str,
) -> Result<(String, BTreeMap<String, String>), BackendError> {
    check_namespace(ctx, ns).await?;
    let (kind, obj) = workload(ctx, ns, name).await?;
    let labels = serde_json::from_value(obj["spec"]["selector"]["matchLabels"].clone()).unwrap_or_default();
    Ok((kind, labels))
}

fn workload_target(spec: &FaultSpec) -> Result<(&str, &str), BackendError> {
    match &spec.target {
        Target::Workload { namespace, name } => Ok((namespace, name)),
        other => Err(BackendError::Unsupported(format!("{} needs a workload, not {other}", spec.action))),
    }
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

pub async fn prepare(ctx: &Ctx, spec: &FaultSpec) -> Result<Plan, BackendError> {
    let int = |n: &str, d: i64| spec.int(n).unwrap_or(d);
    match spec.action.as_str() {
        "pod-delete" => Ok(Plan::PodDelete { pods: choose_pods(ctx, spec).await?, grace: spec.int("grace_seconds") }),
        "pod-evict" => Ok(Plan::PodEvict { pods: choose_pods(ctx, spec).await?, grace: grace(spec) }),
        "scale" => {
            let (ns, name) = workload_target(spec)?;
            check_namespace(ctx, ns).await?;
            let (kind, obj) = workload(ctx, ns, name).await?;
            if kind == "DaemonSet" {
                return Err(BackendError::Unsupported(format!(
                    "{ns}/{name} is a DaemonSet: it has no replicas to scale"
                )));
            }
            let from = obj["spec"]["replicas"].as_i64().unwrap_or(1) as i32;
            Ok(Plan::Scale { namespace: ns.into(), kind, name: name.into(), from, to: int("replicas", 0) as i32 })
        }
        "node-cordon" | "node-drain" => {
            let Target::Node { name } = &spec.target else {
                return Err(BackendError::Unsupported(format!("{} needs a node", spec.action)));
            };
            let node = Api::<Node>::all(ctx.client.clone())
                .get(name)
                .await
                .map_err(|e| api_err(&format!("node {name}"), e))?;
            let was_unschedulable = node.spec.and_then(|s| s.unschedulable).unwrap_or(false);
            if spec.action == "node-cordon" {
                return Ok(Plan::NodeCordon { node: name.clone(), was_unschedulable });
            }
            let on_node = Api::<Pod>::all(ctx.client.clone())
                .list(&ListParams::default().fields(&format!("spec.nodeName={name}")))
                .await
                .map_err(|e| api_err(&format!("pods on {name}"), e))?;
            let mut pods = Vec::new();
            for p in on_node.items {
                let daemon = p.metadata.owner_references.iter().flatten().any(|r| r.kind == "DaemonSet");
                let mirror =
                    p.metadata.annotations.as_ref().is_some_and(|a| a.contains_key("kubernetes.io/config.mirror"));
                if daemon || mirror || p.metadata.deletion_timestamp.is_some() {
                    continue;
                }
                let key = (p.metadata.namespace.unwrap_or_default(), p.metadata.name.unwrap_or_default());
                if ctx.policy.own_pod.as_ref() == Some(&key) {
                    return Err(BackendError::Unsupported(format!(
                        "node {name} runs the console's own pod; drain another"
                    )));
                }
                pods.push(key);
            }
            let mut namespaces: Vec<&String> = pods.iter().map(|(ns, _)| ns).collect();
            namespaces.sort();
            namespaces.dedup();
            for ns in namespaces {
                check_namespace(ctx, ns)
                    .await
                    .map_err(|e| BackendError::Unsupported(format!("draining {name} would evict pods of {ns}: {e}")))?;
            }
            Ok(Plan::NodeDrain { node: name.clone(), was_unschedulable, pods, grace: grace(spec) })
        }
        "config-corrupt" => {
            let (ns, name) = workload_target(spec)?;
            check_namespace(ctx, ns).await?;
            let (kind, obj) = workload(ctx, ns, name).await?;
            let wanted = spec.text("configmap").filter(|c| !c.is_empty());
            let read = configmaps_of(&obj["spec"]["template"]["spec"]);
            let configmap = match (wanted, read.first()) {
                (Some(c), _) => c,
                (None, Some(c)) => c.clone(),
                (None, None) => {
                    return Err(BackendError::Failed(format!(
                        "{ns}/{name} reads no ConfigMap; name one with configmap=<name>"
                    )))
                }
            };
            let cm = Api::<ConfigMap>::namespaced(ctx.client.clone(), ns)
                .get(&configmap)
                .await
                .map_err(|e| api_err(&format!("ConfigMap {ns}/{configmap}"), e))?;
            let data = cm.data.unwrap_or_default();
            let key = spec
                .text("key")
                .filter(|k| !k.is_empty() && data.contains_key(k))
                .or_else(|| data.keys().next().cloned())
                .ok_or_else(|| BackendError::Failed(format!("ConfigMap {ns}/{configmap} has no data to corrupt")))?;
            Ok(Plan::ConfigCorrupt {
                namespace: ns.into(),
                configmap,
                original: data.get(&key).cloned(),
                key,
                value: spec.text("value").unwrap_or_else(|| "nonexistent.invalid".into()),
                restart: (spec.text("restart").as_deref() == Some("yes")).then(|| (kind, name.to_string())),
            })
        }
        "image-unavailable" => {
            let (ns, name) = workload_target(spec)?;
            check_namespace(ctx, ns).await?;
            let (kind, obj) = workload(ctx, ns, name).await?;
            let only = spec.text("container").filter(|c| !c.is_empty());
            let images: Vec<(String, String)> = obj["spec"]["template"]["spec"]["containers"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|c| only.as_ref().is_none_or(|o| c["name"].as_str() == Some(o)))
                .map(|c| {
                    (
                        c["name"].as_str().unwrap_or_default().to_string(),
                        c["image"].as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect();
            if images.is_empty() {
                return Err(BackendError::Failed(format!("{ns}/{name} has no container {}", only.unwrap_or_default())));
            }
            Ok(Plan::ImageUnavailable { namespace: ns.into(), kind, name: name.into(), images })
        }
        "network-deny" => {
            let policy = object_name(spec, "deny");
            match &spec.target {
                Target::Workload { namespace, name } => {
                    let (_, selector) = workload_labels(ctx, namespace, name).await?;
                    Ok(Plan::NetworkDeny { namespace: namespace.clone(), policy, selector, labelled: Vec::new() })
                }
                _ => {
                    let pods = choose_pods(ctx, spec).await?;
                    let ns = pods[0].0.clone();
                    if pods.iter().any(|(n, _)| *n != ns) {
                        return Err(BackendError::Unsupported(
                            "a NetworkPolicy lives in one namespace: choose pods of one".into(),
                        ));
                    }
                    let value = format!("{}-f{}", spec.session, spec.fault_id);
                    let selector = BTreeMap::from([(DENY.to_string(), value)]);
                    Ok(Plan::NetworkDeny {
                        namespace: ns,
                        policy,
                        selector,
                        labelled: pods.into_iter().map(|(_, n)| n).collect(),
                    })
                }
            }
        }
        _ => engines::prepare(ctx, spec).await,
    }
}

/// The `grace_seconds` parameter; a negative one (or none) leaves each pod its own.
fn grace(spec: &FaultSpec) -> Option<i64> {
    spec.int("grace_seconds").filter(|g| *g >= 0)
}
