//! The confirmation shows what the backend's `prepare` found (read-only: nothing is applied)
//! before the operator can confirm: the ConfigMap and key, the node's pods and which cannot be
//! evicted, the containers and images, the pods an engine will select. A fault prepare refuses
//! is refused there, with the reason, before anyone confirms it.
//!
//! Confirmed, the handle prepare gave is journaled and then applied (write-ahead, as for
//! `:inject`). A preview older than `PREVIEW_FRESH_MS` is read again first: what is applied is
//! what the operator saw, never a picture of minutes ago.

use super::event::Effect;
use super::fault::{self, Button, FaultPhase, FaultPlan};
use super::state::{AppState, Level};
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
pub fn ending(s: &AppState, preview: &Preview) -> (String, bool) {
    match preview {
        Preview::Found { prepared, .. } => match &prepared.ends_by_itself {
            Some(by) => (by.clone(), false),
            None if super::elsewhere::watchdog_alive(s) => {
                ("gameday watchdog (seen on the cluster) reverts it once this console is silent past its lease, or at its deadline".into(), false)
            }
            None => ("NOT ended by itself: only a console on the cluster or `gameday cleanup` reverts it".into(), true),
        },
        _ => (String::new(), false),
    }
}

/// Asks prepare about `plan` (for the fault number it will get) and says so.
pub fn read(s: &AppState, plan: &FaultPlan, fx: &mut Vec<Effect>) -> Preview {
    let id = s.next_fault_id;
    fx.push(Effect::Preview(fault::spec_of(s, id, plan)));
    Preview::Reading { id }
}

/// Prepare's answer to `spec`, if it is the question the confirmation that shows asked (any
/// other is late, for a confirmation gone, and changed nothing).
pub fn on_previewed(s: &mut AppState, spec: &FaultSpec, result: Result<Prepared, String>) {
    let now = s.now.t_ms;
    let asked = match &s.fault {
        FaultPhase::Armed { plan, preview: Preview::Reading { id }, .. } => fault::spec_of(s, *id, plan),
        _ => return,
    };
    if asked != *spec {
        return;
    }
    let FaultPhase::Armed { preview, .. } = &mut s.fault else { return };
    *preview = match result {
        Ok(prepared) => Preview::Found { prepared, at_ms: now },
        Err(why) => Preview::Refused { why },
    };
}

/// Enter on the confirmation: Cancel cancels; Inject injects what prepare found, once it has
/// answered and if it did not refuse.
pub fn press(s: &mut AppState, fx: &mut Vec<Effect>) {
    let FaultPhase::Armed { plan, button, preview } = std::mem::replace(&mut s.fault, FaultPhase::Idle) else {
        return;
    };
    if button == Button::Cancel {
        return s.say(Level::Info, "cancelled; nothing was injected");
    }
    match preview {
        Preview::Reading { id } => {
            s.say(
                Level::Info,
                "prepare is still reading what the fault will touch: confirm once the confirmation shows it",
            );
            s.fault = FaultPhase::Armed { plan, button, preview: Preview::Reading { id } };
        }
        Preview::Refused { why } => {
            s.say(Level::Warning, format!("refused: {why}"));
            let (preset, target) = (plan.preset, plan.target.to_string());
            s.record(EntryKind::InjectRefused { preset, target, reason: why }, fx);
        }
        Preview::Found { prepared, at_ms } => {
            let age = s.now.t_ms.saturating_sub(at_ms);
            if age > PREVIEW_FRESH_MS || prepared.handle.fault_id != s.next_fault_id {
                let preview = read(s, &plan, fx);
                s.say(
                    Level::Warning,
                    format!("what prepare found is {} s old: reading it again; confirm what it finds now", age / 1000),
                );
                s.fault = FaultPhase::Armed { plan, button: Button::Cancel, preview };
                return;
            }
            fault::inject_prepared(s, plan, prepared.handle, fx);
        }
    }
}
