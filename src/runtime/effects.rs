//! The effect runner: carries out the core's effects in order, and never waits on the disk or
//! the network itself. Journal records go to the journal writer's queue; an inject is applied
//! only once every record before it is on disk (write-ahead: the journal says how to undo it);
//! a revert is always safe to start, so it starts at once. Backend calls run as tokio tasks that
//! report back as events. The ledger holds every fault that may be in the system.

use std::collections::BTreeMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::FutureExt;
use tokio::sync::mpsc::UnboundedSender;

use crate::app::{Effect, Event};
use crate::backend::{Backend, BackendError};
use crate::model::RevertHandle;

use super::writer::JournalWriter;

/// A backend call that takes longer than this counts as failed (and a revert is retried).
pub const CALL_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the end of a session waits to give the cluster lock back.
pub const GIVE_BACK_LIMIT: Duration = Duration::from_secs(3);

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
    /// Where the commands run are kept for later sessions (`<data>/history`).
    pub history: Option<std::path::PathBuf>,
    journal: Arc<JournalWriter>,
    /// The number of the last entry queued: an inject waits until it is on disk.
    last_seq: u64,
    tx: UnboundedSender<Event>,
    ledger: Ledger,
    /// Faults replayed for a drill responder on the demo: each one's end signal.
    mirrors: std::collections::HashMap<u64, tokio::sync::oneshot::Sender<()>>,
    /// The running probes by name (a probe started again replaces its old task).
    probes: std::collections::HashMap<String, tokio::task::AbortHandle>,
    /// The cluster's one-fault lock, shared with every console on the cluster (none on the demo).
    pub lock: Option<super::lock::LockKeeper>,
    /// The fault the lock was last asked for (given back once the core has no fault left).
    locked: Option<u64>,
    /// The last fault the lock was ever asked for (given back again at the end: `give_back`).
    last_locked: Option<u64>,
    /// This session, for a take-over's holder.
    pub session: String,
    /// Who is at this console (`user@host`), for the system's own record.
    pub who: String,
    /// Each fault's latest handle, for the record of what happens to it.
    handles: BTreeMap<u64, RevertHandle>,
}

/// What the UI loop itself must do after a batch of effects.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Control {
    /// Leave the loop (the journal already holds the session end).
    pub exit: bool,
    /// Give the terminal back and stop the process (Ctrl-Z).
    pub suspend: bool,
}

impl Runner {
    pub fn new(
        backend: Arc<dyn Backend>,
        journal: Arc<JournalWriter>,
        tx: UnboundedSender<Event>,
        ledger: Ledger,
    ) -> Runner {
        Runner {
            backend,
            history: None,
            journal,
            last_seq: 0,
            tx,
            ledger,
            mirrors: Default::default(),
            probes: Default::default(),
            lock: None,
            locked: None,
            last_locked: None,
            session: String::new(),
            who: String::new(),
            handles: BTreeMap::new(),
        }
    }

    /// What the core records about a fault, also put on the system's own record (Kubernetes
    /// Events): injected, aborted (by whom), reverted. In the background; a failure is said
    /// in the timeline and never holds anything back.
    fn announce(&mut self, kind: &crate::timeline::EntryKind) {
        use crate::timeline::{EndReason, EntryKind};
        let (fault, reason, action, warning, did) = match kind {
            EntryKind::InjectStarted { fault, handle } => {
                self.handles.insert(*fault, handle.clone());
                return;
            }
            EntryKind::InjectConfirmed { fault, handle } => {
                self.handles.insert(*fault, handle.clone());
                (*fault, "GamedayFaultInjected", "Inject", true, format!("injected by {}", self.who))
            }
            EntryKind::FaultEnding { fault, reason: EndReason::Aborted { by } } => {
                (*fault, "GamedayFaultAborted", "Abort", true, format!("aborted ({by}) at {}", self.who))
            }
            EntryKind::RevertConfirmed { fault, kept, .. } => {
                let kept =
                    if kept.is_empty() { String::new() } else { format!("; left as it is: {}", kept.join("; ")) };
                (*fault, "GamedayFaultReverted", "Revert", false, format!("reverted by {}{kept}", self.who))
            }
            _ => return,
        };
        let Some(handle) = self.handles.get(&fault).cloned() else { return };
        if action == "Revert" {
            self.handles.remove(&fault);
        }
        let what = crate::model::Happening {
            reason,
            action,
            note: format!("gameday session {} fault #{fault} ({}): {did}", self.session, handle.summary),
            warning,
        };
        let (backend, tx) = (self.backend.clone(), self.tx.clone());
        tokio::spawn(async move {
            if let Err(e) = guarded_for(CALL_TIMEOUT, async {
                backend.announce(&handle, &what).await.map_err(BackendError::Failed)
            })
            .await
            {
                let _ = tx.send(Event::Backend(crate::model::TopologyDelta::ClusterEvent {
                    object: format!("fault #{}", handle.fault_id),
                    message: e.to_string(),
                    warning: true,
                }));
            }
        });
    }

