//! The cluster's picture as the backend streams it: the topology, the connection, and each
//! service's health (traffic samples where the backend measures them, readiness otherwise).
//! Changes of health and the cluster's own events go on the timeline.

use std::collections::BTreeMap;

use super::book::Book;
use super::charting::Charting;
use super::health::{ServiceHealth, Usage};
use crate::model::signals::{add_buckets, family_rank, quantile};
use crate::model::{
    PodUsage, ServiceSample, SignalBatch, SignalKey, SourceKind, SourceState, Topology, TopologyDelta, Workload,
};
use crate::timeline::{EntryKind, Health};

/// The backend's connection, as it last reported it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Connection {
    pub connected: bool,
    pub detail: String,
    /// Since when (ms since start) it has been in this state.
    pub since_ms: u64,
}

impl Picture {
    /// Why the backend cannot be reached now, if it cannot (a responder's marks then wait).
    pub fn lost(&self) -> Option<&str> {
        self.connection.as_ref().filter(|c| !c.connected).map(|c| c.detail.as_str())
    }
}

/// The picture machine.
#[derive(Clone, Debug, Default)]
pub struct Picture {
    pub topology: Topology,
    /// Set once the backend's first full picture (a snapshot) is in.
    pub pictured: bool,
    /// `None` until the backend says (the demo never does: it cannot lose its connection).
    pub connection: Option<Connection>,
    pub health: BTreeMap<String, ServiceHealth>,
    /// Where signals come from, as last said: (kind, name) -> its state.
    pub sources: BTreeMap<(SourceKind, String), SourceState>,
    /// The signals of a fault's services, taken for its report charts while it is in.
    pub charting: Option<Charting>,
    /// Families gone from a source ("Istio via Prometheus ..."): what they covered is unknown
    /// until they come back.
    pub gone: std::collections::BTreeSet<String>,
    /// How many times a service's health changed: a change is news to the steady state now,
    /// not at the next tick (a service down for less than a tick is still down).
    moves: u64,
}

/// What a change of the picture means to the others.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PictureNews {
    Nothing,
    /// A full picture came in (the first, or after a reconnect).
    Pictured,
    /// A service's health changed (on the timeline): the steady state is judged again now.
    HealthChanged,
}

fn service_key(w: &Workload) -> String {
    format!("{}/{}", w.namespace, w.name)
}

impl Picture {
    /// A change the backend streamed. `responder`: a drill's responder, who finds faults by
    /// their effects (the system's own record of gameday's faults, its Events, would name them).
    pub fn on_delta(&mut self, delta: TopologyDelta, responder: bool, book: &mut Book) -> PictureNews {
        let moves = self.moves;
        let news = self.apply(delta, responder, book);
        match news {
            PictureNews::Nothing if self.moves != moves => PictureNews::HealthChanged,
            news => news,
        }
    }

    fn apply(&mut self, delta: TopologyDelta, responder: bool, book: &mut Book) -> PictureNews {
        match delta {
            TopologyDelta::Samples(samples) => {
                for sample in samples {
                    let h = self.health.entry(sample.service.clone()).or_default();
                    let reading = sample.describe();
                    let service = sample.service.clone();
                    if let Some((from, to)) = h.push(sample) {
                        self.changed(service, from, to, reading, book);
                    }
                }
                self.chart(book);
            }
            TopologyDelta::ClusterEvent { message, .. }
                if responder && message.starts_with(crate::model::EVENT_REASON_PREFIX) => {}
            TopologyDelta::ClusterEvent { object, message, warning } => {
                book.record(EntryKind::Cluster { object, message, warning });
            }
            TopologyDelta::Connection { connected, detail } => self.on_connection(connected, detail, book),
            TopologyDelta::Signals(batch) => {
                self.on_signals(batch, book);
                self.chart(book);
            }
            TopologyDelta::Usage { source, pods } => {
                self.on_usage(&source, &pods);
                self.chart(book);
            }
            TopologyDelta::Source { kind, name, state } => {
                self.on_source(kind, name, state, book);
                self.chart(book);
            }
            TopologyDelta::Snapshot(t) => {
                let keys: std::collections::HashSet<String> = t.workloads().map(service_key).collect();
                let gone: Vec<String> = self.health.keys().filter(|k| !keys.contains(*k)).cloned().collect();
                for k in gone {
                    self.health.remove(&k);
                }
                let workloads: Vec<(String, u32, u32)> =
                    t.workloads().map(|w| (service_key(w), w.ready, w.desired)).collect();
                self.topology = t;
                self.pictured = true;
                for (key, ready, desired) in workloads {
                    self.readiness(key, ready, desired, book);
                }
                return PictureNews::Pictured;
            }
            TopologyDelta::UpsertWorkload(w) => {
                let (key, ready, desired) = (service_key(&w), w.ready, w.desired);
                self.topology.upsert_workload(w);
                self.readiness(key, ready, desired, book);
            }
            TopologyDelta::RemoveWorkload { namespace, name } => {
                self.topology.remove_workload(&namespace, &name);
                let key = format!("{namespace}/{name}");
                if self.health.get(&key).is_some_and(|h| h.last.is_none()) {
                    self.health.remove(&key);
                }
            }
            other => self.topology.apply(&other),
        }
        PictureNews::Nothing
    }

