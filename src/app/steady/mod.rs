//! Steady state: probe readings, the hypothesis checked before, during and after each fault,
//! and the stop conditions that abort a fault by themselves (a `SteadyOutcome::StopTripped`, which
//! `super::update::react` carries out through the abort path, as the abort key's). Pure: readings
//! come in as events, time with the book.
//!
//! Two things are judged, apart: the session's **steady state** (what must hold overall: without
//! a session file "every service answers", from the backend's own view; with one, the file's
//! checks over its probes) and a fault's **expectation** (what the run-sheet step said the fault
//! would do, as checks; a fault without checks has an expectation in words only).

mod judge;

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use super::book::{Book, Level};
use super::event::Effect;
use super::fault::Before;
use super::health::ServiceHealth;
pub use crate::config::session_file::Hypothesis;
use crate::config::session_file::{SessionConfig, Stop};
use crate::model::check::{Check, Verdict};
use crate::model::probe::{Outcome, ProbeKind, ProbeSpec, Reading};
use crate::model::Topology;
use crate::timeline::EntryKind;

/// Readings kept per probe (for the checks' windows and the sparklines).
pub const KEEP: usize = 120;

/// The fault whose effects are being followed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Track {
    pub fault: u64,
    pub active_ms: Option<u64>,
    pub detected_ms: Option<u64>,
    /// Steady state held again while the fault was still live (a drain whose pods moved).
    pub held_again_ms: Option<u64>,
    pub reverted_ms: Option<u64>,
    pub recovered_ms: Option<u64>,
    /// When the fault's expectation (its checks) broke.
    pub expectation_broken_ms: Option<u64>,
}

/// The steady-state machine: probes and their readings, the hypothesis, the stop conditions,
/// and the fault being followed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Steady {
    pub config: SessionConfig,
    pub readings: BTreeMap<String, VecDeque<Reading>>,
    /// Probes that have been answered at least once (until then a failure is "unknown").
    answered: BTreeSet<String>,
    /// Per stop condition: since when it has been breached.
    breached_since: Vec<Option<u64>>,
    /// Probes the console added by itself for a published port (they follow it when it moves).
    defaults: BTreeSet<String>,
    pub track: Option<Track>,
    /// The expectation of the fault to come (a run-sheet step's checks), judged apart from the
    /// steady state.
    pub expectation: Option<Hypothesis>,
}

/// What the steady state reads of the rest of the console: the backend's picture and health,
/// the fault that is active, the time.
#[derive(Clone, Copy)]
pub struct SteadyView<'a> {
    pub health: &'a BTreeMap<String, ServiceHealth>,
    pub topology: &'a Topology,
    /// The fault whose window runs now, if any.
    pub active: Option<u64>,
    pub now_ms: u64,
}

impl<'a> SteadyView<'a> {
    /// The view of the picture and fault machines now (borrowing only them, so the steady
    /// machine and the book can change meanwhile).
    pub fn of(picture: &'a crate::app::picture::Picture, fault: &crate::app::fault::Faults, now_ms: u64) -> Self {
        SteadyView { health: &picture.health, topology: &picture.topology, active: fault.active(), now_ms }
    }
}

/// What a reading means to the others.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SteadyOutcome {
    /// A stop condition held past its hold time: abort the live fault (`by`, recorded as who
    /// aborted it), then say `message`.
    StopTripped { by: String, message: String },
    /// The followed fault's system is in steady state again after its revert.
    Recovered { fault: u64 },
}

/// A probe's state as shown: ok, failing or unknown.
pub fn probe_state(readings: Option<&VecDeque<Reading>>) -> &'static str {
    match readings.and_then(|r| r.back()).map(|r| r.outcome.ok) {
        Some(Some(true)) => "ok",
        Some(Some(false)) => "failing",
        _ => "unknown",
    }
}

/// The steady state without a session file, and what it judges.
pub const DEFAULT: &str = "every service answers";
pub const DEFAULT_JUDGES: &str =
    "no service is down, and where requests are measured (the demo, golden signals) at least 99% of them succeed; \
     slower answers and a replica being replaced do not break it";

fn describe_check(c: &Check) -> String {
    format!("{c} over {}", crate::timeline::entry::seconds(c.window_ms))
}

