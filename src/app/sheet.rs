//! The run-sheet walked step by step: each step's expectation and stop conditions are set, the
//! console waits for steady state (at most `WAIT_STEADY_MS`), the step's fault is injected (one
//! at a time, through the same lifecycle as any inject), watched, and its recovery observed
//! after the revert; then the outcome is recorded: held, broken, failed or skipped.
//!
//! `auto` walks the whole sheet by itself (the headless `gameday run`) and quits at the end; a
//! facilitator walks it with `:next`, `:outcome` and `:skip`. The machine moves on what happens
//! (the picture came in, the fault was requested or settled, steady state changed, the system
//! recovered, a window ended), told by `super::update::react`; what it needs of the others it
//! asks for as `SheetOutcome`s.

use super::book::{Book, Level};
use crate::config::runsheet::RunSheet;
use crate::config::session_file::{Hypothesis, Stop};
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

/// The run-sheet machine.
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

/// What the sheet reads of the rest of the console when it decides to inject.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SheetView {
    /// No fault of this console is live and no confirmation shows.
    pub fault_idle: bool,
    pub quitting: bool,
    /// Some probe has no reading yet.
    pub unread: bool,
    /// The system is not in steady state.
    pub unsteady: bool,
}

/// What the sheet asks of the others.
#[derive(Clone, Debug, PartialEq)]
pub enum SheetOutcome {
    /// A step starts: its expectation and stop conditions (the session's and its own) apply;
    /// steady state is read at once.
    StepStarted { expectation: Hypothesis, stops: Vec<Stop> },
    /// A step is over: the session's stop conditions alone apply again.
    StepEnded { stops: Vec<Stop> },
    /// Inject step `step`'s fault now (answer with `injected`).
    Inject { step: usize },
    /// Show step `step`'s fault in the confirmation (answer with `arm_failed` if it cannot be
    /// planned).
    Arm { step: usize },
    /// The step waiting in the confirmation is skipped: drop the confirmation.
    DropConfirmation,
    /// The sheet is over (or cannot run): the console quits (a sheet walked by itself).
    Quit { reason: String },
}

impl Sheet {
    /// Takes the run-sheet; the session records who, where and how many steps. A resumed
    /// session goes on after the last step it finished.
    pub fn load(plan: RunSheet, auto: bool, book: &mut Book) -> Sheet {
        let participants = plan.participants.iter().map(|p| (p.name.clone(), p.role.clone())).collect();
        book.record(EntryKind::PlanLoaded {
            title: plan.title.clone(),
            facilitator: plan.facilitator.clone(),
            environment: plan.environment.clone(),
            participants,
            steps: plan.steps.len(),
            names: plan.steps.iter().map(|s| s.name.clone()).collect(),
        });
        let base = plan.steady.stops.clone();
        let next = book
            .timeline
            .iter()
            .filter_map(|e| match &e.kind {
                EntryKind::StepOutcome { step, .. } => Some(*step),
                _ => None,
            })
            .max()
            .unwrap_or(0);
        Sheet { plan, auto, phase: Phase::Ready { next }, base, targets_checked: false }
    }

    /// The first picture of the cluster is in: every step still to run must name a target that
    /// is there (`problem` says why one is not). A target that is not is a mistake in the file,
    /// said with its place (file:line); a run without a screen stops before anything is
    /// injected.
    pub fn check_targets(&mut self, problem: impl Fn(&str) -> Option<String>, book: &mut Book) -> Vec<SheetOutcome> {
        if self.targets_checked {
            return Vec::new();
        }
        self.targets_checked = true;
        let from = match self.phase {
            Phase::Ready { next } => next,
            _ => 0,
        };
        let problems: Vec<String> = self.plan.steps[from.min(self.plan.steps.len())..]
            .iter()
            .filter_map(|step| problem(&step.target).map(|p| format!("{}: step '{}': {p}", step.at, step.name)))
            .collect();
        if problems.is_empty() {
            return self.ready(book);
        }
        for p in &problems {
            book.record(EntryKind::Console { message: format!("run-sheet: {p}"), warning: true });
        }
        book.say(Level::Error, format!("run-sheet: {}", problems.join("; ")));
        if !self.auto {
            return Vec::new();
        }
        self.phase = Phase::Done;
        vec![SheetOutcome::Quit {
            reason: "the run-sheet names targets that are not in the cluster; nothing was injected".into(),
        }]
    }

