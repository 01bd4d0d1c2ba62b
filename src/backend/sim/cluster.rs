//! The simulated cluster: deployments, pods, nodes and controllers, advanced by a clock the
//! caller drives (`step`). Seeded and deterministic: the same seed and the same calls give the
//! same cluster, the same pod names and the same traffic.

use std::collections::BTreeMap;

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::json;

use super::shop::{self, NAMESPACE};
use super::traffic::{self, PodView, ServiceView};
use crate::backend::model::{Node, Pod, PodPhase, ServiceSample, Topology, TopologyDelta, Workload};
use crate::backend::{BackendError, FaultSpec, RevertHandle, Target};

/// The fault actions the demo cluster can simulate.
pub const ACTIONS: &[&str] = &[
    "pod-delete",
    "scale",
    "network-latency",
    "network-loss",
    "cpu-stress",
    "container-pause",
    "node-drain",
    "config-corrupt",
];

struct Service {
    name: String,
    desired: u32,
    base_ms: f64,
    rps: f64,
    calls: Vec<(usize, f64)>,
    template_hash: String,
    config_broken: Option<String>,
    deficit_since: Option<u64>,
}

#[derive(Clone)]
struct SimPod {
    svc: usize,
    node: String,
    phase: PodPhase,
    phase_since: u64,
    ready: bool,
    restarts: u32,
    delete_at: Option<u64>,
    fault: PodView,
}

pub struct SimCluster {
    now_ms: u64,
    rng: ChaCha8Rng,
    services: Vec<Service>,
    pods: BTreeMap<String, SimPod>,
    nodes: BTreeMap<String, bool>, // name -> unschedulable
    published: Topology,
    events: Vec<TopologyDelta>,
    samples: Option<Vec<ServiceSample>>,
    fail_reverts: u32,
}

const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

impl SimCluster {
    pub fn new(seed: u64) -> SimCluster {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let index = |n: &str| shop::SERVICES.iter().position(|s| s.name == n).expect("callee is a service");
        let services = shop::SERVICES
            .iter()
            .map(|d| Service {
                name: d.name.to_string(),
                desired: d.replicas,
                base_ms: d.base_ms,
                rps: d.rps,
                calls: d.calls.iter().map(|(c, p)| (index(c), *p)).collect(),
                template_hash: random_name(&mut rng, 10),
                config_broken: None,
                deficit_since: None,
            })
            .collect();
        let mut c = SimCluster {
            now_ms: 0,
            rng,
            services,
            pods: BTreeMap::new(),
            nodes: shop::NODES.iter().map(|n| (n.to_string(), false)).collect(),
            published: Topology::default(),
            events: Vec::new(),
            samples: None,
            fail_reverts: 0,
        };
        for s in 0..c.services.len() {
            for _ in 0..c.services[s].desired {
                let name = c.create_pod(s);
                if let Some(p) = c.pods.get_mut(&name) {
                    p.phase = PodPhase::Running;
                    p.ready = true;
                }
            }
        }
        c.events.clear();
        c.published = c.topology();
        c.samples = Some(c.measure());
        c
    }

    pub fn now_ms(&self) -> u64 {
        self.now_ms
    }

    /// Makes the next `n` reverts fail, as an unreachable API would.
    pub fn fail_next_reverts(&mut self, n: u32) {
        self.fail_reverts = n;
    }

