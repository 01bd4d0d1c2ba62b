//! Faults an earlier process left behind, as its journal tells: a fault whose revert handle was
//! journaled (prepared or confirmed) and whose revert was never confirmed, in a session of the
//! same backend and cluster whose process is gone.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::entry::{EndReason, Entry, EntryKind};
use super::journal::{self, Reopened};
use crate::backend::{BackendInfo, Leftover};

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
                    },
                );
            }
            EntryKind::RevertConfirmed { fault, .. } | EntryKind::NeverApplied { fault } => {
                open.remove(fault);
            }
            _ => {}
        }
    }
    open.into_values().collect()
}

/// The sessions in `dir` of this backend and cluster whose process is gone, and the faults
/// they left. Unreadable journals are skipped with a reason in the second list.
pub fn in_journals(dir: &Path, backend: &BackendInfo) -> (Vec<Leftover>, Vec<String>) {
    let mut found = Vec::new();
    let mut problems = Vec::new();
    let Ok(read_dir) = std::fs::read_dir(dir) else { return (found, problems) };
    let mut paths: Vec<PathBuf> = read_dir
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    paths.sort();
    for path in paths {
        if journal::in_use(&path) {
            continue;
        }
        let entries = match journal::read(&path) {
            Ok(e) => e,
            Err(e) => {
                problems.push(e.to_string());
                continue;
            }
        };
        let same = entries.iter().any(|e| {
            matches!(&e.kind, EntryKind::SessionStart { backend: b, .. } if b.kind == backend.kind && b.cluster == backend.cluster)
        });
        if same {
            found.extend(unfinished(&entries, Some(&path)));
        }
    }
    (found, problems)
}

/// Marker findings, less the faults of sessions a console on this machine has open (their
/// journal in `dir` is locked): those are live faults, not leftovers.
pub fn not_open_here(dir: &Path, markers: Vec<Leftover>) -> Vec<Leftover> {
    markers.into_iter().filter(|m| !journal::in_use(&dir.join(format!("{}.jsonl", m.session)))).collect()
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

/// Reverts a leftover, writing it to the session journal that left it (when there is one and
/// no live process writes it): the ending and the attempt before the revert, the confirmation
/// after. `by` names who cleaned up ("session 20261124-…", "gameday cleanup").
pub async fn revert_and_record(
    backend: &dyn crate::backend::Backend,
    leftover: &Leftover,
    attempt: u32,
    by: &str,
) -> Result<(), String> {
    let id = leftover.fault_id;
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
    let result = crate::runtime::effects::revert_once(backend, &leftover.handle).await;
    if let Some(log) = log.as_mut() {
        let kind = match &result {
            Ok(()) => EntryKind::RevertConfirmed { fault: id, attempt },
            Err(error) => EntryKind::RevertFailed { fault: id, attempt, error: error.clone(), retrying: true },
        };
        let _ = log.record(kind, chrono::Utc::now());
    }
    result
}
