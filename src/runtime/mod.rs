//! The imperative shell: one event channel into the UI loop, `update` for every event,
//! effects carried out by the runner, a frame drawn only after something happened.
//!
//! `run` reads as the session goes: `session::open` (which journal, what is in it, the core's
//! state opened on it), the runner and the tasks that feed the channel, `ui_loop::run` (as its
//! own task, so a panic in it still reverts the active fault), then `closing` (the emergency
//! revert after a crash, the journal flushed, the report written beside it).

pub mod calls;
pub mod closing;
pub mod drill;
pub mod dry_run;
pub mod effects;
pub mod history;
pub mod ledger;
pub mod leftovers;
pub mod lock;
pub mod logging;
mod memory;
pub mod metrics;
pub mod out;
pub mod probes;
pub mod resume;
pub mod revert;
pub mod session;
pub mod start;
pub mod tail;
pub mod terminal;
pub mod ui_loop;
pub mod watchdog;
pub mod writer;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::mpsc;

use crate::app::Event;
use crate::backend::Backend;
use crate::config::preset::Preset;
use crate::config::theme::Theme;
use effects::Runner;
use ledger::Ledger;
pub use session::session_id;
use writer::JournalWriter;

pub struct Options {
    pub backend: Arc<dyn Backend>,
    pub presets: Vec<Preset>,
    pub themes: BTreeMap<String, Theme>,
    pub theme: Theme,
    pub sessions_dir: PathBuf,
    /// Probes, hypothesis and stop conditions (`--session-file`).
    pub steady: crate::config::session_file::SessionConfig,
    /// A run-sheet to walk (its probes and checks replace `steady`).
    pub plan: Option<crate::config::runsheet::RunSheet>,
    /// Resume this session (its ID): the timeline goes on in its journal.
    pub resume: Option<String>,
    /// Join this session (its ID) as a drill's responder, under this name.
    pub drill: Option<(String, String)>,
    /// Where a facilitator's console serves its drill to other machines when the backend has
    /// no channel of its own (the demo, Docker); `None`: loopback, any free port.
    pub drill_listen: Option<std::net::SocketAddr>,
    /// No screen: the run-sheet is walked by itself (`gameday run`), the timeline printed as it
    /// grows, and the session ends with the sheet.
    pub headless: bool,
    /// Without a screen: print nothing as the run goes (`gameday run --quiet`).
    pub quiet: bool,
    /// Served at `/metrics` (`--metrics-addr`): kept up to date after every batch of events.
    pub metrics: Option<Arc<metrics::Metrics>>,
    /// Rehearsal: the UI loop panics after this long (`--demo-crash-after`), to show that a
    /// crash still reverts the active fault.
    pub crash_after: Option<std::time::Duration>,
    /// What loading the config passed over (a FIFO named like a preset): said and recorded.
    pub warnings: Vec<String>,
    /// Who is at this console: their notes carry it.
    pub user: String,
}

/// What the session left behind, for the message after the terminal is restored.
pub struct Ended {
    pub journal: PathBuf,
    /// Faults that may still be in the cluster (revert not confirmed).
    pub left_behind: Vec<String>,
    /// Set when the console crashed (its active fault was reverted by the emergency path).
    pub crash: Option<String>,
    /// Entries that never reached the disk (a full disk at the end), with the last error.
    pub unsaved: Option<(usize, String)>,
    /// The session's final report, written next to its journal (or why it could not be);
    /// `None` for a drill responder (the session is the facilitator's).
    pub report: Option<Result<PathBuf, String>>,
}

