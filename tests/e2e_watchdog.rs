//! `gameday watchdog`, the real binary against the test API server: a console killed with a
//! fault live has its fault reverted by the watchdog once its lease lapses, with no other
//! console alive; a fault whose markers are past their deadline and that no one holds is
//! reverted too; the watchdog logs each action, shows itself on the cluster (its heartbeat
//! Lease, which a console reads), stops cleanly on SIGTERM taking its heartbeat away, and calls
//! nothing deploy/watchdog.yaml does not grant.

mod common;

use std::time::{Duration, Instant};

use common::laptops::{self, Watchdog};
use common::pty::Console;

const T: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_consoles_fault_is_reverted_by_the_watchdog_with_no_console_alive() {
    let (server, kdir) = laptops::cluster(&[("shop", true)], true).await;
    let kubeconfig = kdir.path().join("kubeconfig");
    let before = server.requests().len();
    let mut dog = Watchdog::start(&["--kubeconfig", kubeconfig.to_str().unwrap()]);
    dog.wait_log("watching ", T).await;
    server
        .wait_until(T, "the watchdog's heartbeat", |s| s.get("leases", "gameday", "gameday-watchdog").is_some())
        .await;
    let alone = server.requests()[before..].to_vec();
    // It reads no signals: no Prometheus search, no metrics.k8s.io.
    assert!(!alone.iter().any(|r| r.contains("metrics.k8s.io") || r.contains("/services")), "{alone:?}");

    let mut alice = Console::start_in(
        tempfile::tempdir().unwrap(),
        &["--kubeconfig", kubeconfig.to_str().unwrap(), "-n", "shop", "--new", "--user", "alice"],
        &[],
    );
    alice.wait_for("carts          3/3", T);
    alice.command("inject scale shop/carts replicas=1 duration=5m");
    alice.wait_for("scaled Deployment shop/carts from 3 to 1", T);
    dog.wait_log("alice@", T).await;
    alice.signal("KILL");
    alice.wait_exit(T);
    let killed = Instant::now();
    let after_kill = server.requests().len();

    server.wait_until(Duration::from_secs(30), "carts back at 3", |s| laptops::replicas(s, "shop", "carts") == 3).await;
    eprintln!("console killed to its fault reverted by the watchdog: {:?}", killed.elapsed());
    assert!(killed.elapsed() >= Duration::from_secs(14), "not before its lease lapsed: {:?}", killed.elapsed());
    let log = dog.wait_log("reverted scaled Deployment shop/carts from 3 to 1", T).await;
    assert!(log.contains("taking over alice@"), "{log}");
    assert!(log.contains("its console stopped renewing the cluster lock"), "{log}");
    let lease = server.get("leases", "gameday", "gameday").unwrap();
    assert!(lease["spec"]["holderIdentity"].is_null(), "given back: {lease}");
    let events = server.list_in("events.k8s.io", "events", Some("shop"));
    assert!(
        events.iter().any(|e| e["reason"] == "GamedayFaultTakenOver"
            && e["note"].as_str().unwrap_or_default().contains("gameday-watchdog@")),
        "{events:?}"
    );
    let carts = server.get("deployments", "shop", "carts").unwrap();
    assert!(carts["metadata"]["labels"]["gameday.dev/fault"].is_null(), "markers removed: {carts}");
    assert!(carts["metadata"]["annotations"]["gameday.dev/deadline"].is_null(), "{carts}");

    assert_eq!(dog.terminate(), 0, "{}", dog.log());
    assert!(dog.log().contains("stopping (SIGTERM)"), "{}", dog.log());
    assert!(server.get("leases", "gameday", "gameday-watchdog").is_none(), "its heartbeat is taken away");
    // What it called alone, and once alice was dead (every request since is its own).
    let mut mine = alone;
    mine.extend(server.requests()[after_kill..].iter().cloned());
    common::rbac::assert_allowed_by("watchdog.yaml", &mine);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_marked_fault_past_its_deadline_that_no_one_holds_is_reverted_by_the_watchdog() {
    use gameday::backend::Backend;
    let f = common::kube::fixture(&[]).await;
    f.server.install_gameday();
    let mut w = common::kube::Watch::start(&f.backend);
    w.until(10, "the shop", |t| t.workload("shop", "carts").is_some_and(|w| w.ready == 3)).await;
    // Injected by a process that is gone, without the lock (as a console killed between its
    // release and its revert would leave it), due 1 s from now.
    let mut spec =
        common::kube::spec("scale", "shop/carts", &w.topo, &[("replicas", gameday::model::ParamValue::Int(1))], None);
    spec.duration_ms = 1_000;
    common::kube::apply(&f.backend, &spec).await;
    let carts = f.server.get("deployments", "shop", "carts").unwrap();
    let deadline = carts["metadata"]["annotations"]["gameday.dev/deadline"].as_str().expect("the deadline marker");
    let deadline = chrono::DateTime::parse_from_rfc3339(deadline).unwrap();
    assert!((deadline.timestamp() - chrono::Utc::now().timestamp()).abs() <= 2, "{deadline}");
    assert_eq!(f.backend.leftovers().await.unwrap()[0].deadline, Some(deadline.timestamp()));

    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    f.server.write_kubeconfig(&kubeconfig);
    let before = f.server.requests().len();
    let mut dog = Watchdog::start(&["--kubeconfig", kubeconfig.to_str().unwrap()]);
    let started = Instant::now();
    // Its own console would have had its grace (15 s past the deadline) first.
    f.server
        .wait_until(Duration::from_secs(40), "carts back at 3", |s| {
            s.get("deployments", "shop", "carts").unwrap()["spec"]["replicas"] == 3
        })
        .await;
    assert!(started.elapsed() >= Duration::from_secs(12), "{:?}", started.elapsed());
    let log = dog.wait_log("reverted scaled Deployment shop/carts from 3 to 1", T).await;
    assert!(log.contains("its deadline passed"), "{log}");
    assert_eq!(dog.terminate(), 0);
    // This test's own watch (in this process) goes on reading signals meanwhile; the first
    // test shows the watchdog reads none.
    within_grants(&f.server, before);
}

/// The watchdog's requests since `before` are within deploy/watchdog.yaml's grants (this test's
/// own watch, which reads signals, left out), and this test's console side's within
/// deploy/rbac.yaml's.
fn within_grants(server: &common::apiserver::ApiServer, before: usize) {
    let dogs: Vec<String> = server.requests()[before..]
        .iter()
        .filter(|r| !r.contains("metrics.k8s.io") && !r.contains("/services"))
        .cloned()
        .collect();
    common::rbac::assert_allowed_by("watchdog.yaml", &dogs);
    common::rbac::assert_allowed(&server.requests()[..before]);
    server.forget_requests();
}

/// Every kind of fault a killed console can leave on a cluster (Deployments, ConfigMaps,
/// NetworkPolicies, Nodes, Chaos Mesh and Litmus objects), past its deadline and held by no one:
/// the watchdog reverts each with no more than deploy/watchdog.yaml grants it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kind_of_fault_left_behind_is_reverted_by_the_watchdog_within_its_grants() {
    use common::kube::{apply, spec, text};
    use gameday::backend::Backend;
    use gameday::model::{Mode, ParamValue};
    let f = common::kube::fixture(&[]).await;
    f.server.install_gameday();
    f.server.install_chaos_mesh();
    f.server.install_litmus_with_operator("shop");
    let mut w = common::kube::Watch::start(&f.backend);
    w.until(10, "the shop", |t| t.workload("shop", "carts").is_some_and(|w| w.ready == 3)).await;
    w.wait(10, "Chaos Mesh found", |d| {
        matches!(d, gameday::model::TopologyDelta::Capability { action, support: gameday::model::Support::Yes }
            if action == "network-latency")
    })
    .await;
    f.server
        .wait_until(Duration::from_secs(10), "the Litmus operator", |s| {
            s.list("pods", Some("litmus")).iter().any(|p| {
                p["metadata"]["labels"]["name"] == "chaos-operator"
                    && p["status"]["conditions"]
                        .as_array()
                        .is_some_and(|c| c.iter().any(|c| c["type"] == "Ready" && c["status"] == "True"))
            })
        })
        .await;
    let faults = [
        spec("scale", "shop/db", &w.topo, &[("replicas", ParamValue::Int(0))], None),
        spec(
            "config-corrupt",
            "shop/carts",
            &w.topo,
            &[("key", text("DB_HOST")), ("value", text("nowhere.invalid")), ("restart", text("no"))],
            None,
        ),
        spec("network-deny", "shop/front", &w.topo, &[], Some(Mode::All)),
        spec("node-cordon", "node/n2", &w.topo, &[], None),
        spec("network-latency", "shop/carts", &w.topo, &[("latency_ms", ParamValue::Int(90))], Some(Mode::All)),
        spec(
            "litmus-experiment",
            "shop/front",
            &w.topo,
            &[("experiment", text("pod-delete")), ("service_account", text("litmus-admin"))],
            None,
        ),
    ];
    for (i, mut s) in faults.into_iter().enumerate() {
        s.fault_id = i as u64 + 1;
        s.duration_ms = 1_000;
        apply(&f.backend, &s).await;
    }
    assert_eq!(f.backend.leftovers().await.unwrap().len(), 6, "each fault is marked");
    drop(w);

    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    f.server.write_kubeconfig(&kubeconfig);
    let before = f.server.requests().len();
    let mut dog = Watchdog::start(&["--kubeconfig", kubeconfig.to_str().unwrap()]);
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let left = f.backend.leftovers().await.unwrap();
        if left.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the watchdog left {:?}\n{}",
            left.iter().map(|l| &l.what).collect::<Vec<_>>(),
            dog.log()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert_eq!(dog.terminate(), 0, "{}", dog.log());
    assert!(!dog.log().contains("403"), "{}", dog.log());
    assert!(f.server.list("chaosengines", Some("shop")).is_empty(), "the ChaosEngine is gone");
    assert!(f.server.list("networkchaos", Some("shop")).is_empty(), "the NetworkChaos is gone");
    within_grants(&f.server, before);
}