    /// Walked by itself, in `Ready`: the next step starts, or the sheet is done.
    fn ready(&mut self, book: &mut Book) -> Vec<SheetOutcome> {
        let Phase::Ready { next } = self.phase else { return Vec::new() };
        if !self.auto || !self.targets_checked {
            return Vec::new();
        }
        if next >= self.plan.steps.len() {
            return self.finish(book);
        }
        vec![self.start(next, book)]
    }

    fn start(&mut self, i: usize, book: &mut Book) -> SheetOutcome {
        let step = &self.plan.steps[i];
        book.record(EntryKind::StepStarted {
            step: i + 1,
            name: step.name.clone(),
            preset: step.preset.clone(),
            target: step.target.clone(),
            hypothesis: step.hypothesis.clone(),
            expected_alerts: step.expected_alerts.clone(),
            checks: step.checks.iter().map(|c| c.to_string()).collect(),
        });
        // The step's checks are its fault's expectation, judged apart from the session's steady
        // state; its stop conditions add to the session's.
        let expectation = Hypothesis { name: step.name.clone(), checks: step.checks.clone() };
        let stops = self.base.iter().chain(&step.stops).cloned().collect();
        book.say(Level::Info, format!("step {}: {}", i + 1, step.name));
        self.phase = Phase::Waiting { step: i, since_ms: book.t_ms() };
        SheetOutcome::StepStarted { expectation, stops }
    }

    /// Walked by itself, waiting: the step's fault is injected once nothing else is live and
    /// the system is in steady state (judged on readings), or once it waited long enough.
    pub fn on_steady(&mut self, view: &SheetView, book: &mut Book) -> Vec<SheetOutcome> {
        let Phase::Waiting { step, since_ms } = self.phase else { return Vec::new() };
        if !self.auto {
            return Vec::new();
        }
        let waited = book.t_ms().saturating_sub(since_ms) >= WAIT_STEADY_MS;
        let idle = view.fault_idle && !view.quitting;
        if idle && ((!view.unread && !view.unsteady) || waited) {
            return vec![SheetOutcome::Inject { step }];
        }
        Vec::new()
    }

    /// The clock: a step that waited long enough injects; an observation that is over ends.
    pub fn on_tick(&mut self, view: &SheetView, book: &mut Book) -> Vec<SheetOutcome> {
        match self.phase {
            Phase::Waiting { .. } => self.on_steady(view, book),
            Phase::Observing { step, fault, until_ms } if book.t_ms() >= until_ms => self.observed(step, fault, book),
            _ => Vec::new(),
        }
    }

    /// The fault machine answered an `Inject`: fault `id` runs the step, or the inject was
    /// refused (the step failed).
    pub fn injected(&mut self, step: usize, id: Option<u64>, book: &mut Book) -> Vec<SheetOutcome> {
        match id {
            Some(fault) => {
                self.phase = Phase::Running { step, fault };
                Vec::new()
            }
            None => self.failed(step, "the inject was refused".into(), book),
        }
    }

    /// The step's fault could not be planned (`Inject` or `Arm`): the step failed.
    pub fn failed(&mut self, step: usize, why: String, book: &mut Book) -> Vec<SheetOutcome> {
        let name = self.plan.steps[step].name.clone();
        self.outcome(step, name, None, StepVerdict::Failed, why, book)
    }

    /// A fault was requested: the step waiting for its confirmation runs it.
    pub fn on_requested(&mut self, id: u64) {
        if let Phase::Waiting { step, .. } = self.phase {
            if !self.auto {
                self.phase = Phase::Running { step, fault: id };
            }
        }
    }

    /// The step's fault is out of the system: its recovery is observed for the step's time
    /// (none: the step is over at once).
    pub fn on_settled(&mut self, id: u64, book: &mut Book) -> Vec<SheetOutcome> {
        let Phase::Running { step, fault } = self.phase else { return Vec::new() };
        if fault != id {
            return Vec::new();
        }
        let until_ms = book.t_ms() + self.plan.steps[step].observe_ms;
        self.phase = Phase::Observing { step, fault, until_ms };
        if until_ms <= book.t_ms() {
            return self.observed(step, fault, book);
        }
        Vec::new()
    }

