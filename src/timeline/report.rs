//! The Markdown Gameday report, built from the journal entries alone (so `:export` and
//! `gameday report <session.jsonl>` give the same document).

use std::collections::BTreeMap;
use std::fmt::Write;

use super::entry::{since, EndReason, Entry, EntryKind, Health};

/// The first words of every report: a file that starts with them is an earlier report (which
/// `:export` may replace).
pub const HEADING: &str = "# Gameday report";

/// One fault as the journal tells it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FaultSummary {
    pub id: u64,
    pub preset: String,
    pub target: String,
    pub params: String,
    pub blast_radius: String,
    pub hypothesis: String,
    pub requested_ms: u64,
    pub injected_ms: Option<u64>,
    pub ending: Option<(u64, EndReason)>,
    pub reverted_ms: Option<u64>,
    pub revert_failures: u32,
    pub gave_up: bool,
    pub inject_error: Option<String>,
    /// Aborted while being prepared: nothing was applied.
    pub cancelled: bool,
    /// Prepared but never applied, and why.
    pub not_applied: Option<String>,
    /// Ended without a revert of its console's: when it was found, and how ("the console was
    /// killed; ...").
    pub closed: Option<(u64, String)>,
    /// Where this fault's observation window ends (next fault or session end).
    pub window_end_ms: u64,
}

impl FaultSummary {
    pub fn outcome(&self) -> String {
        if let Some(why) = &self.not_applied {
            return format!("never applied: {why}");
        }
        if let Some((_, how)) = &self.closed {
            return how.clone();
        }
        match (&self.ending, &self.inject_error, self.cancelled) {
            (Some((_, EndReason::Aborted { by })), _, true) => {
                return format!("aborted ({by}) before anything was applied")
            }
            (None, Some(e), _) => return format!("not injected: {e}"),
            (Some(_), Some(e), _) if self.reverted_ms.is_some() => return format!("inject failed ({e}); reverted"),
            _ => {}
        }
        let retried = match self.revert_failures {
            0 => String::new(),
            1 => "; revert confirmed after 1 failed attempt".into(),
            n => format!("; revert confirmed after {n} failed attempts"),
        };
        match (&self.ending, self.reverted_ms) {
            (_, None) if self.gave_up || self.revert_failures > 0 => "revert failed".into(),
            (Some((_, EndReason::Expired)), Some(_)) => format!("expired{retried}"),
            (Some((_, EndReason::Aborted { by })), Some(_)) => format!("aborted ({by}){retried}"),
            (Some((_, EndReason::InjectFailed)), Some(_)) => format!("inject failed, reverted{retried}"),
            (Some((_, EndReason::Lapsed { why })), Some(_)) => {
                format!("no longer in effect before its end ({why}){retried}")
            }
            (None, _) => "still active at session end".into(),
            (Some(_), None) => "revert not confirmed".into(),
        }
    }
}

/// A service's health changes inside one fault's window.
#[derive(Clone, Debug, PartialEq)]
pub struct Impact {
    pub service: String,
    pub changes: Vec<(u64, Health)>,
    pub worst: Health,
    pub end_state: Health,
}

