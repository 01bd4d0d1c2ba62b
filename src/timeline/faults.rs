//! What the journal says each fault did: when it was requested, applied and ended, how its
//! revert went, what was expected of it (written before), what it did to the services, and how
//! the session's steady state fared. Data only: the report, the JSON export, the run-sheet's
//! verdicts and the console read it; nothing here writes Markdown.

use std::collections::BTreeMap;

use super::entry::{seconds, EndReason, Entry, EntryKind, Health};
use crate::model::{StepVerdict, Tally};

/// One fault as the journal tells it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FaultSummary {
    pub id: u64,
    pub preset: String,
    pub target: String,
    pub params: String,
    pub blast_radius: String,
    /// What was expected of it, written before: its run-sheet step's hypothesis, or the preset's.
    pub hypothesis: String,
    /// The run-sheet step it was the fault of (number, name) and that step's checks.
    pub step: Option<(usize, String)>,
    pub checks: Vec<String>,
    /// When its expectation's checks broke (since the inject), and what they read.
    pub expectation_broken: Option<(u64, String)>,
    pub requested_ms: u64,
    pub injected_ms: Option<u64>,
    pub ending: Option<(u64, EndReason)>,
    pub reverted_ms: Option<u64>,
    pub revert_failures: u32,
    pub gave_up: bool,
    pub inject_error: Option<String>,
    /// Aborted while being prepared: nothing was applied.
    pub cancelled: bool,
    /// Prepared but never applied, and why.
    pub not_applied: Option<String>,
    /// Ended without a revert of its console's: when it was found, and how ("the console was
    /// killed; ...").
    pub closed: Option<(u64, String)>,
    /// Where this fault's observation window ends (next fault, the session's end, or the moment
    /// its console was lost: nothing was watched after that).
    pub window_end_ms: u64,
    /// The console was lost while this fault was live or being watched (its last entry then).
    pub lost_ms: Option<u64>,
}

/// The verdict on a fault's expectation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expectation {
    /// Its checks held while it was live.
    Held,
    /// Its checks broke, this long after the inject, reading this.
    Broken { after_ms: u64, reading: String },
    /// No check was written for it: the words are for people to judge.
    NotJudged,
}

impl Expectation {
    pub fn word(&self) -> &'static str {
        match self {
            Expectation::Held => "held",
            Expectation::Broken { .. } => "broken",
            Expectation::NotJudged => "not judged",
        }
    }
}

impl FaultSummary {
    /// Whether anything of it was ever in the system.
    pub fn applied(&self) -> bool {
        self.injected_ms.is_some() || (self.ending.is_some() && !self.cancelled && self.not_applied.is_none())
    }

    /// The verdict on what was expected of it.
    pub fn expectation(&self) -> Expectation {
        match (&self.expectation_broken, self.checks.is_empty()) {
            (Some((after_ms, reading)), _) => Expectation::Broken { after_ms: *after_ms, reading: reading.clone() },
            (None, true) => Expectation::NotJudged,
            (None, false) if self.injected_ms.is_some() => Expectation::Held,
            (None, false) => Expectation::NotJudged,
        }
    }

    /// From the abort (or the end of its duration) to the confirmed revert, in milliseconds.
    pub fn revert_ms(&self) -> Option<u64> {
        let ended = self.ending.as_ref().map(|e| e.0)?;
        Some(self.reverted_ms?.saturating_sub(ended))
    }

    pub fn outcome(&self) -> String {
        if let Some(why) = &self.not_applied {
            return format!("never applied: {why}");
        }
        if let Some((_, how)) = &self.closed {
            return how.clone();
        }
        match (&self.ending, &self.inject_error, self.cancelled) {
            (Some((_, EndReason::Aborted { by })), _, true) => {
                return format!("aborted ({by}) before anything was applied")
            }
            (None, Some(e), _) => return format!("not injected: {e}"),
            (Some(_), Some(e), _) if self.reverted_ms.is_some() => return format!("inject failed ({e}); reverted"),
            _ => {}
        }
        let retried = match self.revert_failures {
            0 => String::new(),
            1 => "; revert confirmed after 1 failed attempt".into(),
            n => format!("; revert confirmed after {n} failed attempts"),
        };
        match (&self.ending, self.reverted_ms) {
            (_, None) if self.gave_up || self.revert_failures > 0 => "revert failed".into(),
            (Some((_, EndReason::Expired)), Some(_)) => format!("expired{retried}"),
            (Some((_, EndReason::Aborted { by })), Some(_)) => format!("aborted ({by}){retried}"),
            (Some((_, EndReason::InjectFailed)), Some(_)) => format!("inject failed, reverted{retried}"),
            (Some((_, EndReason::Lapsed { why })), Some(_)) => {
                format!("no longer in effect before its end ({why}){retried}")
            }
            (Some((_, EndReason::Finished { how })), Some(_)) => format!("finished by itself: {how}{retried}"),
            (None, _) => "still active at session end".into(),
            (Some(_), None) => "revert not confirmed".into(),
        }
    }
}