fn describe_stop(st: &Stop) -> String {
    format!("{} for {}", describe_check(&st.check), crate::timeline::entry::seconds(st.hold_ms))
}

impl Steady {
    /// Takes the session file's probes, hypothesis and stop conditions; records them and asks
    /// the runtime to start the probes that reach out.
    pub fn configure(&mut self, config: SessionConfig, book: &mut Book) {
        self.breached_since = vec![None; config.stops.len()];
        for p in config.probes.iter().filter(|p| p.kind.runs_io()) {
            book.effect(Effect::StartProbe(p.clone()));
        }
        self.config = config;
        self.declare(book);
    }

    fn declare(&self, book: &mut Book) {
        let c = &self.config;
        let hypothesis = c.hypothesis.as_ref().map(|h| h.name.clone()).unwrap_or_else(|| DEFAULT.into());
        let checks = match &c.hypothesis {
            Some(h) => h.checks.iter().map(describe_check).collect(),
            None => vec![DEFAULT_JUDGES.into()],
        };
        let stops = c.stops.iter().map(describe_stop).collect();
        book.record(EntryKind::SteadyStateDeclared { hypothesis, checks, stops });
    }

    /// Adds a probe from the console (`:probe`); the runtime starts it if it reaches out.
    pub fn add_probe(&mut self, spec: ProbeSpec, book: &mut Book) {
        if self.config.probes.iter().any(|p| p.name == spec.name) {
            return book.say(Level::Error, format!("a probe named {} exists already", spec.name));
        }
        book.record(EntryKind::ProbeAdded { probe: spec.name.clone(), what: spec.kind.describe() });
        book.say(Level::Info, format!("probe {} added: {}", spec.name, spec.kind.describe()));
        if spec.kind.runs_io() {
            book.effect(Effect::StartProbe(spec.clone()));
        }
        self.config.probes.push(spec);
    }

    /// A run-sheet step's stop conditions (on top of the session's), recorded when they change.
    pub fn set_stops(&mut self, stops: Vec<Stop>, book: &mut Book) {
        if self.config.stops == stops {
            return;
        }
        self.breached_since = vec![None; stops.len()];
        self.config.stops = stops;
        self.declare(book);
    }

    /// What the next fault is expected to do, as checks (a run-sheet step's); `None` for none.
    pub fn set_expectation(&mut self, expectation: Option<Hypothesis>) {
        self.expectation = expectation.filter(|e| !e.checks.is_empty());
    }

    /// A service the console can reach gets a TCP probe by default, unless a probe of that name
    /// exists (declared probes win).
    ///
    /// A default probe follows its service's published port when it moves (a restart publishes
    /// a new host port): the probe is started again on the new address, which the runtime takes
    /// as replacing the old one.
    pub fn on_reachable(&mut self, service: String, addr: String, book: &mut Book) {
        let kind = ProbeKind::Tcp { addr };
        if let Some(p) = self.config.probes.iter_mut().find(|p| p.name == service) {
            if !self.defaults.contains(&service) || p.kind == kind {
                return;
            }
            p.kind = kind;
            let spec = p.clone();
            let what = format!("{} (its published port moved, the default probe follows it)", spec.kind.describe());
            book.record(EntryKind::ProbeAdded { probe: service, what });
            book.effect(Effect::StartProbe(spec));
            return;
        }
        let spec = ProbeSpec { name: service.clone(), kind, interval_ms: 1000, timeout_ms: 2000 };
        let what = format!("{} (a published port, probed by default)", spec.kind.describe());
        self.defaults.insert(service.clone());
        book.record(EntryKind::ProbeAdded { probe: service, what });
        book.effect(Effect::StartProbe(spec.clone()));
        self.config.probes.push(spec);
    }

    /// Adds a stop condition from the console (`:stop`).
    pub fn add_stop(&mut self, stop: Stop, book: &mut Book) {
        if !self.config.probes.iter().any(|p| p.name == stop.check.probe) {
            return book.say(Level::Error, format!("no probe named {}: add it first with :probe", stop.check.probe));
        }
        book.say(Level::Info, format!("stop condition added: {}", describe_stop(&stop)));
        self.config.stops.push(stop);
        self.breached_since.push(None);
        self.declare(book);
    }

