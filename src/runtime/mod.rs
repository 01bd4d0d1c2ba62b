//! The imperative shell: one event channel into the UI loop, `update` for every event,
//! effects carried out by the runner, a frame drawn only after something happened.

pub mod cleanup;
pub mod drill;
pub mod dry_run;
pub mod effects;
pub mod history;
pub mod lock;
pub mod logging;
pub mod metrics;
pub mod out;
pub mod probes;
pub mod reaper;
pub mod resume;
pub mod start;
pub mod tail;
pub mod terminal;
pub mod watchdog;
pub mod writer;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;

use crate::app::state::{PresetEntry, Session};
use crate::app::{update, AppState, Event};
use crate::backend::Backend;
use crate::config::preset::Preset;
use crate::config::theme::Theme;
use crate::store::journal::Journal;
use crate::timeline::{leftovers, EndReason, EntryKind, Stamp};
use effects::{Ledger, Runner};
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
pub struct Outcome {
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

pub fn session_id(now: DateTime<Utc>) -> String {
    format!("{}-{:04x}", now.format("%Y%m%d-%H%M%S"), std::process::id() & 0xffff)
}

pub async fn run(opts: Options) -> anyhow::Result<Outcome> {
    let start = Instant::now();
    let channel = opts.backend.drill_channel();
    // A resumed session keeps its id, its journal and its clock (times since its first start);
    // so does a responder who rejoins a drill.
    let earlier = match (&opts.resume, &opts.drill) {
        (Some(id), _) => Some(resume::resumable(&opts.sessions_dir, id, &opts.backend.info())?),
        (None, Some((id, name))) => {
            let info = opts.backend.info();
            Some(drill::responder(&opts.sessions_dir, id, name, &info, channel.as_ref()).await?)
                .filter(|(_, e)| !e.is_empty())
        }
        (None, None) => None,
    };
    let start_wall = earlier.as_ref().and_then(|(_, e)| e.first().map(|e| e.wall)).unwrap_or_else(Utc::now);
    let offset_ms = (Utc::now() - start_wall).num_milliseconds().max(0) as u64;
    let stamp = move || Stamp::at(start_wall, offset_ms + start.elapsed().as_millis() as u64);
    let id = opts.resume.clone().or(opts.drill.as_ref().map(|d| d.0.clone())).unwrap_or_else(|| session_id(start_wall));
    let journal_path = match &opts.drill {
        Some((id, name)) => tail::responder_file(&opts.sessions_dir, id, name),
        None => opts.sessions_dir.join(format!("{id}.jsonl")),
    };
    let journal = Journal::open(&journal_path)
        .map_err(|e| anyhow::anyhow!("cannot open the session journal {}: {e}", journal_path.display()))?;
    let session = Session {
        id,
        backend: opts.backend.info(),
        journal: journal_path.clone(),
        report: opts
            .sessions_dir
            .join(format!("{}.md", journal_path.file_stem().and_then(|s| s.to_str()).unwrap_or("report"))),
        version: env!("CARGO_PKG_VERSION").to_string(),
        home: std::env::var_os("HOME").filter(|h| !h.is_empty()).map(PathBuf::from),
        user: opts.user.clone(),
    };
    let presets: Vec<PresetEntry> = opts
        .presets
        .into_iter()
        .map(|p| PresetEntry { support: opts.backend.supports(&p.action), preset: p })
        .collect();
    let (mut state, mut fx) = AppState::new(session, presets, opts.themes, opts.theme, stamp());
    let last_seq = earlier.as_ref().and_then(|(_, e)| e.last().map(|e| e.seq)).unwrap_or(0);
    let mut own_leftovers = Vec::new();
    if let Some((_, entries)) = earlier {
        // Not a new start: the earlier timeline, and faults numbered after its own.
        fx.clear();
        state.next_fault_id = entries.iter().filter_map(|e| e.kind.fault()).max().unwrap_or(0) + 1;
        // A resumed session's own faults that its killed console never finished: where it
        // stopped, what was never applied, or died with the cluster, is recorded so (before the
        // resume: it is about the console that died); what may still be in the system is
        // offered for revert (its journal is this console's now, so the search of other
        // sessions' journals skips it).
        let died = !opts.backend.faults_outlive_process();
        let closing = match opts.resume {
            Some(_) => leftovers::closing_entries(&entries, died, "found when the session was resumed"),
            None => Vec::new(),
        };
        state.timeline = entries;
        for kind in closing.into_iter().filter(|k| !matches!(k, EntryKind::SessionEnd { .. })) {
            state.record(kind, &mut fx);
        }
        let version = env!("CARGO_PKG_VERSION").to_string();
        state.record(crate::timeline::EntryKind::SessionResumed { version }, &mut fx);
        if opts.resume.is_some() {
            own_leftovers = leftovers::unfinished(&state.timeline, None);
        }
    }
    match opts.plan {
        Some(plan) => fx.extend(crate::app::runsheet::load(&mut state, plan, opts.headless)),
        None => fx.extend(crate::app::steady::configure(&mut state, opts.steady)),
    }
    if let Some((session, name)) = &opts.drill {
        // A cluster in this process (the demo) is not the facilitator's: it replays their faults.
        let mirror = !opts.backend.faults_outlive_process();
        crate::app::drill::join(&mut state, session, name, mirror, &mut fx);
    }
    let headless = opts.headless;
    let quiet = opts.quiet;
    let metrics = opts.metrics.clone();
    for w in &opts.warnings {
        state.record(EntryKind::Console { message: w.clone(), warning: true }, &mut fx);
        state.say(crate::app::state::Level::Warning, w.clone());
    }

    let (tx, mut rx) = mpsc::unbounded_channel::<Event>();
    let writer = {
        let tx = tx.clone();
        Arc::new(JournalWriter::spawn(journal, start_wall, last_seq, move |d| {
            let _ = tx.send(Event::Journal { durable_seq: d.seq, error: d.error.clone() });
        }))
    };
    let ledger = Ledger::default();
    let mut runner = Runner::new(opts.backend.clone(), writer.clone(), tx.clone(), ledger.clone());
    // The command-line history is this user's (the data directory's), across sessions.
    let history = opts.sessions_dir.parent().map(|d| d.join("history"));
    if let Some(path) = &history {
        state.ui.history = history::load(path);
    }
    runner.history = history;
    runner.session = state.session.id.clone();
    runner.who = format!("{}@{}", state.session.user, crate::store::machine::host_name());
    // The cluster's one-fault lock, shared with every console on it (a drill's responder
    // injects nothing and takes none).
    if let (Some(lock), false) = (opts.backend.lock(), opts.drill.is_some()) {
        let who = format!("{}@{}", state.session.user, crate::store::machine::host_name());
        let lost_tx = tx.clone();
        let lost = move |other: crate::model::Holder| {
            let _ = lost_tx.send(Event::Backend(crate::model::TopologyDelta::ClusterEvent {
                object: "cluster lock".into(),
                message: format!(
                    "this console's hold on the cluster was taken over by {} (this console went silent for longer than its lease): its fault may have been reverted by them",
                    other.who
                ),
                warning: true,
            }));
        };
        runner.lock = Some(lock::LockKeeper::spawn(lock, who, &journal_path, lost));
    }
    runner.run(fx);

    terminal::spawn_signals(tx.clone())?;
    let mut term = if headless { None } else { Some(terminal::enter()?) };
    let backend = opts.backend.clone();
    let crash_after = opts.crash_after;
    let sessions_dir = opts.sessions_dir.clone();
    let responder = opts.drill.is_some();
    let session_id = state.session.id.clone();
    // This console's side of a drill; what the other side needs of its timeline is published
    // in the system when the backend carries a drill channel.
    let side = match &opts.drill {
        Some((_, name)) => crate::backend::drill::Side::Responder(name.clone()),
        None => crate::backend::drill::Side::Facilitator,
    };
    let (mut publisher, published) = match &channel {
        Some(c) => {
            let (p, h) = drill::Publisher::spawn(c.clone(), session_id.clone(), side.clone(), tx.clone());
            (Some(p), Some(h))
        }
        None => (None, None),
    };
    let result = {
        let tx = tx.clone();
        let ledger = ledger.clone();
        // The UI loop runs as its own task so that a panic in it is caught here and the
        // active fault is still reverted.
        let ui = tokio::spawn(async move {
            if !headless {
                terminal::spawn_input(tx.clone());
            }
            terminal::spawn_ticker(tx.clone());
            let (dtx, mut drx) = mpsc::unbounded_channel();
            let fwd = tx.clone();
            tokio::spawn(async move {
                while let Some(d) = drx.recv().await {
                    if fwd.send(Event::Backend(d)).is_err() {
                        break;
                    }
                }
            });
            backend.watch(dtx);
            drill::follow(channel.as_ref(), &sessions_dir, &session_id, &side, tx.clone());
            if let Some(p) = publisher.as_mut() {
                p.offer(&state.timeline);
            }
            if !responder {
                spawn_leftover_search(backend.clone(), sessions_dir, own_leftovers, session_id.clone(), tx.clone());
            }
            if let Some(term) = term.as_mut() {
                if let Ok(size) = term.size() {
                    let _ = tx.send(Event::Resize { width: size.width, height: size.height });
                }
                let _ = term.draw(|f| crate::ui::draw(f, &state));
            }
            let mut printed = 0;
            let mut observed = state.timeline.len();
            let mut terminal_lost = false;
            // When the core next has something to do by the clock alone (a window ends): it is
            // woken then, not on the next round second.
            let mut due: Option<tokio::time::Instant> = None;
            let at = |ms: u64| {
                tokio::time::Instant::from_std(start) + std::time::Duration::from_millis(ms.saturating_sub(offset_ms))
            };
            'outer: loop {
                // What is due first: a busy channel (hundreds of probes) never holds it back.
                let first = tokio::select! {
                    biased;
                    _ = alarm(due) => Event::Tick,
                    ev = rx.recv() => match ev {
                        Some(ev) => ev,
                        None => break,
                    },
                };
                let mut next = Some(first);
                let mut handled = 0;
                let mut redraw_all = false;
                while let Some(ev) = next.take() {
                    if ev == Event::Continued {
                        // Running again after a stop: the shell may have changed the terminal.
                        if term.is_some() {
                            let _ = terminal::reenter();
                            redraw_all = true;
                        }
                    }
                    let fx = update(&mut state, ev, stamp());
                    let control = runner.run(fx);
                    if let Some(p) = publisher.as_mut() {
                        p.offer(&state.timeline);
                    }
                    // The cluster lock follows the core's fault: given back once none is left.
                    let deadline = |ms: u64| start_wall.timestamp() + ms.div_ceil(1000) as i64;
                    runner.settle(state.fault.live().map(|f| (f.id, f.deadline_ms.map(deadline))));
                    if headless && !quiet {
                        // No screen: the timeline as it grows, one line per entry for the CI
                        // log, cleaned of escapes. A closed stdout (SIGPIPE, a CI runner gone)
                        // must not end the run.
                        for e in &state.timeline[printed..] {
                            out::line(false, &crate::timeline::ci::line(e));
                        }
                    }
                    printed = state.timeline.len();
                    if let Some(m) = &metrics {
                        m.observe(&state, &state.timeline[observed.min(state.timeline.len())..]);
                        observed = state.timeline.len();
                    }
                    if control.exit {
                        break 'outer;
                    }
                    if control.suspend && term.is_some() {
                        terminal::stop_self();
                    }
                    if crash_after.is_some_and(|d| start.elapsed() >= d) {
                        panic!("rehearsed crash (--demo-crash-after)");
                    }
                    handled += 1;
                    if handled < 64 {
                        next = rx.try_recv().ok();
                    }
                }
                due = crate::app::due::next_due(&state).map(at);
                let Some(term) = term.as_mut() else { continue };
                if redraw_all {
                    let _ = term.clear();
                }
                if term.draw(|f| crate::ui::draw(f, &state)).is_err() && !terminal_lost {
                    terminal_lost = true;
                    let fx = update(&mut state, Event::Signal("terminal lost".into()), stamp());
                    if runner.run(fx).exit {
                        break;
                    }
                }
            }
            runner.give_back().await;
            drop(ledger);
            // ratatui's Terminal shows the cursor when dropped and panics (eprintln!) if the
            // terminal is gone (SIGHUP); `terminal::leave` restores the cursor instead.
            std::mem::forget(term);
        });
        result_of(ui.await)
    };
    if !headless {
        terminal::leave();
    }
    if let Err(panic) = &result {
        emergency_revert(opts.backend.as_ref(), &ledger, &writer, panic).await;
    }
    // The drill's last entries (the session's end) reach the other side.
    drill::flushed(published).await;
    let left_behind = ledger.injected().iter().map(|h| format!("fault #{}: {}", h.fault_id, h.summary)).collect();
    // Everything recorded reaches the disk before the process ends (a full disk: said on exit).
    let unsaved = match Arc::try_unwrap(writer) {
        Ok(w) => w.close(JOURNAL_CLOSE_LIMIT).await.err(),
        Err(_) => Some((0, "the journal writer is still in use".to_string())),
    };
    // However the session ended, its report is written next to its journal.
    let report = (!responder).then(|| crate::store::report::write_beside(&journal_path));
    Ok(Outcome { journal: journal_path, left_behind, crash: result.err(), unsaved, report })
}