/// At rest the watchdog watches (one watch per marked kind, re-watched every few minutes)
/// instead of listing every kind every few seconds: besides its heartbeat Lease, under 12
/// requests a minute.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_rest_the_watchdog_watches_instead_of_listing_every_few_seconds() {
    let (server, kdir) = laptops::cluster(&[("shop", true)], true).await;
    let kubeconfig = kdir.path().join("kubeconfig");
    let mut dog = Watchdog::start(&["--kubeconfig", kubeconfig.to_str().unwrap()]);
    dog.wait_log("watching ", T).await;
    server
        .wait_until(T, "the watchdog's heartbeat", |s| s.get("leases", "gameday", "gameday-watchdog").is_some())
        .await;
    // Its watches started; from now on it is at rest.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let before = server.requests().len();
    let window = Duration::from_secs(30);
    tokio::time::sleep(window).await;
    let at_rest: Vec<String> = server.requests()[before..].iter().filter(|r| !r.contains("/leases")).cloned().collect();
    let per_minute = at_rest.len() as f64 * 60.0 / window.as_secs_f64();
    eprintln!("watchdog at rest: {per_minute:.1} requests a minute besides its heartbeat: {at_rest:?}");
    assert!(per_minute < 12.0, "{per_minute} a minute: {at_rest:#?}");
    // And it still sees a fault appear, by its watch: a marked scale past its deadline.
    assert_eq!(dog.terminate(), 0, "{}", dog.log());
}
