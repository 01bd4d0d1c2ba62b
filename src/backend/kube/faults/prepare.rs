//! Prepare: reads what a fault will touch and everything needed to undo it, and changes
//! nothing. What it found goes into the confirmation before anyone confirms; the plan is
//! journaled before anything is applied.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Pod;

use super::{budgets, config, node};
use crate::backend::kube::engines;
use crate::backend::kube::kit::handle::grace_words;
use crate::backend::kube::kit::pods::{
    check_namespace, choose, grace, names, pod_key, pod_lines, workload, workload_labels, Found,
};
use crate::backend::kube::kit::{object_name, Ctx, HandleData, PodKey, DENY};
use crate::backend::BackendError;
use crate::model::{FaultSpec, Target};

fn workload_target(spec: &FaultSpec) -> Result<(&str, &str), BackendError> {
    match &spec.target {
        Target::Workload { namespace, name } => Ok((namespace, name)),
        other => Err(BackendError::Unsupported(format!("{} needs a workload, not {other}", spec.action))),
    }
}

pub async fn prepare(ctx: &Ctx, spec: &FaultSpec) -> Result<Found, BackendError> {
    let int = |n: &str, d: i64| spec.int(n).unwrap_or(d);
    match spec.action.as_str() {
        "pod-delete" => {
            let pods = choose(ctx, spec).await?;
            let grace = spec.int("grace_seconds");
            let mut found = pod_lines(&pods);
            found.push(match grace {
                Some(0) => "grace 0: killed at once, no SIGTERM first".into(),
                Some(g) => format!("grace period {g} s: SIGTERM, then SIGKILL after {g} s"),
                None => "each pod's own grace period".into(),
            });
            found.push("their controller creates replacements; the revert has nothing to undo".into());
            Ok(Found { plan: HandleData::PodDelete { pods: pods.iter().map(pod_key).collect(), grace }, found })
        }
        "pod-evict" => {
            let pods = choose(ctx, spec).await?;
            let mut found = pod_lines(&pods);
            found.push(format!("through the Eviction API, {}", grace_words(grace(spec))));
            found.extend(budget_lines(ctx, &pods).await?);
            Ok(Found {
                plan: HandleData::PodEvict { pods: pods.iter().map(pod_key).collect(), grace: grace(spec) },
                found,
            })
        }
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
            let to = int("replicas", 0) as i32;
            let ready = obj["status"]["readyReplicas"].as_i64().unwrap_or(0);
            let mut found = vec![format!(
                "{kind} {ns}/{name} wants {from} replicas ({ready} ready): saved for the revert, set to {to}"
            )];
            // Who will set the replicas back behind gameday's back.
            let (scalers, unread) = super::owners::autoscalers(&ctx.client, &kind, ns, name).await;
            found.extend(scalers.iter().map(|a| a.against(&kind, ns, name, to)));
            found.extend(unread);
            found.extend(super::owners::gitops_line(&format!("{kind} {ns}/{name}"), &obj));
            Ok(Found { plan: HandleData::Scale { namespace: ns.into(), kind, name: name.into(), from, to }, found })
        }
        "node-cordon" | "node-drain" => {
            let Target::Node { name } = &spec.target else {
                return Err(BackendError::Unsupported(format!("{} needs a node", spec.action)));
            };
            node::prepare(ctx, spec, name).await
        }
        "config-corrupt" => {
            let (ns, name) = workload_target(spec)?;
            config::prepare(ctx, spec, ns, name).await
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
                let all: Vec<&str> = obj["spec"]["template"]["spec"]["containers"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|c| c["name"].as_str())
                    .collect();
                return Err(BackendError::Unsupported(format!(
                    "{kind} {ns}/{name} has no container {} (it has {})",
                    only.unwrap_or_default(),
                    all.join(", ")
                )));
            }
            let mut found: Vec<String> = images
                .iter()
                .map(|(c, i)| {
                    format!("container {c}: {i} becomes gameday.invalid/unavailable:{c} (saved for the revert)")
                })
                .collect();
            found.push(format!(
                "{kind} {ns}/{name} rolls out: its new pods cannot pull, its running pods stay until the rollout replaces them"
            ));
            found.extend(super::owners::gitops_line(&format!("{kind} {ns}/{name}"), &obj));
            Ok(Found {
                plan: HandleData::ImageUnavailable { namespace: ns.into(), kind, name: name.into(), images },
                found,
            })
        }
        "network-deny" => network_deny(ctx, spec).await,
        _ => engines::prepare(ctx, spec).await,
    }
}

/// What the PodDisruptionBudgets of these pods let go now.
async fn budget_lines(ctx: &Ctx, pods: &[Pod]) -> Result<Vec<String>, BackendError> {
    let mut namespaces: Vec<String> = pods.iter().map(|p| pod_key(p).0).collect();
    namespaces.sort();
    namespaces.dedup();
    let mut out = Vec::new();
    for ns in namespaces {
        for b in budgets::of_namespace(ctx, &ns).await? {
            let n = pods.iter().filter(|p| b.selects(p)).count();
            match b.allowed {
                _ if n == 0 => {}
                Some(a) if (n as i64) > i64::from(a) => out.push(format!(
                    "{} allows {a} disruption(s) now: the API will refuse {} of these {n} evictions (429)",
                    b.name(),
                    n as i64 - i64::from(a)
                )),
                Some(a) => out.push(format!("{} allows {a} disruption(s) now: these {n} are within it", b.name())),
                None => out.push(format!("{} has no status yet: the API may refuse these evictions", b.name())),
            }
        }
    }
    Ok(out)
}

async fn network_deny(ctx: &Ctx, spec: &FaultSpec) -> Result<Found, BackendError> {
    let policy = object_name(spec, "deny");
    let cni = "it takes effect only where the cluster's network plugin enforces NetworkPolicies".to_string();
    match &spec.target {
        Target::Workload { namespace, name } => {
            let (kind, selector) = workload_labels(ctx, namespace, name).await?;
            let sel: Vec<String> = selector.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let found = vec![
                format!(
                    "NetworkPolicy {namespace}/{policy} denies all ingress and egress of the pods of {kind}                      {namespace}/{name} ({}), and of any other pod with those labels",
                    sel.join(",")
                ),
                cni,
            ];
            let plan = HandleData::NetworkDeny { namespace: namespace.clone(), policy, selector, labelled: Vec::new() };
            Ok(Found { plan, found })
        }
        _ => {
            let pods = choose(ctx, spec).await?;
            let keys: Vec<PodKey> = pods.iter().map(pod_key).collect();
            let ns = keys[0].0.clone();
            if keys.iter().any(|(n, _)| *n != ns) {
                return Err(BackendError::Unsupported(
                    "a NetworkPolicy lives in one namespace: choose pods of one".into(),
                ));
            }
            let value = format!("{}-f{}", spec.session, spec.fault_id);
            let selector = BTreeMap::from([(DENY.to_string(), value)]);
            let found = vec![
                format!(
                    "labels {} with {DENY}, and NetworkPolicy {ns}/{policy} denies all their ingress and egress",
                    names(&keys)
                ),
                cni,
            ];
            let labelled = keys.into_iter().map(|(_, n)| n).collect();
            Ok(Found { plan: HandleData::NetworkDeny { namespace: ns, policy, selector, labelled }, found })
        }
    }
}