pub fn faults(entries: &[Entry]) -> Vec<FaultSummary> {
    let end_ms = entries.last().map(|e| e.t_ms).unwrap_or(0);
    let mut out: Vec<FaultSummary> = Vec::new();
    for e in entries {
        let Some(id) = e.kind.fault() else { continue };
        if let EntryKind::InjectRequested { preset, target, params, blast_radius, hypothesis, .. } = &e.kind {
            out.push(FaultSummary {
                id,
                preset: preset.clone(),
                target: target.to_string(),
                params: params.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", "),
                blast_radius: blast_radius.clone(),
                hypothesis: hypothesis.clone(),
                requested_ms: e.t_ms,
                ..Default::default()
            });
            continue;
        }
        let Some(f) = out.iter_mut().find(|f| f.id == id) else {
            continue;
        };
        match &e.kind {
            EntryKind::InjectConfirmed { .. } => f.injected_ms = Some(e.t_ms),
            EntryKind::InjectFailed { error, .. } => f.inject_error = Some(error.clone()),
            EntryKind::InjectCancelled { .. } => f.cancelled = true,
            EntryKind::InjectNotApplied { reason, .. } => f.not_applied = Some(reason.clone()),
            EntryKind::FaultClosed { how, .. } => f.closed = Some((e.t_ms, how.clone())),
            EntryKind::FaultEnding { reason, .. } if f.ending.is_none() => f.ending = Some((e.t_ms, reason.clone())),
            EntryKind::RevertConfirmed { .. } => f.reverted_ms = Some(e.t_ms),
            EntryKind::RevertFailed { retrying, .. } => {
                f.revert_failures += 1;
                f.gave_up |= !retrying;
            }
            _ => {}
        }
    }
    let starts: Vec<u64> = out.iter().map(|f| f.requested_ms).collect();
    for (i, f) in out.iter_mut().enumerate() {
        f.window_end_ms = starts.get(i + 1).copied().unwrap_or(end_ms);
    }
    out
}

/// Services whose health changed between the fault's request and the end of its window.
pub fn impact(entries: &[Entry], f: &FaultSummary) -> Vec<Impact> {
    let mut by: BTreeMap<String, Impact> = BTreeMap::new();
    for e in entries.iter().filter(|e| e.t_ms >= f.requested_ms && e.t_ms <= f.window_end_ms) {
        if let EntryKind::HealthChanged { service, to, .. } = &e.kind {
            let i = by.entry(service.clone()).or_insert_with(|| Impact {
                service: service.clone(),
                changes: Vec::new(),
                worst: Health::Healthy,
                end_state: *to,
            });
            i.changes.push((e.t_ms, *to));
            i.end_state = *to;
            if to.severity() > i.worst.severity() {
                i.worst = *to;
            }
        }
    }
    by.into_values().collect()
}

/// How the services a fault touched came back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Recovery {
    /// No service changed health while the fault was on.
    NoImpact,
    /// Every impacted service was healthy again before the revert, at this time.
    BeforeRevert { at_ms: u64 },
    /// Every impacted service was healthy this long after the confirmed revert.
    AfterRevert { ms: u64 },
    /// Some service was still not healthy when the window closed.
    NotRecovered { by_ms: u64 },
    /// The revert was never confirmed.
    NotReverted,
    /// Nothing was applied, or it ended without anyone watching (its console and cluster died).
    Unobserved,
}

pub fn recovery(f: &FaultSummary, impacts: &[Impact]) -> Recovery {
    if f.not_applied.is_some() || f.closed.is_some() {
        return Recovery::Unobserved;
    }
    let Some(reverted) = f.reverted_ms else {
        return Recovery::NotReverted;
    };
    if impacts.is_empty() {
        return Recovery::NoImpact;
    }
    if impacts.iter().any(|i| i.end_state != Health::Healthy) {
        return Recovery::NotRecovered { by_ms: f.window_end_ms };
    }
    let last = impacts.iter().filter_map(|i| i.changes.last().map(|c| c.0)).max().unwrap_or(reverted);
    if last <= reverted {
        Recovery::BeforeRevert { at_ms: last }
    } else {
        Recovery::AfterRevert { ms: last - reverted }
    }
}

/// The first service to get worse after the inject was confirmed, and when.
pub fn first_impact(f: &FaultSummary, impacts: &[Impact]) -> Option<(u64, String)> {
    let from = f.injected_ms?;
    impacts
        .iter()
        .flat_map(|i| {
            i.changes.iter().filter(move |(t, h)| *t >= from && *h != Health::Healthy).map(move |(t, _)| (*t, i))
        })
        .min_by_key(|(t, _)| *t)
        .map(|(t, i)| (t - from, i.service.clone()))
}

