//! The one trait every backend implements (simulated, Kubernetes, Docker): a stream of
//! topology deltas, inject, revert.

pub mod delta;
pub mod docker;
pub mod drill;
pub mod kube;
pub mod lock;
pub mod model;
pub mod sim;
pub mod target;

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc::UnboundedSender;

pub use model::{Mode, Target, TargetKind, Topology, TopologyDelta};

use crate::preset::ParamValue;

/// One pod (or container) by namespace and name.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PodRef {
    pub namespace: String,
    pub name: String,
}

impl std::fmt::Display for PodRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

/// Everything a backend needs to inject one fault.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FaultSpec {
    pub fault_id: u64,
    /// The console session that injects it (markers on what the fault changes carry it).
    pub session: String,
    pub preset: String,
    /// The fault family the backend implements ("pod-delete", "network-latency", ...).
    pub action: String,
    pub target: Target,
    pub params: BTreeMap<String, ParamValue>,
    pub duration_ms: u64,
    /// For faults on pods (containers): the pods the target selected when the console planned
    /// the fault, and how many of them to hit. The backend chooses among them in `prepare`.
    /// Empty, with no mode, for workload and node faults.
    pub pods: Vec<PodRef>,
    pub mode: Option<Mode>,
}

impl FaultSpec {
    pub fn int(&self, name: &str) -> Option<i64> {
        self.params.get(name).and_then(ParamValue::as_int)
    }

    pub fn text(&self, name: &str) -> Option<String> {
        self.params.get(name).map(ToString::to_string)
    }

    /// How many of the candidate pods this fault hits.
    pub fn pick_count(&self) -> usize {
        self.mode.unwrap_or(Mode::All).count(self.pods.len())
    }
}

/// What a backend needs to undo a fault. It is serialisable so that the journal can carry it
/// and another process can undo the fault after a crash.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RevertHandle {
    pub fault_id: u64,
    /// What was done, in words ("deleted pod sock-shop/carts-5d8f-x2k4p").
    pub summary: String,
    /// Backend-specific state needed to revert (saved replica count, paused pods, ...).
    pub data: serde_json::Value,
}

/// What `prepare` found, for the confirmation: the handle that says how to undo the fault, and
/// what it read on the way, a line each ("ConfigMap shop/carts-config, key DB_HOST (now \"db\")").
#[derive(Clone, Debug, PartialEq)]
pub struct Prepared {
    pub handle: RevertHandle,
    pub found: Vec<String>,
    /// Whether the fault ends at its duration with no gameday process alive, and what ends it
    /// ("Chaos Mesh ends it at its duration"); `None`: only a console, `gameday cleanup` or
    /// `gameday watchdog` reverts it.
    pub ends_by_itself: Option<String>,
}

/// A fault that an earlier gameday process injected and never confirmed reverted, found in
/// its journal or by the markers on what it changed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Leftover {
    pub session: String,
    pub fault_id: u64,
    /// "container-pause on shop/web (paused shop-web-1)"
    pub what: String,
    pub handle: RevertHandle,
    /// The session's journal, when it was found there (the revert is appended to it).
    pub journal: Option<std::path::PathBuf>,
    /// "journal", "label gameday.session on container x", ...
    pub found_by: String,
    /// Set when it ended by itself meanwhile (a helper's time ran out while no console ran):
    /// nothing to revert, only to record and tidy up ("expired at 10:42:07 UTC").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended: Option<String>,
    /// When the fault's time is up, as its markers say (Unix seconds): a fault past it is
    /// reverted by any console or watchdog on the system (after a grace for its own console).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackendInfo {
    /// "demo", "kubernetes", "docker"
    pub kind: String,
    /// Human name of what we are connected to.
    pub cluster: String,
    /// What this backend calls the things workloads run as: "pod" or "container".
    #[serde(default = "pod_word")]
    pub pod_word: String,
}

fn pod_word() -> String {
    "pod".into()
}

/// Whether a backend can run a given fault action, and if not, why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Support {
    Yes,
    No(String),
}

/// What a search for leftovers found, and where it could not look, a line each ("could not
/// search RemoteCluster: forbidden").
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Search {
    pub found: Vec<Leftover>,
    pub skipped: Vec<String>,
}

/// Every reason gameday gives its Events in the system's own record begins so
/// (`GamedayFaultInjected`, ...): a drill's responder does not see them.
pub const EVENT_REASON_PREFIX: &str = "Gameday";