/// Sleeps until `due`, or for ever when nothing is due.
async fn alarm(due: Option<tokio::time::Instant>) {
    match due {
        Some(due) => tokio::time::sleep_until(due).await,
        None => std::future::pending().await,
    }
}

/// How long the end of a session waits for its journal to reach the disk.
pub const JOURNAL_CLOSE_LIMIT: std::time::Duration = std::time::Duration::from_secs(10);

fn result_of(r: Result<(), tokio::task::JoinError>) -> Result<(), String> {
    match r {
        Ok(()) => Ok(()),
        Err(e) if e.is_panic() => Err(format!("panic: {}", effects::panic_message(e.into_panic().as_ref()))),
        Err(e) => Err(e.to_string()),
    }
}

/// Looks for faults earlier sessions left (their journals, the backend's markers) in the
/// background, and reports them as one event.
fn spawn_leftover_search(
    backend: Arc<dyn Backend>,
    dir: PathBuf,
    own: Vec<crate::model::Leftover>,
    session: String,
    tx: mpsc::UnboundedSender<Event>,
) {
    tokio::spawn(async move {
        let info = backend.info();
        let died = !backend.faults_outlive_process();
        // Earlier consoles that were killed: their journals get the end they never wrote.
        let closing = {
            let (dir, info) = (dir.clone(), info.clone());
            let why = format!("found by session {session}");
            tokio::task::spawn_blocking(move || crate::store::leftovers::close_dead_sessions(&dir, &info, died, &why))
        };
        let _ = closing.await;
        if died {
            return;
        }
        let search = backend.search().await.unwrap_or_default();
        for why in &search.skipped {
            let _ = tx.send(Event::Backend(crate::model::TopologyDelta::ClusterEvent {
                object: "leftover search".into(),
                message: format!("{why}: a fault left there by an earlier session would not be found"),
                warning: true,
            }));
        }
        let markers = search.found;
        let (in_journals, markers) = tokio::task::spawn_blocking(move || {
            let (found, _unreadable) = crate::store::leftovers::in_journals(&dir, &info);
            (found, crate::store::leftovers::not_open_here(&dir, markers))
        })
        .await
        .unwrap_or_default();
        let mut all = leftovers::merge(own.into_iter().chain(in_journals).collect(), markers);
        // The fault that holds the cluster lock has an owner: it is not left behind. (If its
        // owner is dead, its lease lapses and the console takes it over.)
        if let Some(lock) = backend.lock() {
            if let Ok(Some(h)) = lock.current().await {
                all.retain(|l| !(l.session == h.session && l.fault_id == h.fault));
            }
        }
        if !all.is_empty() {
            let _ = tx.send(Event::Leftovers(all));
        }
    });
}

/// After a panic: revert whatever the ledger holds, and journal it. Retries for up to 30 s.
async fn emergency_revert(backend: &dyn Backend, ledger: &Ledger, journal: &JournalWriter, why: &str) {
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
            match effects::revert_once(backend, &handle).await {
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
