//! Faults left behind by earlier gameday processes (found in their journals or by markers):
//! each is found, then reverted (retried with backoff until confirmed) or kept by an explicit
//! choice. A leftover not yet reverted is a live fault: the red bar shows it, Space reverts it,
//! and no new fault is injected until each is reverted or kept.

use super::book::{Book, Level};
use super::event::Effect;
use super::fault::backoff_ms;
use crate::model::{Happening, Leftover};
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

/// No leftover: the index of a tidy-up whose result nobody waits for.
pub const TIDY_UP: usize = usize::MAX;

/// The cleanup machine: the leftovers found, and where each stands.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Cleanup {
    pub items: Vec<LeftoverItem>,
    /// This session (its cleanups are recorded as done by it).
    session: String,
}

impl Cleanup {
    pub fn new(session: &str) -> Cleanup {
        Cleanup { items: Vec::new(), session: session.to_string() }
    }

    pub fn unresolved(&self) -> usize {
        self.items.iter().filter(|l| l.unresolved()).count()
    }

    pub fn live(&self) -> usize {
        self.items.iter().filter(|l| l.live()).count()
    }

    /// New findings: recorded; returns how many are new (the screen shows them with "Revert
    /// all" preselected). A fault that ended by itself while no console ran is recorded as
    /// expired (in its own journal too) and tidied up; it is not a leftover. `held` is the
    /// fault that holds the cluster lock: it has an owner (if it is dead, it is taken over).
    pub fn on_found(&mut self, found: Vec<Leftover>, held: Option<(&str, u64)>, book: &mut Book) -> usize {
        let mut new = 0;
        for l in found {
            if self.items.iter().any(|i| i.leftover.session == l.session && i.leftover.fault_id == l.fault_id) {
                continue;
            }
            if held == Some((l.session.as_str(), l.fault_id)) {
                continue;
            }
            if let Some(how) = l.ended.clone() {
                let known = book.timeline.iter().any(|e| {
                    matches!(&e.kind, EntryKind::LeftoverExpired { session, fault, .. } if *session == l.session && *fault == l.fault_id)
                });
                if !known {
                    let (session, fault, what) = (l.session.clone(), l.fault_id, l.what.clone());
                    book.record(EntryKind::LeftoverExpired { session, fault, what, how });
                    let by = self.session.clone();
                    book.effect(Effect::Cleanup { index: TIDY_UP, leftover: l, attempt: 1, delay_ms: 0, by });
                }
                continue;
            }
            book.record(EntryKind::LeftoverFound {
                session: l.session.clone(),
                fault: l.fault_id,
                what: l.what.clone(),
                found_by: l.found_by.clone(),
            });
            self.items.push(LeftoverItem { leftover: l, status: CleanupStatus::Found });
            new += 1;
        }
        if new > 0 {
            book.say(
                Level::Warning,
                format!("{new} fault(s) left behind by earlier gameday sessions; Space reverts them"),
            );
        }
        new
    }

    /// A fault that holds the cluster lock is no leftover: its live owner reverts it, or, once
    /// it is silent or gone, the take-over does (one path, never two at once).
    pub fn forget(&mut self, session: &str, fault: u64) {
        self.items.retain(|l| (l.leftover.session.as_str(), l.leftover.fault_id) != (session, fault));
    }

    /// Reverts every leftover still possibly in the system (the abort key does this too).
    pub fn revert_all(&mut self, book: &mut Book) {
        let mut n = 0;
        for (index, item) in self.items.iter_mut().enumerate() {
            let attempt = match &item.status {
                CleanupStatus::Found | CleanupStatus::Kept => 1,
                CleanupStatus::Failed { attempt, .. } => attempt + 1,
                CleanupStatus::Reverting { .. } | CleanupStatus::Reverted => continue,
            };
            item.status = CleanupStatus::Reverting { attempt };
            book.effect(Effect::Cleanup {
                index,
                leftover: item.leftover.clone(),
                attempt,
                delay_ms: 0,
                by: self.session.clone(),
            });
            n += 1;
        }
        if n > 0 {
            book.say(Level::Warning, format!("reverting {n} fault(s) left by earlier sessions…"));
        }
    }

    /// The operator leaves the found faults in place, knowingly (recorded).
    pub fn keep_all(&mut self, book: &mut Book) {
        let mut kept = Vec::new();
        for item in self.items.iter_mut().filter(|i| i.status == CleanupStatus::Found) {
            item.status = CleanupStatus::Kept;
            kept.push((item.leftover.session.clone(), item.leftover.fault_id));
        }
        for (session, fault) in kept {
            book.record(EntryKind::LeftoverKept { session, fault });
        }
        book.say(Level::Warning, "left the earlier faults in place; Space still reverts them");
    }

    pub fn on_cleaned(&mut self, index: usize, attempt: u32, result: Result<(), String>, book: &mut Book) {
        if index == TIDY_UP {
            return match result {
                Ok(()) => {
                    book.say(Level::Info, "cleaned up after a fault that ended by itself (its helper and marker)")
                }
                Err(e) => {
                    book.say(Level::Warning, format!("could not clean up after a fault that ended by itself: {e}"))
                }
            };
        }
        let by = self.session.clone();
        let Some(item) = self.items.get_mut(index) else { return };
        if item.status != (CleanupStatus::Reverting { attempt }) {
            return; // an older attempt
        }
        let (session, fault) = (item.leftover.session.clone(), item.leftover.fault_id);
        match result {
            Ok(()) => {
                item.status = CleanupStatus::Reverted;
                // The system's own record, as for this console's faults and a take-over.
                let note = format!(
                    "gameday session {session} fault #{fault} ({}): reverted by cleanup by session {by}",
                    item.leftover.what
                );
                book.effect(Effect::Announce {
                    handle: item.leftover.handle.clone(),
                    what: Happening { reason: "GamedayFaultReverted", action: "Revert", note, warning: false },
                });
                book.record(EntryKind::LeftoverReverted { session, fault, attempt });
                if self.unresolved() == 0 {
                    book.say(Level::Info, "every fault left by earlier sessions is reverted (confirmed)");
                }
            }
            Err(error) => {
                let next = attempt + 1;
                let delay = backoff_ms(next);
                item.status = CleanupStatus::Reverting { attempt: next };
                let leftover = item.leftover.clone();
                book.record(EntryKind::LeftoverRevertFailed { session, fault, attempt, error: error.clone() });
                book.effect(Effect::Cleanup { index, leftover, attempt: next, delay_ms: delay, by });
                book.say(
                    Level::Error,
                    format!("REVERT of a leftover fault FAILED (attempt {attempt}): {error}; retrying"),
                );
            }
        }
    }
}
