//! Several laptops, one cluster: real consoles in pseudo-terminals, each with its own HOME and
//! data directory, against one test API server. The second console refuses to inject and names
//! who holds the cluster; its Space stops the first one's fault; a first console killed with a
//! fault live is taken over once its lease lapses (by exactly one of two others); the cluster's
//! own Events tell the story; an operator's change made after a fault survives a stale
//! `gameday cleanup --all`; a missing lock namespace is said with the fix.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::apiserver::ApiServer;
use common::laptops;
use common::pty::{journal_entries, Console};
use serde_json::{json, Value};

const T: Duration = Duration::from_secs(20);

/// A laptop: its own HOME and data directory, its own user.
fn laptop(kubeconfig: &Path, user: &str) -> Console {
    let c = laptops::kube_console(kubeconfig, &["-n", "shop", "--new", "--user", user]);
    c.wait_for("carts          3/3", T);
    c
}

/// The events.k8s.io Events regarding carts: (reason, note).
fn events(server: &ApiServer) -> Vec<(String, String)> {
    server
        .list_in("events.k8s.io", "events", Some("shop"))
        .into_iter()
        .filter(|e| e["regarding"]["name"] == "carts")
        .map(|e| {
            (e["reason"].as_str().unwrap_or_default().to_string(), e["note"].as_str().unwrap_or_default().to_string())
        })
        .collect()
}

