//! A drill read back from a timeline: per fault, what it was, and when the responders marked
//! it detected and mitigated. The report, the JSON export and the responder's reveal panel all
//! read it from here.

use serde::Serialize;

use super::{EndReason, Entry, EntryKind, Mark};

/// The longest name a drill's responder may go by (a drill server takes no longer one).
pub const NAME_LIMIT: usize = 64;

/// One fault of the session and the responders' first marks on it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FaultRow {
    pub fault: u64,
    /// The run-sheet step it belongs to.
    pub step: Option<StepRef>,
    pub preset: String,
    pub target: String,
    /// When it was confirmed in the system (ms since the session start).
    pub injected_ms: u64,
    /// How it ended: "expired", "aborted by Space", ...; `None` while live.
    pub ended: Option<String>,
    /// The first "detected" mark.
    pub detected: Option<MarkAt>,
    /// The first "mitigated" mark.
    pub mitigated: Option<MarkAt>,
    /// Each responder's own first marks on it, in the order they joined.
    pub by_responder: Vec<ResponderMarks>,
    /// The reveal round that showed it to the responders (1, 2, ...), if one did.
    pub round: Option<usize>,
}

/// One responder's first marks on one fault (ms since its inject).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ResponderMarks {
    pub responder: String,
    pub detected_ms: Option<u64>,
    pub mitigated_ms: Option<u64>,
    /// Their emergency stop ended the fault: it counts as both.
    pub stopped: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StepRef {
    pub step: usize,
    pub name: String,
}

/// A responder's first mark of a kind on a fault: how long after its inject, and who.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MarkAt {
    pub after_ms: u64,
    pub responder: String,
    /// It was their emergency stop (an act of detection, and of mitigation while the fault
    /// was live).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub stop: bool,
}

/// A mark made when no fault had been injected yet: a false alarm.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FalseAlarm {
    pub t_ms: u64,
    pub responder: String,
    pub mark: Mark,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Drill {
    /// The responders who joined, in order.
    pub responders: Vec<String>,
    pub faults: Vec<FaultRow>,
    pub false_alarms: Vec<FalseAlarm>,
    /// The reveal rounds: the time of each and the faults it showed for the first time.
    pub reveals: Vec<(u64, Vec<u64>)>,
}

impl Drill {
    pub fn is_drill(&self) -> bool {
        !self.responders.is_empty()
    }

    /// Each detected fault's time to detect, in ms.
    pub fn detected_ms(&self) -> Vec<u64> {
        self.faults.iter().filter_map(|f| f.detected.as_ref().map(|m| m.after_ms)).collect()
    }

    /// Each mitigated fault's time to mitigate, in ms.
    pub fn mitigated_ms(&self) -> Vec<u64> {
        self.faults.iter().filter_map(|f| f.mitigated.as_ref().map(|m| m.after_ms)).collect()
    }
}

