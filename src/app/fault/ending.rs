//! How a fault ends: an abort (accepted in every phase, and it always wins), the end of its
//! window, its engine's own end, a lapse (its target restarted and took it with it), an
//! inject that failed; then the revert, retried with backoff until it is confirmed.
//!
//! Faults an engine runs to their own end (a Litmus experiment runs its duration once its runner
//! starts, then gives a verdict): the backend says so once the fault is created; the console
//! then gives it until that time instead of stopping it at its own deadline, and records the
//! engine's verdict as the fault's end. An abort stops it at any time, as always.

use super::{FaultOutcome, FaultPhase, Faults, LiveFault};
use crate::app::book::{Book, Level};
use crate::app::event::Effect;
use crate::timeline::entry::seconds;
use crate::timeline::{since, EndReason, EntryKind};

/// After this many failed reverts the screen shouts.
pub const LOUD_AFTER_ATTEMPTS: u32 = 3;
/// How long quitting waits for a confirmed revert before giving up (and saying so).
pub const QUIT_DEADLINE_MS: u64 = 30_000;

/// Delay before revert attempt `next` (2, 3, ...): 250 ms doubling up to 5 s.
pub fn backoff_ms(next: u32) -> u64 {
    (250u64 << next.saturating_sub(2).min(5)).min(5000)
}

/// How long a live fault was given: its duration, or longer when its engine runs it to its end.
pub fn span_ms(f: &LiveFault) -> u64 {
    let given = f.deadline_ms.map(|d| d.saturating_sub(f.requested_ms)).unwrap_or(0);
    if f.engine_until_ms.is_some() {
        given.max(f.plan.duration_ms)
    } else {
        f.plan.duration_ms
    }
}

impl Faults {
    /// The abort path: accepted in every state, acts at once.
    pub fn abort(&mut self, by: &str, book: &mut Book) -> FaultOutcome {
        let aborted = EndReason::Aborted { by: by.into() };
        match std::mem::replace(&mut self.phase, FaultPhase::Idle) {
            FaultPhase::Idle => return FaultOutcome::NothingToAbort,
            FaultPhase::Armed { plan, .. } => {
                book.say(Level::Info, format!("cancelled {} on {}", plan.preset, plan.target))
            }
            FaultPhase::Preparing { fault, abort } => {
                if abort.is_none() {
                    book.record(EntryKind::FaultEnding { fault: fault.id, reason: aborted });
                }
                book.say(Level::Warning, format!("ABORT: fault #{} is cancelled; nothing was applied", fault.id));
                self.phase = FaultPhase::Preparing { fault, abort: Some(by.into()) };
            }
            FaultPhase::Applying { fault, abort } => {
                if abort.is_none() {
                    book.record(EntryKind::FaultEnding { fault: fault.id, reason: aborted });
                    if let Some(handle) = &fault.handle {
                        let did = format!("aborted ({by}) at {}", self.who);
                        self.announce(handle, "GamedayFaultAborted", "Abort", true, did, book);
                    }
                    // Not sent yet (waiting for the journal or the lock): it never will be. Sent:
                    // reverted the moment it returns.
                    book.effect(Effect::CancelInject { fault: fault.id, by: by.into() });
                }
                book.say(
                    Level::Warning,
                    format!(
                        "ABORT: fault #{} is cancelled if its inject was not sent yet, else reverted the moment it returns",
                        fault.id
                    ),
                );
                self.phase = FaultPhase::Applying { fault, abort: Some(by.into()) };
            }
            FaultPhase::Active { fault } => {
                self.start_revert(fault, aborted, book);
                book.say(Level::Warning, "ABORT: reverting now");
            }
            FaultPhase::Reverting { fault, reason, attempt, last_error: None, repeat_noted } => {
                // An attempt is in flight (a held key repeats): say so, record it once, send
                // nothing.
                if !repeat_noted {
                    book.record(EntryKind::AbortRepeated { fault: fault.id, by: by.into() });
                }
                book.say(
                    Level::Warning,
                    format!("ABORT under way: the revert of fault #{} is in flight (attempt {attempt})", fault.id),
                );
                self.phase = FaultPhase::Reverting { fault, reason, attempt, last_error: None, repeat_noted: true };
            }
            FaultPhase::Reverting { fault, reason, attempt, last_error: Some(_), .. } => {
                // The last attempt failed: try again right now instead of waiting for the backoff.
                let next = attempt + 1;
                self.revert_attempt(&fault, next, 0, book);
                book.say(Level::Warning, format!("ABORT: revert of fault #{} retried now (attempt {next})", fault.id));
                self.phase =
                    FaultPhase::Reverting { fault, reason, attempt: next, last_error: None, repeat_noted: false };
            }
        }
        FaultOutcome::Nothing
    }