    /// After each batch: the fault the core has in the cluster now (and its deadline, Unix
    /// seconds). Once it has none, the lock is given back; while it has one, the lock carries its
    /// deadline.
    pub fn settle(&mut self, live: Option<(u64, Option<i64>)>) {
        let Some(keeper) = &self.lock else { return };
        match (self.locked, live) {
            (Some(held), Some((id, deadline))) if held == id => {
                if let Some(d) = deadline {
                    keeper.deadline(id, d);
                }
            }
            (Some(held), _) => {
                keeper.release(held);
                self.locked = None;
            }
            (None, _) => {}
        }
    }

    /// Asks for the lock for this fault (at once, so it is ordered before any later release);
    /// `None` when there is no lock to take.
    fn lock_for(
        &mut self,
        spec: &crate::model::FaultSpec,
    ) -> Option<tokio::sync::oneshot::Receiver<Result<(), crate::backend::lock::LockError>>> {
        let keeper = self.lock.as_ref()?;
        self.locked = Some(spec.fault_id);
        self.last_locked = Some(spec.fault_id);
        Some(keeper.acquire(spec))
    }

    /// At the end of the session: the cluster lock is given back before the process ends (a
    /// run ends the moment its last revert is confirmed, sooner than the lock keeper's own
    /// release may reach the cluster), unless its fault may still be in the system: then it
    /// stays held until its lease lapses. Waits at most `GIVE_BACK_LIMIT`.
    pub async fn give_back(&self) {
        let (Some(keeper), Some(fault)) = (&self.lock, self.last_locked) else { return };
        if self.ledger.injected().iter().any(|h| h.fault_id == fault) {
            tracing::warn!(fault, "the cluster lock stays held: the fault is not confirmed reverted");
            return;
        }
        match tokio::time::timeout(GIVE_BACK_LIMIT, keeper.lock.release(&self.session, fault)).await {
            Ok(Ok(())) => tracing::debug!(fault, "cluster lock given back"),
            Ok(Err(e)) => tracing::warn!(fault, "the cluster lock could not be given back: {e}"),
            Err(_) => tracing::warn!(fault, "the cluster lock was not given back within {GIVE_BACK_LIMIT:?}"),
        }
    }

