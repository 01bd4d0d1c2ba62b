//! The fault lifecycle: the one machine that changes a fault's phase. Every transition is a
//! method here (the start of a fault), in `ending` (its end) or in `preview` (its confirmation);
//! each records its timeline entry before the effect that carries it out, and returns a
//! `FaultOutcome` for the machines that care (`super::update::react` passes it on).
//!
//! ```text
//!  Idle ─arm─> Armed: prepare reads (Reading ─> Found | Refused) ─confirm Found─> Applying
//!               └─ cancel, abort, confirm Refused: Idle, nothing requested
//!  Idle ─:inject─> Preparing ─ok─> Applying          Preparing ─err, abort─> Idle, nothing applied
//!  Applying ─ok─> Active ─expire/abort─> Reverting ─ok─> Idle
//!     └err─────────────────────────────> Reverting   └err: retry with backoff
//! ```
//! Inject is accepted only in `Idle` (or `Armed`, from its confirmation) and only through an
//! open `InjectGate`; anything else is refused and recorded. Abort is accepted in every state
//! and always wins: a fault aborted before its inject was sent is never sent (`Applying` waits
//! for the journal and the cluster lock; an abort meanwhile cancels it), one already sent is
//! reverted the moment its inject returns.

mod ending;
pub mod preview;

use std::collections::BTreeMap;

use super::book::{Book, Level};
use super::event::Effect;
use crate::model::{FaultSpec, Happening, Mode, ParamValue, PodRef, RevertHandle, Target};
use crate::timeline::{EndReason, EntryKind};
pub use ending::{backoff_ms, span_ms, LOUD_AFTER_ATTEMPTS, QUIT_DEADLINE_MS};
use preview::Preview;

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
    /// Its engine runs it to its own end: it is given until then.
    pub engine_until_ms: Option<u64>,
    /// What ends it at its duration whatever the console says (it cannot be extended).
    pub fixed_end: Option<String>,
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
    /// Prepared and journaled; the backend applies it once the journal has it on disk and the
    /// cluster lock is ours. `abort` is set if an abort came in meanwhile.
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

/// Why an inject may not start, as the rest of the console knows it: each a reason, or none.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct InjectGate {
    /// Another console holds the cluster's one fault (why, in words).
    pub held_elsewhere: Option<String>,
    /// Faults left by earlier sessions, not reverted nor knowingly kept.
    pub leftovers: usize,
    /// The console is quitting.
    pub quitting: bool,
    /// The journal cannot be written (why).
    pub journal_unwritable: Option<String>,
}

/// The steady state just before a fault is requested, recorded with its request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Before {
    /// "holds", "broken" or "unknown".
    pub verdict: &'static str,
    pub detail: String,
}

/// What a transition of the fault machine means to the others.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FaultOutcome {
    /// Nothing the others need to hear.
    Nothing,
    /// The confirmation is showing.
    Armed,
    /// An inject was refused (recorded).
    Refused,
    /// Fault `id` is requested: it may be in the system from now on.
    Requested { id: u64 },
    /// Fault `id` is in the system, its window running.
    Active { id: u64 },
    /// No fault of this console is in the system any more: `id` was reverted (`reverted`),
    /// never applied, cancelled, or given up on.
    Settled { id: u64, reverted: bool },
    /// An abort found nothing of this console's to abort.
    NothingToAbort,
}

/// The fault machine: its phase, and the number the next fault gets.
#[derive(Clone, Debug, PartialEq)]
pub struct Faults {
    pub phase: FaultPhase,
    pub next_id: u64,
    /// This session (a spec carries it).
    session: String,
    /// `user@host`, for the system's own record.
    who: String,
}

impl Faults {
    pub fn new(session: &str, who: &str) -> Faults {
        Faults { phase: FaultPhase::Idle, next_id: 1, session: session.to_string(), who: who.to_string() }
    }

    /// The fault that is (or may be) in the system.
    pub fn live(&self) -> Option<&LiveFault> {
        self.phase.live()
    }

    /// Nothing of this console's is in the system (the confirmation may be showing).
    pub fn idle(&self) -> bool {
        matches!(self.phase, FaultPhase::Idle | FaultPhase::Armed { .. })
    }

