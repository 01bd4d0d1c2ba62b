//! What every Kubernetes fault is made with, the plain API's and the chaos engines' alike: the
//! backend's context (`Ctx`), the markers every changed object carries (labels
//! `gameday.dev/session` and `gameday.dev/fault`, the annotation `gameday.dev/revert` holding the
//! whole revert plan, so any process can find the fault and undo it from the cluster alone), the
//! revert plan itself (`handle`), the engines discovery found (`engine`), the pods a fault
//! chooses (`pods`), and the API's errors in words.

pub mod engine;
pub mod handle;
pub mod pods;

use std::time::Duration;

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use kube::api::{Api, Patch, PatchParams};
use kube::Client;
use serde_json::{json, Value};
use tokio::sync::mpsc::UnboundedSender;

use super::cluster::Policy;
use crate::backend::BackendError;
use crate::model::{FaultSpec, TopologyDelta};
use engine::Engines;
pub use handle::HandleData;

pub const SESSION: &str = "gameday.dev/session";
pub const FAULT: &str = "gameday.dev/fault";
pub const REVERT: &str = "gameday.dev/revert";
/// When the fault's time is up (RFC 3339): past it, any console or `gameday watchdog` reverts
/// the fault by its markers, whether or not its own console is alive.
pub const DEADLINE: &str = "gameday.dev/deadline";
/// Pods chosen for a NetworkPolicy fault get this label (the policy selects it).
pub const DENY: &str = "gameday.dev/deny";
/// A pod by namespace and name.
pub type PodKey = (String, String);

/// What the fault code needs of the backend.
pub struct Ctx {
    pub client: Client,
    pub policy: Policy,
    pub engines: std::sync::Arc<std::sync::RwLock<Engines>>,
    /// Where the console hears what happens to a fault (the watch's channel, once watching).
    pub news: std::sync::Mutex<Option<UnboundedSender<TopologyDelta>>>,
    /// How to say why the API server could not be reached.
    pub explain: super::errors::Explain,
    /// What a fault goes on doing after its inject (a drain waiting on budgets): stopped by
    /// its revert.
    pub background: Background,
}

/// Tasks that go on acting for a fault after its inject returned, by (session, fault).
#[derive(Default)]
pub struct Background(std::sync::Mutex<std::collections::BTreeMap<(String, u64), tokio::task::AbortHandle>>);

impl Background {
    pub fn insert(&self, key: (String, u64), task: tokio::task::AbortHandle) {
        if let Ok(mut b) = self.0.lock() {
            if let Some(old) = b.insert(key, task) {
                old.abort();
            }
        }
    }

    /// Stops what that fault goes on doing, if anything.
    pub fn stop(&self, session: &str, fault: u64) {
        if let Ok(mut b) = self.0.lock() {
            if let Some(task) = b.remove(&(session.to_string(), fault)) {
                task.abort();
            }
        }
    }
}

impl Ctx {
    /// A channel for news about faults (a clone of the watch's; none before it started).
    pub fn news(&self) -> Option<UnboundedSender<TopologyDelta>> {
        self.news.lock().ok().and_then(|n| n.clone())
    }

    /// A timeline line about an object a fault touches.
    pub fn tell(&self, object: String, message: String, warning: bool) {
        if let Some(tx) = self.news() {
            let _ = tx.send(TopologyDelta::ClusterEvent { object, message, warning });
        }
    }
}

pub fn api_err(what: &str, e: kube::Error) -> BackendError {
    match e {
        kube::Error::Api(s) if s.code == 404 => BackendError::TargetGone(format!("{what}: {}", s.message)),
        kube::Error::Api(s) if s.code == 429 => {
            BackendError::Failed(format!("{what}: refused for now ({}): {}", s.code, s.message))
        }
        kube::Error::Api(s) => BackendError::Failed(format!("{what}: {} ({})", s.message, s.code)),
        other => BackendError::Failed(format!("{what}: {}", said(&other))),
    }
}

/// A kube error in words (what the API server said, or why it could not be reached).
pub fn said(e: &kube::Error) -> String {
    super::errors::Explain::default().explain(e)
}

pub fn is_404(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 404)
}

/// The labels and annotation every touched object gets.
pub fn markers(spec: &FaultSpec, plan: &HandleData) -> Value {
    json!({"metadata": {
        "labels": {SESSION: spec.session, FAULT: spec.fault_id.to_string()},
        "annotations": {
            REVERT: serde_json::to_string(plan).unwrap_or_default(),
            DEADLINE: deadline(spec.duration_ms).to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        },
    }})
}

