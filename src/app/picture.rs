//! The cluster's picture as the backend streams it: the topology, the connection, and each
//! service's health (traffic samples where the backend measures them, readiness otherwise).
//! Changes of health and the cluster's own events go on the timeline.

use std::collections::BTreeMap;

use super::book::Book;
use super::health::ServiceHealth;
use crate::model::{Topology, TopologyDelta, Workload};
use crate::timeline::EntryKind;

/// The backend's connection, as it last reported it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Connection {
    pub connected: bool,
    pub detail: String,
    /// Since when (ms since start) it has been in this state.
    pub since_ms: u64,
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
}

/// What a change of the picture means to the others.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PictureNews {
    Nothing,
    /// A full picture came in (the first, or after a reconnect).
    Pictured,
}

fn service_key(w: &Workload) -> String {
    format!("{}/{}", w.namespace, w.name)
}

impl Picture {
    /// A change the backend streamed. `responder`: a drill's responder, who finds faults by
    /// their effects (the system's own record of gameday's faults, its Events, would name them).
    pub fn on_delta(&mut self, delta: TopologyDelta, responder: bool, book: &mut Book) -> PictureNews {
        match delta {
            TopologyDelta::Samples(samples) => {
                for sample in samples {
                    let h = self.health.entry(sample.service.clone()).or_default();
                    let reading = format!("success {:.1}%, p95 {:.0} ms", sample.success * 100.0, sample.p95_ms);
                    let service = sample.service.clone();
                    if let Some((from, to)) = h.push(sample) {
                        book.record(EntryKind::HealthChanged { service, from, to, reading });
                    }
                }
            }
            TopologyDelta::ClusterEvent { message, .. }
                if responder && message.starts_with(crate::model::EVENT_REASON_PREFIX) => {}
            TopologyDelta::ClusterEvent { object, message, warning } => {
                book.record(EntryKind::Cluster { object, message, warning });
            }
            TopologyDelta::Connection { connected, detail } => self.on_connection(connected, detail, book),
            TopologyDelta::Snapshot(t) => {
                let gone: Vec<String> =
                    self.health.keys().filter(|k| !t.workloads().any(|w| service_key(w) == **k)).cloned().collect();
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
            book.record(EntryKind::HealthChanged { service, from, to, reading: format!("ready {ready}/{desired}") });
        }
    }
}
