//! Steady state: probe readings, the hypothesis checked before, during and after each fault,
//! and the stop conditions that abort a fault by themselves (through `fault::abort`, the same
//! path as the abort key). Pure: readings come in as events, time as `s.now`.
//!
//! Two things are judged, apart: the session's **steady state** (what must hold overall: without
//! a session file "every service answers", from the backend's own view; with one, the file's
//! checks over its probes) and a fault's **expectation** (what the run-sheet step said the fault
//! would do, as checks; a fault without checks has an expectation in words only).

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use super::event::Effect;
use super::fault::{self, FaultPhase};
use super::state::{AppState, Level};
pub use crate::config::session_file::Hypothesis;
use crate::config::session_file::{SessionConfig, Stop};
use crate::model::probe::{Check, Outcome, ProbeKind, ProbeSpec, Reading, Verdict};
use crate::timeline::{EntryKind, Health};

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

/// A probe's state as shown: ok, failing or unknown.
pub fn probe_state(readings: Option<&VecDeque<Reading>>) -> &'static str {
    match readings.and_then(|r| r.back()).map(|r| r.outcome.ok) {
        Some(Some(true)) => "ok",
        Some(Some(false)) => "failing",
        _ => "unknown",
    }
}

/// Takes the session file's probes, hypothesis and stop conditions; records them and asks the
/// runtime to start the probes that reach out.
pub fn configure(s: &mut AppState, config: SessionConfig) -> Vec<Effect> {
    let mut fx = Vec::new();
    s.steady.breached_since = vec![None; config.stops.len()];
    for p in config.probes.iter().filter(|p| p.kind.runs_io()) {
        fx.push(Effect::StartProbe(p.clone()));
    }
    s.steady.config = config;
    let (hypothesis, checks, stops) = declared(s);
    s.record(EntryKind::SteadyStateDeclared { hypothesis, checks, stops }, &mut fx);
    fx
}

/// The steady state without a session file, and what it judges.
pub const DEFAULT: &str = "every service answers";
pub const DEFAULT_JUDGES: &str =
    "no service is down, and where traffic is measured (the demo) at least 99% of requests succeed; \
     slower answers and a replica being replaced do not break it";

fn describe_check(c: &Check) -> String {
    format!("{c} over {}", crate::timeline::entry::seconds(c.window_ms))
}

fn describe_stop(st: &Stop) -> String {
    format!("{} for {}", describe_check(&st.check), crate::timeline::entry::seconds(st.hold_ms))
}

/// Adds a probe from the console (`:probe`); the runtime starts it if it reaches out.
pub fn add_probe(s: &mut AppState, spec: ProbeSpec, fx: &mut Vec<Effect>) {
    if s.steady.config.probes.iter().any(|p| p.name == spec.name) {
        s.say(Level::Error, format!("a probe named {} exists already", spec.name));
        return;
    }
    s.record(EntryKind::ProbeAdded { probe: spec.name.clone(), what: spec.kind.describe() }, fx);
    s.say(Level::Info, format!("probe {} added: {}", spec.name, spec.kind.describe()));
    if spec.kind.runs_io() {
        fx.push(Effect::StartProbe(spec.clone()));
    }
    s.steady.config.probes.push(spec);
}

/// A run-sheet step's stop conditions (on top of the session's), recorded when they change.
pub fn set_stops(s: &mut AppState, stops: Vec<Stop>, fx: &mut Vec<Effect>) {
    if s.steady.config.stops == stops {
        return;
    }
    s.steady.breached_since = vec![None; stops.len()];
    s.steady.config.stops = stops;
    let (hypothesis, checks, stops) = declared(s);
    s.record(EntryKind::SteadyStateDeclared { hypothesis, checks, stops }, fx);
}

/// What the next fault is expected to do, as checks (a run-sheet step's); `None` for none.
pub fn set_expectation(s: &mut AppState, expectation: Option<Hypothesis>) {
    s.steady.expectation = expectation.filter(|e| !e.checks.is_empty());
}