/// A service's health changes inside one fault's window.
#[derive(Clone, Debug, PartialEq)]
pub struct Impact {
    pub service: String,
    pub changes: Vec<(u64, Health)>,
    pub worst: Health,
    /// What was read when it got to its worst ("success 71.5%, p95 1014 ms").
    pub worst_reading: Option<String>,
    pub end_state: Health,
}

pub fn faults(entries: &[Entry]) -> Vec<FaultSummary> {
    let end_ms = entries.last().map(|e| e.t_ms).unwrap_or(0);
    let mut out: Vec<FaultSummary> = Vec::new();
    // Where each fault is in `out` (the first of its number).
    let mut at: BTreeMap<u64, usize> = BTreeMap::new();
    // The run-sheet step under way (its number, name, hypothesis and checks).
    let mut step: Option<(usize, String, String, Vec<String>)> = None;
    for e in entries {
        match &e.kind {
            EntryKind::StepStarted { step: n, name, hypothesis, checks, .. } => {
                step = Some((*n, name.clone(), hypothesis.clone(), checks.clone()))
            }
            EntryKind::StepOutcome { .. } => step = None,
            _ => {}
        }
        let Some(id) = e.kind.fault() else { continue };
        if let EntryKind::InjectRequested { preset, target, params, blast_radius, hypothesis, .. } = &e.kind {
            at.entry(id).or_insert(out.len());
            out.push(FaultSummary {
                id,
                preset: preset.clone(),
                target: target.to_string(),
                params: params.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", "),
                blast_radius: blast_radius.clone(),
                // The step's own words win over the preset's default (older journals).
                hypothesis: match &step {
                    Some((_, _, written, _)) if !written.is_empty() => written.clone(),
                    _ => hypothesis.clone(),
                },
                step: step.as_ref().map(|(n, name, _, _)| (*n, name.clone())),
                checks: step.as_ref().map(|s| s.3.clone()).unwrap_or_default(),
                requested_ms: e.t_ms,
                ..Default::default()
            });
            continue;
        }
        let Some(f) = at.get(&id).and_then(|i| out.get_mut(*i)) else {
            continue;
        };
        match &e.kind {
            EntryKind::InjectConfirmed { .. } => f.injected_ms = Some(e.t_ms),
            EntryKind::InjectFailed { error, .. } => f.inject_error = Some(error.clone()),
            EntryKind::InjectCancelled { .. } => f.cancelled = true,
            EntryKind::InjectNotApplied { reason, .. } => f.not_applied = Some(reason.clone()),
            EntryKind::FaultClosed { how, .. } => f.closed = Some((e.t_ms, how.clone())),
            EntryKind::FaultEnding { reason, .. } if f.ending.is_none() => f.ending = Some((e.t_ms, reason.clone())),
            EntryKind::RevertConfirmed { .. } => f.reverted_ms = Some(e.t_ms),
            EntryKind::ExpectationBroken { after_ms, detail, .. } if f.expectation_broken.is_none() => {
                f.expectation_broken = Some((*after_ms, detail.clone()))
            }
            EntryKind::RevertFailed { retrying, .. } => {
                f.revert_failures += 1;
                f.gave_up |= !retrying;
            }
            _ => {}
        }
    }
    let starts: Vec<u64> = out.iter().map(|f| f.requested_ms).collect();
    let gaps = unwatched(entries);
    for (i, f) in out.iter_mut().enumerate() {
        f.window_end_ms = starts.get(i + 1).copied().unwrap_or(end_ms);
        if let Some((lost, _)) = gaps.iter().find(|(from, _)| *from >= f.requested_ms && *from < f.window_end_ms) {
            f.window_end_ms = *lost;
            f.lost_ms = Some(*lost);
        }
    }
    out
}

/// The stretches nobody watched: from a lost console's last entry to the next console's resume
/// of the session (or the end of the journal).
pub fn unwatched(entries: &[Entry]) -> Vec<(u64, u64)> {
    let end_ms = entries.last().map(|e| e.t_ms).unwrap_or(0);
    let mut out: Vec<(u64, u64)> = Vec::new();
    let mut open: Option<u64> = None;
    for e in entries {
        match &e.kind {
            EntryKind::ConsoleLost { last_ms, .. } => open = Some(*last_ms),
            EntryKind::SessionResumed { .. } => {
                if let Some(from) = open.take() {
                    out.push((from, e.t_ms));
                }
            }
            _ => {}
        }
    }
    out.extend(open.map(|from| (from, end_ms)));
    out
}

