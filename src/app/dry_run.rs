//! `gameday run PLAN --dry-run`: every step resolved against the picture of the live system,
//! nothing injected. Pure: the picture and what the backend's read-only `prepare` found come in,
//! the text per step goes out. Steps are resolved as the real run would resolve them (the same
//! preset, target and parameter checks), with fault ids 1, 2, ... in order.

use super::fault::FaultPlan;
use super::state::AppState;
use crate::config::runsheet::{RunSheet, Step};
use crate::model::{FaultSpec, Support};

/// One step as resolved: its fault and the question to ask the backend, or why it cannot run.
pub struct Resolved {
    pub step: usize,
    pub name: String,
    pub preset: String,
    pub target: String,
    pub fault: Result<(FaultPlan, FaultSpec), String>,
}

/// Every step of the sheet against the picture in `s`.
pub fn resolve(s: &AppState, plan: &RunSheet) -> Vec<Resolved> {
    plan.steps
        .iter()
        .enumerate()
        .map(|(i, step)| {
            let fault = s.planner().step_plan(step).map(|p| {
                let spec = s.fault.spec_of(i as u64 + 1, &p);
                (p, spec)
            });
            Resolved {
                step: i + 1,
                name: step.name.clone(),
                preset: step.preset.clone(),
                target: step.target.clone(),
                fault: fault.map_err(|e| format!("{}: {e}", step.at)),
            }
        })
        .collect()
}

/// Whether the namespace of a step's target is open to faults, in words.
fn namespace_line(s: &AppState, target: &str) -> Option<String> {
    let ns = target.split_once('/').map(|(ns, _)| ns).filter(|ns| !ns.is_empty() && !ns.contains('='))?;
    Some(match s.picture.topology.lock_reason(ns) {
        Some(why) => format!("namespace {ns}: closed to faults ({why})"),
        None => format!("namespace {ns}: open to faults"),
    })
}

/// What a step needs (the plain API, an engine, a helper) and whether it is there.
fn needs_line(s: &AppState, preset: &str) -> String {
    match s.preset(preset) {
        Some(p) => {
            let what = match p.preset.action == p.preset.id {
                true => p.preset.action.clone(),
                false => format!("{} (for {})", p.preset.action, p.preset.id),
            };
            match &p.support {
                Support::Yes => format!("needs: {what}: available here"),
                Support::No(why) => format!("needs: {what}: NOT available: {why}"),
            }
        }
        None => format!("needs: preset {preset}: unknown"),
    }
}

/// The text of one step, and whether it could run. `found` is what the backend's read-only
/// prepare said (what it would touch), or why it refused.
pub fn describe(
    s: &AppState,
    step: &Step,
    r: &Resolved,
    found: Option<&Result<Vec<String>, String>>,
) -> (Vec<String>, bool) {
    let mut out = vec![format!("step {} \"{}\": {} on {}", r.step, r.name, r.preset, r.target)];
    out.extend(namespace_line(s, &r.target).map(|l| format!("  {l}")));
    out.push(format!("  {}", needs_line(s, &r.preset)));
    let mut ok = true;
    match (&r.fault, found) {
        (Err(why), _) => {
            ok = false;
            out.push(format!("  cannot be planned: {why}"));
        }
        (Ok((p, _)), found) => {
            out.push(format!("  blast radius: {}", p.blast_radius));
            out.push(format!("  window: {}", crate::timeline::entry::seconds(p.duration_ms)));
            match found {
                Some(Ok(lines)) if lines.is_empty() => {
                    out.push("  would touch: what the blast radius says (the backend listed nothing more)".into())
                }
                Some(Ok(lines)) => {
                    out.push("  would touch:".into());
                    out.extend(lines.iter().map(|l| format!("    {l}")));
                }
                Some(Err(why)) => {
                    ok = false;
                    out.push(format!("  refused by the backend: {why}"));
                }
                None => {}
            }
        }
    }
    let hypothesis = match &r.fault {
        Ok((p, _)) => p.hypothesis.clone(),
        Err(_) => step.hypothesis.clone(),
    };
    out.push(format!("  hypothesis: {hypothesis}"));
    if !step.checks.is_empty() {
        let checks: Vec<String> = step.checks.iter().map(|c| c.to_string()).collect();
        out.push(format!("  checks: {}", checks.join(", ")));
    }
    out.push(format!("  could run: {}", if ok { "yes" } else { "NO" }));
    (out, ok)
}