    /// A service's health changed: on the timeline, and charted if a fault is in.
    fn changed(&mut self, service: String, from: Health, to: Health, reading: String, book: &mut Book) {
        if let Some(c) = self.charting.as_mut() {
            c.touch(&service);
        }
        self.moves += 1;
        book.record(EntryKind::HealthChanged { service, from, to, reading });
    }

    /// Starts charting fault `fault`'s services (a reading of them now, if any is measured).
    pub fn start_chart(&mut self, fault: u64, services: Vec<String>, book: &mut Book) {
        self.charting = Some(Charting::start(fault, services));
        self.chart(book);
    }

    /// Fault `fault` left the system: its charts go on a while, for the recovery.
    pub fn settle_chart(&mut self, fault: u64, now_ms: u64) {
        if let Some(c) = self.charting.as_mut().filter(|c| c.fault == fault) {
            c.settle(now_ms);
        }
    }

    /// Takes the charted services' readings, if due; ends the charting once its tail is over.
    fn chart(&mut self, book: &mut Book) {
        let now = book.t_ms();
        let Some(c) = self.charting.as_mut() else { return };
        if c.over(now) {
            self.charting = None;
            return;
        }
        if let Some(readings) = c.take(&self.health, now) {
            book.record(readings);
        }
    }

    fn on_connection(&mut self, connected: bool, detail: String, book: &mut Book) {
        let was = self.connection.as_ref().map(|c| c.connected);
        if was != Some(connected) {
            let message = if connected { format!("connected ({detail})") } else { format!("LOST: {detail}") };
            if was.is_some() || !connected {
                book.record(EntryKind::Cluster { object: "connection".into(), message, warning: !connected });
            }
        }
        let since_ms = match &self.connection {
            Some(c) if c.connected == connected => c.since_ms,
            _ => book.t_ms(),
        };
        self.connection = Some(Connection { connected, detail, since_ms });
    }

    fn readiness(&mut self, service: String, ready: u32, desired: u32, book: &mut Book) {
        let h = self.health.entry(service.clone()).or_default();
        if let Some((from, to)) = h.observe_readiness(ready, desired) {
            self.changed(service, from, to, format!("ready {ready}/{desired}"), book);
        }
    }

    /// The workload (`namespace/name`) a source's key is about, if the picture has it.
    fn workload_of(&self, key: &SignalKey) -> Option<String> {
        let t = &self.topology;
        match key {
            SignalKey::Workload { namespace, name } => t.workload(namespace, name).map(service_key),
            SignalKey::Pod { namespace, name } => {
                let pod = t.pod(namespace, name)?;
                pod.workload.as_ref().map(|w| format!("{namespace}/{w}"))
            }
            SignalKey::Service { namespace: Some(ns), name } => t.workload(ns, name).map(service_key),
            SignalKey::Service { namespace: None, name } => {
                let mut found = t.workloads().filter(|w| w.name == *name);
                match (found.next(), found.next()) {
                    (Some(w), None) => Some(service_key(w)),
                    _ => None,
                }
            }
        }
    }