/// A service the console can reach gets a TCP probe by default, unless a probe of that name
/// exists (declared probes win).
///
/// A default probe follows its service's published port when it moves (a restart publishes a
/// new host port): the probe is started again on the new address, which the runtime takes as
/// replacing the old one.
pub fn on_reachable(s: &mut AppState, service: String, addr: String, fx: &mut Vec<Effect>) {
    let kind = ProbeKind::Tcp { addr };
    if let Some(p) = s.steady.config.probes.iter_mut().find(|p| p.name == service) {
        if !s.steady.defaults.contains(&service) || p.kind == kind {
            return;
        }
        p.kind = kind;
        let spec = p.clone();
        let what = format!("{} (its published port moved, the default probe follows it)", spec.kind.describe());
        s.record(EntryKind::ProbeAdded { probe: service, what }, fx);
        fx.push(Effect::StartProbe(spec));
        return;
    }
    let spec = ProbeSpec { name: service.clone(), kind, interval_ms: 1000, timeout_ms: 2000 };
    let what = format!("{} (a published port, probed by default)", spec.kind.describe());
    s.steady.defaults.insert(service.clone());
    s.record(EntryKind::ProbeAdded { probe: service, what }, fx);
    fx.push(Effect::StartProbe(spec.clone()));
    s.steady.config.probes.push(spec);
}

/// Adds a stop condition from the console (`:stop`).
pub fn add_stop(s: &mut AppState, stop: Stop, fx: &mut Vec<Effect>) {
    if !s.steady.config.probes.iter().any(|p| p.name == stop.check.probe) {
        s.say(Level::Error, format!("no probe named {}: add it first with :probe", stop.check.probe));
        return;
    }
    s.say(Level::Info, format!("stop condition added: {}", describe_stop(&stop)));
    s.steady.config.stops.push(stop);
    s.steady.breached_since.push(None);
    let (hypothesis, checks, stops) = declared(s);
    s.record(EntryKind::SteadyStateDeclared { hypothesis, checks, stops }, fx);
}

/// Adds a check to the hypothesis from the console (`:expect`); the first one replaces "every
/// service is healthy" with a hypothesis of its own.
pub fn add_check(s: &mut AppState, check: Check, fx: &mut Vec<Effect>) {
    if !s.steady.config.probes.iter().any(|p| p.name == check.probe) {
        s.say(Level::Error, format!("no probe named {}: add it first with :probe", check.probe));
        return;
    }
    s.say(Level::Info, format!("the hypothesis now expects {}", describe_check(&check)));
    let h = s.steady.config.hypothesis.get_or_insert_with(|| crate::config::session_file::Hypothesis {
        name: "declared in the console".into(),
        checks: Vec::new(),
    });
    h.checks.push(check);
    let (hypothesis, checks, stops) = declared(s);
    s.record(EntryKind::SteadyStateDeclared { hypothesis, checks, stops }, fx);
}

fn declared(s: &AppState) -> (String, Vec<String>, Vec<String>) {
    let c = &s.steady.config;
    let hypothesis = c.hypothesis.as_ref().map(|h| h.name.clone()).unwrap_or_else(|| DEFAULT.into());
    let checks = match &c.hypothesis {
        Some(h) => h.checks.iter().map(describe_check).collect(),
        None => vec![DEFAULT_JUDGES.into()],
    };
    (hypothesis, checks, c.stops.iter().map(describe_stop).collect())
}

/// A probe's result from the runtime.
pub fn on_outcome(s: &mut AppState, mut outcome: Outcome, fx: &mut Vec<Effect>) {
    let name = outcome.probe.clone();
    if !s.steady.config.probes.iter().any(|p| p.name == name) {
        return;
    }
    if outcome.reached {
        s.steady.answered.insert(name.clone());
    } else if outcome.ok == Some(false) && !s.steady.answered.contains(&name) {
        // Never answered since the start: maybe not reachable from here at all. Unknown.
        outcome.ok = None;
        outcome.success = None;
    }
    push(s, outcome, fx);
    evaluate(s, fx);
}

