//! Pods and workloads as a fault finds them: the pods a fault chooses among those the console
//! planned (still there, still running, never the console's own, in namespaces open to faults),
//! a workload's kind and labels, and how they are named in a confirmation.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{Namespace, Pod};
use kube::api::Api;
use rand::seq::SliceRandom;
use serde_json::Value;

use super::{api_err, Ctx, HandleData, PodKey};
use crate::backend::BackendError;
use crate::model::{FaultSpec, Mode};

/// A prepared plan, and what prepare read on the way, a line each, for the confirmation.
pub struct Found {
    pub plan: HandleData,
    pub found: Vec<String>,
}

/// At most this many pods are named in a line; the rest are counted.
const NAMED: usize = 6;

/// "shop/a, shop/b and 3 more"
pub fn names(pods: &[PodKey]) -> String {
    let mut out: Vec<String> = pods.iter().take(NAMED).map(|(ns, n)| format!("{ns}/{n}")).collect();
    if pods.len() > NAMED {
        out.push(format!("and {} more", pods.len() - NAMED));
    }
    out.join(", ")
}

/// "shop/carts-x on n1: carts (example/carts:1.0), istio-proxy (istio/proxyv2)"
pub fn pod_line(p: &Pod) -> String {
    let node = p.spec.as_ref().and_then(|s| s.node_name.clone()).unwrap_or_else(|| "no node yet".into());
    let containers: Vec<String> = p
        .spec
        .iter()
        .flat_map(|s| &s.containers)
        .map(|c| format!("{} ({})", c.name, c.image.clone().unwrap_or_default()))
        .collect();
    format!(
        "{}/{} on {node}: {}",
        p.metadata.namespace.clone().unwrap_or_default(),
        p.metadata.name.clone().unwrap_or_default(),
        containers.join(", ")
    )
}

pub fn pod_key(p: &Pod) -> PodKey {
    (p.metadata.namespace.clone().unwrap_or_default(), p.metadata.name.clone().unwrap_or_default())
}

/// A line per pod (at most `NAMED`, then a count).
pub fn pod_lines(pods: &[Pod]) -> Vec<String> {
    let mut out: Vec<String> = pods.iter().take(NAMED).map(pod_line).collect();
    if pods.len() > NAMED {
        out.push(format!("and {} more pods", pods.len() - NAMED));
    }
    out
}

/// Whether faults may touch this namespace (the label on it, or --allow-namespace).
pub async fn check_namespace(ctx: &Ctx, ns: &str) -> Result<(), BackendError> {
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
    Ok(choose(ctx, spec).await?.iter().map(pod_key).collect())
}

/// `choose_pods`, with the pods as read.
pub async fn choose(ctx: &Ctx, spec: &FaultSpec) -> Result<Vec<Pod>, BackendError> {
    let mut live = Vec::new();
    let mut own = false;
    for r in &spec.pods {
        if ctx.policy.own_pod.as_ref() == Some(&(r.namespace.clone(), r.name.clone())) {
            own = true;
            continue;
        }
        let pods: Api<Pod> = Api::namespaced(ctx.client.clone(), &r.namespace);
        match pods.get_opt(&r.name).await {
            Ok(Some(p)) if p.metadata.deletion_timestamp.is_none() => live.push(p),
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
    let mut namespaces: Vec<String> = live.iter().map(|p| pod_key(p).0).collect();
    namespaces.sort();
    namespaces.dedup();
    for ns in &namespaces {
        check_namespace(ctx, ns).await?;
    }
    live.shuffle(&mut rand::thread_rng());
    live.truncate(spec.mode.unwrap_or(Mode::All).count(live.len()));
    live.sort_by_key(pod_key);
    Ok(live)
}

/// Which workload kind a `<namespace>/<name>` target is, with its pod template.
pub async fn workload(ctx: &Ctx, ns: &str, name: &str) -> Result<(String, Value), BackendError> {
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

/// A workload of a known kind, as JSON (`None`: gone, or not readable).
pub async fn workload_json(c: &kube::Client, kind: &str, ns: &str, name: &str) -> Option<Value> {
    let got = match kind {
        "Deployment" => {
            Api::<Deployment>::namespaced(c.clone(), ns).get_opt(name).await.map(|o| o.map(serde_json::to_value))
        }
        "StatefulSet" => {
            Api::<StatefulSet>::namespaced(c.clone(), ns).get_opt(name).await.map(|o| o.map(serde_json::to_value))
        }
        _ => Api::<DaemonSet>::namespaced(c.clone(), ns).get_opt(name).await.map(|o| o.map(serde_json::to_value)),
    };
    got.ok().flatten().and_then(Result::ok)
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

/// The `grace_seconds` parameter; a negative one (or none) leaves each pod its own.
pub fn grace(spec: &FaultSpec) -> Option<i64> {
    spec.int("grace_seconds").filter(|g| *g >= 0)
}