    /// The whole picture as it is now.
    pub fn topology(&self) -> Topology {
        let mut t = Topology::default();
        for s in &self.services {
            let ready = self.pods.values().filter(|p| self.services[p.svc].name == s.name && p.ready).count() as u32;
            t.upsert_workload(Workload {
                namespace: NAMESPACE.into(),
                name: s.name.clone(),
                kind: "Deployment".into(),
                desired: s.desired,
                ready,
            });
        }
        let calls = self
            .services
            .iter()
            .flat_map(|s| {
                s.calls.iter().map(|(callee, _)| {
                    (format!("{NAMESPACE}/{}", s.name), format!("{NAMESPACE}/{}", self.services[*callee].name))
                })
            })
            .collect();
        t.set_calls(calls);
        for (name, p) in &self.pods {
            let svc = &self.services[p.svc];
            let mut notes = Vec::new();
            if p.fault.paused {
                notes.push("paused".to_string());
            }
            if p.fault.latency_ms > 0.0 {
                notes.push(format!("+{}ms", p.fault.latency_ms));
            }
            if p.fault.loss > 0.0 {
                notes.push(format!("loss {:.0}%", p.fault.loss * 100.0));
            }
            if p.fault.cpu_load > 0.0 {
                notes.push(format!("cpu {:.0}%", p.fault.cpu_load * 100.0));
            }
            if let Some(key) = &svc.config_broken {
                notes.push(format!("config {key} corrupted"));
            }
            t.upsert_pod(Pod {
                namespace: NAMESPACE.into(),
                name: name.clone(),
                workload: Some(svc.name.clone()),
                node: (!p.node.is_empty()).then(|| p.node.clone()),
                phase: p.phase,
                ready: p.ready,
                restarts: p.restarts,
                note: (!notes.is_empty()).then(|| notes.join(", ")),
            });
        }
        for (name, unschedulable) in &self.nodes {
            t.upsert_node(Node { name: name.clone(), ready: true, unschedulable: *unschedulable });
        }
        t
    }

    /// Advances the clock: pods start, become ready and terminate, controllers replace missing
    /// pods, and traffic is measured.
    pub fn step(&mut self, dt_ms: u64) {
        self.now_ms += dt_ms;
        let now = self.now_ms;
        let names: Vec<String> = self.pods.keys().cloned().collect();
        for name in names {
            let Some(p) = self.pods.get_mut(&name) else {
                continue;
            };
            match p.phase {
                PodPhase::Terminating if p.delete_at.is_some_and(|t| now >= t) => {
                    self.pods.remove(&name);
                    self.event(&name, "terminated and removed", false);
                }
                PodPhase::Pending | PodPhase::ContainerCreating if now >= p.phase_since + shop::START_MS => {
                    p.phase = PodPhase::Running;
                    p.phase_since = now;
                    self.event(&name, "container started", false);
                }
                PodPhase::Running if !p.ready && now >= p.phase_since + shop::READY_MS => {
                    p.ready = true;
                    self.event(&name, "ready", false);
                }
                _ => {}
            }
        }
        self.reconcile();
        self.samples = Some(self.measure());
    }

    /// What changed since the last call, as deltas for the watch stream.
    pub fn drain(&mut self) -> Vec<TopologyDelta> {
        let now = self.topology();
        let mut out = Vec::new();
        let old = &self.published;
        for w in now.workloads() {
            if old.workload(&w.namespace, &w.name) != Some(w) {
                out.push(TopologyDelta::UpsertWorkload(w.clone()));
            }
        }
        for p in now.pods() {
            if old.pod(&p.namespace, &p.name) != Some(p) {
                out.push(TopologyDelta::UpsertPod(p.clone()));
            }
        }
        for p in old.pods().filter(|p| now.pod(&p.namespace, &p.name).is_none()) {
            out.push(TopologyDelta::RemovePod { namespace: p.namespace.clone(), name: p.name.clone() });
        }
        for n in now.nodes().values() {
            if old.node(&n.name) != Some(n) {
                out.push(TopologyDelta::UpsertNode(n.clone()));
            }
        }
        out.append(&mut self.events);
        if let Some(s) = self.samples.take() {
            out.push(TopologyDelta::Samples(s));
        }
        self.published = now;
        out
    }

