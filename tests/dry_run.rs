//! `gameday run PLAN --dry-run` against the test API server: each step resolved against the live
//! cluster (targets, blast radius, whether the namespace is open, the hypothesis), exit 0 only if
//! every step could run, and not one request that changes anything in the server's request log.

mod common;

use std::process::{Command, Output};

use common::apiserver::ApiServer;
use common::laptops;

const PLAN: &str = r#"
title = "dry"

[[probe]]
name = "carts"
ready = "shop/carts"

[[step]]
name = "delete one carts pod"
preset = "pod-delete"
target = "shop/carts"
duration = "5s"
hypothesis = "carts keeps a ready replica"
checks = ["carts value >= 1"]

[[step]]
name = "scale the db down"
preset = "scale-to-zero"
target = "shop/db"
hypothesis = "orders queue up and nothing is lost"
"#;

const LOCKED: &str = r#"
[[step]]
name = "in a namespace nobody opened"
preset = "scale-to-zero"
target = "locked/carts"
hypothesis = "never run"
"#;

async fn dry_run(dir: &tempfile::TempDir, plan: &str) -> Output {
    std::fs::write(dir.path().join("plan.toml"), plan).unwrap();
    let d = dir.path().to_path_buf();
    tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_gameday"))
            .args(["run", "plan.toml", "--dry-run", "--kubeconfig", "kubeconfig"])
            .current_dir(&d)
            .env("GAMEDAY_DATA_DIR", d.join("data"))
            .env("GAMEDAY_CONFIG_DIR", d.join("config"))
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

/// Every request the server saw only reads (GET, watches included).
fn assert_read_only(server: &ApiServer) {
    let requests = server.requests();
    assert!(
        requests.iter().any(|r| r.starts_with("GET /api/v1/namespaces/shop/pods") || r.starts_with("GET /api/v1/pods")),
        "the dry run read the pods: {requests:#?}"
    );
    let writes: Vec<&String> = requests.iter().filter(|r| !r.starts_with("GET ")).collect();
    assert!(writes.is_empty(), "a dry run changes nothing, yet it sent: {writes:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_resolves_every_step_against_the_cluster_and_sends_no_write() {
    let (server, dir) = laptops::cluster(&[("shop", true), ("locked", false)], true).await;
    let before = server.list("pods", Some("shop")).len();
    let out = dry_run(&dir, PLAN).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "every step could run:\n{stdout}\n{stderr}");
    assert!(stdout.contains("step 1 \"delete one carts pod\": pod-delete on shop/carts"), "{stdout}");
    assert!(stdout.contains("  namespace shop: open to faults"), "{stdout}");
    assert!(stdout.contains("  needs: pod-delete: available here"), "{stdout}");
    assert!(stdout.contains("  blast radius: "), "{stdout}");
    assert!(stdout.contains("  would touch:"), "what prepare found, pod by name: {stdout}");
    assert!(stdout.contains("  hypothesis: carts keeps a ready replica"), "{stdout}");
    assert!(stdout.contains("  checks: carts value >= 1"), "{stdout}");
    assert!(stdout.contains("step 2 \"scale the db down\": scale-to-zero on shop/db"), "{stdout}");
    assert_eq!(stdout.matches("  could run: yes").count(), 2, "{stdout}");
    assert!(stdout.contains("dry run: 2 of 2 step(s) could run; nothing was changed"), "{stdout}");
    assert_read_only(&server);
    // Nothing happened in the cluster, and no session was recorded.
    assert_eq!(server.list("pods", Some("shop")).len(), before);
    assert_eq!(server.get("deployments", "shop", "db").unwrap()["spec"]["replicas"], 1);
    assert!(server.get("leases", "gameday", "gameday").is_none(), "the cluster lock is not taken");
    let sessions = dir.path().join("data/sessions");
    let journals = std::fs::read_dir(&sessions).map(|d| d.count()).unwrap_or(0);
    assert_eq!(journals, 0, "no journal in {}", sessions.display());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_exits_1_naming_the_step_that_could_not_run() {
    let (server, dir) = laptops::cluster(&[("shop", true), ("locked", false)], true).await;
    let plan = format!("{PLAN}{LOCKED}\n[[step]]\nname = \"typo\"\npreset = \"pod-delete\"\ntarget = \"shop/cartz\"\n");
    let out = dry_run(&dir, &plan).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "two steps could not run:\n{stdout}\n{stderr}");
    assert!(stdout.contains("step 3 \"in a namespace nobody opened\": scale-to-zero on locked/carts"), "{stdout}");
    assert!(stdout.contains("  namespace locked: closed to faults"), "{stdout}");
    assert!(stdout.contains("  cannot be planned: plan.toml:"), "the place in the file: {stdout}");
    assert!(stdout.contains("locked/carts is off-limits"), "{stdout}");
    assert!(stdout.contains("no workload shop/cartz in the cluster (did you mean shop/carts?)"), "{stdout}");
    assert_eq!(stdout.matches("  could run: NO").count(), 2, "{stdout}");
    assert!(stdout.contains("dry run: 2 of 4 step(s) could run; nothing was changed"), "{stdout}");
    assert_read_only(&server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_against_a_cluster_it_cannot_reach_says_so_and_exits_1() {
    let server = ApiServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    server.write_kubeconfig(&dir.path().join("kubeconfig"));
    server.offline(true);
    let started = std::time::Instant::now();
    let out = dry_run(&dir, PLAN).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("gameday: cannot reach test (http://127.0.0.1:"), "{stderr}");
    assert!(started.elapsed() < std::time::Duration::from_secs(15), "said at once: {:?}", started.elapsed());
    assert!(!String::from_utf8_lossy(&out.stdout).contains("could run: yes"));
}
