//! A fault's backend calls, each a task that reports back as an event: prepare (once the
//! cluster lock is this console's), inject (once the lock is, and the entry that says how to
//! undo it is on disk), revert (at once).

use std::sync::Arc;
use std::time::Duration;

use std::sync::Mutex;

use tokio::sync::mpsc::UnboundedSender;
use tokio::sync::{watch, Notify};

use super::LockAnswer;
use crate::app::Event;
use crate::backend::{Backend, BackendError};
use crate::model::{FaultSpec, RevertHandle};
use crate::runtime::calls::{guarded, guarded_call, revert_once};
use crate::runtime::ledger::Ledger;
use crate::runtime::writer::Durable;

/// Waits for the lock's answer; why the fault may not go on, if it may not.
async fn refused(lock: Option<LockAnswer>) -> Option<String> {
    let answer = lock?.await;
    let now = chrono::Utc::now().timestamp();
    match answer {
        Ok(()) => None,
        Err(e) => Some(crate::runtime::lock::refusal(&e, now)),
    }
}

/// Asks the backend what the fault will touch and how to undo it (changes nothing).
pub(super) fn prepare(
    backend: Arc<dyn Backend>,
    tx: UnboundedSender<Event>,
    lock: Option<LockAnswer>,
    spec: FaultSpec,
) {
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
        let fixed_end = result.as_ref().ok().and_then(|h| backend.fixed_end(h));
        let _ = tx.send(Event::Prepared { fault: spec.fault_id, result, fixed_end });
    });
}

/// Whether an inject that waits for the journal and the lock may still be sent: an abort
/// meanwhile cancels it, and then it never is. Sending and cancelling exclude each other, so an
/// inject is either never sent or sent and then reverted the moment it returns.
#[derive(Default)]
pub(super) struct Sending {
    state: Mutex<SendState>,
    cancelled: Notify,
}

#[derive(Default)]
enum SendState {
    #[default]
    Waiting,
    Sent,
    /// Cancelled by this abort.
    Cancelled(String),
}

impl Sending {
    fn with<R>(&self, f: impl FnOnce(&mut SendState) -> R) -> R {
        f(&mut self.state.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Cancels the inject if it was not sent yet; whether it was not.
    pub(super) fn cancel(&self, by: &str) -> bool {
        let cancelled = self.with(|s| match s {
            SendState::Waiting => {
                *s = SendState::Cancelled(by.to_string());
                true
            }
            _ => false,
        });
        if cancelled {
            self.cancelled.notify_one();
        }
        cancelled
    }

    /// The inject is about to be sent; the abort that cancelled it, if one did.
    fn send(&self) -> Result<(), String> {
        self.with(|s| match s {
            SendState::Waiting => {
                *s = SendState::Sent;
                Ok(())
            }
            SendState::Sent => Ok(()),
            SendState::Cancelled(by) => Err(by.clone()),
        })
    }
}

/// Why a cancelled inject was not applied.
fn cancelled_why(by: &str) -> String {
    format!("the abort ({by}) came before its inject was sent: nothing was applied")
}

/// What an inject waits for and reports to.
pub(super) struct InjectCtx {
    pub backend: Arc<dyn Backend>,
    pub tx: UnboundedSender<Event>,
    pub ledger: Ledger,
    pub lock: Option<LockAnswer>,
    pub durable: watch::Receiver<Durable>,
    /// The entry that must be on disk first (the one that says how to undo it).
    pub needed: u64,
    /// Cancelled by an abort before it is sent.
    pub sending: Arc<Sending>,
}

/// Applies a prepared fault: once the lock is this console's and the entry that says how to
/// undo it is on disk, unless an abort cancelled it meanwhile.
pub(super) fn inject(ctx: InjectCtx, spec: FaultSpec, handle: RevertHandle) {
    let InjectCtx { backend, tx, ledger, lock, mut durable, needed, sending } = ctx;
    ledger.with(|l| l.in_flight += 1);
    tokio::spawn(async move {
        let fault = spec.fault_id;
        let waits = async {
            // The cluster's lock first (already ours if prepare took it).
            if let Some(why) = refused(lock).await {
                tracing::warn!(fault, "inject refused: {why}");
                return Err(why);
            }
            // Write-ahead: the entry that says how to undo it must be on disk first.
            let on_disk = durable.wait_for(|d| d.seq >= needed || d.error.is_some()).await.map(|d| d.clone());
            match on_disk {
                Ok(d) if d.seq >= needed => Ok(()),
                other => {
                    let why = match other {
                        Ok(d) => d.error.unwrap_or_default(),
                        Err(_) => "the journal writer stopped".into(),
                    };
                    let why = format!("the journal could not record how to undo it first ({why})");
                    tracing::error!(fault, "inject not applied: {why}");
                    Err(why)
                }
            }
        };
        let waited = tokio::select! {
            biased;
            _ = sending.cancelled.notified() => None,
            r = waits => Some(r),
        };
        // Sent now, or never: an abort that came first wins (cancelled while waiting, or between
        // the end of the wait and now).
        let ready = match waited {
            Some(Err(why)) => Err(why),
            Some(Ok(())) | None => sending.send().map_err(|by| cancelled_why(&by)),
        };
        if let Err(why) = ready {
            ledger.with(|l| l.in_flight -= 1);
            tracing::warn!(fault, "inject not sent: {why}");
            let _ = tx.send(Event::NotApplied { fault, why });
            return;
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
        let _ = tx.send(match result {
            Err(BackendError::NotApplied(why)) => Event::NotApplied { fault, why },
            result => Event::Injected { fault, result: result.map_err(|e| e.to_string()) },
        });
    });
}

/// Reverts a fault after `delay_ms` (0: at once).
pub(super) fn revert(
    backend: Arc<dyn Backend>,
    tx: UnboundedSender<Event>,
    ledger: Ledger,
    handle: RevertHandle,
    attempt: u32,
    delay_ms: u64,
) {
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
            Ok(kept) => {
                tracing::info!(fault, attempt, "revert confirmed; left as people changed it: {}", kept.join("; "))
            }
            Err(e) => tracing::error!(fault, attempt, "revert failed: {e}"),
        }
        if result.is_ok() {
            ledger.remove(handle.fault_id);
        }
        let _ = tx.send(Event::Reverted { fault: handle.fault_id, attempt, result });
    });
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use async_trait::async_trait;
    use tokio::sync::mpsc;

