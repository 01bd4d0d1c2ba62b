//! The report's charts of a fault: for each service it touched, its p95 and its request success
//! across the fault's window (and the recovery after it), drawn from the `Readings` the console
//! took, as Mermaid `xychart-beta` blocks (which GitHub renders). CPU and memory are charted
//! too where they moved (a stress fault). Pure.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::entry::{Entry, EntryKind, ServiceReading};
use super::faults::{FaultSummary, Index};

/// At most this many points per chart: readings are taken each second, a long fault is
/// resampled to fit.
pub const MAX_POINTS: usize = 40;

/// A CPU or memory chart is drawn only where it moved by this much (of its first reading).
const MOVED: f64 = 0.5;

/// One metric of one service over time: (ms since the inject, value or unknown).
pub type Series = Vec<(i64, Option<f64>)>;

/// The readings of a fault (its entries), per service, as (ms since the start, reading).
pub fn readings<'a>(about: impl IntoIterator<Item = &'a Entry>) -> BTreeMap<String, Vec<(u64, ServiceReading)>> {
    let mut out: BTreeMap<String, Vec<(u64, ServiceReading)>> = BTreeMap::new();
    for e in about {
        if let EntryKind::Readings { services, .. } = &e.kind {
            for r in services {
                out.entry(r.service.clone()).or_default().push((e.t_ms, r.clone()));
            }
        }
    }
    out
}

/// `points` resampled onto at most `MAX_POINTS` evenly spaced times from the first to the last
/// (each the last reading at or before it), as seconds since `origin_ms`.
pub fn resample(points: &[(u64, Option<f64>)], origin_ms: u64) -> Vec<(i64, Option<f64>)> {
    let (Some(first), Some(last)) = (points.first(), points.last()) else { return Vec::new() };
    let span = last.0.saturating_sub(first.0);
    // Whole seconds between points, at least one.
    let step = (span.div_ceil(MAX_POINTS.saturating_sub(1).max(1) as u64)).div_ceil(1000).max(1) * 1000;
    let mut out = Vec::new();
    let mut i = 0;
    let mut t = first.0;
    while t <= last.0 + step / 2 && out.len() < MAX_POINTS {
        while i + 1 < points.len() && points[i + 1].0 <= t {
            i += 1;
        }
        let seconds = (t as i64 - origin_ms as i64).div_euclid(1000);
        out.push((seconds, points[i].1));
        t += step;
    }
    out
}

/// A round upper bound for a y axis: 1, 2 or 5 times a power of ten, above `max`.
fn ceiling(max: f64) -> f64 {
    if !max.is_finite() || max <= 0.0 {
        return 1.0;
    }
    let p = 10f64.powf(max.log10().floor());
    [1.0, 2.0, 5.0, 10.0, 20.0].iter().map(|m| m * p).find(|c| *c >= max * 1.1).unwrap_or(20.0 * p)
}

/// A name as a chart's quoted title: one line, no quotes, no Mermaid or HTML syntax.
fn title(s: &str) -> String {
    crate::text::one_line(s).replace(['"', '`', '<', '>', '#', ';', '%', '\\', '{', '}', '[', ']'], " ")
}

/// One `xychart-beta` block; `None` if the series has nothing known.
pub fn chart(
    name: &str,
    what: &str,
    unit: &str,
    series: &[(i64, Option<f64>)],
    fixed_max: Option<f64>,
) -> Option<String> {
    let known: Vec<f64> = series.iter().filter_map(|(_, v)| *v).filter(|v| v.is_finite()).collect();
    if known.is_empty() {
        return None;
    }
    let max = fixed_max.unwrap_or_else(|| ceiling(known.iter().cloned().fold(0.0, f64::max)));
    // An unknown point holds the value before it (the first known one at the start): Mermaid
    // draws no gaps, so the text under the chart says where they are.
    let mut held = known[0];
    let values: Vec<String> = series
        .iter()
        .map(|(_, v)| {
            if let Some(v) = v.filter(|v| v.is_finite()) {
                held = v;
            }
            let v = (held * 10.0).round() / 10.0;
            format!("{v}")
        })
        .collect();
    let xs: Vec<String> = series.iter().map(|(s, _)| format!("{s}")).collect();
    let mut out = String::new();
    let _ = writeln!(out, "```mermaid");
    let _ = writeln!(out, "xychart-beta");
    let _ = writeln!(out, "    title \"{} {what}\"", title(name));
    let _ = writeln!(out, "    x-axis \"seconds after the inject\" [{}]", xs.join(", "));
    let _ = writeln!(out, "    y-axis \"{unit}\" 0 --> {max}");
    let _ = writeln!(out, "    line [{}]", values.join(", "));
    let _ = writeln!(out, "```");
    Some(out)
}

