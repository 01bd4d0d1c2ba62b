//! A run-sheet walked by itself (`gameday run`) is driven by events, not ticks: a step starts the
//! moment the picture is in, the fault's window ends exactly when due (the runtime wakes the core
//! at `due::next_due`), and the step's outcome, the sheet's end and the exit follow in the same
//! turn as the confirmed revert. Also what it prints for a CI log, as a snapshot.

mod common;

use common::Harness;
use gameday::app::fault::FaultPhase;
use gameday::app::{due, Effect, Event};
use gameday::timeline::{ci, EntryKind};

const PLAN: &str = r#"
title = "one pod"

[[probe]]
name = "carts"
ready = "sock-shop/carts"

[[step]]
name = "delete one carts pod"
preset = "pod-delete"
target = "sock-shop/carts"
duration = "5s"
observe = "0s"
hypothesis = "carts keeps a ready replica"
checks = ["carts value >= 1"]
"#;

fn at_ms(h: &Harness, f: impl Fn(&EntryKind) -> bool) -> Option<u64> {
    h.s.book.timeline.iter().find(|e| f(&e.kind)).map(|e| e.t_ms)
}

/// A session that walks the one-step plan by itself, up to its fault being live at 0.3 s.
fn live() -> Harness {
    let mut h = Harness::demo();
    let plan = gameday::config::runsheet::RunSheet::parse_for(
        "plan.toml",
        PLAN,
        &gameday::config::preset::load_presets(None).unwrap(),
    )
    .unwrap();
    // Nothing waits for a tick: with the picture in, the step starts the moment the sheet is
    // loaded (here at 0.3 s), its derived probe is read at once and its fault injected.
    h.t = 300;
    h.send(Event::Resize { width: 160, height: 45 });
    let fx = h.s.load_sheet(plan, true);
    h.run_effects(fx);
    assert!(matches!(h.s.fault.phase, FaultPhase::Active { .. }), "{:?}", h.s.fault.phase);
    h
}

#[test]
fn the_window_ends_when_due_and_the_step_and_the_run_end_with_the_revert() {
    let mut h = live();
    assert_eq!(at_ms(&h, |k| matches!(k, EntryKind::StepStarted { .. })), Some(300));
    assert_eq!(at_ms(&h, |k| matches!(k, EntryKind::InjectConfirmed { .. })), Some(300));
    // The runtime is told to wake the core at the window's end, not at a round second.
    assert_eq!(due::next_due(&h.s), Some(5300));
    h.t = 5299;
    let fx = h.send(Event::Tick);
    assert!(!fx.iter().any(|e| matches!(e, Effect::Revert { .. })), "not before its time");
    h.t = 5300;
    let fx = h.send(Event::Tick);
    assert!(fx.iter().any(|e| matches!(e, Effect::Revert { delay_ms: 0, .. })), "{fx:?}");
    let all = h.run_effects(fx);
    // The revert confirmed: outcome, end of the sheet and exit in the same turn.
    assert_eq!(at_ms(&h, |k| matches!(k, EntryKind::RevertConfirmed { .. })), Some(5300));
    assert_eq!(at_ms(&h, |k| matches!(k, EntryKind::StepOutcome { .. })), Some(5300));
    assert_eq!(at_ms(&h, |k| matches!(k, EntryKind::SessionEnd { .. })), Some(5300));
    assert!(all.iter().any(|e| matches!(e, Effect::Exit)), "{all:?}");
    assert_eq!(due::next_due(&h.s), None, "nothing is due after the end");
    assert!(h.s.book.timeline.iter().any(
        |e| matches!(&e.kind, EntryKind::StepOutcome { verdict, .. } if *verdict == gameday::model::StepVerdict::Held)
    ));
}

#[test]
fn nothing_due_is_in_the_past_so_the_runtime_never_spins() {
    let mut h = live();
    // An abort in flight: the window's end is no longer due.
    h.t = 1000;
    let fx = h.key(ratatui::crossterm::event::KeyCode::Char(' '));
    assert!(matches!(h.s.fault.phase, FaultPhase::Reverting { .. }));
    assert_eq!(due::next_due(&h.s), None, "{:?}", h.s.fault.phase);
    h.run_effects(fx);
    // A facilitator's sheet (not walked by itself) keeps its ticks; its observation is not timed here.
    assert!(due::next_due(&h.s).is_none_or(|d| d > h.t));
}

#[test]
fn the_ci_log_has_one_line_per_entry_with_its_time_and_a_summary() {
    let mut h = live();
    h.t = 5300;
    let fx = h.send(Event::Tick);
    h.run_effects(fx);
    let mut log: Vec<String> = ci::lines(&h.s.book.timeline);
    log.push(ci::summary(&h.s.book.timeline, 0, 5412, 0));
    insta::assert_snapshot!(log.join("\n"));
}

/// A run ends the moment its revert is confirmed; the cluster lock is given back before the
/// process ends, so the next run (a CI job right after) is not refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn back_to_back_runs_on_kubernetes_each_get_the_cluster_lock() {
    let server = common::apiserver::ApiServer::start().await;
    server.seed_shop("shop", true);
    server.install_gameday();
    server.wait_shop_ready("shop").await;
    let dir = tempfile::tempdir().unwrap();
    server.write_kubeconfig(&dir.path().join("kubeconfig"));
    let plan = PLAN.replace("sock-shop/carts", "shop/carts").replace("duration = \"5s\"", "duration = \"1s\"");
    std::fs::write(dir.path().join("plan.toml"), plan).unwrap();
    for run in 1..=2 {
        let d = dir.path().to_path_buf();
        let out = tokio::task::spawn_blocking(move || {
            std::process::Command::new(env!("CARGO_BIN_EXE_gameday"))
                .args(["run", "plan.toml", "--quiet", "--kubeconfig", "kubeconfig"])
                .current_dir(&d)
                .env("GAMEDAY_DATA_DIR", d.join("data"))
                .env("GAMEDAY_CONFIG_DIR", d.join("config"))
                .output()
                .unwrap()
        })
        .await
        .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "run {run}: {stdout}\n{}", String::from_utf8_lossy(&out.stderr));
        assert!(stdout.contains("1 held"), "run {run}: {stdout}");
        let lease = server.get("leases", "gameday", "gameday").expect("the lock's Lease");
        assert!(lease["spec"]["holderIdentity"].as_str().unwrap_or("").is_empty(), "run {run} gave it back: {lease}");
    }
}