/// When a fault injected now for `duration_ms` is due to end.
pub fn deadline(duration_ms: u64) -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now() + chrono::Duration::milliseconds(duration_ms.min(i64::MAX as u64) as i64)
}

/// Removes the markers (a merge patch with nulls).
pub fn unmark() -> Value {
    json!({"metadata": {"labels": {SESSION: null, FAULT: null}, "annotations": {REVERT: null, DEADLINE: null}}})
}

/// Combines two merge patches into one. Unlike applying `b` to `a` (RFC 7386), a null in `b`
/// stays: in a merge patch it means "remove this field".
pub fn merge(a: Value, b: Value) -> Value {
    match (a, b) {
        (Value::Object(mut a), Value::Object(b)) => {
            for (k, v) in b {
                let merged = match a.remove(&k) {
                    Some(av) => merge(av, v),
                    None => v,
                };
                a.insert(k, merged);
            }
            Value::Object(a)
        }
        (_, b) => b,
    }
}

/// Merge-patches a workload of any of the three kinds.
pub async fn patch_workload(ctx: &Ctx, kind: &str, ns: &str, name: &str, patch: &Value) -> Result<(), kube::Error> {
    let c = ctx.client.clone();
    let p = Patch::Merge(patch);
    let pp = PatchParams::default();
    match kind {
        "Deployment" => Api::<Deployment>::namespaced(c, ns).patch(name, &pp, &p).await.map(|_| ()),
        "StatefulSet" => Api::<StatefulSet>::namespaced(c, ns).patch(name, &pp, &p).await.map(|_| ()),
        _ => Api::<DaemonSet>::namespaced(c, ns).patch(name, &pp, &p).await.map(|_| ()),
    }
}

pub async fn strategic_workload(ctx: &Ctx, kind: &str, ns: &str, name: &str, patch: &Value) -> Result<(), kube::Error> {
    let c = ctx.client.clone();
    let p = Patch::Strategic(patch);
    let pp = PatchParams::default();
    match kind {
        "Deployment" => Api::<Deployment>::namespaced(c, ns).patch(name, &pp, &p).await.map(|_| ()),
        "StatefulSet" => Api::<StatefulSet>::namespaced(c, ns).patch(name, &pp, &p).await.map(|_| ()),
        _ => Api::<DaemonSet>::namespaced(c, ns).patch(name, &pp, &p).await.map(|_| ()),
    }
}

/// DNS-1123 name for an object this fault creates.
pub fn object_name(spec: &FaultSpec, what: &str) -> String {
    let s: String =
        spec.session.to_lowercase().chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
    let mut n = format!("gameday-{what}-{s}-f{}", spec.fault_id);
    n.truncate(63);
    n.trim_end_matches('-').to_string()
}

/// The pod template annotation a restart sets (as `kubectl rollout restart` sets its own).
pub const RESTARTED_AT: &str = "gameday.dev/restartedAt";

/// Restarts a workload's pods the way `kubectl rollout restart` does: a changed pod template.
pub async fn roll(ctx: &Ctx, kind: &str, ns: &str, name: &str) -> Result<(), BackendError> {
    let patch =
        json!({"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: chrono::Utc::now().to_rfc3339()}}}}});
    patch_workload(ctx, kind, ns, name, &patch).await.map_err(|e| api_err(&format!("restart {kind} {ns}/{name}"), e))
}

/// Restarts them again by taking that annotation away: the pod template is as it was before
/// the fault (a GitOps tool sees no drift), and changed from now, so the pods roll again.
pub async fn unroll(ctx: &Ctx, kind: &str, ns: &str, name: &str) -> Result<(), BackendError> {
    let patch = json!({"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: null}}}}});
    patch_workload(ctx, kind, ns, name, &patch).await.map_err(|e| api_err(&format!("restart {kind} {ns}/{name}"), e))
}

/// Waits up to `limit` for `done` to hold, checking every 200 ms.
pub async fn wait_until<F, Fut>(limit: Duration, mut done: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if done().await {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combined_patches_keep_their_nulls() {
        let p = merge(unmark(), json!({"spec": {"unschedulable": null}, "data": {"K": null}}));
        assert_eq!(p["spec"]["unschedulable"], Value::Null);
        assert!(p["spec"].as_object().unwrap().contains_key("unschedulable"), "{p}");
        assert!(p["data"].as_object().unwrap().contains_key("K"));
        assert!(p["metadata"]["labels"].as_object().unwrap().contains_key(FAULT));
    }
}
