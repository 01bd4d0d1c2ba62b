//! When the core next has something to do by the clock alone: a fault's window ends, a run-sheet
//! step's observation ends, a step stops waiting for steady state, quitting gives up on a revert.
//! The runtime wakes the core at that moment (an `Event::Tick` then), so nothing waits for the
//! next round second; the once-a-second tick stays for countdowns and probe readings.

use super::fault::FaultPhase;
use super::state::AppState;

/// The earliest time (ms since the session's start) something is due, if anything is.
pub fn next_due(s: &AppState) -> Option<u64> {
    if s.quit.exited {
        return None;
    }
    let mut due: Vec<u64> = Vec::new();
    if let FaultPhase::Active { fault } = &s.fault.phase {
        due.extend(fault.deadline_ms);
    }
    due.extend(s.quit.next_due(s.fault.live().is_some()));
    due.extend(s.sheet.as_ref().and_then(|sheet| sheet.next_due()));
    // What is due now and was not done waits for something else (the once-a-second tick).
    due.into_iter().filter(|d| *d > s.book.t_ms()).min()
}
