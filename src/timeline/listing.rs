//! A session as `gameday sessions` and the start screen list it: what it was about and how it
//! ended, from its entries (reading its journal is `crate::store::sessions`).

use std::path::PathBuf;

use super::entry::{Entry, EntryKind};

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

impl Summary {
    /// A journal that could not be read, and why.
    pub fn unreadable(id: String, journal: PathBuf, why: String) -> Summary {
        Summary {
            id,
            journal,
            started: "?".into(),
            target: "?".into(),
            kind: "?".into(),
            title: None,
            faults: 0,
            steps: None,
            state: format!("unreadable: {why}"),
        }
    }

    /// A session's summary from its entries; `running`: a console has it open now.
    pub fn of(id: String, journal: PathBuf, entries: &[Entry], running: bool) -> Summary {
        let (mut started, mut target, mut title, mut ended) = ("?".to_string(), "?".to_string(), None, None);
        let mut kind = "?".to_string();
        let (mut faults, mut steps) = (0, false);
        for e in entries {
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
            _ if running => "running".to_string(),
            Some(reason) => format!("ended: {reason}"),
            None => "killed (no end recorded)".to_string(),
        };
        let steps = steps.then(|| super::faults::step_tally(entries).short());
        Summary { id, journal, started, target, kind, title, faults, steps, state }
    }
}
