//! The blast-radius preview: what a preset would touch on a target, in one sentence naming the
//! objects, shown before anything happens and recorded with the inject.

use std::collections::BTreeMap;

use crate::config::preset::Preset;
use crate::model::ParamValue;
use crate::model::{Mode, PodRef, Target, Topology};

/// At most this many objects are named; the rest are counted.
const NAMED: usize = 5;

fn names(pods: &[PodRef]) -> String {
    let mut out: Vec<&str> = pods.iter().take(NAMED).map(|p| p.name.as_str()).collect();
    let more = pods.len().saturating_sub(NAMED);
    let more = if more > 0 { format!(" and {more} more") } else { String::new() };
    out.sort();
    format!("{}{more}", out.join(", "))
}

/// `count` of `word`s, pluralised.
fn plural(count: usize, word: &str) -> String {
    if count == 1 {
        format!("1 {word}")
    } else {
        format!("{count} {word}s")
    }
}

pub struct Blast<'a> {
    pub preset: &'a Preset,
    pub target: &'a Target,
    pub params: &'a BTreeMap<String, ParamValue>,
    pub mode: Option<Mode>,
    /// The pods the target selects (for faults on pods).
    pub pods: &'a [PodRef],
    /// "pod" or "container".
    pub word: &'a str,
}

pub fn describe(topo: &Topology, p: &Blast) -> String {
    let int = |n: &str| p.params.get(n).and_then(ParamValue::as_int).unwrap_or(0);
    let target = p.target;
    let what = match (p.mode, target) {
        (Some(mode), _) => {
            let verb = match p.preset.action.as_str() {
                "pod-delete" if int("grace_seconds") == 0 => "kills".to_string(),
                "pod-delete" => "deletes".to_string(),
                "container-kill" if p.params.get("how").is_some_and(|h| h.to_string() == "crash") => {
                    "crashes (a signal from outside Docker, as a crash would send it)".to_string()
                }
                // Kubernetes kills a container inside a pod (the pod stays, its container restarts).
                "container-kill" if p.word == "pod" => "kills one container in".to_string(),
                "container-kill" => "kills".to_string(),
                "pod-evict" => "evicts".to_string(),
                "memory-stress" => format!(
                    "holds {} MB of memory in total (shared by {} workers) in",
                    int("memory_mb"),
                    int("workers").max(1)
                ),
                "container-stop" => "stops".to_string(),
                "container-restart" => "restarts".to_string(),
                "container-pause" => "pauses".to_string(),
                "network-latency" => format!("adds {}ms (±{}ms) latency to", int("latency_ms"), int("jitter_ms")),
                "network-loss" => format!("drops {}% of packets from", int("loss_percent")),
                "cpu-stress" => format!("stresses CPU at {}% in", int("load_percent")),
                "network-duplicate" => format!("duplicates {}% of packets from", int("duplicate_percent")),
                "network-corrupt" => format!("corrupts {}% of packets from", int("corrupt_percent")),
                "network-rate" => format!("limits to {} kbit/s what is sent by", int("rate_kbit")),
                "network-disconnect" => {
                    match p.params.get("network").map(|v| v.to_string()).filter(|n| !n.is_empty()) {
                        Some(net) => format!("disconnects from {net}"),
                        None => "disconnects from all their networks".to_string(),
                    }
                }
                "cpu-throttle" => {
                    format!("throttles to {} CPUs", p.params.get("cpus").and_then(ParamValue::as_f64).unwrap_or(0.0))
                }
                "memory-throttle" => format!("limits to {} MiB of memory", int("memory_mb")),
                other => format!("{other} on"),
            };
            let total = p.pods.len();
            let n = mode.count(total);
            let of = match target {
                Target::Workload { .. } => format!("{target}"),
                _ => format!("those {target} selects"),
            };
            match (total, n == total) {
                (1, _) => format!("{verb} {} {}", p.word, p.pods[0]),
                (_, true) => format!("{verb} all {} of {of}: {}", plural(total, p.word), names(p.pods)),
                (_, false) => {
                    format!("{verb} {n} of {} of {of}, chosen at random from: {}", plural(total, p.word), names(p.pods))
                }
            }
        }
        (None, Target::Workload { namespace, name }) => {
            let w = topo.workload(namespace, name);
            let desired = w.map(|w| w.desired).unwrap_or(0);
            match p.preset.action.as_str() {
                "scale" => format!("scales {target} from {desired} to {} replicas", int("replicas")),
                "config-corrupt" => {
                    let key = p.params.get("key").map(|v| v.to_string()).unwrap_or_default();
                    let readers = topo.pods_of(namespace, name).count();
                    format!("overwrites {key} in the config of {target} (read by {})", plural(readers, p.word))
                }
                other => format!("{other} on {target}"),
            }
        }
        (None, Target::Node { name }) => {
            let pods: Vec<_> = topo.pods_on(name).collect();
            let mut wls: Vec<String> =
                pods.iter().filter_map(|p| p.workload.as_ref().map(|w| format!("{}/{w}", p.namespace))).collect();
            wls.sort();
            wls.dedup();
            match p.preset.action.as_str() {
                "node-drain" => format!(
                    "cordons node {name} and evicts its {} ({} workloads){}",
                    plural(pods.len(), p.word),
                    wls.len(),
                    match p.params.get("grace_seconds").and_then(ParamValue::as_int) {
                        Some(g) if g >= 0 => format!(", grace period {g} s"),
                        _ => String::new(),
                    }
                ),
                other => format!("{other} on node {name} ({})", plural(pods.len(), p.word)),
            }
        }
        (None, other) => format!("{} on {other}", p.preset.action),
    };
    // Whose callers may feel it: the workloads touched, and everything upstream of them.
    let mut touched: Vec<String> = match target {
        Target::Workload { namespace, name } => vec![format!("{namespace}/{name}")],
        Target::Node { name } => {
            topo.pods_on(name).filter_map(|p| p.workload.as_ref().map(|w| format!("{}/{w}", p.namespace))).collect()
        }
        _ => p
            .pods
            .iter()
            .filter_map(|r| topo.pod(&r.namespace, &r.name))
            .filter_map(|p| p.workload.as_ref().map(|w| format!("{}/{w}", p.namespace)))
            .collect(),
    };
    touched.sort();
    touched.dedup();
    let mut callers: Vec<String> =
        touched.iter().flat_map(|s| topo.upstream_of(s)).filter(|c| !touched.contains(c)).collect();
    callers.sort();
    callers.dedup();
    let mut out = what;
    for caveat in [shared_netns(topo, p), restart_policy(topo, p), own_container(topo, p)].into_iter().flatten() {
        out = format!("{out}; {caveat}");
    }
    if callers.is_empty() {
        out
    } else {
        let short: Vec<&str> = callers.iter().map(|c| c.rsplit('/').next().unwrap_or(c)).collect();
        format!("{out}; callers that may feel it: {}", short.join(", "))
    }
}

