//! Chaos Mesh and Litmus through the Kubernetes backend, against the test API server whose
//! stand-in controllers write status as theirs do: an inject is believed only once the engine's
//! status says so, the application container is named (never a sidecar by accident), Litmus is
//! checked before and read after, and every object created carries exactly the fields its
//! published CRD defines (the server refuses any other, and the tests check it again).

mod common;

use std::time::Duration;

use common::apiserver::{schemas, ApiServer};
use common::kube::{fixture, spec, text, Fixture, Watch};
use gameday::backend::Backend;
use gameday::model::ParamValue;
use gameday::model::{FaultSpec, Mode, Support, TopologyDelta};
use serde_json::{json, Value};

/// The fixture with the engines installed before the backend looks for them.
async fn with_engines() -> (Fixture, Watch) {
    let f = fixture(&[]).await;
    f.server.install_chaos_mesh();
    f.server.install_litmus_with_operator("shop");
    let mut w = Watch::start(&f.backend);
    w.wait(
        10,
        "Chaos Mesh found",
        |d| matches!(d, TopologyDelta::Capability { action, support: Support::Yes } if action == "network-latency"),
    )
    .await;
    w.until(10, "the shop", |t| t.workload("shop", "carts").is_some_and(|w| w.ready == 3)).await;
    f.server.wait_until(Duration::from_secs(10), "the Litmus operator", operator_ready).await;
    (f, w)
}

fn operator_ready(s: &ApiServer) -> bool {
    s.list("pods", Some("litmus")).iter().any(|p| {
        p["metadata"]["labels"]["name"] == "chaos-operator"
            && p["status"]["conditions"]
                .as_array()
                .is_some_and(|c| c.iter().any(|c| c["type"] == "Ready" && c["status"] == "True"))
    })
}

/// The object as stored has exactly the fields its CRD defines.
fn assert_schema_valid(kind: &str, obj: &Value) {
    let problems = schemas::check(&schemas::of(kind).unwrap(), obj);
    assert!(problems.is_empty(), "{kind} departs from its CRD: {problems:?}\n{obj:#}");
}

fn has(found: &[String], want: &str) -> bool {
    found.iter().any(|l| l.contains(want))
}

/// Gives carts a sidecar listed first, as a mesh that prepends it would.
async fn sidecar_first(f: &Fixture, w: &mut Watch) {
    let d = f.server.get("deployments", "shop", "carts").unwrap();
    let mut containers = d["spec"]["template"]["spec"]["containers"].as_array().unwrap().clone();
    containers.insert(0, json!({"name": "istio-proxy", "image": "istio/proxyv2:1.22"}));
    f.server.apply(
        "deployments",
        json!({"metadata": {"name": "carts", "namespace": "shop"},
            "spec": {"template": {"spec": {"containers": containers}}}}),
    );
    w.until(20, "carts rolled out with its sidecar", |t| {
        t.workload("shop", "carts").is_some_and(|w| w.ready == 3) && t.pods_of("shop", "carts").count() == 3
    })
    .await;
    f.server
        .wait_until(Duration::from_secs(20), "every carts pod with its sidecar, ready", |s| {
            let pods: Vec<Value> = s
                .list("pods", Some("shop"))
                .into_iter()
                .filter(|p| p["metadata"]["labels"]["app"] == "carts" && p["metadata"]["deletionTimestamp"].is_null())
                .collect();
            pods.len() == 3 && pods.iter().all(|p| p["spec"]["containers"][0]["name"] == "istio-proxy")
        })
        .await;
    caught_up(f, w).await;
}

/// Waits until the picture's carts pods are the server's, all ready.
async fn caught_up(f: &Fixture, w: &mut Watch) {
    f.server.wait_until(Duration::from_secs(20), "carts ready", |s| s.ready_pods("shop", "carts") == 3).await;
    let live = |s: &ApiServer| s.live_pods("shop", "carts");
    let want = live(&f.server);
    w.until(20, "the picture's carts pods to be the server's", |t| {
        let mut have: Vec<String> = t.pods_of("shop", "carts").map(|p| p.name.clone()).collect();
        have.sort();
        have == want && t.pods_of("shop", "carts").all(|p| p.ready)
    })
    .await;
}