    /// The fault that is active (its window running), if any.
    pub fn active(&self) -> Option<u64> {
        match &self.phase {
            FaultPhase::Active { fault } => Some(fault.id),
            _ => None,
        }
    }

    /// What the backend is given for fault `id` of this plan.
    pub fn spec_of(&self, id: u64, plan: &FaultPlan) -> FaultSpec {
        spec_of(&self.session, id, plan)
    }

    /// One fault at a time: why an inject cannot start now, if it cannot.
    fn refusal(&self, gate: &InjectGate) -> Option<String> {
        if let Some(f) = self.live() {
            return Some(format!(
                "fault #{} ({} on {}) is still active; one fault at a time",
                f.id, f.plan.preset, f.plan.target
            ));
        }
        if gate.quitting {
            return Some("the console is quitting".to_string());
        }
        if gate.leftovers > 0 {
            return Some(format!(
                "{} fault(s) left by earlier sessions are not reverted yet; one fault at a time (Space reverts them)",
                gate.leftovers
            ));
        }
        if let Some(e) = &gate.journal_unwritable {
            return Some(format!(
                "the journal cannot be written ({e}); a fault is applied only once how to undo it is on disk"
            ));
        }
        gate.held_elsewhere.clone()
    }

    /// Refuses the inject of `preset` on `target` if the gate is closed (said, and recorded);
    /// true if refused.
    pub fn refused(&self, gate: &InjectGate, preset: &str, target: &str, book: &mut Book) -> bool {
        let Some(reason) = self.refusal(gate) else { return false };
        book.say(Level::Warning, format!("refused: {reason}"));
        book.record(EntryKind::InjectRefused { preset: preset.to_string(), target: target.to_string(), reason });
        true
    }

    /// Shows the confirmation for a plan (only from Idle), and asks the backend's prepare what
    /// the fault will touch: the confirmation shows it before the operator can confirm.
    pub fn arm(&mut self, plan: FaultPlan, gate: &InjectGate, book: &mut Book) -> FaultOutcome {
        if self.refused(gate, &plan.preset, &plan.target.to_string(), book) {
            return FaultOutcome::Refused;
        }
        let preview = self.read(&plan, book);
        self.phase = FaultPhase::Armed { plan, button: Button::Cancel, preview };
        FaultOutcome::Armed
    }

    /// Starts the inject from Idle (`:inject`): prepared by the backend before it is applied.
    pub fn inject(&mut self, plan: FaultPlan, gate: &InjectGate, before: Before, book: &mut Book) -> FaultOutcome {
        if self.refused(gate, &plan.preset, &plan.target.to_string(), book) {
            return FaultOutcome::Refused;
        }
        let fault = self.request(plan, before, book);
        let id = fault.id;
        book.effect(Effect::Prepare(self.spec_of(id, &fault.plan)));
        book.say(Level::Info, format!("preparing {} on {}…", fault.plan.preset, fault.plan.target));
        self.phase = FaultPhase::Preparing { fault, abort: None };
        FaultOutcome::Requested { id }
    }

    /// Confirmed from its confirmation: the handle prepare gave for it is journaled, then
    /// applied.
    fn inject_prepared(
        &mut self,
        plan: FaultPlan,
        prepared: crate::model::Prepared,
        gate: &InjectGate,
        before: Before,
        book: &mut Book,
    ) -> FaultOutcome {
        if self.refused(gate, &plan.preset, &plan.target.to_string(), book) {
            return FaultOutcome::Refused;
        }
        let crate::model::Prepared { handle, fixed_end, .. } = prepared;
        let mut fault = self.request(plan, before, book);
        fault.fixed_end = fixed_end;
        let id = fault.id;
        self.apply(fault, handle, book);
        FaultOutcome::Requested { id }
    }