/// Services whose health changed between the fault's request and the end of its window.
pub fn impact(entries: &[Entry], f: &FaultSummary) -> Vec<Impact> {
    impact_of(entries.iter().filter(|e| e.t_ms >= f.requested_ms && e.t_ms <= f.window_end_ms))
}

fn impact_of<'a>(window: impl Iterator<Item = &'a Entry>) -> Vec<Impact> {
    let mut by: BTreeMap<String, Impact> = BTreeMap::new();
    for e in window {
        if let EntryKind::HealthChanged { service, to, reading, .. } = &e.kind {
            let i = by.entry(service.clone()).or_insert_with(|| Impact {
                service: service.clone(),
                changes: Vec::new(),
                worst: Health::Healthy,
                worst_reading: None,
                end_state: *to,
            });
            i.changes.push((e.t_ms, *to));
            i.end_state = *to;
            if to.severity() > i.worst.severity() {
                i.worst = *to;
                i.worst_reading = Some(reading.clone());
            }
        }
    }
    by.into_values().collect()
}

/// A journal's entries sorted out once, so that what every fault did is read in time linear in
/// the journal (a report of thousands of faults): each fault's own entries, and the changes of
/// health in time order.
pub struct Index<'a> {
    about: BTreeMap<u64, Vec<&'a Entry>>,
    health: Vec<&'a Entry>,
    /// Whether the changes of health are in time order (a journal's are; one pieced together
    /// by hand may not be, and is then read in full).
    sorted: bool,
}

impl<'a> Index<'a> {
    pub fn new(entries: &'a [Entry]) -> Index<'a> {
        let mut about: BTreeMap<u64, Vec<&'a Entry>> = BTreeMap::new();
        let mut health = Vec::new();
        for e in entries {
            if let Some(f) = e.kind.fault() {
                about.entry(f).or_default().push(e);
            }
            if matches!(e.kind, EntryKind::HealthChanged { .. }) {
                health.push(e);
            }
        }
        let sorted = health.windows(2).all(|w| w[0].t_ms <= w[1].t_ms);
        Index { about, health, sorted }
    }

    /// The entries about fault `fault`, in journal order.
    pub fn about(&self, fault: u64) -> &[&'a Entry] {
        self.about.get(&fault).map(Vec::as_slice).unwrap_or_default()
    }

    pub fn steady_verdict(&self, fault: u64) -> SteadyVerdict {
        steady_verdict_of(self.about(fault).iter().copied())
    }

    pub fn impact(&self, f: &FaultSummary) -> Vec<Impact> {
        let within = |e: &&&Entry| e.t_ms >= f.requested_ms && e.t_ms <= f.window_end_ms;
        if !self.sorted {
            return impact_of(self.health.iter().filter(within).copied());
        }
        let from = self.health.partition_point(|e| e.t_ms < f.requested_ms);
        impact_of(self.health[from..].iter().take_while(within).copied())
    }
}

/// How the services a fault touched came back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Recovery {
    /// No service changed health while the fault was on.
    NoImpact,
    /// Every impacted service was healthy again before the revert, at this time.
    BeforeRevert { at_ms: u64 },
    /// Every impacted service was healthy this long after the confirmed revert.
    AfterRevert { ms: u64 },
    /// Some service was still not healthy when the window closed.
    NotRecovered { by_ms: u64 },
    /// The revert was never confirmed.
    NotReverted,
    /// Nothing was applied, or it ended without anyone watching (its console and cluster died).
    Unobserved,
}

pub fn recovery(f: &FaultSummary, impacts: &[Impact]) -> Recovery {
    if f.not_applied.is_some() || f.closed.is_some() {
        return Recovery::Unobserved;
    }
    let Some(reverted) = f.reverted_ms else {
        return Recovery::NotReverted;
    };
    if impacts.is_empty() {
        return Recovery::NoImpact;
    }
    if impacts.iter().any(|i| i.end_state != Health::Healthy) {
        return Recovery::NotRecovered { by_ms: f.window_end_ms };
    }
    let last = impacts.iter().filter_map(|i| i.changes.last().map(|c| c.0)).max().unwrap_or(reverted);
    if last <= reverted {
        Recovery::BeforeRevert { at_ms: last }
    } else {
        Recovery::AfterRevert { ms: last - reverted }
    }
}

