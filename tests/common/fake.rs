//! A backend for tests of the machinery around faults (leftovers, cleanup, the runtime): it
//! remembers what it was asked, can fail on demand, and reports the markers it is given.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;

use async_trait::async_trait;
use gameday::backend::{Backend, BackendError};
use gameday::model::{BackendInfo, FaultSpec, Leftover, RevertHandle, Support, TopologyDelta};
use tokio::sync::mpsc::UnboundedSender;

#[derive(Default)]
pub struct FakeBackend {
    pub cluster: String,
    pub reverted: Mutex<Vec<RevertHandle>>,
    pub fail_reverts: AtomicU32,
    pub markers: Vec<Leftover>,
}

impl FakeBackend {
    pub fn new(cluster: &str) -> FakeBackend {
        FakeBackend { cluster: cluster.into(), ..Default::default() }
    }
    pub fn reverted_ids(&self) -> Vec<u64> {
        self.reverted.lock().unwrap().iter().map(|h| h.fault_id).collect()
    }
}

#[async_trait]
impl Backend for FakeBackend {
    fn info(&self) -> BackendInfo {
        BackendInfo { kind: "fake".into(), cluster: self.cluster.clone(), pod_word: "pod".into() }
    }
    fn supports(&self, _action: &str) -> Support {
        Support::Yes
    }
    fn watch(&self, _tx: UnboundedSender<TopologyDelta>) {}
    async fn prepare(&self, spec: &FaultSpec) -> Result<RevertHandle, BackendError> {
        Ok(RevertHandle { fault_id: spec.fault_id, summary: "fake".into(), data: serde_json::Value::Null })
    }
    async fn inject(&self, _spec: &FaultSpec, prepared: &RevertHandle) -> Result<RevertHandle, BackendError> {
        Ok(prepared.clone())
    }
    async fn revert(&self, handle: &RevertHandle) -> Result<gameday::backend::Reverted, BackendError> {
        if self.fail_reverts.load(Ordering::SeqCst) > 0 {
            self.fail_reverts.fetch_sub(1, Ordering::SeqCst);
            return Err(BackendError::Failed("503 from the fake".into()));
        }
        self.reverted.lock().unwrap().push(handle.clone());
        Ok(Default::default())
    }
    async fn leftovers(&self) -> Result<Vec<Leftover>, BackendError> {
        Ok(self.markers.clone())
    }
}
