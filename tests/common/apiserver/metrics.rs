//! metrics.k8s.io/v1beta1 as metrics-server serves it (what `kubectl top` reads): discovery,
//! PodMetrics of every running pod and NodeMetrics of every node, one or a list (labelSelector
//! and fieldSelector honoured), CPU in nanocores (`"1604000n"`) and memory in `Ki`, a 15 s window.
//!
//! The usage follows the pod's state: each container uses a small base (5m CPU, 20Mi memory);
//! while a Chaos Mesh StressChaos has an injected record on a container, its `cpu` stressor adds
//! `workers` × `load`% of a core and its `memory` stressor adds `size` (a percentage is of the
//! container's memory limit, or of 8Gi). `set_usage` overrides a pod (all on its first
//! container). A node uses 100m and 1Gi of its own plus what its pods use.

use std::collections::HashMap;

use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use super::http::status;
use super::store::{field_selector_matches, label_selector_matches, now, Store};
use super::Server;

pub const GROUP: &str = "metrics.k8s.io";
pub const VERSION: &str = "v1beta1";

const BASE_CPU_NANO: u64 = 5_000_000;
const BASE_MEMORY: u64 = 20 * 1024 * 1024;
const NODE_CPU_NANO: u64 = 100_000_000;
const NODE_MEMORY: u64 = 1024 * 1024 * 1024;
const NODE_CAPACITY: u64 = 8 * 1024 * 1024 * 1024;

fn ok(v: Value) -> Response {
    (StatusCode::OK, axum::Json(v)).into_response()
}

pub fn group() -> Value {
    let gv = json!({"groupVersion": format!("{GROUP}/{VERSION}"), "version": VERSION});
    json!({"name": GROUP, "versions": [gv.clone()], "preferredVersion": gv})
}

pub fn resource_list() -> Value {
    json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": format!("{GROUP}/{VERSION}"), "resources": [
        {"name": "nodes", "singularName": "", "namespaced": false, "kind": "NodeMetrics", "verbs": ["get", "list"]},
        {"name": "pods", "singularName": "", "namespaced": true, "kind": "PodMetrics", "verbs": ["get", "list"]},
    ]})
}

/// Bytes of a Chaos Mesh memory size: `256MB`, `1GB`, `512Ki`, `25%` (of `limit`).
pub fn size_of(s: &str, limit: u64) -> u64 {
    let s = s.trim();
    if let Some(p) = s.strip_suffix('%') {
        return (p.trim().parse::<f64>().unwrap_or(0.0) / 100.0 * limit as f64) as u64;
    }
    let split = s.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(s.len());
    let (n, unit) = s.split_at(split);
    let n: f64 = n.parse().unwrap_or(0.0);
    let k = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1u64,
        "k" | "kb" | "ki" | "kib" => 1 << 10,
        "m" | "mb" | "mi" | "mib" => 1 << 20,
        "g" | "gb" | "gi" | "gib" => 1 << 30,
        "t" | "tb" | "ti" | "tib" => 1 << 40,
        _ => 0,
    };
    (n * k as f64) as u64
}

/// Bytes of a Kubernetes quantity of memory (`512Mi`, `1G`, `1000000`).
fn quantity_bytes(q: &str) -> Option<u64> {
    let split = q.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(q.len());
    let (n, unit) = q.split_at(split);
    let n: f64 = n.parse().ok()?;
    let k: f64 = match unit {
        "" => 1.0,
        "Ki" => 1024.0,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        _ => return None,
    };
    Some((n * k) as u64)
}

fn running(p: &Value) -> bool {
    p["status"]["phase"] == "Running"
}

/// What each container of a pod uses now: (container, nanocores, bytes).
pub fn pod_usage(
    store: &Store,
    overrides: &HashMap<(String, String), (u64, u64)>,
    pod: &Value,
) -> Vec<(String, u64, u64)> {
    let ns = pod["metadata"]["namespace"].as_str().unwrap_or_default();
    let name = pod["metadata"]["name"].as_str().unwrap_or_default();
    let containers: Vec<&Value> = pod["spec"]["containers"].as_array().into_iter().flatten().collect();
    if let Some((milli, bytes)) = overrides.get(&(ns.to_string(), name.to_string())) {
        return containers
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let (cpu, mem) = if i == 0 { (milli * 1_000_000, *bytes) } else { (0, 0) };
                (c["name"].as_str().unwrap_or_default().to_string(), cpu, mem)
            })
            .collect();
    }
    let stress = store.res("chaos-mesh.org", "stresschaos");
    let stresses: Vec<&Value> = stress.map(|r| store.list(&r, None)).unwrap_or_default();
    containers
        .iter()
        .map(|c| {
            let cname = c["name"].as_str().unwrap_or_default();
            let id = format!("{ns}/{name}/{cname}");
            let (mut cpu, mut mem) = (BASE_CPU_NANO, BASE_MEMORY);
            let limit = c["resources"]["limits"]["memory"].as_str().and_then(quantity_bytes).unwrap_or(NODE_CAPACITY);
            for s in &stresses {
                let injected = s["status"]["experiment"]["containerRecords"]
                    .as_array()
                    .is_some_and(|r| r.iter().any(|r| r["id"] == id.as_str() && r["phase"] == "Injected"));
                if !injected {
                    continue;
                }
                let st = &s["spec"]["stressors"];
                if st["cpu"].is_object() {
                    let workers = st["cpu"]["workers"].as_u64().unwrap_or(1);
                    let load = st["cpu"]["load"].as_u64().unwrap_or(100).min(100);
                    cpu += workers * load * 10_000_000;
                }
                if st["memory"].is_object() {
                    mem += st["memory"]["size"].as_str().map(|s| size_of(s, limit)).unwrap_or(0);
                }
            }
            (cname.to_string(), cpu, mem)
        })
        .collect()
}

