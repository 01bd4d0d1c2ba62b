//! When the core next has something to do by the clock alone: a fault's window ends, a run-sheet
//! step's observation ends, a step stops waiting for steady state, quitting gives up on a revert.
//! The runtime wakes the core at that moment (an `Event::Tick` then), so nothing waits for the
//! next round second; the once-a-second tick stays for countdowns and probe readings.

use super::fault::FaultPhase;
use super::runsheet::{Phase, WAIT_STEADY_MS};
use super::state::AppState;

/// The earliest time (ms since the session's start) something is due, if anything is.
pub fn next_due(s: &AppState) -> Option<u64> {
    if s.exited {
        return None;
    }
    let mut due: Vec<u64> = Vec::new();
    if let FaultPhase::Active { fault } = &s.fault {
        due.extend(fault.deadline_ms);
    }
    if let Some(q) = &s.quitting {
        if s.fault.live().is_some() {
            due.push(q.deadline_ms);
        }
    }
    if let Some(sheet) = s.runsheet.as_ref().filter(|r| r.auto) {
        match sheet.phase {
            Phase::Observing { until_ms, .. } => due.push(until_ms),
            Phase::Waiting { since_ms, .. } => due.push(since_ms + WAIT_STEADY_MS),
            _ => {}
        }
    }
    // What is due now and was not done waits for something else (the once-a-second tick).
    due.into_iter().filter(|d| *d > s.now.t_ms).min()
}
