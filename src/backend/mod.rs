//! The one trait every backend implements (simulated, Kubernetes, Docker): a stream of
//! topology deltas, inject, revert.

pub mod model;
pub mod sim;

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc::UnboundedSender;

pub use model::{Target, TargetKind, Topology, TopologyDelta};

use crate::preset::ParamValue;

/// Everything a backend needs to inject one fault.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FaultSpec {
    pub fault_id: u64,
    pub preset: String,
    /// The fault family the backend implements ("pod-delete", "network-latency", ...).
    pub action: String,
    pub target: Target,
    pub params: BTreeMap<String, ParamValue>,
    pub duration_ms: u64,
}

impl FaultSpec {
    pub fn int(&self, name: &str) -> Option<i64> {
        self.params.get(name).and_then(ParamValue::as_int)
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

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackendInfo {
    /// "demo", "kubernetes", "docker"
    pub kind: String,
    /// Human name of what we are connected to.
    pub cluster: String,
}

/// Whether a backend can run a given fault action, and if not, why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Support {
    Yes,
    No(String),
}

#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum BackendError {
    #[error("target {0} does not exist (it may have vanished)")]
    TargetGone(String),
    #[error("{0}")]
    Unsupported(String),
    #[error("{0}")]
    Failed(String),
}

#[async_trait]
pub trait Backend: Send + Sync + 'static {
    fn info(&self) -> BackendInfo;

    /// Whether `action` (a preset's action) can be run here.
    fn supports(&self, action: &str) -> Support;

    /// Starts streaming the topology into `tx`: first a `Snapshot`, then deltas as they happen.
    /// Must not block; watch tasks are spawned on the current tokio runtime.
    fn watch(&self, tx: UnboundedSender<TopologyDelta>);

    /// Injects the fault. On error nothing of it may be left behind.
    async fn inject(&self, spec: &FaultSpec) -> Result<RevertHandle, BackendError>;

    /// Undoes the fault. Idempotent: reverting twice is harmless.
    async fn revert(&self, handle: &RevertHandle) -> Result<(), BackendError>;
}
