//! The alerts of a session: those its run-sheet's steps expected, and each tick of one as fired
//! or silent (`:alert NAME fired|silent`), with its time and the fault it followed.

use chrono::{DateTime, Utc};

use super::entry::{Entry, EntryKind};

/// One tick of an alert.
#[derive(Clone, Debug, PartialEq)]
pub struct Tick {
    pub t_ms: u64,
    pub wall: DateTime<Utc>,
    pub fired: bool,
    pub note: String,
    pub author: String,
    pub fault: Option<u64>,
    /// From its fault's inject to the tick.
    pub after_inject_ms: Option<u64>,
}

/// An alert by name: the steps that expected it and its ticks in order.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Alert {
    pub name: String,
    pub expected_by: Vec<usize>,
    pub ticks: Vec<Tick>,
}

impl Alert {
    /// What its last tick says against what was expected. `expectations`: whether the session
    /// expected any alert at all (a run-sheet's `expected_alerts`); without, a tick is what it is.
    pub fn verdict(&self, expectations: bool) -> &'static str {
        let expected = !self.expected_by.is_empty();
        match (self.ticks.last().map(|t| t.fired), expected) {
            (Some(true), true) => "fired as expected",
            (Some(true), false) if expectations => "fired (not expected)",
            (Some(true), false) => "fired",
            (Some(false), true) => "did not fire (expected to)",
            (Some(false), false) => "silent",
            (None, _) => "not ticked",
        }
    }

    /// Whether the verdict is one a reader must see (bold in the report).
    pub fn finding(&self, expectations: bool) -> bool {
        !matches!(self.verdict(expectations), "fired as expected" | "fired" | "silent")
    }
}

/// Whether any of them was expected.
pub fn expectations(alerts: &[Alert]) -> bool {
    alerts.iter().any(|a| !a.expected_by.is_empty())
}

/// Every alert the session expected or ticked, in the order first named.
pub fn read(entries: &[Entry]) -> Vec<Alert> {
    let mut alerts: Vec<Alert> = Vec::new();
    fn named<'a>(alerts: &'a mut Vec<Alert>, name: &str) -> &'a mut Alert {
        match alerts.iter().position(|a| a.name == name) {
            Some(i) => &mut alerts[i],
            None => {
                alerts.push(Alert { name: name.to_string(), ..Alert::default() });
                let last = alerts.len() - 1;
                &mut alerts[last]
            }
        }
    }
    // When each fault went in: confirmed, else started (one pass; a tick comes after it).
    let mut injected: std::collections::BTreeMap<u64, u64> = std::collections::BTreeMap::new();
    for e in entries {
        match &e.kind {
            EntryKind::InjectStarted { fault, .. } => {
                injected.entry(*fault).or_insert(e.t_ms);
            }
            EntryKind::InjectConfirmed { fault, .. } => {
                injected.insert(*fault, e.t_ms);
            }
            EntryKind::StepStarted { step, expected_alerts, .. } => {
                for name in expected_alerts {
                    let a = named(&mut alerts, name);
                    if !a.expected_by.contains(step) {
                        a.expected_by.push(*step);
                    }
                }
            }
            EntryKind::AlertTicked { name, fired, note, author, fault } => {
                let after_inject_ms = fault.and_then(|f| injected.get(&f)).map(|at| e.t_ms.saturating_sub(*at));
                named(&mut alerts, name).ticks.push(Tick {
                    t_ms: e.t_ms,
                    wall: e.wall,
                    fired: *fired,
                    note: note.clone(),
                    author: author.clone(),
                    fault: *fault,
                    after_inject_ms,
                });
            }
            _ => {}
        }
    }
    alerts
}
