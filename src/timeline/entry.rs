//! One line of the session journal: what happened, when (wall time and time since start).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use super::time::{median, seconds, since, Stamp};

use crate::model::ParamValue;
use crate::model::{BackendInfo, Mode, RevertHandle, Target};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub seq: u64,
    pub wall: DateTime<Utc>,
    pub t_ms: u64,
    #[serde(flatten)]
    pub kind: EntryKind,
}

/// One service's signals at one moment; `None` where they were not measured (or unknown).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ServiceReading {
    pub service: String,
    /// Requests that succeeded, 0.0-1.0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p95_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rps: Option<f64>,
    /// CPU in millicores, memory in bytes, summed over its pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_m: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_bytes: Option<f64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Health {
    Unknown,
    Healthy,
    Degraded,
    Down,
}

impl Health {
    /// Orders states from best to worst; unknown sits between healthy and degraded.
    pub fn severity(self) -> u8 {
        match self {
            Health::Healthy => 0,
            Health::Unknown => 1,
            Health::Degraded => 2,
            Health::Down => 3,
        }
    }
}

impl std::fmt::Display for Health {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Health::Unknown => "unknown",
            Health::Healthy => "healthy",
            Health::Degraded => "degraded",
            Health::Down => "down",
        })
    }
}

/// What kind of note: action items gather in their own section of the report.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoteTag {
    #[default]
    Observation,
    ActionItem,
    Question,
}

impl NoteTag {
    pub fn next(self) -> NoteTag {
        match self {
            NoteTag::Observation => NoteTag::ActionItem,
            NoteTag::ActionItem => NoteTag::Question,
            NoteTag::Question => NoteTag::Observation,
        }
    }

    /// A note typed as "action: ...", "todo: ...", "question: ...", "q: ...", "obs: ...".
    pub fn from_prefix(text: &str) -> (NoteTag, String) {
        let Some((head, rest)) = text.split_once(':') else { return (NoteTag::Observation, text.to_string()) };
        let tag = match head.trim().to_lowercase().as_str() {
            "action" | "action item" | "todo" | "ai" => NoteTag::ActionItem,
            "question" | "q" => NoteTag::Question,
            "observation" | "obs" => NoteTag::Observation,
            _ => return (NoteTag::Observation, text.to_string()),
        };
        (tag, rest.trim().to_string())
    }
}

/// An action item's words: leading `@owner` and `due:YYYY-MM-DD` taken out of the text
/// (`@ben due:2026-12-14 alert on carts' p95`), in either order; the rest is the item.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ActionItem {
    pub owner: String,
    pub due: Option<String>,
    pub text: String,
}

impl ActionItem {
    pub fn parse(text: &str) -> Result<ActionItem, String> {
        let mut item = ActionItem::default();
        let mut rest = text.trim_start();
        loop {
            let (word, after) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
            if let Some(owner) = word.strip_prefix('@').filter(|o| !o.is_empty() && item.owner.is_empty()) {
                item.owner = owner.to_string();
            } else if let Some(date) = word.strip_prefix("due:").filter(|_| item.due.is_none()) {
                let d = chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d")
                    .map_err(|_| format!("due:{date} is not a date: write due:YYYY-MM-DD, e.g. due:2026-12-14"))?;
                item.due = Some(d.format("%Y-%m-%d").to_string());
            } else {
                break;
            }
            rest = after.trim_start();
        }
        item.text = rest.trim_end().to_string();
        Ok(item)
    }
}

impl std::fmt::Display for NoteTag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            NoteTag::Observation => "observation",
            NoteTag::ActionItem => "action item",
            NoteTag::Question => "question",
        })
    }
}

/// A drill responder's mark.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mark {
    /// They see that something is wrong.
    Detected,
    /// They believe the impact is over.
    Mitigated,
    /// A note for the facilitator's timeline.
    Note,
    /// They pulled the emergency stop: the facilitator's console aborts its fault.
    Stop,
}