    /// The latest traffic measurement without consuming it.
    pub fn measure(&mut self) -> Vec<ServiceSample> {
        let views: Vec<ServiceView> = self
            .services
            .iter()
            .enumerate()
            .map(|(i, s)| ServiceView {
                name: s.name.clone(),
                base_ms: s.base_ms,
                rps: s.rps,
                calls: s.calls.clone(),
                config_broken: s.config_broken.is_some(),
                ready: self.pods.values().filter(|p| p.svc == i && p.ready).map(|p| p.fault.clone()).collect(),
            })
            .collect();
        traffic::sample(&mut self.rng, NAMESPACE, &views)
    }

    fn event(&mut self, pod: &str, message: &str, warning: bool) {
        self.events.push(TopologyDelta::ClusterEvent {
            object: format!("pod {NAMESPACE}/{pod}"),
            message: message.to_string(),
            warning,
        });
    }

    fn reconcile(&mut self) {
        let now = self.now_ms;
        for s in 0..self.services.len() {
            let live: Vec<String> = self
                .pods
                .iter()
                .filter(|(_, p)| p.svc == s && p.phase != PodPhase::Terminating)
                .map(|(n, _)| n.clone())
                .collect();
            let desired = self.services[s].desired as usize;
            if live.len() < desired {
                let since = *self.services[s].deficit_since.get_or_insert(now);
                if now >= since + shop::CONTROLLER_DELAY_MS {
                    for _ in live.len()..desired {
                        self.create_pod(s);
                    }
                    self.services[s].deficit_since = None;
                }
            } else {
                self.services[s].deficit_since = None;
                for name in live.iter().rev().take(live.len() - desired) {
                    self.terminate(name, 30);
                    self.event(name, "terminating (scaled down)", false);
                }
            }
        }
    }

    fn create_pod(&mut self, s: usize) -> String {
        let name = loop {
            let n = format!(
                "{}-{}-{}",
                self.services[s].name,
                self.services[s].template_hash,
                random_name(&mut self.rng, 5)
            );
            if !self.pods.contains_key(&n) {
                break n;
            }
        };
        let node = self
            .nodes
            .iter()
            .filter(|(_, unschedulable)| !**unschedulable)
            .map(|(n, _)| {
                (self.pods.values().filter(|p| &p.node == n && p.phase != PodPhase::Terminating).count(), n.clone())
            })
            .min()
            .map(|(_, n)| n);
        let (phase, node) = match node {
            Some(n) => (PodPhase::ContainerCreating, n),
            None => (PodPhase::Pending, String::new()),
        };
        self.pods.insert(
            name.clone(),
            SimPod {
                svc: s,
                node: node.clone(),
                phase,
                phase_since: self.now_ms,
                ready: false,
                restarts: 0,
                delete_at: None,
                fault: PodView::default(),
            },
        );
        let msg = if node.is_empty() {
            "created; unschedulable, no node available".into()
        } else {
            format!("created on {node}")
        };
        self.event(&name, &msg, node.is_empty());
        name
    }

    fn terminate(&mut self, name: &str, grace_s: u64) {
        let now = self.now_ms;
        if let Some(p) = self.pods.get_mut(name) {
            p.phase = PodPhase::Terminating;
            p.ready = false;
            p.delete_at = Some(now + grace_s * 1000);
        }
    }

    fn service_index(&self, namespace: &str, name: &str) -> Result<usize, BackendError> {
        if namespace != NAMESPACE {
            return Err(BackendError::TargetGone(format!("{namespace}/{name}")));
        }
        self.services
            .iter()
            .position(|s| s.name == name)
            .ok_or_else(|| BackendError::TargetGone(format!("{namespace}/{name}")))
    }

