//! Prepare for node-cordon and node-drain: the node's pods, which the drain evicts, which it
//! leaves (DaemonSet and static pods), and which it cannot evict: a pod of a namespace closed to
//! faults (kube-system unless opened) or the console's own refuses the drain up front, before
//! the node is cordoned. A PodDisruptionBudget that lets fewer of its pods go now than the node
//! runs is named: the drain waits for it (`super::drain`).

use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, ListParams};

use super::budgets;
use crate::backend::kube::kit::handle::grace_words;
use crate::backend::kube::kit::pods::{check_namespace, grace, names, Found};
use crate::backend::kube::kit::{api_err, Ctx, HandleData, PodKey};
use crate::backend::BackendError;
use crate::model::FaultSpec;

fn key(p: &Pod) -> PodKey {
    (p.metadata.namespace.clone().unwrap_or_default(), p.metadata.name.clone().unwrap_or_default())
}

/// Why a drain leaves this pod where it is, if it does.
fn left_alone(p: &Pod) -> Option<&'static str> {
    if p.metadata.owner_references.iter().flatten().any(|r| r.kind == "DaemonSet") {
        return Some("DaemonSet");
    }
    if p.metadata.annotations.as_ref().is_some_and(|a| a.contains_key("kubernetes.io/config.mirror")) {
        return Some("static pod");
    }
    if p.metadata.deletion_timestamp.is_some() {
        return Some("already terminating");
    }
    match p.status.as_ref().and_then(|s| s.phase.as_deref()) {
        Some("Succeeded" | "Failed") => Some("finished"),
        _ => None,
    }
}

pub async fn prepare(ctx: &Ctx, spec: &FaultSpec, name: &str) -> Result<Found, BackendError> {
    let node = Api::<Node>::all(ctx.client.clone()).get(name).await.map_err(|e| api_err(&format!("node {name}"), e))?;
    let was_unschedulable = node.spec.and_then(|s| s.unschedulable).unwrap_or(false);
    let on_node = Api::<Pod>::all(ctx.client.clone())
        .list(&ListParams::default().fields(&format!("spec.nodeName={name}")))
        .await
        .map_err(|e| api_err(&format!("pods on {name}"), e))?;
    let mut found = Vec::new();
    if was_unschedulable {
        found.push(format!("node {name} is cordoned already: the revert leaves it cordoned"));
    }
    if spec.action == "node-cordon" {
        found.push(format!(
            "node {name} runs {} pods: they keep running; only new pods are kept off it",
            on_node.items.len()
        ));
        let plan = HandleData::NodeCordon { node: name.to_string(), was_unschedulable };
        return Ok(Found { plan, found });
    }
    let (mut evicted, mut left): (Vec<Pod>, Vec<(PodKey, &str)>) = (Vec::new(), Vec::new());
    for p in on_node.items {
        match left_alone(&p) {
            Some(why) => left.push((key(&p), why)),
            None => evicted.push(p),
        }
    }
    let keys: Vec<PodKey> = evicted.iter().map(key).collect();
    if keys.iter().any(|k| ctx.policy.own_pod.as_ref() == Some(k)) {
        return Err(BackendError::Unsupported(format!("node {name} runs the console's own pod; drain another")));
    }
    let mut namespaces: Vec<&String> = keys.iter().map(|(ns, _)| ns).collect();
    namespaces.sort();
    namespaces.dedup();
    for ns in &namespaces {
        check_namespace(ctx, ns).await.map_err(|e| {
            let theirs: Vec<PodKey> = keys.iter().filter(|(n, _)| n == *ns).cloned().collect();
            BackendError::Unsupported(format!(
                "draining {name} would evict pods of {ns} ({}): {e}; the drain is refused before anything is cordoned",
                names(&theirs)
            ))
        })?;
    }
    // What each budget lets go now against how many of its pods this node runs.
    for ns in &namespaces {
        for b in budgets::of_namespace(ctx, ns).await? {
            let mine: Vec<PodKey> = evicted.iter().filter(|p| b.selects(p)).map(key).collect();
            if mine.is_empty() {
                continue;
            }
            match b.allowed {
                Some(allowed) if (mine.len() as i64) > i64::from(allowed) => found.push(format!(
                    "{} allows {allowed} disruption(s) now and {name} runs {} of its pods ({}): the drain evicts \
                     them as it allows, as kubectl drain does, trying every {} s until the fault ends",
                    b.name(),
                    mine.len(),
                    names(&mine),
                    super::drain::RETRY_EVERY.as_secs()
                )),
                Some(allowed) => found.push(format!(
                    "{} allows {allowed} disruption(s) now; {name} runs {} of its pods",
                    b.name(),
                    mine.len()
                )),
                None => found.push(format!(
                    "{} has no status yet (no disruption controller?): the API may refuse its {} pods",
                    b.name(),
                    mine.len()
                )),
            }
        }
    }
    let grace = grace(spec);
    found.insert(0, format!("evicts {} pods ({}): {}", keys.len(), grace_words(grace), names(&keys)));
    if !left.is_empty() {
        let list: Vec<String> = left.iter().map(|((ns, n), why)| format!("{ns}/{n} ({why})")).collect();
        found.insert(1, format!("leaves {} on {name}: {}", left.len(), list.join(", ")));
    }
    Ok(Found {
        plan: HandleData::NodeDrain {
            node: name.to_string(),
            was_unschedulable,
            pods: keys,
            grace,
            waiting: Vec::new(),
        },
        found,
    })
}