    /// Records the request of a new fault (and the steady state before it), and takes the
    /// cluster's lock for it: nothing is asked of the backend about it before the lock is ours.
    fn request(&mut self, plan: FaultPlan, before: Before, book: &mut Book) -> LiveFault {
        let id = self.next_id;
        self.next_id += 1;
        let p = plan.clone();
        book.record(EntryKind::InjectRequested {
            fault: id,
            preset: p.preset,
            action: p.action,
            target: p.target,
            params: p.params,
            mode: p.mode,
            duration_ms: p.duration_ms,
            blast_radius: p.blast_radius,
            hypothesis: p.hypothesis,
        });
        book.record(EntryKind::SteadyStateBefore { fault: id, verdict: before.verdict.into(), detail: before.detail });
        book.effect(Effect::TakeLock(self.spec_of(id, &plan)));
        LiveFault {
            id,
            plan,
            requested_ms: book.t_ms(),
            handle: None,
            deadline_ms: None,
            engine_until_ms: None,
            fixed_end: None,
        }
    }

    /// Write-ahead: the handle that says how to undo the fault is journaled, then it is
    /// applied (the runtime waits for that entry to be durable, and for the lock, first).
    fn apply(&mut self, mut fault: LiveFault, handle: RevertHandle, book: &mut Book) {
        book.record(EntryKind::InjectStarted { fault: fault.id, handle: handle.clone() });
        fault.handle = Some(handle.clone());
        book.effect(Effect::Inject { spec: self.spec_of(fault.id, &fault.plan), handle });
        book.say(Level::Info, format!("injecting {} on {}…", fault.plan.preset, fault.plan.target));
        self.phase = FaultPhase::Applying { fault, abort: None };
    }

    /// The backend has read what the fault will touch: journal how to undo it, then apply.
    /// With the handle, what ends the fault at its duration whatever the console says.
    pub fn on_prepared(
        &mut self,
        id: u64,
        result: Result<(RevertHandle, Option<String>), String>,
        book: &mut Book,
    ) -> FaultOutcome {
        if !matches!(&self.phase, FaultPhase::Preparing { fault, .. } if fault.id == id) {
            return FaultOutcome::Nothing; // nothing was applied for a fault we no longer wait for
        }
        let FaultPhase::Preparing { mut fault, abort } = std::mem::replace(&mut self.phase, FaultPhase::Idle) else {
            return FaultOutcome::Nothing;
        };
        match (result, abort) {
            (Ok(_), Some(by)) => {
                book.record(EntryKind::InjectCancelled { fault: id });
                book.say(Level::Info, format!("fault #{id} cancelled ({by}) before anything was applied"));
                self.settled(id, false, book)
            }
            (Ok((handle, fixed_end)), None) => {
                fault.fixed_end = fixed_end;
                self.apply(fault, handle, book);
                FaultOutcome::Nothing
            }
            (Err(error), _) => {
                book.say(Level::Error, format!("fault #{id} not injected: {error}"));
                book.record(EntryKind::InjectFailed { fault: id, error });
                self.settled(id, false, book)
            }
        }
    }

