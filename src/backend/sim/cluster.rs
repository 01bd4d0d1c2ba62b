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
use crate::backend::BackendError;
use crate::model::{FaultSpec, Mode, RevertHandle, Target};
use crate::model::{Node, Pod, PodPhase, ServiceSample, Topology, TopologyDelta, Workload};

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
    /// Say on the timeline what a latency, loss, stress or pause fault does to each pod (no
    /// real cluster does: a drill's responder must not read it there).
    fault_events: bool,
    /// What `tell` said and `take_tells` has not taken.
    tells: Vec<TopologyDelta>,
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
            fault_events: true,
            tells: Vec::new(),
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
    /// No timeline line for what a latency, loss, stress or pause fault does to a pod: for a
    /// drill's responder, whose cluster replays faults they are to find by their effects.
    pub fn hide_fault_events(&mut self) {
        self.fault_events = false;
    }

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
                note: None,
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
            // A responder's replay shows a fault by its effects only, never by name on a pod.
            if !self.fault_events {
                notes.clear();
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
                labels: [("name", svc.name.as_str()), ("app.kubernetes.io/part-of", "sock-shop")]
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                caveats: Default::default(),
            });
        }
        for (name, unschedulable) in &self.nodes {
            t.upsert_node(Node { name: name.clone(), ready: true, unschedulable: *unschedulable, note: None });
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

    /// A line about what a fault does to a pod, which no real cluster says: not at all for a
    /// drill's responder replaying faults (`hide_fault_events`), and kept among the `tells` that
    /// a served drill's responders do not see.
    fn tell(&mut self, pod: &str, message: &str, warning: bool) {
        if self.fault_events {
            self.event(pod, message, warning);
            if let Some(e) = self.events.last() {
                self.tells.push(e.clone());
            }
        }
    }

    /// The lines `tell` said since the last call.
    pub fn take_tells(&mut self) -> Vec<TopologyDelta> {
        std::mem::take(&mut self.tells)
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

    /// Chooses what the fault will touch and saves what its revert needs; changes nothing.
    pub fn prepare(&mut self, spec: &FaultSpec) -> Result<RevertHandle, BackendError> {
        let int = |n: &str, d: i64| spec.int(n).unwrap_or(d);
        let handle = |summary: String, data: serde_json::Value| RevertHandle { fault_id: spec.fault_id, summary, data };
        let action = spec.action.as_str();
        match action {
            "pod-delete" | "network-latency" | "network-loss" | "cpu-stress" | "container-pause" => {
                // The candidates the console saw, as far as they are still running here.
                let mut live: Vec<String> = spec
                    .pods
                    .iter()
                    .filter(|r| r.namespace == NAMESPACE)
                    .filter(|r| self.pods.get(&r.name).is_some_and(|p| p.phase != PodPhase::Terminating))
                    .map(|r| r.name.clone())
                    .collect();
                if live.is_empty() {
                    return Err(BackendError::TargetGone(format!("{}: none of its pods is running", spec.target)));
                }
                live.shuffle(&mut self.rng);
                live.truncate(spec.mode.unwrap_or(Mode::All).count(live.len()));
                live.sort();
                let what = match action {
                    "pod-delete" if int("grace_seconds", 30) == 0 => "kill".to_string(),
                    "pod-delete" => "delete".to_string(),
                    "network-latency" => format!("add {}ms latency to", int("latency_ms", 300)),
                    "network-loss" => format!("drop {}% of packets from", int("loss_percent", 30)),
                    "cpu-stress" => format!("stress CPU at {}% in", int("load_percent", 90)),
                    _ => "pause".to_string(),
                };
                Ok(handle(format!("{what} {}", live.join(", ")), json!({ "action": action, "pods": live })))
            }
            "scale" => {
                let Target::Workload { namespace, name } = &spec.target else {
                    return Err(BackendError::Unsupported("scale needs a workload".into()));
                };
                let s = self.service_index(namespace, name)?;
                let saved = self.services[s].desired;
                Ok(handle(
                    format!("scale {} from {saved} to {}", spec.target, int("replicas", 0)),
                    json!({ "action": action, "service": name, "replicas": saved }),
                ))
            }
            "node-drain" => {
                let Target::Node { name } = &spec.target else {
                    return Err(BackendError::Unsupported("node-drain needs a node".into()));
                };
                if !self.nodes.contains_key(name) {
                    return Err(BackendError::TargetGone(spec.target.to_string()));
                }
                Ok(handle(format!("drain {name}"), json!({ "action": action, "node": name })))
            }
            "config-corrupt" => {
                let Target::Workload { namespace, name } = &spec.target else {
                    return Err(BackendError::Unsupported("config-corrupt needs a workload".into()));
                };
                self.service_index(namespace, name)?;
                let key = spec.text("key").unwrap_or_else(|| "DB_HOST".into());
                Ok(handle(
                    format!("corrupt {key} in {namespace}/{name}-config"),
                    json!({ "action": action, "service": name, "key": key }),
                ))
            }
            other => Err(BackendError::Unsupported(format!("the demo cluster cannot simulate '{other}'"))),
        }
    }

    /// Applies exactly what `prepare` chose.
    pub fn inject(&mut self, spec: &FaultSpec, prepared: &RevertHandle) -> Result<RevertHandle, BackendError> {
        let int = |n: &str, d: i64| spec.int(n).unwrap_or(d);
        let data = &prepared.data;
        let str_of = |k: &str| data.get(k).and_then(|v| v.as_str()).map(str::to_string);
        let done = |summary: String| RevertHandle { summary, ..prepared.clone() };
        let pods: Vec<String> = data
            .get("pods")
            .and_then(|p| p.as_array())
            .map(|a| a.iter().filter_map(|p| p.as_str().map(str::to_string)).collect())
            .unwrap_or_default();
        match spec.action.as_str() {
            "pod-delete" => {
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
                Ok(done(format!("deleted {}", pods.join(", "))))
            }
            action @ ("network-latency" | "network-loss" | "cpu-stress" | "container-pause") => {
                let what = match action {
                    "network-latency" => format!("+{}ms latency", int("latency_ms", 300)),
                    "network-loss" => format!("{}% packet loss", int("loss_percent", 30)),
                    "cpu-stress" => format!("{}% CPU stress", int("load_percent", 90)),
                    _ => "paused".to_string(),
                };
                for name in &pods {
                    let Some(p) = self.pods.get_mut(name) else { continue };
                    match action {
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
                    self.tell(name, &what, true);
                }
                Ok(done(format!("{what} on {}", pods.join(", "))))
            }
            "scale" => {
                let svc = str_of("service").unwrap_or_default();
                let s = self.service_index(NAMESPACE, &svc)?;
                let (saved, to) = (self.services[s].desired, int("replicas", 0).max(0) as u32);
                self.services[s].desired = to;
                self.services[s].deficit_since = None;
                self.events.push(TopologyDelta::ClusterEvent {
                    object: format!("deployment {}", spec.target),
                    message: format!("scaled from {saved} to {to}"),
                    warning: true,
                });
                Ok(done(format!("scaled {} from {saved} to {to} replicas", spec.target)))
            }
            "node-drain" => {
                let name = str_of("node").unwrap_or_default();
                match self.nodes.get_mut(&name) {
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
                    .filter(|(_, p)| p.node == name && p.phase != PodPhase::Terminating)
                    .map(|(n, _)| n.clone())
                    .collect();
                for p in &evict {
                    self.terminate(p, grace);
                    self.event(p, &format!("evicted from {name}"), true);
                }
                Ok(done(format!("drained {name}: evicted {} pods", evict.len())))
            }
            "config-corrupt" => {
                let (svc, key) = (str_of("service").unwrap_or_default(), str_of("key").unwrap_or_default());
                let s = self.service_index(NAMESPACE, &svc)?;
                self.services[s].config_broken = Some(key.clone());
                self.events.push(TopologyDelta::ClusterEvent {
                    object: format!("configmap {NAMESPACE}/{svc}-config"),
                    message: format!("key {key} overwritten; pods reloaded it"),
                    warning: true,
                });
                Ok(done(format!("corrupted {key} in {NAMESPACE}/{svc}-config")))
            }
            other => Err(BackendError::Unsupported(format!("the demo cluster cannot simulate '{other}'"))),
        }
    }

    /// Undoes a fault; harmless if it was never (or only partly) applied, or already undone.
    pub fn revert(&mut self, h: &RevertHandle) -> Result<(), BackendError> {
        if self.fail_reverts > 0 {
            self.fail_reverts -= 1;
            return Err(BackendError::Failed("simulated API error: 503 Service Unavailable".into()));
        }
        let str_of = |k: &str| h.data.get(k).and_then(|v| v.as_str()).map(str::to_string);
        match str_of("action").as_deref() {
            // The controller replaces deleted pods by itself.
            Some("pod-delete") => Ok(()),
            Some("network-latency" | "network-loss" | "cpu-stress" | "container-pause") => {
                let pods = h.data.get("pods").and_then(|p| p.as_array()).cloned().unwrap_or_default();
                for name in pods.iter().filter_map(|p| p.as_str()) {
                    if let Some(p) = self.pods.get_mut(name) {
                        if p.fault.is_faulted() {
                            p.fault = PodView::default();
                            self.tell(name, "fault removed", false);
                        }
                    }
                }
                Ok(())
            }
            Some("node-drain") => {
                let node = str_of("node").unwrap_or_default();
                if let Some(u) = self.nodes.get_mut(&node).filter(|u| **u) {
                    *u = false;
                    self.events.push(TopologyDelta::ClusterEvent {
                        object: format!("node {node}"),
                        message: "uncordoned".into(),
                        warning: false,
                    });
                }
                Ok(())
            }
            Some("scale") => {
                let svc = str_of("service").unwrap_or_default();
                let s = self.service_index(NAMESPACE, &svc)?;
                let r = h.data.get("replicas").and_then(|r| r.as_u64()).unwrap_or(1) as u32;
                if self.services[s].desired != r {
                    self.services[s].desired = r;
                    self.events.push(TopologyDelta::ClusterEvent {
                        object: format!("deployment {NAMESPACE}/{svc}"),
                        message: format!("scaled back to {r}"),
                        warning: false,
                    });
                }
                Ok(())
            }
            Some("config-corrupt") => {
                let svc = str_of("service").unwrap_or_default();
                let s = self.service_index(NAMESPACE, &svc)?;
                if self.services[s].config_broken.take().is_some() {
                    self.events.push(TopologyDelta::ClusterEvent {
                        object: format!("configmap {NAMESPACE}/{svc}-config"),
                        message: "restored from the saved copy".into(),
                        warning: false,
                    });
                }
                Ok(())
            }
            _ => Err(BackendError::Failed(format!(
                "revert handle of fault #{} is not one of the demo cluster's",
                h.fault_id
            ))),
        }
    }
}

fn random_name(rng: &mut ChaCha8Rng, len: usize) -> String {
    (0..len).map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char).collect()
}
