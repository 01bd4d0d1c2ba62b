//! The report's chart: a Mermaid gantt of the faults and the health they cost, on the wall clock.
//!
//! Times are written as Unix milliseconds with `dateFormat x`, which Mermaid reads the same way
//! for a task's start and its end. (With `dateFormat X`, Mermaid 11 reads a start as
//! milliseconds and an end as seconds, so every bar started at 00:00.) The axis shows the wall
//! clock, in the reader's time zone.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::entry::{Entry, EntryKind, Health};
use super::faults::FaultSummary;

/// One bar of the chart: its section, its label and its span (Unix ms).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bar {
    pub section: &'static str,
    pub label: String,
    pub critical: bool,
    pub start_ms: i64,
    pub end_ms: i64,
}

/// The chart's bars: each fault from its inject to its confirmed revert (or its end), then each
/// stretch of a service not being healthy.
pub fn bars(entries: &[Entry], faults: &[FaultSummary]) -> Vec<Bar> {
    let Some(first) = entries.first() else { return Vec::new() };
    // The session's start on the wall clock; every `t_ms` counts from it.
    let origin = first.wall.timestamp_millis() - first.t_ms as i64;
    let at = |t_ms: u64| origin + t_ms as i64;
    let end = entries.last().map(|e| e.t_ms).unwrap_or(0);
    // At least a second long, so that a bar can be seen.
    let span = |from: u64, to: u64| (at(from), at(to.max(from + 1000)));
    let name = |s: &str| {
        // One line (no text ever starts a line of the chart, nor ends the block), without
        // Mermaid's own syntax characters, HTML or backticks.
        crate::text::one_line(s).replace([':', ';', '#', '`', '%', '{', '}', '<', '>', '"', '\\'], " ")
    };
    // A stretch of ill health still open when the console was lost ends there: nobody saw more.
    let gaps = super::faults::unwatched(entries);
    let watched_until = |from: u64| gaps.iter().find(|(lost, _)| *lost >= from).map(|(lost, _)| *lost).unwrap_or(end);
    let mut out = Vec::new();
    for f in faults.iter().filter(|f| f.applied()) {
        let from = f.injected_ms.unwrap_or(f.requested_ms);
        let to = f.reverted_ms.or(f.closed.as_ref().map(|c| c.0)).or(f.ending.as_ref().map(|e| e.0)).unwrap_or(end);
        // A console lost with its fault in: the bar ends where it was lost (whoever reverted
        // the fault later is in the table, not on this axis).
        let (start_ms, end_ms) = span(from, to.min(watched_until(from)));
        let label = format!("fault {} {} {}", f.id, name(&f.preset), name(&f.target));
        out.push(Bar { section: "Faults", label, critical: true, start_ms, end_ms });
    }
    // Each stretch of a service not being healthy.
    let mut open: BTreeMap<String, (u64, Health)> = BTreeMap::new();
    let mut health = Vec::new();
    for e in entries {
        if let EntryKind::HealthChanged { service, to, .. } = &e.kind {
            if let Some((from, worst)) = open.remove(service) {
                let worst = if to.severity() > worst.severity() { *to } else { worst };
                if *to == Health::Healthy {
                    health.push((service.clone(), worst, from, e.t_ms));
                } else {
                    open.insert(service.clone(), (from, worst));
                }
            } else if matches!(to, Health::Degraded | Health::Down) {
                open.insert(service.clone(), (e.t_ms, *to));
            }
        }
    }
    health.extend(open.into_iter().map(|(s, (from, worst))| (s, worst, from, watched_until(from))));
    health.sort_by_key(|b| b.2);
    for (service, worst, from, to) in health {
        let (start_ms, end_ms) = span(from, to);
        // The health word first: a service's name never starts a line (a keyword).
        let label = format!("{worst} {}", name(&service));
        out.push(Bar { section: "Health", label, critical: worst == Health::Down, start_ms, end_ms });
    }
    out
}

/// A mermaid gantt chart (GitHub renders it): faults and the health they cost.
pub fn gantt(md: &mut String, entries: &[Entry], faults: &[FaultSummary]) {
    let bars = bars(entries, faults);
    if bars.is_empty() {
        return;
    }
    let _ = writeln!(md, "## Faults and health over time\n");
    let _ = writeln!(md, "```mermaid\ngantt\n    dateFormat x\n    axisFormat %H:%M:%S");
    let mut section = "";
    for b in &bars {
        if b.section != section {
            section = b.section;
            let _ = writeln!(md, "    section {section}");
        }
        let tag = match (b.section, b.critical) {
            (_, true) => "crit",
            ("Health", false) => "active",
            _ => "done",
        };
        let _ = writeln!(md, "    {} :{tag}, {}, {}", b.label, b.start_ms, b.end_ms);
    }
    let _ = writeln!(md, "```\n");
}

/// Reads a chart back as Mermaid's `dateFormat x` does (both times Unix milliseconds): each
/// task line's label, start and end. For tests of what the chart means, not how it is spelled.
pub fn parse(mermaid: &str) -> Vec<(String, i64, i64)> {
    mermaid
        .lines()
        .filter_map(|l| {
            let (label, spec) = l.trim().rsplit_once(" :")?;
            let mut parts = spec.split(',').map(str::trim);
            let _tag = parts.next()?;
            let start = parts.next()?.parse().ok()?;
            let end = parts.next()?.parse().ok()?;
            Some((label.to_string(), start, end))
        })
        .collect()
}
