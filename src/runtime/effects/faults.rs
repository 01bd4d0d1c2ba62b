//! A fault's backend calls, each a task that reports back as an event: prepare (once the
//! cluster lock is this console's), inject (once the lock is, and the entry that says how to
//! undo it is on disk), revert (at once).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc::UnboundedSender;
use tokio::sync::watch;

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
        let _ = tx.send(Event::Prepared { fault: spec.fault_id, result });
    });
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
}

/// Applies a prepared fault: once the lock is this console's and the entry that says how to
/// undo it is on disk.
pub(super) fn inject(ctx: InjectCtx, spec: FaultSpec, handle: RevertHandle) {
    let InjectCtx { backend, tx, ledger, lock, mut durable, needed } = ctx;
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
        let on_disk = durable.wait_for(|d| d.seq >= needed || d.error.is_some()).await.map(|d| d.clone());
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