pub async fn run(mut opts: Options) -> anyhow::Result<Ended> {
    let start = Instant::now();
    let mut channel = opts.backend.drill_channel();
    // A facilitator's console on a backend with no place to carry a drill (the demo, Docker)
    // serves it itself: bound before the session opens, so that an address in use is said
    // before anything is recorded.
    let serving = match (&channel, &opts.drill, opts.headless) {
        (None, None, false) => {
            let listen = opts.drill_listen.unwrap_or_else(|| std::net::SocketAddr::from(([127, 0, 0, 1], 0)));
            let again = opts
                .resume
                .as_deref()
                .filter(|_| opts.drill_listen.is_none())
                .and_then(|id| crate::store::sessions::served_before(&opts.sessions_dir, id));
            Some(crate::backend::relay::serve(listen, opts.backend.info(), again).await?)
        }
        _ => None,
    };
    let opened = session::open(&mut opts, channel.as_ref()).await?;
    let session::Start { opened, journal, journal_path, start_wall, offset_ms, last_seq } = opened;
    let crate::app::opening::Opened { state, effects: fx, own_leftovers } = opened;

    let (tx, rx) = mpsc::unbounded_channel::<Event>();
    if let Some(served) = &serving {
        served.begin(&state.session.id);
        let address = served.address();
        let command = crate::backend::relay::join_command(&state.session.backend.kind, &address);
        crate::store::sessions::write_join(
            &opts.sessions_dir,
            &state.session.id,
            &command,
            served.bound(),
            &address.token,
        );
        let _ = tx.send(Event::DrillServed(crate::app::event::Served {
            command,
            at: address.authority(),
            loopback: served.loopback_only(),
        }));
        channel = Some(served.clone());
    }
    let writer = {
        let tx = tx.clone();
        Arc::new(JournalWriter::spawn(journal, start_wall, last_seq, move |d| {
            let _ = tx.send(Event::Journal { durable_seq: d.seq, error: d.error.clone() });
        }))
    };
    let ledger = Ledger::default();
    let mut runner = Runner::new(opts.backend.clone(), writer.clone(), tx.clone(), ledger.clone(), start_wall);
    runner.history = opts.sessions_dir.parent().map(|d| d.join("history"));
    runner.session = state.session.id.clone();
    runner.who = state.session.who();
    // The cluster's one-fault lock, shared with every console on it (a drill's responder
    // injects nothing and takes none).
    if let (Some(lock), false) = (opts.backend.lock(), opts.drill.is_some()) {
        let lost_tx = tx.clone();
        let lost = move |by: crate::model::Holder| {
            let _ = lost_tx.send(Event::LockLost { by });
        };
        runner.lock = Some(lock::LockKeeper::spawn(lock, state.session.who(), &journal_path, lost));
    }
    runner.run(fx);
    terminal::spawn_signals(tx.clone())?;
    let responder = opts.drill.is_some();
    // This console's side of a drill; what the other side needs of its timeline is published
    // in the system when the backend carries a drill channel.
    let side = match &opts.drill {
        Some((_, name)) => crate::backend::drill::Side::Responder(name.clone()),
        None => crate::backend::drill::Side::Facilitator,
    };
    let (publisher, published) = match &channel {
        Some(c) => {
            let (p, h) = drill::Publisher::spawn(c.clone(), state.session.id.clone(), side.clone(), tx.clone());
            (Some(p), Some(h))
        }
        None => (None, None),
    };
    let closing = channel.clone().map(|c| (c, state.session.id.clone(), side.clone()));
    let term = if opts.headless { None } else { Some(terminal::enter()?) };
    let ui = ui_loop::Loop {
        term,
        state,
        runner,
        rx,
        tx: tx.clone(),
        publisher,
        headless: opts.headless,
        quiet: opts.quiet,
        metrics: opts.metrics.clone(),
        crash_after: opts.crash_after,
        start,
        offset_ms,
        start_wall,
    };
    let feeds = ui_loop::Feeds {
        backend: opts.backend.clone(),
        channel,
        served: serving.clone(),
        sessions_dir: opts.sessions_dir.clone(),
        side,
        own_leftovers,
        responder,
    };
    let headless = opts.headless;
    // The UI loop runs as its own task so that a panic in it is caught here and the active fault
    // is still reverted.
    let result = closing::result_of(tokio::spawn(ui.run(feeds)).await);
    if !headless {
        terminal::leave();
    }
    if let Err(panic) = &result {
        closing::emergency_revert(opts.backend.as_ref(), &ledger, &writer, panic).await;
    }
    // The drill's last entries (the session's end) reach the other side; then its channel goes.
    drill::flushed(published).await;
    if let Some((c, session, side)) = closing {
        drill::close(c.as_ref(), &session, &side).await;
        if serving.is_some() {
            crate::store::sessions::remove_join(&opts.sessions_dir, &session);
        }
    }
    let left_behind = ledger.injected().iter().map(|h| format!("fault #{}: {}", h.fault_id, h.summary)).collect();
    // Everything recorded reaches the disk before the process ends (a full disk: said on exit).
    let unsaved = match Arc::try_unwrap(writer) {
        Ok(w) => w.close(closing::JOURNAL_CLOSE_LIMIT).await.err(),
        Err(_) => Some((0, "the journal writer is still in use".to_string())),
    };
    // However the session ended, its report is written next to its journal.
    let report = (!responder).then(|| crate::store::report::write_beside(&journal_path));
    Ok(Ended { journal: journal_path, left_behind, crash: result.err(), unsaved, report })
}
