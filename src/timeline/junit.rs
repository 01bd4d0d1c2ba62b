//! JUnit XML of a run-sheet: one test case per step; a step whose hypothesis broke is a
//! failure, one that could not be injected an error. CI systems render it as test results.

use std::fmt::Write;

/// Text for XML: control characters (which XML 1.0 cannot hold at all) and escape sequences
/// removed, then the markup characters escaped, so the file is well-formed whatever the text.
fn escape(text: &str) -> String {
    quick_xml::escape::escape(crate::text::clean(text).as_ref()).into_owned()
}

use super::entry::{Entry, EntryKind};
use crate::model::StepVerdict;

/// How every JUnit file of gameday's begins.
pub const PROLOGUE: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"gameday\"";

pub fn render(entries: &[Entry]) -> String {
    let title = entries
        .iter()
        .find_map(|e| match &e.kind {
            EntryKind::PlanLoaded { title, .. } => Some(title.clone()),
            _ => None,
        })
        .unwrap_or_else(|| "gameday".into());
    // Each step: from its start to its outcome.
    let mut cases = Vec::new();
    let mut started = std::collections::BTreeMap::new();
    for e in entries {
        match &e.kind {
            EntryKind::StepStarted { step, hypothesis, .. } => {
                started.insert(*step, (e.t_ms, hypothesis.clone()));
            }
            EntryKind::StepOutcome { step, name, verdict, detail, .. } => {
                let (t0, hypothesis) = started.get(step).cloned().unwrap_or((e.t_ms, String::new()));
                cases.push((*step, name.clone(), *verdict, detail.clone(), hypothesis, e.t_ms - t0));
            }
            _ => {}
        }
    }
    let failures = cases.iter().filter(|c| c.2 == StepVerdict::Broken).count();
    let errors = cases.iter().filter(|c| !matches!(c.2, StepVerdict::Held | StepVerdict::Broken)).count();
    let total: u64 = cases.iter().map(|c| c.5).sum();
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        x,
        "<testsuites name=\"gameday\" tests=\"{}\" failures=\"{failures}\" errors=\"{errors}\" time=\"{:.3}\">",
        cases.len(),
        total as f64 / 1000.0
    );
    let _ = writeln!(
        x,
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"{errors}\" time=\"{:.3}\">",
        escape(&title),
        cases.len(),
        total as f64 / 1000.0
    );
    for (step, name, verdict, detail, hypothesis, ms) in &cases {
        let _ = write!(
            x,
            "    <testcase classname=\"{}\" name=\"step {step}: {}\" time=\"{:.3}\"",
            escape(&title),
            escape(name),
            *ms as f64 / 1000.0
        );
        let message = format!("hypothesis: {hypothesis}; {detail}");
        match verdict {
            StepVerdict::Held => {
                let _ = writeln!(x, ">\n      <system-out>{}</system-out>\n    </testcase>", escape(&message));
            }
            StepVerdict::Broken => {
                let _ = writeln!(
                    x,
                    ">\n      <failure message=\"hypothesis broken\" type=\"hypothesis\">{}</failure>\n    </testcase>",
                    escape(&message)
                );
            }
            _ => {
                let _ = writeln!(
                    x,
                    ">\n      <error message=\"{verdict}\" type=\"{verdict}\">{}</error>\n    </testcase>",
                    escape(&message)
                );
            }
        }
    }
    x.push_str("  </testsuite>\n</testsuites>\n");
    x
}
