//! The one trait every backend implements (simulated, Kubernetes, Docker): a stream of
//! topology deltas, inject, revert.

pub mod docker;
pub mod drill;
pub mod kube;
pub mod lock;
pub mod relay;
pub mod signals;
pub mod sim;

use async_trait::async_trait;
use tokio::sync::mpsc::UnboundedSender;

use crate::model::{BackendInfo, FaultSpec, Happening, Leftover, Prepared, RevertHandle, Support, TopologyDelta};

/// What a search for leftovers found, and where it could not look, a line each ("could not
/// search RemoteCluster: forbidden").
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Search {
    pub found: Vec<Leftover>,
    pub skipped: Vec<String>,
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
        let fixed_end = self.fixed_end(&handle);
        Ok(Prepared { handle, found: Vec::new(), ends_by_itself: None, fixed_end })
    }

    /// What ends the fault of this handle at the duration it was injected with, whatever the
    /// console says later (`:extend` is refused with it); `None`: the console holds its end.
    fn fixed_end(&self, _handle: &RevertHandle) -> Option<String> {
        None
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

    /// The picture as a served drill's responder on another machine sees it (`relay`): what the
    /// system itself shows. `None`: nothing of this delta.
    fn seen(&self, delta: TopologyDelta) -> Option<TopologyDelta> {
        Some(delta)
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

    /// GETs `path` on port `port` of the Service `service` (`namespace/name`) from inside the
    /// system (on Kubernetes, through the API server's service proxy), within `limit`; the
    /// HTTP status it answered with, or why nothing answered.
    async fn service_get(
        &self,
        _service: &str,
        _port: &str,
        _path: &str,
        _limit: std::time::Duration,
    ) -> Result<u16, String> {
        Err("a service-http probe needs a Kubernetes backend (it goes through the API server's service proxy)".into())
    }

    /// `leftovers`, saying too where it could not look (a kind the API server refused to list):
    /// a search that skipped something never claims that nothing was left behind.
    async fn search(&self) -> Result<Search, BackendError> {
        Ok(Search { found: self.leftovers().await?, skipped: Vec::new() })
    }

    /// Keeps `tx` told what `search` would find, by watching instead of searching again: a
    /// whole `Search` each time it changes. False where the backend cannot (then `search` is
    /// called every few seconds instead).
    fn watch_markers(&self, _tx: UnboundedSender<Search>) -> bool {
        false
    }
}
