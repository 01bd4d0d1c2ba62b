//! `gameday run PLAN --dry-run`: the backend's picture of the live system (its watch: lists and
//! watches only) and, for every step that can be planned, its read-only `prepare` (what the
//! fault would touch). Nothing is injected, no session journal is written, the cluster lock is
//! not taken: no request that changes anything is sent.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use tokio::sync::mpsc;

use crate::app::state::{PresetEntry, Session};
use crate::app::{update, AppState, Event};
use crate::backend::Backend;
use crate::config::runsheet::RunSheet;
use crate::model::{Support, TopologyDelta};
use crate::timeline::Stamp;

/// How long the dry run waits for the first picture of the system.
pub const PICTURE_WAIT: Duration = Duration::from_secs(30);
/// How long it waits for a chaos engine's discovery, when a step needs one not seen yet.
const ENGINE_WAIT: Duration = Duration::from_secs(5);

/// Prints each step as it would run; true if every step could run.
pub async fn run(
    backend: Arc<dyn Backend>,
    plan: RunSheet,
    presets: Vec<crate::config::preset::Preset>,
    themes: std::collections::BTreeMap<String, crate::config::theme::Theme>,
    theme: crate::config::theme::Theme,
) -> anyhow::Result<bool> {
    let start = Instant::now();
    let wall = Utc::now();
    let stamp = || Stamp::at(wall, start.elapsed().as_millis() as u64);
    let session = Session {
        id: "dry-run".into(),
        backend: backend.info(),
        journal: "/dev/null".into(),
        report: "/dev/null".into(),
        version: env!("CARGO_PKG_VERSION").to_string(),
        home: None,
        user: "dry-run".into(),
        host: crate::store::machine::host_name(),
    };
    let presets: Vec<PresetEntry> =
        presets.into_iter().map(|p| PresetEntry { support: backend.supports(&p.action), preset: p }).collect();
    let (mut state, _) = AppState::new(session, presets, themes, theme, stamp());
    let (tx, mut rx) = mpsc::unbounded_channel();
    backend.watch(tx);
    // The first picture; the engines a step needs, if they are not known yet.
    let deadline = tokio::time::Instant::now() + PICTURE_WAIT;
    let mut engines_until = None;
    loop {
        let wait_until = engines_until.unwrap_or(deadline);
        let delta = match tokio::time::timeout_at(wait_until, rx.recv()).await {
            Ok(Some(d)) => d,
            Ok(None) => anyhow::bail!("the backend's watch ended before the first picture of the system"),
            Err(_) if state.picture.pictured => break,
            Err(_) => anyhow::bail!(
                "no picture of {} within {} s (is it reachable?)",
                backend.info().cluster,
                PICTURE_WAIT.as_secs()
            ),
        };
        // Not reachable before the first picture: said at once, not after the wait.
        if let (TopologyDelta::Connection { connected: false, detail }, false) = (&delta, state.picture.pictured) {
            anyhow::bail!("cannot reach {}: {detail}", backend.info().cluster);
        }
        let _ = update(&mut state, Event::Backend(delta), stamp());
        if !state.picture.pictured {
            continue;
        }
        let missing = plan.steps.iter().any(|st| {
            state.preset(&st.preset).is_some_and(|p| matches!(backend.supports(&p.preset.action), Support::No(_)))
        });
        if !missing || engines_until.is_some_and(|t| tokio::time::Instant::now() >= t) {
            break;
        }
        engines_until.get_or_insert_with(|| tokio::time::Instant::now() + ENGINE_WAIT);
    }
    // What the backend says now about every preset (engines discovered meanwhile).
    for p in state.presets.iter_mut() {
        p.support = backend.supports(&p.preset.action);
    }
    let resolved = crate::app::dry_run::resolve(&state, &plan);
    let mut could = 0;
    crate::outln!(
        "dry run of \"{}\" on {} ({}): nothing is changed",
        plan.title,
        backend.info().cluster,
        backend.info().kind
    );
    for (r, step) in resolved.iter().zip(&plan.steps) {
        let found = match &r.fault {
            Ok((_, spec)) => {
                let answer = tokio::time::timeout(super::calls::CALL_TIMEOUT, backend.preview(spec)).await;
                Some(match answer {
                    Ok(Ok(p)) => Ok(p.found),
                    Ok(Err(e)) => Err(e.to_string()),
                    Err(_) => Err(format!("no answer within {} s", super::calls::CALL_TIMEOUT.as_secs())),
                })
            }
            Err(_) => None,
        };
        let (lines, ok) = crate::app::dry_run::describe(&state, step, r, found.as_ref());
        could += usize::from(ok);
        for line in lines {
            crate::outln!("{line}");
        }
    }
    let all = resolved.len();
    crate::outln!("dry run: {could} of {all} step(s) could run; nothing was changed");
    Ok(could == all)
}
