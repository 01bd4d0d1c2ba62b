//! Many consoles, one cluster, through the real kube client against the test API server: the
//! Lease that holds the cluster's one fault (compare-and-swap on its resourceVersion, a stop
//! asked through it, a take-over that only one of two can win, clear words when its namespace is
//! missing or RBAC refuses it), and reverts that never overwrite what people did since.

mod common;

use std::sync::Arc;

use common::apiserver::ApiServer;
use common::kube::{apply, fixture, spec, Watch};
use gameday::backend::kube::{KubeBackend, KubeOptions};
use gameday::backend::lock::{ClusterLock, LockError};
use gameday::backend::Backend;
use gameday::model::ParamValue;
use gameday::model::TopologyDelta;
use gameday::model::{Holder, LEASE_SECONDS};
use serde_json::json;

fn holder(who: &str, session: &str, fault: u64) -> Holder {
    Holder {
        who: who.into(),
        session: session.into(),
        fault,
        what: "scale on shop/carts".into(),
        deadline: chrono::Utc::now().timestamp() + 60,
        lease_seconds: LEASE_SECONDS,
        renewed: String::new(),
        stop: None,
        version: String::new(),
        journal: String::new(),
        gone: false,
    }
}

/// A second laptop: its own client, same kubeconfig.
async fn laptop(server: &ApiServer, dir: &std::path::Path) -> KubeBackend {
    let kubeconfig = dir.join(format!("kubeconfig-{}", rand_suffix()));
    server.write_kubeconfig(&kubeconfig);
    KubeBackend::connect(&KubeOptions { kubeconfig: Some(kubeconfig), ..Default::default() }).await.expect("connect")
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::SeqCst)
}

