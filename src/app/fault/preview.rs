//! The confirmation shows what the backend's `prepare` found (read-only: nothing is applied)
//! before the operator can confirm: the ConfigMap and key, the node's pods and which cannot be
//! evicted, the containers and images, the pods an engine will select. A fault prepare refuses
//! is refused there, with the reason, before anyone confirms it.
//!
//! Confirmed, the handle prepare gave is journaled and then applied (write-ahead, as for
//! `:inject`). A preview older than `PREVIEW_FRESH_MS` is read again first: what is applied is
//! what the operator saw, never a picture of minutes ago.

use super::{Before, Button, FaultOutcome, FaultPhase, FaultPlan, Faults, InjectGate};
use crate::app::book::{Book, Level};
use crate::app::event::Effect;
use crate::model::{FaultSpec, Prepared};
use crate::timeline::EntryKind;

/// A preview older than this is read again when the operator confirms.
pub const PREVIEW_FRESH_MS: u64 = 60_000;

#[derive(Clone, Debug, PartialEq)]
pub enum Preview {
    /// Prepare is reading what fault `id` will touch; Inject waits for it.
    Reading { id: u64 },
    /// What it found (at `at_ms`), and the handle that says how to undo it.
    Found { prepared: Prepared, at_ms: u64 },
    /// Prepare refused: the fault cannot run as planned.
    Refused { why: String },
}

/// What ends the fault if no console is left to revert it, said truthfully on the
/// confirmation: its engine or helper at its duration, a `gameday watchdog` seen on the
/// cluster at its deadline, or nothing but a console or `gameday cleanup`. `true` when only a
/// person can end it (the confirmation says so in the warning colour).
pub fn ending(preview: &Preview, watchdog_alive: bool) -> (String, bool) {
    match preview {
        Preview::Found { prepared, .. } => match &prepared.ends_by_itself {
            Some(by) => (by.clone(), false),
            None if watchdog_alive => {
                ("gameday watchdog (seen on the cluster) reverts it once this console is silent past its lease, or at its deadline".into(), false)
            }
            None => ("NOT ended by itself: only a console on the cluster or `gameday cleanup` reverts it".into(), true),
        },
        _ => (String::new(), false),
    }
}

impl Faults {
    /// Asks prepare about `plan` (for the fault number it will get).
    pub(super) fn read(&self, plan: &FaultPlan, book: &mut Book) -> Preview {
        let id = self.next_id;
        book.effect(Effect::Preview(self.spec_of(id, plan)));
        Preview::Reading { id }
    }

    /// Prepare's answer to `spec`, if it is the question the confirmation that shows asked (any
    /// other is late, for a confirmation gone, and changed nothing).
    pub fn on_previewed(&mut self, spec: &FaultSpec, result: Result<Prepared, String>, now_ms: u64) {
        let asked = match &self.phase {
            FaultPhase::Armed { plan, preview: Preview::Reading { id }, .. } => self.spec_of(*id, plan),
            _ => return,
        };
        if asked != *spec {
            return;
        }
        let FaultPhase::Armed { preview, .. } = &mut self.phase else { return };
        *preview = match result {
            Ok(prepared) => Preview::Found { prepared, at_ms: now_ms },
            Err(why) => Preview::Refused { why },
        };
    }

    /// Tab on the confirmation: Cancel or Inject.
    pub fn switch_button(&mut self) {
        if let FaultPhase::Armed { button, .. } = &mut self.phase {
            *button = if *button == Button::Cancel { Button::Inject } else { Button::Cancel };
        }
    }

    /// Esc on the confirmation: nothing is injected.
    pub fn cancel(&mut self, book: &mut Book) {
        if matches!(self.phase, FaultPhase::Armed { .. }) {
            self.phase = FaultPhase::Idle;
            book.say(Level::Info, "cancelled; nothing was injected");
        }
    }

    /// Enter on the confirmation: Cancel cancels; Inject injects what prepare found, once it
    /// has answered and if it did not refuse.
    pub fn press(&mut self, gate: &InjectGate, before: Before, book: &mut Book) -> FaultOutcome {
        let FaultPhase::Armed { plan, button, preview } = std::mem::replace(&mut self.phase, FaultPhase::Idle) else {
            return FaultOutcome::Nothing;
        };
        if button == Button::Cancel {
            book.say(Level::Info, "cancelled; nothing was injected");
            return FaultOutcome::Nothing;
        }
        match preview {
            Preview::Reading { id } => {
                book.say(
                    Level::Info,
                    "prepare is still reading what the fault will touch: confirm once the confirmation shows it",
                );
                self.phase = FaultPhase::Armed { plan, button, preview: Preview::Reading { id } };
                FaultOutcome::Nothing
            }
            Preview::Refused { why } => {
                book.say(Level::Warning, format!("refused: {why}"));
                let (preset, target) = (plan.preset, plan.target.to_string());
                book.record(EntryKind::InjectRefused { preset, target, reason: why });
                FaultOutcome::Refused
            }
            Preview::Found { prepared, at_ms } => {
                let age = book.t_ms().saturating_sub(at_ms);
                if age > PREVIEW_FRESH_MS || prepared.handle.fault_id != self.next_id {
                    let preview = self.read(&plan, book);
                    book.say(
                        Level::Warning,
                        format!(
                            "what prepare found is {} s old: reading it again; confirm what it finds now",
                            age / 1000
                        ),
                    );
                    self.phase = FaultPhase::Armed { plan, button: Button::Cancel, preview };
                    return FaultOutcome::Nothing;
                }
                self.inject_prepared(plan, prepared, gate, before, book)
            }
        }
    }
}