    /// Adds a check to the hypothesis from the console (`:expect`); the first one replaces
    /// "every service is healthy" with a hypothesis of its own.
    pub fn add_check(&mut self, check: Check, book: &mut Book) {
        if !self.config.probes.iter().any(|p| p.name == check.probe) {
            return book.say(Level::Error, format!("no probe named {}: add it first with :probe", check.probe));
        }
        book.say(Level::Info, format!("the hypothesis now expects {}", describe_check(&check)));
        let h = self
            .config
            .hypothesis
            .get_or_insert_with(|| Hypothesis { name: "declared in the console".into(), checks: Vec::new() });
        h.checks.push(check);
        self.declare(book);
    }

    /// A probe's result from the runtime.
    pub fn on_outcome(&mut self, mut outcome: Outcome, view: &SteadyView, book: &mut Book) -> Option<SteadyOutcome> {
        let name = outcome.probe.clone();
        if !self.config.probes.iter().any(|p| p.name == name) {
            return None;
        }
        if outcome.reached {
            self.answered.insert(name.clone());
        } else if outcome.ok == Some(false) && !self.answered.contains(&name) {
            // Never answered since the start: maybe not reachable from here at all. Unknown.
            outcome.ok = None;
            outcome.success = None;
        }
        self.push(outcome, book);
        self.evaluate(view, book)
    }

    fn push(&mut self, outcome: Outcome, book: &mut Book) {
        let name = outcome.probe.clone();
        let readings = self.readings.entry(name.clone()).or_default();
        let from = probe_state(Some(readings));
        let had_any = !readings.is_empty();
        readings.push_back(Reading { at_ms: book.t_ms(), outcome });
        while readings.len() > KEEP {
            readings.pop_front();
        }
        let to = probe_state(Some(readings));
        if from != to && (had_any || to != "ok") {
            let detail = readings.back().map(|r| r.outcome.detail.clone()).unwrap_or_default();
            book.record(EntryKind::ProbeChanged { probe: name, from: from.into(), to: to.into(), detail });
        }
    }

    /// Readings of the probes derived from the backend's picture (read once a second, and at
    /// once when a step waits for steady state), then the checks.
    pub fn on_tick(&mut self, view: &SteadyView, book: &mut Book) -> Option<SteadyOutcome> {
        let derived: Vec<ProbeSpec> = self.config.probes.iter().filter(|p| !p.kind.runs_io()).cloned().collect();
        for p in derived {
            let outcome = judge::derive(view, &p);
            if outcome.reached {
                self.answered.insert(p.name.clone());
            }
            self.push(outcome, book);
        }
        self.evaluate(view, book)
    }

    /// A service's health changed in the picture (the default steady state): the checks now,
    /// so a service down between two ticks is seen down.
    pub fn on_picture(&mut self, view: &SteadyView, book: &mut Book) -> Option<SteadyOutcome> {
        self.evaluate(view, book)
    }

    /// The steady state just before a fault is requested.
    pub fn before(&self, view: &SteadyView) -> Before {
        let (verdict, detail) = match self.hypothesis(view) {
            Verdict::Holds { reading } => ("holds", reading),
            Verdict::Broken { reading } => ("broken", reading),
            Verdict::Unknown { why } => ("unknown", why),
        };
        Before { verdict, detail }
    }

    /// A fault was requested: it is followed from now on.
    pub fn follow(&mut self, fault: u64) {
        self.track = Some(Track { fault, ..Default::default() });
        self.breached_since.iter_mut().for_each(|b| *b = None);
    }

    /// The fault is in the system.
    pub fn on_active(&mut self, fault: u64, now_ms: u64) {
        if let Some(t) = self.track.as_mut().filter(|t| t.fault == fault) {
            t.active_ms = Some(now_ms);
        }
    }

    /// The fault's revert is confirmed: recovery is timed from now.
    pub fn on_reverted(&mut self, fault: u64, now_ms: u64) {
        if let Some(t) = self.track.as_mut().filter(|t| t.fault == fault) {
            t.reverted_ms = Some(now_ms);
        }
    }