    /// The confirmation is dropped without a word (a step skipped, the console quitting).
    pub fn drop_confirmation(&mut self) {
        if matches!(self.phase, FaultPhase::Armed { .. }) {
            self.phase = FaultPhase::Idle;
        }
    }

    pub(super) fn revert_attempt(&self, fault: &LiveFault, attempt: u32, delay_ms: u64, book: &mut Book) {
        book.record(EntryKind::RevertStarted { fault: fault.id, attempt });
        if let Some(handle) = fault.handle.clone() {
            book.effect(Effect::Revert { handle, attempt, delay_ms });
        }
    }

    pub(super) fn start_revert(&mut self, fault: LiveFault, reason: EndReason, book: &mut Book) {
        book.record(EntryKind::FaultEnding { fault: fault.id, reason: reason.clone() });
        if let (EndReason::Aborted { by }, Some(handle)) = (&reason, &fault.handle) {
            let did = format!("aborted ({by}) at {}", self.who);
            self.announce(handle, "GamedayFaultAborted", "Abort", true, did, book);
        }
        self.revert_attempt(&fault, 1, 0, book);
        self.phase = FaultPhase::Reverting { fault, reason, attempt: 1, last_error: None, repeat_noted: false };
    }

    /// A revert returned. `give_up`: the console is quitting and its deadline has passed, so a
    /// failure is not retried.
    pub fn on_reverted(
        &mut self,
        id: u64,
        attempt: u32,
        result: Result<Vec<String>, String>,
        give_up: bool,
        book: &mut Book,
    ) -> FaultOutcome {
        let FaultPhase::Reverting { fault, reason, attempt: current, .. } = &self.phase else {
            return FaultOutcome::Nothing;
        };
        if fault.id != id {
            return FaultOutcome::Nothing;
        }
        match result {
            Ok(kept) => {
                let said = match kept.len() {
                    0 => format!("fault #{id} reverted (confirmed)"),
                    n => format!("fault #{id} reverted (confirmed); {n} change(s) made since were left as they are"),
                };
                let handle = fault.handle.clone();
                book.record(EntryKind::RevertConfirmed { fault: id, attempt, kept: kept.clone() });
                if let Some(handle) = handle {
                    let kept =
                        if kept.is_empty() { String::new() } else { format!("; left as it is: {}", kept.join("; ")) };
                    let did = format!("reverted by {}{kept}", self.who);
                    self.announce(&handle, "GamedayFaultReverted", "Revert", false, did, book);
                }
                book.say(Level::Info, said);
                self.phase = FaultPhase::Idle;
                self.settled(id, true, book)
            }
            Err(_) if attempt < *current => FaultOutcome::Nothing, // an older attempt; a newer one is under way
            Err(error) => {
                let (fault, reason, next) = (fault.clone(), reason.clone(), attempt + 1);
                book.record(EntryKind::RevertFailed { fault: id, attempt, error: error.clone(), retrying: !give_up });
                if give_up {
                    // Not confirmed: the lock stays held until its lease lapses, for whoever
                    // takes the fault over.
                    self.phase = FaultPhase::Idle;
                    return FaultOutcome::Settled { id, reverted: false };
                }
                let delay = backoff_ms(next);
                self.revert_attempt(&fault, next, delay, book);
                let level = if attempt >= LOUD_AFTER_ATTEMPTS { Level::Error } else { Level::Warning };
                book.say(level, format!("REVERT FAILED (attempt {attempt}): {error}; retrying in {delay} ms"));
                self.phase = FaultPhase::Reverting {
                    fault,
                    reason,
                    attempt: next,
                    last_error: Some(error),
                    repeat_noted: false,
                };
                FaultOutcome::Nothing
            }
        }
    }

