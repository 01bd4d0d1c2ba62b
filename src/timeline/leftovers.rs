//! Faults an earlier process left behind, as its journal tells: a fault whose revert handle was
//! journaled (prepared or confirmed) and whose revert was never confirmed, in a session of the
//! same backend and cluster whose process is gone. Pure: what the journals' entries say; reading
//! and appending to the files is `crate::store::leftovers`.

use std::collections::BTreeMap;
use std::path::Path;

use super::entry::{Entry, EntryKind};
use crate::model::Leftover;

/// The unfinished faults of one session's entries.
pub fn unfinished(entries: &[Entry], journal: Option<&Path>) -> Vec<Leftover> {
    let session = entries.iter().find_map(|e| match &e.kind {
        EntryKind::SessionStart { session, .. } => Some(session.clone()),
        _ => None,
    });
    let Some(session) = session else { return Vec::new() };
    let mut what: BTreeMap<u64, String> = BTreeMap::new();
    let mut open: BTreeMap<u64, Leftover> = BTreeMap::new();
    for e in entries {
        match &e.kind {
            EntryKind::InjectRequested { fault, preset, target, .. } => {
                what.insert(*fault, format!("{preset} on {target}"));
            }
            EntryKind::InjectStarted { fault, handle } | EntryKind::InjectConfirmed { fault, handle } => {
                let w = what.get(fault).cloned().unwrap_or_else(|| format!("fault #{fault}"));
                open.insert(
                    *fault,
                    Leftover {
                        session: session.clone(),
                        fault_id: *fault,
                        what: format!("{w} ({})", handle.summary),
                        handle: handle.clone(),
                        journal: journal.map(Path::to_path_buf),
                        found_by: "journal".into(),
                        ended: None,
                        deadline: None,
                    },
                );
            }
            // Reverted, never applied, or ended some other way (its cluster died with it).
            EntryKind::RevertConfirmed { fault, .. }
            | EntryKind::InjectNotApplied { fault, .. }
            | EntryKind::FaultClosed { fault, .. } => {
                open.remove(fault);
            }
            _ => {}
        }
    }
    open.into_values().collect()
}

/// What a session whose console died never recorded about its own end, as entries to append:
/// a fault it was still preparing was never applied (on every backend); where the cluster died
/// with the console (the demo), a fault it had applied is gone with it; and once no fault of it
/// can be in the system any more, the session ended. `why` says how that was found.
pub fn closing_entries(entries: &[Entry], cluster_died: bool, why: &str) -> Vec<EntryKind> {
    let mut requested: BTreeMap<u64, bool> = BTreeMap::new(); // fault -> a revert handle was journaled
    let mut closed: Vec<u64> = Vec::new();
    let mut ended = false;
    for e in entries {
        match &e.kind {
            EntryKind::InjectRequested { fault, .. } => {
                requested.insert(*fault, false);
            }
            EntryKind::InjectStarted { fault, .. } | EntryKind::InjectConfirmed { fault, .. } => {
                requested.insert(*fault, true);
            }
            EntryKind::InjectCancelled { fault }
            | EntryKind::InjectNotApplied { fault, .. }
            | EntryKind::FaultClosed { fault, .. }
            | EntryKind::RevertConfirmed { fault, .. } => closed.push(*fault),
            // Failed before anything was applied (no handle was ever journaled).
            EntryKind::InjectFailed { fault, .. } if requested.get(fault) == Some(&false) => closed.push(*fault),
            EntryKind::SessionEnd { .. } => ended = true,
            EntryKind::SessionResumed { .. } => ended = false,
            _ => {}
        }
    }
    let mut out = Vec::new();
    // Said once: where the dead console stopped (unless its end, or its loss, is on record).
    let since_start = entries
        .iter()
        .rposition(|e| matches!(e.kind, EntryKind::SessionStart { .. } | EntryKind::SessionResumed { .. }))
        .unwrap_or(0);
    let lost_said = entries[since_start..].iter().any(|e| matches!(e.kind, EntryKind::ConsoleLost { .. }));
    if !ended && !lost_said {
        let last_ms = entries.last().map(|e| e.t_ms).unwrap_or(0);
        out.push(EntryKind::ConsoleLost { last_ms, by: why.to_string() });
    }
    let mut open = 0;
    for (fault, applied) in requested.into_iter().filter(|(f, _)| !closed.contains(f)) {
        match applied {
            false => out.push(EntryKind::InjectNotApplied {
                fault,
                reason: format!("the console died while preparing it, so nothing was applied ({why})"),
            }),
            true if cluster_died => out.push(EntryKind::FaultClosed {
                fault,
                how: format!("the console was killed; the simulated cluster died with it, so nothing is left ({why})"),
            }),
            true => open += 1,
        }
    }
    if !ended && open == 0 {
        out.push(EntryKind::SessionEnd { reason: format!("the console was killed ({why})") });
    }
    out
}

/// Journal and marker findings together, one per (session, fault): the journal's, which knows
/// where to record the cleanup, wins.
pub fn merge(journal: Vec<Leftover>, markers: Vec<Leftover>) -> Vec<Leftover> {
    let mut out = journal;
    for m in markers {
        match out.iter_mut().find(|l| l.session == m.session && l.fault_id == m.fault_id) {
            // The markers know whether it ended by itself meanwhile; the journal cannot.
            Some(l) => l.ended = l.ended.take().or(m.ended),
            None => out.push(m),
        }
    }
    out
}
