//! How a session closes: a crash's emergency revert of whatever the ledger holds (journaled),
//! and the UI task's end read as a crash or not.

use std::time::Instant;

use chrono::Utc;

use super::ledger::Ledger;
use super::writer::JournalWriter;
use crate::backend::Backend;
use crate::timeline::{EndReason, EntryKind};

/// How long the end of a session waits for its journal to reach the disk.
pub const JOURNAL_CLOSE_LIMIT: std::time::Duration = std::time::Duration::from_secs(10);

pub fn result_of(r: Result<(), tokio::task::JoinError>) -> Result<(), String> {
    match r {
        Ok(()) => Ok(()),
        Err(e) if e.is_panic() => Err(format!("panic: {}", super::calls::panic_message(e.into_panic().as_ref()))),
        Err(e) => Err(e.to_string()),
    }
}

/// After a panic: revert whatever the ledger holds, and journal it. Retries for up to 30 s.
pub async fn emergency_revert(backend: &dyn Backend, ledger: &Ledger, journal: &JournalWriter, why: &str) {
    let deadline = Instant::now() + std::time::Duration::from_secs(30);
    while ledger.in_flight() > 0 && Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let write = |kind: EntryKind| journal.record(kind, Utc::now());
    for handle in ledger.injected() {
        let id = handle.fault_id;
        write(EntryKind::FaultEnding { fault: id, reason: EndReason::Aborted { by: why.to_string() } });
        let mut attempt = 1;
        loop {
            write(EntryKind::RevertStarted { fault: id, attempt });
            match super::calls::revert_once(backend, &handle).await {
                Ok(kept) => {
                    ledger.remove(id);
                    write(EntryKind::RevertConfirmed { fault: id, attempt, kept });
                    break;
                }
                Err(error) => {
                    let retrying = Instant::now() < deadline;
                    write(EntryKind::RevertFailed { fault: id, attempt, error, retrying });
                    if !retrying {
                        break;
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(crate::app::fault::backoff_ms(attempt + 1)))
                        .await;
                    attempt += 1;
                }
            }
        }
    }
    write(EntryKind::SessionEnd { reason: why.to_string() });
}
