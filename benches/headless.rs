//! `gameday run` against the test API server (real HTTP, the real kube client): a one-step
//! Gameday that deletes one carts pod with a 5 s window and checks that carts keeps a ready
//! replica, the same as the comparison with Chaos Toolkit in issue 16. Runs the real binary a few
//! times and prints where the time goes, from its journal's wall clock: start-up (process start
//! to the session's first entry), connect (to the first picture and the step's start), prepare
//! (steady state judged, targets read), inject, window, revert, judging (revert confirmed to the
//! step's outcome), report (outcome to process exit: journal closed, report and JUnit written),
//! and the total. Goal: total within 5.3 s. Run with `cargo bench --bench headless`.

#[path = "../tests/common/apiserver/mod.rs"]
#[allow(dead_code)]
mod apiserver;
mod common;

use std::process::Command;
use std::time::{Duration, Instant, SystemTime};

use chrono::{DateTime, Utc};
use gameday::timeline::{Entry, EntryKind};

pub const PLAN: &str = r#"
title = "carts loses a pod"

[[probe]]
name = "carts"
ready = "shop/carts"

[[step]]
name = "delete one carts pod"
preset = "pod-delete"
target = "shop/carts"
duration = "5s"
observe = "0s"
hypothesis = "carts keeps a ready replica"
checks = ["carts value >= 1"]
"#;

const PHASES: [&str; 8] = ["start-up", "connect", "prepare", "inject", "window", "revert", "judging", "report"];

fn wall(entries: &[Entry], f: impl Fn(&EntryKind) -> bool) -> DateTime<Utc> {
    entries.iter().find(|e| f(&e.kind)).map(|e| e.wall).expect("an entry the run always writes")
}

fn ms(a: DateTime<Utc>, b: DateTime<Utc>) -> f64 {
    (b - a).num_microseconds().unwrap_or(0) as f64 / 1000.0
}

/// One run: the phases in ms, and the total.
fn run_once(kubeconfig: &std::path::Path) -> ([f64; 8], f64) {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("plan.toml"), PLAN).expect("plan");
    let started: DateTime<Utc> = SystemTime::now().into();
    let t0 = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_gameday"))
        .args(["run", "plan.toml", "--quiet", "--report", "report.md", "--junit", "junit.xml", "--kubeconfig"])
        .arg(kubeconfig)
        .current_dir(dir.path())
        .env("GAMEDAY_DATA_DIR", dir.path().join("data"))
        .env("GAMEDAY_CONFIG_DIR", dir.path().join("config"))
        .output()
        .expect("the gameday binary");
    let total = t0.elapsed().as_secs_f64() * 1000.0;
    let ended: DateTime<Utc> = SystemTime::now().into();
    let journal = std::fs::read_dir(dir.path().join("data/sessions"))
        .expect("sessions dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .expect("the journal");
    let e = gameday::store::journal::read(&journal).expect("journal");
    assert!(
        out.status.success(),
        "gameday run failed ({}):\n{}\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        e.iter().map(gameday::timeline::ci::line).collect::<Vec<_>>().join("\n")
    );
    for f in ["report.md", "junit.xml"] {
        assert!(dir.path().join(f).exists(), "{f} written");
    }
    let session = wall(&e, |k| matches!(k, EntryKind::SessionStart { .. }));
    let step = wall(&e, |k| matches!(k, EntryKind::StepStarted { .. }));
    let requested = wall(&e, |k| matches!(k, EntryKind::InjectRequested { .. }));
    let _ = requested;
    let started_inject = wall(&e, |k| matches!(k, EntryKind::InjectStarted { .. }));
    let confirmed = wall(&e, |k| matches!(k, EntryKind::InjectConfirmed { .. }));
    let ending = wall(&e, |k| matches!(k, EntryKind::FaultEnding { .. }));
    let reverted = wall(&e, |k| matches!(k, EntryKind::RevertConfirmed { .. }));
    let outcome = wall(&e, |k| matches!(k, EntryKind::StepOutcome { .. }));
    let phases = [
        ms(started, session),
        ms(session, step),
        ms(step, started_inject),
        ms(started_inject, confirmed),
        ms(confirmed, ending),
        ms(ending, reverted),
        ms(reverted, outcome),
        ms(outcome, ended),
    ];
    (phases, total)
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let kubeconfig = dir.path().join("kubeconfig");
    let server = rt.block_on(async {
        let server = apiserver::ApiServer::start().await;
        server.seed_shop("shop", true);
        server.install_gameday();
        server.write_kubeconfig(&kubeconfig);
        server.wait_shop_ready("shop").await;
        server
    });
    let runs = 5;
    let mut all: Vec<([f64; 8], f64)> = Vec::new();
    for i in 0..runs {
        // The shop back to three ready carts pods before each run.
        rt.block_on(
            server.wait_until(Duration::from_secs(30), "carts ready again", |s| s.ready_pods("shop", "carts") == 3),
        );
        let r = run_once(&kubeconfig);
        println!("run {}: total {:.0} ms", i + 1, r.1);
        all.push(r);
    }
    println!("gameday run, one-step pod-delete plan with a 5 s window, test API server, {runs} runs (median):");
    let mut sum = 0.0;
    for (i, name) in PHASES.iter().enumerate() {
        let m = common::median(all.iter().map(|r| r.0[i]).collect());
        sum += m;
        println!("  {name:<10} {m:>8.1} ms");
    }
    let total = common::median(all.iter().map(|r| r.1).collect());
    println!("  {:<10} {total:>8.1} ms (sum of medians {sum:.1} ms); goal: within 5300 ms", "total");
    println!("  overhead   {:>8.1} ms beyond the 5 s window", total - 5000.0);
    drop(server);
}