    /// The system recovered from fault `id`: its observation ends.
    pub fn on_recovered(&mut self, id: u64, book: &mut Book) -> Vec<SheetOutcome> {
        match self.phase {
            Phase::Observing { step, fault, .. } if fault == id => self.observed(step, fault, book),
            _ => Vec::new(),
        }
    }

    /// The observation is over: walked by itself, the step is concluded by its checks; walked
    /// by a facilitator, they record the outcome.
    fn observed(&mut self, step: usize, fault: u64, book: &mut Book) -> Vec<SheetOutcome> {
        if self.auto {
            return self.conclude(step, fault, book);
        }
        let suggested = self.checks_say(step, fault, book);
        book.say(
            Level::Warning,
            format!(
                "step {}: record the outcome: :outcome held|broken|partial [note] (the checks say {suggested})",
                step + 1
            ),
        );
        self.phase = Phase::Outcome { step, fault, suggested };
        Vec::new()
    }

    fn conclude(&mut self, i: usize, fault: u64, book: &mut Book) -> Vec<SheetOutcome> {
        let timeline = &book.timeline;
        let v = faults::steady_verdict(timeline, fault);
        let failed =
            timeline.iter().any(|e| matches!(&e.kind, EntryKind::InjectFailed { fault: f, .. } if *f == fault));
        let seconds = crate::timeline::entry::seconds;
        let mut detail = Vec::new();
        if !self.plan.steps[i].checks.is_empty() {
            let broke = timeline.iter().find_map(|e| match &e.kind {
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
        let verdict = if failed { StepVerdict::Failed } else { self.checks_say(i, fault, book) };
        let name = self.plan.steps[i].name.clone();
        self.outcome(i, name, Some(fault), verdict, detail.join("; "), book)
    }

    /// Records how a step went; the next is ready (and, walked by itself, starts).
    fn outcome(
        &mut self,
        i: usize,
        name: String,
        fault: Option<u64>,
        verdict: StepVerdict,
        detail: String,
        book: &mut Book,
    ) -> Vec<SheetOutcome> {
        book.record(EntryKind::StepOutcome { step: i + 1, name, fault, verdict, detail });
        self.phase = Phase::Ready { next: i + 1 };
        let mut out = vec![SheetOutcome::StepEnded { stops: self.base.clone() }];
        out.extend(self.ready(book));
        out
    }

    fn finish(&mut self, book: &mut Book) -> Vec<SheetOutcome> {
        self.phase = Phase::Done;
        let not_held = faults::step_tally(&book.timeline).not_held();
        book.say(Level::Info, format!("run-sheet finished: {not_held} step(s) not held"));
        match self.auto {
            true => vec![SheetOutcome::Quit { reason: "run-sheet finished".into() }],
            false => Vec::new(),
        }
    }

    /// How a step's fault went by the checks: its expectation's when the step wrote checks,
    /// else the session's steady state.
    fn checks_say(&self, step: usize, fault: u64, book: &Book) -> StepVerdict {
        let broken = if self.plan.steps[step].checks.is_empty() {
            faults::steady_verdict(&book.timeline, fault).verdict() == "broken"
        } else {
            book.timeline
                .iter()
                .any(|e| matches!(&e.kind, EntryKind::ExpectationBroken { fault: f, .. } if *f == fault))
        };
        if broken {
            StepVerdict::Broken
        } else {
            StepVerdict::Held
        }
    }

    /// `:next`: the facilitator starts the next step; its fault waits in the confirmation.
    /// `fault_idle`: no fault of this console is live and no confirmation shows.
    /// How many steps have not been finished (the one under way counts).
    pub fn steps_left(&self) -> usize {
        let n = self.plan.steps.len();
        match self.phase {
            Phase::Ready { next } => n.saturating_sub(next),
            Phase::Waiting { step, .. }
            | Phase::Running { step, .. }
            | Phase::Observing { step, .. }
            | Phase::Outcome { step, .. } => n.saturating_sub(step),
            _ => 0,
        }
    }

    pub fn next(&mut self, fault_idle: bool, book: &mut Book) -> Vec<SheetOutcome> {
        let i = match self.phase {
            Phase::Ready { next } if next < self.plan.steps.len() => next,
            Phase::Ready { .. } | Phase::Done => {
                book.say(Level::Info, "every step is done: :export writes the report");
                return Vec::new();
            }
            // The confirmation was cancelled: show it again.
            Phase::Waiting { step, .. } if fault_idle => return vec![SheetOutcome::Arm { step }],
            Phase::Outcome { step, .. } => {
                book.say(Level::Error, format!("step {} first: :outcome held|broken|partial [note]", step + 1));
                return Vec::new();
            }
            _ => {
                book.say(Level::Error, "this step's fault is still on: one fault at a time");
                return Vec::new();
            }
        };
        vec![self.start(i, book), SheetOutcome::Arm { step: i }]
    }

    /// Why an `:outcome` typed now is early: the step's fault is on, or its recovery is still
    /// watched (the outcome is asked for when that ends), or no step ran.
    fn outcome_not_asked(&self, now_ms: u64) -> String {
        match self.phase {
            Phase::Running { step, .. } => format!("step {}'s fault is still on: its outcome comes after it", step + 1),
            Phase::Observing { step, until_ms, .. } => format!(
                "step {} is still watching the recovery (at most {} more); its outcome is asked for then",
                step + 1,
                crate::timeline::entry::seconds(until_ms.saturating_sub(now_ms))
            ),
            _ => "no step is waiting for its outcome".to_string(),
        }
    }

    /// `:outcome held|broken|partial [note]`: the facilitator's verdict on the step just run.
    pub fn record_outcome(&mut self, word: &str, note: &str, book: &mut Book) -> Vec<SheetOutcome> {
        let Phase::Outcome { step, fault, suggested } = self.phase else {
            book.say(Level::Error, self.outcome_not_asked(book.t_ms()));
            return Vec::new();
        };
        let Some(verdict) = StepVerdict::from_outcome_word(word) else {
            book.say(Level::Error, format!("'{word}' is not held, broken or partial"));
            return Vec::new();
        };
        let mut detail = format!("the checks said {suggested}");
        if !note.is_empty() {
            detail = format!("{note}; {detail}");
        }
        let name = self.plan.steps[step].name.clone();
        let out = self.outcome(step, name, Some(fault), verdict, detail, book);
        let left = self.plan.steps.len() - step - 1;
        let next = match left {
            0 => "that was the last step".to_string(),
            1 => "1 step left (:next)".to_string(),
            n => format!("{n} steps left (:next)"),
        };
        book.say(Level::Info, format!("step {} recorded as {verdict}; {next}", step + 1));
        out
    }

    /// `:skip <reason>`: the next step (or the one waiting for its confirmation) is not run.
    /// `fault_live`: a fault of this console is live.
    pub fn skip(&mut self, reason: &str, fault_live: bool, book: &mut Book) -> Vec<SheetOutcome> {
        let i = match self.phase {
            Phase::Ready { next } if next < self.plan.steps.len() => next,
            Phase::Waiting { step, .. } if !fault_live => step,
            _ => {
                book.say(Level::Error, "nothing to skip now (a step's fault is on, or the sheet is done)");
                return Vec::new();
            }
        };
        let name = self.plan.steps[i].name.clone();
        let mut out = vec![SheetOutcome::DropConfirmation];
        out.extend(self.outcome(i, name, None, StepVerdict::Skipped, reason.to_string(), book));
        book.say(Level::Info, format!("step {} skipped", i + 1));
        out
    }

    /// When the sheet next has something to do by the clock alone (a sheet walked by itself):
    /// an observation ends, a step stops waiting for steady state.
    pub fn next_due(&self) -> Option<u64> {
        if !self.auto {
            return None;
        }
        match self.phase {
            Phase::Observing { until_ms, .. } => Some(until_ms),
            Phase::Waiting { since_ms, .. } => Some(since_ms + WAIT_STEADY_MS),
            _ => None,
        }
    }
}
