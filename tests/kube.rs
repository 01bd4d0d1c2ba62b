//! The Kubernetes backend against the test API server, through the real kube client: the live
//! picture by watch (and through dropped watches, 410 Gone and an outage), every fault's
//! inject and revert, the namespace rules, markers and cleanup.

mod common;

use std::time::Duration;

use common::apiserver::ApiServer;
use gameday::backend::kube::{KubeBackend, KubeOptions};
use gameday::backend::model::PodPhase;
use gameday::backend::{Backend, FaultSpec, Mode, PodRef, RevertHandle, Support, Target, Topology, TopologyDelta};
use gameday::preset::ParamValue;
use serde_json::json;

struct Fixture {
    server: ApiServer,
    _dir: tempfile::TempDir,
    backend: KubeBackend,
}

/// Whatever a test made gameday do, deploy/rbac.yaml allows it.
impl Drop for Fixture {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            common::rbac::assert_allowed(&self.server.requests());
        }
    }
}

async fn fixture(allow: &[&str]) -> Fixture {
    let server = ApiServer::start().await;
    server.seed_shop("shop", true);
    server.seed_shop("locked", false);
    server.wait_shop_ready("shop").await;
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    server.write_kubeconfig(&kubeconfig);
    let opts = KubeOptions {
        kubeconfig: Some(kubeconfig),
        allow: allow.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    };
    let backend = KubeBackend::connect(&opts).await.expect("connect");
    Fixture { server, _dir: dir, backend }
}

/// The deltas of a watch, kept: a wait finds one that came before it asked, once; the picture
/// is kept current as a console would.
struct Watch {
    rx: tokio::sync::mpsc::UnboundedReceiver<TopologyDelta>,
    seen: Vec<TopologyDelta>,
    topo: Topology,
}

impl Watch {
    fn start(b: &KubeBackend) -> Watch {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        b.watch(tx);
        Watch { rx, seen: Vec::new(), topo: Topology::default() }
    }

    async fn wait(&mut self, secs: u64, what: &str, f: impl Fn(&TopologyDelta) -> bool) -> TopologyDelta {
        if let Some(i) = self.seen.iter().position(&f) {
            return self.seen.remove(i);
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
        loop {
            match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Ok(Some(d)) => {
                    self.topo.apply(&d);
                    if f(&d) {
                        return d;
                    }
                    self.seen.push(d);
                }
                Ok(None) => panic!("the watch ended while waiting for {what}"),
                Err(_) => panic!("no {what} within {secs} s"),
            }
        }
    }

    /// Waits until the picture satisfies `f`.
    async fn until(&mut self, secs: u64, what: &str, f: impl Fn(&Topology) -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
        while !f(&self.topo) {
            match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Ok(Some(d)) => {
                    self.topo.apply(&d);
                    self.seen.push(d);
                }
                Ok(None) => panic!("the watch ended while waiting for {what}"),
                Err(_) => panic!("the picture never showed {what}"),
            }
        }
    }
}

fn spec(action: &str, target: &str, topo: &Topology, params: &[(&str, ParamValue)], mode: Option<Mode>) -> FaultSpec {
    let target: Target = target.parse().unwrap();
    let pods = match mode {
        Some(_) => topo
            .select(&target)
            .into_iter()
            .filter(|p| !p.phase.is_down())
            .map(|p| PodRef { namespace: p.namespace.clone(), name: p.name.clone() })
            .collect(),
        None => Vec::new(),
    };
    FaultSpec {
        fault_id: 1,
        session: "20261124-120000-test".into(),
        preset: action.into(),
        action: action.into(),
        target,
        params: params.iter().map(|(k, v)| (k.to_string(), v.clone())).collect(),
        duration_ms: 60_000,
        pods,
        mode,
    }
}

async fn apply(b: &KubeBackend, spec: &FaultSpec) -> RevertHandle {
    let prepared = b.prepare(spec).await.unwrap_or_else(|e| panic!("prepare {}: {e}", spec.action));
    b.inject(spec, &prepared).await.unwrap_or_else(|e| panic!("inject {}: {e}", spec.action))
}

