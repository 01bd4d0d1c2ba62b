//! The blast-radius preview: what a preset would touch on a target, in one sentence naming the
//! objects, shown before anything happens and recorded with the inject.

use std::collections::BTreeMap;

use crate::backend::{Mode, PodRef, Target, Topology};
use crate::preset::{ParamValue, Preset};

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

pub struct Plan<'a> {
    pub preset: &'a Preset,
    pub target: &'a Target,
    pub params: &'a BTreeMap<String, ParamValue>,
    pub mode: Option<Mode>,
    /// The pods the target selects (for faults on pods).
    pub pods: &'a [PodRef],
    /// "pod" or "container".
    pub word: &'a str,
}

pub fn describe(topo: &Topology, p: &Plan) -> String {
    let int = |n: &str| p.params.get(n).and_then(ParamValue::as_int).unwrap_or(0);
    let target = p.target;
    let what = match (p.mode, target) {
        (Some(mode), _) => {
            let verb = match p.preset.action.as_str() {
                "pod-delete" if int("grace_seconds") == 0 => "kills".to_string(),
                "pod-delete" => "deletes".to_string(),
                "container-kill" => "kills".to_string(),
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
                    "cordons node {name} and evicts its {} ({} workloads)",
                    plural(pods.len(), p.word),
                    wls.len()
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
    if callers.is_empty() {
        what
    } else {
        let short: Vec<&str> = callers.iter().map(|c| c.rsplit('/').next().unwrap_or(c)).collect();
        format!("{what}; callers that may feel it: {}", short.join(", "))
    }
}