    use super::*;
    use crate::backend::Reverted;
    use crate::model::{BackendInfo, Support, Target, TopologyDelta};

    /// A backend that counts the injects it is asked for.
    #[derive(Default)]
    struct Counting {
        injects: AtomicUsize,
    }

    #[async_trait]
    impl Backend for Counting {
        fn info(&self) -> BackendInfo {
            BackendInfo { kind: "test".into(), cluster: "test".into(), pod_word: "pod".into() }
        }
        fn supports(&self, _: &str) -> Support {
            Support::Yes
        }
        fn watch(&self, _: UnboundedSender<TopologyDelta>) {}
        async fn prepare(&self, spec: &FaultSpec) -> Result<RevertHandle, BackendError> {
            Ok(RevertHandle { fault_id: spec.fault_id, summary: "x".into(), data: serde_json::Value::Null })
        }
        async fn inject(&self, _: &FaultSpec, h: &RevertHandle) -> Result<RevertHandle, BackendError> {
            self.injects.fetch_add(1, Ordering::SeqCst);
            Ok(h.clone())
        }
        async fn revert(&self, _: &RevertHandle) -> Result<Reverted, BackendError> {
            Ok(Reverted::default())
        }
    }

    fn spec() -> FaultSpec {
        FaultSpec {
            fault_id: 1,
            session: "s".into(),
            preset: "pod-delete".into(),
            action: "pod-delete".into(),
            target: Target::workload("shop", "carts"),
            params: Default::default(),
            duration_ms: 1000,
            pods: Vec::new(),
            mode: None,
        }
    }

    /// An inject whose undo is not on disk yet; the disk's watch, to make it durable later.
    fn waiting(
        backend: Arc<Counting>,
    ) -> (Arc<Sending>, watch::Sender<Durable>, mpsc::UnboundedReceiver<Event>, Ledger) {
        let (tx, rx) = mpsc::unbounded_channel();
        let (disk, durable) = watch::channel(Durable::default());
        let sending = Arc::new(Sending::default());
        let ledger = Ledger::default();
        let ctx =
            InjectCtx { backend, tx, ledger: ledger.clone(), lock: None, durable, needed: 5, sending: sending.clone() };
        let s = spec();
        let handle = RevertHandle { fault_id: 1, summary: "x".into(), data: serde_json::Value::Null };
        inject(ctx, s, handle);
        (sending, disk, rx, ledger)
    }

    #[tokio::test]
    async fn an_abort_while_the_undo_is_being_written_means_the_inject_is_never_sent() {
        let backend = Arc::new(Counting::default());
        let (sending, disk, mut rx, ledger) = waiting(backend.clone());
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(sending.cancel("Space"));
        let ev = tokio::time::timeout(Duration::from_secs(2), rx.recv()).await.unwrap().unwrap();
        let Event::NotApplied { fault: 1, why } = ev else { panic!("{ev:?}") };
        assert!(why.contains("abort (Space) came before its inject was sent"), "{why}");
        // The undo reaches the disk afterwards: still never sent.
        let _ = disk.send(Durable { seq: 5, ..Default::default() });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(backend.injects.load(Ordering::SeqCst), 0);
        assert_eq!((ledger.in_flight(), ledger.injected().len()), (0, 0));
    }

    #[tokio::test]
    async fn an_inject_already_sent_is_not_cancelled_and_comes_back_to_be_reverted() {
        let backend = Arc::new(Counting::default());
        let (sending, disk, mut rx, _ledger) = waiting(backend.clone());
        let _ = disk.send(Durable { seq: 5, ..Default::default() });
        let ev = tokio::time::timeout(Duration::from_secs(2), rx.recv()).await.unwrap().unwrap();
        assert!(matches!(ev, Event::Injected { fault: 1, result: Ok(_) }), "{ev:?}");
        assert!(!sending.cancel("Space"), "too late to cancel: the core reverts it");
        assert_eq!(backend.injects.load(Ordering::SeqCst), 1);
    }
}