    /// The fault followed has recovered (after its revert).
    pub fn recovered(&self, fault: u64) -> bool {
        self.track.as_ref().is_some_and(|t| t.fault == fault && t.recovered_ms.is_some())
    }

    /// The checks, after every reading: time to detect, stop conditions, time to recover.
    fn evaluate(&mut self, view: &SteadyView, book: &mut Book) -> Option<SteadyOutcome> {
        let now = book.t_ms();
        let track = self.track.clone()?;
        // While the fault is live, the checks' own windows; after the revert, recovery is the
        // first time every check holds on the latest readings (taken after the revert).
        let floor = match track.reverted_ms {
            Some(reverted) => {
                let latest = self.config.probes.iter().map(|p| p.interval_ms).max().unwrap_or(1000) + 500;
                reverted.max(now.saturating_sub(latest))
            }
            None => 0,
        };
        let verdict = self.hypothesis_from(view, floor);
        if view.active == Some(track.fault) {
            let since = |t: u64| now - track.active_ms.unwrap_or(t);
            match (&verdict, track.detected_ms, track.held_again_ms) {
                (Verdict::Broken { reading }, None, _) if track.active_ms.is_some() => {
                    let detail = reading.clone();
                    book.record(EntryKind::HypothesisBroken { fault: track.fault, after_ms: since(now), detail });
                    if let Some(t) = self.track.as_mut() {
                        t.detected_ms = Some(now);
                    }
                }
                // Broken, then whole again with the fault still on (a drained node's pods moved).
                (Verdict::Holds { .. }, Some(_), None) => {
                    book.record(EntryKind::SteadyStateHeldAgain { fault: track.fault, after_ms: since(now) });
                    if let Some(t) = self.track.as_mut() {
                        t.held_again_ms = Some(now);
                    }
                }
                _ => {}
            }
            if let (Some(Verdict::Broken { reading }), None, Some(active)) =
                (self.expectation_now(now), track.expectation_broken_ms, track.active_ms)
            {
                book.record(EntryKind::ExpectationBroken {
                    fault: track.fault,
                    after_ms: now - active,
                    detail: reading,
                });
                if let Some(t) = self.track.as_mut() {
                    t.expectation_broken_ms = Some(now);
                }
            }
            return self.stop_conditions(track.fault, book);
        }
        if let (Some(reverted), None, Some(_), true) =
            (track.reverted_ms, track.recovered_ms, track.detected_ms, verdict.holds())
        {
            // Recovered: only from something broken.
            book.record(EntryKind::SteadyStateRecovered { fault: track.fault, after_ms: now - reverted });
            if let Some(t) = self.track.as_mut() {
                t.recovered_ms = Some(now);
            }
            return Some(SteadyOutcome::Recovered { fault: track.fault });
        }
        None
    }

    /// A stop condition breached for its hold time (no reading since holding it) aborts the
    /// live fault, once. A probe that cannot be read at all never starts a breach.
    fn stop_conditions(&mut self, fault: u64, book: &mut Book) -> Option<SteadyOutcome> {
        let now = book.t_ms();
        let stops = self.config.stops.clone();
        for (i, stop) in stops.iter().enumerate() {
            let reading = match self.check_verdict(&stop.check, 0, now) {
                Verdict::Broken { reading } => reading,
                Verdict::Holds { .. } => {
                    self.breached_since[i] = None;
                    continue;
                }
                // No reading in the window (a late probe): the breach goes on until one holds.
                Verdict::Unknown { .. } => continue,
            };
            let since = *self.breached_since[i].get_or_insert(now);
            if now - since < stop.hold_ms {
                continue;
            }
            book.record(EntryKind::StopCondition {
                fault,
                check: stop.check.to_string(),
                reading: reading.clone(),
                threshold: stop.check.threshold_text(),
                held_ms: now - since,
            });
            self.breached_since.iter_mut().for_each(|b| *b = None);
            let message =
                format!("STOP CONDITION: {reading} (wanted {}): fault #{fault} aborted", stop.check.threshold_text());
            return Some(SteadyOutcome::StopTripped { by: format!("stop condition: {reading}"), message });
        }
        None
    }
}
