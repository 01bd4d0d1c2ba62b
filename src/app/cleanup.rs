//! Faults left behind by earlier gameday processes (found in their journals or by markers):
//! each is found, then reverted (retried with backoff until confirmed) or kept by an explicit
//! choice. A leftover not yet reverted is a live fault: the red bar shows it, Space reverts it,
//! and no new fault is injected until each is reverted or kept.

use super::event::Effect;
use super::fault::backoff_ms;
use super::state::{AppState, Level, Overlay};
use crate::model::Leftover;
use crate::timeline::EntryKind;

#[derive(Clone, Debug, PartialEq)]
pub enum CleanupStatus {
    Found,
    Reverting {
        attempt: u32,
    },
    Failed {
        attempt: u32,
        error: String,
    },
    Reverted,
    /// The operator chose to leave it in place.
    Kept,
}

#[derive(Clone, Debug, PartialEq)]
pub struct LeftoverItem {
    pub leftover: Leftover,
    pub status: CleanupStatus,
}

impl LeftoverItem {
    /// Not reverted and not knowingly kept: it blocks new injects.
    pub fn unresolved(&self) -> bool {
        matches!(self.status, CleanupStatus::Found | CleanupStatus::Reverting { .. } | CleanupStatus::Failed { .. })
    }
    /// Possibly still in the system.
    pub fn live(&self) -> bool {
        self.status != CleanupStatus::Reverted
    }
}

pub fn unresolved(s: &AppState) -> usize {
    s.leftovers.iter().filter(|l| l.unresolved()).count()
}

pub fn live(s: &AppState) -> usize {
    s.leftovers.iter().filter(|l| l.live()).count()
}

/// No leftover: the index of a tidy-up whose result nobody waits for.
pub const TIDY_UP: usize = usize::MAX;

/// New findings: recorded, and shown with "Revert all" preselected. A fault that ended by
/// itself while no console ran is recorded as expired (in its own journal too) and tidied up;
/// it is not a leftover.
pub fn on_found(s: &mut AppState, found: Vec<Leftover>, fx: &mut Vec<Effect>) {
    let mut new = 0;
    for l in found {
        if s.leftovers.iter().any(|i| i.leftover.session == l.session && i.leftover.fault_id == l.fault_id) {
            continue;
        }
        // The fault holding the cluster lock has an owner (if it is dead, it is taken over).
        if s.cluster.holder.as_ref().is_some_and(|h| h.holder.session == l.session && h.holder.fault == l.fault_id) {
            continue;
        }
        if let Some(how) = l.ended.clone() {
            let known = s.timeline.iter().any(|e| {
                matches!(&e.kind, EntryKind::LeftoverExpired { session, fault, .. } if *session == l.session && *fault == l.fault_id)
            });
            if !known {
                let (session, fault, what) = (l.session.clone(), l.fault_id, l.what.clone());
                s.record(EntryKind::LeftoverExpired { session, fault, what, how }, fx);
                let by = s.session.id.clone();
                fx.push(Effect::Cleanup { index: TIDY_UP, leftover: l, attempt: 1, delay_ms: 0, by });
            }
            continue;
        }
        s.record(
            EntryKind::LeftoverFound {
                session: l.session.clone(),
                fault: l.fault_id,
                what: l.what.clone(),
                found_by: l.found_by.clone(),
            },
            fx,
        );
        s.leftovers.push(LeftoverItem { leftover: l, status: CleanupStatus::Found });
        new += 1;
    }
    if new > 0 {
        s.say(Level::Warning, format!("{new} fault(s) left behind by earlier gameday sessions; Space reverts them"));
        s.ui.overlay = Overlay::Leftovers { revert: true };
    }
}

/// Reverts every leftover still possibly in the system (the abort key does this too).
pub fn revert_all(s: &mut AppState, fx: &mut Vec<Effect>) {
    let session = s.session.id.clone();
    let mut n = 0;
    for (index, item) in s.leftovers.iter_mut().enumerate() {
        let attempt = match &item.status {
            CleanupStatus::Found | CleanupStatus::Kept => 1,
            CleanupStatus::Failed { attempt, .. } => attempt + 1,
            CleanupStatus::Reverting { .. } | CleanupStatus::Reverted => continue,
        };
        item.status = CleanupStatus::Reverting { attempt };
        fx.push(Effect::Cleanup { index, leftover: item.leftover.clone(), attempt, delay_ms: 0, by: session.clone() });
        n += 1;
    }
    if matches!(s.ui.overlay, Overlay::Leftovers { .. }) {
        s.ui.overlay = Overlay::None;
    }
    if n > 0 {
        s.say(Level::Warning, format!("reverting {n} fault(s) left by earlier sessions…"));
    }
}

/// The operator leaves the found faults in place, knowingly (recorded).
pub fn keep_all(s: &mut AppState, fx: &mut Vec<Effect>) {
    let mut kept = Vec::new();
    for item in s.leftovers.iter_mut().filter(|i| i.status == CleanupStatus::Found) {
        item.status = CleanupStatus::Kept;
        kept.push((item.leftover.session.clone(), item.leftover.fault_id));
    }
    for (session, fault) in kept {
        s.record(EntryKind::LeftoverKept { session, fault }, fx);
    }
    s.ui.overlay = Overlay::None;
    s.say(Level::Warning, "left the earlier faults in place; Space still reverts them");
}

pub fn on_cleaned(s: &mut AppState, index: usize, attempt: u32, result: Result<(), String>, fx: &mut Vec<Effect>) {
    let by = s.session.id.clone();
    if index == TIDY_UP {
        return match result {
            Ok(()) => s.say(Level::Info, "cleaned up after a fault that ended by itself (its helper and marker)"),
            Err(e) => s.say(Level::Warning, format!("could not clean up after a fault that ended by itself: {e}")),
        };
    }
    let Some(item) = s.leftovers.get_mut(index) else { return };
    if item.status != (CleanupStatus::Reverting { attempt }) {
        return; // an older attempt
    }
    let (session, fault) = (item.leftover.session.clone(), item.leftover.fault_id);
    match result {
        Ok(()) => {
            item.status = CleanupStatus::Reverted;
            s.record(EntryKind::LeftoverReverted { session, fault, attempt }, fx);
            if unresolved(s) == 0 {
                s.say(Level::Info, "every fault left by earlier sessions is reverted (confirmed)");
            }
        }
        Err(error) => {
            let next = attempt + 1;
            let delay = backoff_ms(next);
            item.status = CleanupStatus::Reverting { attempt: next };
            let leftover = item.leftover.clone();
            s.record(EntryKind::LeftoverRevertFailed { session, fault, attempt, error: error.clone() }, fx);
            fx.push(Effect::Cleanup { index, leftover, attempt: next, delay_ms: delay, by });
            s.say(Level::Error, format!("REVERT of a leftover fault FAILED (attempt {attempt}): {error}; retrying"));
        }
    }
}