    /// The inject returned.
    pub fn on_injected(&mut self, id: u64, result: Result<RevertHandle, String>, book: &mut Book) -> FaultOutcome {
        if !matches!(&self.phase, FaultPhase::Applying { fault, .. } if fault.id == id) {
            // Not the fault we are waiting for: never leave it behind.
            if let Ok(handle) = result {
                book.record(EntryKind::InjectConfirmed { fault: id, handle: handle.clone() });
                self.announce(
                    &handle,
                    "GamedayFaultInjected",
                    "Inject",
                    true,
                    format!("injected by {}", self.who),
                    book,
                );
                book.record(EntryKind::RevertStarted { fault: id, attempt: 1 });
                book.effect(Effect::Revert { handle, attempt: 1, delay_ms: 0 });
            }
            return FaultOutcome::Nothing;
        }
        let FaultPhase::Applying { mut fault, abort } = std::mem::replace(&mut self.phase, FaultPhase::Idle) else {
            return FaultOutcome::Nothing;
        };
        match (result, abort) {
            (Ok(handle), Some(by)) => {
                // FaultEnding was recorded when the abort came in.
                book.record(EntryKind::InjectConfirmed { fault: id, handle: handle.clone() });
                self.announce(
                    &handle,
                    "GamedayFaultInjected",
                    "Inject",
                    true,
                    format!("injected by {}", self.who),
                    book,
                );
                fault.handle = Some(handle);
                self.revert_attempt(&fault, 1, 0, book);
                self.phase = FaultPhase::Reverting {
                    fault,
                    reason: EndReason::Aborted { by },
                    attempt: 1,
                    last_error: None,
                    repeat_noted: false,
                };
                FaultOutcome::Nothing
            }
            (Ok(handle), None) => {
                book.record(EntryKind::InjectConfirmed { fault: id, handle: handle.clone() });
                self.announce(
                    &handle,
                    "GamedayFaultInjected",
                    "Inject",
                    true,
                    format!("injected by {}", self.who),
                    book,
                );
                fault.handle = Some(handle);
                let deadline = (book.t_ms() + fault.plan.duration_ms).max(fault.engine_until_ms.unwrap_or(0));
                fault.deadline_ms = Some(deadline);
                book.effect(Effect::LockDeadline { fault: id, deadline_ms: deadline });
                book.say(Level::Info, format!("fault #{id} is live: {}", fault.plan.blast_radius));
                self.phase = FaultPhase::Active { fault };
                FaultOutcome::Active { id }
            }
            (Err(error), abort) => {
                // Part of it may have been applied: revert the prepared handle all the same.
                book.say(
                    Level::Error,
                    format!("inject of fault #{id} failed: {error}; reverting whatever was applied"),
                );
                book.record(EntryKind::InjectFailed { fault: id, error });
                match abort {
                    Some(by) => {
                        self.revert_attempt(&fault, 1, 0, book);
                        let reason = EndReason::Aborted { by };
                        self.phase =
                            FaultPhase::Reverting { fault, reason, attempt: 1, last_error: None, repeat_noted: false };
                    }
                    None => self.start_revert(fault, EndReason::InjectFailed, book),
                }
                FaultOutcome::Nothing
            }
        }
    }

    /// A prepared fault was not applied: the runtime could not make the entry that says how to
    /// undo it durable first, the cluster lock is held elsewhere, an abort came first, or the
    /// backend failed having changed nothing (it is sure). Recorded as never applied, and
    /// nothing is reverted (a revert of what was never there could only fail, e.g. with the
    /// same broken helper image, and keep the fault "live" for ever).
    pub fn on_not_applied(&mut self, id: u64, why: String, book: &mut Book) -> FaultOutcome {
        if !matches!(&self.phase, FaultPhase::Applying { fault, .. } | FaultPhase::Preparing { fault, .. } if fault.id == id)
        {
            return FaultOutcome::Nothing;
        }
        book.record(EntryKind::InjectNotApplied { fault: id, reason: why.clone() });
        book.say(Level::Error, format!("fault #{id} was never applied: {why}"));
        self.phase = FaultPhase::Idle;
        self.settled(id, false, book)
    }

    /// No fault of this console is in the system any more: the cluster lock is given back.
    fn settled(&mut self, id: u64, reverted: bool, book: &mut Book) -> FaultOutcome {
        book.effect(Effect::GiveBackLock { fault: id });
        FaultOutcome::Settled { id, reverted }
    }

    /// Puts what happened to a fault on the system's own record.
    fn announce(
        &self,
        handle: &RevertHandle,
        reason: &'static str,
        action: &'static str,
        warning: bool,
        did: String,
        book: &mut Book,
    ) {
        let note = format!("gameday session {} fault #{} ({}): {did}", self.session, handle.fault_id, handle.summary);
        book.effect(Effect::Announce { handle: handle.clone(), what: Happening { reason, action, note, warning } });
    }
}

/// What the backend is given for fault `id` of this plan in `session`.
pub fn spec_of(session: &str, id: u64, plan: &FaultPlan) -> FaultSpec {
    FaultSpec {
        fault_id: id,
        session: session.to_string(),
        preset: plan.preset.clone(),
        action: plan.action.clone(),
        target: plan.target.clone(),
        params: plan.params.clone(),
        duration_ms: plan.duration_ms,
        pods: plan.pods.clone(),
        mode: plan.mode,
    }
}
