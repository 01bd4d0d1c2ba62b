//! Drills: an on-call responder practises on faults they are not told about.
//!
//! The facilitator runs the session as usual. A responder joins it from a second terminal
//! (`gameday --drill <ID>`): their console shows the topology and health but no fault, and
//! writes their marks (detected, mitigated, notes, an emergency stop) to their own file next to
//! the session. Each side reads the other's file as it grows (`Event::Peer`); on a backend with a
//! drill channel (Kubernetes) each side publishes what the other needs (`for_peers`) in the
//! system instead, and follows the other's by watch, so the two may be on different machines:
//! - the facilitator imports each mark once, attributed to the fault it is about and timed from
//!   that fault's inject (time to detect, time to mitigate); an emergency stop goes through the
//!   same abort path as the abort key;
//! - the responder keeps the facilitator's timeline hidden until `:reveal`, and, on a backend
//!   that lives in its own process (the demo), replays the facilitator's faults in it so that
//!   it shows what a shared cluster would.

use std::collections::BTreeSet;

use super::book::{Book, Level};
use super::event::Effect;
use crate::model::{FaultSpec, Topology};
use crate::timeline::{drill, Entry, EntryKind, Mark};

/// A console that is a drill's responder.
#[derive(Clone, Debug, PartialEq)]
pub struct Responder {
    pub name: String,
    /// The facilitator's session.
    pub session: String,
    /// Replay the facilitator's faults in this console's own backend (the demo cluster).
    pub mirror: bool,
    /// The facilitator's timeline as read so far; hidden until revealed.
    pub seen: Vec<Entry>,
    /// Faults replayed in this console's backend now.
    pub mirrored: BTreeSet<u64>,
}

impl Responder {
    /// The facilitator has revealed faults (at least once).
    pub fn revealed(&self) -> bool {
        self.seen.iter().any(|e| matches!(e.kind, EntryKind::DrillRevealed { .. }))
    }

    /// The faults revealed so far: those that had ended when the facilitator last revealed.
    /// Faults after that stay hidden until the next reveal.
    pub fn revealed_faults(&self) -> BTreeSet<u64> {
        let Some(last) = self.seen.iter().rposition(|e| matches!(e.kind, EntryKind::DrillRevealed { .. })) else {
            return BTreeSet::new();
        };
        ended_faults(&self.seen[..last])
    }

    /// The facilitator's session has ended (and was not resumed since).
    pub fn ended(&self) -> bool {
        self.seen
            .iter()
            .rev()
            .find_map(|e| match e.kind {
                EntryKind::SessionEnd { .. } => Some(true),
                EntryKind::SessionResumed { .. } => Some(false),
                _ => None,
            })
            .unwrap_or(false)
    }
}

/// What a drill tells the others.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DrillOutcome {
    /// A responder pulled the emergency stop while a fault is live: abort it.
    EmergencyStop { responder: String },
}

/// A responder's emergency stop is sent again only after this long (a held key repeats).
pub const STOP_REPEAT_MS: u64 = 2_000;

impl Responder {
    /// This console joins `session` as responder `name`.
    pub fn join(session: &str, name: &str, mirror: bool, book: &mut Book) -> Responder {
        book.record(EntryKind::DrillJoined { session: session.to_string(), responder: name.to_string() });
        book.say(Level::Info, "drill: watch the system; d when you detect a problem, m when it is mitigated");
        Responder {
            name: name.to_string(),
            session: session.to_string(),
            mirror,
            seen: Vec::new(),
            mirrored: BTreeSet::new(),
        }
    }

