//! The Markdown Gameday report, built from the journal entries alone (so `:export` and
//! `gameday report <session.jsonl>` give the same document). Every duration in it is said one
//! way (`entry::seconds`), each fault states what was expected of it apart from how the
//! session's steady state fared, and a section with nothing to say is left out.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::entry::{seconds, since, EndReason, Entry, EntryKind};
use super::faults::{faults, first_impact, observed, recovery, Expectation, FaultSummary, Index, Recovery};
use super::markdown::escape;

/// The first words of every report: a file that starts with them is an earlier report (which
/// `:export` may replace).
pub const HEADING: &str = "# Gameday report";

/// Where the session stands, as the report says it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Read from the journal: ended (its end is recorded) or not.
    Journal,
    /// Exported from the console while the session goes on.
    InProgress,
}

/// The report of a session, as its journal tells it.
pub fn render(entries: &[Entry]) -> String {
    render_as(entries, Status::Journal)
}

pub fn render_as(entries: &[Entry], status: Status) -> String {
    let mut md = String::new();
    let faults = faults(entries);
    let index = Index::new(entries);
    let drill = super::drill::read(entries);
    header(&mut md, entries, &faults, &drill.responders, status);
    super::summary::markdown(&mut md, entries, &index, &faults, &drill);
    run_sheet(&mut md, entries, &index, &faults);
    alerts(&mut md, entries);
    super::drill::markdown(&mut md, &drill);
    super::gantt::gantt(&mut md, entries, &faults);
    fault_table(&mut md, &faults, &super::faults::unwatched(entries));
    steady_state(&mut md, entries, &index, &faults);
    in_detail(&mut md, &index, &faults, &stops(entries));
    notes(&mut md, entries);
    let _ = writeln!(md, "## Timeline\n");
    let _ = writeln!(md, "| Time | Wall (UTC) | Event |\n|---|---|---|");
    for e in entries.iter().filter(|e| e.kind.on_timeline()) {
        let _ = writeln!(md, "| {} | {} | {} |", since(e.t_ms), e.wall.format("%H:%M:%S"), escape(&e.kind.describe()));
    }
    md
}