fn push(s: &mut AppState, outcome: Outcome, fx: &mut Vec<Effect>) {
    let name = outcome.probe.clone();
    let readings = s.steady.readings.entry(name.clone()).or_default();
    let from = probe_state(Some(readings));
    let had_any = !readings.is_empty();
    readings.push_back(Reading { at_ms: s.now.t_ms, outcome });
    while readings.len() > KEEP {
        readings.pop_front();
    }
    let to = probe_state(Some(readings));
    if from != to && (had_any || to != "ok") {
        let detail = readings.back().map(|r| r.outcome.detail.clone()).unwrap_or_default();
        s.record(EntryKind::ProbeChanged { probe: name, from: from.into(), to: to.into(), detail }, fx);
    }
}

/// Whether some probe has no reading yet (its verdict would be unknown for want of one).
pub fn unread(s: &AppState) -> bool {
    s.steady.config.probes.iter().any(|p| s.steady.readings.get(&p.name).is_none_or(|r| r.is_empty()))
}

/// Once a second: readings of the probes derived from the backend, then the checks.
pub fn on_tick(s: &mut AppState, fx: &mut Vec<Effect>) {
    let derived: Vec<ProbeSpec> = s.steady.config.probes.iter().filter(|p| !p.kind.runs_io()).cloned().collect();
    for p in derived {
        let outcome = derive(s, &p);
        if outcome.reached {
            s.steady.answered.insert(p.name.clone());
        }
        push(s, outcome, fx);
    }
    evaluate(s, fx);
}

/// A reading of a probe the backend answers: traffic samples or ready replicas.
fn derive(s: &AppState, p: &ProbeSpec) -> Outcome {
    match &p.kind {
        ProbeKind::Service { service } => match s.health.get(service).and_then(|h| h.last.clone()) {
            Some(x) => Outcome {
                probe: p.name.clone(),
                ok: Some(s.health[service].state() == Health::Healthy),
                success: Some(x.success),
                latency_ms: Some(x.p95_ms),
                value: Some(x.rps),
                detail: format!("success {:.1}%, p95 {:.0} ms", x.success * 100.0, x.p95_ms),
                reached: true,
            },
            None => Outcome::unknown(&p.name, format!("no traffic samples for {service}")),
        },
        ProbeKind::Ready { workload } => {
            let w = workload.split_once('/').and_then(|(ns, name)| s.topology.workload(ns, name));
            match w {
                Some(w) => Outcome {
                    probe: p.name.clone(),
                    ok: Some(w.ready >= w.desired && w.desired > 0),
                    success: Some(if w.desired == 0 { 0.0 } else { w.ready as f64 / w.desired as f64 }),
                    latency_ms: None,
                    value: Some(w.ready as f64),
                    detail: format!("ready {}/{}", w.ready, w.desired),
                    reached: true,
                },
                None => Outcome::unknown(&p.name, format!("{workload} is not in the topology")),
            }
        }
        _ => Outcome::unknown(&p.name, "not a derived probe"),
    }
}

/// The verdict of one check over readings from `floor` on (the ring buffer made contiguous
/// when it wraps).
fn check_verdict(s: &AppState, c: &Check, floor: u64) -> Verdict {
    let now = s.now.t_ms;
    match s.steady.readings.get(&c.probe) {
        Some(r) if r.as_slices().1.is_empty() => c.verdict_from(r.as_slices().0, now, floor),
        Some(r) => {
            let all: Vec<Reading> = r.iter().cloned().collect();
            c.verdict_from(&all, now, floor)
        }
        None => c.verdict_from(&[], now, floor),
    }
}

/// The hypothesis now: broken if any check is, unknown if any cannot be judged, else holds.
pub fn hypothesis(s: &AppState) -> Verdict {
    hypothesis_from(s, 0)
}

/// The hypothesis over readings from `floor` on: after a revert, recovery is judged on what
/// came after it, not on a window still holding the fault's readings.
fn hypothesis_from(s: &AppState, floor: u64) -> Verdict {
    match &s.steady.config.hypothesis {
        Some(h) => checks_verdict(s, &h.checks, floor),
        None => default_hypothesis(s),
    }
}

/// The expectation of the live fault now, if it has checks.
pub fn expectation(s: &AppState) -> Option<Verdict> {
    s.steady.expectation.as_ref().map(|e| checks_verdict(s, &e.checks, 0))
}