/// Something done to a fault, for the system's own record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Happening {
    /// `GamedayFaultInjected`, `GamedayFaultAborted`, `GamedayFaultReverted`,
    /// `GamedayFaultTakenOver`.
    pub reason: &'static str,
    /// `Inject`, `Abort`, `Revert`, `TakeOver`.
    pub action: &'static str,
    /// Session, fault, what it does, who: one line.
    pub note: String,
    pub warning: bool,
}

/// What a confirmed revert says besides "done".
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Reverted {
    /// What it left as it found it, a line each: changed by someone since the fault (their
    /// value stays), or already undone by someone else (another console, `gameday cleanup`).
    pub kept: Vec<String>,
}

#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum BackendError {
    #[error("target {0} does not exist (it may have vanished)")]
    TargetGone(String),
    #[error("{0}")]
    Unsupported(String),
    #[error("{0}")]
    Failed(String),
    /// The inject failed and changed nothing: there is nothing to revert.
    #[error("{0} (nothing was applied)")]
    NotApplied(String),
}

#[async_trait]
pub trait Backend: Send + Sync + 'static {
    fn info(&self) -> BackendInfo;

    /// Whether `action` (a preset's action) can be run here.
    fn supports(&self, action: &str) -> Support;

    /// Starts streaming the topology into `tx`: first a `Snapshot`, then deltas as they happen.
    /// Must not block; watch tasks are spawned on the current tokio runtime.
    fn watch(&self, tx: UnboundedSender<TopologyDelta>);

    /// Reads what the fault will touch and everything needed to undo it (chooses the pods,
    /// saves the replica count, ...) and changes nothing. The console journals the handle
    /// before it calls `inject`, so whatever happens next, the journal says how to undo it.
    async fn prepare(&self, spec: &FaultSpec) -> Result<RevertHandle, BackendError>;

    /// `prepare`, read-only as always, for the confirmation shown before anything happens: the
    /// handle (the console journals it when the operator confirms, then injects it) and what
    /// was found, in words.
    async fn preview(&self, spec: &FaultSpec) -> Result<Prepared, BackendError> {
        let handle = self.prepare(spec).await?;
        Ok(Prepared { handle, found: Vec::new(), ends_by_itself: None })
    }

    /// Applies the prepared fault; returns the handle to revert it (the prepared one, perhaps
    /// with more detail). After an error the console reverts the prepared handle anyway.
    async fn inject(&self, spec: &FaultSpec, prepared: &RevertHandle) -> Result<RevertHandle, BackendError>;

    /// Undoes the fault. Idempotent, and harmless on a fault that was prepared but never (or
    /// only partly) applied. What people changed since the fault is left as they made it, and
    /// said so in the answer.
    async fn revert(&self, handle: &RevertHandle) -> Result<Reverted, BackendError>;

    /// How long one revert of this fault may take, when the console's usual limit for a backend
    /// call is too short: an engine that cleans up after a stop (Litmus) can take minutes, and
    /// the revert is under way, not failed, meanwhile.
    fn revert_time_limit(&self, _handle: &RevertHandle) -> Option<std::time::Duration> {
        None
    }

    /// Whether what this backend injects stays in the system when the console dies (true for
    /// real clusters; the demo cluster dies with the console).
    fn faults_outlive_process(&self) -> bool {
        true
    }

    /// Puts what happened to a fault on the record of the system itself (Kubernetes Events
    /// regarding each object it touched), for `kubectl describe` and event pipelines. Best
    /// effort: an error is said, and never holds anything back.
    async fn announce(&self, _handle: &RevertHandle, _what: &Happening) -> Result<(), String> {
        Ok(())
    }

    /// The cluster's one-fault lock shared by every console on it, if this backend has one
    /// (the demo's cluster lives in one console and needs none).
    fn lock(&self) -> Option<std::sync::Arc<dyn lock::ClusterLock>> {
        None
    }

    /// Where a drill's facilitator and responders on other machines exchange their entries, if
    /// this backend has a shared system to carry them (Kubernetes); `None`: one machine's files
    /// (the demo's cluster lives in one console, Docker is one engine's machine).
    fn drill_channel(&self) -> Option<std::sync::Arc<dyn drill::DrillChannel>> {
        None
    }

    /// Faults found in the system by their markers (labels, annotations, helper containers),
    /// whichever process injected them.
    async fn leftovers(&self) -> Result<Vec<Leftover>, BackendError> {
        Ok(Vec::new())
    }

    /// `leftovers`, saying too where it could not look (a kind the API server refused to list):
    /// a search that skipped something never claims that nothing was left behind.
    async fn search(&self) -> Result<Search, BackendError> {
        Ok(Search { found: self.leftovers().await?, skipped: Vec::new() })
    }
}