impl Mark {
    pub fn shout(self) -> &'static str {
        match self {
            Mark::Detected => "DETECTED",
            Mark::Mitigated => "MITIGATED",
            Mark::Note => "a note",
            Mark::Stop => "EMERGENCY STOP",
        }
    }
}

impl std::fmt::Display for Mark {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Mark::Detected => "detected",
            Mark::Mitigated => "mitigated",
            Mark::Note => "note",
            Mark::Stop => "emergency stop",
        })
    }
}

/// Why a fault ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndReason {
    /// Its duration ran out.
    Expired,
    /// Someone or something pulled the stop: "Space", ":abort", "quit", "SIGTERM", ...
    Aborted { by: String },
    /// Applying it failed; whatever part was applied is reverted.
    InjectFailed,
    /// It stopped being in effect by itself before its time (the target restarted and took the
    /// qdisc with it): what is left of it (a helper, a marker) is cleaned up.
    Lapsed { why: String },
    /// Its engine ran it to its end and said how (a Litmus verdict); what is left of it is
    /// tidied up.
    Finished { how: String },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EntryKind {
    SessionStart {
        session: String,
        backend: BackendInfo,
        version: String,
    },
    SessionEnd {
        reason: String,
    },
    /// The console stopped writing without recording its end (killed, crashed, its machine
    /// gone): found later by `by`. Nothing was watched after `last_ms`, its last entry.
    ConsoleLost {
        last_ms: u64,
        by: String,
    },
    /// The session was resumed by a new console: the timeline goes on in the same file.
    SessionResumed {
        version: String,
    },
    InjectRequested {
        fault: u64,
        preset: String,
        action: String,
        target: Target,
        params: BTreeMap<String, ParamValue>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        mode: Option<Mode>,
        duration_ms: u64,
        blast_radius: String,
        hypothesis: String,
    },
    /// Prepared: `handle` says how to undo it, and is on disk before anything is applied.
    InjectStarted {
        fault: u64,
        handle: RevertHandle,
    },
    /// Aborted while it was being prepared: nothing was applied.
    InjectCancelled {
        fault: u64,
    },
    InjectConfirmed {
        fault: u64,
        handle: RevertHandle,
    },
    InjectFailed {
        fault: u64,
        error: String,
    },
    InjectRefused {
        preset: String,
        target: String,
        reason: String,
    },
    FaultEnding {
        fault: u64,
        reason: EndReason,
    },
    RevertStarted {
        fault: u64,
        attempt: u32,
    },
    RevertConfirmed {
        fault: u64,
        attempt: u32,
        /// What the revert left as it found it (changed by someone since the fault, or undone
        /// already by someone else), a line each.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        kept: Vec<String>,
    },
    RevertFailed {
        fault: u64,
        attempt: u32,
        error: String,
        retrying: bool,
    },
    HealthChanged {
        service: String,
        from: Health,
        to: Health,
        /// What was seen: "success 71.5%, p95 1014 ms", "ready 2/3".
        reading: String,
    },
    Cluster {
        object: String,
        message: String,
        warning: bool,
    },
    Note {
        text: String,
        #[serde(default)]
        tag: NoteTag,
        /// Who wrote it (`--user`, the config's `user`, or the login name).
        #[serde(default, skip_serializing_if = "String::is_empty")]
        author: String,
        /// The fault that was live when it was written.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        fault: Option<u64>,
        /// An action item's owner (`@ben`), without the `@`.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        owner: String,
        /// An action item's due date, `YYYY-MM-DD`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        due: Option<String>,
    },
    /// An alert the team expected (or did not) ticked as fired or silent (`:alert NAME
    /// fired|silent [note]`), when it was ticked.
    AlertTicked {
        name: String,
        fired: bool,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        note: String,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        author: String,
        /// The fault that was live (or the last one) when it was ticked.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        fault: Option<u64>,
    },
    /// A plain session (no run-sheet) is given a title, a facilitator or participants
    /// (`:title`, `:who`); the report's header says them.
    SessionDetails {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        title: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        facilitator: Option<String>,
        /// (name, role)
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        participants: Vec<(String, String)>,
    },
    ReportExported {
        path: String,
    },
    /// A fault an earlier session left behind (its journal or markers say so).
    LeftoverFound {
        session: String,
        fault: u64,
        what: String,
        found_by: String,
    },
    LeftoverReverted {
        session: String,
        fault: u64,
        attempt: u32,
    },
    LeftoverRevertFailed {
        session: String,
        fault: u64,
        attempt: u32,
        error: String,
    },
    /// The operator chose to leave it in place.
    LeftoverKept {
        session: String,
        fault: u64,
    },
    /// A fault an earlier session left, that ended by itself while no console ran (its helper's
    /// time ran out): recorded, nothing to revert.
    LeftoverExpired {
        session: String,
        fault: u64,
        what: String,
        how: String,
    },
    /// What steady state means in this session: the hypothesis' checks and the stop
    /// conditions, as written ("front-end success >= 99.0% over 30s").
    SteadyStateDeclared {
        hypothesis: String,
        checks: Vec<String>,
        stops: Vec<String>,
    },
    /// A probe was added from the console (`:probe`).
    ProbeAdded {
        probe: String,
        what: String,
    },
    /// A probe's state changed: ok, failing or unknown.
    ProbeChanged {
        probe: String,
        from: String,
        to: String,
        detail: String,
    },
    /// The hypothesis checked as a fault was requested: holds, broken or unknown.
    SteadyStateBefore {
        fault: u64,
        verdict: String,
        detail: String,
    },
    /// The hypothesis broke while the fault was live: the time to detect.
    HypothesisBroken {
        fault: u64,
        after_ms: u64,
        detail: String,
    },
    /// A stop condition was breached for its hold time: the fault is aborted.
    StopCondition {
        fault: u64,
        check: String,
        reading: String,
        threshold: String,
        held_ms: u64,
    },
    /// Steady state came back after the revert: the time to recover.
    SteadyStateRecovered {
        fault: u64,
        after_ms: u64,
    },
    /// Steady state broke and held again while the fault was still live (`after_ms` since the
    /// inject): the system recovered before the revert.
    SteadyStateHeldAgain {
        fault: u64,
        after_ms: u64,
    },
    /// The fault's expectation (its run-sheet step's checks) broke while it was live.
    ExpectationBroken {
        fault: u64,
        after_ms: u64,
        detail: String,
    },
    /// A run-sheet was loaded: who, where, how many steps.
    PlanLoaded {
        title: String,
        facilitator: String,
        environment: String,
        /// (name, role)
        participants: Vec<(String, String)>,
        steps: usize,
        /// Each step's name, in order (so a step never run is named in the report).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        names: Vec<String>,
    },
    /// A step of the run-sheet begins, with the hypothesis written before the run.
    StepStarted {
        step: usize,
        name: String,
        preset: String,
        target: String,
        hypothesis: String,
        expected_alerts: Vec<String>,
        checks: Vec<String>,
    },
    /// How a step went: held, broken, failed (could not inject) or skipped.
    StepOutcome {
        step: usize,
        name: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        fault: Option<u64>,
        verdict: crate::model::StepVerdict,
        detail: String,
    },
    /// A responder joined a drill on the session (`gameday --drill <ID>`).
    DrillJoined {
        session: String,
        responder: String,
    },
    /// A responder's mark. In the responder's own file it is bare; the facilitator's timeline
    /// imports it once (`their_seq` is its number in the responder's file) and attributes it to the
    /// fault it is about, timed from that fault's inject.
    DrillMark {
        responder: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        their_seq: Option<u64>,
        mark: Mark,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        note: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        fault: Option<u64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        after_ms: Option<u64>,
    },
    /// The facilitator showed the responders which faults were injected: those ended so far
    /// (`faults` in all), `new` of them for the first time in this round.
    DrillRevealed {
        faults: usize,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        new: Vec<u64>,
    },
    /// This console asked another one (`of`, holding the cluster) for an emergency stop.
    StopAsked {
        of: String,
        session: String,
        fault: u64,
        what: String,
        /// Who asked (`user@host`).
        by: String,
    },
    /// This console took the cluster lock over from another console (`who`) that went silent
    /// or left its fault past its deadline, and reverted that fault by its markers.
    TookOver {
        who: String,
        session: String,
        fault: u64,
        what: String,
        why: String,
        /// What was reverted, a line each (nothing: its markers were gone already).
        reverted: Vec<String>,
    },
    /// A live fault's window made longer or shorter (`:extend`, `:shorten`) by `by_ms`; it now
    /// lasts `duration_ms` in all.
    FaultResized {
        fault: u64,
        by_ms: i64,
        duration_ms: u64,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        author: String,
    },
    /// The abort key was pressed again while the revert it started was in flight: recorded once,
    /// and nothing more is sent.
    AbortRepeated {
        fault: u64,
        by: String,
    },
    /// Prepared but never applied (the journal could not record how to undo it, or the console
    /// died before applying it): nothing of it is in the system.
    InjectNotApplied {
        fault: u64,
        reason: String,
    },
    /// The signals of the services a fault touches, as the console had them then: taken
    /// through the fault's window (and a while after its revert) for the report's charts. Not
    /// shown on the timeline.
    Readings {
        fault: u64,
        services: Vec<ServiceReading>,
    },
    /// A fault that ended without a revert of this console's: how it ended ("the console was
    /// killed; the simulated cluster died with it, so nothing is left").
    FaultClosed {
        fault: u64,
        how: String,
    },
    /// The console did not run for `for_ms` from `from_ms` (SIGSTOP, Ctrl-Z, a laptop asleep, a
    /// starved machine): nothing was watched then. `fault`: the live fault whose duration ended
    /// meanwhile (at `due_ms`), so it is reverted late.
    ConsoleStopped {
        from_ms: u64,
        for_ms: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        fault: Option<u64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        due_ms: Option<u64>,
    },
    /// Something about the console itself: stopped and continued, the journal unwritable then
    /// written again, a config file passed over.
    Console {
        message: String,
        warning: bool,
    },
    /// An entry of a kind (or shape) this version does not know, kept as it was read.
    Unknown {
        name: String,
        fields: serde_json::Value,
    },
}

