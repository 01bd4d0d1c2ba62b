//! The report's summary: what was run and how it went, in a few lines a reader takes in first:
//! steps and their verdicts, faults and aborts, and the median times to detect, mitigate and
//! recover.

use std::fmt::Write as _;

use super::entry::{seconds, EndReason, Entry, EntryKind, NoteTag};
use super::report::{escape, steady_verdict, step_verdicts, FaultSummary};

/// The median of some durations, "-" for none.
pub fn median(mut ms: Vec<u64>) -> String {
    ms.sort_unstable();
    match ms.len() {
        0 => "-".to_string(),
        n if n % 2 == 1 => seconds(ms[n / 2]),
        n => seconds((ms[n / 2 - 1] + ms[n / 2]) / 2),
    }
}

pub fn markdown(md: &mut String, entries: &[Entry], faults: &[FaultSummary], drill: &super::drill::Drill) {
    let _ = writeln!(md, "## Summary\n");
    let verdicts: Vec<&str> = step_verdicts(entries).into_values().collect();
    if let Some(planned) = entries.iter().find_map(|e| match &e.kind {
        EntryKind::PlanLoaded { steps, .. } => Some(*steps),
        _ => None,
    }) {
        let count = |v: &str| verdicts.iter().filter(|x| **x == v).count();
        let run = verdicts.iter().filter(|v| **v != "skipped").count();
        let _ = writeln!(
            md,
            "- **Steps**: {run} of {planned} run; hypotheses {} held, {} partially held, {} broken; {} failed, {} skipped.",
            count("held"),
            count("partially held"),
            count("broken"),
            count("failed"),
            count("skipped"),
        );
    }
    let aborts: Vec<String> = faults
        .iter()
        .filter_map(|f| match &f.ending {
            Some((_, EndReason::Aborted { by })) => Some(format!("#{} by {}", f.id, escape(by))),
            _ => None,
        })
        .collect();
    let stops = entries.iter().filter(|e| matches!(e.kind, EntryKind::StopCondition { .. })).count();
    let failed = faults.iter().filter(|f| f.outcome() == "revert failed").count();
    let _ = writeln!(
        md,
        "- **Faults**: {} injected, one at a time; {} aborted{}; {stops} stop condition(s) fired; {failed} revert(s) failed.",
        faults.iter().filter(|f| f.injected_ms.is_some()).count(),
        aborts.len(),
        if aborts.is_empty() { String::new() } else { format!(" ({})", aborts.join(", ")) },
    );
    let verdicts: Vec<_> = faults.iter().map(|f| steady_verdict(entries, f.id)).collect();
    let detected: Vec<u64> = verdicts.iter().filter_map(|v| v.detected_ms).collect();
    let recovered: Vec<u64> = verdicts.iter().filter_map(|v| v.recovered_ms).collect();
    let _ = writeln!(
        md,
        "- **Steady state**: broken during {} of {} fault(s) (median time to detect {}); {} recovered after the revert (median time to recover {}).",
        verdicts.iter().filter(|v| v.verdict() == "broken").count(),
        faults.len(),
        median(detected),
        recovered.len(),
        median(recovered),
    );
    if drill.is_drill() {
        let (detected, mitigated) = (drill.detected_ms(), drill.mitigated_ms());
        let _ = writeln!(
            md,
            "- **Drill** ({}): {} of {} fault(s) detected (median time to detect {}), {} mitigated (median time to mitigate {}).",
            escape(&drill.responders.join(", ")),
            detected.len(),
            drill.faults.len(),
            median(detected),
            mitigated.len(),
            median(mitigated),
        );
    }
    let actions = entries.iter().filter(|e| matches!(e.kind, EntryKind::Note { tag: NoteTag::ActionItem, .. })).count();
    let _ = writeln!(md, "- **Action items**: {actions}.\n");
}
