//! The Kubernetes backend against the test API server, through the real kube client: the live
//! picture by watch (and through dropped watches, 410 Gone and an outage), every fault's
//! inject and revert, the namespace rules, markers and cleanup.

mod common;

use std::time::Duration;

use common::apiserver::ApiServer;
use common::kube::{apply, fixture, spec, text, Watch};
use gameday::backend::Backend;
use gameday::model::ParamValue;
use gameday::model::PodPhase;
use gameday::model::{Mode, TopologyDelta};
use serde_json::json;

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
    // Budgets that let every carts pod go: what must leave n1 is all but the DaemonSet's pods.
    for ns in ["shop", "locked"] {
        f.server.apply(
            "poddisruptionbudgets",
            json!({"metadata": {"name": "carts", "namespace": ns},
            "spec": {"minAvailable": null, "maxUnavailable": 3}}),
        );
    }
    f.server
        .wait_until(Duration::from_secs(5), "the budgets' new status", |s| {
            ["shop", "locked"]
                .iter()
                .all(|ns| s.get("poddisruptionbudgets", ns, "carts").unwrap()["status"]["disruptionsAllowed"] == 3)
        })
        .await;
    let on_n1 = |s: &ApiServer| {
        s.list("pods", None)
            .into_iter()
            .filter(|p| p["spec"]["nodeName"] == "n1" && p["metadata"]["deletionTimestamp"].is_null())
            .filter(|p| p["metadata"]["labels"]["app"] != "agent")
            .count()
    };
    assert!(on_n1(&f.server) > 0);
    // The pods the earlier faults replaced are gone from n1 first (a pod still terminating
    // would be listed as left, rightly).
    f.server
        .wait_until(Duration::from_secs(10), "no pod terminating on n1", |s| {
            s.list("pods", None)
                .iter()
                .all(|p| p["spec"]["nodeName"] != "n1" || p["metadata"]["deletionTimestamp"].is_null())
        })
        .await;
    let drain = spec("node-drain", "node/n1", &w.topo, &[("grace_seconds", ParamValue::Int(3))], None);
    let preview = b.preview(&drain).await.unwrap();
    let evicts = format!("evicts {} pods (grace period 3 s): ", on_n1(&f.server));
    assert!(preview.found[0].starts_with(&evicts), "{:?}", preview.found);
    assert!(
        preview.found[1].starts_with("leaves 2 on n1: ") && preview.found[1].contains("(DaemonSet)"),
        "{:?}",
        preview.found
    );
    b.inject(&drain, &preview.handle).await.unwrap();
    let h3 = preview.handle;
    f.server.wait_until(Duration::from_secs(10), "n1 drained", |s| on_n1(s) == 0).await;
    let evicted = f.server.evictions();
    assert!(!evicted.is_empty() && evicted.iter().all(|e| e.2 == Some(3)), "the drain's grace period: {evicted:?}");
    b.revert(&h3).await.unwrap();
    assert!(f.server.get("nodes", "", "n1").unwrap()["spec"]["unschedulable"].is_null());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn previews_say_what_prepare_found_and_change_nothing() {
    let f = fixture(&[]).await;
    let mut w = Watch::start(&f.backend);
    w.until(10, "the shop", |t| t.workload("shop", "carts").is_some_and(|w| w.ready == 3)).await;
    let b = &f.backend;
    let has = |found: &[String], want: &str| found.iter().any(|l| l.contains(want));
    let before = f.server.requests().len();

    // config-corrupt: the ConfigMap, the key, its value now and after, and how it is read.
    let corrupt = |key: &str| {
        spec(
            "config-corrupt",
            "shop/carts",
            &w.topo,
            &[("key", text(key)), ("value", text("x.invalid")), ("restart", text("no"))],
            None,
        )
    };
    let p = b.preview(&corrupt("DB_HOST")).await.unwrap();
    assert_eq!(p.handle.summary, "set DB_HOST=x.invalid in ConfigMap shop/carts-config");
    assert!(has(&p.found, r#"ConfigMap shop/carts-config, key DB_HOST: "db" becomes "x.invalid""#), "{:?}", p.found);
    assert!(has(&p.found, "Deployment shop/carts reads it: carts: envFrom"), "{:?}", p.found);
    assert!(has(&p.found, "restart=no: running pods keep the old value"), "{:?}", p.found);
    // A key the ConfigMap lacks: the preview says which key it corrupts instead.
    let p = b.preview(&corrupt("NOPE")).await.unwrap();
    assert!(has(&p.found, "NOPE is not a key of carts-config: it corrupts DB_HOST, its first key"), "{:?}", p.found);
    // A workload that reads no ConfigMap: refused before anyone confirms.
    let err = b.preview(&spec("config-corrupt", "shop/front", &w.topo, &[], None)).await.unwrap_err();
    assert!(err.to_string().contains("Deployment shop/front reads no ConfigMap"), "{err}");

    // Pod faults: each pod with its node, containers and images.
    let p = b
        .preview(&spec("pod-delete", "shop/carts", &w.topo, &[("grace_seconds", ParamValue::Int(0))], Some(Mode::One)))
        .await
        .unwrap();
    assert!(
        p.found[0].starts_with("shop/carts-") && p.found[0].contains(": carts (example/carts:1.0)"),
        "{:?}",
        p.found
    );
    assert!(has(&p.found, "grace 0: killed at once"), "{:?}", p.found);
    let p = b.preview(&spec("pod-evict", "shop/carts", &w.topo, &[], Some(Mode::Fixed(2)))).await.unwrap();
    assert!(
        has(
            &p.found,
            "PodDisruptionBudget shop/carts allows 1 disruption(s) now: the API will refuse 1 of these 2 evictions"
        ),
        "{:?}",
        p.found
    );
    let p = b.preview(&spec("image-unavailable", "shop/db", &w.topo, &[("container", text(""))], None)).await.unwrap();
    assert!(has(&p.found, "container db: example/db:1.0 becomes gameday.invalid/unavailable:db"), "{:?}", p.found);
    let p = b.preview(&spec("scale", "shop/front", &w.topo, &[("replicas", ParamValue::Int(0))], None)).await.unwrap();
    assert!(
        has(&p.found, "Deployment shop/front wants 2 replicas (2 ready): saved for the revert, set to 0"),
        "{:?}",
        p.found
    );
    let p = b.preview(&spec("node-cordon", "node/n2", &w.topo, &[], None)).await.unwrap();
    assert!(has(&p.found, "they keep running; only new pods are kept off it"), "{:?}", p.found);

    // Nothing changed: every request a preview made was a read.
    let writes: Vec<String> =
        f.server.requests()[before..].iter().filter(|r| !r.starts_with("GET ")).cloned().collect();
    assert!(writes.is_empty(), "previews only read: {writes:?}");
    assert_eq!(f.server.get("configmaps", "shop", "carts-config").unwrap()["data"]["DB_HOST"], "db");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drain_waits_for_its_disruption_budgets_as_kubectl_drain_does() {
    // The other shop is opened, and its budget lets all go: only shop's budget and kube-system count.
    let f = fixture(&["locked"]).await;
    f.server.apply(
        "poddisruptionbudgets",
        json!({"metadata": {"name": "carts", "namespace": "locked"}, "spec": {"minAvailable": null, "maxUnavailable": 3}}),
    );
    let mut w = Watch::start(&f.backend);
    w.until(10, "the shop", |t| t.workload("shop", "carts").is_some_and(|w| w.ready == 3)).await;
    let b = &f.backend;
    // The carts budget lets no pod go now.
    let budget = |min: i64| {
        f.server.apply(
            "poddisruptionbudgets",
            json!({"metadata": {"name": "carts", "namespace": "shop"}, "spec": {"minAvailable": min}}),
        )
    };
    budget(3);
    f.server
        .wait_until(Duration::from_secs(5), "the budget's status", |s| {
            s.get("poddisruptionbudgets", "shop", "carts").unwrap()["status"]["disruptionsAllowed"] == 0
        })
        .await;
    let carts =
        f.server.list("pods", Some("shop")).into_iter().find(|p| p["metadata"]["labels"]["app"] == "carts").unwrap();
    let held = carts["metadata"]["name"].as_str().unwrap().to_string();
    let node = carts["spec"]["nodeName"].as_str().unwrap().to_string();
    let mut drain = spec("node-drain", &format!("node/{node}"), &w.topo, &[], None);
    drain.duration_ms = 60_000;
    // The preview names the budget that will slow it down.
    let p = b.preview(&drain).await.unwrap();
    assert!(
        p.found.iter().any(|l| l.contains(&format!(
            "PodDisruptionBudget shop/carts allows 0 disruption(s) now and {node} runs 1 of its pods (shop/{held}): the drain evicts them as it allows"
        ))),
        "{:?}",
        p.found
    );
    let started = std::time::Instant::now();
    let h = b.inject(&drain, &p.handle).await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(3), "the inject never waits on a budget: {:?}", started.elapsed());
    assert!(h.summary.contains(&format!("shop/{held} wait for their PodDisruptionBudget")), "{}", h.summary);
    assert_eq!(f.server.get("nodes", "", &node).unwrap()["spec"]["unschedulable"], true);
    let waits = w
        .wait(
            5,
            "the drain says what it waits for",
            |d| matches!(d, TopologyDelta::ClusterEvent { message, .. } if message.starts_with("drain waits for")),
        )
        .await;
    let TopologyDelta::ClusterEvent { message, .. } = &waits else { unreachable!() };
    assert!(
        message
            .contains(&format!("shop/{held} (The disruption budget carts needs 3 healthy pods and has 3 currently)")),
        "{message}"
    );
    // The budget lets one go: the drain finishes.
    budget(2);
    w.wait(20, "the held pod evicted", |d| {
        matches!(d, TopologyDelta::ClusterEvent { message, .. }
            if message.starts_with(&format!("drain evicted shop/{held} once its budget allowed it")))
    })
    .await;
    w.wait(
        10,
        "the drain finished",
        |d| matches!(d, TopologyDelta::ClusterEvent { message, .. } if message.starts_with("drain finished")),
    )
    .await;
    assert!(f.server.evictions().iter().any(|(_, p, _)| *p == held));
    b.revert(&h).await.unwrap();
    assert!(f.server.get("nodes", "", &node).unwrap()["spec"]["unschedulable"].is_null());

    // A revert while the drain waits stops it: nothing is evicted after it.
    budget(3);
    f.server
        .wait_until(Duration::from_secs(20), "carts whole again, its budget at 0", |s| {
            s.ready_pods("shop", "carts") == 3
                && s.get("poddisruptionbudgets", "shop", "carts").unwrap()["status"]["disruptionsAllowed"] == 0
        })
        .await;
    let carts = f
        .server
        .list("pods", Some("shop"))
        .into_iter()
        .find(|p| p["metadata"]["labels"]["app"] == "carts" && p["metadata"]["deletionTimestamp"].is_null())
        .unwrap();
    let (held, node) = (
        carts["metadata"]["name"].as_str().unwrap().to_string(),
        carts["spec"]["nodeName"].as_str().unwrap().to_string(),
    );
    w.until(10, "the picture caught up", |t| t.pod("shop", &held).is_some()).await;
    let mut drain = spec("node-drain", &format!("node/{node}"), &w.topo, &[], None);
    drain.fault_id = 2;
    let p = b.preview(&drain).await.unwrap();
    let h = b.inject(&drain, &p.handle).await.unwrap();
    b.revert(&h).await.unwrap();
    budget(0);
    tokio::time::sleep(Duration::from_secs(7)).await;
    assert!(
        f.server.get("pods", "shop", &held).is_some_and(|p| p["metadata"]["deletionTimestamp"].is_null()),
        "stopped by the revert"
    );
    assert!(!f.server.evictions().iter().any(|(_, p, _)| *p == held));

    // API Priority and Fairness turns an eviction away (no budget): asked again after its
    // Retry-After.
    f.server.throttle_evictions(1);
    w.seen.clear();
    let mut drain = spec("node-drain", &format!("node/{node}"), &w.topo, &[], None);
    drain.fault_id = 3;
    let p = b.preview(&drain).await.unwrap();
    let h = b.inject(&drain, &p.handle).await.unwrap();
    let waits = w
        .wait(5, "the drain waits for the server", |d| {
            matches!(d, TopologyDelta::ClusterEvent { message, .. }
                if message.starts_with("drain waits for") && message.contains("Retry-After"))
        })
        .await;
    let TopologyDelta::ClusterEvent { message, .. } = &waits else { unreachable!() };
    assert!(message.contains("(the API server asked to wait (429, Retry-After))"), "{message}");
    w.wait(
        10,
        "the drain finished",
        |d| matches!(d, TopologyDelta::ClusterEvent { message, .. } if message.starts_with("drain finished")),
    )
    .await;
    b.revert(&h).await.unwrap();

    // A kube-system pod on a node: the drain could not evict it (off-limits), so it is refused.
    f.server.apply(
        "poddisruptionbudgets",
        json!({"metadata": {"name": "carts", "namespace": "shop"}, "spec": {"minAvailable": 0}}),
    );
    f.server.apply(
        "pods",
        json!({"metadata": {"name": "coredns-1", "namespace": "kube-system"},
            "spec": {"nodeName": node, "containers": [{"name": "coredns", "image": "coredns:1.11"}]},
            "status": {"phase": "Running"}}),
    );
    let err = b.preview(&drain).await.unwrap_err().to_string();
    assert!(err.contains(&format!("draining {node} would evict pods of kube-system (kube-system/coredns-1)")), "{err}");
    assert!(err.contains("kube-system is off-limits unless you pass --allow-namespace kube-system"), "{err}");
    assert!(f.server.get("nodes", "", &node).unwrap()["spec"]["unschedulable"].is_null(), "nothing was cordoned");
}

/// config-corrupt of carts' DB_HOST to a name that does not resolve, restarting its pods or not.
fn bad_db_host(topo: &gameday::model::Topology, restart: &str) -> gameday::model::FaultSpec {
    let params = [("key", text("DB_HOST")), ("value", text("nowhere.invalid")), ("restart", text(restart))];
    spec("config-corrupt", "shop/carts", topo, &params, None)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_corrupt_image_unavailable_and_network_deny_are_undone() {
    let f = fixture(&[]).await;
    let mut w = Watch::start(&f.backend);
    w.until(10, "the shop", |t| t.workload("shop", "carts").is_some_and(|w| w.ready == 3)).await;
    let b = &f.backend;

    let h = apply(b, &bad_db_host(&w.topo, "no")).await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_corrupt_with_a_restart_leaves_the_pod_template_as_it_found_it() {
    let f = fixture(&[]).await;
    let mut w = Watch::start(&f.backend);
    w.until(10, "the shop", |t| t.workload("shop", "carts").is_some_and(|w| w.ready == 3)).await;
    let b = &f.backend;
    let template = |s: &ApiServer| s.get("deployments", "shop", "carts").unwrap()["spec"]["template"].clone();
    let pods = |s: &ApiServer| s.live_pods("shop", "carts");
    let before = template(&f.server);
    let first = pods(&f.server);
    let h = apply(b, &bad_db_host(&w.topo, "yes")).await;
    assert!(template(&f.server)["metadata"]["annotations"]["gameday.dev/restartedAt"].is_string());
    f.server
        .wait_until(Duration::from_secs(20), "carts rolled with the bad value", |s| {
            s.ready_pods("shop", "carts") == 3 && pods(s).iter().all(|p| !first.contains(p))
        })
        .await;
    let during = pods(&f.server);
    b.revert(&h).await.unwrap();
    assert_eq!(template(&f.server), before, "nothing left in the pod template that was not there");
    f.server
        .wait_until(Duration::from_secs(20), "carts rolled again to read the restored value", |s| {
            s.ready_pods("shop", "carts") == 3 && pods(s).iter().all(|p| !during.contains(p))
        })
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeated_fault_on_one_object_gets_an_event_of_its_own() {
    use gameday::model::Happening;
    let f = fixture(&[]).await;
    let mut w = Watch::start(&f.backend);
    w.until(10, "the shop", |t| t.workload("shop", "carts").is_some_and(|w| w.ready == 3)).await;
    let b = &f.backend;
    for fault in [10, 11] {
        let mut s = spec("scale", "shop/carts", &w.topo, &[("replicas", ParamValue::Int(2))], None);
        s.fault_id = fault;
        let h = apply(b, &s).await;
        let what = Happening {
            reason: "GamedayFaultInjected",
            action: "Inject",
            note: format!("gameday session s fault #{fault} (scale): injected by ana@laptop-a"),
            warning: false,
        };
        b.announce(&h, &what).await.unwrap();
        b.revert(&h).await.unwrap();
    }
    let notes: Vec<String> = f
        .server
        .list_in("events.k8s.io", "events", Some("shop"))
        .into_iter()
        .filter(|e| e["reason"] == "GamedayFaultInjected" && e["regarding"]["name"] == "carts")
        .map(|e| e["note"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(notes.len(), 2, "one Event per fault, not a series: {notes:?}");
    assert!(notes[0].contains("fault #10") && notes[1].contains("fault #11"), "{notes:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watch_expired_by_compaction_lists_again_quietly() {
    let f = fixture(&[]).await;
    let mut w = Watch::start(&f.backend);
    let TopologyDelta::Snapshot(t) = w.wait(10, "the first picture", |d| matches!(d, TopologyDelta::Snapshot(_))).await
    else {
        unreachable!()
    };
    w.topo = t;
    w.wait(5, "connected", |d| matches!(d, TopologyDelta::Connection { connected: true, .. })).await;
    w.seen.clear();
    let pod_lists =
        |s: &ApiServer| s.requests().iter().filter(|r| r.contains("/pods") && !r.ends_with("(watch)")).count();
    let lists_before = pod_lists(&f.server);
    // etcd compacted: every watch resumes from a version the server no longer has (410 Gone).
    for i in 0..3 {
        f.server.apply("configmaps", json!({"metadata": {"name": format!("unwatched-{i}"), "namespace": "shop"}}));
        f.server.compact();
        f.server.drop_watches();
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    f.server.apply("deployments", json!({"metadata": {"name": "db", "namespace": "shop"}, "spec": {"replicas": 2}}));
    w.until(15, "db at 2 after the relist", |t| {
        t.workload("shop", "db").is_some_and(|w| w.desired == 2 && w.ready == 2)
    })
    .await;
    let news: Vec<&TopologyDelta> = w
        .seen
        .iter()
        .filter(|d| {
            matches!(d, TopologyDelta::Connection { .. })
                || matches!(d, TopologyDelta::ClusterEvent { warning: true, .. })
        })
        .collect();
    assert!(news.is_empty(), "a routine 410 is no news: {news:?}");
    assert!(pod_lists(&f.server) > lists_before, "listed again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_autoscaler_and_a_gitops_owner_are_named_their_fight_back_said_and_immutable_config_refused() {
    let f = fixture(&[]).await;
    let mut w = Watch::start(&f.backend);
    w.until(10, "the shop", |t| t.workload("shop", "carts").is_some_and(|w| w.ready == 3)).await;
    let b = &f.backend;
    f.server.apply(
        "horizontalpodautoscalers",
        json!({"metadata": {"name": "carts", "namespace": "shop"},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "carts"},
                "minReplicas": 2, "maxReplicas": 5}}),
    );
    f.server.apply(
        "deployments",
        json!({"metadata": {"name": "carts", "namespace": "shop", "labels": {"argocd.argoproj.io/instance": "shop"}}}),
    );
    let s = spec("scale", "shop/carts", &w.topo, &[("replicas", ParamValue::Int(1))], None);
    let p = b.preview(&s).await.unwrap();
    let has = |want: &str| p.found.iter().any(|l| l.contains(want));
    assert!(
        has("HorizontalPodAutoscaler shop/carts keeps Deployment shop/carts between 2 and 5 replicas: it will undo a scale to 1"),
        "{:?}",
        p.found
    );
    assert!(has("Deployment shop/carts is managed by Argo CD (application shop)"), "{:?}", p.found);
    w.seen.clear();
    let h = b.inject(&s, &p.handle).await.unwrap();
    let fought = w
        .wait(15, "the autoscaler fought back", |d| {
            matches!(d, TopologyDelta::ClusterEvent { object, message, warning: true }
                if object == "Deployment shop/carts" && message.contains("fought back"))
        })
        .await;
    let TopologyDelta::ClusterEvent { message, .. } = &fought else { unreachable!() };
    assert_eq!(
        message,
        "was set to 2 replicas while the fault holds it at 1: HorizontalPodAutoscaler shop/carts or Argo CD (application shop) fought back"
    );
    // The revert leaves what the autoscaler set, and says so.
    let kept = b.revert(&h).await.unwrap();
    assert!(kept.kept.iter().any(|k| k.contains("changed by someone since")), "{kept:?}");

    // An immutable ConfigMap cannot be corrupted: refused at prepare, not at the inject.
    f.server.apply("configmaps", json!({"metadata": {"name": "carts-config", "namespace": "shop"}, "immutable": true}));
    let corrupt = spec("config-corrupt", "shop/carts", &w.topo, &[("key", text("DB_HOST"))], None);
    let err = b.preview(&corrupt).await.unwrap_err().to_string();
    assert!(err.contains("ConfigMap shop/carts-config is immutable (immutable: true)"), "{err}");
    // As the API server would have answered the inject.
    let api: kube::Api<k8s_openapi::api::core::v1::ConfigMap> = kube::Api::namespaced(b.client().clone(), "shop");
    let patch = kube::api::Patch::Merge(json!({"data": {"DB_HOST": "x"}}));
    match api.patch("carts-config", &kube::api::PatchParams::default(), &patch).await {
        Err(kube::Error::Api(s)) => assert_eq!(s.code, 422, "{s:?}"),
        other => panic!("an immutable ConfigMap was changed: {other:?}"),
    }
}
