//! Faults an earlier process left behind, as its journal tells: a fault whose revert handle was
//! journaled (prepared or confirmed) and whose revert was never confirmed, in a session of the
//! same backend and cluster whose process is gone.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::entry::{Entry, EntryKind};
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

/// The sessions in `dir` of this backend and cluster whose console died without recording its
/// end: what `closing_entries` finds is appended to each one's journal. Returns one line per
/// session closed, saying what was recorded.
pub fn close_dead_sessions(dir: &Path, backend: &BackendInfo, cluster_died: bool, why: &str) -> Vec<String> {
    journals(dir)
        .into_iter()
        .filter(|path| journal::read(path).is_ok_and(|entries| same_system(&entries, backend)))
        .filter_map(|path| close_session(&path, cluster_died, why))
        .collect()
}

/// One session whose console died: what `closing_entries` finds is appended to its journal
/// (unless a live process writes it), and once its end is on record, its final report is
/// written beside it. Says what was recorded, if anything.
pub fn close_session(path: &Path, cluster_died: bool, why: &str) -> Option<String> {
    let entries = journal::read(path).ok()?;
    let closing = closing_entries(&entries, cluster_died, why);
    if closing.is_empty() {
        return None;
    }
    let mut log = Reopened::open(path).ok().flatten()?;
    let session = path.file_stem().and_then(|s| s.to_str()).unwrap_or("?").to_string();
    let ends = closing.iter().any(|k| matches!(k, EntryKind::SessionEnd { .. }));
    let mut what = Vec::new();
    for kind in closing {
        if log.record(kind.clone(), chrono::Utc::now()).is_err() {
            break;
        }
        what.push(kind.describe());
    }
    drop(log);
    if ends {
        match super::report::write_beside(path) {
            Ok(report) => what.push(format!("report written to {}", report.display())),
            Err(e) => what.push(format!("the report could not be written: {e}")),
        }
    }
    (!what.is_empty()).then(|| format!("session {session}: {}", what.join("; ")))
}

/// The session journals in `dir` that no live process writes, sorted.
fn journals(dir: &Path) -> Vec<PathBuf> {
    let Ok(read_dir) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut paths: Vec<PathBuf> = read_dir
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl") && p.is_file())
        .filter(|p| !journal::in_use(p))
        .collect();
    paths.sort();
    paths
}

fn same_system(entries: &[Entry], backend: &BackendInfo) -> bool {
    entries.iter().any(|e| {
        matches!(&e.kind, EntryKind::SessionStart { backend: b, .. } if b.kind == backend.kind && b.cluster == backend.cluster)
    })
}

/// The sessions in `dir` of this backend and cluster whose process is gone, and the faults
/// they left. Unreadable journals are skipped with a reason in the second list.
pub fn in_journals(dir: &Path, backend: &BackendInfo) -> (Vec<Leftover>, Vec<String>) {
    let mut found = Vec::new();
    let mut problems = Vec::new();
    for path in journals(dir) {
        let entries = match journal::read(&path) {
            Ok(e) => e,
            Err(e) => {
                problems.push(e.to_string());
                continue;
            }
        };
        if same_system(&entries, backend) {
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