/// Escapes text from people or the cluster so it cannot break a table, open HTML, a link, a
/// code span or emphasis, and nothing more: `->`, `~/path`, `a < b`, `R&D` stay as they are.
/// Line breaks become `<br>` so no text ever starts a Markdown line; control characters and
/// escape sequences are dropped.
pub fn escape(text: &str) -> String {
    let text = crate::text::clean(text);
    let chars: Vec<char> = text.chars().collect();
    let at = |i: usize| chars.get(i).copied();
    let word = |i: Option<usize>| i.and_then(at).is_some_and(|c| c.is_alphanumeric());
    let tildes = chars.iter().filter(|c| **c == '~').count();
    let mut out = String::with_capacity(text.len());
    for (i, &ch) in chars.iter().enumerate() {
        match ch {
            // An entity (`&copy;`, `&#60;`) would be read as another character.
            '&' if entity_at(&chars[i + 1..]) => out.push_str("&amp;"),
            // A tag, a comment or an autolink; `a < b` is no HTML.
            '<' if at(i + 1).is_some_and(|c| c.is_ascii_alphabetic() || matches!(c, '/' | '!' | '?')) => {
                out.push_str("&lt;")
            }
            '\n' => out.push_str("<br>"),
            '\t' => out.push(' '),
            '|' | '`' | '*' | '[' | ']' => {
                out.push('\\');
                out.push(ch);
            }
            // A backslash escapes the punctuation after it: doubled only there.
            '\\' if at(i + 1).is_some_and(|c| c.is_ascii_punctuation()) => out.push_str("\\\\"),
            // One tilde strikes nothing through; two can.
            '~' if tildes > 1 => out.push_str("\\~"),
            // Inside a word (snake_case) an underscore is not emphasis; at its edges it can be.
            '_' if word(i.checked_sub(1)) && word(Some(i + 1)) => out.push('_'),
            '_' => out.push_str("\\_"),
            c => out.push(c),
        }
    }
    out
}

/// Whether `rest` (what follows an `&`) reads as an HTML entity: `name;`, `#123;`, `#x1F;`.
fn entity_at(rest: &[char]) -> bool {
    let Some(end) = rest.iter().take(33).position(|c| *c == ';') else { return false };
    let body = &rest[..end];
    match body {
        ['#', 'x' | 'X', hex @ ..] => !hex.is_empty() && hex.iter().all(|c| c.is_ascii_hexdigit()),
        ['#', dec @ ..] => !dec.is_empty() && dec.iter().all(|c| c.is_ascii_digit()),
        [first, ..] => first.is_ascii_alphabetic() && body.iter().all(|c| c.is_ascii_alphanumeric()),
        [] => false,
    }
}

fn secs(ms: u64) -> String {
    humantime::format_duration(std::time::Duration::from_secs(ms / 1000)).to_string()
}

/// What the hypothesis said about one fault: before, during (time to detect, stop condition)
/// and after (time to recover).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SteadyVerdict {
    pub before: Option<(String, String)>,
    pub detected_ms: Option<u64>,
    pub stop: Option<String>,
    pub recovered_ms: Option<u64>,
}

impl SteadyVerdict {
    /// held (never broken while the fault was live), broken, or unknown (never judged).
    pub fn verdict(&self) -> &'static str {
        match (&self.before, self.detected_ms.is_some() || self.stop.is_some()) {
            (_, true) => "broken",
            (Some((v, _)), false) if v == "unknown" => "unknown",
            (Some(_), false) => "held",
            (None, false) => "unknown",
        }
    }
}

pub fn steady_verdict(entries: &[Entry], fault: u64) -> SteadyVerdict {
    let mut v = SteadyVerdict::default();
    for e in entries.iter().filter(|e| e.kind.fault() == Some(fault)) {
        match &e.kind {
            EntryKind::SteadyStateBefore { verdict, detail, .. } => v.before = Some((verdict.clone(), detail.clone())),
            EntryKind::HypothesisBroken { after_ms, .. } => v.detected_ms = v.detected_ms.or(Some(*after_ms)),
            EntryKind::StopCondition { reading, threshold, held_ms, .. } => {
                v.stop = Some(format!("{reading}, wanted {threshold}, for {}", super::entry::seconds(*held_ms)))
            }
            EntryKind::SteadyStateRecovered { after_ms, .. } => v.recovered_ms = Some(*after_ms),
            _ => {}
        }
    }
    v
}

