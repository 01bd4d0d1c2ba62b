//! The blast-radius preview: what a preset would touch on a target, in one sentence, shown
//! before anything happens and recorded with the inject.

use std::collections::BTreeMap;

use crate::backend::model::PodPhase;
use crate::backend::{Target, Topology};
use crate::preset::{ParamValue, Preset};

pub fn describe(topo: &Topology, preset: &Preset, target: &Target, params: &BTreeMap<String, ParamValue>) -> String {
    let int = |n: &str| params.get(n).and_then(ParamValue::as_int).unwrap_or(0);
    let live = |ns: &str, wl: &str| topo.pods_of(ns, wl).filter(|p| p.phase != PodPhase::Terminating).count();
    let (what, services): (String, Vec<String>) = match target {
        Target::Workload { namespace, name } => {
            let total = live(namespace, name);
            let desired = topo.workload(namespace, name).map(|w| w.desired).unwrap_or(0);
            let what = match preset.action.as_str() {
                "pod-delete" => {
                    let n = (int("count").max(1) as usize).min(total);
                    let how = if int("grace_seconds") == 0 { "kills".to_string() } else { "deletes".to_string() };
                    format!("{how} {n} of {total} pods of {target}")
                }
                "scale" => format!("scales {target} from {desired} to {} replicas", int("replicas")),
                "network-latency" => {
                    format!(
                        "adds {}ms (±{}ms) latency to all {total} pods of {target}",
                        int("latency_ms"),
                        int("jitter_ms")
                    )
                }
                "network-loss" => {
                    format!("drops {}% of packets from all {total} pods of {target}", int("loss_percent"))
                }
                "cpu-stress" => format!("stresses CPU at {}% in all {total} pods of {target}", int("load_percent")),
                "container-pause" => format!("pauses all {total} pods of {target}"),
                "config-corrupt" => {
                    let key = params.get("key").map(|v| v.to_string()).unwrap_or_default();
                    format!("overwrites {key} in the config of {target} ({total} pods read it)")
                }
                other => format!("{other} on all {total} pods of {target}"),
            };
            (what, vec![format!("{namespace}/{name}")])
        }
        Target::Pod { namespace, name } => {
            let wl = topo.pod(namespace, name).and_then(|p| p.workload.clone());
            let of = wl
                .as_ref()
                .map(|w| format!(" (1 of {} pods of {namespace}/{w})", live(namespace, w)))
                .unwrap_or_default();
            let verb = match preset.action.as_str() {
                "pod-delete" if int("grace_seconds") == 0 => "kills".to_string(),
                "pod-delete" => "deletes".to_string(),
                "network-latency" => format!("adds {}ms latency to", int("latency_ms")),
                "network-loss" => format!("drops {}% of packets from", int("loss_percent")),
                "cpu-stress" => format!("stresses CPU at {}% in", int("load_percent")),
                "container-pause" => "pauses".to_string(),
                other => format!("{other} on"),
            };
            (format!("{verb} pod {namespace}/{name}{of}"), wl.map(|w| format!("{namespace}/{w}")).into_iter().collect())
        }
        Target::Node { name } => {
            let pods: Vec<_> = topo.pods_on(name).filter(|p| p.phase != PodPhase::Terminating).collect();
            let mut wls: Vec<String> =
                pods.iter().filter_map(|p| p.workload.as_ref().map(|w| format!("{}/{w}", p.namespace))).collect();
            wls.sort();
            wls.dedup();
            let what = match preset.action.as_str() {
                "node-drain" => {
                    format!("cordons node {name} and evicts its {} pods ({} workloads)", pods.len(), wls.len())
                }
                other => format!("{other} on node {name} ({} pods)", pods.len()),
            };
            (what, wls)
        }
    };
    let mut callers: Vec<String> =
        services.iter().flat_map(|s| topo.upstream_of(s)).filter(|c| !services.contains(c)).collect();
    callers.sort();
    callers.dedup();
    if callers.is_empty() {
        what
    } else {
        let short: Vec<&str> = callers.iter().map(|c| c.rsplit('/').next().unwrap_or(c)).collect();
        format!("{what}; callers that may feel it: {}", short.join(", "))
    }
}