    /// Runs the effects in order, none of them waiting.
    pub fn run(&mut self, effects: Vec<Effect>) -> Control {
        let mut control = Control::default();
        for effect in effects {
            match effect {
                Effect::Record(entry) => {
                    self.last_seq = entry.seq;
                    self.announce(&entry.kind);
                    self.journal.append(entry);
                }
                Effect::Prepare(spec) => {
                    let (backend, tx) = (self.backend.clone(), self.tx.clone());
                    let lock = self.lock_for(&spec);
                    tokio::spawn(async move {
                        // The cluster's lock first: nothing is asked of the backend without it.
                        if let Some(why) = refused(lock).await {
                            tracing::warn!(fault = spec.fault_id, "prepare refused: {why}");
                            let _ = tx.send(Event::NotApplied { fault: spec.fault_id, why });
                            return;
                        }
                        tracing::debug!(fault = spec.fault_id, preset = %spec.preset, target = %spec.target, "prepare");
                        let result = guarded(backend.prepare(&spec)).await;
                        if let Err(e) = &result {
                            tracing::warn!(fault = spec.fault_id, "prepare failed: {e}");
                        }
                        let _ = tx.send(Event::Prepared { fault: spec.fault_id, result });
                    });
                }
                Effect::Preview(spec) => {
                    let (backend, tx) = (self.backend.clone(), self.tx.clone());
                    tokio::spawn(async move {
                        let result = guarded(backend.preview(&spec)).await;
                        let _ = tx.send(Event::Previewed { spec: Box::new(spec), result });
                    });
                }
                Effect::Inject { spec, handle } => {
                    let (backend, tx, ledger) = (self.backend.clone(), self.tx.clone(), self.ledger.clone());
                    let (mut durable, needed) = (self.journal.durable(), self.last_seq);
                    let lock = self.lock_for(&spec);
                    ledger.with(|l| l.in_flight += 1);
                    tokio::spawn(async move {
                        // The cluster's lock first (already ours if prepare took it).
                        if let Some(why) = refused(lock).await {
                            tracing::warn!(fault = spec.fault_id, "inject refused: {why}");
                            ledger.with(|l| l.in_flight -= 1);
                            let _ = tx.send(Event::NotApplied { fault: spec.fault_id, why });
                            return;
                        }
                        // Write-ahead: the entry that says how to undo it must be on disk first.
                        let on_disk =
                            durable.wait_for(|d| d.seq >= needed || d.error.is_some()).await.map(|d| d.clone());
                        match on_disk {
                            Ok(d) if d.seq >= needed => {}
                            other => {
                                let why = match other {
                                    Ok(d) => d.error.unwrap_or_default(),
                                    Err(_) => "the journal writer stopped".into(),
                                };
                                ledger.with(|l| l.in_flight -= 1);
                                let why = format!("the journal could not record how to undo it first ({why})");
                                tracing::error!(fault = spec.fault_id, "inject not applied: {why}");
                                let _ = tx.send(Event::NotApplied { fault: spec.fault_id, why });
                                return;
                            }
                        }
                        // From here on the fault may be in the system: a crash reverts this handle.
                        ledger.with(|l| {
                            l.injected.insert(handle.fault_id, handle.clone());
                        });
                        tracing::info!(
                            fault = spec.fault_id,
                            session = %spec.session,
                            preset = %spec.preset,
                            target = %spec.target,
                            duration_ms = spec.duration_ms,
                            "inject: {}",
                            handle.summary
                        );
                        let result = guarded_call(backend.inject(&spec, &handle)).await;
                        match &result {
                            Ok(h) => tracing::info!(fault = spec.fault_id, "inject confirmed: {}", h.summary),
                            Err(e) => tracing::error!(fault = spec.fault_id, "inject failed: {e}"),
                        }
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
                            Err(BackendError::NotApplied(why)) => Event::NotApplied { fault, why },
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
                        let fault = handle.fault_id;
                        match attempt {
                            1 => tracing::info!(fault, "revert: {}", handle.summary),
                            _ => tracing::warn!(fault, attempt, "revert retried: {}", handle.summary),
                        }
                        let result = revert_once(backend.as_ref(), &handle).await;
                        match &result {
                            Ok(kept) if kept.is_empty() => tracing::info!(fault, attempt, "revert confirmed"),
                            Ok(kept) => tracing::info!(
                                fault,
                                attempt,
                                "revert confirmed; left as people changed it: {}",
                                kept.join("; ")
                            ),
                            Err(e) => tracing::error!(fault, attempt, "revert failed: {e}"),
                        }
                        if result.is_ok() {
                            ledger.remove(handle.fault_id);
                        }
                        let _ = tx.send(Event::Reverted { fault: handle.fault_id, attempt, result });
                    });
                }
                Effect::WriteReport { path, markdown } => {
                    let tx = self.tx.clone();
                    tokio::spawn(async move {
                        let p = path.clone();
                        let result = tokio::task::spawn_blocking(move || crate::store::report::write(&p, &markdown))
                            .await
                            .unwrap_or_else(|e| Err(e.to_string()));
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
                        tracing::info!(attempt, session = %leftover.session, fault = leftover.fault_id, "revert a leftover: {}", leftover.what);
                        let result = super::cleanup::revert_and_record(backend.as_ref(), &leftover, attempt, &by).await;
                        if let Err(e) = &result {
                            tracing::error!(attempt, session = %leftover.session, fault = leftover.fault_id, "leftover revert failed: {e}");
                        }
                        let _ = tx.send(Event::CleanedUp { index, attempt, result: result.map(|_| ()) });
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
                Effect::Suspend => control.suspend = true,
                Effect::RememberCommand(line) => {
                    if let Some(path) = self.history.clone() {
                        // Off the UI task; a history that cannot be written is no one's loss.
                        tokio::task::spawn_blocking(move || super::history::append(&path, &line));
                    }
                }
                Effect::RequestStop => {
                    let (tx, keeper) = (self.tx.clone(), self.lock.clone());
                    tokio::spawn(async move {
                        let result = match keeper {
                            Some(k) => {
                                k.lock.request_stop(&k.who).await.map(|h| (h, k.who.clone())).map_err(|e| e.to_string())
                            }
                            None => Err("this backend has no cluster lock".into()),
                        };
                        let _ = tx.send(Event::StopAsked { result });
                    });
                }
                Effect::TakeOver { holder, why } => {
                    let (backend, tx, keeper, session) =
                        (self.backend.clone(), self.tx.clone(), self.lock.clone(), self.session.clone());
                    tokio::spawn(async move {
                        tracing::warn!(holder = %holder.who, "taking the cluster lock over: {why}");
                        let result = match keeper {
                            Some(k) => {
                                let me = super::reaper::reaper(&k.who, &session, &holder);
                                super::reaper::take_over(backend.as_ref(), k.lock.as_ref(), &me, &holder).await
                            }
                            None => Err("this backend has no cluster lock".into()),
                        };
                        let _ = tx.send(Event::TookOver { holder, why, result });
                    });
                }
                Effect::Exit => control.exit = true,
            }
        }
        control
    }
}

/// Waits for the lock's answer; why the fault may not go on, if it may not.
async fn refused(
    lock: Option<tokio::sync::oneshot::Receiver<Result<(), crate::backend::lock::LockError>>>,
) -> Option<String> {
    let answer = lock?.await;
    let now = chrono::Utc::now().timestamp();
    match answer {
        Ok(Ok(())) => None,
        Ok(Err(e)) => Some(super::lock::refusal(&e, now)),
        Err(_) => Some("the cluster lock could not be asked (the console is stopping)".into()),
    }
}

/// One revert; what it left as people made it (a line each), or why it failed.
pub async fn revert_once(backend: &dyn Backend, handle: &RevertHandle) -> Result<Vec<String>, String> {
    let r = match backend.revert_time_limit(handle) {
        Some(limit) => guarded_for(limit, backend.revert(handle)).await.map_err(|e| e.to_string()),
        None => guarded(backend.revert(handle)).await,
    };
    r.map(|done| done.kept)
}

/// A backend call with a time limit, whose panic becomes an error: whatever happens, the
/// core hears back, so a revert is always retried and never silently lost.
async fn guarded<T>(call: impl Future<Output = Result<T, BackendError>>) -> Result<T, String> {
    guarded_call(call).await.map_err(|e| e.to_string())
}

/// `guarded`, keeping the backend's kind of error.
async fn guarded_call<T>(call: impl Future<Output = Result<T, BackendError>>) -> Result<T, BackendError> {
    guarded_for(CALL_TIMEOUT, call).await
}

/// `guarded_call` with another time limit.
async fn guarded_for<T>(
    limit: Duration,
    call: impl Future<Output = Result<T, BackendError>>,
) -> Result<T, BackendError> {
    match tokio::time::timeout(limit, AssertUnwindSafe(call).catch_unwind()).await {
        Ok(Ok(r)) => r,
        Ok(Err(panic)) => {
            Err(BackendError::Failed(format!("backend call panicked: {}", panic_message(panic.as_ref()))))
        }
        Err(_) => Err(BackendError::Failed(format!("no answer within {} s", limit.as_secs()))),
    }
}

pub fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}