fn steady_state(md: &mut String, entries: &[Entry], faults: &[FaultSummary]) {
    let declared = entries.iter().rev().find_map(|e| match &e.kind {
        EntryKind::SteadyStateDeclared { hypothesis, checks, stops } => Some((hypothesis, checks, stops)),
        _ => None,
    });
    let Some((hypothesis, checks, stops)) = declared else {
        return;
    };
    let _ = writeln!(md, "## Steady-state hypothesis\n");
    let _ = writeln!(md, "**{}**: {}\n", escape(hypothesis), escape(&checks.join("; ")));
    if !stops.is_empty() {
        let _ = writeln!(md, "Stop conditions: {}\n", escape(&stops.join("; ")));
    }
    let _ =
        writeln!(md, "| # | Fault | Before the inject | Time to detect | Stop condition | Time to recover | Verdict |");
    let _ = writeln!(md, "|---|---|---|---|---|---|---|");
    for f in faults {
        let v = steady_verdict(entries, f.id);
        let before = match &v.before {
            Some((word, detail)) => format!("{word} ({detail})"),
            None => "-".into(),
        };
        let detect = v.detected_ms.map(super::entry::seconds).unwrap_or_else(|| "not broken".into());
        let recover = match (v.recovered_ms, v.detected_ms.is_some() || v.stop.is_some()) {
            (Some(ms), _) => super::entry::seconds(ms),
            (None, true) => "**not recovered**".into(),
            (None, false) => "-".into(),
        };
        let _ = writeln!(
            md,
            "| {} | {} on {} | {} | {} | {} | {} | {} |",
            f.id,
            escape(&f.preset),
            escape(&f.target),
            escape(&before),
            detect,
            escape(v.stop.as_deref().unwrap_or("-")),
            recover,
            v.verdict(),
        );
    }
    let _ = writeln!(md);
}

/// Per step of the run-sheet: the hypothesis written before the run against what happened.
/// Each run-sheet step's verdict (its last outcome), by step number.
pub fn step_verdicts(entries: &[Entry]) -> BTreeMap<usize, &str> {
    entries
        .iter()
        .filter_map(|e| match &e.kind {
            EntryKind::StepOutcome { step, verdict, .. } => Some((*step, verdict.as_str())),
            _ => None,
        })
        .collect()
}

fn run_sheet(md: &mut String, entries: &[Entry]) {
    let planned = entries.iter().find_map(|e| match &e.kind {
        EntryKind::PlanLoaded { steps, .. } => Some(*steps),
        _ => None,
    });
    let Some(planned) = planned else { return };
    // step -> (started, outcome)
    let mut rows: BTreeMap<usize, (Option<&EntryKind>, Option<&EntryKind>)> = BTreeMap::new();
    for e in entries {
        match &e.kind {
            EntryKind::StepStarted { step, .. } => rows.entry(*step).or_default().0 = Some(&e.kind),
            EntryKind::StepOutcome { step, .. } => rows.entry(*step).or_default().1 = Some(&e.kind),
            _ => {}
        }
    }
    let verdicts: Vec<&str> = step_verdicts(entries).into_values().collect();
    let count = |v: &str| verdicts.iter().filter(|x| **x == v).count();
    let _ = writeln!(md, "## Run-sheet\n");
    let _ = writeln!(
        md,
        "{planned} steps: {} held, {} partially held, {} broken, {} failed, {} skipped, {} not run.\n",
        count("held"),
        count("partially held"),
        count("broken"),
        count("failed"),
        count("skipped"),
        planned.saturating_sub(verdicts.len())
    );
    let _ = writeln!(md, "| Step | Fault | Hypothesis (written before) | Expected alerts | What happened | Verdict |");
    let _ = writeln!(md, "|---|---|---|---|---|---|");
    for (step, (started, outcome)) in rows {
        let (mut name, mut what, mut written, mut alerts) =
            (String::new(), "-".to_string(), String::new(), String::new());
        if let Some(EntryKind::StepStarted { name: n, preset, target, hypothesis, expected_alerts, checks, .. }) =
            started
        {
            name = n.clone();
            what = format!("{preset} on {target}");
            written = hypothesis.clone();
            if !checks.is_empty() {
                written.push_str(&format!(" (checks: {})", checks.join(", ")));
            }
            alerts = expected_alerts.join(", ");
        }
        let (verdict, detail) = match outcome {
            Some(EntryKind::StepOutcome { name: n, fault, verdict, detail, .. }) => {
                name = n.clone();
                if let Some(f) = fault {
                    what = format!("#{f} {what}");
                }
                (verdict.clone(), detail.clone())
            }
            _ => ("not finished".to_string(), String::new()),
        };
        let verdict = if verdict == "held" { verdict } else { format!("**{verdict}**") };
        let _ = writeln!(
            md,
            "| {step}. {} | {} | {} | {} | {} | {verdict} |",
            escape(&name),
            escape(&what),
            escape(&written),
            escape(&alerts),
            escape(&detail),
        );
    }
    let _ = writeln!(md);
}

