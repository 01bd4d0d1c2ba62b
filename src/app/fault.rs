//! The fault lifecycle, an explicit state machine, and the abort path.
//!
//! ```text
//!  Idle ─arm─> Armed: prepare reads (Reading ─> Found | Refused) ─confirm Found─> Applying
//!               └─ cancel, abort, confirm Refused: Idle, nothing requested
//!  Idle ─:inject─> Preparing ─ok─> Applying          Preparing ─err, abort─> Idle, nothing applied
//!  Applying ─ok─> Active ─expire/abort─> Reverting ─ok─> Idle
//!     └err─────────────────────────────> Reverting   └err: retry with backoff
//! ```
//! `Armed`: the confirmation shows what the backend's read-only `prepare` found before anyone
//! confirms (`super::preview`); `Preparing` (`:inject`, which asks nothing) reads it too. Either
//! way its handle (how to undo the fault) is journaled before `Applying` starts. A failed apply
//! is reverted all the same. Inject is accepted only in `Idle` (or `Armed`, from its
//! confirmation); anything else is refused and recorded. Abort is accepted in every state and
//! always wins. Every transition records its timeline entry before the effect that carries it out.

use std::collections::BTreeMap;

use super::cleanup;
use super::event::Effect;
use super::preview::Preview;
use super::state::{AppState, Level, Overlay, Quitting};
use crate::model::ParamValue;
use crate::model::{FaultSpec, Mode, PodRef, RevertHandle, Target};
use crate::timeline::{EndReason, EntryKind};

/// After this many failed reverts the screen shouts.
pub const LOUD_AFTER_ATTEMPTS: u32 = 3;
/// How long quitting waits for a confirmed revert before giving up (and saying so).
pub const QUIT_DEADLINE_MS: u64 = 30_000;

/// Delay before revert attempt `next` (2, 3, ...): 250 ms doubling up to 5 s.
pub fn backoff_ms(next: u32) -> u64 {
    (250u64 << next.saturating_sub(2).min(5)).min(5000)
}

