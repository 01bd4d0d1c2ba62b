//! This console's side of the cluster lock: one task owns every write to it, in order. A fault
//! takes the lock before the backend is asked anything about it; while the fault may be in the
//! cluster the task renews it every few seconds (with the fault's deadline); once the core has
//! no fault left in the system (its revert confirmed, or it was never applied) it gives it
//! back. Requests of other consoles (an emergency stop, a take-over) go through the same task.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use crate::backend::lock::{ClusterLock, LockError};
use crate::model::FaultSpec;
use crate::model::{Holder, LEASE_SECONDS, RENEW_EVERY};

enum Op {
    Acquire {
        holder: Holder,
        reply: oneshot::Sender<Result<(), LockError>>,
    },
    /// The fault's deadline (Unix seconds) as the console now knows it.
    Deadline {
        fault: u64,
        deadline: i64,
    },
    Release {
        fault: u64,
    },
}

/// The handle the effect runner holds; cheap to clone.
#[derive(Clone)]
pub struct LockKeeper {
    ops: mpsc::UnboundedSender<Op>,
    /// `user@host`.
    pub who: String,
    pub lock: Arc<dyn ClusterLock>,
    /// This console's journal (a lock that cannot be renewed names it, so that a console on
    /// the same machine tells by its file lock whether this one is alive).
    pub journal: String,
}

impl LockKeeper {
    /// Starts the task. `lost` hears when our hold was taken from us (a laptop asleep past its
    /// lease: another console took over and reverted the fault).
    pub fn spawn(
        lock: Arc<dyn ClusterLock>,
        who: String,
        journal: &std::path::Path,
        lost: impl Fn(Holder) + Send + Sync + 'static,
    ) -> LockKeeper {
        let (tx, mut rx) = mpsc::unbounded_channel::<Op>();
        let task_lock = lock.clone();
        tokio::spawn(async move {
            let lock = task_lock;
            let mut held: Option<Holder> = None;
            let mut tick = tokio::time::interval(RENEW_EVERY);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    op = rx.recv() => match op {
                        None => break,
                        Some(Op::Acquire { holder, reply }) => {
                            let result = lock.acquire(&holder).await;
                            if result.is_ok() {
                                held = Some(holder);
                            }
                            let _ = reply.send(result);
                        }
                        Some(Op::Deadline { fault, deadline }) => {
                            if let Some(h) = held.as_mut().filter(|h| h.fault == fault && h.deadline != deadline) {
                                h.deadline = deadline;
                                let h = h.clone();
                                renew(lock.as_ref(), &mut held, h, &lost).await;
                            }
                        }
                        Some(Op::Release { fault }) => {
                            if let Some(h) = held.take_if(|h| h.fault == fault) {
                                release(lock.as_ref(), &h).await;
                            }
                        }
                    },
                    _ = tick.tick() => {
                        if let Some(h) = held.clone() {
                            renew(lock.as_ref(), &mut held, h, &lost).await;
                        }
                    }
                }
            }
            // The console is gone: a fault still held stays held until its lease lapses (it
            // may still be in the cluster; a watchdog or another console takes over then).
        });
        LockKeeper { ops: tx, who, lock, journal: journal.to_string_lossy().into_owned() }
    }

    /// Asks for the lock for this fault; the answer comes on the returned channel. Sent at once
    /// (not from the task that waits), so it is ordered before any later release.
    pub fn acquire(&self, spec: &FaultSpec) -> oneshot::Receiver<Result<(), LockError>> {
        let (reply, rx) = oneshot::channel();
        let holder = self.holder(spec);
        if self.ops.send(Op::Acquire { holder, reply }).is_err() {
            let (reply, rx) = oneshot::channel();
            let _ = reply.send(Err(LockError::Failed("the console is stopping".into())));
            return rx;
        }
        rx
    }

    pub fn holder(&self, spec: &FaultSpec) -> Holder {
        let deadline = chrono::Utc::now().timestamp() + spec.duration_ms.div_ceil(1000) as i64;
        Holder {
            who: self.who.clone(),
            session: spec.session.clone(),
            fault: spec.fault_id,
            what: format!("{} on {}", spec.preset, spec.target),
            deadline,
            lease_seconds: LEASE_SECONDS,
            renewed: String::new(),
            stop: None,
            version: String::new(),
            journal: self.journal.clone(),
            gone: false,
        }
    }

    pub fn deadline(&self, fault: u64, deadline: i64) {
        let _ = self.ops.send(Op::Deadline { fault, deadline });
    }

    pub fn release(&self, fault: u64) {
        let _ = self.ops.send(Op::Release { fault });
    }
}

async fn renew(lock: &dyn ClusterLock, held: &mut Option<Holder>, me: Holder, lost: &impl Fn(Holder)) {
    match lock.renew(&me).await {
        Ok(_) => {}
        Err(LockError::Held(other)) => {
            *held = None;
            lost(*other);
        }
        // Unreachable for now: the next renewal tries again (the lease covers a few misses).
        Err(_) => {}
    }
}

/// Gives the lock back, trying again for a while if the API server does not answer.
async fn release(lock: &dyn ClusterLock, h: &Holder) {
    for attempt in 0..10u32 {
        match lock.release(&h.session, h.fault).await {
            Ok(()) | Err(LockError::Held(_)) => return,
            Err(_) => tokio::time::sleep(Duration::from_millis(250 * (1 << attempt.min(4)))).await,
        }
    }
}

/// "acquiring the cluster lock: ..." as a reason the fault was not applied.
pub fn refusal(e: &LockError, now_unix: i64) -> String {
    match e {
        LockError::Held(h) if h.gone => format!(
            "{}; its console is gone, so this console takes it over and reverts it now: inject again once it is reverted",
            h.describe()
        ),
        LockError::Held(h) => {
            let left = h.deadline - now_unix;
            let time = if h.deadline > 0 && left > 0 {
                format!(", {}:{:02} left", left / 60, left % 60)
            } else if h.deadline > 0 {
                ", past its deadline".into()
            } else {
                String::new()
            };
            format!("{}{time}; one fault at a time across the cluster", h.describe())
        }
        other => format!("the cluster lock could not be taken: {other}"),
    }
}