/// `responders`: those who joined the drill (the roster).
fn header(md: &mut String, entries: &[Entry], faults: &[FaultSummary], responders: &[String], status: Status) {
    let start = entries.iter().find_map(|e| match &e.kind {
        EntryKind::SessionStart { session, backend, version } => Some((e, session, backend, version)),
        _ => None,
    });
    let end_ms = entries.last().map(|e| e.t_ms).unwrap_or(0);
    let (cluster, date) = match &start {
        Some((e, _, b, _)) => (format!("{} ({})", b.cluster, b.kind), e.wall.format("%Y-%m-%d %H:%M UTC").to_string()),
        None => ("unknown cluster".to_string(), "unknown".to_string()),
    };
    let d = details(entries);
    // The session's own title (`:title`), else its run-sheet's, else where it ran.
    let title = d.title.clone().or_else(|| d.run_sheet.clone()).unwrap_or(cluster);
    let _ = writeln!(md, "{HEADING}: {}\n", escape(&title));
    let _ = writeln!(md, "| | |\n|---|---|");
    let _ = writeln!(md, "| Date | {date} |");
    if let Some((_, session, b, version)) = &start {
        let _ = writeln!(md, "| Session | {} |", escape(session));
        let _ = writeln!(md, "| Backend | {} |", escape(&b.kind));
        let _ = writeln!(md, "| Cluster | {} |", escape(&b.cluster));
        let _ = writeln!(md, "| gameday | {} |", escape(version));
    }
    if let Some(title) = &d.run_sheet {
        let _ = writeln!(md, "| Run-sheet | {} |", escape(title));
    }
    if let Some(title) = &d.title {
        let _ = writeln!(md, "| Title | {} |", escape(title));
    }
    if !d.facilitator.is_empty() {
        let _ = writeln!(md, "| Facilitator | {} |", escape(&d.facilitator));
    }
    if !d.environment.is_empty() {
        let _ = writeln!(md, "| Environment | {} |", escape(&d.environment));
    }
    // With the drill's responders who joined (the roster), unless already named.
    let mut people = d.participants.clone();
    for r in responders {
        if !people.iter().any(|(n, _)| n == r) {
            people.push((r.clone(), "responder, joined the drill".into()));
        }
    }
    if !people.is_empty() {
        let who: Vec<String> = people.iter().map(|(n, r)| format!("{n} ({r})")).collect();
        let _ = writeln!(md, "| Participants | {} |", escape(&who.join(", ")));
    }
    // A console lost for good: the session lasted as long as it was watched.
    let gaps = super::faults::unwatched(entries);
    match gaps.last() {
        Some((lost, until)) if *until == end_ms => {
            let _ = writeln!(md, "| Duration | {} (until its console was lost) |", seconds(*lost));
        }
        _ => {
            let _ = writeln!(md, "| Duration | {} |", seconds(end_ms));
        }
    }
    // The last end recorded, unless the session was resumed after it.
    let mut ended = None;
    for e in entries {
        match &e.kind {
            EntryKind::SessionEnd { reason } => ended = Some(reason.clone()),
            EntryKind::SessionResumed { .. } => ended = None,
            _ => {}
        }
    }
    let ended = match (status, ended) {
        (Status::InProgress, _) => format!("not yet: the session is in progress (exported at {})", since(end_ms)),
        (Status::Journal, Some(reason)) => reason,
        (Status::Journal, None) => "no end is recorded (the console may still run, or it was killed)".into(),
    };
    let _ = writeln!(md, "| Ended | {} |", escape(&ended));
    let aborted = faults.iter().filter(|f| matches!(f.ending, Some((_, EndReason::Aborted { .. })))).count();
    let failed = faults.iter().filter(|f| f.outcome() == "revert failed").count();
    let refused = entries.iter().filter(|e| matches!(e.kind, EntryKind::InjectRefused { .. })).count();
    let _ = writeln!(md, "| Faults | {} ({aborted} aborted, {failed} revert failed) |", faults.len());
    let _ = writeln!(md, "| Injects refused | {refused} (one fault at a time) |\n");
}

/// Who and what the session was, from its run-sheet and what was said in the console
/// (`:title`, `:who`); the latest word wins.
#[derive(Default)]
struct Details {
    run_sheet: Option<String>,
    title: Option<String>,
    facilitator: String,
    environment: String,
    participants: Vec<(String, String)>,
}

fn details(entries: &[Entry]) -> Details {
    let mut d = Details::default();
    for e in entries {
        match &e.kind {
            EntryKind::PlanLoaded { title, facilitator, environment, participants, .. } => {
                d.run_sheet = Some(title.clone());
                d.facilitator = facilitator.clone();
                d.environment = environment.clone();
                d.participants = participants.clone();
            }
            EntryKind::SessionDetails { title, facilitator, participants } => {
                if title.is_some() {
                    d.title = title.clone();
                }
                if let Some(f) = facilitator {
                    d.facilitator = f.clone();
                }
                if !participants.is_empty() {
                    d.participants = participants.clone();
                }
            }
            _ => {}
        }
    }
    d
}