    /// A refresh of a source's request signals: each workload's success, p95 and rps from the
    /// family that tells most about it, computed as Prometheus would from the summed rates and
    /// histograms of its keys. A workload the source covered before and has no requests from
    /// now is idle (readiness judges it).
    fn on_signals(&mut self, batch: SignalBatch, book: &mut Book) {
        struct Sum {
            family: String,
            rps: f64,
            errors: f64,
            buckets: Vec<(f64, f64)>,
        }
        let mut by: BTreeMap<String, Sum> = BTreeMap::new();
        for r in batch.rates {
            let Some(w) = self.workload_of(&r.key) else { continue };
            let sum = by.entry(w).or_insert_with(|| Sum {
                family: r.family.clone(),
                rps: 0.0,
                errors: 0.0,
                buckets: Vec::new(),
            });
            match family_rank(&r.family).cmp(&family_rank(&sum.family)) {
                std::cmp::Ordering::Greater => continue,
                std::cmp::Ordering::Less => {
                    *sum = Sum { family: r.family.clone(), rps: 0.0, errors: 0.0, buckets: Vec::new() };
                }
                std::cmp::Ordering::Equal => {}
            }
            sum.rps += r.rps;
            sum.errors += r.errors_rps;
            add_buckets(&mut sum.buckets, &r.buckets);
        }
        let source = batch.source;
        // A family back from gone.
        let back: Vec<String> = by
            .values()
            .map(|sum| format!("{} via {source}", sum.family))
            .filter(|tag| self.gone.contains(tag))
            .collect();
        for tag in back {
            self.gone.remove(&tag);
            let message = format!("{tag}: its metrics are back");
            book.record(EntryKind::Cluster { object: "signals".into(), message, warning: false });
        }
        for family in &batch.gone {
            let tag = format!("{family} via {source}");
            let why = format!("{family} metrics are gone from {source}");
            let mut lost = 0;
            for h in self.health.values_mut().filter(|h| h.last.as_ref().is_some_and(|l| l.source == tag)) {
                h.lose(&why);
                lost += 1;
            }
            if self.gone.insert(tag) {
                let message =
                    format!("{why} (no series at all): {lost} service(s) it measured are unknown until they come back");
                book.record(EntryKind::Cluster { object: "signals".into(), message, warning: true });
            }
        }
        let gone = &self.gone;
        let idle: Vec<String> = self
            .health
            .iter()
            .filter(|(k, h)| {
                !by.contains_key(*k)
                    && h.last.as_ref().is_some_and(|l| l.source.ends_with(&source) && !gone.contains(&l.source))
            })
            .map(|(k, _)| k.clone())
            .collect();
        for (service, sum) in by {
            if sum.rps <= 0.0 || !sum.rps.is_finite() {
                continue;
            }
            let sample = ServiceSample {
                service: service.clone(),
                success: (1.0 - sum.errors / sum.rps).clamp(0.0, 1.0),
                p95_ms: quantile(0.95, &sum.buckets),
                rps: sum.rps,
                source: format!("{} via {source}", sum.family),
            };
            let reading = sample.describe();
            let h = self.health.entry(service.clone()).or_default();
            if let Some((from, to)) = h.push(sample) {
                self.changed(service, from, to, reading, book);
            }
        }
        for service in idle {
            let Some(h) = self.health.get_mut(&service) else { continue };
            let ready = h.ready;
            if let Some((from, to)) = h.go_idle(&source) {
                let (r, d) = ready.unwrap_or((0, 0));
                let reading = format!("no requests measured; ready {r}/{d}");
                self.changed(service, from, to, reading, book);
            }
        }
    }

    /// A refresh of a source's CPU and memory: summed per workload.
    fn on_usage(&mut self, source: &str, pods: &[PodUsage]) {
        let mut by: BTreeMap<String, Usage> = BTreeMap::new();
        for p in pods {
            let key = SignalKey::Pod { namespace: p.namespace.clone(), name: p.pod.clone() };
            let Some(w) = self.workload_of(&key) else { continue };
            let u = by.entry(w).or_insert_with(|| Usage { source: source.to_string(), ..Default::default() });
            u.cpu_m += p.cpu_m;
            u.memory_bytes += p.memory_bytes;
            let add = |a: Option<f64>, b: Option<f64>| match (a, b) {
                (Some(a), Some(b)) => Some(a + b),
                (a, b) => a.or(b),
            };
            u.net_rx_bps = add(u.net_rx_bps, p.net_rx_bps);
            u.net_tx_bps = add(u.net_tx_bps, p.net_tx_bps);
            u.block_bps = add(u.block_bps, p.block_bps);
            u.pods += 1;
        }
        for (service, h) in self.health.iter_mut() {
            match by.remove(service) {
                Some(u) => h.usage = Some(u),
                None if h.usage.as_ref().is_some_and(|u| u.source == source) => h.usage = None,
                None => {}
            }
        }
        for (service, u) in by {
            self.health.entry(service).or_default().usage = Some(u);
        }
    }

    /// A source's state changed: said once in the timeline; while a request source is down its
    /// services' signals are unknown.
    fn on_source(&mut self, kind: SourceKind, name: String, state: SourceState, book: &mut Book) {
        let key = (kind, name.clone());
        if self.sources.get(&key) == Some(&state) {
            return;
        }
        let what = match kind {
            SourceKind::Requests => "golden signals",
            SourceKind::Resources => "CPU and memory",
        };
        let was_down = matches!(self.sources.get(&key), Some(SourceState::Down { .. }));
        let (message, warning) = match &state {
            SourceState::Up { families } if families.is_empty() => {
                (format!("{what} from {name}: no metric family it knows (Istio, Linkerd, OpenTelemetry, ingress-nginx, HTTP server histograms)"), true)
            }
            SourceState::Up { families } if was_down => (format!("{what} from {name} again ({})", families.join(", ")), false),
            SourceState::Up { families } => (format!("{what} from {name} ({})", families.join(", ")), false),
            SourceState::Down { why } => (format!("{what} from {name} LOST: {why}; its readings are unknown until it answers"), true),
            SourceState::Absent { hint } => (format!("no {what}: {hint}"), false),
        };
        book.record(EntryKind::Cluster { object: "signals".into(), message, warning });
        match &state {
            SourceState::Down { why } if kind == SourceKind::Requests => {
                for h in self.health.values_mut().filter(|h| h.last.as_ref().is_some_and(|l| l.source.ends_with(&name)))
                {
                    h.lose(why);
                }
            }
            SourceState::Down { .. } => {
                for h in self.health.values_mut().filter(|h| h.usage.as_ref().is_some_and(|u| u.source == name)) {
                    h.usage = None;
                }
            }
            _ => {}
        }
        self.sources.insert(key, state);
    }
}
