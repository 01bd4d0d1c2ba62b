//! Reverting a fault this process did not inject, shared by a console (its leftovers, a
//! take-over), `gameday cleanup` and `gameday watchdog`: the revert goes on record in the
//! journal of the session that left the fault, when it is on this machine.
//!
//! Taking a fault over from a console that can no longer revert it (it stopped renewing the
//! cluster lock, or left its fault past its deadline): the lock is taken over with a
//! compare-and-swap on exactly the version that was seen (so of several consoles and watchdogs,
//! one does it), the fault is reverted by its markers in the cluster (the same path as
//! `gameday cleanup`: a revert restores only what still holds the fault's own value), and the
//! lock is given back.

use std::time::Duration;

use crate::backend::lock::{ClusterLock, LockError};
use crate::backend::Backend;
use crate::model::{Holder, Leftover, LEASE_SECONDS};
use crate::store::journal::Reopened;
use crate::timeline::{EndReason, EntryKind};

/// How long the markers' revert is tried before the take-over gives up (the lock lapses then,
/// and someone tries again).
pub const REVERT_FOR: Duration = Duration::from_secs(30);

/// The holder this process writes while it reverts someone else's fault.
pub fn reaper(who: &str, session: &str, from: &Holder) -> Holder {
    Holder {
        who: who.to_string(),
        session: session.to_string(),
        fault: 0,
        what: format!("reverting {}'s fault #{} ({})", from.who, from.fault, from.what),
        deadline: chrono::Utc::now().timestamp() + REVERT_FOR.as_secs() as i64,
        lease_seconds: LEASE_SECONDS,
        renewed: String::new(),
        stop: None,
        version: String::new(),
        journal: String::new(),
        gone: false,
    }
}

/// Takes over from `from` and reverts its fault; returns what was reverted, a line each.
pub async fn take_over(
    backend: &dyn Backend,
    lock: &dyn ClusterLock,
    me: &Holder,
    from: &Holder,
) -> Result<Vec<String>, String> {
    match lock.take_over(me, from).await {
        Ok(()) => {}
        Err(LockError::Conflict(_)) => {
            return Err("someone else got there first (the lock changed since it was seen)".into())
        }
        Err(e) => return Err(e.to_string()),
    }
    let by = format!("{} (its owner {} was silent or past its deadline)", me.who, from.who);
    let result = revert_markers(backend, &from.session, from.fault, &by, local_journal(from)).await;
    // Given back whatever happened: if the revert failed, the fault's markers are still there,
    // and the next take-over (or `gameday cleanup`) finds them.
    let _ = lock.release(&me.session, me.fault).await;
    result
}

/// The holder's journal, if it is on this machine and no process writes it any more: the
/// revert goes on record there (and the dead session is closed), as `gameday cleanup` does.
pub fn local_journal(from: &Holder) -> Option<std::path::PathBuf> {
    crate::store::machine::dead_journal(from).filter(|p| p.is_file())
}

/// Reverts every marker of `session`'s fault `fault` found in the cluster, recording it in
/// `journal` (the dead session's, on this machine) when there is one.
pub async fn revert_markers(
    backend: &dyn Backend,
    session: &str,
    fault: u64,
    by: &str,
    journal: Option<std::path::PathBuf>,
) -> Result<Vec<String>, String> {
    let found: Vec<Leftover> = backend
        .leftovers()
        .await
        .map_err(|e| format!("looking for its markers: {e}"))?
        .into_iter()
        .filter(|l| l.session == session && l.fault_id == fault)
        .collect();
    let mut done = Vec::new();
    for mut l in found {
        l.journal = journal.clone();
        let started = tokio::time::Instant::now();
        let mut attempt = 1u32;
        loop {
            match revert_and_record(backend, &l, attempt, by).await {
                Ok(kept) => {
                    let kept =
                        if kept.is_empty() { String::new() } else { format!("; left as it is: {}", kept.join("; ")) };
                    let what = crate::model::Happening {
                        reason: "GamedayFaultTakenOver",
                        action: "TakeOver",
                        note: format!("gameday session {session} fault #{fault} ({}): reverted by {by}{kept}", l.what),
                        warning: true,
                    };
                    // Best effort: the revert is done either way.
                    let _ = backend.announce(&l.handle, &what).await;
                    done.push(format!("{} (found by {}){kept}", l.what, l.found_by));
                    break;
                }
                Err(e) if started.elapsed() < REVERT_FOR => {
                    tokio::time::sleep(Duration::from_millis(crate::app::fault::backoff_ms(attempt + 1))).await;
                    attempt += 1;
                    let _ = e;
                }
                Err(e) => return Err(format!("{}: {e}", l.what)),
            }
        }
    }
    Ok(done)
}

/// Reverts a leftover, writing it to the session journal that left it (when there is one and
/// no live process writes it): the ending and the attempt before the revert, the confirmation
/// after. `by` names who cleaned up ("session 20261124-…", "gameday cleanup").
pub async fn revert_and_record(
    backend: &dyn Backend,
    leftover: &Leftover,
    attempt: u32,
    by: &str,
) -> Result<Vec<String>, String> {
    let id = leftover.fault_id;
    // Where its console stopped goes on record first, before what is done after it.
    if let (Some(path), 1) = (&leftover.journal, attempt) {
        let path = path.clone();
        let why = format!("recorded by {by}");
        let _ = tokio::task::spawn_blocking(move || crate::store::leftovers::close_session(&path, false, &why)).await;
    }
    let mut log = match &leftover.journal {
        Some(path) => Reopened::open(path).ok().flatten(),
        None => None,
    };
    if let Some(log) = log.as_mut() {
        let now = chrono::Utc::now();
        if attempt == 1 {
            // A fault that ended by itself expired; it is not aborted by whoever tidies up.
            let reason = match &leftover.ended {
                Some(_) => EndReason::Expired,
                None => EndReason::Aborted { by: by.to_string() },
            };
            let _ = log.record(EntryKind::FaultEnding { fault: id, reason }, now);
        }
        let _ = log.record(EntryKind::RevertStarted { fault: id, attempt }, now);
    }
    let result = super::calls::revert_once(backend, &leftover.handle).await;
    if let Some(mut log) = log {
        let kind = match &result {
            Ok(kept) => EntryKind::RevertConfirmed { fault: id, attempt, kept: kept.clone() },
            Err(error) => EntryKind::RevertFailed { fault: id, attempt, error: error.clone(), retrying: true },
        };
        let _ = log.record(kind, chrono::Utc::now());
        drop(log);
        // Its last fault out of the system: the dead session's end goes on record, with its report.
        if result.is_ok() {
            if let Some(path) = &leftover.journal {
                let path = path.clone();
                let why = format!("recorded by {by}");
                let _ = tokio::task::spawn_blocking(move || crate::store::leftovers::close_session(&path, false, &why))
                    .await;
            }
        }
    }
    result
}
