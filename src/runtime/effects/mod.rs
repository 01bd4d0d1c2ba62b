//! The effect runner: carries out the core's effects in order, and never waits on the disk or
//! the network itself. Journal records go to the journal writer's queue; an inject is applied
//! only once every record before it is on disk (write-ahead: the journal says how to undo it)
//! and the cluster lock is this console's; a revert is always safe to start, so it starts at
//! once. Backend calls run as tokio tasks that report back as events. The runner decides
//! nothing the core did not ask for: the lock is taken and given back, the system's own record
//! told, only as effects say.

mod faults;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::future::{BoxFuture, FutureExt, Shared};
use tokio::sync::mpsc::UnboundedSender;

use super::calls::{guarded, guarded_for, revert_once, CALL_TIMEOUT};
use super::ledger::Ledger;
use super::writer::JournalWriter;
use crate::app::{Effect, Event};
use crate::backend::lock::LockError;
use crate::backend::{Backend, BackendError};

/// How long the end of a session waits to give the cluster lock back.
pub const GIVE_BACK_LIMIT: Duration = Duration::from_secs(3);

/// The cluster lock's answer for a fault, which its prepare and its inject both wait for.
pub(super) type LockAnswer = Shared<BoxFuture<'static, Result<(), LockError>>>;

pub struct Runner {
    backend: Arc<dyn Backend>,
    /// Where the commands run are kept for later sessions (`<data>/history`).
    pub history: Option<std::path::PathBuf>,
    journal: Arc<JournalWriter>,
    /// The number of the last entry queued: an inject waits until it is on disk.
    last_seq: u64,
    tx: UnboundedSender<Event>,
    ledger: Ledger,
    /// When the session started: the core's times are milliseconds since.
    start_wall: DateTime<Utc>,
    /// Faults replayed for a drill responder on the demo: each one's end signal.
    mirrors: HashMap<u64, tokio::sync::oneshot::Sender<()>>,
    /// The running probes by name (a probe started again replaces its old task).
    probes: HashMap<String, tokio::task::AbortHandle>,
    /// The cluster's one-fault lock, shared with every console on the cluster (none on the demo).
    pub lock: Option<super::lock::LockKeeper>,
    /// The lock's answer for each fault it was asked for (until it is given back).
    locks: BTreeMap<u64, LockAnswer>,
    /// Each inject waiting to be sent (an abort cancels it), until its fault is settled.
    sending: BTreeMap<u64, Arc<faults::Sending>>,
    /// The last fault the lock was ever asked for (given back again at the end: `give_back`).
    last_locked: Option<u64>,
    /// This session, for a take-over's holder.
    pub session: String,
    /// Who is at this console (`user@host`), for a take-over's holder.
    pub who: String,
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
        start_wall: DateTime<Utc>,
    ) -> Runner {
        Runner {
            backend,
            history: None,
            journal,
            last_seq: 0,
            tx,
            ledger,
            start_wall,
            mirrors: Default::default(),
            probes: Default::default(),
            lock: None,
            locks: BTreeMap::new(),
            sending: BTreeMap::new(),
            last_locked: None,
            session: String::new(),
            who: String::new(),
        }
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
                    self.journal.append(entry);
                }
                Effect::TakeLock(spec) => {
                    if let Some(keeper) = &self.lock {
                        let answer = keeper.acquire(&spec);
                        let answer = async move {
                            answer.await.unwrap_or_else(|_| Err(LockError::Failed("the console is stopping".into())))
                        };
                        self.locks.insert(spec.fault_id, answer.boxed().shared());
                        self.last_locked = Some(spec.fault_id);
                    }
                }
                Effect::LockDeadline { fault, deadline_ms } => {
                    if let Some(keeper) = &self.lock {
                        keeper.deadline(fault, self.start_wall.timestamp() + deadline_ms.div_ceil(1000) as i64);
                    }
                }
                Effect::GiveBackLock { fault } => {
                    self.sending.remove(&fault);
                    if let (Some(keeper), Some(_)) = (&self.lock, self.locks.remove(&fault)) {
                        keeper.release(fault);
                    }
                }
                Effect::CancelInject { fault, by } => {
                    if let Some(sending) = self.sending.get(&fault) {
                        if sending.cancel(&by) {
                            tracing::info!(fault, "inject cancelled before it was sent ({by})");
                        }
                    }
                }
                Effect::Announce { handle, what } => {
                    let (backend, tx) = (self.backend.clone(), self.tx.clone());
                    tokio::spawn(async move {
                        let call = async { backend.announce(&handle, &what).await.map_err(BackendError::Failed) };
                        if let Err(e) = guarded_for(CALL_TIMEOUT, call).await {
                            let _ = tx.send(Event::NotAnnounced { fault: handle.fault_id, error: e.to_string() });
                        }
                    });
                }
                Effect::Prepare(spec) => {
                    let lock = self.locks.get(&spec.fault_id).cloned();
                    faults::prepare(self.backend.clone(), self.tx.clone(), lock, spec);
                }
                Effect::Preview(spec) => {
                    let (backend, tx) = (self.backend.clone(), self.tx.clone());
                    tokio::spawn(async move {
                        let result = guarded(backend.preview(&spec)).await;
                        let _ = tx.send(Event::Previewed { spec: Box::new(spec), result });
                    });
                }
                Effect::Inject { spec, handle } => {
                    let lock = self.locks.get(&spec.fault_id).cloned();
                    let durable = self.journal.durable();
                    let sending = Arc::new(faults::Sending::default());
                    self.sending.insert(spec.fault_id, sending.clone());
                    let ctx = faults::InjectCtx {
                        sending,
                        backend: self.backend.clone(),
                        tx: self.tx.clone(),
                        ledger: self.ledger.clone(),
                        lock,
                        durable,
                        needed: self.last_seq,
                    };
                    faults::inject(ctx, spec, handle);
                }
                Effect::Revert { handle, attempt, delay_ms } => faults::revert(
                    self.backend.clone(),
                    self.tx.clone(),
                    self.ledger.clone(),
                    handle,
                    attempt,
                    delay_ms,
                ),
                Effect::WriteReport { path, markdown } => {
                    let tx = self.tx.clone();
                    // Said and recorded as an absolute path: the timeline is read elsewhere.
                    let path = std::path::absolute(&path).unwrap_or(path);
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
                        let result = super::revert::revert_and_record(backend.as_ref(), &leftover, attempt, &by).await;
                        if let Err(e) = &result {
                            tracing::error!(attempt, session = %leftover.session, fault = leftover.fault_id, "leftover revert failed: {e}");
                        }
                        let _ = tx.send(Event::CleanedUp { index, attempt, result: result.map(|_| ()) });
                    });
                }
                Effect::StartProbe(spec) => {
                    let name = spec.name.clone();
                    if let Some(old) = self
                        .probes
                        .insert(name, super::probes::spawn(spec, Some(self.backend.clone()), self.tx.clone()))
                    {
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
                                let me = super::revert::reaper(&k.who, &session, &holder);
                                super::revert::take_over(backend.as_ref(), k.lock.as_ref(), &me, &holder).await
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