fn pods_spec(action: &str, w: &Watch, params: &[(&str, ParamValue)], mode: Mode) -> FaultSpec {
    let mut s = spec(action, "shop/carts", &w.topo, params, Some(mode));
    s.pods.retain(|p| !w.topo.pod(&p.namespace, &p.name).is_some_and(|p| p.phase.is_down()));
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_mesh_faults_are_confirmed_by_its_status_in_the_application_container() {
    let (f, mut w) = with_engines().await;
    sidecar_first(&f, &mut w).await;
    let b = &f.backend;

    // NetworkChaos: the preview names the pods; injected once Chaos Mesh's records say so.
    let s = pods_spec(
        "network-latency",
        &w,
        &[("latency_ms", ParamValue::Int(90)), ("jitter_ms", ParamValue::Int(10))],
        Mode::All,
    );
    let p = b.preview(&s).await.unwrap();
    assert!(has(&p.found, "Chaos Mesh selects exactly these pods, by name"), "{:?}", p.found);
    assert!(has(&p.found, "+90 ms (±10 ms) on every packet they send"), "{:?}", p.found);
    let h = b.inject(&s, &p.handle).await.unwrap();
    assert!(h.summary.contains("; injected into shop/carts-"), "the pods hit, from the records: {}", h.summary);
    assert_eq!(h.summary.matches("shop/carts-").count(), 3 + 3, "named in `what` and as hit: {}", h.summary);
    let c = &f.server.list("networkchaos", Some("shop"))[0];
    assert_schema_valid("NetworkChaos", c);
    assert_eq!(c["spec"]["delay"]["latency"], "90ms");
    assert_eq!(c["spec"]["duration"], "60s", "it ends by itself even if the console dies");
    assert_eq!(c["spec"]["selector"]["pods"]["shop"].as_array().unwrap().len(), 3);
    assert_eq!(b.leftovers().await.unwrap().len(), 1, "found by its markers");
    b.revert(&h).await.unwrap();
    assert!(f.server.list("networkchaos", Some("shop")).is_empty(), "deleted and waited for");
    // Said either way: AllRecovered seen while it went, or (polled every 200 ms, it can go
    // between two reads) its finalizer's recovery.
    w.wait(15, "the recovery said", |d| {
        matches!(d, TopologyDelta::ClusterEvent { object, message, .. }
            if object.starts_with("NetworkChaos shop/")
                && (message == "Chaos Mesh reported AllRecovered; deleted"
                    || message.starts_with("deleted (its finalizer recovered the pods")))
    })
    .await;

    // StressChaos: the application's container, not the sidecar listed first; sizes as Chaos
    // Mesh means them (divided among the workers).
    let s = pods_spec(
        "memory-stress",
        &w,
        &[("workers", ParamValue::Int(2)), ("memory_mb", ParamValue::Int(256))],
        Mode::One,
    );
    let p = b.preview(&s).await.unwrap();
    assert!(
        has(&p.found, "holds 256 MB in total in container carts of each (the application's; left alone: istio-proxy)"),
        "{:?}",
        p.found
    );
    assert!(has(&p.found, "divides its size among the 2 worker(s), 128 MB each"), "{:?}", p.found);
    let h = b.inject(&s, &p.handle).await.unwrap();
    assert!(h.summary.ends_with("/carts"), "the record is the carts container's: {}", h.summary);
    let c = &f.server.list("stresschaos", Some("shop"))[0];
    assert_schema_valid("StressChaos", c);
    assert_eq!(c["spec"]["containerNames"], json!(["carts"]));
    assert_eq!(c["spec"]["stressors"]["memory"], json!({"workers": 2, "size": "256MB"}));
    b.revert(&h).await.unwrap();

    // PodChaos container-kill: instant, once, in the application's container; no duration.
    let s = pods_spec("container-kill", &w, &[("container", text(""))], Mode::One);
    let p = b.preview(&s).await.unwrap();
    assert!(has(&p.found, "kills container carts once"), "{:?}", p.found);
    assert!(has(&p.found, "Chaos Mesh does not repeat it and ignores a duration"), "{:?}", p.found);
    let h = b.inject(&s, &p.handle).await.unwrap();
    let c = &f.server.list("podchaos", Some("shop"))[0];
    assert_schema_valid("PodChaos", c);
    assert_eq!(c["spec"]["containerNames"], json!(["carts"]));
    assert!(c["spec"].get("duration").is_none(), "a container kill has no duration: {c}");
    let pod = c["spec"]["selector"]["pods"]["shop"][0].as_str().unwrap().to_string();
    let restarts = |s: &ApiServer, name: &str| {
        let p = s.get("pods", "shop", &pod).unwrap();
        p["status"]["containerStatuses"].as_array().unwrap().iter().find(|c| c["name"] == name).unwrap()["restartCount"]
            .as_i64()
            .unwrap()
    };
    assert_eq!((restarts(&f.server, "carts"), restarts(&f.server, "istio-proxy")), (1, 0), "the app, not the sidecar");
    b.revert(&h).await.unwrap();
    assert!(f.server.invalid().is_empty(), "every object matched its CRD: {:?}", f.server.invalid());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pod_with_two_application_containers_asks_which_and_a_failed_injection_is_said_and_undone() {
    let (f, mut w) = with_engines().await;
    let b = &f.backend;
    // A second container that is no known sidecar: which one is the application's is asked.
    let d = f.server.get("deployments", "shop", "carts").unwrap();
    let mut containers = d["spec"]["template"]["spec"]["containers"].as_array().unwrap().clone();
    containers.push(json!({"name": "worker", "image": "example/carts-worker:1.0"}));
    f.server.apply(
        "deployments",
        json!({"metadata": {"name": "carts", "namespace": "shop"}, "spec": {"template": {"spec": {"containers": containers}}}}),
    );
    f.server
        .wait_until(Duration::from_secs(20), "carts with two containers, ready", |s| {
            let pods: Vec<Value> = s
                .list("pods", Some("shop"))
                .into_iter()
                .filter(|p| p["metadata"]["labels"]["app"] == "carts" && p["metadata"]["deletionTimestamp"].is_null())
                .collect();
            pods.len() == 3 && pods.iter().all(|p| p["spec"]["containers"].as_array().unwrap().len() == 2)
        })
        .await;
    caught_up(&f, &mut w).await;
    let s = pods_spec("cpu-stress", &w, &[], Mode::One);
    let err = b.preview(&s).await.unwrap_err().to_string();
    assert!(err.contains("has the containers carts, worker: name the application's with container=<name>"), "{err}");
    let s = pods_spec("cpu-stress", &w, &[("container", text("worker"))], Mode::One);
    let p = b.preview(&s).await.unwrap();
    assert!(has(&p.found, "in container worker of each"), "{:?}", p.found);

    // Chaos Mesh cannot inject (its daemon fails): the inject says so, and the revert tidies up.
    f.server.set_engines(|e| e.chaos_mesh_fails = Some("rpc error: chaos-daemon unavailable".into()));
    let started = std::time::Instant::now();
    let err = b.inject(&s, &p.handle).await.unwrap_err().to_string();
    assert!(started.elapsed() < Duration::from_secs(10), "within the console's time limit for a call");
    assert!(err.contains("Chaos Mesh did not inject StressChaos shop/"), "{err}");
    assert!(err.contains("rpc error: chaos-daemon unavailable"), "what Chaos Mesh said: {err}");
    b.revert(&p.handle).await.unwrap();
    assert!(f.server.list("stresschaos", Some("shop")).is_empty());

    // Nothing selected (the pod went between the preview and the inject): said, and undone.
    f.server.set_engines(|e| e.chaos_mesh_fails = None);
    let p = b.preview(&s).await.unwrap();
    let chosen = p.handle.data["body"]["spec"]["selector"]["pods"]["shop"][0].as_str().unwrap().to_string();
    f.server.delete_now("pods", "shop", &chosen);
    let err = b.inject(&s, &p.handle).await.unwrap_err().to_string();
    assert!(err.contains("it selected no pod (Selected is not True)"), "{err}");
    b.revert(&p.handle).await.unwrap();
}

fn litmus_spec(w: &Watch, target: &str, params: &[(&str, ParamValue)], seconds: u64) -> FaultSpec {
    let mut s = spec("litmus-experiment", target, &w.topo, params, None);
    s.duration_ms = seconds * 1000;
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn litmus_is_refused_without_its_experiment_account_or_operator() {
    let (f, w) = with_engines().await;
    let b = &f.backend;
    let base = [("experiment", text("pod-delete")), ("service_account", text("litmus-admin"))];
    let err = b
        .preview(&litmus_spec(&w, "shop/front", &[("experiment", text("node-drain")), base[1].clone()], 30))
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("the Litmus experiment node-drain is not installed in shop (installed: pod-delete)"),
        "{err}"
    );
    let err = b
        .preview(&litmus_spec(&w, "shop/front", &[base[0].clone(), ("service_account", text("nobody"))], 30))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("the chaos service account shop/nobody does not exist"), "{err}");
    // The operator scaled to zero: nothing would ever start the engine.
    f.server.apply(
        "deployments",
        json!({"metadata": {"name": "chaos-operator-ce", "namespace": "litmus"}, "spec": {"replicas": 0}}),
    );
    f.server.wait_until(Duration::from_secs(10), "the operator gone", |s| !operator_ready(s)).await;
    let err = b.preview(&litmus_spec(&w, "shop/front", &base, 30)).await.unwrap_err();
    assert!(err.to_string().contains("the Litmus operator is not running"), "{err}");
    assert!(f.server.list("chaosengines", Some("shop")).is_empty(), "no engine that could never start");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn litmus_targets_the_workload_by_name_runs_its_course_and_gives_its_verdict() {
    let (f, mut w) = with_engines().await;
    // Another workload whose pods carry the same label: a label selector would hit it too.
    f.server.apply(
        "deployments",
        json!({"metadata": {"name": "front-canary", "namespace": "shop", "labels": {"app": "front"}},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "front", "track": "canary"}},
                "template": {"metadata": {"labels": {"app": "front", "track": "canary"}},
                    "spec": {"containers": [{"name": "front", "image": "example/front:2.0"}]}}}}),
    );
    w.until(15, "the canary", |t| t.workload("shop", "front-canary").is_some_and(|w| w.ready == 1)).await;
    let canary: Vec<String> = w.topo.pods_of("shop", "front-canary").map(|p| p.name.clone()).collect();
    let b = &f.backend;
    let params = [("experiment", text("pod-delete")), ("service_account", text("litmus-admin"))];
    let s = litmus_spec(&w, "shop/front", &params, 2);
    let p = b.preview(&s).await.unwrap();
    assert!(has(&p.found, "ChaosExperiment shop/pod-delete is installed"), "{:?}", p.found);
    assert!(has(&p.found, "the Litmus operator runs (litmus/chaos-operator-ce-"), "{:?}", p.found);
    assert!(
        has(&p.found, "targets Deployment shop/front by its kind and name (selectors.workloads), not by a label"),
        "{:?}",
        p.found
    );
    let h = b.inject(&s, &p.handle).await.unwrap();
    let engine = &f.server.list("chaosengines", Some("shop"))[0];
    assert_schema_valid("ChaosEngine", engine);
    assert_eq!(
        engine["spec"]["selectors"],
        json!({"workloads": [{"kind": "deployment", "namespace": "shop", "names": "front"}]})
    );
    assert!(engine["spec"].get("appinfo").is_none(), "no label that could match other workloads");
    assert_eq!(
        engine["spec"]["experiments"][0]["spec"]["components"]["env"][0],
        json!({"name": "TOTAL_CHAOS_DURATION", "value": "2"})
    );
    // It runs its own course: the console is told to wait for it, then hears the verdict.
    let d = w.wait(10, "runs on", |d| matches!(d, TopologyDelta::FaultRunsOn { .. })).await;
    let TopologyDelta::FaultRunsOn { fault, within_ms, .. } = d else { unreachable!() };
    assert_eq!((fault, within_ms), (1, 182_000), "its duration and the time to start its runner");
    let d = w.wait(20, "the verdict", |d| matches!(d, TopologyDelta::FaultFinished { .. })).await;
    let TopologyDelta::FaultFinished { how, .. } = d else { unreachable!() };
    assert!(how.starts_with("Litmus pod-delete verdict Pass (targets: pod front-"), "{how}");
    w.wait(1, "the verdict in the timeline", |d| {
        matches!(d, TopologyDelta::ClusterEvent { object, message, warning: false }
            if object.starts_with("ChaosResult shop/gameday-chaos-") && message.starts_with("verdict Pass"))
    })
    .await;
    assert!(
        canary.iter().all(|c| f.server.get("pods", "shop", c).is_some()),
        "the canary sharing front's label was not touched"
    );
    // Finished: the revert only tidies up, at once.
    let started = std::time::Instant::now();
    b.revert(&h).await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(f.server.list("chaosengines", Some("shop")).is_empty());
    assert!(!f.server.requests().iter().any(|r| r.starts_with("PATCH") && r.contains("chaosengines")), "never stopped");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_abort_stops_litmus_and_waits_while_it_cleans_up() {
    let (f, mut w) = with_engines().await;
    f.server.set_timing(common::apiserver::controllers::Timing {
        litmus_cleanup: Duration::from_secs(12),
        ..Default::default()
    });
    let b = &f.backend;
    let params = [("experiment", text("pod-delete")), ("service_account", text("litmus-admin"))];
    let s = litmus_spec(&w, "shop/db", &params, 600);
    let p = b.preview(&s).await.unwrap();
    let h = b.inject(&s, &p.handle).await.unwrap();
    w.wait(
        10,
        "running",
        |d| matches!(d, TopologyDelta::ClusterEvent { message, .. } if message.contains("experiment Running")),
    )
    .await;
    let limit = b.revert_time_limit(&h).expect("a Litmus stop may take minutes");
    assert!(limit > Duration::from_secs(300), "{limit:?}");
    let started = std::time::Instant::now();
    b.revert(&h).await.unwrap();
    let took = started.elapsed();
    assert!(took >= Duration::from_secs(12), "it waited for Litmus's cleanup, longer than one 10 s call: {took:?}");
    w.wait(1, "stopping said", |d| {
        matches!(d, TopologyDelta::ClusterEvent { message, warning: true, .. } if message.starts_with("stopping (engineState: stop)"))
    })
    .await;
    w.wait(1, "the verdict Stopped", |d| {
        matches!(d, TopologyDelta::ClusterEvent { object, message, .. } if object.starts_with("ChaosResult") && message.starts_with("verdict Stopped"))
    })
    .await;
    assert!(f.server.list("chaosengines", Some("shop")).is_empty());
    // A Fail verdict is read as it is.
    f.server.set_timing(Default::default());
    f.server.set_engines(|e| e.litmus_verdict = "Fail".into());
    let s = litmus_spec(&w, "shop/db", &params, 1);
    let s = FaultSpec { fault_id: 2, ..s };
    let p = b.preview(&s).await.unwrap();
    b.inject(&s, &p.handle).await.unwrap();
    let d = w.wait(20, "the verdict", |d| matches!(d, TopologyDelta::FaultFinished { fault: 2, .. })).await;
    let TopologyDelta::FaultFinished { how, .. } = d else { unreachable!() };
    assert!(how.contains("verdict Fail (failed step: the application's health check failed"), "{how}");
    b.revert(&p.handle).await.unwrap();
}