fn kinds_of(c: &Console) -> Vec<Value> {
    journal_entries(&c.journal())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_second_laptop_is_refused_sees_the_fault_live_elsewhere_and_its_space_stops_it() {
    let (server, kdir) = laptops::cluster(&[("shop", true)], true).await;
    let kubeconfig = kdir.path().join("kubeconfig");
    let mut a = laptop(&kubeconfig, "alice");
    let mut b = laptop(&kubeconfig, "bob");
    a.command("inject scale shop/carts replicas=1 duration=5m");
    a.wait_for("FAULT LIVE #1 scale → shop/carts", T);
    // Bob sees it live elsewhere, and is refused with who holds the cluster.
    b.wait_for("LIVE ELSEWHERE: alice@", T);
    b.command("inject pod-delete shop/front");
    let screen = b.wait_for("refused: alice@", T);
    assert!(
        screen.contains("holds the cluster: scale on shop/carts, ") && screen.contains(" left; one fault at a time"),
        "{screen}"
    );
    assert!(!screen.contains("FAULTS LEFT BY EARLIER SESSIONS"), "a live owner's fault is no leftover: {screen}");
    assert_eq!(server.ready_pods("shop", "front"), 2, "nothing of bob's was applied");

    // Bob's Space: Alice's console aborts through its own abort path, naming him.
    let pressed = Instant::now();
    b.press(" ");
    a.wait_reverted(1, T);
    let took = pressed.elapsed();
    b.wait_gone("LIVE ELSEWHERE", T);
    assert_eq!(laptops::replicas(&server, "shop", "carts"), 3);
    let ending = kinds_of(&a).into_iter().find(|e| e["kind"] == "fault_ending").unwrap();
    assert!(
        ending["reason"]["aborted"]["by"].as_str().unwrap().starts_with("emergency stop asked by bob@"),
        "{ending}"
    );
    assert!(kinds_of(&b).iter().any(|e| e["kind"] == "stop_asked" && e["of"].as_str().unwrap().starts_with("alice@")));
    eprintln!("bob's Space to alice's fault reverted (confirmed on her screen): {took:?}");
    assert!(took < Duration::from_secs(5), "{took:?}");

    // The cluster's own record: who injected, who aborted, reverted.
    let ev = events(&server);
    let reasons: Vec<&str> = ev.iter().map(|(r, _)| r.as_str()).collect();
    for want in ["GamedayFaultInjected", "GamedayFaultAborted", "GamedayFaultReverted"] {
        assert!(reasons.contains(&want), "{want} missing: {ev:?}");
    }
    let injected = &ev.iter().find(|(r, _)| r == "GamedayFaultInjected").unwrap().1;
    assert!(injected.contains("fault #1") && injected.contains("injected by alice@"), "{injected}");

    // Now Bob may inject.
    b.command("inject pod-delete shop/front");
    b.wait_for("FAULT LIVE #1 pod-delete → shop/front", T);
    a.wait_for("LIVE ELSEWHERE: bob@", T);
    b.press(" ");
    b.wait_reverted(1, T);
    for c in [&mut a, &mut b] {
        c.send("q");
        assert_eq!(c.wait_exit(T), 0);
    }
    common::rbac::assert_allowed(&server.requests());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_owner_is_taken_over_by_exactly_one_of_two_consoles_after_its_lease() {
    let (server, kdir) = laptops::cluster(&[("shop", true)], true).await;
    let kubeconfig = kdir.path().join("kubeconfig");
    let mut a = laptop(&kubeconfig, "alice");
    let mut b = laptop(&kubeconfig, "bob");
    let mut c = laptop(&kubeconfig, "carol");
    a.command("inject scale shop/carts replicas=1 duration=5m");
    a.wait_for("scaled Deployment shop/carts from 3 to 1", T);
    b.wait_for("LIVE ELSEWHERE: alice@", T);
    c.wait_for("LIVE ELSEWHERE: alice@", T);
    let killed = Instant::now();
    a.signal("KILL");
    a.wait_exit(T);
    // Within the lease it is still alice's; after it, one of bob and carol reverts it.
    std::thread::sleep(Duration::from_secs(5));
    assert_eq!(laptops::replicas(&server, "shop", "carts"), 1, "not taken over while its lease runs");
    server.wait_until(Duration::from_secs(30), "carts back at 3", |s| laptops::replicas(s, "shop", "carts") == 3).await;
    let lapse = killed.elapsed();
    eprintln!("alice killed to her fault reverted by another console: {lapse:?}");
    b.wait_gone("LIVE ELSEWHERE", T);
    c.wait_gone("LIVE ELSEWHERE", T);
    std::thread::sleep(Duration::from_millis(500));
    let took: Vec<Value> = [&b, &c].iter().flat_map(|x| kinds_of(x)).filter(|e| e["kind"] == "took_over").collect();
    if took.len() != 1 {
        for x in [&b, &c] {
            eprintln!("{}", x.screen());
            for e in kinds_of(x) {
                eprintln!("{e}");
            }
        }
    }
    assert_eq!(took.len(), 1, "exactly one took it over: {took:?}");
    assert!(took[0]["why"].as_str().unwrap().starts_with("its console stopped renewing the cluster lock"), "{took:?}");
    assert!(took[0]["reverted"][0].as_str().unwrap().contains("scaled Deployment shop/carts from 3 to 1"));
    assert!(events(&server).iter().any(|(r, _)| r == "GamedayFaultTakenOver"), "{:?}", events(&server));
    let lease = server.get("leases", "gameday", "gameday").unwrap();
    assert!(lease["spec"]["holderIdentity"].is_null(), "given back: {lease}");
    for x in [&mut b, &mut c] {
        x.send("q");
        assert_eq!(x.wait_exit(T), 0);
    }
    common::rbac::assert_allowed(&server.requests());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operators_change_survives_a_stale_cleanup_of_a_fault_another_console_reverted() {
    let (server, kdir) = laptops::cluster(&[("shop", true)], true).await;
    let kubeconfig = kdir.path().join("kubeconfig");
    let mut a = laptop(&kubeconfig, "alice");
    let mut b = laptop(&kubeconfig, "bob");
    a.command("inject scale shop/carts replicas=2 duration=5m");
    a.wait_for("scaled Deployment shop/carts from 3 to 2", T);
    a.signal("KILL");
    a.wait_exit(T);
    // Bob's console takes it over once its lease lapses; then an operator scales carts to 5.
    server.wait_until(Duration::from_secs(30), "carts back at 3", |s| laptops::replicas(s, "shop", "carts") == 3).await;
    b.wait_gone("LIVE ELSEWHERE", T);
    server.apply("deployments", json!({"metadata": {"name": "carts", "namespace": "shop"}, "spec": {"replicas": 5}}));
    // Alice, back at her laptop: her journal still says fault #1 was never reverted.
    let out = Command::new(env!("CARGO_BIN_EXE_gameday"))
        .args(["cleanup", "--all", "-n", "shop", "--kubeconfig"])
        .arg(&kubeconfig)
        .env("GAMEDAY_DATA_DIR", a.data_dir())
        .env("GAMEDAY_CONFIG_DIR", a.dir.path().join("config"))
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("its markers are gone"), "{text}");
    assert_eq!(laptops::replicas(&server, "shop", "carts"), 5, "the operator's value stays: {text}");
    // Closed in her journal, not replayed.
    let confirmed = kinds_of(&a).into_iter().find(|e| e["kind"] == "revert_confirmed").unwrap();
    assert!(confirmed["kept"][0].as_str().unwrap().contains("its markers are gone"), "{confirmed}");
    b.send("q");
    assert_eq!(b.wait_exit(T), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_lock_namespace_refuses_the_inject_and_says_how_to_fix_it() {
    let (server, kdir) = laptops::cluster(&[("shop", true)], false).await;
    let mut a = laptop(&kdir.path().join("kubeconfig"), "alice");
    a.command("inject scale shop/carts replicas=1");
    a.wait_for("never applied: the cluster lock could not be taken: the cluster lock cannot be taken: its namespace 'gameday' does", T);
    assert_eq!(laptops::replicas(&server, "shop", "carts"), 3);
    let entries = kinds_of(&a);
    let not = entries.iter().find(|e| e["kind"] == "inject_not_applied").unwrap();
    assert!(not["reason"].as_str().unwrap().contains("kubectl apply -f deploy/rbac.yaml"), "{not}");
    a.send("q");
    assert_eq!(a.wait_exit(T), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_console_that_quits_gives_the_lock_back_before_it_exits() {
    let (server, kdir) = laptops::cluster(&[("shop", true)], true).await;
    let mut a = laptop(&kdir.path().join("kubeconfig"), "alice");
    a.command("inject scale shop/carts replicas=1 duration=5m");
    a.wait_for("FAULT LIVE #1 scale → shop/carts", T);
    a.command("quit");
    assert_eq!(a.wait_exit(T), 0);
    // At once: nobody has to wait for its lease to lapse, nor take over a reverted fault.
    assert_eq!(laptops::replicas(&server, "shop", "carts"), 3);
    let lease = server.get("leases", "gameday", "gameday").unwrap();
    assert!(lease["spec"]["holderIdentity"].is_null(), "given back before the exit: {lease}");
}