/// A mermaid gantt chart (GitHub renders it): faults and the health they cost, on one axis of
/// seconds since the session start.
fn gantt(md: &mut String, entries: &[Entry], faults: &[FaultSummary]) {
    if faults.is_empty() {
        return;
    }
    // One line (no text ever starts a line of the chart, nor ends the block), without Mermaid's
    // own syntax characters, HTML or backticks.
    let name =
        |s: &str| crate::text::one_line(s).replace([':', ';', '#', '`', '%', '{', '}', '<', '>', '"', '\\'], " ");
    let end_s = entries.last().map(|e| e.t_ms / 1000).unwrap_or(0);
    let _ = writeln!(md, "## Faults and health over time\n");
    let _ = writeln!(md, "```mermaid\ngantt\n    dateFormat X\n    axisFormat %M:%S\n    section Faults");
    for f in faults {
        let from = f.injected_ms.unwrap_or(f.requested_ms) / 1000;
        let to = f.reverted_ms.or(f.ending.as_ref().map(|e| e.0)).map(|t| t / 1000).unwrap_or(end_s).max(from + 1);
        let _ = writeln!(md, "    fault {} {} {} :crit, {from}, {to}", f.id, name(&f.preset), name(&f.target));
    }
    // Each stretch of a service not being healthy.
    let mut open: BTreeMap<String, (u64, Health)> = BTreeMap::new();
    let mut bars = Vec::new();
    for e in entries {
        if let EntryKind::HealthChanged { service, to, .. } = &e.kind {
            if let Some((from, worst)) = open.remove(service) {
                let worst = if to.severity() > worst.severity() { *to } else { worst };
                if *to == Health::Healthy {
                    bars.push((service.clone(), worst, from, e.t_ms / 1000));
                } else {
                    open.insert(service.clone(), (from, worst));
                }
            } else if matches!(to, Health::Degraded | Health::Down) {
                open.insert(service.clone(), (e.t_ms / 1000, *to));
            }
        }
    }
    bars.extend(open.into_iter().map(|(s, (from, worst))| (s, worst, from, end_s)));
    if !bars.is_empty() {
        let _ = writeln!(md, "    section Health");
        bars.sort_by_key(|b| b.2);
        for (service, worst, from, to) in bars {
            let tag = if worst == Health::Down { "crit, " } else { "active, " };
            // The health word first: a service's name never starts a line (a keyword).
            let _ = writeln!(md, "    {worst} {} :{tag}{from}, {}", name(&service), to.max(from + 1));
        }
    }
    let _ = writeln!(md, "```\n");
}

