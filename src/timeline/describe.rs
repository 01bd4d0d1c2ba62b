//! Each entry in words: one line for the timeline pane, the CI log and the report.

use super::entry::{EndReason, EntryKind, Mark, NoteTag};
use super::time::{seconds, since};

impl EntryKind {
    /// A short one-line description for the timeline pane and the report.
    pub fn describe(&self) -> String {
        use EntryKind::*;
        match self {
            SessionStart { session, backend, .. } => {
                format!("session {session} started on {} ({})", backend.cluster, backend.kind)
            }
            SessionEnd { reason } => format!("session ended: {reason}"),
            ConsoleLost { last_ms, by } => format!(
                "the console stopped at {} without recording its end (killed or crashed); nothing was watched after that ({by})",
                since(*last_ms)
            ),
            SessionResumed { version } => format!("session resumed (gameday {version})"),
            InjectRequested { fault, preset, target, blast_radius, .. } => {
                format!("fault #{fault} requested: {preset} on {target} ({blast_radius})")
            }
            InjectStarted { fault, handle } => format!("fault #{fault} injecting: {}", handle.summary),
            InjectCancelled { fault } => format!("fault #{fault} cancelled before anything was applied"),
            InjectConfirmed { fault, handle } => {
                format!("fault #{fault} injected: {}", handle.summary)
            }
            InjectFailed { fault, error } => format!("fault #{fault} inject failed: {error}"),
            InjectRefused { preset, target, reason } => format!("inject {preset} on {target} refused: {reason}"),
            FaultEnding { fault, reason: EndReason::Expired } => format!("fault #{fault} duration over, reverting"),
            FaultEnding { fault, reason: EndReason::Aborted { by } } => format!("ABORT fault #{fault} ({by})"),
            FaultEnding { fault, reason: EndReason::InjectFailed } => {
                format!("fault #{fault} inject failed, reverting whatever was applied")
            }
            FaultEnding { fault, reason: EndReason::Lapsed { why } } => {
                format!("fault #{fault} NO LONGER IN EFFECT: {why}; cleaning up what is left of it")
            }
            FaultEnding { fault, reason: EndReason::Finished { how } } => {
                format!("fault #{fault} finished by itself: {how}; tidying up what is left of it")
            }
            RevertStarted { fault, attempt } => {
                format!("fault #{fault} revert started (attempt {attempt})")
            }
            RevertConfirmed { fault, attempt, kept } if kept.is_empty() => {
                format!("fault #{fault} revert confirmed (attempt {attempt})")
            }
            RevertConfirmed { fault, attempt, kept } => {
                format!("fault #{fault} revert confirmed (attempt {attempt}); left as it is: {}", kept.join("; "))
            }
            RevertFailed { fault, attempt, error, retrying } => format!(
                "fault #{fault} revert FAILED (attempt {attempt}): {error}{}",
                if *retrying { "; retrying" } else { "; GIVING UP, fault may still be active" }
            ),
            HealthChanged { service, from, to, reading } => format!("{service} {from} > {to} ({reading})"),
            Readings { fault, services } => {
                let names: Vec<&str> = services.iter().map(|r| r.service.as_str()).collect();
                format!("fault #{fault}: signals of {}", names.join(", "))
            }
            Cluster { object, message, .. } => format!("{object}: {message}"),
            ConsoleStopped { from_ms, for_ms, fault, due_ms } => {
                let mut said = format!(
                    "the console did not run for {} from {} (stopped or asleep): nothing was watched then",
                    seconds(*for_ms),
                    since(*from_ms)
                );
                if let (Some(f), Some(due)) = (fault, due_ms) {
                    said.push_str(&format!(
                        "; fault #{f}'s duration ended meanwhile, at {}: it is reverted now, {} late",
                        since(*due),
                        seconds((from_ms + for_ms).saturating_sub(*due))
                    ));
                }
                said
            }
            FaultResized { fault, by_ms, duration_ms, author } => {
                let word = if *by_ms >= 0 { "extended" } else { "shortened" };
                let by = if author.is_empty() { String::new() } else { format!(" by {author}") };
                format!(
                    "fault #{fault} {word}{by} by {}: it lasts {} in all",
                    seconds(by_ms.unsigned_abs()),
                    seconds(*duration_ms)
                )
            }
            AlertTicked { name, fired, note, author, fault } => {
                let mut about = Vec::new();
                if !author.is_empty() {
                    about.push(format!("ticked by {author}"));
                }
                if let Some(f) = fault {
                    about.push(format!("fault #{f}"));
                }
                let word = if *fired { "FIRED" } else { "did not fire" };
                let about = if about.is_empty() { String::new() } else { format!(" ({})", about.join(", ")) };
                let note = if note.is_empty() { String::new() } else { format!(": {note}") };
                format!("alert {name} {word}{about}{note}")
            }
            Note { text, tag, author, fault, owner, due } => {
                let mut about = Vec::new();
                if *tag != NoteTag::Observation {
                    about.push(tag.to_string());
                }
                if !author.is_empty() {
                    about.push(author.clone());
                }
                if !owner.is_empty() {
                    about.push(format!("owner @{owner}"));
                }
                if let Some(due) = due {
                    about.push(format!("due {due}"));
                }
                if let Some(f) = fault {
                    about.push(format!("during fault #{f}"));
                }
                match about.is_empty() {
                    true => format!("note: {text}"),
                    false => format!("note ({}): {text}", about.join(", ")),
                }
            }
            SessionDetails { title, facilitator, participants } => {
                let mut said = Vec::new();
                if let Some(t) = title {
                    said.push(format!("title \"{t}\""));
                }
                if let Some(f) = facilitator {
                    said.push(format!("facilitator {f}"));
                }
                if !participants.is_empty() {
                    let who: Vec<String> = participants.iter().map(|(n, r)| format!("{n} ({r})")).collect();
                    said.push(format!("participants {}", who.join(", ")));
                }
                format!("session: {}", said.join("; "))
            }
            ReportExported { path } => format!("report exported to {path}"),
            LeftoverFound { session, fault, what, found_by } => {
                format!("left behind by session {session}: fault #{fault} {what} (found in its {found_by})")
            }
            LeftoverReverted { session, fault, attempt } => {
                format!("reverted fault #{fault} of session {session} (confirmed, attempt {attempt})")
            }
            LeftoverRevertFailed { session, fault, attempt, error } => {
                format!("revert of fault #{fault} of session {session} FAILED (attempt {attempt}): {error}; retrying")
            }
            LeftoverKept { session, fault } => format!("fault #{fault} of session {session} left in place by choice"),
            LeftoverExpired { session, fault, what, how } => {
                format!("fault #{fault} of session {session} ({what}) ended by itself while no console ran: {how}")
            }
            SteadyStateDeclared { hypothesis, checks, stops } => {
                let stops = if stops.is_empty() { "none".to_string() } else { stops.join("; ") };
                format!("hypothesis \"{hypothesis}\": {}; stop conditions: {stops}", checks.join(", "))
            }
            ProbeAdded { probe, what } => format!("probe {probe} added: {what}"),
            ProbeChanged { probe, from, to, detail } => format!("probe {probe} {from} > {to} ({detail})"),
            SteadyStateBefore { fault, verdict, detail } => match verdict.as_str() {
                "holds" => format!("fault #{fault}: steady state holds before the inject ({detail})"),
                "broken" => format!("fault #{fault}: NOT in steady state, injected anyway ({detail})"),
                _ => format!("fault #{fault}: steady state unknown before the inject ({detail})"),
            },
            HypothesisBroken { fault, after_ms, detail } => {
                format!("fault #{fault}: hypothesis broken {} after the inject ({detail})", seconds(*after_ms))
            }
            StopCondition { fault, check, reading, threshold, held_ms } => format!(
                "STOP CONDITION for fault #{fault}: {reading}, wanted {threshold} ({check}), breached for {}",
                seconds(*held_ms)
            ),
            SteadyStateRecovered { fault, after_ms } => {
                format!("fault #{fault}: steady state recovered {} after the revert", seconds(*after_ms))
            }
            SteadyStateHeldAgain { fault, after_ms } => format!(
                "fault #{fault}: steady state holds again {} after the inject, before the revert",
                seconds(*after_ms)
            ),
            ExpectationBroken { fault, after_ms, detail } => {
                format!("fault #{fault}: expectation broken {} after the inject ({detail})", seconds(*after_ms))
            }
            PlanLoaded { title, steps, .. } => format!("run-sheet \"{title}\" loaded: {steps} steps"),
            StepStarted { step, name, preset, target, hypothesis, .. } => {
                format!("step {step} \"{name}\": {preset} on {target}; hypothesis: {hypothesis}")
            }
            StepOutcome { step, name, verdict, detail, .. } => format!("step {step} \"{name}\": {verdict} ({detail})"),
            DrillJoined { session, responder } => {
                format!("responder {responder} joined the drill on session {session}")
            }
            DrillMark { responder, their_seq, mark, note, fault, after_ms } => {
                // Attributed when the facilitator's console imported it (`their_seq` is set).
                let about = match (fault, after_ms, their_seq) {
                    (Some(f), Some(ms), _) => format!(" {} after fault #{f}", seconds(*ms)),
                    (_, _, Some(_)) => " before any fault".into(),
                    _ => String::new(),
                };
                let note = if note.is_empty() { String::new() } else { format!(": {note}") };
                match mark {
                    Mark::Note => format!("responder {responder}{note}"),
                    _ => format!("responder {responder} marked {}{about}{note}", mark.shout()),
                }
            }
            StopAsked { of, session, fault, what, by } => {
                format!("EMERGENCY STOP asked by {by} of {of}: {what} (session {session}, fault #{fault})")
            }
            TookOver { who, session, fault, what, why, reverted } if reverted.is_empty() => format!(
                "took over the cluster from {who} ({why}): {what} (session {session}, fault #{fault}) had nothing left to revert"
            ),
            TookOver { who, session, fault, what, why, reverted } => format!(
                "took over the cluster from {who} ({why}) and reverted {what} (session {session}, fault #{fault}): {}",
                reverted.join("; ")
            ),
            DrillRevealed { faults, new } if !new.is_empty() => {
                let ids: Vec<String> = new.iter().map(|f| format!("#{f}")).collect();
                format!("the facilitator revealed fault {} to the responders ({faults} revealed in all)", ids.join(", "))
            }
            DrillRevealed { faults, .. } => format!("the facilitator revealed the drill's {faults} fault(s)"),
            AbortRepeated { fault, by } => {
                format!("abort pressed again ({by}) while the revert of fault #{fault} is in flight; not sent again")
            }
            InjectNotApplied { fault, reason } => format!("fault #{fault} was never applied: {reason}"),
            FaultClosed { fault, how } => format!("fault #{fault} ended: {how}"),
            Console { message, .. } => format!("console: {message}"),
            Unknown { name, .. } => format!("({name}: an entry this version of gameday does not know)"),
        }
    }
}
