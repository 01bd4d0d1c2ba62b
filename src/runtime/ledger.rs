//! Faults that may be in the cluster: injected (or being injected) and not confirmed reverted.
//! A crash reverts what it holds (`super::closing::emergency_revert`).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use crate::model::RevertHandle;

#[derive(Clone, Default)]
pub struct Ledger {
    inner: Arc<Mutex<LedgerInner>>,
}

#[derive(Default)]
pub(super) struct LedgerInner {
    pub(super) injected: BTreeMap<u64, RevertHandle>,
    pub(super) in_flight: usize,
}

impl Ledger {
    pub(super) fn with<R>(&self, f: impl FnOnce(&mut LedgerInner) -> R) -> R {
        f(&mut self.inner.lock().unwrap_or_else(|p| p.into_inner()))
    }
    pub fn injected(&self) -> Vec<RevertHandle> {
        self.with(|l| l.injected.values().cloned().collect())
    }
    pub fn in_flight(&self) -> usize {
        self.with(|l| l.in_flight)
    }
    pub fn remove(&self, fault: u64) {
        self.with(|l| l.injected.remove(&fault));
    }
}
