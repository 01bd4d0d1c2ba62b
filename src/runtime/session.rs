//! Opening a session: which journal it is written in (a new one, a resumed one, a responder's
//! file), its earlier entries, the session's identity, and the core's state opened on them.

use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::{drill, resume, tail, Options};
use crate::app::opening::{Earlier, Opened, Opening};
use crate::app::state::{PresetEntry, Session};
use crate::app::AppState;
use crate::backend::drill::DrillChannel;
use crate::store::journal::Journal;
use crate::timeline::Stamp;

/// A new session's id: when it started, and this process.
pub fn session_id(now: DateTime<Utc>) -> String {
    format!("{}-{:04x}", now.format("%Y%m%d-%H%M%S"), std::process::id() & 0xffff)
}

/// What the runtime keeps of the opening.
pub(super) struct Start {
    pub opened: Opened,
    pub journal: Journal,
    pub journal_path: PathBuf,
    /// When the session started (a resumed one keeps its start): the core's clock counts from it.
    pub start_wall: DateTime<Utc>,
    /// How far into the session this console starts (ms).
    pub offset_ms: u64,
    /// The last entry already in the journal.
    pub last_seq: u64,
}

/// Finds the journal, reads what is already in it, and opens the core's state on it.
pub(super) async fn open(opts: &mut Options, channel: Option<&Arc<dyn DrillChannel>>) -> anyhow::Result<Start> {
    // A resumed session keeps its id, its journal and its clock (times since its first start);
    // so does a responder who rejoins a drill.
    let info = opts.backend.info();
    // A responder's clock counts from the facilitator's start, as the facilitator's does.
    let mut facilitator_start = None;
    let earlier = match (&opts.resume, &opts.drill) {
        (Some(id), _) => {
            let read = resume::resumable(&opts.sessions_dir, id, &info)?.1;
            opts.warnings.extend(read.warnings);
            Some(read.entries)
        }
        (None, Some((id, name))) => {
            let (_, entries, started) = drill::responder(&opts.sessions_dir, id, name, &info, channel).await?;
            facilitator_start = started;
            Some(entries)
        }
        (None, None) => None,
    }
    .filter(|e| !e.is_empty());
    let start_wall =
        facilitator_start.or_else(|| earlier.as_ref().and_then(|e| e.first().map(|e| e.wall))).unwrap_or_else(Utc::now);
    let offset_ms = (Utc::now() - start_wall).num_milliseconds().max(0) as u64;
    let id = opts.resume.clone().or(opts.drill.as_ref().map(|d| d.0.clone())).unwrap_or_else(|| session_id(start_wall));
    let journal_path = match &opts.drill {
        Some((id, name)) => tail::responder_file(&opts.sessions_dir, id, name),
        None => opts.sessions_dir.join(format!("{id}.jsonl")),
    };
    let journal = Journal::open(&journal_path)
        .map_err(|e| anyhow::anyhow!("cannot open the session journal {}: {e}", journal_path.display()))?;
    let session = Session {
        id,
        backend: info,
        journal: journal_path.clone(),
        report: opts
            .sessions_dir
            .join(format!("{}.md", journal_path.file_stem().and_then(|s| s.to_str()).unwrap_or("report"))),
        version: env!("CARGO_PKG_VERSION").to_string(),
        home: std::env::var_os("HOME").filter(|h| !h.is_empty()).map(PathBuf::from),
        user: opts.user.clone(),
        host: crate::store::machine::host_name(),
    };
    let presets: Vec<PresetEntry> = std::mem::take(&mut opts.presets)
        .into_iter()
        .map(|p| PresetEntry { support: opts.backend.supports(&p.action), preset: p })
        .collect();
    let last_seq = earlier.as_ref().and_then(|e| e.last().map(|e| e.seq)).unwrap_or(0);
    // A cluster in this process (the demo) dies with its console, and is not the facilitator's:
    // a responder's replays their faults.
    let cluster_died = !opts.backend.faults_outlive_process();
    // The command-line history is this user's (the data directory's), across sessions.
    let history = opts.sessions_dir.parent().map(|d| super::history::load(&d.join("history"))).unwrap_or_default();
    let opening = Opening {
        earlier: earlier.map(|entries| Earlier { entries, resumed: opts.resume.is_some(), cluster_died }),
        sheet: opts.plan.take().map(|p| (p, opts.headless)),
        steady: std::mem::take(&mut opts.steady),
        drill: opts.drill.clone().map(|(session, name)| (session, name, cluster_died)),
        warnings: std::mem::take(&mut opts.warnings),
        history,
    };
    let stamp = Stamp::at(start_wall, offset_ms);
    let themes = std::mem::take(&mut opts.themes);
    let opened = AppState::open(session, presets, themes, opts.theme.clone(), stamp, opening);
    Ok(Start { opened, journal, journal_path, start_wall, offset_ms, last_seq })
}