fn lock(b: &KubeBackend) -> Arc<dyn ClusterLock> {
    b.lock().expect("Kubernetes has a cluster lock")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lease_holds_one_fault_for_the_whole_cluster() {
    let f = fixture(&[]).await;
    f.server.install_gameday();
    let dir = tempfile::tempdir().unwrap();
    let b = laptop(&f.server, dir.path()).await;
    let (la, lb) = (lock(&f.backend), lock(&b));
    assert_eq!(la.describe(), "Lease gameday/gameday");
    assert_eq!(la.current().await.unwrap(), None, "free before anyone took it");

    let alice = holder("alice@laptop-a", "s-a", 1);
    la.acquire(&alice).await.unwrap();
    let lease = f.server.get("leases", "gameday", "gameday").expect("the Lease");
    assert_eq!(lease["spec"]["holderIdentity"], "alice@laptop-a");
    assert_eq!(lease["spec"]["leaseDurationSeconds"], 15);
    assert_eq!(lease["metadata"]["annotations"]["gameday.dev/session"], "s-a");
    // Bob is refused, with who holds it.
    let Err(LockError::Held(h)) = lb.acquire(&holder("bob@laptop-b", "s-b", 1)).await else { panic!("not refused") };
    assert_eq!((h.who.as_str(), h.session.as_str(), h.fault), ("alice@laptop-a", "s-a", 1));
    // Taking it again for the same fault is a renewal; a renewal moves renewTime.
    let before = f.server.get("leases", "gameday", "gameday").unwrap()["spec"]["renewTime"].clone();
    std::thread::sleep(std::time::Duration::from_millis(5));
    la.renew(&alice).await.unwrap();
    let after = f.server.get("leases", "gameday", "gameday").unwrap()["spec"]["renewTime"].clone();
    assert_ne!(before, after);
    // Bob asks for a stop: Alice's renewal sees it and keeps it.
    let asked = lb.request_stop("bob@laptop-b").await.unwrap();
    assert_eq!(asked.who, "alice@laptop-a");
    assert_eq!(la.renew(&alice).await.unwrap().stop.as_deref(), Some("bob@laptop-b"));
    // Only the holder's own fault releases it.
    lb.release("s-b", 1).await.unwrap();
    assert!(la.current().await.unwrap().is_some(), "bob's release of a fault he does not hold changes nothing");
    la.release("s-a", 1).await.unwrap();
    assert_eq!(la.current().await.unwrap(), None);
    lb.acquire(&holder("bob@laptop-b", "s-b", 1)).await.unwrap();
    assert_eq!(f.server.get("leases", "gameday", "gameday").unwrap()["spec"]["leaseTransitions"], 2);
    // Every write named the version it read: none was blind.
    let writes: Vec<String> =
        f.server.requests().into_iter().filter(|r| r.starts_with("PUT") && r.contains("/leases/")).collect();
    assert!(!writes.is_empty());
    common::rbac::assert_allowed(&f.server.requests());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_two_take_overs_of_a_silent_holder_one_wins() {
    let f = fixture(&[]).await;
    f.server.install_gameday();
    let dir = tempfile::tempdir().unwrap();
    let b = laptop(&f.server, dir.path()).await;
    let (la, lb) = (lock(&f.backend), lock(&b));
    la.acquire(&holder("alice@laptop-a", "s-a", 1)).await.unwrap();
    let seen = la.current().await.unwrap().unwrap();
    let (carol, bob) = (holder("carol@laptop-c", "s-c", 0), holder("bob@laptop-b", "s-b", 0));
    let (one, two) = tokio::join!(la.take_over(&carol, &seen), lb.take_over(&bob, &seen));
    assert!(one.is_ok() != two.is_ok(), "exactly one wins: {one:?} {two:?}");
    let loser = if one.is_ok() { two } else { one };
    assert!(matches!(loser, Err(LockError::Conflict(_))), "{loser:?}");
    // A version seen before a renewal is stale: the owner is alive after all.
    let now = la.current().await.unwrap().unwrap();
    lb.renew(&Holder { ..now.clone() }).await.ok();
    la.renew(&now).await.ok();
    assert!(matches!(lb.take_over(&holder("bob@laptop-b", "s-b", 0), &seen).await, Err(LockError::Conflict(_))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_namespace_and_a_refusing_rbac_are_said_with_the_fix() {
    let f = fixture(&[]).await;
    let l = lock(&f.backend);
    let e = l.acquire(&holder("alice@laptop-a", "s-a", 1)).await.unwrap_err();
    assert_eq!(
        e.to_string(),
        "the cluster lock cannot be taken: its namespace 'gameday' does not exist. Create it (kubectl apply -f deploy/rbac.yaml, or kubectl create namespace gameday) or choose another with --lock-namespace"
    );
    f.server.install_gameday();
    f.server.forbid("leases", "create");
    let e = l.acquire(&holder("alice@laptop-a", "s-a", 1)).await.unwrap_err().to_string();
    assert!(
        e.starts_with(
            "the cluster lock (Lease gameday/gameday) is not permitted: leases.coordination.k8s.io is forbidden"
        ),
        "{e}"
    );
    assert!(e.contains("deploy/rbac.yaml grants"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lock_is_watched_and_a_watchdog_heartbeat_is_seen() {
    let f = fixture(&[]).await;
    f.server.install_gameday();
    let mut w = Watch::start(&f.backend);
    let l = lock(&f.backend);
    l.acquire(&holder("alice@laptop-a", "s-a", 3)).await.unwrap();
    w.wait(5, "the holder", |d| matches!(d, TopologyDelta::Holder(Some(h)) if h.fault == 3)).await;
    l.release("s-a", 3).await.unwrap();
    w.wait(5, "released", |d| matches!(d, TopologyDelta::Holder(None))).await;
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kc");
    f.server.write_kubeconfig(&kubeconfig);
    let lease = gameday::backend::kube::lease::LeaseLock::new(
        KubeBackend::connect(&KubeOptions { kubeconfig: Some(kubeconfig), ..Default::default() })
            .await
            .unwrap()
            .client()
            .clone(),
        "gameday",
        Default::default(),
    );
    lease.watchdog_heartbeat("watchdog@cluster").await.unwrap();
    w.wait(5, "the watchdog", |d| matches!(d, TopologyDelta::Watchdog(Some(_)))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revert_leaves_what_people_changed_since_and_a_replay_changes_nothing() {
    let f = fixture(&[]).await;
    let mut w = Watch::start(&f.backend);
    w.until(10, "the shop", |t| t.workload("shop", "carts").is_some_and(|w| w.ready == 3)).await;
    let b = &f.backend;

    // scale carts to 1; an operator then scales it to 4 by hand.
    let h = apply(b, &spec("scale", "shop/carts", &w.topo, &[("replicas", ParamValue::Int(1))], None)).await;
    f.server.apply("deployments", json!({"metadata": {"name": "carts", "namespace": "shop"}, "spec": {"replicas": 4}}));
    let done = b.revert(&h).await.unwrap();
    let d = f.server.get("deployments", "shop", "carts").unwrap();
    assert_eq!(d["spec"]["replicas"], 4, "the operator's value stays");
    assert!(d["metadata"]["labels"].get("gameday.dev/fault").is_none(), "the markers go");
    assert_eq!(
        done.kept,
        ["Deployment shop/carts: replicas are 4 now, not the fault's 1: changed by someone since the fault; left as it is"]
    );
    // A stale `cleanup --all` replays the old plan: nothing changes.
    f.server.apply("deployments", json!({"metadata": {"name": "carts", "namespace": "shop"}, "spec": {"replicas": 5}}));
    let again = b.revert(&h).await.unwrap();
    assert_eq!(f.server.get("deployments", "shop", "carts").unwrap()["spec"]["replicas"], 5);
    assert!(again.kept[0].contains("its markers are gone"), "{:?}", again.kept);

    // config-corrupt; the operator fixes the key by hand to a value of their own.
    let h = apply(b, &spec("config-corrupt", "shop/carts", &w.topo, &[], None)).await;
    let bad = f.server.get("configmaps", "shop", "carts-config").unwrap()["data"]["DB_HOST"].clone();
    assert_ne!(bad, "db");
    f.server.apply(
        "configmaps",
        json!({"metadata": {"name": "carts-config", "namespace": "shop"}, "data": {"DB_HOST": "db-2"}}),
    );
    let done = b.revert(&h).await.unwrap();
    let cm = f.server.get("configmaps", "shop", "carts-config").unwrap();
    assert_eq!(cm["data"]["DB_HOST"], "db-2");
    assert!(cm["metadata"]["labels"].get("gameday.dev/fault").is_none());
    assert!(done.kept[0].starts_with("ConfigMap shop/carts-config: DB_HOST is \"db-2\" now"), "{:?}", done.kept);

    // Untouched since: restored, with the resourceVersion it read as the precondition.
    let h = apply(b, &spec("config-corrupt", "shop/carts", &w.topo, &[], None)).await;
    let done = b.revert(&h).await.unwrap();
    assert!(done.kept.is_empty(), "{:?}", done.kept);
    assert_eq!(f.server.get("configmaps", "shop", "carts-config").unwrap()["data"]["DB_HOST"], "db-2");
    common::rbac::assert_allowed(&f.server.requests());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_made_between_the_read_and_the_write_wins() {
    let f = fixture(&[]).await;
    let mut w = Watch::start(&f.backend);
    w.until(10, "the shop", |t| t.workload("shop", "carts").is_some_and(|w| w.ready == 3)).await;
    let h = apply(&f.backend, &spec("scale", "shop/carts", &w.topo, &[("replicas", ParamValue::Int(1))], None)).await;
    // The operator's change lands just after gameday read carts: its write gets 409, it reads
    // again, and sees the operator's value.
    f.server.on_next_write("deployments", |obj| obj["spec"]["replicas"] = json!(6));
    let before = f.server.conflicts().len();
    let done = f.backend.revert(&h).await.unwrap();
    // The stale write was refused (on a loaded machine the controller's status writes may
    // refuse a later one too: gameday reads again each time).
    let refused = f.server.conflicts()[before..].to_vec();
    assert!(
        refused.iter().any(|c| c.contains(r#"deployments.apps "carts""#)),
        "the stale write was refused: {refused:?}"
    );
    assert_eq!(f.server.get("deployments", "shop", "carts").unwrap()["spec"]["replicas"], 6);
    assert!(done.kept[0].contains("replicas are 6 now"), "{:?}", done.kept);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_machine_with_no_journal_finds_a_network_chaos_and_names_the_kinds_it_could_not_search() {
    let f = fixture(&[]).await;
    f.server.install_chaos_mesh();
    let mut w = Watch::start(&f.backend);
    w.wait(10, "Chaos Mesh found", |d| {
        matches!(d, TopologyDelta::Capability { action, support: gameday::model::Support::Yes } if action == "network-latency")
    })
    .await;
    w.until(10, "the shop", |t| t.workload("shop", "carts").is_some_and(|w| w.ready == 3)).await;
    let params = [("latency_ms", ParamValue::Int(200)), ("jitter_ms", ParamValue::Int(0))];
    apply(&f.backend, &spec("network-latency", "shop/carts", &w.topo, &params, Some(gameday::model::Mode::All))).await;
    assert_eq!(f.server.list("networkchaos", Some("shop")).len(), 1);

    // Another laptop: a fresh client that never watched (discovery runs for the search), and
    // RBAC that does not let it list two kinds.
    f.server.forbid("iochaos", "list");
    f.server.forbid("remoteclusters", "list");
    let dir = tempfile::tempdir().unwrap();
    let b = laptop(&f.server, dir.path()).await;
    let search = b.search().await.unwrap();
    assert_eq!(search.found.len(), 1, "{:?}", search.found);
    assert!(search.found[0].found_by.starts_with("markers on NetworkChaos shop/"), "{:?}", search.found[0]);
    let mut skipped = search.skipped.clone();
    skipped.sort();
    assert_eq!(skipped.len(), 2, "{skipped:?}");
    assert!(skipped[0].starts_with("could not search IOChaos: forbidden"), "{skipped:?}");
    assert!(skipped[1].starts_with("could not search RemoteCluster: forbidden"), "{skipped:?}");
    // Reverted from there: the NetworkChaos is gone.
    b.revert(&search.found[0].handle).await.unwrap();
    f.server
        .wait_until(std::time::Duration::from_secs(10), "the NetworkChaos deleted", |s| {
            s.list("networkchaos", Some("shop")).is_empty()
        })
        .await;

    // `gameday cleanup` says what it could not search, and never "nothing was left" plainly.
    let kubeconfig = dir.path().join("kc-cli");
    f.server.write_kubeconfig(&kubeconfig);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gameday"))
        .args(["cleanup", "--kubeconfig"])
        .arg(&kubeconfig)
        .env("GAMEDAY_DATA_DIR", dir.path().join("data"))
        .env("GAMEDAY_CONFIG_DIR", dir.path().join("config"))
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("warning: could not search IOChaos: forbidden"), "{text}");
    assert!(
        text.contains("No fault was left behind on test (")
            && text.contains("in what could be searched (2 warning(s) above"),
        "{text}"
    );
}