fn text(s: &str) -> ParamValue {
    ParamValue::Text(s.into())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_picture_groups_pods_under_workloads_with_services_and_locks() {
    let f = fixture(&[]).await;
    let mut w = Watch::start(&f.backend);
    let TopologyDelta::Snapshot(t) = w.wait(10, "the first picture", |d| matches!(d, TopologyDelta::Snapshot(_))).await
    else {
        unreachable!()
    };
    w.topo = t.clone();
    let carts = t.workload("shop", "carts").expect("carts");
    assert_eq!((carts.kind.as_str(), carts.ready, carts.desired), ("Deployment", 3, 3));
    assert_eq!(carts.note.as_deref(), Some("svc carts 3/3 endpoints"));
    assert_eq!(t.pods_of("shop", "carts").count(), 3, "pods grouped through their ReplicaSet");
    assert_eq!(t.workload("shop", "queue").unwrap().kind, "StatefulSet");
    let agent = t.workload("shop", "agent").unwrap();
    assert_eq!((agent.kind.as_str(), agent.desired), ("DaemonSet", 3));
    assert_eq!(t.nodes().len(), 3);
    assert!(t.node("n1").unwrap().ready);
    assert_eq!(t.lock_reason("shop"), None, "labelled gameday.dev/allow=true");
    assert!(t
        .lock_reason("locked")
        .unwrap()
        .contains("label it gameday.dev/allow=true or pass --allow-namespace locked"));
    assert!(t.lock_reason("kube-system").unwrap().contains("--allow-namespace kube-system"));
    w.wait(5, "connected", |d| matches!(d, TopologyDelta::Connection { connected: true, .. })).await;

    // A service with a load balancer's address makes what it selects probeable from here.
    f.server.apply(
        "services",
        json!({"metadata": {"name": "front-lb", "namespace": "shop"},
            "spec": {"type": "LoadBalancer", "selector": {"app": "front"}, "ports": [{"port": 8443, "targetPort": 8080}]},
            "status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.10"}]}}}),
    );
    w.wait(5, "front reachable", |d| {
        matches!(d, TopologyDelta::Reachable { service, addr } if service == "shop/front" && addr == "192.0.2.10:8443")
    })
    .await;

    // Changes arrive by watch: a pod goes, its replacement comes and becomes ready.
    let victim = t.pods_of("shop", "carts").next().unwrap().name.clone();
    f.server.delete_now("pods", "shop", &victim);
    w.wait(5, "the pod removed", |d| matches!(d, TopologyDelta::RemovePod { name, .. } if *name == victim)).await;
    w.until(10, "carts back at 3/3", |t| {
        t.workload("shop", "carts").is_some_and(|w| w.ready == 3) && t.pods_of("shop", "carts").all(|p| p.ready)
    })
    .await;
    // A warning event is a timeline line.
    f.server.apply(
        "events",
        json!({"metadata": {"name": "carts.oops", "namespace": "shop", "uid": "ev-1"}, "type": "Warning", "reason": "BackOff",
            "message": "Back-off restarting failed container", "involvedObject": {"kind": "Pod", "name": victim, "namespace": "shop"}, "count": 1}),
    );
    w.wait(
        5,
        "the warning",
        |d| matches!(d, TopologyDelta::ClusterEvent { message, warning: true, .. } if message.starts_with("BackOff")),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_watches_410_and_an_outage_keep_the_picture_true() {
    let f = fixture(&[]).await;
    let mut w = Watch::start(&f.backend);
    let TopologyDelta::Snapshot(t) = w.wait(10, "the first picture", |d| matches!(d, TopologyDelta::Snapshot(_))).await
    else {
        unreachable!()
    };
    w.topo = t;
    f.server.drop_watches();
    f.server.apply("deployments", json!({"metadata": {"name": "db", "namespace": "shop"}, "spec": {"replicas": 2}}));
    w.until(10, "db at 2 after a dropped watch", |t| {
        t.workload("shop", "db").is_some_and(|w| w.desired == 2 && w.ready == 2)
    })
    .await;

    // History compacted, watches dropped: the watcher relists, and what vanished meanwhile goes.
    f.server.compact();
    let gone = w.topo.pods_of("shop", "front").next().unwrap().name.clone();
    f.server.offline(true);
    w.wait(15, "disconnected", |d| matches!(d, TopologyDelta::Connection { connected: false, .. })).await;
    f.server.offline(false);
    f.server.delete_now("pods", "shop", &gone);
    w.wait(20, "reconnected", |d| matches!(d, TopologyDelta::Connection { connected: true, .. })).await;
    w.until(10, "the vanished pod removed", |t| t.pod("shop", &gone).is_none()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pod_delete_kill_and_evict_with_its_disruption_budget() {
    let f = fixture(&[]).await;
    let mut w = Watch::start(&f.backend);
    w.until(10, "the shop", |t| t.workload("shop", "carts").is_some_and(|w| w.ready == 3)).await;
    let b = &f.backend;

    let s = spec("pod-delete", "shop/carts", &w.topo, &[("grace_seconds", ParamValue::Int(0))], Some(Mode::One));
    let h = apply(b, &s).await;
    assert!(h.summary.starts_with("killed shop/carts-"), "{}", h.summary);
    let killed = h.data["pods"][0][1].as_str().unwrap().to_string();
    assert!(f.server.get("pods", "shop", &killed).is_none(), "grace 0: gone at once");
    b.revert(&h).await.unwrap();
    f.server.wait_until(Duration::from_secs(10), "carts replaced", |s| s.ready_pods("shop", "carts") == 3).await;

    // The PDB keeps 2 of 3 carts: one eviction is allowed, two at once are not.
    w.until(10, "carts at 3/3 again", |t| {
        t.pods_of("shop", "carts").filter(|p| p.ready && !p.phase.is_down()).count() == 3
    })
    .await;
    let s = spec("pod-evict", "shop/carts", &w.topo, &[], Some(Mode::Fixed(2)));
    let prepared = b.prepare(&s).await.unwrap();
    let err = b.inject(&s, &prepared).await.unwrap_err().to_string();
    assert!(err.contains("disruption budget"), "{err}");
    b.revert(&prepared).await.unwrap();
    // The one eviction allowed carried no grace period: each pod's own (the preset's -1).
    let evicted = f.server.evictions();
    assert_eq!(evicted.len(), 1, "{evicted:?}");
    assert_eq!(evicted[0].2, None);

    // The grace period asked for reaches the server, as deleteOptions.gracePeriodSeconds.
    f.server.wait_until(Duration::from_secs(10), "carts replaced", |s| s.ready_pods("shop", "carts") == 3).await;
    w.until(10, "carts at 3/3 again", |t| {
        t.pods_of("shop", "carts").filter(|p| p.ready && !p.phase.is_down()).count() == 3
    })
    .await;
    let s = spec("pod-evict", "shop/carts", &w.topo, &[("grace_seconds", ParamValue::Int(5))], Some(Mode::One));
    let h = apply(b, &s).await;
    assert!(h.summary.contains("(grace period 5 s)"), "{}", h.summary);
    let (ns, pod, grace) = f.server.evictions().pop().unwrap();
    assert_eq!((ns.as_str(), grace), ("shop", Some(5)));
    assert_eq!(h.data["pods"][0][1], pod.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scale_cordon_and_drain_restore_what_they_saved_and_leave_markers_meanwhile() {
    // The drain evicts pods of both namespaces: the locked one is opened by the flag.
    let f = fixture(&["locked"]).await;
    let mut w = Watch::start(&f.backend);
    w.until(10, "the shop", |t| t.workload("shop", "front").is_some_and(|w| w.ready == 2)).await;
    let b = &f.backend;

    let h = apply(b, &spec("scale", "shop/front", &w.topo, &[("replicas", ParamValue::Int(0))], None)).await;
    let d = f.server.get("deployments", "shop", "front").unwrap();
    assert_eq!(d["spec"]["replicas"], 0);
    assert_eq!(d["metadata"]["labels"]["gameday.dev/fault"], "1", "marked");
    let found = b.leftovers().await.unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].handle.data["from"], 2, "the annotation holds the saved replicas");
    w.until(10, "front at 0", |t| t.workload("shop", "front").is_some_and(|w| w.desired == 0 && w.ready == 0)).await;
    b.revert(&found[0].handle).await.unwrap();
    let d = f.server.get("deployments", "shop", "front").unwrap();
    assert_eq!(d["spec"]["replicas"], 2);
    assert!(d["metadata"]["labels"].get("gameday.dev/fault").is_none(), "markers removed");
    assert!(b.leftovers().await.unwrap().is_empty());

    let h2 = apply(b, &spec("node-cordon", "node/n2", &w.topo, &[], None)).await;
    assert_eq!(f.server.get("nodes", "", "n2").unwrap()["spec"]["unschedulable"], true);
    b.revert(&h2).await.unwrap();
    assert!(f.server.get("nodes", "", "n2").unwrap()["spec"]["unschedulable"].is_null());
    b.revert(&h).await.unwrap();

    // Drain n1: cordon, evict all but DaemonSet pods; they come back on the other nodes.
    w.until(10, "front back", |t| t.workload("shop", "front").is_some_and(|w| w.ready == 2)).await;
    // What must leave n1: all but DaemonSet pods, and carts pods a PodDisruptionBudget may hold.
    let on_n1 = |s: &ApiServer| {
        s.list("pods", None)
            .into_iter()
            .filter(|p| p["spec"]["nodeName"] == "n1" && p["metadata"]["deletionTimestamp"].is_null())
            .filter(|p| !matches!(p["metadata"]["labels"]["app"].as_str(), Some("agent" | "carts")))
            .count()
    };
    assert!(on_n1(&f.server) > 0);
    let drain = spec("node-drain", "node/n1", &w.topo, &[("grace_seconds", ParamValue::Int(3))], None);
    let h3 = b.prepare(&drain).await.unwrap();
    let result = b.inject(&drain, &h3).await;
    if let Err(e) = &result {
        // The carts PDB may block a second carts pod on n1; that is reported, not hidden.
        assert!(e.to_string().contains("PodDisruptionBudget forbids evicting"), "{e}");
    }
    f.server.wait_until(Duration::from_secs(10), "n1 drained", |s| on_n1(s) == 0).await;
    let evicted = f.server.evictions();
    assert!(!evicted.is_empty() && evicted.iter().all(|e| e.2 == Some(3)), "the drain's grace period: {evicted:?}");
    b.revert(&h3).await.unwrap();
    assert!(f.server.get("nodes", "", "n1").unwrap()["spec"]["unschedulable"].is_null());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_corrupt_image_unavailable_and_network_deny_are_undone() {
    let f = fixture(&[]).await;
    let mut w = Watch::start(&f.backend);
    w.until(10, "the shop", |t| t.workload("shop", "carts").is_some_and(|w| w.ready == 3)).await;
    let b = &f.backend;

    let h = apply(
        b,
        &spec(
            "config-corrupt",
            "shop/carts",
            &w.topo,
            &[("key", text("DB_HOST")), ("value", text("nowhere.invalid")), ("restart", text("no"))],
            None,
        ),
    )
    .await;
    assert_eq!(h.summary, "set DB_HOST=nowhere.invalid in ConfigMap shop/carts-config");
    assert_eq!(f.server.get("configmaps", "shop", "carts-config").unwrap()["data"]["DB_HOST"], "nowhere.invalid");
    b.revert(&h).await.unwrap();
    let cm = f.server.get("configmaps", "shop", "carts-config").unwrap();
    assert_eq!(cm["data"]["DB_HOST"], "db");
    assert_eq!(cm["data"]["TIMEOUT_MS"], "500", "the rest untouched");

    let h = apply(b, &spec("image-unavailable", "shop/db", &w.topo, &[("container", text(""))], None)).await;
    let image = |s: &ApiServer| {
        s.get("deployments", "shop", "db").unwrap()["spec"]["template"]["spec"]["containers"][0]["image"].clone()
    };
    assert_eq!(image(&f.server), "gameday.invalid/unavailable:db");
    w.until(15, "the new pod stuck pulling", |t| {
        t.pods_of("shop", "db").any(|p| p.note.as_deref() == Some("ImagePullBackOff"))
    })
    .await;
    b.revert(&h).await.unwrap();
    assert_eq!(image(&f.server), "example/db:1.0");
    w.until(15, "db healthy again", |t| {
        t.workload("shop", "db").is_some_and(|w| w.ready == 1) && t.pods_of("shop", "db").all(|p| p.note.is_none())
    })
    .await;

    let h = apply(b, &spec("network-deny", "shop/front", &w.topo, &[], Some(Mode::All))).await;
    let np = f.server.list("networkpolicies", Some("shop"));
    assert_eq!(np.len(), 1);
    assert_eq!(np[0]["spec"]["podSelector"]["matchLabels"]["app"], "front");
    assert_eq!(np[0]["spec"]["policyTypes"], json!(["Ingress", "Egress"]));
    b.revert(&h).await.unwrap();
    assert!(f.server.list("networkpolicies", Some("shop")).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn namespaces_are_off_limits_unless_opened_and_kube_system_needs_the_flag() {
    let f = fixture(&[]).await;
    let mut w = Watch::start(&f.backend);
    w.until(10, "the locked shop", |t| t.workload("locked", "carts").is_some()).await;
    let b = &f.backend;
    let err = b
        .prepare(&spec("scale", "locked/carts", &w.topo, &[("replicas", ParamValue::Int(0))], None))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("namespace locked is off-limits: label it gameday.dev/allow=true"), "{err}");
    assert_eq!(f.server.get("deployments", "locked", "carts").unwrap()["spec"]["replicas"], 3, "untouched");
    // Draining a node would evict pods of the locked namespace: refused.
    let err = b.prepare(&spec("node-drain", "node/n3", &w.topo, &[], None)).await.unwrap_err();
    assert!(err.to_string().contains("would evict pods of locked"), "{err}");

    // --allow-namespace opens it; kube-system stays closed even with the label.
    let g = fixture(&["locked"]).await;
    let mut w2 = Watch::start(&g.backend);
    w2.until(10, "the locked shop", |t| t.workload("locked", "db").is_some()).await;
    assert_eq!(w2.topo.lock_reason("locked"), None);
    g.server.apply("namespaces", json!({"metadata": {"name": "kube-system", "labels": {"gameday.dev/allow": "true"}}}));
    g.server.apply(
        "deployments",
        json!({"metadata": {"name": "coredns", "namespace": "kube-system"}, "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "dns"}},
            "template": {"metadata": {"labels": {"app": "dns"}}, "spec": {"containers": [{"name": "dns", "image": "dns"}]}}}}),
    );
    w2.until(10, "coredns", |t| t.workload("kube-system", "coredns").is_some()).await;
    let err = g.backend.prepare(&spec("scale", "kube-system/coredns", &w2.topo, &[], None)).await.unwrap_err();
    assert!(
        err.to_string().contains("kube-system is off-limits unless you pass --allow-namespace kube-system"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_mesh_and_litmus_are_found_by_discovery_and_their_objects_are_deleted_on_revert() {
    let f = fixture(&[]).await;
    let mut w = Watch::start(&f.backend);
    w.wait(10, "Chaos Mesh missing", |d| {
        matches!(d, TopologyDelta::Capability { action, support: Support::No(why) } if action == "network-latency" && why.contains("Chaos Mesh is not installed"))
    })
    .await;
    f.server.install_chaos_mesh();
    f.server.install_litmus();
    f.server.apply("chaosexperiments", json!({"metadata": {"name": "pod-delete", "namespace": "shop"}, "spec": {}}));
    // A new console discovers them.
    let f2 = {
        let dir = tempfile::tempdir().unwrap();
        let kc = dir.path().join("kubeconfig");
        f.server.write_kubeconfig(&kc);
        let b = KubeBackend::connect(&KubeOptions { kubeconfig: Some(kc), ..Default::default() }).await.unwrap();
        (b, dir)
    };
    let b = &f2.0;
    let mut w2 = Watch::start(b);
    w2.wait(
        10,
        "Chaos Mesh found",
        |d| matches!(d, TopologyDelta::Capability { action, support: Support::Yes } if action == "network-latency"),
    )
    .await;
    w2.until(10, "carts", |t| t.workload("shop", "carts").is_some_and(|w| w.ready == 3)).await;
    assert_eq!(b.supports("litmus-experiment"), Support::Yes);

    let s = spec(
        "network-latency",
        "shop/carts",
        &w2.topo,
        &[("latency_ms", ParamValue::Int(90)), ("jitter_ms", ParamValue::Int(10))],
        Some(Mode::All),
    );
    let h = apply(b, &s).await;
    let chaos = f.server.list("networkchaos", Some("shop"));
    assert_eq!(chaos.len(), 1);
    let c = &chaos[0];
    assert_eq!(c["spec"]["action"], "delay");
    assert_eq!(c["spec"]["delay"]["latency"], "90ms");
    assert_eq!(c["spec"]["duration"], "60s", "it ends by itself even if gameday dies");
    assert_eq!(c["spec"]["selector"]["pods"]["shop"].as_array().unwrap().len(), 3);
    assert_eq!(c["metadata"]["labels"]["gameday.dev/session"], "20261124-120000-test");
    f.server
        .wait_until(Duration::from_secs(5), "injected", |s| {
            s.list("networkchaos", Some("shop"))
                .first()
                .is_some_and(|c| c["status"]["conditions"][0]["status"] == "True")
        })
        .await;
    let found = b.leftovers().await.unwrap();
    assert_eq!(found.len(), 1, "found by its markers: {found:?}");
    b.revert(&h).await.unwrap();
    assert!(f.server.list("networkchaos", Some("shop")).is_empty(), "deleted and waited for");

    let s = spec(
        "litmus-experiment",
        "shop/front",
        &w2.topo,
        &[("experiment", text("pod-delete")), ("service_account", text("litmus-admin"))],
        None,
    );
    let h = apply(b, &s).await;
    let engine = &f.server.list("chaosengines", Some("shop"))[0];
    assert_eq!(engine["spec"]["engineState"], "active");
    assert_eq!(engine["spec"]["appinfo"]["applabel"], "app=front");
    assert_eq!(engine["spec"]["experiments"][0]["spec"]["components"]["env"][0]["value"], "60");
    b.revert(&h).await.unwrap();
    assert!(f.server.list("chaosengines", Some("shop")).is_empty());
    let reqs = f.server.requests();
    assert!(
        reqs.iter().any(|r| r.starts_with("PATCH") && r.contains("chaosengines")),
        "engineState=stop before the delete"
    );
    let err = b
        .prepare(&spec(
            "litmus-experiment",
            "shop/front",
            &w2.topo,
            &[("experiment", text("node-drain")), ("service_account", text("x"))],
            None,
        ))
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("the Litmus experiment node-drain is not installed in shop (installed: pod-delete)"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revert_during_api_errors_fails_cleanly_and_succeeds_when_the_api_answers() {
    let f = fixture(&[]).await;
    let mut w = Watch::start(&f.backend);
    w.until(10, "the shop", |t| t.workload("shop", "db").is_some_and(|w| w.ready == 1)).await;
    let b = &f.backend;
    let h = apply(b, &spec("scale", "shop/db", &w.topo, &[("replicas", ParamValue::Int(0))], None)).await;
    f.server.fail_next(3, 503);
    let started = std::time::Instant::now();
    let err = b.revert(&h).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(2), "no silent retries hide the outage");
    assert!(err.to_string().contains("503"), "{err}");
    // The console retries with its own backoff; once the API answers, the revert lands.
    let mut ok = false;
    for _ in 0..5 {
        if b.revert(&h).await.is_ok() {
            ok = true;
            break;
        }
    }
    assert!(ok);
    assert_eq!(f.server.get("deployments", "shop", "db").unwrap()["spec"]["replicas"], 1);
    let _ = PodPhase::Running;
}
