//! The report's chart: a Mermaid gantt of the faults and the health they cost, on the session's
//! own clock.
//!
//! Times count from the session's start (`00:01:05.250`, with `dateFormat HH:mm:ss.SSS`; a
//! session longer than a day adds its day, `02 00:01:05.250`). Mermaid reads such a time, and
//! writes its axis, in the reader's time zone, so the two cancel out: the chart reads the same
//! in every zone (`+00:01:05`), where a wall-clock time would be drawn in each reader's own.
//! The tables beside it give the wall clock, in UTC.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::entry::{Entry, EntryKind, Health};
use super::faults::FaultSummary;

/// One bar of the chart: its section, its label and its span (ms since the session's start).
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
    if entries.is_empty() {
        return Vec::new();
    }
    let at = |t_ms: u64| t_ms as i64;
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
    let _ = writeln!(md, "Time since the session's start.\n");
    let long = bars.iter().any(|b| b.end_ms >= DAY_MS);
    let (date, axis) = if long { ("DD HH:mm:ss.SSS", "day %d %H:%M") } else { ("HH:mm:ss.SSS", "+%H:%M:%S") };
    let _ = writeln!(md, "```mermaid\ngantt\n    dateFormat {date}\n    axisFormat {axis}");
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
        let _ = writeln!(md, "    {} :{tag}, {}, {}", b.label, clock(b.start_ms, long), clock(b.end_ms, long));
    }
    let _ = writeln!(md, "```\n");
}

const DAY_MS: i64 = 24 * 3_600_000;

/// `ms` since the session's start as the chart writes it: `HH:MM:SS.mmm`, after its day (the
/// first is 01) when the session is longer than a day.
fn clock(ms: i64, long: bool) -> String {
    let ms = ms.max(0);
    let (day, rest) = (ms / DAY_MS, ms % DAY_MS);
    let hms = format!("{:02}:{:02}:{:02}.{:03}", rest / 3_600_000, rest / 60_000 % 60, rest / 1000 % 60, rest % 1000);
    if long {
        format!("{:02} {hms}", day + 1)
    } else {
        hms
    }
}

/// A time of the chart back in ms since the session's start.
fn unclock(s: &str) -> Option<i64> {
    let (day, hms) = match s.split_once(' ') {
        Some((d, hms)) => (d.parse::<i64>().ok()?.checked_sub(1)?, hms),
        None => (0, s),
    };
    let (hms, milli) = hms.split_once('.')?;
    let mut parts = hms.split(':').map(|p| p.parse::<i64>().ok());
    let (h, m, sec) = (parts.next()??, parts.next()??, parts.next()??);
    Some(day * DAY_MS + h * 3_600_000 + m * 60_000 + sec * 1000 + milli.parse::<i64>().ok()?)
}

/// Reads a chart back: each task line's label, start and end (ms since the session's start).
/// For tests of what the chart means, not how it is spelled.
pub fn parse(mermaid: &str) -> Vec<(String, i64, i64)> {
    mermaid
        .lines()
        .filter_map(|l| {
            let (label, spec) = l.trim().rsplit_once(" :")?;
            let mut parts = spec.split(',').map(str::trim);
            let _tag = parts.next()?;
            let start = unclock(parts.next()?)?;
            let end = unclock(parts.next()?)?;
            Some((label.to_string(), start, end))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_written_from_the_sessions_start_and_read_back() {
        assert_eq!(clock(65_250, false), "00:01:05.250");
        assert_eq!(clock(DAY_MS + 3_723_004, true), "02 01:02:03.004");
        for (ms, long) in [(0, false), (65_250, false), (DAY_MS - 1, false), (3 * DAY_MS + 7, true)] {
            assert_eq!(unclock(&clock(ms, long)), Some(ms));
        }
        assert_eq!(unclock("00:01"), None);
    }

    #[test]
    fn a_session_longer_than_a_day_counts_its_days() {
        use chrono::TimeZone;
        let wall = chrono::Utc.with_ymd_and_hms(2026, 12, 7, 10, 0, 0).unwrap();
        let at = |t_ms: u64, kind| Entry { seq: t_ms, wall, t_ms, kind };
        let sick = |t_ms, to| {
            at(
                t_ms,
                EntryKind::HealthChanged { service: "carts".into(), from: Health::Healthy, to, reading: String::new() },
            )
        };
        let entries = vec![sick(1000, Health::Down), sick(DAY_MS as u64 + 5000, Health::Healthy)];
        let mut md = String::new();
        gantt(&mut md, &entries, &[]);
        assert!(md.contains("dateFormat DD HH:mm:ss.SSS"), "{md}");
        assert!(md.contains("down carts :crit, 01 00:00:01.000, 02 00:00:05.000"), "{md}");
    }
}