/// Reads the drill out of a (facilitator's) timeline.
pub fn read(entries: &[Entry]) -> Drill {
    let mut d = Drill::default();
    let mut step: Option<StepRef> = None;
    let mut requested: Option<(u64, String, String)> = None;
    for e in entries {
        match &e.kind {
            EntryKind::DrillJoined { responder, .. } if !d.responders.contains(responder) => {
                d.responders.push(responder.clone())
            }
            EntryKind::StepStarted { step: n, name, .. } => step = Some(StepRef { step: *n, name: name.clone() }),
            EntryKind::StepOutcome { .. } => step = None,
            EntryKind::InjectRequested { fault, preset, target, .. } => {
                requested = Some((*fault, preset.clone(), target.to_string()))
            }
            EntryKind::InjectConfirmed { fault, .. } => {
                let (preset, target) = match &requested {
                    Some((f, p, t)) if f == fault => (p.clone(), t.clone()),
                    _ => (String::new(), String::new()),
                };
                d.faults.push(FaultRow {
                    fault: *fault,
                    step: step.clone(),
                    preset,
                    target,
                    injected_ms: e.t_ms,
                    ended: None,
                    detected: None,
                    mitigated: None,
                    by_responder: d
                        .responders
                        .iter()
                        .map(|r| ResponderMarks { responder: r.clone(), ..Default::default() })
                        .collect(),
                    round: None,
                });
            }
            // A fault whose console was killed ended with it (cleanup's later revert is its own line).
            EntryKind::ConsoleLost { .. } => {
                for row in d.faults.iter_mut().filter(|r| r.ended.is_none()) {
                    row.ended = Some("its console was lost".into());
                }
            }
            EntryKind::FaultEnding { fault, reason } => {
                if let Some(row) = d.faults.iter_mut().find(|r| r.fault == *fault && r.ended.is_none()) {
                    row.ended = Some(match reason {
                        EndReason::Expired => "expired".into(),
                        EndReason::Aborted { by } => format!("aborted by {by}"),
                        EndReason::InjectFailed => "inject failed".into(),
                        EndReason::Lapsed { why } => format!("no longer in effect ({why})"),
                        EndReason::Finished { how } => format!("finished by itself ({how})"),
                    });
                }
            }
            EntryKind::DrillMark { responder, mark, fault, after_ms, .. } => {
                let row = fault.and_then(|f| d.faults.iter_mut().find(|r| r.fault == f));
                match (row, after_ms) {
                    (Some(row), Some(ms)) => {
                        // An emergency stop detects the fault, and mitigates it while it is live.
                        let (detects, mitigates, stop) = match mark {
                            Mark::Detected => (true, false, false),
                            Mark::Mitigated => (false, true, false),
                            Mark::Stop => (true, row.ended.is_none(), true),
                            Mark::Note => continue,
                        };
                        let at = MarkAt { after_ms: *ms, responder: responder.clone(), stop };
                        if detects && row.detected.is_none() {
                            row.detected = Some(at.clone());
                        }
                        if mitigates && row.mitigated.is_none() {
                            row.mitigated = Some(at);
                        }
                        let own = match row.by_responder.iter().position(|r| r.responder == *responder) {
                            Some(i) => &mut row.by_responder[i],
                            None => {
                                row.by_responder
                                    .push(ResponderMarks { responder: responder.clone(), ..Default::default() });
                                row.by_responder.last_mut().expect("just pushed")
                            }
                        };
                        if detects && own.detected_ms.is_none() {
                            own.detected_ms = Some(*ms);
                        }
                        if mitigates && own.mitigated_ms.is_none() {
                            own.mitigated_ms = Some(*ms);
                            own.stopped |= stop;
                        }
                    }
                    _ if matches!(mark, Mark::Detected | Mark::Mitigated) => {
                        d.false_alarms.push(FalseAlarm { t_ms: e.t_ms, responder: responder.clone(), mark: *mark })
                    }
                    _ => {}
                }
            }
            EntryKind::DrillRevealed { new, .. } => {
                d.reveals.push((e.t_ms, new.clone()));
                let round = d.reveals.len();
                for row in d.faults.iter_mut().filter(|r| new.contains(&r.fault) && r.round.is_none()) {
                    row.round = Some(round);
                }
            }
            _ => {}
        }
    }
    d
}

/// How the faults were revealed, in words: "Faults were not revealed to them.", or each round
/// with its time and faults.
fn reveals(rounds: &[(u64, Vec<u64>)]) -> String {
    let round = |(t, new): &(u64, Vec<u64>)| {
        let ids: Vec<String> = new.iter().map(|f| format!("#{f}")).collect();
        match ids.is_empty() {
            true => super::entry::since(*t),
            false => format!("{} at {}", ids.join(", "), super::entry::since(*t)),
        }
    };
    match rounds {
        [] => "Faults were not revealed to them.".into(),
        [one] => format!("Faults were revealed to them once ({}).", round(one)),
        many => format!(
            "Faults were revealed to them in {} rounds ({}).",
            many.len(),
            many.iter().map(round).collect::<Vec<_>>().join("; ")
        ),
    }
}