fn usage(cpu: u64, mem: u64) -> Value {
    json!({"cpu": format!("{cpu}n"), "memory": format!("{}Ki", mem / 1024)})
}

fn pod_metrics(store: &Store, overrides: &HashMap<(String, String), (u64, u64)>, pod: &Value) -> Value {
    let containers: Vec<Value> = pod_usage(store, overrides, pod)
        .into_iter()
        .map(|(name, cpu, mem)| json!({"name": name, "usage": usage(cpu, mem)}))
        .collect();
    let mut metadata = json!({"name": pod["metadata"]["name"], "namespace": pod["metadata"]["namespace"],
        "creationTimestamp": now()});
    if pod["metadata"]["labels"].is_object() {
        metadata["labels"] = pod["metadata"]["labels"].clone();
    }
    json!({"kind": "PodMetrics", "apiVersion": format!("{GROUP}/{VERSION}"), "metadata": metadata,
        "timestamp": now(), "window": "15s", "containers": containers})
}

fn node_metrics(store: &Store, overrides: &HashMap<(String, String), (u64, u64)>, node: &Value) -> Value {
    let name = node["metadata"]["name"].as_str().unwrap_or_default();
    let pods = store.res("", "pods").expect("pods");
    let (mut cpu, mut mem) = (NODE_CPU_NANO, NODE_MEMORY);
    for p in store.list(&pods, None).into_iter().filter(|p| running(p) && p["spec"]["nodeName"] == name) {
        for (_, c, m) in pod_usage(store, overrides, p) {
            cpu += c;
            mem += m;
        }
    }
    let mut metadata = json!({"name": name, "creationTimestamp": now()});
    if node["metadata"]["labels"].is_object() {
        metadata["labels"] = node["metadata"]["labels"].clone();
    }
    json!({"kind": "NodeMetrics", "apiVersion": format!("{GROUP}/{VERSION}"), "metadata": metadata,
        "timestamp": now(), "window": "15s", "usage": usage(cpu, mem)})
}

impl Server {
    /// `/apis/metrics.k8s.io[/v1beta1[/...]]`, or None when metrics-server is not installed.
    pub fn metrics(&self, method: &Method, rest: &[&str], q: &HashMap<String, String>) -> Option<Response> {
        if self.knobs.lock().unwrap().no_metrics_server {
            return None;
        }
        let (ns, plural, name) = match rest {
            [] => {
                let mut g = group();
                g["kind"] = json!("APIGroup");
                g["apiVersion"] = json!("v1");
                return Some(ok(g));
            }
            [v, ..] if *v != VERSION => return None,
            [_] => return Some(ok(resource_list())),
            [_, "namespaces", ns, "pods", more @ ..] if more.len() <= 1 => (Some(*ns), "pods", more.first()),
            [_, plural @ ("pods" | "nodes"), more @ ..] if more.len() <= 1 => (None, *plural, more.first()),
            _ => return None,
        };
        let watch = matches!(q.get("watch").map(String::as_str), Some("true" | "1"));
        let verb = match (name, watch) {
            (_, true) => "watch",
            (Some(_), _) => "get",
            (None, _) => "list",
        };
        if self.knobs.lock().unwrap().forbidden.iter().any(|(p, v)| *p == format!("{plural}.{GROUP}") && v == verb) {
            let scope = ns.map_or("at the cluster scope".to_string(), |ns| format!("in the namespace \"{ns}\""));
            return Some(status(
                403,
                "Forbidden",
                &format!(
                    "{plural}.{GROUP}{} is forbidden: User \"system:serviceaccount:test:gameday\" cannot {verb} resource \"{plural}\" in API group \"{GROUP}\" {scope}",
                    name.map(|n| format!(" \"{n}\"")).unwrap_or_default()
                ),
            ));
        }
        if *method != Method::GET || watch {
            return Some(status(
                405,
                "MethodNotAllowed",
                "the server does not allow this method on the requested resource",
            ));
        }
        let overrides = self.knobs.lock().unwrap().usage.clone();
        let store = self.store.lock().unwrap();
        let kind = if plural == "pods" { "PodMetrics" } else { "NodeMetrics" };
        let res = store.res("", plural).expect("pods and nodes");
        let objects: Vec<&Value> = store
            .list(&res, ns)
            .into_iter()
            .filter(|o| plural == "nodes" || running(o))
            .filter(|o| name.is_none_or(|n| o["metadata"]["name"] == *n))
            .collect();
        let metrics = |o: &Value| {
            if plural == "pods" {
                pod_metrics(&store, &overrides, o)
            } else {
                node_metrics(&store, &overrides, o)
            }
        };
        if let Some(n) = name {
            let Some(o) = objects.first() else {
                let what = ns.map_or(n.to_string(), |ns| format!("{ns}/{n}"));
                return Some(status(404, "NotFound", &format!("{}.{GROUP} \"{what}\" not found", kind.to_lowercase())));
            };
            return Some(ok(metrics(o)));
        }
        let items: Vec<Value> = objects
            .into_iter()
            .filter(|o| q.get("labelSelector").is_none_or(|s| label_selector_matches(s, &o["metadata"]["labels"])))
            .filter(|o| q.get("fieldSelector").is_none_or(|s| field_selector_matches(s, o)))
            .map(metrics)
            .collect();
        Some(ok(json!({"kind": format!("{kind}List"), "apiVersion": format!("{GROUP}/{VERSION}"),
            "metadata": {"resourceVersion": store.rv.to_string()}, "items": items})))
    }
}