    /// `:extend` (`by_ms` > 0) or `:shorten` the active fault's window: within its preset's
    /// `max_ms`, never into the past, and never longer where something else ends it at its
    /// duration. Recorded, and the cluster lock's deadline follows.
    pub fn resize(&mut self, by_ms: i64, max_ms: u64, author: &str, book: &mut Book) {
        let now = book.t_ms();
        let fault = match &mut self.phase {
            FaultPhase::Active { fault } => fault,
            FaultPhase::Preparing { fault, .. } | FaultPhase::Applying { fault, .. } => {
                let id = fault.id;
                return book.say(Level::Error, format!("fault #{id} is not in yet: change its time once it is live"));
            }
            FaultPhase::Reverting { fault, .. } => {
                let id = fault.id;
                return book.say(Level::Error, format!("fault #{id} is being reverted"));
            }
            FaultPhase::Idle | FaultPhase::Armed { .. } => {
                return book.say(Level::Error, "no fault is live: :extend and :shorten change a live fault's time");
            }
        };
        let id = fault.id;
        let Some(deadline) = fault.deadline_ms else { return };
        if by_ms > 0 {
            if let Some(why) = &fault.fixed_end {
                let said =
                    format!("fault #{id} cannot be extended: {why}; abort it (Space) and inject it again for longer");
                return book.say(Level::Error, said);
            }
        }
        let total = fault.plan.duration_ms.saturating_add_signed(by_ms);
        if by_ms > 0 && total > max_ms {
            let room = max_ms.saturating_sub(fault.plan.duration_ms);
            let said = format!(
                "fault #{id} may last at most {} ({}'s max_duration): it is given {} now, so {} more at most",
                seconds(max_ms),
                fault.plan.preset,
                seconds(fault.plan.duration_ms),
                seconds(room)
            );
            return book.say(Level::Error, said);
        }
        let until = deadline.saturating_add_signed(by_ms);
        if by_ms < 0 && until <= now + 1000 {
            let said = format!(
                "fault #{id} has {} left: shorten it by less, or abort it (Space) to end it now",
                seconds(deadline.saturating_sub(now))
            );
            return book.say(Level::Error, said);
        }
        fault.plan.duration_ms = total;
        fault.deadline_ms = Some(until);
        book.effect(Effect::LockDeadline { fault: id, deadline_ms: until });
        book.record(EntryKind::FaultResized { fault: id, by_ms, duration_ms: total, author: author.to_string() });
        let word = if by_ms > 0 { "extended" } else { "shortened" };
        book.say(Level::Info, format!("fault #{id} {word}: it ends at {}, {} in all", since(until), seconds(total)));
    }

    /// Its window is over: the active fault is reverted.
    pub fn on_tick(&mut self, book: &mut Book) {
        if let FaultPhase::Active { fault } = &self.phase {
            if fault.deadline_ms.is_some_and(|d| book.t_ms() >= d) {
                let FaultPhase::Active { fault } = std::mem::replace(&mut self.phase, FaultPhase::Idle) else {
                    return;
                };
                book.say(Level::Info, format!("fault #{} duration over, reverting", fault.id));
                self.start_revert(fault, EndReason::Expired, book);
            }
        }
    }

    /// The backend says the active fault is no longer in effect (its target restarted and took
    /// the qdisc with it): recorded, and what is left of it (a helper, a marker) is cleaned up
    /// through the ordinary revert, so the bar stops saying it is live.
    pub fn on_lapsed(&mut self, session: &str, id: u64, why: String, book: &mut Book) {
        if session != self.session || self.active() != Some(id) {
            return;
        }
        let FaultPhase::Active { fault } = std::mem::replace(&mut self.phase, FaultPhase::Idle) else {
            return;
        };
        book.say(Level::Warning, format!("fault #{id} is no longer in effect: {why}"));
        self.start_revert(fault, EndReason::Lapsed { why }, book);
    }

    /// The engine runs fault `id` to its end: it gets up to `within_ms` from now.
    pub fn on_runs_on(&mut self, session: &str, id: u64, within_ms: u64, why: String, book: &mut Book) {
        if session != self.session {
            return;
        }
        let until = book.t_ms() + within_ms;
        let (FaultPhase::Applying { fault, .. } | FaultPhase::Active { fault }) = &mut self.phase else { return };
        if fault.id != id {
            return;
        }
        fault.engine_until_ms = Some(until);
        if let Some(deadline) = &mut fault.deadline_ms {
            *deadline = (*deadline).max(until);
            book.effect(Effect::LockDeadline { fault: id, deadline_ms: *deadline });
        }
        let message = format!(
            "fault #{id} runs to its own end: {why}; the console stops it only on an abort, or if it has not \
             finished within {}",
            seconds(within_ms)
        );
        book.say(Level::Info, message.clone());
        book.record(EntryKind::Console { message, warning: false });
    }

    /// The engine says fault `id` is over, and how: recorded as its end, and tidied up.
    pub fn on_finished(&mut self, session: &str, id: u64, how: String, book: &mut Book) {
        if session != self.session || self.active() != Some(id) {
            return;
        }
        let FaultPhase::Active { fault } = std::mem::replace(&mut self.phase, FaultPhase::Idle) else { return };
        book.say(Level::Info, format!("fault #{id} finished by itself: {how}"));
        self.start_revert(fault, EndReason::Finished { how }, book);
    }

    /// Quitting gave up waiting for a confirmed revert: recorded as not confirmed; the fault
    /// may still be in the system. Returns its id, if one was live.
    pub fn give_up(&mut self, book: &mut Book) -> Option<u64> {
        let id = self.live()?.id;
        book.record(EntryKind::RevertFailed {
            fault: id,
            attempt: 0,
            error: "no confirmed revert before the quit deadline".into(),
            retrying: false,
        });
        self.phase = FaultPhase::Idle;
        Some(id)
    }
}