    /// The live (not terminating) pods a target selects.
    fn select_pods(&self, target: &Target) -> Result<Vec<String>, BackendError> {
        match target {
            Target::Workload { namespace, name } => {
                let s = self.service_index(namespace, name)?;
                Ok(self
                    .pods
                    .iter()
                    .filter(|(_, p)| p.svc == s && p.phase != PodPhase::Terminating)
                    .map(|(n, _)| n.clone())
                    .collect())
            }
            Target::Pod { namespace, name } => match self.pods.get(name) {
                Some(p) if namespace == NAMESPACE && p.phase != PodPhase::Terminating => Ok(vec![name.clone()]),
                _ => Err(BackendError::TargetGone(target.to_string())),
            },
            Target::Node { .. } => Err(BackendError::Unsupported(format!("{target} is a node; this fault needs pods"))),
        }
    }

    pub fn inject(&mut self, spec: &FaultSpec) -> Result<RevertHandle, BackendError> {
        let int = |n: &str, d: i64| spec.int(n).unwrap_or(d);
        let handle = |summary: String, data: serde_json::Value| RevertHandle { fault_id: spec.fault_id, summary, data };
        match spec.action.as_str() {
            "pod-delete" => {
                let mut pods = self.select_pods(&spec.target)?;
                if pods.is_empty() {
                    return Err(BackendError::Failed(format!("{} has no running pod to delete", spec.target)));
                }
                pods.shuffle(&mut self.rng);
                pods.truncate(int("count", 1).max(1) as usize);
                pods.sort();
                let grace = int("grace_seconds", 30).max(0) as u64;
                for p in &pods {
                    if grace == 0 {
                        self.pods.remove(p);
                        self.event(p, "killed (grace period 0)", true);
                    } else {
                        self.terminate(p, grace);
                        self.event(p, &format!("deleted (grace period {grace}s)"), true);
                    }
                }
                Ok(handle(format!("deleted {}", pods.join(", ")), json!({ "pods": pods })))
            }
            "scale" => {
                let Target::Workload { namespace, name } = &spec.target else {
                    return Err(BackendError::Unsupported("scale needs a workload".into()));
                };
                let s = self.service_index(namespace, name)?;
                let saved = self.services[s].desired;
                let to = int("replicas", 0).max(0) as u32;
                self.services[s].desired = to;
                self.services[s].deficit_since = None;
                self.events.push(TopologyDelta::ClusterEvent {
                    object: format!("deployment {}", spec.target),
                    message: format!("scaled from {saved} to {to}"),
                    warning: true,
                });
                Ok(handle(
                    format!("scaled {} from {saved} to {to} replicas", spec.target),
                    json!({ "service": name, "replicas": saved }),
                ))
            }
            "network-latency" | "network-loss" | "cpu-stress" | "container-pause" => {
                let pods = self.select_pods(&spec.target)?;
                if pods.is_empty() {
                    return Err(BackendError::Failed(format!("{} has no running pod", spec.target)));
                }
                let what = match spec.action.as_str() {
                    "network-latency" => format!("+{}ms latency", int("latency_ms", 300)),
                    "network-loss" => format!("{}% packet loss", int("loss_percent", 30)),
                    "cpu-stress" => format!("{}% CPU stress", int("load_percent", 90)),
                    _ => "paused".to_string(),
                };
                for name in &pods {
                    if let Some(p) = self.pods.get_mut(name) {
                        match spec.action.as_str() {
                            "network-latency" => {
                                p.fault.latency_ms = int("latency_ms", 300) as f64;
                                p.fault.jitter_ms = int("jitter_ms", 0) as f64;
                            }
                            "network-loss" => p.fault.loss = int("loss_percent", 30) as f64 / 100.0,
                            "cpu-stress" => {
                                p.fault.cpu_load =
                                    (int("load_percent", 90) as f64 / 100.0 * int("workers", 1) as f64).min(1.0)
                            }
                            _ => p.fault.paused = true,
                        }
                    }
                    self.event(name, &what, true);
                }
                Ok(handle(format!("{what} on {}", pods.join(", ")), json!({ "pods": pods, "action": spec.action })))
            }
            "node-drain" => {
                let Target::Node { name } = &spec.target else {
                    return Err(BackendError::Unsupported("node-drain needs a node".into()));
                };
                match self.nodes.get_mut(name) {
                    Some(u) => *u = true,
                    None => return Err(BackendError::TargetGone(spec.target.to_string())),
                }
                self.events.push(TopologyDelta::ClusterEvent {
                    object: format!("node {name}"),
                    message: "cordoned".into(),
                    warning: true,
                });
                let grace = int("grace_seconds", 30).max(0) as u64;
                let evict: Vec<String> = self
                    .pods
                    .iter()
                    .filter(|(_, p)| &p.node == name && p.phase != PodPhase::Terminating)
                    .map(|(n, _)| n.clone())
                    .collect();
                for p in &evict {
                    self.terminate(p, grace);
                    self.event(p, &format!("evicted from {name}"), true);
                }
                Ok(handle(format!("drained {name}: evicted {} pods", evict.len()), json!({ "node": name })))
            }
            "config-corrupt" => {
                let Target::Workload { namespace, name } = &spec.target else {
                    return Err(BackendError::Unsupported("config-corrupt needs a workload".into()));
                };
                let s = self.service_index(namespace, name)?;
                let key = spec.params.get("key").map(|v| v.to_string()).unwrap_or_else(|| "DB_HOST".into());
                self.services[s].config_broken = Some(key.clone());
                self.events.push(TopologyDelta::ClusterEvent {
                    object: format!("configmap {namespace}/{name}-config"),
                    message: format!("key {key} overwritten; pods reloaded it"),
                    warning: true,
                });
                Ok(handle(
                    format!("corrupted {key} in {namespace}/{name}-config"),
                    json!({ "service": name, "key": key }),
                ))
            }
            other => Err(BackendError::Unsupported(format!("the demo cluster cannot simulate '{other}'"))),
        }
    }