    /// The responder marks something (a key, a command, a note). `lost`: why this console cannot
    /// reach the facilitator now (its connection is lost): the mark goes once it is back, and
    /// the responder is told so, not that it was sent.
    pub fn mark(&self, mark: Mark, note: &str, lost: Option<&str>, book: &mut Book) {
        // A held Space repeats: one emergency stop is enough while the last is fresh.
        if mark == Mark::Stop {
            let last_stop = book.timeline.iter().rev().find_map(|e| match &e.kind {
                EntryKind::DrillMark { mark: Mark::Stop, their_seq: None, .. } => Some(e.t_ms),
                _ => None,
            });
            if last_stop.is_some_and(|t| book.t_ms().saturating_sub(t) < STOP_REPEAT_MS) {
                return book.say(Level::Warning, "EMERGENCY STOP already sent: the facilitator's console is reverting");
            }
        }
        let responder = self.name.clone();
        let kind = EntryKind::DrillMark {
            responder,
            their_seq: None,
            mark,
            note: note.to_string(),
            fault: None,
            after_ms: None,
        };
        book.record(kind);
        if let Some(why) = lost {
            let (what, level) = match mark {
                Mark::Stop => {
                    ("EMERGENCY STOP NOT DELIVERED yet: stop the fault another way if it is urgent", Level::Error)
                }
                Mark::Detected | Mark::Mitigated | Mark::Note => ("mark kept", Level::Warning),
            };
            return book.say(level, format!("{what} (it goes when the facilitator's console is reached again: {why})"));
        }
        let said = match mark {
            Mark::Detected => "marked DETECTED: the facilitator's console records the time",
            Mark::Mitigated => "marked MITIGATED: the facilitator's console records the time",
            Mark::Note => "note sent to the facilitator's timeline",
            Mark::Stop => "EMERGENCY STOP sent: the facilitator's console reverts its fault",
        };
        book.say(if mark == Mark::Stop { Level::Warning } else { Level::Info }, said);
    }

    /// New entries of the facilitator's timeline. `topology` and `session` are this console's
    /// own (the demo's replay hits the pods its own cluster has).
    pub fn on_facilitator(&mut self, entries: Vec<Entry>, topology: &Topology, session: &str, book: &mut Book) {
        let (was_revealed, was_ended) = (self.revealed_faults(), self.ended());
        self.seen.extend(entries);
        let (newly_revealed, newly_ended) = (self.revealed_faults() != was_revealed, !was_ended && self.ended());
        if self.mirror {
            self.replay(topology, session, book);
        }
        if newly_revealed {
            book.say(Level::Warning, "the facilitator revealed the faults: see the drill panel");
        } else if newly_ended {
            book.say(Level::Info, "the facilitator's session has ended; q leaves");
        }
    }

    /// Replays in this console's backend the faults the facilitator has in the system now.
    fn replay(&mut self, topology: &Topology, session: &str, book: &mut Book) {
        let mut live: BTreeSet<u64> = BTreeSet::new();
        for e in &self.seen {
            match &e.kind {
                EntryKind::InjectConfirmed { fault, .. } => {
                    live.insert(*fault);
                }
                EntryKind::FaultEnding { fault, .. } => {
                    live.remove(fault);
                }
                _ => {}
            }
        }
        for id in self.mirrored.difference(&live) {
            book.effect(Effect::Unmirror(*id));
        }
        for id in live.difference(&self.mirrored) {
            if let Some(spec) = spec_of(topology, session, &self.seen, *id) {
                book.effect(Effect::Mirror(spec));
            }
        }
        self.mirrored = live;
    }
}

/// A responder's entry, in the facilitator's console: a join is recorded once; a mark is
/// imported once, attributed to the fault it is about and timed from its inject. An emergency
/// stop with a fault live is an abort (`fault_live`: this console has one).
pub fn import(name: &str, e: Entry, session: &str, fault_live: bool, book: &mut Book) -> Option<DrillOutcome> {
    match e.kind {
        EntryKind::DrillJoined { session: joined, .. } => {
            let known = book
                .timeline
                .iter()
                .any(|t| matches!(&t.kind, EntryKind::DrillJoined { responder, .. } if responder == name));
            if !known && session == joined {
                book.record(EntryKind::DrillJoined { session: joined, responder: name.to_string() });
                book.say(
                    Level::Info,
                    format!("responder {name} joined the drill (:reveal shows them the faults at the end)"),
                );
            }
            None
        }
        EntryKind::DrillMark { mark, note, .. } => {
            let imported = book.timeline.iter().any(|t| {
                matches!(&t.kind, EntryKind::DrillMark { responder, their_seq: Some(q), .. } if responder == name && *q == e.seq)
            });
            if imported {
                return None;
            }
            let about = drill::attribute(&book.timeline, e.wall);
            let (fault, after_ms) = (about.map(|a| a.0), about.map(|a| a.1));
            book.record(EntryKind::DrillMark {
                responder: name.to_string(),
                their_seq: Some(e.seq),
                mark,
                note: note.clone(),
                fault,
                after_ms,
            });
            let when = match about {
                Some((f, ms)) => format!("{} after fault #{f}", crate::timeline::entry::seconds(ms)),
                None => "before any fault (a false alarm)".to_string(),
            };
            match mark {
                Mark::Stop if fault_live => {
                    return Some(DrillOutcome::EmergencyStop { responder: name.to_string() });
                }
                Mark::Stop => {
                    book.say(Level::Info, format!("responder {name} asked for an emergency stop; no fault is live"))
                }
                Mark::Note => book.say(Level::Info, format!("responder {name}: {note}")),
                Mark::Detected | Mark::Mitigated => {
                    book.say(Level::Warning, format!("responder {name} marked {} {when}", mark.shout()))
                }
            }
            None
        }
        _ => None,
    }
}

