//! The UI loop: events in batches from the one channel, `update` for each, the runner for its
//! effects, then one frame. Headless, the timeline is printed as it grows instead. The core is
//! woken when something is due by the clock alone.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;

use super::effects::Runner;
use super::{drill, metrics, out, terminal};
use crate::app::{update, AppState, Event};
use crate::backend::drill::{DrillChannel, Side};
use crate::backend::Backend;
use crate::model::Leftover;
use crate::timeline::Stamp;

/// The loop's state.
pub struct Loop {
    pub state: AppState,
    pub runner: Runner,
    pub rx: mpsc::UnboundedReceiver<Event>,
    pub tx: mpsc::UnboundedSender<Event>,
    pub publisher: Option<drill::Publisher>,
    pub headless: bool,
    pub quiet: bool,
    pub metrics: Option<Arc<metrics::Metrics>>,
    pub crash_after: Option<std::time::Duration>,
    /// When this console started, and how far into the session that was (ms).
    pub start: Instant,
    pub offset_ms: u64,
    pub start_wall: DateTime<Utc>,
    /// The terminal drawn on (none without a screen).
    pub term: Option<terminal::Term>,
}

/// What feeds the channel besides the terminal and the clock.
pub struct Feeds {
    pub backend: Arc<dyn Backend>,
    pub channel: Option<Arc<dyn DrillChannel>>,
    /// The drill this console serves (`channel` is it): fed the picture as responders see it.
    pub served: Option<Arc<crate::backend::relay::Served>>,
    pub sessions_dir: PathBuf,
    pub side: Side,
    pub own_leftovers: Vec<Leftover>,
    pub responder: bool,
}

/// Sleeps until `due`, or for ever when nothing is due.
async fn alarm(due: Option<tokio::time::Instant>) {
    match due {
        Some(due) => tokio::time::sleep_until(due).await,
        None => std::future::pending().await,
    }
}

impl Loop {
    fn stamp(&self) -> Stamp {
        Stamp::at(self.start_wall, self.offset_ms + self.start.elapsed().as_millis() as u64)
    }

    /// Starts what feeds the channel, then runs until the session ends.
    pub async fn run(mut self, feeds: Feeds) {
        let tx = self.tx.clone();
        if !self.headless {
            terminal::spawn_input(tx.clone());
        }
        terminal::spawn_ticker(tx.clone());
        let (dtx, mut drx) = mpsc::unbounded_channel::<crate::model::TopologyDelta>();
        let fwd = tx.clone();
        let (served, backend) = (feeds.served.clone(), feeds.backend.clone());
        tokio::spawn(async move {
            while let Some(d) = drx.recv().await {
                if matches!(&d, crate::model::TopologyDelta::Snapshot(t) if t.pod_count() >= super::memory::LARGE) {
                    super::memory::trim_soon();
                }
                if let Some(served) = &served {
                    if let Some(seen) = backend.seen(d.clone()) {
                        served.feed(seen);
                    }
                }
                if fwd.send(Event::Backend(d)).is_err() {
                    break;
                }
            }
        });
        feeds.backend.watch(dtx);
        let session = self.state.session.id.clone();
        drill::follow(
            feeds.channel.as_ref(),
            feeds.served.is_some(),
            &feeds.sessions_dir,
            &session,
            &feeds.side,
            tx.clone(),
        );
        if let Some(p) = self.publisher.as_mut() {
            p.offer(&self.state.book.timeline);
        }
        if !feeds.responder {
            super::leftovers::search(
                feeds.backend.clone(),
                feeds.sessions_dir,
                feeds.own_leftovers,
                session,
                tx.clone(),
            );
        }
        let mut term = self.term.take();
        if let Some(term) = term.as_mut() {
            if let Ok(size) = term.size() {
                let _ = tx.send(Event::Resize { width: size.width, height: size.height });
            }
            let _ = term.draw(|f| crate::ui::draw(f, &self.state));
        }
        self.events(&mut term).await;
        self.runner.give_back().await;
        // ratatui's Terminal shows the cursor when dropped and panics (eprintln!) if the
        // terminal is gone (SIGHUP); `terminal::leave` restores the cursor instead.
        std::mem::forget(term);
    }

    async fn events(&mut self, term: &mut Option<terminal::Term>) {
        let mut printed = 0;
        let mut observed = self.state.book.timeline.len();
        let mut terminal_lost = false;
        // When the core next has something to do by the clock alone (a window ends): it is
        // woken then, not on the next round second.
        let mut due: Option<tokio::time::Instant> = None;
        let (start, offset_ms) = (self.start, self.offset_ms);
        let at = |ms: u64| {
            tokio::time::Instant::from_std(start) + std::time::Duration::from_millis(ms.saturating_sub(offset_ms))
        };
        loop {
            // What is due first: a busy channel (hundreds of probes) never holds it back.
            let first = tokio::select! {
                biased;
                _ = alarm(due) => Event::Tick,
                ev = self.rx.recv() => match ev {
                    Some(ev) => ev,
                    None => return,
                },
            };
            let mut next = Some(first);
            let mut handled = 0;
            let mut redraw_all = false;
            while let Some(ev) = next.take() {
                if ev == Event::Continued && term.is_some() {
                    // Running again after a stop: the shell may have changed the terminal.
                    let _ = terminal::reenter();
                    redraw_all = true;
                }
                let now = self.stamp();
                let fx = update(&mut self.state, ev, now);
                let control = self.runner.run(fx);
                if let Some(p) = self.publisher.as_mut() {
                    p.offer(&self.state.book.timeline);
                }
                let timeline = &self.state.book.timeline;
                if self.headless && !self.quiet {
                    // No screen: the timeline as it grows, one line per entry for the CI log,
                    // cleaned of escapes. A closed stdout (SIGPIPE, a CI runner gone) must not
                    // end the run.
                    for l in crate::timeline::ci::lines(&timeline[printed..]) {
                        out::line(false, &l);
                    }
                }
                printed = timeline.len();
                if let Some(m) = &self.metrics {
                    m.observe(&self.state, &timeline[observed.min(timeline.len())..]);
                    observed = timeline.len();
                }
                if control.exit {
                    return;
                }
                if control.suspend && term.is_some() {
                    terminal::stop_self();
                }
                if self.crash_after.is_some_and(|d| self.start.elapsed() >= d) {
                    panic!("rehearsed crash (--demo-crash-after)");
                }
                handled += 1;
                if handled < 64 {
                    next = self.rx.try_recv().ok();
                }
            }
            due = crate::app::due::next_due(&self.state).map(at);
            let Some(term) = term.as_mut() else { continue };
            if redraw_all {
                let _ = term.clear();
            }
            if term.draw(|f| crate::ui::draw(f, &self.state)).is_err() && !terminal_lost {
                terminal_lost = true;
                let now = self.stamp();
                let fx = update(&mut self.state, Event::Signal("terminal lost".into()), now);
                if self.runner.run(fx).exit {
                    return;
                }
            }
        }
    }
}