/// The first service to get worse after the inject was confirmed, and when.
pub fn first_impact(f: &FaultSummary, impacts: &[Impact]) -> Option<(u64, String)> {
    let from = f.injected_ms?;
    impacts
        .iter()
        .flat_map(|i| {
            i.changes.iter().filter(move |(t, h)| *t >= from && *h != Health::Healthy).map(move |(t, _)| (*t, i))
        })
        .min_by_key(|(t, _)| *t)
        .map(|(t, i)| (t - from, i.service.clone()))
}

/// What a fault did to the services, in one line: which changed, how far and for how long.
pub fn observed(impacts: &[Impact], end_ms: u64) -> String {
    let hit: Vec<String> = impacts
        .iter()
        .filter(|i| i.worst != Health::Healthy)
        .map(|i| {
            let mut unwell_ms = 0;
            let mut since: Option<u64> = None;
            for (t, h) in &i.changes {
                match (since, *h == Health::Healthy) {
                    (None, false) => since = Some(*t),
                    (Some(from), true) => {
                        unwell_ms += t - from;
                        since = None;
                    }
                    _ => {}
                }
            }
            if let Some(from) = since {
                unwell_ms += end_ms.saturating_sub(from);
            }
            // The reading when it turned its worst (its peak is in the charts).
            let worst =
                i.worst_reading.as_deref().map(|r| format!(" ({r} when it turned {})", i.worst)).unwrap_or_default();
            format!("{} {} for {}{worst}", i.service, i.worst, seconds(unwell_ms))
        })
        .collect();
    if hit.is_empty() {
        "no service changed health".into()
    } else {
        hit.join("; ")
    }
}

/// What the hypothesis said about one fault: before, during (time to detect, stop condition)
/// and after (time to recover).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SteadyVerdict {
    pub before: Option<(String, String)>,
    pub detected_ms: Option<u64>,
    pub stop: Option<String>,
    /// It held again while the fault was still live (since the inject).
    pub held_again_ms: Option<u64>,
    pub recovered_ms: Option<u64>,
}

impl SteadyVerdict {
    /// Broken while the fault was live (a check, or a stop condition).
    pub fn broken(&self) -> bool {
        self.detected_ms.is_some() || self.stop.is_some()
    }

    /// held (never broken while the fault was live), broken, or unknown (never judged).
    pub fn verdict(&self) -> &'static str {
        match (&self.before, self.detected_ms.is_some() || self.stop.is_some()) {
            (_, true) => "broken",
            (Some((v, _)), false) if v == "unknown" => "unknown",
            (Some(_), false) => "held",
            (None, false) => "unknown",
        }
    }
}

pub fn steady_verdict(entries: &[Entry], fault: u64) -> SteadyVerdict {
    steady_verdict_of(entries.iter().filter(|e| e.kind.fault() == Some(fault)))
}

fn steady_verdict_of<'a>(about: impl Iterator<Item = &'a Entry>) -> SteadyVerdict {
    let mut v = SteadyVerdict::default();
    for e in about {
        match &e.kind {
            EntryKind::SteadyStateBefore { verdict, detail, .. } => v.before = Some((verdict.clone(), detail.clone())),
            EntryKind::HypothesisBroken { after_ms, .. } => v.detected_ms = v.detected_ms.or(Some(*after_ms)),
            EntryKind::StopCondition { reading, threshold, held_ms, .. } => {
                v.stop = Some(format!("{reading}, wanted {threshold}, for {}", super::entry::seconds(*held_ms)))
            }
            EntryKind::SteadyStateRecovered { after_ms, .. } => v.recovered_ms = Some(*after_ms),
            EntryKind::SteadyStateHeldAgain { after_ms, .. } => v.held_again_ms = Some(*after_ms),
            _ => {}
        }
    }
    v
}

/// Per step of the run-sheet: the hypothesis written before the run against what happened.
/// Each run-sheet step's verdict (its last outcome), by step number.
pub fn step_verdicts(entries: &[Entry]) -> BTreeMap<usize, StepVerdict> {
    entries
        .iter()
        .filter_map(|e| match &e.kind {
            EntryKind::StepOutcome { step, verdict, .. } => Some((*step, *verdict)),
            _ => None,
        })
        .collect()
}

/// How many steps got each verdict (each step's last outcome): the one count the report, its
/// JSON, the CI log and the session list all use.
pub fn step_tally(entries: &[Entry]) -> Tally {
    Tally::of(step_verdicts(entries).into_values())
}

/// How many steps the run-sheet has (the last one loaded), if one was loaded.
pub fn planned_steps(entries: &[Entry]) -> Option<usize> {
    entries.iter().rev().find_map(|e| match &e.kind {
        EntryKind::PlanLoaded { steps, .. } => Some(*steps),
        _ => None,
    })
}