/// The fault a mark made at `wall` is about: the last one confirmed in the system before it
/// (a late mark still counts for the fault that caused it), with the ms since its inject.
pub fn attribute(entries: &[Entry], wall: chrono::DateTime<chrono::Utc>) -> Option<(u64, u64)> {
    entries.iter().rev().find_map(|e| match &e.kind {
        EntryKind::InjectConfirmed { fault, .. } if e.wall <= wall => {
            Some((*fault, (wall - e.wall).num_milliseconds().max(0) as u64))
        }
        _ => None,
    })
}

/// The report's drill section: who responded, and per fault how long detection and mitigation
/// took. Nothing when no responder joined.
pub fn markdown(md: &mut String, d: &Drill) {
    use super::entry::median;
    use super::markdown::escape;
    use super::since;
    use std::fmt::Write as _;
    if !d.is_drill() {
        return;
    }
    let (detected, mitigated) = (d.detected_ms(), d.mitigated_ms());
    let _ = writeln!(md, "## Drill\n");
    let _ = writeln!(
        md,
        "Responders: {}. {} {} of {} fault(s) detected (median time to detect {}), \
         {} mitigated (median time to mitigate {}); {} mark(s) before any fault.\n",
        escape(&d.responders.join(", ")),
        reveals(&d.reveals),
        detected.len(),
        d.faults.len(),
        median(detected),
        mitigated.len(),
        median(mitigated),
        d.false_alarms.len(),
    );
    if d.faults.is_empty() {
        return;
    }
    let _ = writeln!(md, "| Fault | Step | Injected | Time to detect | Time to mitigate | Ended |");
    let _ = writeln!(md, "|---|---|---|---|---|---|");
    let mark = |m: &Option<MarkAt>| match m {
        Some(m) if m.stop => {
            format!("{} ({}, emergency stop)", super::entry::seconds(m.after_ms), escape(&m.responder))
        }
        Some(m) => format!("{} ({})", super::entry::seconds(m.after_ms), escape(&m.responder)),
        None => "**not marked**".into(),
    };
    for f in &d.faults {
        let step = f.step.as_ref().map(|s| format!("{}. {}", s.step, escape(&s.name))).unwrap_or_else(|| "-".into());
        let _ = writeln!(
            md,
            "| #{} {} on {} | {step} | {} | {} | {} | {} |",
            f.fault,
            escape(&f.preset),
            escape(&f.target),
            since(f.injected_ms),
            mark(&f.detected),
            mark(&f.mitigated),
            escape(f.ended.as_deref().unwrap_or("live")),
        );
    }
    let _ = writeln!(md);
    // Each responder on each fault, by the reveal round that showed it.
    let _ = writeln!(md, "| Responder | Fault | Reveal round | Time to detect | Time to mitigate |");
    let _ = writeln!(md, "|---|---|---|---|---|");
    for who in &d.responders {
        for f in &d.faults {
            let own = f.by_responder.iter().find(|r| r.responder == *who);
            let ms = |v: Option<u64>| v.map(super::entry::seconds).unwrap_or_else(|| "-".into());
            let mitigated = match own {
                Some(r) if r.stopped => format!("{} (emergency stop)", ms(r.mitigated_ms)),
                _ => ms(own.and_then(|r| r.mitigated_ms)),
            };
            let _ = writeln!(
                md,
                "| {} | #{} | {} | {} | {mitigated} |",
                escape(who),
                f.fault,
                f.round.map(|r| r.to_string()).unwrap_or_else(|| "not revealed".into()),
                ms(own.and_then(|r| r.detected_ms)),
            );
        }
    }
    let _ = writeln!(md);
}
