//! What the benchmarks share: a console state as the runtime would build it, and figures.

#![allow(dead_code)]

pub mod scale;

use std::path::PathBuf;

use gameday::app::state::{PresetEntry, Session};
use gameday::app::AppState;
use gameday::model::{BackendInfo, Support};
use gameday::timeline::Stamp;

/// A fresh console state on `kind`/`cluster` with every preset supported, at `start`.
pub fn state(kind: &str, cluster: &str, start: Stamp) -> AppState {
    let session = Session {
        id: "bench".into(),
        backend: BackendInfo { kind: kind.into(), cluster: cluster.into(), pod_word: "pod".into() },
        journal: PathBuf::from("/dev/null"),
        report: PathBuf::from("/dev/null"),
        version: "bench".into(),
        home: None,
        user: "ana".into(),
        host: "bench".into(),
    };
    let presets = gameday::config::preset::load_presets(None)
        .expect("the built-in presets")
        .into_iter()
        .map(|p| PresetEntry { support: Support::Yes, preset: p })
        .collect();
    let themes = gameday::config::theme::load_themes(None).expect("the built-in themes");
    let theme = themes["default"].clone();
    AppState::new(session, presets, themes, theme, start).0
}

pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Resident memory of a process, MiB ("self" for this one).
pub fn rss_mib(pid: &str) -> f64 {
    status_mib(pid, "VmRSS:")
}

/// The most a process has had resident, MiB.
#[allow(dead_code)]
pub fn peak_rss_mib(pid: &str) -> f64 {
    status_mib(pid, "VmHWM:")
}

fn status_mib(pid: &str, field: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0)
        / 1024.0
}
