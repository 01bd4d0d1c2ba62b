//! Faults earlier processes left behind, in the journals on this machine: the sessions whose
//! console died are found and closed (what their journal never recorded is appended, their
//! report written), and the faults they left are listed. What the entries mean is
//! `crate::timeline::leftovers`; this is the files.

use std::path::{Path, PathBuf};

use super::journal::{self, Reopened};
use crate::model::{BackendInfo, Leftover};
use crate::timeline::leftovers::{closing_entries, unfinished};
use crate::timeline::{Entry, EntryKind};

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