    pub fn revert(&mut self, h: &RevertHandle) -> Result<(), BackendError> {
        if self.fail_reverts > 0 {
            self.fail_reverts -= 1;
            return Err(BackendError::Failed("simulated API error: 503 Service Unavailable".into()));
        }
        let str_of = |k: &str| h.data.get(k).and_then(|v| v.as_str()).map(str::to_string);
        if let Some(pods) = h.data.get("pods").and_then(|p| p.as_array()) {
            if str_of("action").is_none() {
                return Ok(()); // pod-delete: the controller has already replaced them
            }
            for name in pods.iter().filter_map(|p| p.as_str()) {
                if let Some(p) = self.pods.get_mut(name) {
                    p.fault = PodView::default();
                    self.event(name, "fault removed", false);
                }
            }
            return Ok(());
        }
        if let Some(node) = str_of("node") {
            if let Some(u) = self.nodes.get_mut(&node) {
                *u = false;
            }
            self.events.push(TopologyDelta::ClusterEvent {
                object: format!("node {node}"),
                message: "uncordoned".into(),
                warning: false,
            });
            return Ok(());
        }
        if let Some(svc) = str_of("service") {
            let s = self.service_index(NAMESPACE, &svc)?;
            if let Some(r) = h.data.get("replicas").and_then(|r| r.as_u64()) {
                self.services[s].desired = r as u32;
                self.events.push(TopologyDelta::ClusterEvent {
                    object: format!("deployment {NAMESPACE}/{svc}"),
                    message: format!("scaled back to {r}"),
                    warning: false,
                });
            } else {
                self.services[s].config_broken = None;
                self.events.push(TopologyDelta::ClusterEvent {
                    object: format!("configmap {NAMESPACE}/{svc}-config"),
                    message: "restored from the saved copy".into(),
                    warning: false,
                });
            }
            return Ok(());
        }
        Err(BackendError::Failed(format!("revert handle of fault #{} is not one of the demo cluster's", h.fault_id)))
    }
}

fn random_name(rng: &mut ChaCha8Rng, len: usize) -> String {
    (0..len).map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char).collect()
}