/// A fault fully specified and previewed, not yet injected.
#[derive(Clone, Debug, PartialEq)]
pub struct FaultPlan {
    pub preset: String,
    pub action: String,
    pub target: Target,
    pub params: BTreeMap<String, ParamValue>,
    pub duration_ms: u64,
    /// For faults on pods: the pods the target selects, and how many of them are hit.
    pub pods: Vec<PodRef>,
    pub mode: Option<Mode>,
    pub blast_radius: String,
    pub hypothesis: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct LiveFault {
    pub id: u64,
    pub plan: FaultPlan,
    /// When the inject was requested (ms since start).
    pub requested_ms: u64,
    /// The prepared handle, then the one the backend confirmed.
    pub handle: Option<RevertHandle>,
    pub deadline_ms: Option<u64>,
    /// Its engine runs it to its own end: it is given until then (`super::engine_end`).
    pub engine_until_ms: Option<u64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Button {
    Cancel,
    Inject,
}

#[derive(Clone, Debug, PartialEq)]
pub enum FaultPhase {
    Idle,
    /// The confirmation is showing, with what prepare found; Cancel is preselected.
    Armed {
        plan: FaultPlan,
        button: Button,
        preview: Preview,
    },
    /// The backend reads what the fault will touch; nothing is applied yet. `abort` is set if
    /// an abort came in meanwhile.
    Preparing {
        fault: LiveFault,
        abort: Option<String>,
    },
    /// Prepared and journaled; the backend applies it.
    Applying {
        fault: LiveFault,
        abort: Option<String>,
    },
    Active {
        fault: LiveFault,
    },
    /// Reverting, attempt `attempt`; retried with backoff until confirmed. While `last_error`
    /// is `None` an attempt is in flight; `repeat_noted` once a repeated abort was recorded.
    Reverting {
        fault: LiveFault,
        reason: EndReason,
        attempt: u32,
        last_error: Option<String>,
        repeat_noted: bool,
    },
}

impl FaultPhase {
    /// The fault that is (or may be, or is about to be) in the system.
    pub fn live(&self) -> Option<&LiveFault> {
        match self {
            FaultPhase::Preparing { fault, .. }
            | FaultPhase::Applying { fault, .. }
            | FaultPhase::Active { fault }
            | FaultPhase::Reverting { fault, .. } => Some(fault),
            FaultPhase::Idle | FaultPhase::Armed { .. } => None,
        }
    }
}

/// What the backend is given for fault `id` of this plan.
pub(super) fn spec_of(s: &AppState, id: u64, plan: &FaultPlan) -> FaultSpec {
    FaultSpec {
        fault_id: id,
        session: s.session.id.clone(),
        preset: plan.preset.clone(),
        action: plan.action.clone(),
        target: plan.target.clone(),
        params: plan.params.clone(),
        duration_ms: plan.duration_ms,
        pods: plan.pods.clone(),
        mode: plan.mode,
    }
}

/// Shows the confirmation for a plan (only from Idle), and asks the backend's prepare what the
/// fault will touch: the confirmation shows it before the operator can confirm.
pub fn arm(s: &mut AppState, plan: FaultPlan, fx: &mut Vec<Effect>) {
    if refused_while_busy(s, &plan.preset, &plan.target.to_string(), fx) {
        return;
    }
    s.ui.overlay = Overlay::None;
    let preview = super::preview::read(s, &plan, fx);
    s.fault = FaultPhase::Armed { plan, button: Button::Cancel, preview };
}

/// Starts the inject: from Idle (`:inject`), prepared by the backend before it is applied.
/// Refused while another fault is live.
pub fn inject(s: &mut AppState, plan: FaultPlan, fx: &mut Vec<Effect>) {
    if refused_while_busy(s, &plan.preset, &plan.target.to_string(), fx) {
        return;
    }
    let fault = request(s, plan, fx);
    fx.push(Effect::Prepare(spec_of(s, fault.id, &fault.plan)));
    s.say(Level::Info, format!("preparing {} on {}…", fault.plan.preset, fault.plan.target));
    s.fault = FaultPhase::Preparing { fault, abort: None };
}

/// Confirmed from its confirmation: the handle prepare gave for it is journaled, then applied.
pub fn inject_prepared(s: &mut AppState, plan: FaultPlan, handle: RevertHandle, fx: &mut Vec<Effect>) {
    if refused_while_busy(s, &plan.preset, &plan.target.to_string(), fx) {
        return;
    }
    let fault = request(s, plan, fx);
    apply(s, fault, handle, fx);
}

/// Records the request of a new fault (and the steady state before it).
fn request(s: &mut AppState, plan: FaultPlan, fx: &mut Vec<Effect>) -> LiveFault {
    let id = s.next_fault_id;
    s.next_fault_id += 1;
    let p = plan.clone();
    s.record(
        EntryKind::InjectRequested {
            fault: id,
            preset: p.preset,
            action: p.action,
            target: p.target,
            params: p.params,
            mode: p.mode,
            duration_ms: p.duration_ms,
            blast_radius: p.blast_radius,
            hypothesis: p.hypothesis,
        },
        fx,
    );
    super::steady::before_inject(s, id, fx);
    LiveFault { id, plan, requested_ms: s.now.t_ms, handle: None, deadline_ms: None, engine_until_ms: None }
}

/// Write-ahead: the handle that says how to undo the fault is journaled, then it is applied
/// (the runtime waits for that entry to be durable first).
fn apply(s: &mut AppState, mut fault: LiveFault, handle: RevertHandle, fx: &mut Vec<Effect>) {
    s.record(EntryKind::InjectStarted { fault: fault.id, handle: handle.clone() }, fx);
    fault.handle = Some(handle.clone());
    fx.push(Effect::Inject { spec: spec_of(s, fault.id, &fault.plan), handle });
    s.say(Level::Info, format!("injecting {} on {}…", fault.plan.preset, fault.plan.target));
    s.fault = FaultPhase::Applying { fault, abort: None };
}

/// One fault at a time: if a fault is live (or the console is quitting, or faults left by an
/// earlier process are unresolved), the inject of `preset` on `target` is refused, visibly and
/// in the timeline, and this returns true.
pub fn refused_while_busy(s: &mut AppState, preset: &str, target: &str, fx: &mut Vec<Effect>) -> bool {
    let elsewhere = super::elsewhere::refusal(s);
    let reason = match (s.fault.live(), &s.quitting, cleanup::unresolved(s), &s.journal.error) {
        (Some(f), _, _, _) => {
            format!("fault #{} ({} on {}) is still active; one fault at a time", f.id, f.plan.preset, f.plan.target)
        }
        (None, Some(_), _, _) => "the console is quitting".to_string(),
        (None, None, n, _) if n > 0 => {
            format!(
                "{n} fault(s) left by earlier sessions are not reverted yet; one fault at a time (Space reverts them)"
            )
        }
        (None, None, _, Some(e)) => {
            format!("the journal cannot be written ({e}); a fault is applied only once how to undo it is on disk")
        }
        (None, None, _, None) => match elsewhere {
            Some(held) => held,
            None => return false,
        },
    };
    s.say(Level::Warning, format!("refused: {reason}"));
    s.record(EntryKind::InjectRefused { preset: preset.to_string(), target: target.to_string(), reason }, fx);
    true
}

/// The abort path: accepted in every state, acts at once. It closes the pickers and help so
/// the fault panel is in view, but never throws away text someone is typing.
pub fn abort(s: &mut AppState, by: &str, fx: &mut Vec<Effect>) {
    if !matches!(s.ui.overlay, Overlay::Note(_)) {
        s.ui.overlay = Overlay::None;
    }
    let aborted = EndReason::Aborted { by: by.into() };
    // Faults left by earlier sessions are live faults too.
    let leftovers = cleanup::live(s) > 0;
    if leftovers {
        cleanup::revert_all(s, fx);
    }
    match std::mem::replace(&mut s.fault, FaultPhase::Idle) {
        FaultPhase::Idle if leftovers => {}
        // A fault held by another console: its owner is asked to stop it.
        FaultPhase::Idle if super::elsewhere::ask_stop(s, fx) => {}
        FaultPhase::Idle => s.say(Level::Info, "nothing to abort: no fault is active"),
        FaultPhase::Armed { plan, .. } => s.say(Level::Info, format!("cancelled {} on {}", plan.preset, plan.target)),
        FaultPhase::Preparing { fault, abort } => {
            if abort.is_none() {
                s.record(EntryKind::FaultEnding { fault: fault.id, reason: aborted }, fx);
            }
            s.say(Level::Warning, format!("ABORT: fault #{} is cancelled; nothing was applied", fault.id));
            s.fault = FaultPhase::Preparing { fault, abort: Some(by.into()) };
        }
        FaultPhase::Applying { fault, abort } => {
            if abort.is_none() {
                s.record(EntryKind::FaultEnding { fault: fault.id, reason: aborted }, fx);
            }
            s.say(Level::Warning, format!("ABORT: fault #{} will be reverted the moment its inject returns", fault.id));
            s.fault = FaultPhase::Applying { fault, abort: Some(by.into()) };
        }
        FaultPhase::Active { fault } => {
            start_revert(s, fault, aborted, fx);
            s.say(Level::Warning, "ABORT: reverting now");
        }
        FaultPhase::Reverting { fault, reason, attempt, last_error: None, repeat_noted } => {
            // An attempt is in flight (a held key repeats): say so, record it once, send nothing.
            if !repeat_noted {
                s.record(EntryKind::AbortRepeated { fault: fault.id, by: by.into() }, fx);
            }
            s.say(
                Level::Warning,
                format!("ABORT under way: the revert of fault #{} is in flight (attempt {attempt})", fault.id),
            );
            s.fault = FaultPhase::Reverting { fault, reason, attempt, last_error: None, repeat_noted: true };
        }
        FaultPhase::Reverting { fault, reason, attempt, last_error: Some(_), .. } => {
            // The last attempt failed: try again right now instead of waiting for the backoff.
            let next = attempt + 1;
            revert_attempt(s, &fault, next, 0, fx);
            s.say(Level::Warning, format!("ABORT: revert of fault #{} retried now (attempt {next})", fault.id));
            s.fault = FaultPhase::Reverting { fault, reason, attempt: next, last_error: None, repeat_noted: false };
        }
    }
}

fn revert_attempt(s: &mut AppState, fault: &LiveFault, attempt: u32, delay_ms: u64, fx: &mut Vec<Effect>) {
    s.record(EntryKind::RevertStarted { fault: fault.id, attempt }, fx);
    if let Some(handle) = fault.handle.clone() {
        fx.push(Effect::Revert { handle, attempt, delay_ms });
    }
}

pub(super) fn start_revert(s: &mut AppState, fault: LiveFault, reason: EndReason, fx: &mut Vec<Effect>) {
    s.record(EntryKind::FaultEnding { fault: fault.id, reason: reason.clone() }, fx);
    revert_attempt(s, &fault, 1, 0, fx);
    s.fault = FaultPhase::Reverting { fault, reason, attempt: 1, last_error: None, repeat_noted: false };
}

/// The backend has read what the fault will touch: journal how to undo it, then apply.
pub fn on_prepared(s: &mut AppState, id: u64, result: Result<RevertHandle, String>, fx: &mut Vec<Effect>) {
    if !matches!(&s.fault, FaultPhase::Preparing { fault, .. } if fault.id == id) {
        return; // nothing was applied for a fault we no longer wait for
    }
    let FaultPhase::Preparing { fault, abort } = std::mem::replace(&mut s.fault, FaultPhase::Idle) else {
        return;
    };
    match (result, abort) {
        (Ok(_), Some(by)) => {
            s.record(EntryKind::InjectCancelled { fault: id }, fx);
            s.say(Level::Info, format!("fault #{id} cancelled ({by}) before anything was applied"));
            finish_quit_if_asked(s, fx);
        }
        (Ok(handle), None) => apply(s, fault, handle, fx),
        (Err(error), _) => {
            s.say(Level::Error, format!("fault #{id} not injected: {error}"));
            s.record(EntryKind::InjectFailed { fault: id, error }, fx);
            finish_quit_if_asked(s, fx);
        }
    }
}

pub fn on_injected(s: &mut AppState, id: u64, result: Result<RevertHandle, String>, fx: &mut Vec<Effect>) {
    if !matches!(&s.fault, FaultPhase::Applying { fault, .. } if fault.id == id) {
        // Not the fault we are waiting for: never leave it behind.
        if let Ok(handle) = result {
            s.record(EntryKind::InjectConfirmed { fault: id, handle: handle.clone() }, fx);
            s.record(EntryKind::RevertStarted { fault: id, attempt: 1 }, fx);
            fx.push(Effect::Revert { handle, attempt: 1, delay_ms: 0 });
        }
        return;
    }
    let FaultPhase::Applying { mut fault, abort } = std::mem::replace(&mut s.fault, FaultPhase::Idle) else {
        return;
    };
    match (result, abort) {
        (Ok(handle), Some(by)) => {
            // FaultEnding was recorded when the abort came in.
            s.record(EntryKind::InjectConfirmed { fault: id, handle: handle.clone() }, fx);
            fault.handle = Some(handle);
            revert_attempt(s, &fault, 1, 0, fx);
            s.fault = FaultPhase::Reverting {
                fault,
                reason: EndReason::Aborted { by },
                attempt: 1,
                last_error: None,
                repeat_noted: false,
            };
        }
        (Ok(handle), None) => {
            s.record(EntryKind::InjectConfirmed { fault: id, handle: handle.clone() }, fx);
            fault.handle = Some(handle);
            fault.deadline_ms = Some((s.now.t_ms + fault.plan.duration_ms).max(fault.engine_until_ms.unwrap_or(0)));
            s.say(Level::Info, format!("fault #{id} is live: {}", fault.plan.blast_radius));
            s.fault = FaultPhase::Active { fault };
            super::steady::on_active(s, id);
        }
        (Err(error), abort) => {
            // Part of it may have been applied: revert the prepared handle all the same.
            s.say(Level::Error, format!("inject of fault #{id} failed: {error}; reverting whatever was applied"));
            s.record(EntryKind::InjectFailed { fault: id, error }, fx);
            match abort {
                Some(by) => {
                    revert_attempt(s, &fault, 1, 0, fx);
                    let reason = EndReason::Aborted { by };
                    s.fault =
                        FaultPhase::Reverting { fault, reason, attempt: 1, last_error: None, repeat_noted: false };
                }
                None => start_revert(s, fault, EndReason::InjectFailed, fx),
            }
        }
    }
}

/// A prepared fault was not applied: the runtime could not make the entry that says how to undo
/// it durable first, or the backend failed having changed nothing (it is sure). Recorded as
/// never applied, and nothing is reverted (a revert of what was never there could only fail,
/// e.g. with the same broken helper image, and keep the fault "live" for ever).
pub fn on_not_applied(s: &mut AppState, id: u64, why: String, fx: &mut Vec<Effect>) {
    // Applying (the journal or the backend said so), or Preparing (the cluster lock is held
    // elsewhere: nothing was asked of the backend).
    if !matches!(&s.fault, FaultPhase::Applying { fault, .. } | FaultPhase::Preparing { fault, .. } if fault.id == id) {
        return;
    }
    s.record(EntryKind::InjectNotApplied { fault: id, reason: why.clone() }, fx);
    s.say(Level::Error, format!("fault #{id} was never applied: {why}"));
    s.fault = FaultPhase::Idle;
    finish_quit_if_asked(s, fx);
}

/// The backend says the active fault is no longer in effect (its target restarted and took
/// the qdisc with it): recorded, and what is left of it (a helper, a marker) is cleaned up
/// through the ordinary revert, so the bar stops saying it is live.
pub fn on_lapsed(s: &mut AppState, session: &str, id: u64, why: String, fx: &mut Vec<Effect>) {
    if session != s.session.id {
        return;
    }
    let FaultPhase::Active { fault } = &s.fault else { return };
    if fault.id != id {
        return;
    }
    let FaultPhase::Active { fault } = std::mem::replace(&mut s.fault, FaultPhase::Idle) else {
        return;
    };
    s.say(Level::Warning, format!("fault #{id} is no longer in effect: {why}"));
    start_revert(s, fault, EndReason::Lapsed { why }, fx);
}

pub fn on_reverted(s: &mut AppState, id: u64, attempt: u32, result: Result<Vec<String>, String>, fx: &mut Vec<Effect>) {
    let FaultPhase::Reverting { fault, reason, attempt: current, .. } = &s.fault else {
        return;
    };
    if fault.id != id {
        return;
    }
    match result {
        Ok(kept) => {
            let said = match kept.len() {
                0 => format!("fault #{id} reverted (confirmed)"),
                n => format!("fault #{id} reverted (confirmed); {n} change(s) made since were left as they are"),
            };
            s.record(EntryKind::RevertConfirmed { fault: id, attempt, kept }, fx);
            s.say(Level::Info, said);
            s.fault = FaultPhase::Idle;
            super::steady::on_reverted(s, id);
            finish_quit_if_asked(s, fx);
        }
        Err(_) if attempt < *current => {} // an older attempt; a newer one is under way
        Err(error) => {
            let (fault, reason, next) = (fault.clone(), reason.clone(), attempt + 1);
            let give_up = s.quitting.as_ref().is_some_and(|q| s.now.t_ms >= q.deadline_ms);
            s.record(EntryKind::RevertFailed { fault: id, attempt, error: error.clone(), retrying: !give_up }, fx);
            if give_up {
                s.fault = FaultPhase::Idle;
                return finish_quit(s, format!("{}; revert of fault #{id} NOT confirmed", quit_reason(s)), fx);
            }
            let delay = backoff_ms(next);
            revert_attempt(s, &fault, next, delay, fx);
            let level = if attempt >= LOUD_AFTER_ATTEMPTS { Level::Error } else { Level::Warning };
            s.say(level, format!("REVERT FAILED (attempt {attempt}): {error}; retrying in {delay} ms"));
            s.fault =
                FaultPhase::Reverting { fault, reason, attempt: next, last_error: Some(error), repeat_noted: false };
        }
    }
}

/// Once a second: faults whose duration is over are reverted.
pub fn on_tick(s: &mut AppState, fx: &mut Vec<Effect>) {
    if let FaultPhase::Active { fault } = &s.fault {
        if fault.deadline_ms.is_some_and(|d| s.now.t_ms >= d) {
            let FaultPhase::Active { fault } = std::mem::replace(&mut s.fault, FaultPhase::Idle) else {
                return;
            };
            s.say(Level::Info, format!("fault #{} duration over, reverting", fault.id));
            start_revert(s, fault, EndReason::Expired, fx);
        }
    }
}

/// `q`, `:quit`, Ctrl-C and signals: revert the active fault, then leave.
pub fn quit(s: &mut AppState, by: &str, fx: &mut Vec<Effect>) {
    if let Some(q) = &s.quitting {
        let left = q.deadline_ms.saturating_sub(s.now.t_ms) / 1000;
        return s.say(Level::Warning, format!("still reverting before exit (giving up in {left} s)"));
    }
    if matches!(s.fault, FaultPhase::Armed { .. }) {
        s.fault = FaultPhase::Idle;
    }
    s.quitting = Some(Quitting { by: by.to_string(), deadline_ms: s.now.t_ms + QUIT_DEADLINE_MS });
    if s.fault.live().is_some() {
        abort(s, by, fx);
        s.say(Level::Warning, format!("quitting ({by}): reverting the active fault first…"));
    } else {
        finish_quit_if_asked(s, fx);
    }
}

fn quit_reason(s: &AppState) -> String {
    s.quitting.as_ref().map(|q| format!("quit ({})", q.by)).unwrap_or_else(|| "quit".into())
}

fn finish_quit_if_asked(s: &mut AppState, fx: &mut Vec<Effect>) {
    if s.quitting.is_some() && s.fault.live().is_none() {
        let reason = quit_reason(s);
        finish_quit(s, reason, fx);
    }
}

fn finish_quit(s: &mut AppState, reason: String, fx: &mut Vec<Effect>) {
    s.record(EntryKind::SessionEnd { reason }, fx);
    s.exited = true;
    fx.push(Effect::Exit);
}

/// Called on each tick while quitting: if the deadline passed with the revert still failing.
pub fn on_quit_deadline(s: &mut AppState, fx: &mut Vec<Effect>) {
    let Some(q) = &s.quitting else { return };
    if s.now.t_ms < q.deadline_ms || s.exited {
        return;
    }
    if let Some(f) = s.fault.live() {
        let id = f.id;
        s.record(
            EntryKind::RevertFailed {
                fault: id,
                attempt: 0,
                error: "no confirmed revert before the quit deadline".into(),
                retrying: false,
            },
            fx,
        );
        s.fault = FaultPhase::Idle;
        let reason = format!("{}; revert of fault #{id} NOT confirmed", quit_reason(s));
        finish_quit(s, reason, fx);
    }
}
