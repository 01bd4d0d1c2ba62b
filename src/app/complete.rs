//! Tab completion on the command line: the word being typed (the last one) is completed from
//! what it can be there: a command, a preset id, a target in the cluster's picture, a
//! preset's parameter names, a theme, an outcome. One candidate completes it; several
//! complete their common start and are listed.

use super::state::AppState;
use crate::model::TargetKind;

/// The commands, as typed after `:`.
pub const COMMANDS: &[&str] = &[
    "abort",
    "action",
    "alert",
    "detected",
    "drill",
    "expect",
    "export",
    "extend",
    "help",
    "inject",
    "mitigated",
    "next",
    "note",
    "outcome",
    "probe",
    "quit",
    "reveal",
    "shorten",
    "skip",
    "stop",
    "theme",
    "title",
    "who",
];

/// What Tab does to `line`: the line completed as far as it can be, and the candidates when
/// there is more than one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Completion {
    pub line: String,
    pub candidates: Vec<String>,
}

pub fn complete(s: &AppState, line: &str) -> Completion {
    let words: Vec<&str> = line.split_whitespace().collect();
    // The word being typed: the last one, or a new one after a space.
    let (done, typing) = match (line.ends_with(char::is_whitespace) || line.is_empty(), words.split_last()) {
        (true, _) | (false, None) => (words.as_slice(), ""),
        (false, Some((last, before))) => (before, *last),
    };
    let candidates = candidates(s, done, typing);
    let matching: Vec<String> = candidates.into_iter().filter(|c| c.starts_with(typing)).collect();
    let stem = line[..line.len() - typing.len()].to_string();
    match matching.as_slice() {
        [] => Completion { line: line.to_string(), candidates: Vec::new() },
        [one] => {
            // A parameter's name ends with '=' (its value follows at once); else a space.
            let sep = if one.ends_with('=') { "" } else { " " };
            Completion { line: format!("{stem}{one}{sep}"), candidates: Vec::new() }
        }
        many => Completion { line: format!("{stem}{}", common_start(many)), candidates: many.to_vec() },
    }
}

fn common_start(words: &[String]) -> String {
    let first = &words[0];
    let mut end = first.len();
    for w in &words[1..] {
        end = first
            .char_indices()
            .zip(w.chars())
            .take_while(|((_, a), b)| a == b)
            .map(|((i, a), _)| i + a.len_utf8())
            .last()
            .unwrap_or(0)
            .min(end);
    }
    first[..end].to_string()
}

/// What may stand after the words `done`, for `typing` (already typed words decide).
fn candidates(s: &AppState, done: &[&str], typing: &str) -> Vec<String> {
    let owned = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    match done {
        [] => owned(COMMANDS),
        // Only what this backend can run (the picker lists the rest, disabled, with why).
        ["inject" | "i"] => {
            s.presets.iter().filter(|p| s.preset_available(p, None).is_ok()).map(|p| p.preset.id.clone()).collect()
        }
        ["inject" | "i", preset] => targets(s, preset, typing),
        ["inject" | "i", preset, _, set @ ..] => {
            let Some(p) = s.preset(preset) else { return Vec::new() };
            let given: Vec<&str> = set.iter().filter_map(|w| w.split_once('=').map(|(k, _)| k)).collect();
            let mut names: Vec<String> = p.preset.params.keys().cloned().collect();
            names.push("duration".into());
            if p.preset.mode.is_some() {
                names.push("mode".into());
            }
            names.into_iter().filter(|n| !given.contains(&n.as_str())).map(|n| format!("{n}=")).collect()
        }
        ["theme"] => s.themes.keys().cloned().collect(),
        ["outcome"] => owned(&["held", "broken", "partial"]),
        // The alerts the run-sheet expected (and any ticked before), then the two words.
        ["alert"] => crate::timeline::alerts::read(&s.book.timeline).into_iter().map(|a| a.name).collect(),
        ["alert", _] => owned(&["fired", "silent"]),
        ["probe", _] => owned(&["http", "tcp", "service-http", "promql", "service", "ready"]),
        ["probe", _, "service" | "ready"] => {
            s.picture.topology.targets(TargetKind::Workload).iter().map(|t| t.to_string()).collect()
        }
        _ => Vec::new(),
    }
}

/// The targets a preset can take that the cluster has now: workloads, pods, nodes.
fn targets(s: &AppState, preset: &str, typing: &str) -> Vec<String> {
    let kinds = match s.preset(preset) {
        Some(p) => p.preset.targets.clone(),
        None => vec![TargetKind::Workload, TargetKind::Pod, TargetKind::Node],
    };
    let mut out: Vec<String> = Vec::new();
    for kind in kinds {
        // Pods are many: offered once a namespace's pods are asked for ("ns/pod/...").
        if kind == TargetKind::Pod && !typing.contains("/pod/") {
            continue;
        }
        out.extend(s.picture.topology.targets(kind).iter().map(|t| t.to_string()));
    }
    out
}