/// The facilitator's fault `id`, on the pods this console's own topology has for its target.
fn spec_of(topology: &Topology, session: &str, seen: &[Entry], id: u64) -> Option<FaultSpec> {
    seen.iter().find_map(|e| match &e.kind {
        EntryKind::InjectRequested { fault, preset, action, target, params, mode, duration_ms, .. } if *fault == id => {
            // Its pods here: those of this console's own cluster.
            let pods = match mode {
                Some(_) => topology.live_pods(target),
                None => Vec::new(),
            };
            Some(FaultSpec {
                fault_id: id,
                session: session.to_string(),
                preset: preset.clone(),
                action: action.clone(),
                target: target.clone(),
                params: params.clone(),
                duration_ms: *duration_ms,
                pods,
                mode: *mode,
            })
        }
        _ => None,
    })
}

/// The faults that have ended (reverted, closed, never applied) in these entries.
fn ended_faults(entries: &[Entry]) -> BTreeSet<u64> {
    entries
        .iter()
        .filter_map(|e| match &e.kind {
            EntryKind::RevertConfirmed { fault, .. }
            | EntryKind::FaultClosed { fault, .. }
            | EntryKind::InjectNotApplied { fault, .. }
            | EntryKind::InjectCancelled { fault } => Some(*fault),
            _ => None,
        })
        .collect()
}

/// `:reveal`: the facilitator shows the responders the faults that have ended so far, in
/// rounds: each reveal adds those ended since the last one; a fault still live stays hidden.
pub fn reveal(fault_live: bool, book: &mut Book) {
    let d = drill::read(&book.timeline);
    if !d.is_drill() {
        return book.say(Level::Error, "no responder has joined a drill on this session (gameday --drill <ID>)");
    }
    if fault_live {
        return book.say(Level::Error, "reveal after the fault is reverted");
    }
    let ended = ended_faults(&book.timeline);
    let last = book.timeline.iter().rposition(|e| matches!(e.kind, EntryKind::DrillRevealed { .. }));
    let before = last.map(|i| ended_faults(&book.timeline[..i])).unwrap_or_default();
    let new: Vec<u64> = ended.difference(&before).copied().collect();
    if new.is_empty() {
        return book.say(Level::Error, "nothing new to reveal: no fault has ended since the last :reveal");
    }
    let count = new.len();
    book.record(EntryKind::DrillRevealed { faults: ended.len(), new });
    book.say(
        Level::Info,
        format!("revealed {count} more fault(s) ({} in all) to {}", ended.len(), d.responders.join(", ")),
    );
}

/// `:drill`: the command a responder types to join this session, on another machine when this
/// console serves its drill (the demo, Docker) or the cluster carries it (Kubernetes).
pub fn how_to_join(id: &str, kind: &str, served: Option<&super::event::Served>, book: &mut Book) {
    let said = match (served, kind) {
        // The command alone: the whole of it fits a status line of 80 columns.
        (Some(s), _) => s.command.clone(),
        (None, "kubernetes") => {
            format!("drill: responders join with gameday --drill {id} (any machine on this cluster)")
        }
        (None, kind) => format!("drill: responders on this machine join with gameday --{kind} --drill {id}"),
    };
    book.say(Level::Info, said);
}