impl EntryKind {
    /// The same entry with every string cleaned of escape sequences and control characters
    /// (line breaks and tabs stay).
    pub fn cleaned(self) -> EntryKind {
        let Ok(mut v) = serde_json::to_value(&self) else { return self };
        if !crate::text::clean_json(&mut v) {
            return self;
        }
        serde_json::from_value(v).unwrap_or(self)
    }

    /// Whether the entry is one a person reads on the timeline (the console's pane, the CI log,
    /// the report's timeline); readings are the charts' data.
    pub fn on_timeline(&self) -> bool {
        !matches!(self, EntryKind::Readings { .. })
    }

    /// The fault this entry is about, if any.
    pub fn fault(&self) -> Option<u64> {
        use EntryKind::*;
        match self {
            InjectRequested { fault, .. }
            | InjectStarted { fault, .. }
            | InjectCancelled { fault }
            | InjectConfirmed { fault, .. }
            | InjectFailed { fault, .. }
            | FaultEnding { fault, .. }
            | RevertStarted { fault, .. }
            | RevertConfirmed { fault, .. }
            | RevertFailed { fault, .. }
            | SteadyStateBefore { fault, .. }
            | HypothesisBroken { fault, .. }
            | StopCondition { fault, .. }
            | SteadyStateRecovered { fault, .. }
            | SteadyStateHeldAgain { fault, .. }
            | ExpectationBroken { fault, .. }
            | AbortRepeated { fault, .. }
            | FaultResized { fault, .. }
            | InjectNotApplied { fault, .. }
            | Readings { fault, .. }
            | FaultClosed { fault, .. } => Some(*fault),
            ConsoleStopped { fault, .. } => *fault,
            _ => None,
        }
    }
}