pub fn render(entries: &[Entry]) -> String {
    let mut md = String::new();
    let start = entries.iter().find_map(|e| match &e.kind {
        EntryKind::SessionStart { session, backend, version } => Some((e, session, backend, version)),
        _ => None,
    });
    let end_ms = entries.last().map(|e| e.t_ms).unwrap_or(0);
    let (title, date) = match &start {
        Some((e, _, b, _)) => (format!("{} ({})", b.cluster, b.kind), e.wall.format("%Y-%m-%d %H:%M UTC").to_string()),
        None => ("unknown cluster".to_string(), "unknown".to_string()),
    };
    let faults = faults(entries);
    let _ = writeln!(md, "{HEADING}: {}\n", escape(&title));
    let _ = writeln!(md, "| | |\n|---|---|");
    let _ = writeln!(md, "| Date | {date} |");
    if let Some((_, session, b, version)) = &start {
        let _ = writeln!(md, "| Session | {} |", escape(session));
        let _ = writeln!(md, "| Backend | {} |", escape(&b.kind));
        let _ = writeln!(md, "| Cluster | {} |", escape(&b.cluster));
        let _ = writeln!(md, "| gameday | {} |", escape(version));
    }
    if let Some(EntryKind::PlanLoaded { title, facilitator, environment, participants, .. }) =
        entries.iter().map(|e| &e.kind).find(|k| matches!(k, EntryKind::PlanLoaded { .. }))
    {
        let who: Vec<String> = participants.iter().map(|(n, r)| format!("{n} ({r})")).collect();
        let _ = writeln!(md, "| Run-sheet | {} |", escape(title));
        if !facilitator.is_empty() {
            let _ = writeln!(md, "| Facilitator | {} |", escape(facilitator));
        }
        if !environment.is_empty() {
            let _ = writeln!(md, "| Environment | {} |", escape(environment));
        }
        if !who.is_empty() {
            let _ = writeln!(md, "| Participants | {} |", escape(&who.join(", ")));
        }
    }
    let _ = writeln!(md, "| Duration | {} |", secs(end_ms));
    let ended = entries.iter().rev().find_map(|e| match &e.kind {
        EntryKind::SessionEnd { reason } => Some(reason.clone()),
        _ => None,
    });
    let _ = writeln!(md, "| Ended | {} |", escape(ended.as_deref().unwrap_or("session still running or killed")));
    let aborted = faults.iter().filter(|f| matches!(f.ending, Some((_, EndReason::Aborted { .. })))).count();
    let failed = faults.iter().filter(|f| f.outcome() == "revert failed").count();
    let refused = entries.iter().filter(|e| matches!(e.kind, EntryKind::InjectRefused { .. })).count();
    let _ = writeln!(md, "| Faults | {} ({aborted} aborted, {failed} revert failed) |", faults.len());
    let _ = writeln!(md, "| Injects refused | {refused} (one fault at a time) |\n");
    let drill = super::drill::read(entries);
    super::summary::markdown(&mut md, entries, &faults, &drill);

    run_sheet(&mut md, entries);
    super::drill::markdown(&mut md, &drill);
    gantt(&mut md, entries, &faults);
    let _ = writeln!(md, "## Faults\n");
    if faults.is_empty() {
        let _ = writeln!(md, "No fault was injected.\n");
    } else {
        let _ = writeln!(md, "| # | Preset | Target | Injected | Ended | Outcome | Blast radius |");
        let _ = writeln!(md, "|---|---|---|---|---|---|---|");
        for f in &faults {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} | {} | {} |",
                f.id,
                escape(&f.preset),
                escape(&f.target),
                f.injected_ms.map(since).unwrap_or_else(|| "-".into()),
                f.reverted_ms
                    .or(f.closed.as_ref().map(|c| c.0))
                    .or(f.ending.as_ref().map(|e| e.0))
                    .map(since)
                    .unwrap_or_else(|| "-".into()),
                escape(&f.outcome()),
                escape(&f.blast_radius),
            );
        }
        let _ = writeln!(md);
        steady_state(&mut md, entries, &faults);
        let _ = writeln!(md, "## Impact\n");
        for f in &faults {
            let _ = writeln!(md, "### Fault #{}: {} on {}\n", f.id, escape(&f.preset), escape(&f.target));
            let _ = writeln!(md, "- Hypothesis: {}", escape(&f.hypothesis));
            if !f.params.is_empty() {
                let _ = writeln!(md, "- Parameters: {}", escape(&f.params));
            }
            let _ = writeln!(md, "- Outcome: {}", escape(&f.outcome()));
            let impacts = impact(entries, f);
            if let Some((after, service)) = first_impact(f, &impacts) {
                let _ = writeln!(md, "- First impact: {} after the inject ({})", secs(after), escape(&service));
            }
            let line = match recovery(f, &impacts) {
                Recovery::NoImpact => "No service changed health.".to_string(),
                Recovery::BeforeRevert { at_ms } => {
                    format!("Recovered before the revert: every service healthy again at {}", since(at_ms))
                }
                Recovery::AfterRevert { ms } => format!("Time to recover after the revert: {}", secs(ms)),
                Recovery::NotRecovered { by_ms } => format!("**Not recovered** by {}", since(by_ms)),
                Recovery::NotReverted => "**Revert not confirmed**: check the cluster by hand".to_string(),
                Recovery::Unobserved => "No recovery to observe: see the outcome.".to_string(),
            };
            let _ = writeln!(md, "- {line}");
            if !impacts.is_empty() {
                let _ = writeln!(md, "\n| Service | Worst | Changes | At end |\n|---|---|---|---|");
                for i in &impacts {
                    let changes: Vec<String> = i.changes.iter().map(|(t, h)| format!("{} {h}", since(*t))).collect();
                    let _ = writeln!(
                        md,
                        "| {} | {} | {} | {} |",
                        escape(&i.service),
                        i.worst,
                        changes.join(", "),
                        i.end_state
                    );
                }
            }
            let _ = writeln!(md);
        }
    }

    let _ = writeln!(md, "## Notes\n");
    let notes: Vec<&Entry> = entries.iter().filter(|e| matches!(e.kind, EntryKind::Note { .. })).collect();
    if notes.is_empty() {
        let _ = writeln!(md, "No notes were taken.\n");
    }
    for e in &notes {
        if let EntryKind::Note { text, tag } = &e.kind {
            let _ = writeln!(md, "- {} ({}) *{tag}*: {}", since(e.t_ms), e.wall.format("%H:%M:%S"), escape(text));
        }
    }
    let actions: Vec<&str> = notes
        .iter()
        .filter_map(|e| match &e.kind {
            EntryKind::Note { text, tag: super::NoteTag::ActionItem } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    if !md.ends_with("\n\n") {
        md.push('\n');
    }
    let _ = writeln!(md, "## Action items\n");
    if actions.is_empty() {
        let _ = writeln!(md, "None were noted.");
    }
    for a in actions {
        let _ = writeln!(md, "- [ ] {}", escape(a));
    }
    if !md.ends_with("\n\n") {
        md.push('\n');
    }
    let _ = writeln!(md, "## Timeline\n");
    let _ = writeln!(md, "| Time | Wall (UTC) | Event |\n|---|---|---|");
    for e in entries {
        let _ = writeln!(md, "| {} | {} | {} |", since(e.t_ms), e.wall.format("%H:%M:%S"), escape(&e.kind.describe()));
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_defuses_tables_html_links_and_emphasis() {
        let e = escape("a | b <script>alert(1)</script>\nnext *x* ![img](http://x) _y_ snake_case \\|");
        assert_eq!(
            e,
            "a \\| b &lt;script>alert(1)&lt;/script><br>next \\*x\\* !\\[img\\](http://x) \\_y\\_ snake_case \\\\\\|"
        );
        // Ordinary text is not over-escaped.
        for plain in ["fault #1 healthy > degraded", "carts -> orders", "~/reports/x.md", "a < b", "R&D", "C:\\temp"] {
            assert_eq!(escape(plain), plain);
        }
        assert_eq!(escape("&copy; &#60;b&#62; ~~gone~~"), "&amp;copy; &amp;#60;b&amp;#62; \\~\\~gone\\~\\~");
        assert_eq!(escape("a\u{1b}]52;c;x\u{7}b\rc"), "abc");
    }
}
