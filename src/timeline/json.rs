//! The report's data as JSON (`gameday report --format json`), for tools.

use super::entry::{EndReason, Entry, EntryKind};
use super::faults::{faults, observed, Expectation, Index};

/// The same data as the Markdown report, as JSON (`gameday report --format json`): the session,
/// the run-sheet's steps, each fault with its steady-state verdict and impact, notes and action
/// items, and the whole timeline.
pub fn render(entries: &[Entry]) -> serde_json::Value {
    use serde_json::json;
    let start = entries.iter().find_map(|e| match &e.kind {
        EntryKind::SessionStart { session, backend, version } => Some(json!({
            "id": session, "backend": backend.kind, "cluster": backend.cluster, "gameday": version,
            "started": e.wall,
        })),
        _ => None,
    });
    let plan = entries.iter().find_map(|e| match &e.kind {
        EntryKind::PlanLoaded { title, facilitator, environment, participants, steps, .. } => Some(json!({
            "title": title, "facilitator": facilitator, "environment": environment, "steps": steps,
            "participants": participants.iter().map(|(n, r)| json!({"name": n, "role": r})).collect::<Vec<_>>(),
        })),
        _ => None,
    });
    let ended = entries.iter().rev().find_map(|e| match &e.kind {
        EntryKind::SessionEnd { reason } => Some(json!({"at": e.wall, "reason": reason})),
        _ => None,
    });
    let faults = faults(entries);
    let index = Index::new(entries);
    let fault_data: Vec<serde_json::Value> = faults
        .iter()
        .map(|f| {
            let v = index.steady_verdict(f.id);
            let impact = index.impact(f);
            let (broken_after_ms, reading) = match f.expectation() {
                Expectation::Broken { after_ms, reading } => (Some(after_ms), Some(reading)),
                _ => (None, None),
            };
            let impacts: Vec<serde_json::Value> = impact
                .iter()
                .map(|i| {
                    json!({"service": i.service, "worst": i.worst, "end_state": i.end_state,
                        "changes": i.changes.iter().map(|(t, h)| json!({"t_ms": t, "health": h})).collect::<Vec<_>>()})
                })
                .collect();
            json!({
                "id": f.id, "preset": f.preset, "target": f.target, "params": f.params,
                "blast_radius": f.blast_radius, "hypothesis": f.hypothesis,
                "requested_ms": f.requested_ms, "injected_ms": f.injected_ms,
                "ended_ms": f.reverted_ms.or(f.ending.as_ref().map(|e| e.0)), "outcome": f.outcome(),
                "revert_ms": f.revert_ms(),
                "step": f.step.as_ref().map(|(n, name)| json!({"step": n, "name": name})),
                "expectation": {
                    "written_before": f.hypothesis, "checks": f.checks, "verdict": f.expectation().word(),
                    "broken_after_ms": broken_after_ms, "reading": reading,
                },
                "observed": observed(&impact, f.window_end_ms),
                "steady_state": {
                    "before": v.before.as_ref().map(|b| json!({"verdict": b.0, "detail": b.1})),
                    "time_to_detect_ms": v.detected_ms, "stop_condition": v.stop,
                    "held_again_after_ms": v.held_again_ms,
                    "time_to_recover_ms": v.recovered_ms.filter(|_| v.broken()), "verdict": v.verdict(),
                },
                "impact": impacts,
            })
        })
        .collect();
    let mut steps: Vec<serde_json::Value> = Vec::new();
    for e in entries {
        match &e.kind {
            EntryKind::StepStarted { step, name, preset, target, hypothesis, expected_alerts, checks } => {
                steps.push(json!({
                    "step": step, "name": name, "preset": preset, "target": target, "hypothesis": hypothesis,
                    "expected_alerts": expected_alerts, "checks": checks, "started_ms": e.t_ms,
                    "verdict": "not finished",
                }))
            }
            EntryKind::StepOutcome { step, fault, verdict, detail, .. } => {
                if let Some(s) = steps.iter_mut().rev().find(|s| s["step"] == *step) {
                    s["fault"] = json!(fault);
                    s["verdict"] = json!(verdict);
                    s["detail"] = json!(detail);
                    s["ended_ms"] = json!(e.t_ms);
                }
            }
            _ => {}
        }
    }
    let notes: Vec<serde_json::Value> = entries
        .iter()
        .filter_map(|e| match &e.kind {
            EntryKind::Note { text, tag, author, fault, owner, due } => Some(json!({
                "t_ms": e.t_ms, "at": e.wall, "tag": tag, "text": text, "author": author, "fault": fault,
                "owner": Some(owner).filter(|o| !o.is_empty()), "due": due,
            })),
            _ => None,
        })
        .collect();
    let read_alerts = super::alerts::read(entries);
    let expectations = super::alerts::expectations(&read_alerts);
    let alerts: Vec<serde_json::Value> = read_alerts
        .iter()
        .map(|a| {
            json!({
                "name": a.name, "expected_by_steps": a.expected_by,
                "ticks": a.ticks.iter().map(|t| json!({
                    "t_ms": t.t_ms, "at": t.wall, "fired": t.fired, "note": t.note, "author": t.author,
                    "fault": t.fault, "after_inject_ms": t.after_inject_ms,
                })).collect::<Vec<_>>(),
                "verdict": a.verdict(expectations),
            })
        })
        .collect();
    let action_items: Vec<&serde_json::Value> = notes.iter().filter(|n| n["tag"] == "action_item").collect();
    let t = super::faults::step_tally(entries);
    json!({
        "session": start,
        "plan": plan,
        "ended": ended,
        "summary": {
            "faults": faults.len(),
            "aborted": faults.iter().filter(|f| matches!(f.ending, Some((_, EndReason::Aborted { .. })))).count(),
            "refused": entries.iter().filter(|e| matches!(e.kind, EntryKind::InjectRefused { .. })).count(),
            "steps": {
                "total": steps.len(), "held": t.held, "partially_held": t.partial, "broken": t.broken,
                "failed": t.failed, "skipped": t.skipped,
            },
        },
        "steps": steps,
        "drill": Some(super::drill::read(entries)).filter(super::drill::Drill::is_drill),
        "faults": fault_data,
        "notes": notes,
        "action_items": action_items,
        "alerts": alerts,
        "timeline": entries,
    })
}