/// The stretches (in seconds since the inject) where the series is unknown.
fn unknown_stretches(series: &[(i64, Option<f64>)]) -> Vec<(i64, i64)> {
    let mut out: Vec<(i64, i64)> = Vec::new();
    let mut open: Option<i64> = None;
    for (i, (s, v)) in series.iter().enumerate() {
        match (v.is_some(), open) {
            (false, None) => open = Some(*s),
            (true, Some(from)) => {
                out.push((from, *s));
                open = None;
            }
            _ => {}
        }
        if i + 1 == series.len() {
            if let Some(from) = open {
                out.push((from, *s));
            }
        }
    }
    out
}

fn moved(series: &[(i64, Option<f64>)]) -> bool {
    let known: Vec<f64> = series.iter().filter_map(|(_, v)| *v).collect();
    let (Some(first), Some(max), Some(min)) =
        (known.first(), known.iter().cloned().reduce(f64::max), known.iter().cloned().reduce(f64::min))
    else {
        return false;
    };
    let base = first.abs().max(1.0);
    (max - first).abs() >= MOVED * base || (first - min).abs() >= MOVED * base
}

/// The charts of fault `f`, under a heading of their own, if it has readings.
pub fn markdown(md: &mut String, index: &Index, f: &FaultSummary) {
    let mut by_service = readings(index.about(f.id).iter().copied());
    // A line needs two points.
    by_service.retain(|_, points| points.len() >= 2);
    if by_service.is_empty() {
        return;
    }
    let origin = f.injected_ms.unwrap_or(f.requested_ms);
    let reverted = f
        .reverted_ms
        .map(|r| format!("; the revert was confirmed {} after it", super::entry::seconds(r.saturating_sub(origin))))
        .unwrap_or_default();
    let _ = writeln!(md, "\n#### Signals of the services it touched\n");
    let _ = writeln!(md, "As the console read them, in seconds after the inject{reverted}.\n");
    for (service, points) in &by_service {
        let metric = |get: fn(&ServiceReading) -> Option<f64>| -> Series {
            let raw: Vec<(u64, Option<f64>)> = points.iter().map(|(t, r)| (*t, get(r))).collect();
            resample(&raw, origin)
        };
        let p95 = metric(|r| r.p95_ms);
        let success = metric(|r| r.success.map(|s| s * 100.0));
        let cpu = metric(|r| r.cpu_m);
        let memory = metric(|r| r.memory_bytes.map(|b| b / (1024.0 * 1024.0)));
        // Each chart: its block, where its series is unknown, and what it shows.
        type Drawn = (String, Vec<(i64, i64)>, &'static str);
        let mut charts: Vec<Drawn> = Vec::new();
        let mut add = |block: Option<String>, series: &Series, what: &'static str| {
            if let Some(b) = block {
                charts.push((b, unknown_stretches(series), what));
            }
        };
        add(chart(service, "p95 (ms)", "ms", &p95, None), &p95, "p95");
        // Success that never fell says so in words: a flat line at 100% is a chart to skip.
        let always_ok = success.iter().all(|(_, v)| v.is_some_and(|v| v >= 99.95));
        if !always_ok {
            add(chart(service, "success (%)", "%", &success, Some(100.0)), &success, "success");
        }
        if moved(&cpu) {
            add(chart(service, "CPU (millicores)", "millicores", &cpu, None), &cpu, "CPU");
        }
        if moved(&memory) {
            add(chart(service, "memory (MiB)", "MiB", &memory, None), &memory, "memory");
        }
        let flat = (always_ok && !success.is_empty())
            .then(|| format!("{}: every request succeeded throughout.\n", super::markdown::escape(service)));
        if charts.is_empty() && flat.is_none() {
            let _ = writeln!(
                md,
                "- {}: no signal was measured while the fault was in.\n",
                super::markdown::escape(service)
            );
            continue;
        }
        if let Some(line) = flat {
            let _ = writeln!(md, "{line}");
        }
        for (block, gaps, what) in charts {
            let _ = writeln!(md, "{block}");
            if !gaps.is_empty() {
                let spans: Vec<String> = gaps.iter().map(|(a, b)| format!("{a} s to {b} s")).collect();
                let _ = writeln!(
                    md,
                    "{} of {} unknown from {} (drawn as the reading before).\n",
                    what,
                    super::markdown::escape(service),
                    spans.join(", ")
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readings_are_resampled_onto_whole_seconds_since_the_inject() {
        let pts: Vec<(u64, Option<f64>)> = (0..10).map(|i| (10_000 + i * 1000, Some(i as f64))).collect();
        let s = resample(&pts, 10_000);
        assert_eq!(s.first(), Some(&(0, Some(0.0))));
        assert_eq!(s.last(), Some(&(9, Some(9.0))));
        // A long window fits in MAX_POINTS.
        let long: Vec<(u64, Option<f64>)> = (0..600).map(|i| (i * 1000, Some(1.0))).collect();
        let s = resample(&long, 0);
        assert!(s.len() <= MAX_POINTS, "{}", s.len());
        assert!(s.last().is_some_and(|(t, _)| *t >= 570), "{s:?}");
        assert!(s.windows(2).all(|w| w[1].0 - w[0].0 == s[1].0 - s[0].0));
        // Irregular readings: each point is the last reading at or before it.
        let s = resample(&[(0, Some(1.0)), (2500, Some(2.0)), (3100, None)], 0);
        assert_eq!(s, vec![(0, Some(1.0)), (1, Some(1.0)), (2, Some(1.0)), (3, Some(2.0))]);
    }

    #[test]
    fn a_chart_is_one_mermaid_block_with_a_round_axis_and_unknowns_held() {
        let c = chart("shop/carts", "p95 (ms)", "ms", &[(0, Some(12.0)), (1, None), (2, Some(412.34))], None).unwrap();
        assert_eq!(
            c,
            "```mermaid\nxychart-beta\n    title \"shop/carts p95 (ms)\"\n    x-axis \"seconds after the inject\" [0, 1, 2]\n    \
             y-axis \"ms\" 0 --> 500\n    line [12, 12, 412.3]\n```\n"
        );
        assert_eq!(chart("x", "p95", "ms", &[(0, None)], None), None);
        assert_eq!(
            unknown_stretches(&[(0, Some(1.0)), (1, None), (2, None), (3, Some(1.0)), (4, None)]),
            vec![(1, 3), (4, 4)]
        );
    }

    #[test]
    fn hostile_names_cannot_break_out_of_the_title() {
        let c = chart("a\"]\n```\n# x<script>", "p95", "ms", &[(0, Some(1.0))], None).unwrap();
        let title = c.lines().nth(2).unwrap();
        assert_eq!(title.matches('"').count(), 2, "{title}");
        assert!(!title.contains('<') && !title.contains('`') && !title.contains(']'), "{title}");
        assert_eq!(c.lines().count(), 7, "{c}");
    }

    #[test]
    fn ceilings_are_round() {
        assert_eq!(ceiling(412.0), 500.0);
        assert_eq!(ceiling(95.0), 200.0);
        assert_eq!(ceiling(19.0), 50.0);
        assert_eq!(ceiling(0.0), 1.0);
    }
}
