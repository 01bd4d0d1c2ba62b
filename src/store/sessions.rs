//! `gameday sessions`: the sessions in the data directory, newest first, each with what it was
//! about and how it ended.

use std::path::{Path, PathBuf};

use super::journal;
use crate::timeline::EntryKind;

#[derive(Clone, Debug, PartialEq)]
pub struct Summary {
    pub id: String,
    pub journal: PathBuf,
    pub started: String,
    pub target: String,
    /// The backend's kind: "demo", "docker", "kubernetes".
    pub kind: String,
    pub title: Option<String>,
    pub faults: usize,
    /// "2 held, 1 broken" for a run-sheet.
    pub steps: Option<String>,
    /// "ended: quit", "running", "killed (no end recorded)".
    pub state: String,
}

pub fn list(dir: &Path) -> anyhow::Result<Vec<Summary>> {
    let mut paths: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(rd) => rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => anyhow::bail!("{}: {e}", dir.display()),
    };
    paths.sort();
    paths.reverse();
    let mut out = Vec::new();
    for path in paths {
        let id = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_string();
        let entries = match journal::read(&path) {
            Ok(e) => e,
            Err(e) => {
                out.push(Summary {
                    id,
                    journal: path,
                    started: "?".into(),
                    target: "?".into(),
                    kind: "?".into(),
                    title: None,
                    faults: 0,
                    steps: None,
                    state: format!("unreadable: {e}"),
                });
                continue;
            }
        };
        let (mut started, mut target, mut title, mut ended) = ("?".to_string(), "?".to_string(), None, None);
        let mut kind = "?".to_string();
        let (mut faults, mut steps) = (0, false);
        for e in &entries {
            match &e.kind {
                EntryKind::SessionStart { backend, .. } if started == "?" => {
                    started = e.wall.format("%Y-%m-%d %H:%M UTC").to_string();
                    target = format!("{} ({})", backend.cluster, backend.kind);
                    kind = backend.kind.clone();
                }
                EntryKind::PlanLoaded { title: t, .. } => title = Some(t.clone()),
                EntryKind::InjectRequested { .. } => faults += 1,
                EntryKind::StepStarted { .. } => steps = true,
                EntryKind::SessionEnd { reason } => ended = Some(reason.clone()),
                _ => {}
            }
        }
        let state = match ended {
            _ if journal::in_use(&path) => "running".to_string(),
            Some(reason) => format!("ended: {reason}"),
            None => "killed (no end recorded)".to_string(),
        };
        let steps = steps.then(|| crate::timeline::faults::step_tally(&entries).short());
        out.push(Summary { id, journal: path, started, target, kind, title, faults, steps, state });
    }
    Ok(out)
}
