//! The report's summary: what was run and how it went, in a few lines a reader takes in first:
//! steps and their verdicts, faults and aborts, and the median times to detect, mitigate and
//! recover.

use std::fmt::Write as _;

use super::entry::{median, EndReason, Entry, EntryKind, NoteTag};
use super::faults::{planned_steps, step_tally, FaultSummary, Index};
use super::markdown::escape;

pub fn markdown(
    md: &mut String,
    entries: &[Entry],
    index: &Index,
    faults: &[FaultSummary],
    drill: &super::drill::Drill,
) {
    let _ = writeln!(md, "## Summary\n");
    if let Some(planned) = planned_steps(entries) {
        let t = step_tally(entries);
        let _ = writeln!(
            md,
            "- **Steps**: {} of {planned} run; hypotheses {} held, {} partially held, {} broken; {} failed, {} skipped.",
            t.ran(),
            t.held,
            t.partial,
            t.broken,
            t.failed,
            t.skipped,
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
    let expectations: Vec<_> = faults.iter().filter(|f| f.applied()).map(|f| f.expectation()).collect();
    if !expectations.is_empty() {
        let count = |w: &str| expectations.iter().filter(|e| e.word() == w).count();
        let _ = writeln!(
            md,
            "- **Expectations** (what each fault was expected to do): {} held, {} broken, {} not judged by a check.",
            count("held"),
            count("broken"),
            count("not judged"),
        );
    }
    let applied: Vec<&FaultSummary> = faults.iter().filter(|f| f.applied()).collect();
    let verdicts: Vec<_> = applied.iter().map(|f| index.steady_verdict(f.id)).collect();
    let broken: Vec<_> = verdicts.iter().filter(|v| v.broken()).collect();
    let detected: Vec<u64> = broken.iter().filter_map(|v| v.detected_ms).collect();
    // A time to recover only for a fault that broke steady state.
    let recovered: Vec<u64> =
        broken.iter().filter(|v| v.held_again_ms.is_none()).filter_map(|v| v.recovered_ms).collect();
    let held_again = broken.iter().filter(|v| v.held_again_ms.is_some()).count();
    let mut line = format!("- **Steady state**: broken during {} of {} fault(s)", broken.len(), applied.len());
    if !broken.is_empty() {
        line.push_str(&format!(" (median time to detect {})", median(detected)));
        if held_again > 0 {
            line.push_str(&format!("; {held_again} recovered before the revert"));
        }
        if !recovered.is_empty() {
            line.push_str(&format!(
                "; {} recovered after the revert (median time to recover {})",
                recovered.len(),
                median(recovered)
            ));
        }
    }
    let _ = writeln!(md, "{line}.");
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
