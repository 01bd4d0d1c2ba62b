//! What a backend tells the console as it happens: the picture's changes, the cluster's events,
//! its connection, what it learns about faults and who holds the cluster.

use serde::{Deserialize, Serialize};

use super::holder::Holder;
use super::signals::{PodUsage, SignalBatch, SourceKind, SourceState};
use super::topology::{Node, Pod, ServiceSample, Topology, Workload};

/// A change to the cluster picture, streamed by a backend's watch. What another console may
/// be sent of it (a served drill's responder) serializes; a whole picture goes as its parts
/// and what only this console knows (its lock, its faults, the engines it found) never goes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TopologyDelta {
    #[serde(skip)]
    Snapshot(Topology),
    UpsertWorkload(Workload),
    RemoveWorkload {
        namespace: String,
        name: String,
    },
    UpsertPod(Pod),
    RemovePod {
        namespace: String,
        name: String,
    },
    UpsertNode(Node),
    RemoveNode {
        name: String,
    },
    /// Faults may not touch this namespace (`reason`), or may again (`None`).
    #[serde(skip)]
    Lock {
        namespace: String,
        reason: Option<String>,
    },
    Samples(Vec<ServiceSample>),
    /// Request rates, failures and latency histograms a source read (Prometheus), keyed as it
    /// labels them: the console maps them to its workloads.
    Signals(SignalBatch),
    /// CPU and memory of pods (containers), as `source` measured them (metrics.k8s.io, Docker).
    Usage {
        source: String,
        pods: Vec<PodUsage>,
    },
    /// A signal source was found, answers again, fails, or is not there (with how to give one).
    Source {
        kind: SourceKind,
        name: String,
        state: SourceState,
    },
    /// Something that happened in the cluster worth a timeline line (pod deleted, created, ready).
    ClusterEvent {
        object: String,
        message: String,
        warning: bool,
    },
    /// The backend lost or regained its connection. While disconnected the picture is stale.
    Connection {
        connected: bool,
        detail: String,
    },
    /// What the backend found out about an action after start (an engine installed, a kernel
    /// module missing): presets with this action become available or disabled.
    #[serde(skip)]
    Capability {
        action: String,
        support: super::fault::Support,
    },
    /// A workload (`ns/name`) answers on an address the console can reach (a port published on
    /// the host): it gets a probe by default (which follows the address when it changes).
    Reachable {
        service: String,
        addr: String,
    },
    /// A fault is no longer in effect although nobody reverted it: its target restarted, and the
    /// helper's qdisc went away with the old network namespace.
    #[serde(skip)]
    FaultLapsed {
        session: String,
        fault: u64,
        why: String,
    },
    /// The engine runs this fault to its own end (a Litmus experiment runs its duration once its
    /// runner starts): the console waits up to `within_ms` from now for it to finish, and stops
    /// it before that only on an abort.
    #[serde(skip)]
    FaultRunsOn {
        session: String,
        fault: u64,
        within_ms: u64,
        why: String,
    },
    /// The engine says the fault is over, and how (a Litmus verdict): recorded as its end; what
    /// is left of it is tidied up through the ordinary revert.
    #[serde(skip)]
    FaultFinished {
        session: String,
        fault: u64,
        how: String,
    },
    /// Who holds the cluster's one-fault lock now (`None`: nobody), as its watch saw it.
    #[serde(skip)]
    Holder(Option<Holder>),
    /// A `gameday watchdog` runs on the cluster (its heartbeat was seen), or no longer does.
    #[serde(skip)]
    Watchdog(Option<String>),
}

impl Topology {
    /// Applies a change of the picture (the other deltas are not about the picture).
    pub fn apply(&mut self, delta: &TopologyDelta) {
        match delta {
            TopologyDelta::Snapshot(t) => *self = t.clone(),
            TopologyDelta::UpsertWorkload(w) => self.upsert_workload(w.clone()),
            TopologyDelta::RemoveWorkload { namespace, name } => self.remove_workload(namespace, name),
            TopologyDelta::UpsertPod(p) => self.upsert_pod(p.clone()),
            TopologyDelta::RemovePod { namespace, name } => self.remove_pod(namespace, name),
            TopologyDelta::UpsertNode(n) => self.upsert_node(n.clone()),
            TopologyDelta::RemoveNode { name } => self.remove_node(name),
            TopologyDelta::Lock { namespace, reason } => self.set_lock(namespace, reason.clone()),
            TopologyDelta::Samples(_)
            | TopologyDelta::Signals(_)
            | TopologyDelta::Usage { .. }
            | TopologyDelta::Source { .. }
            | TopologyDelta::ClusterEvent { .. }
            | TopologyDelta::Connection { .. }
            | TopologyDelta::Capability { .. }
            | TopologyDelta::Reachable { .. }
            | TopologyDelta::FaultLapsed { .. }
            | TopologyDelta::FaultRunsOn { .. }
            | TopologyDelta::FaultFinished { .. }
            | TopologyDelta::Holder(_)
            | TopologyDelta::Watchdog(_) => {}
        }
    }
}
