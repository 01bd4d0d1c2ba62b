//! The run-sheet walked step by step: each step's hypothesis and stop conditions are set, the
//! console waits for steady state (at most `WAIT_STEADY_MS`), injects the step's fault (one at a
//! time, through the same lifecycle as any inject), watches it and the recovery after the
//! revert, then records the outcome: held, broken, or failed. Pure: a facilitator's sheet moves
//! on ticks, a sheet walked by itself after every event (`pace`).
//!
//! `auto` walks the whole sheet by itself (the headless `gameday run`) and quits at the end.

use super::event::Effect;
use super::fault::{self, FaultPhase};
use super::state::{AppState, Level};
use super::steady::{self, Hypothesis};
use crate::config::runsheet::RunSheet;
use crate::config::session_file::Stop;
use crate::model::StepVerdict;
use crate::timeline::{faults, EntryKind};

/// How long a step waits for steady state before it injects anyway (recorded as not steady).
pub const WAIT_STEADY_MS: u64 = 30_000;

#[derive(Clone, Debug, PartialEq)]
pub enum Phase {
    /// Step `next` (0-based) is the next to start.
    Ready {
        next: usize,
    },
    Waiting {
        step: usize,
        since_ms: u64,
    },
    Running {
        step: usize,
        fault: u64,
    },
    Observing {
        step: usize,
        fault: u64,
        until_ms: u64,
    },
    /// Walked by a facilitator: the step is over, its outcome is theirs to record (`:outcome`);
    /// `suggested` is what the checks say.
    Outcome {
        step: usize,
        fault: u64,
        suggested: StepVerdict,
    },
    Done,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Sheet {
    pub plan: RunSheet,
    pub auto: bool,
    pub phase: Phase,
    /// Set once the steps' targets were checked against the first picture of the cluster.
    pub targets_checked: bool,
    /// The session's own stop conditions, which every step adds to.
    base: Vec<Stop>,
}

/// Takes the run-sheet: its probes start, and the session records who, where and how many steps.
pub fn load(s: &mut AppState, plan: RunSheet, auto: bool) -> Vec<Effect> {
    let mut fx = steady::configure(s, plan.steady.clone());
    let participants = plan.participants.iter().map(|p| (p.name.clone(), p.role.clone())).collect();
    s.record(
        EntryKind::PlanLoaded {
            title: plan.title.clone(),
            facilitator: plan.facilitator.clone(),
            environment: plan.environment.clone(),
            participants,
            steps: plan.steps.len(),
        },
        &mut fx,
    );
    let base = plan.steady.stops.clone();
    // A resumed session goes on after the last step it finished.
    let next = s
        .timeline
        .iter()
        .filter_map(|e| match &e.kind {
            EntryKind::StepOutcome { step, .. } => Some(*step),
            _ => None,
        })
        .max()
        .unwrap_or(0);
    s.runsheet = Some(Sheet { plan, auto, phase: Phase::Ready { next }, base, targets_checked: false });
    // Checked now if the cluster's picture is in, else when it comes.
    if s.pictured {
        check_targets(s, &mut fx);
    }
    fx
}

/// The first picture of the cluster is in: every step still to run must name a target that is
/// there. A target that is not is a mistake in the file, said with its place (file:line); a
/// run without a screen stops before anything is injected.
pub fn check_targets(s: &mut AppState, fx: &mut Vec<Effect>) {
    let Some(sheet) = s.runsheet.as_ref().filter(|r| !r.targets_checked) else { return };
    let from = match sheet.phase {
        Phase::Ready { next } => next,
        _ => 0,
    };
    let problems: Vec<String> = sheet.plan.steps[from.min(sheet.plan.steps.len())..]
        .iter()
        .filter_map(|step| {
            super::update::target_problem(s, &step.target).map(|p| format!("{}: step '{}': {p}", step.at, step.name))
        })
        .collect();
    let auto = sheet.auto;
    if let Some(r) = s.runsheet.as_mut() {
        r.targets_checked = true;
    }
    if problems.is_empty() {
        return;
    }
    for p in &problems {
        s.record(EntryKind::Console { message: format!("run-sheet: {p}"), warning: true }, fx);
    }
    s.say(Level::Error, format!("run-sheet: {}", problems.join("; ")));
    if auto {
        set_phase(s, Phase::Done);
        fault::quit(s, "the run-sheet names targets that are not in the cluster; nothing was injected", fx);
    }
}

/// Once a second: moves the sheet on.
pub fn on_tick(s: &mut AppState, fx: &mut Vec<Effect>) {
    let Some(sheet) = s.runsheet.clone() else { return };
    if !sheet.targets_checked {
        return; // the cluster's picture is not in yet
    }
    let now = s.now.t_ms;
    match sheet.phase {
        Phase::Ready { next } if !sheet.auto => {
            let _ = next;
        }
        Phase::Ready { next } if next >= sheet.plan.steps.len() => finish(s, fx),
        Phase::Ready { next } => start(s, &sheet, next, fx),
        Phase::Waiting { step, .. } if !sheet.auto => {
            // The facilitator's confirmation of the step's fault was pressed.
            if let Some(fault) = s.fault.live().map(|f| f.id) {
                set_phase(s, Phase::Running { step, fault });
            }
        }
        Phase::Waiting { step, since_ms } => {
            let idle = matches!(s.fault, FaultPhase::Idle) && s.quitting.is_none();
            let waited = now - since_ms >= WAIT_STEADY_MS;
            // Steady state is judged on readings: the probes derived from the picture are read
            // now; one that reaches out is waited for (its reading is an event).
            if steady::unread(s) {
                steady::on_tick(s, fx);
            }
            if idle && ((!steady::unread(s) && steady::unsteady(s).is_none()) || waited) {
                inject(s, &sheet, step, fx);
            }
        }
        Phase::Running { step, fault } => {
            if matches!(s.fault, FaultPhase::Idle) {
                let until_ms = now + sheet.plan.steps[step].observe_ms;
                set_phase(s, Phase::Observing { step, fault, until_ms });
            }
        }
        Phase::Observing { step, fault, until_ms } => {
            let recovered = s.steady.track.as_ref().is_some_and(|t| t.fault == fault && t.recovered_ms.is_some());
            if (now >= until_ms || recovered) && sheet.auto {
                conclude(s, &sheet, step, fault, fx);
            } else if now >= until_ms || recovered {
                let suggested = checks_say(s, &sheet.plan.steps[step], fault);
                let n = step + 1;
                s.say(
                    Level::Warning,
                    format!("step {n}: record the outcome: :outcome held|broken|partial [note] (the checks say {suggested})"),
                );
                set_phase(s, Phase::Outcome { step, fault, suggested });
            }
        }
        Phase::Outcome { .. } | Phase::Done => {}
    }
}

/// A sheet walked by itself (`auto`): whatever is due now is done now (a window that is over
/// is reverted), and the sheet moves on as far as it can, so that a step ends as soon as its
/// window and its observation end and its checks are judged. Called after every event.
pub fn pace(s: &mut AppState, fx: &mut Vec<Effect>) {
    fault::on_tick(s, fx);
    fault::on_quit_deadline(s, fx);
    // Each pass moves at most one phase on; a step has a handful of phases.
    let passes = s.runsheet.as_ref().map_or(0, |r| 4 * r.plan.steps.len() + 4);
    for _ in 0..passes {
        let before = s.runsheet.as_ref().map(|r| r.phase.clone());
        on_tick(s, fx);
        if s.exited || s.runsheet.as_ref().map(|r| &r.phase) == before.as_ref() {
            break;
        }
    }
}

fn set_phase(s: &mut AppState, phase: Phase) {
    if let Some(sheet) = s.runsheet.as_mut() {
        sheet.phase = phase;
    }
}

fn start(s: &mut AppState, sheet: &Sheet, i: usize, fx: &mut Vec<Effect>) {
    let step = &sheet.plan.steps[i];
    // The step's checks are its fault's expectation, judged apart from the session's steady
    // state; its stop conditions add to the session's.
    let expectation = Hypothesis { name: step.name.clone(), checks: step.checks.clone() };
    let stops = sheet.base.iter().chain(&step.stops).cloned().collect();
    s.record(
        EntryKind::StepStarted {
            step: i + 1,
            name: step.name.clone(),
            preset: step.preset.clone(),
            target: step.target.clone(),
            hypothesis: step.hypothesis.clone(),
            expected_alerts: step.expected_alerts.clone(),
            checks: step.checks.iter().map(|c| c.to_string()).collect(),
        },
        fx,
    );
    steady::set_expectation(s, Some(expectation));
    steady::set_stops(s, stops, fx);
    s.say(Level::Info, format!("step {}: {}", i + 1, step.name));
    set_phase(s, Phase::Waiting { step: i, since_ms: s.now.t_ms });
}

fn inject(s: &mut AppState, sheet: &Sheet, i: usize, fx: &mut Vec<Effect>) {
    let step = &sheet.plan.steps[i];
    match step_plan(s, step) {
        Ok(p) => {
            fault::inject(s, p, fx);
            match s.fault.live().map(|f| f.id) {
                Some(fault) => set_phase(s, Phase::Running { step: i, fault }),
                None => {
                    outcome(s, i, step.name.clone(), None, StepVerdict::Failed, "the inject was refused".into(), fx)
                }
            }
        }
        Err(e) => outcome(s, i, step.name.clone(), None, StepVerdict::Failed, e, fx),
    }
}

fn conclude(s: &mut AppState, sheet: &Sheet, i: usize, fault: u64, fx: &mut Vec<Effect>) {
    let v = faults::steady_verdict(&s.timeline, fault);
    let failed = s.timeline.iter().any(|e| matches!(&e.kind, EntryKind::InjectFailed { fault: f, .. } if *f == fault));
    let seconds = crate::timeline::entry::seconds;
    let mut detail = Vec::new();
    if !sheet.plan.steps[i].checks.is_empty() {
        let broke = s.timeline.iter().find_map(|e| match &e.kind {
            EntryKind::ExpectationBroken { fault: f, after_ms, .. } if *f == fault => Some(*after_ms),
            _ => None,
        });
        detail.push(match broke {
            Some(ms) => format!("expectation broken {} after the inject", seconds(ms)),
            None => "expectation held".into(),
        });
    }
    let mut steady = Vec::new();
    if let Some((word, _)) = &v.before {
        steady.push(format!("before: {word}"));
    }
    match v.detected_ms {
        Some(ms) => steady.push(format!("broken {} after the inject", seconds(ms))),
        None => steady.push("never broken".into()),
    }
    if let Some(stop) = &v.stop {
        steady.push(format!("stop condition: {stop}"));
    }
    match (v.held_again_ms, v.recovered_ms) {
        (Some(ms), _) => steady.push(format!("held again {} after the inject, before the revert", seconds(ms))),
        (None, Some(ms)) if v.broken() => steady.push(format!("recovered {} after the revert", seconds(ms))),
        (None, None) if v.broken() => steady.push("not recovered".into()),
        _ => {}
    }
    detail.push(format!("steady state {}", steady.join(", ")));
    let verdict = if failed { StepVerdict::Failed } else { checks_say(s, &sheet.plan.steps[i], fault) };
    outcome(s, i, sheet.plan.steps[i].name.clone(), Some(fault), verdict, detail.join("; "), fx);
}

fn outcome(
    s: &mut AppState,
    i: usize,
    name: String,
    fault: Option<u64>,
    verdict: StepVerdict,
    detail: String,
    fx: &mut Vec<Effect>,
) {
    s.record(EntryKind::StepOutcome { step: i + 1, name, fault, verdict, detail }, fx);
    let base = s.runsheet.as_ref().map(|r| r.base.clone()).unwrap_or_default();
    steady::set_expectation(s, None);
    steady::set_stops(s, base, fx);
    set_phase(s, Phase::Ready { next: i + 1 });
}

fn finish(s: &mut AppState, fx: &mut Vec<Effect>) {
    set_phase(s, Phase::Done);
    let broken = s
        .timeline
        .iter()
        .filter(|e| matches!(&e.kind, EntryKind::StepOutcome { verdict, .. } if *verdict != StepVerdict::Held))
        .count();
    s.say(Level::Info, format!("run-sheet finished: {broken} step(s) not held"));
    if s.runsheet.as_ref().is_some_and(|r| r.auto) {
        fault::quit(s, "run-sheet finished", fx);
    }
}

/// `:next`: the facilitator starts the next step; its fault waits in the confirmation.
pub fn next(s: &mut AppState, fx: &mut Vec<Effect>) {
    let Some(sheet) = s.runsheet.clone() else {
        return s.say(Level::Error, "no run-sheet: start the console with --plan <file>");
    };
    let i = match sheet.phase {
        Phase::Ready { next } if next < sheet.plan.steps.len() => next,
        Phase::Ready { .. } | Phase::Done => {
            return s.say(Level::Info, "every step is done: :export writes the report")
        }
        // The confirmation was cancelled: show it again.
        Phase::Waiting { step, .. } if matches!(s.fault, FaultPhase::Idle) => return arm(s, &sheet, step, fx),
        Phase::Outcome { step, .. } => {
            return s.say(Level::Error, format!("step {} first: :outcome held|broken|partial [note]", step + 1))
        }
        _ => return s.say(Level::Error, "this step's fault is still on: one fault at a time"),
    };
    start(s, &sheet, i, fx);
    arm(s, &sheet, i, fx);
}

fn arm(s: &mut AppState, sheet: &Sheet, i: usize, fx: &mut Vec<Effect>) {
    let step = &sheet.plan.steps[i];
    match step_plan(s, step) {
        Ok(p) => fault::arm(s, p, fx),
        Err(e) => outcome(s, i, step.name.clone(), None, StepVerdict::Failed, e, fx),
    }
}

/// A step's fault, with the expectation the step wrote (not the preset's default).
pub(super) fn step_plan(s: &AppState, step: &crate::config::runsheet::Step) -> Result<super::fault::FaultPlan, String> {
    let mut p = super::update::plan(s, &step.preset, &step.target, &step.params)?;
    if !step.hypothesis.is_empty() {
        p.hypothesis = step.hypothesis.clone();
    }
    Ok(p)
}

/// How a step's fault went by the checks: its expectation's when the step wrote checks, else
/// the session's steady state.
fn checks_say(s: &AppState, step: &crate::config::runsheet::Step, fault: u64) -> StepVerdict {
    let broken = if step.checks.is_empty() {
        faults::steady_verdict(&s.timeline, fault).verdict() == "broken"
    } else {
        s.timeline.iter().any(|e| matches!(&e.kind, EntryKind::ExpectationBroken { fault: f, .. } if *f == fault))
    };
    if broken {
        StepVerdict::Broken
    } else {
        StepVerdict::Held
    }
}

/// `:outcome held|broken|partial [note]`: the facilitator's verdict on the step just run.
pub fn record_outcome(s: &mut AppState, verdict: &str, note: &str, fx: &mut Vec<Effect>) {
    let Some(sheet) = s.runsheet.clone() else {
        return s.say(Level::Error, "no run-sheet: start the console with --plan <file>");
    };
    let Phase::Outcome { step, fault, suggested } = sheet.phase else {
        return s.say(Level::Error, "no step is waiting for its outcome");
    };
    let Some(verdict) = StepVerdict::from_outcome_word(verdict) else {
        return s.say(Level::Error, format!("'{verdict}' is not held, broken or partial"));
    };
    let mut detail = format!("the checks said {suggested}");
    if !note.is_empty() {
        detail = format!("{note}; {detail}");
    }
    outcome(s, step, sheet.plan.steps[step].name.clone(), Some(fault), verdict, detail, fx);
    let left = sheet.plan.steps.len() - step - 1;
    s.say(Level::Info, format!("step {} recorded as {verdict}; {left} step(s) left (:next)", step + 1));
}

/// `:skip <reason>`: the next step (or the one waiting for its confirmation) is not run.
pub fn skip(s: &mut AppState, reason: &str, fx: &mut Vec<Effect>) {
    let Some(sheet) = s.runsheet.clone() else {
        return s.say(Level::Error, "no run-sheet: start the console with --plan <file>");
    };
    let i = match sheet.phase {
        Phase::Ready { next } if next < sheet.plan.steps.len() => next,
        Phase::Waiting { step, .. } if s.fault.live().is_none() => step,
        _ => return s.say(Level::Error, "nothing to skip now (a step's fault is on, or the sheet is done)"),
    };
    if matches!(s.fault, FaultPhase::Armed { .. }) {
        s.fault = FaultPhase::Idle;
    }
    outcome(s, i, sheet.plan.steps[i].name.clone(), None, StepVerdict::Skipped, reason.to_string(), fx);
    s.say(Level::Info, format!("step {} skipped", i + 1));
}

/// Steps whose hypothesis did not hold (broken or failed): a headless run exits non-zero.
/// How many of the run-sheet's steps never got an outcome (the run stopped before them).
pub fn not_run(entries: &[crate::timeline::Entry]) -> usize {
    let steps = entries
        .iter()
        .rev()
        .find_map(|e| match &e.kind {
            EntryKind::PlanLoaded { steps, .. } => Some(*steps),
            _ => None,
        })
        .unwrap_or(0);
    let done = entries.iter().filter(|e| matches!(e.kind, EntryKind::StepOutcome { .. })).count();
    steps.saturating_sub(done)
}

pub fn not_held(entries: &[crate::timeline::Entry]) -> usize {
    entries.iter().filter(|e| matches!(&e.kind, EntryKind::StepOutcome { verdict, .. } if verdict.not_held())).count()
}
