//! The effect runner: carries out the core's effects in order. Journal records are written and
//! flushed before the next effect starts; backend calls run as tokio tasks that report back
//! as events. The ledger holds every fault confirmed injected and not yet confirmed reverted.

use std::collections::BTreeMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::FutureExt;
use tokio::sync::mpsc::UnboundedSender;

use crate::app::{Effect, Event};
use crate::backend::{Backend, BackendError, RevertHandle};
use crate::timeline::journal::Journal;
use crate::timeline::leftovers;

/// A backend call that takes longer than this counts as failed (and a revert is retried).
pub const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// Faults that may be in the cluster: injected (or being injected) and not confirmed reverted.
#[derive(Clone, Default)]
pub struct Ledger {
    inner: Arc<Mutex<LedgerInner>>,
}

#[derive(Default)]
struct LedgerInner {
    injected: BTreeMap<u64, RevertHandle>,
    in_flight: usize,
}

impl Ledger {
    fn with<R>(&self, f: impl FnOnce(&mut LedgerInner) -> R) -> R {
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

pub struct Runner {
    backend: Arc<dyn Backend>,
    journal: Journal,
    tx: UnboundedSender<Event>,
    ledger: Ledger,
    journal_error: Option<String>,
    /// Faults replayed for a drill responder on the demo: each one's end signal.
    mirrors: std::collections::HashMap<u64, tokio::sync::oneshot::Sender<()>>,
    /// The running probes by name (a probe started again replaces its old task).
    probes: std::collections::HashMap<String, tokio::task::AbortHandle>,
}

impl Runner {
    pub fn new(backend: Arc<dyn Backend>, journal: Journal, tx: UnboundedSender<Event>, ledger: Ledger) -> Runner {
        Runner {
            backend,
            journal,
            tx,
            ledger,
            journal_error: None,
            mirrors: Default::default(),
            probes: Default::default(),
        }
    }

    /// Runs the effects in order; returns true when the core asked to exit.
    pub fn run(&mut self, effects: Vec<Effect>) -> bool {
        let mut exit = false;
        for effect in effects {
            match effect {
                Effect::Record(entry) => {
                    if let Err(e) = self.journal.append(&entry) {
                        self.journal_error =
                            Some(format!("journal {} not writable: {e}", self.journal.path().display()));
                    }
                }
                Effect::Prepare(spec) => {
                    let (backend, tx) = (self.backend.clone(), self.tx.clone());
                    tokio::spawn(async move {
                        let result = guarded(backend.prepare(&spec)).await;
                        let _ = tx.send(Event::Prepared { fault: spec.fault_id, result });
                    });
                }
                Effect::Inject { spec, handle } => {
                    if let Some(e) = &self.journal_error {
                        // Write-ahead failed: never apply a fault we could not record.
                        let _ = self.tx.send(Event::Injected { fault: spec.fault_id, result: Err(e.clone()) });
                        continue;
                    }
                    let (backend, tx, ledger) = (self.backend.clone(), self.tx.clone(), self.ledger.clone());
                    // From here on the fault may be in the system: a crash reverts this handle.
                    ledger.with(|l| {
                        l.in_flight += 1;
                        l.injected.insert(handle.fault_id, handle.clone());
                    });
                    tokio::spawn(async move {
                        let result = guarded_call(backend.inject(&spec, &handle)).await;
                        ledger.with(|l| {
                            l.in_flight -= 1;
                            match &result {
                                Ok(h) => {
                                    l.injected.insert(h.fault_id, h.clone());
                                }
                                // Nothing of it is in the system: nothing for a crash to revert.
                                Err(BackendError::NotApplied(_)) => {
                                    l.injected.remove(&spec.fault_id);
                                }
                                Err(_) => {}
                            }
                        });
                        let fault = spec.fault_id;
                        let _ = tx.send(match result {
                            Err(BackendError::NotApplied(error)) => Event::NotApplied { fault, error },
                            result => Event::Injected { fault, result: result.map_err(|e| e.to_string()) },
                        });
                    });
                }
                Effect::Revert { handle, attempt, delay_ms } => {
                    let (backend, tx, ledger) = (self.backend.clone(), self.tx.clone(), self.ledger.clone());
                    tokio::spawn(async move {
                        if delay_ms > 0 {
                            tokio::time::sleep(Duration::from_millis(delay_ms)).await;
                        }
                        let result = revert_once(backend.as_ref(), &handle).await;
                        if result.is_ok() {
                            ledger.remove(handle.fault_id);
                        }
                        let _ = tx.send(Event::Reverted { fault: handle.fault_id, attempt, result });
                    });
                }
                Effect::WriteReport { path, markdown } => {
                    let tx = self.tx.clone();
                    tokio::spawn(async move {
                        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                            let _ = tokio::fs::create_dir_all(dir).await;
                        }
                        let result = tokio::fs::write(&path, markdown).await.map_err(|e| e.to_string());
                        let _ = tx.send(Event::Exported { path, result });
                    });
                }
                Effect::Cleanup { index, leftover, attempt, delay_ms, by } => {
                    let (backend, tx) = (self.backend.clone(), self.tx.clone());
                    tokio::spawn(async move {
                        if delay_ms > 0 {
                            tokio::time::sleep(Duration::from_millis(delay_ms)).await;
                        }
                        let by = format!("cleanup by session {by}");
                        let result = leftovers::revert_and_record(backend.as_ref(), &leftover, attempt, &by).await;
                        let _ = tx.send(Event::CleanedUp { index, attempt, result });
                    });
                }
                Effect::StartProbe(spec) => {
                    let name = spec.name.clone();
                    if let Some(old) = self.probes.insert(name, super::probes::spawn(spec, self.tx.clone())) {
                        old.abort();
                    }
                }
                Effect::Mirror(spec) => {
                    let (end, ended) = tokio::sync::oneshot::channel();
                    self.mirrors.insert(spec.fault_id, end);
                    let backend = self.backend.clone();
                    tokio::spawn(async move {
                        // A replay that fails is not the responder's business: they see what
                        // the cluster shows.
                        let Ok(prepared) = guarded(backend.prepare(&spec)).await else { return };
                        let handle = guarded(backend.inject(&spec, &prepared)).await.unwrap_or(prepared);
                        let _ = ended.await;
                        let _ = revert_once(backend.as_ref(), &handle).await;
                    });
                }
                Effect::Unmirror(fault) => {
                    if let Some(end) = self.mirrors.remove(&fault) {
                        let _ = end.send(());
                    }
                }
                Effect::Exit => exit = true,
            }
        }
        exit
    }
}

pub async fn revert_once(backend: &dyn Backend, handle: &RevertHandle) -> Result<(), String> {
    guarded(backend.revert(handle)).await
}

/// A backend call with a time limit, whose panic becomes an error: whatever happens, the
/// core hears back, so a revert is always retried and never silently lost.
async fn guarded<T>(call: impl Future<Output = Result<T, BackendError>>) -> Result<T, String> {
    guarded_call(call).await.map_err(|e| e.to_string())
}

/// `guarded`, keeping the backend's kind of error.
async fn guarded_call<T>(call: impl Future<Output = Result<T, BackendError>>) -> Result<T, BackendError> {
    match tokio::time::timeout(CALL_TIMEOUT, AssertUnwindSafe(call).catch_unwind()).await {
        Ok(Ok(r)) => r,
        Ok(Err(panic)) => {
            Err(BackendError::Failed(format!("backend call panicked: {}", panic_message(panic.as_ref()))))
        }
        Err(_) => Err(BackendError::Failed(format!("no answer within {} s", CALL_TIMEOUT.as_secs()))),
    }
}

pub fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}