/// This console serves its drill to other machines: on the record where (the join token stays
/// off it), and how far it reaches.
pub fn served(s: &super::event::Served, book: &mut Book) {
    let reach = match s.loopback {
        true => "this machine only (--drill-listen 0.0.0.0:0 serves others)",
        false => "other machines too",
    };
    let message = format!("drill served at {}: {reach}; :drill shows the command responders join with", s.at);
    book.record(EntryKind::Console { message, warning: false });
}

/// Whether the other side of a drill needs this entry, when it is carried to another machine
/// (`Backend::drill_channel`) rather than read from a file beside the journal: a responder's
/// joining and own marks; the facilitator's session start and end, faults, run-sheet steps,
/// imported marks and reveals (what the responder's panel and its reveal read). The rest of the
/// facilitator's timeline (health, probes, notes) stays on its machine.
pub fn for_peers(kind: &EntryKind, responder: bool) -> bool {
    if responder {
        return matches!(kind, EntryKind::DrillJoined { .. } | EntryKind::DrillMark { their_seq: None, .. });
    }
    matches!(
        kind,
        EntryKind::SessionStart { .. }
            | EntryKind::SessionEnd { .. }
            | EntryKind::SessionResumed { .. }
            | EntryKind::ConsoleLost { .. }
            | EntryKind::InjectRequested { .. }
            | EntryKind::InjectConfirmed { .. }
            | EntryKind::InjectCancelled { .. }
            | EntryKind::InjectFailed { .. }
            | EntryKind::InjectNotApplied { .. }
            | EntryKind::FaultEnding { .. }
            | EntryKind::RevertConfirmed { .. }
            | EntryKind::FaultClosed { .. }
            | EntryKind::StepStarted { .. }
            | EntryKind::StepOutcome { .. }
            | EntryKind::DrillJoined { .. }
            | EntryKind::DrillMark { .. }
            | EntryKind::DrillRevealed { .. }
    )
}

/// Refuses what a responder cannot do (inject, walk the run-sheet); true if refused.
pub fn refused(responder: bool, what: &str, book: &mut Book) -> bool {
    if responder {
        book.say(Level::Error, format!("{what}: not in a drill's responder console (the facilitator runs the faults)"));
    }
    responder
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::event::Served;

    fn said(id: &str, kind: &str, served: Option<&Served>) -> String {
        let mut book = Book::new(crate::timeline::Stamp::at(chrono::Utc::now(), 0));
        how_to_join(id, kind, served, &mut book);
        book.status.map(|s| s.text).unwrap_or_default()
    }

    #[test]
    fn a_stop_while_the_facilitator_cannot_be_reached_is_kept_and_never_said_sent() {
        let r = Responder {
            name: "bob".into(),
            session: "s".into(),
            mirror: false,
            seen: Vec::new(),
            mirrored: BTreeSet::new(),
        };
        let mut book = Book::new(crate::timeline::Stamp::at(chrono::Utc::now(), 0));
        r.mark(
            Mark::Stop,
            "",
            Some("lost the facilitator's console at 10.0.0.2:7420: the connection broke"),
            &mut book,
        );
        let status = book.status.clone().unwrap();
        assert_eq!(status.level, Level::Error);
        assert!(status.text.starts_with("EMERGENCY STOP NOT DELIVERED yet"), "{}", status.text);
        assert!(!status.text.contains(" sent"), "{}", status.text);
        assert!(matches!(book.timeline.last().map(|e| &e.kind), Some(EntryKind::DrillMark { mark: Mark::Stop, .. })));
        // Once it is back, it is sent as ever.
        let mut book = Book::new(crate::timeline::Stamp::at(chrono::Utc::now(), 0));
        r.mark(Mark::Detected, "", None, &mut book);
        assert!(book.status.unwrap().text.starts_with("marked DETECTED"));
    }

    #[test]
    fn drill_says_the_command_a_responder_types_and_where_it_reaches() {
        let command = "gameday --demo --drill s:0123456789abcdef@127.0.0.1:4000".to_string();
        let local = Served { command: command.clone(), at: "127.0.0.1:4000".into(), loopback: true };
        assert_eq!(said("s", "demo", Some(&local)), command, "the command alone: it fits 80 columns");
        assert!(said("s", "kubernetes", None).contains("gameday --drill s (any machine on this cluster)"));
        assert!(said("s", "docker", None).contains("on this machine join with gameday --docker --drill s"));
    }
}
