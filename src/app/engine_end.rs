//! Faults an engine runs to their own end (a Litmus experiment runs its duration once its runner
//! starts, then gives a verdict). The backend says so once the fault is created: the console
//! then gives it until that time instead of stopping it at its own deadline, and records the
//! engine's verdict as the fault's end. An abort stops it at any time, as always; a fault that
//! has not finished by the time it was given is stopped like one whose duration is over.

use super::event::Effect;
use super::fault::{start_revert, FaultPhase, LiveFault};
use super::state::{AppState, Level};
use crate::timeline::{EndReason, EntryKind};

/// The engine runs fault `id` to its end: it gets up to `within_ms` from now.
pub fn on_runs_on(s: &mut AppState, session: &str, id: u64, within_ms: u64, why: String, fx: &mut Vec<Effect>) {
    if session != s.session.id {
        return;
    }
    let until = s.now.t_ms + within_ms;
    let (FaultPhase::Applying { fault, .. } | FaultPhase::Active { fault }) = &mut s.fault else { return };
    if fault.id != id {
        return;
    }
    fault.engine_until_ms = Some(until);
    if let Some(deadline) = &mut fault.deadline_ms {
        *deadline = (*deadline).max(until);
    }
    let message = format!(
        "fault #{id} runs to its own end: {why}; the console stops it only on an abort, or if it has not \
         finished within {} s",
        within_ms / 1000
    );
    s.say(Level::Info, message.clone());
    s.record(EntryKind::Console { message, warning: false }, fx);
}

/// The engine says fault `id` is over, and how: recorded as its end, and tidied up.
pub fn on_finished(s: &mut AppState, session: &str, id: u64, how: String, fx: &mut Vec<Effect>) {
    if session != s.session.id {
        return;
    }
    if !matches!(&s.fault, FaultPhase::Active { fault } if fault.id == id) {
        return;
    }
    let FaultPhase::Active { fault } = std::mem::replace(&mut s.fault, FaultPhase::Idle) else { return };
    s.say(Level::Info, format!("fault #{id} finished by itself: {how}"));
    start_revert(s, fault, EndReason::Finished { how }, fx);
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