fn is_network(action: &str) -> bool {
    action.starts_with("network-")
}

fn pods<'a>(topo: &'a Topology, refs: &[PodRef]) -> Vec<&'a crate::model::Pod> {
    refs.iter().filter_map(|r| topo.pod(&r.namespace, &r.name)).collect()
}

/// Why a fault may not run on these pods at all: a network fault on a pod that uses the host's
/// network would change every interface of the machine, whatever the preview says.
pub fn refusal(topo: &Topology, action: &str, refs: &[PodRef]) -> Option<String> {
    if !is_network(action) {
        return None;
    }
    let host = pods(topo, refs).into_iter().find(|p| p.caveats.netns.as_deref() == Some("host"))?;
    Some(format!(
        "{} uses the host's network (--network host): a network fault on it would change every interface of \
         the host, not one {}",
        host.name,
        if host.workload.is_some() { "container" } else { "pod" }
    ))
}

/// A network fault hits everything in the network namespaces it changes: the pods that joined
/// a chosen one's namespace, or the one whose namespace a chosen pod joined, and its other guests.
fn shared_netns(topo: &Topology, p: &Blast) -> Option<String> {
    if !is_network(&p.preset.action) {
        return None;
    }
    let chosen: Vec<&str> = p.pods.iter().map(|r| r.name.as_str()).collect();
    let owners: std::collections::BTreeSet<&str> = pods(topo, p.pods)
        .into_iter()
        .map(|pod| pod.caveats.netns.as_deref().filter(|n| *n != "host").unwrap_or(pod.name.as_str()))
        .collect();
    let mut others: Vec<&str> = topo
        .pods()
        .filter(|q| !q.phase.is_down() && !chosen.contains(&q.name.as_str()))
        .filter(|q| owners.contains(q.name.as_str()) || q.caveats.netns.as_deref().is_some_and(|n| owners.contains(n)))
        .map(|q| q.name.as_str())
        .collect();
    others.sort();
    others.dedup();
    if others.is_empty() {
        return None;
    }
    let verb = if p.mode.is_some_and(|m| m.count(p.pods.len()) < p.pods.len()) { "may also hit" } else { "also hits" };
    Some(format!("{verb} {} (they share a network namespace: --network container:...)", others.join(", ")))
}

/// Docker takes a kill through its API as a manual stop (SIGKILL, the container's stop signal,
/// or any signal when it sets none): its restart policy will not restart it.
fn restart_policy(topo: &Topology, p: &Blast) -> Option<String> {
    if p.preset.action != "container-kill" {
        return None;
    }
    if p.params.get("how").is_some_and(|h| h.to_string() == "crash") {
        let mut policies: Vec<String> = pods(topo, p.pods)
            .into_iter()
            .filter_map(|pod| pod.caveats.restart.as_ref().map(|r| format!("{} ({r})", pod.name)))
            .collect();
        policies.sort();
        return (!policies.is_empty())
            .then(|| format!("Docker sees a crash: the restart policy of {} restarts it", policies.join(", ")));
    }
    let signal = p.params.get("signal").map(|v| v.to_string()).unwrap_or_else(|| "SIGKILL".into());
    let norm = |s: &str| s.trim().trim_start_matches("SIG").to_uppercase();
    let mut held: Vec<String> = pods(topo, p.pods)
        .into_iter()
        .filter_map(|pod| {
            let policy = pod.caveats.restart.as_ref()?;
            let manual =
                norm(&signal) == "KILL" || pod.caveats.stop_signal.as_deref().is_none_or(|s| norm(s) == norm(&signal));
            manual.then(|| format!("{} ({policy})", pod.name))
        })
        .collect();
    if held.is_empty() {
        return None;
    }
    held.sort();
    Some(format!(
        "Docker takes a kill through its API as a manual stop: the restart policy of {} will NOT restart it \
         (the revert starts it; how=crash kills it the way a crash would, which the policy acts on)",
        held.join(", ")
    ))
}

/// The console never acts on its own container: said when the target selects it.
fn own_container(topo: &Topology, p: &Blast) -> Option<String> {
    p.mode?;
    let own = topo.select(p.target).into_iter().find(|pod| pod.caveats.protected.is_some())?;
    Some(format!("{} is left alone ({})", own.name, own.caveats.protected.as_deref().unwrap_or("protected")))
}