/// Broken if any check is, unknown if any cannot be judged, else holds.
fn checks_verdict(s: &AppState, checks: &[Check], floor: u64) -> Verdict {
    let verdicts: Vec<Verdict> = checks.iter().map(|c| check_verdict(s, c, floor)).collect();
    let broken: Vec<String> = verdicts
        .iter()
        .zip(checks)
        .filter_map(|(v, c)| match v {
            Verdict::Broken { reading } => Some(format!("{reading}, wanted {}", c.threshold_text())),
            _ => None,
        })
        .collect();
    if !broken.is_empty() {
        return Verdict::Broken { reading: broken.join("; ") };
    }
    if let Some(Verdict::Unknown { why }) = verdicts.iter().find(|v| matches!(v, Verdict::Unknown { .. })) {
        return Verdict::Unknown { why: why.clone() };
    }
    let readings: Vec<String> = verdicts
        .iter()
        .filter_map(|v| match v {
            Verdict::Holds { reading } => Some(reading.clone()),
            _ => None,
        })
        .collect();
    Verdict::Holds { reading: readings.join(", ") }
}

/// "Every service answers", from the backend's own view: no service is down, and where traffic
/// is measured its requests succeed. A slower service, or one with a replica being replaced
/// while every request succeeds, still answers.
fn default_hypothesis(s: &AppState) -> Verdict {
    if s.health.is_empty() {
        return Verdict::Unknown { why: "no service health known yet".into() };
    }
    let failing: Vec<String> = s
        .health
        .iter()
        .filter_map(|(name, h)| {
            let failing = h.last.as_ref().is_some_and(|x| x.success < super::health::DEGRADED_SUCCESS);
            match h.state() {
                Health::Down => Some(format!("{name} down")),
                Health::Degraded if failing => {
                    let x = h.last.as_ref().map(|x| x.success * 100.0).unwrap_or(0.0);
                    Some(format!("{name} {x:.1}% of requests succeed"))
                }
                _ => None,
            }
        })
        .collect();
    if failing.is_empty() {
        Verdict::Holds { reading: format!("{} services answer", s.health.len()) }
    } else {
        Verdict::Broken { reading: failing.join(", ") }
    }
}

/// Why an inject should be confirmed again: the system is not in steady state.
pub fn unsteady(s: &AppState) -> Option<String> {
    match hypothesis(s) {
        Verdict::Broken { reading } => Some(reading),
        _ => None,
    }
}

/// The stop conditions that cannot be evaluated now (their probe has no reading): they would
/// protect nobody, so an inject asks first. Each as "<check> (<why>)".
pub fn blind_stops(s: &AppState) -> Vec<String> {
    s.steady
        .config
        .stops
        .iter()
        .filter_map(|stop| match check_verdict(s, &stop.check, 0) {
            Verdict::Unknown { why } => Some(format!("{} ({why})", stop.check)),
            _ => None,
        })
        .collect()
}

/// A fault was requested: the hypothesis is checked and recorded, and this fault followed.
pub fn before_inject(s: &mut AppState, fault: u64, fx: &mut Vec<Effect>) {
    let (verdict, detail) = match hypothesis(s) {
        Verdict::Holds { reading } => ("holds", reading),
        Verdict::Broken { reading } => ("broken", reading),
        Verdict::Unknown { why } => ("unknown", why),
    };
    s.record(EntryKind::SteadyStateBefore { fault, verdict: verdict.into(), detail }, fx);
    s.steady.track = Some(Track { fault, ..Default::default() });
    s.steady.breached_since.iter_mut().for_each(|b| *b = None);
}

/// The fault is in the system.
pub fn on_active(s: &mut AppState, fault: u64) {
    if let Some(t) = s.steady.track.as_mut().filter(|t| t.fault == fault) {
        t.active_ms = Some(s.now.t_ms);
    }
}

/// The fault's revert is confirmed: recovery is timed from now.
pub fn on_reverted(s: &mut AppState, fault: u64) {
    if let Some(t) = s.steady.track.as_mut().filter(|t| t.fault == fault) {
        t.reverted_ms = Some(s.now.t_ms);
    }
}