/// Per step of the run-sheet: the expectation written before the run against what happened.
fn run_sheet(md: &mut String, entries: &[Entry], index: &Index, faults: &[FaultSummary]) {
    let planned = entries.iter().find_map(|e| match &e.kind {
        EntryKind::PlanLoaded { steps, names, .. } => Some((*steps, names.clone())),
        _ => None,
    });
    let Some((planned, names)) = planned else { return };
    // step -> (started, outcome)
    let mut rows: BTreeMap<usize, (Option<&EntryKind>, Option<&EntryKind>)> = BTreeMap::new();
    for e in entries {
        match &e.kind {
            EntryKind::StepStarted { step, .. } => rows.entry(*step).or_default().0 = Some(&e.kind),
            EntryKind::StepOutcome { step, .. } => rows.entry(*step).or_default().1 = Some(&e.kind),
            _ => {}
        }
    }
    let t = super::faults::step_tally(entries);
    let _ = writeln!(md, "## Run-sheet\n");
    let _ = writeln!(
        md,
        "{planned} steps: {} held, {} partially held, {} broken, {} failed, {} skipped, {} not run.\n",
        t.held,
        t.partial,
        t.broken,
        t.failed,
        t.skipped,
        planned.saturating_sub(t.total())
    );
    // Every step of the sheet, each with its verdict: one never started is "not run".
    for step in 1..=planned {
        rows.entry(step).or_default();
    }
    if rows.is_empty() {
        return;
    }
    let _ = writeln!(md, "| Step | Fault | Expected (written before) | Expected alerts | What happened | Verdict |");
    let _ = writeln!(md, "|---|---|---|---|---|---|");
    for (step, (started, outcome)) in rows {
        if started.is_none() && outcome.is_none() {
            let name = names.get(step - 1).cloned().unwrap_or_default();
            let _ = writeln!(md, "| {step}. {} | - | | | - | **not run** |", escape(&name));
            continue;
        }
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
        let (verdict, mut detail) = match outcome {
            Some(EntryKind::StepOutcome { name: n, fault, verdict, detail, .. }) => {
                name = n.clone();
                if let Some(f) = fault {
                    what = format!("#{f} {what}");
                }
                (verdict.to_string(), detail.clone())
            }
            _ => ("not finished".to_string(), String::new()),
        };
        if let Some(f) = faults.iter().find(|f| f.step.as_ref().is_some_and(|s| s.0 == step)) {
            let observed = observed(&index.impact(f), f.window_end_ms);
            detail = if detail.is_empty() { observed } else { format!("{observed}; {detail}") };
        }
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

/// `gaps`: when the console was lost (and until when): a fault still in then ends there in the
/// table, as in the chart; whoever reverted it later is its outcome.
fn fault_table(md: &mut String, faults: &[FaultSummary], gaps: &[(u64, u64)]) {
    let _ = writeln!(md, "## Faults\n");
    if faults.is_empty() {
        let _ = writeln!(md, "No fault was injected.\n");
        return;
    }
    let _ = writeln!(
        md,
        "| # | Preset | Target | Injected | Ended | Outcome | Revert confirmed in | Abort to revert | Blast radius |"
    );
    let _ = writeln!(md, "|---|---|---|---|---|---|---|---|---|");
    for f in faults {
        let ms = |ms: Option<u64>| ms.map(|ms| format!("{ms} ms")).unwrap_or_else(|| "-".into());
        // How long the abort key took to a confirmed revert: only for a fault that was aborted.
        let aborted = matches!(f.ending, Some((_, EndReason::Aborted { .. })));
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            f.id,
            escape(&f.preset),
            escape(&f.target),
            f.injected_ms.map(since).unwrap_or_else(|| "-".into()),
            match (f.reverted_ms.or(f.closed.as_ref().map(|c| c.0)).or(f.ending.as_ref().map(|e| e.0)), f.injected_ms) {
                (Some(to), Some(from)) => match gaps.iter().find(|(lost, _)| *lost >= from && *lost < to) {
                    Some((lost, _)) => format!("{} (its console was lost)", since(*lost)),
                    None => since(to),
                },
                (Some(to), None) => since(to),
                (None, _) => "-".into(),
            },
            escape(&f.outcome()),
            ms(f.revert_ms()),
            ms(f.revert_ms().filter(|_| aborted)),
            escape(&f.blast_radius),
        );
    }
    let _ = writeln!(md);
}

/// The session's steady state, declared once, and how each fault that was applied fared
/// against it: apart from what the fault was expected to do.
fn steady_state(md: &mut String, entries: &[Entry], index: &Index, faults: &[FaultSummary]) {
    let declared = entries.iter().rev().find_map(|e| match &e.kind {
        EntryKind::SteadyStateDeclared { hypothesis, checks, stops } => Some((hypothesis, checks, stops)),
        _ => None,
    });
    let applied: Vec<&FaultSummary> = faults.iter().filter(|f| f.applied()).collect();
    let Some((hypothesis, checks, stops)) = declared.filter(|_| !applied.is_empty()) else {
        return;
    };
    let _ = writeln!(md, "## Steady state\n");
    let _ = writeln!(md, "**{}**: {}\n", escape(hypothesis), escape(&checks.join("; ")));
    if !stops.is_empty() {
        let _ = writeln!(md, "Stop conditions: {}\n", escape(&stops.join("; ")));
    }
    let _ = writeln!(md, "| # | Fault | Before the inject | Time to detect | Stop condition | Recovery | Verdict |");
    let _ = writeln!(md, "|---|---|---|---|---|---|---|");
    for f in applied {
        let v = index.steady_verdict(f.id);
        let before = match &v.before {
            Some((word, detail)) => format!("{word} ({detail})"),
            None => "-".into(),
        };
        let detect = v.detected_ms.map(seconds).unwrap_or_else(|| "not broken".into());
        // A time to recover only where there was something to recover from.
        let recover = match (v.broken(), v.held_again_ms, v.recovered_ms) {
            (false, _, _) => "-".into(),
            (true, Some(ms), _) => format!("before the revert, {} after the inject", seconds(ms)),
            (true, None, Some(ms)) => format!("{} after the revert", seconds(ms)),
            (true, None, None) => "**not recovered**".into(),
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

/// When the console did not run (stopped, asleep): (from, for) in ms.
fn stops(entries: &[Entry]) -> Vec<(u64, u64)> {
    entries
        .iter()
        .filter_map(|e| match e.kind {
            EntryKind::ConsoleStopped { from_ms, for_ms, .. } => Some((from_ms, for_ms)),
            _ => None,
        })
        .collect()
}

/// Each fault on its own: what was expected, what was observed, the verdict on each.
fn in_detail(md: &mut String, index: &Index, faults: &[FaultSummary], stops: &[(u64, u64)]) {
    if faults.is_empty() {
        return;
    }
    let _ = writeln!(md, "## Each fault\n");
    for f in faults {
        let step = f.step.as_ref().map(|(n, name)| format!(" (step {n}: {})", escape(name))).unwrap_or_default();
        let _ = writeln!(md, "### Fault #{}: {} on {}{step}\n", f.id, escape(&f.preset), escape(&f.target));
        let mut expected = escape(&f.hypothesis);
        if !f.checks.is_empty() {
            expected.push_str(&format!(" (checks: {})", escape(&f.checks.join(", "))));
        }
        let _ = writeln!(md, "- Expected (written before): {expected}");
        if !f.params.is_empty() {
            let _ = writeln!(md, "- Parameters: {}", escape(&f.params));
        }
        // Its time changed while it was live (`:extend`, `:shorten`).
        let resized: Vec<String> = index
            .about(f.id)
            .iter()
            .filter_map(|e| match &e.kind {
                EntryKind::FaultResized { by_ms, duration_ms, author, .. } => Some(format!(
                    "{} by {} at {}{} ({} in all)",
                    if *by_ms >= 0 { "extended" } else { "shortened" },
                    seconds(by_ms.unsigned_abs()),
                    since(e.t_ms),
                    if author.is_empty() { String::new() } else { format!(" by {author}") },
                    seconds(*duration_ms)
                )),
                _ => None,
            })
            .collect();
        if !resized.is_empty() {
            let _ = writeln!(md, "- Time changed: {}", escape(&resized.join("; ")));
        }
        let _ = writeln!(md, "- Outcome: {}", escape(&f.outcome()));
        if let Some(ms) = f.revert_ms() {
            let what = match &f.ending {
                Some((_, EndReason::Aborted { .. })) => "From the abort to the confirmed revert",
                _ => "From its end to the confirmed revert",
            };
            let _ = writeln!(md, "- {what}: {ms} ms");
        }
        if !f.applied() {
            let _ = writeln!(md);
            continue;
        }
        let impacts = index.impact(f);
        let lost =
            f.lost_ms.map(|ms| format!(" (watched until its console was lost at {})", since(ms))).unwrap_or_default();
        let _ = writeln!(md, "- Observed: {}{lost}", escape(&observed(&impacts, f.window_end_ms)));
        if let Some((after, service)) = first_impact(f, &impacts) {
            // Seen late when the console did not run between the inject and then.
            let from = f.injected_ms.unwrap_or(f.requested_ms);
            let late = stops.iter().find(|(at, _)| *at >= from && *at < from + after).map(|(at, span)| {
                format!(
                    "; seen when the console ran again (it did not run for {} from {}): it may have come sooner",
                    seconds(*span),
                    since(*at)
                )
            });
            let late = late.unwrap_or_default();
            let _ = writeln!(md, "- First impact: {} after the inject ({}){late}", seconds(after), escape(&service));
        }
        for e in index.about(f.id) {
            if let EntryKind::ConsoleStopped { from_ms, for_ms, due_ms: Some(due), .. } = e.kind {
                let _ = writeln!(
                    md,
                    "- Its duration ended at {} while the console did not run ({} from {}): reverted {} late",
                    since(due),
                    seconds(for_ms),
                    since(from_ms),
                    seconds((from_ms + for_ms).saturating_sub(due))
                );
            }
        }
        let expectation = match f.expectation() {
            Expectation::Held => "**held**: its checks held while it was live".to_string(),
            Expectation::Broken { after_ms, reading } => {
                format!("**broken** {} after the inject ({})", seconds(after_ms), escape(&reading))
            }
            Expectation::NotJudged => "not judged: no check was written for it (see the notes)".to_string(),
        };
        let _ = writeln!(md, "- Verdict on the expectation: {expectation}");
        let v = index.steady_verdict(f.id);
        let steady = match (v.broken(), v.detected_ms, &v.stop) {
            (false, _, _) if v.verdict() == "unknown" => "unknown (never judged)".to_string(),
            (false, _, _) => "held".to_string(),
            (true, Some(ms), _) => format!("broken {} after the inject", seconds(ms)),
            (true, None, Some(stop)) => format!("broken (stop condition: {})", escape(stop)),
            (true, None, None) => "broken".to_string(),
        };
        let _ = writeln!(md, "- Steady state: {steady}");
        let line = match recovery(f, &impacts) {
            Recovery::NoImpact => "No service changed health.".to_string(),
            Recovery::BeforeRevert { at_ms } => {
                format!("Recovered before the revert: every service healthy again at {}", since(at_ms))
            }
            Recovery::AfterRevert { ms } => format!("Time to recover after the revert: {}", seconds(ms)),
            Recovery::NotRecovered { by_ms } if f.lost_ms == Some(by_ms) => format!(
                "**Not recovered** by {}, when its console was lost (nothing was watched after that)",
                since(by_ms)
            ),
            Recovery::NotRecovered { by_ms } => format!("**Not recovered** by {}", since(by_ms)),
            Recovery::NotReverted => "**Revert not confirmed**: check the cluster by hand".to_string(),
            Recovery::Unobserved => "No recovery to observe: see the outcome.".to_string(),
        };
        let _ = writeln!(md, "- {line}");
        if !impacts.is_empty() {
            let _ = writeln!(md, "\n| Service | Worst | Changes | At end |\n|---|---|---|---|");
            for i in &impacts {
                let changes: Vec<String> = i.changes.iter().map(|(t, h)| format!("{} {h}", since(*t))).collect();
                let _ =
                    writeln!(md, "| {} | {} | {} | {} |", escape(&i.service), i.worst, changes.join(", "), i.end_state);
            }
        }
        super::charts::markdown(md, index, f);
        let _ = writeln!(md);
    }
}

/// The alerts expected by the run-sheet or ticked in the console, each with its verdict.
fn alerts(md: &mut String, entries: &[Entry]) {
    let alerts = super::alerts::read(entries);
    if alerts.is_empty() {
        return;
    }
    let _ = writeln!(md, "## Alerts\n");
    let _ = writeln!(md, "| Alert | Expected by | Ticked | Verdict |\n|---|---|---|---|");
    let e = super::alerts::expectations(&alerts);
    for a in &alerts {
        let expected = match a.expected_by.as_slice() {
            [] => "-".to_string(),
            steps => steps.iter().map(|s| format!("step {s}")).collect::<Vec<_>>().join(", "),
        };
        let ticks: Vec<String> = a
            .ticks
            .iter()
            .map(|t| {
                let mut about = vec![format!("{} UTC", t.wall.format("%H:%M:%S"))];
                if !t.author.is_empty() {
                    about.push(format!("by {}", t.author));
                }
                match (t.fault, t.after_inject_ms) {
                    (Some(f), Some(ms)) => about.push(format!("{} after fault #{f}'s inject", seconds(ms))),
                    (Some(f), None) => about.push(format!("fault #{f}")),
                    _ => {}
                }
                let word = if t.fired { "fired" } else { "silent" };
                let note = if t.note.is_empty() { String::new() } else { format!(": {}", t.note) };
                format!("{word} at {} ({}){note}", since(t.t_ms), about.join(", "))
            })
            .collect();
        let ticked = if ticks.is_empty() { "-".to_string() } else { ticks.join("; ") };
        let verdict = if a.finding(e) { format!("**{}**", a.verdict(e)) } else { a.verdict(e).to_string() };
        let _ = writeln!(md, "| {} | {expected} | {} | {verdict} |", escape(&a.name), escape(&ticked));
    }
    let _ = writeln!(md);
}

/// The notes, and the action items among them as a checklist; each section only if it has
/// something.
fn notes(md: &mut String, entries: &[Entry]) {
    let notes: Vec<&Entry> = entries.iter().filter(|e| matches!(e.kind, EntryKind::Note { .. })).collect();
    if notes.is_empty() {
        return;
    }
    let _ = writeln!(md, "## Notes\n");
    for e in &notes {
        if let EntryKind::Note { text, tag, author, fault, .. } = &e.kind {
            let mut by = String::new();
            if !author.is_empty() {
                by.push_str(&format!(" by {}", escape(author)));
            }
            if let Some(f) = fault {
                by.push_str(&format!(" during fault #{f}"));
            }
            let at = e.wall.format("%H:%M:%S");
            let _ = writeln!(md, "- {} ({at}) *{tag}*{by}: {}", since(e.t_ms), escape(text));
        }
    }
    let _ = writeln!(md);
    let actions: Vec<&Entry> = notes
        .into_iter()
        .filter(|e| matches!(e.kind, EntryKind::Note { tag: super::NoteTag::ActionItem, .. }))
        .collect();
    if actions.is_empty() {
        return;
    }
    let _ = writeln!(md, "## Action items\n");
    for e in actions {
        if let EntryKind::Note { text, owner, due, fault, .. } = &e.kind {
            let owner = if owner.is_empty() { "**no owner**".to_string() } else { format!("@{}", escape(owner)) };
            let due = due.as_deref().map(|d| format!("due {d}")).unwrap_or_else(|| "no due date".into());
            let from = fault.map(|f| format!(", from fault #{f}")).unwrap_or_default();
            let _ = writeln!(md, "- [ ] {} ({owner}, {due}; written at {}{from})", escape(text), since(e.t_ms));
        }
    }
    let _ = writeln!(md);
}