/// The checks, after every reading: time to detect, stop conditions, time to recover.
fn evaluate(s: &mut AppState, fx: &mut Vec<Effect>) {
    let now = s.now.t_ms;
    let live = match &s.fault {
        FaultPhase::Active { fault } => Some(fault.id),
        _ => None,
    };
    let Some(track) = s.steady.track.clone() else {
        return;
    };
    // While the fault is live, the checks' own windows; after the revert, recovery is the
    // first time every check holds on the latest readings (taken after the revert).
    let floor = match track.reverted_ms {
        Some(reverted) => {
            let latest = s.steady.config.probes.iter().map(|p| p.interval_ms).max().unwrap_or(1000) + 500;
            reverted.max(now.saturating_sub(latest))
        }
        None => 0,
    };
    let verdict = hypothesis_from(s, floor);
    if live == Some(track.fault) {
        let since = |t: u64| now - track.active_ms.unwrap_or(t);
        match (&verdict, track.detected_ms, track.held_again_ms) {
            (Verdict::Broken { reading }, None, _) if track.active_ms.is_some() => {
                let detail = reading.clone();
                s.record(EntryKind::HypothesisBroken { fault: track.fault, after_ms: since(now), detail }, fx);
                if let Some(t) = s.steady.track.as_mut() {
                    t.detected_ms = Some(now);
                }
            }
            // Broken, then whole again with the fault still on (a drained node's pods moved).
            (Verdict::Holds { .. }, Some(_), None) => {
                s.record(EntryKind::SteadyStateHeldAgain { fault: track.fault, after_ms: since(now) }, fx);
                if let Some(t) = s.steady.track.as_mut() {
                    t.held_again_ms = Some(now);
                }
            }
            _ => {}
        }
        if let (Some(Verdict::Broken { reading }), None, Some(active)) =
            (expectation(s), track.expectation_broken_ms, track.active_ms)
        {
            s.record(EntryKind::ExpectationBroken { fault: track.fault, after_ms: now - active, detail: reading }, fx);
            if let Some(t) = s.steady.track.as_mut() {
                t.expectation_broken_ms = Some(now);
            }
        }
        stop_conditions(s, track.fault, fx);
    } else if let (Some(reverted), None, Some(_), true) =
        (track.reverted_ms, track.recovered_ms, track.detected_ms, verdict.holds())
    {
        // Recovered: only from something broken.
        s.record(EntryKind::SteadyStateRecovered { fault: track.fault, after_ms: now - reverted }, fx);
        if let Some(t) = s.steady.track.as_mut() {
            t.recovered_ms = Some(now);
        }
    }
}

/// A stop condition breached for its hold time (no reading since holding it) aborts the live
/// fault, once. A probe that cannot be read at all never starts a breach.
fn stop_conditions(s: &mut AppState, fault: u64, fx: &mut Vec<Effect>) {
    let now = s.now.t_ms;
    let stops = s.steady.config.stops.clone();
    for (i, stop) in stops.iter().enumerate() {
        let reading = match check_verdict(s, &stop.check, 0) {
            Verdict::Broken { reading } => reading,
            Verdict::Holds { .. } => {
                s.steady.breached_since[i] = None;
                continue;
            }
            // No reading in the window (a late probe): the breach goes on until one holds.
            Verdict::Unknown { .. } => continue,
        };
        let since = *s.steady.breached_since[i].get_or_insert(now);
        if now - since < stop.hold_ms {
            continue;
        }
        s.record(
            EntryKind::StopCondition {
                fault,
                check: stop.check.to_string(),
                reading: reading.clone(),
                threshold: stop.check.threshold_text(),
                held_ms: now - since,
            },
            fx,
        );
        s.steady.breached_since.iter_mut().for_each(|b| *b = None);
        fault::abort(s, &format!("stop condition: {reading}"), fx);
        s.say(
            Level::Error,
            format!("STOP CONDITION: {reading} (wanted {}): fault #{fault} aborted", stop.check.threshold_text()),
        );
        return;
    }
}
