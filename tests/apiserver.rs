//! The test API server speaks the API the real kube client expects: these drive it with kube
//! itself (typed clients, the runtime watcher, patches, subresources, discovery).

mod common;

use std::time::Duration;

use common::apiserver::ApiServer;
use futures::StreamExt;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Node, Pod};
use k8s_openapi::api::policy::v1::Eviction;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::DeleteOptions;
use kube::api::{Api, EvictParams, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::watcher;
use kube::Client;
use serde_json::json;

async fn client(server: &ApiServer) -> Client {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kubeconfig");
    server.write_kubeconfig(&path);
    let kc = kube::config::Kubeconfig::read_from(&path).unwrap();
    let mut cfg = kube::Config::from_custom_kubeconfig(kc, &Default::default()).await.unwrap();
    // As gameday does: no silent retries of 429/503 inside one call.
    cfg.default_retry = false;
    Client::try_from(cfg).unwrap()
}

#[tokio::test]
async fn typed_lists_gets_and_the_controllers_make_a_shop() {
    let s = ApiServer::start().await;
    s.seed_shop("shop", true);
    s.wait_shop_ready("shop").await;
    let c = client(&s).await;
    let pods: Api<Pod> = Api::namespaced(c.clone(), "shop");
    let carts = pods.list(&ListParams::default().labels("app=carts")).await.unwrap();
    assert_eq!(carts.items.len(), 3);
    let owner = &carts.items[0].metadata.owner_references.as_ref().unwrap()[0];
    assert_eq!(owner.kind, "ReplicaSet");
    let deps: Api<Deployment> = Api::namespaced(c.clone(), "shop");
    let d = deps.get("carts").await.unwrap();
    assert_eq!(d.status.unwrap().ready_replicas, Some(3));
    let nodes: Api<Node> = Api::all(c.clone());
    assert_eq!(nodes.list(&ListParams::default().limit(2)).await.unwrap().items.len(), 2, "paged");
    let on_n1 = pods.list(&ListParams::default().fields("spec.nodeName=n1")).await.unwrap();
    assert!(on_n1.items.iter().all(|p| p.spec.as_ref().unwrap().node_name.as_deref() == Some("n1")));
    assert!(deps.get("nope").await.is_err());
}

#[tokio::test]
async fn the_runtime_watcher_follows_changes_through_dropped_watches_and_410() {
    let s = ApiServer::start().await;
    s.seed_shop("shop", true);
    s.wait_shop_ready("shop").await;
    let c = client(&s).await;
    let cms: Api<ConfigMap> = Api::namespaced(c.clone(), "shop");
    let mut events = watcher(cms.clone(), watcher::Config::default().any_semantic()).boxed();
    let mut saw_init = false;
    while let Some(ev) = tokio::time::timeout(Duration::from_secs(5), events.next()).await.unwrap() {
        if matches!(ev.unwrap(), watcher::Event::InitDone) {
            saw_init = true;
            break;
        }
    }
    assert!(saw_init);
    async fn wait_for(
        events: &mut (impl futures::Stream<Item = watcher::Result<watcher::Event<ConfigMap>>> + Unpin),
        name: &str,
    ) {
        loop {
            let ev = tokio::time::timeout(Duration::from_secs(10), events.next()).await.expect("an event").unwrap();
            if let Ok(watcher::Event::Apply(cm) | watcher::Event::InitApply(cm)) = ev {
                if cm.metadata.name.as_deref() == Some(name) {
                    return;
                }
            }
        }
    }
    s.apply("configmaps", json!({"metadata": {"name": "one", "namespace": "shop"}, "data": {}}));
    wait_for(&mut events, "one").await;
    s.drop_watches();
    s.apply("configmaps", json!({"metadata": {"name": "two", "namespace": "shop"}, "data": {}}));
    wait_for(&mut events, "two").await;
    s.compact();
    s.drop_watches();
    s.apply("configmaps", json!({"metadata": {"name": "three", "namespace": "shop"}, "data": {}}));
    wait_for(&mut events, "three").await;
    let reqs = s.requests();
    assert!(reqs.iter().filter(|r| r.ends_with("(watch)")).count() >= 3, "resumed: {reqs:?}");
}

#[tokio::test]
async fn the_four_patch_types_scale_and_eviction() {
    let s = ApiServer::start().await;
    s.seed_shop("shop", true);
    s.wait_shop_ready("shop").await;
    let c = client(&s).await;
    let cms: Api<ConfigMap> = Api::namespaced(c.clone(), "shop");
    let pp = PatchParams::apply("gameday-test");
    cms.patch("carts-config", &PatchParams::default(), &Patch::Merge(json!({"data": {"DB_HOST": "nowhere"}})))
        .await
        .unwrap();
    assert_eq!(s.get("configmaps", "shop", "carts-config").unwrap()["data"]["DB_HOST"], "nowhere");
    let ops: json_patch::Patch = serde_json::from_value(json!([{"op": "remove", "path": "/data/TIMEOUT_MS"}])).unwrap();
    cms.patch("carts-config", &PatchParams::default(), &Patch::<()>::Json(ops)).await.unwrap();
    assert!(s.get("configmaps", "shop", "carts-config").unwrap()["data"].get("TIMEOUT_MS").is_none());
    cms.patch(
        "new-cm",
        &pp.clone().force(),
        &Patch::Apply(
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "new-cm"}, "data": {"a": "b"}}),
        ),
    )
    .await
    .unwrap();
    assert_eq!(s.get("configmaps", "shop", "new-cm").unwrap()["data"]["a"], "b");
    let deps: Api<Deployment> = Api::namespaced(c.clone(), "shop");
    deps.patch(
        "front",
        &PatchParams::default(),
        &Patch::Strategic(
            json!({"spec": {"template": {"spec": {"containers": [{"name": "front", "image": "example/front:2.0"}]}}}}),
        ),
    )
    .await
    .unwrap();
    let d = s.get("deployments", "shop", "front").unwrap();
    let containers = d["spec"]["template"]["spec"]["containers"].as_array().unwrap();
    assert_eq!(containers.len(), 1, "merged by name");
    assert_eq!(containers[0]["image"], "example/front:2.0");
    assert_eq!(containers[0]["ports"][0]["containerPort"], 8080, "the rest kept");

    let scale =
        deps.patch_scale("db", &PatchParams::default(), &Patch::Merge(json!({"spec": {"replicas": 0}}))).await.unwrap();
    assert_eq!(scale.spec.unwrap().replicas, Some(0));
    s.wait_until(Duration::from_secs(5), "db scaled to 0", |s| s.ready_pods("shop", "db") == 0).await;
    assert_eq!(deps.get_scale("db").await.unwrap().spec.unwrap().replicas, Some(0));

    let pods: Api<Pod> = Api::namespaced(c.clone(), "shop");
    let carts: Vec<String> = pods
        .list(&ListParams::default().labels("app=carts"))
        .await
        .unwrap()
        .items
        .into_iter()
        .filter_map(|p| p.metadata.name)
        .collect();
    // kube's own evict() puts its options under `delete_options`, a field the Eviction does not
    // define: a strict server refuses it (a lenient one would drop it, and its grace period).
    let ep = EvictParams {
        delete_options: Some(kube::api::DeleteParams { grace_period_seconds: Some(7), ..Default::default() }),
        ..Default::default()
    };
    let err = pods.evict(&carts[0], &ep).await.unwrap_err();
    assert!(err.to_string().contains("strict decoding error: unknown field \"delete_options\""), "{err}");
    assert!(s.evictions().is_empty());
    // A policy/v1 Eviction carries it as deleteOptions.gracePeriodSeconds.
    let eviction = |name: &str| Eviction {
        metadata: kube::api::ObjectMeta { name: Some(name.into()), ..Default::default() },
        delete_options: Some(DeleteOptions { grace_period_seconds: Some(7), ..Default::default() }),
    };
    let pp = PostParams::default();
    pods.create_subresource::<_, serde_json::Value>("eviction", &carts[0], &pp, &eviction(&carts[0]))
        .await
        .expect("3 ready, PDB wants 2: allowed");
    assert_eq!(s.evictions(), [("shop".to_string(), carts[0].clone(), Some(7))]);
    assert_eq!(s.get("pods", "shop", &carts[0]).unwrap()["metadata"]["deletionGracePeriodSeconds"], 7);
    let err = pods
        .create_subresource::<_, serde_json::Value>("eviction", &carts[1], &pp, &eviction(&carts[1]))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("disruption budget"), "{err}");
}

#[tokio::test]
async fn custom_resources_are_found_by_discovery_once_installed() {
    let s = ApiServer::start().await;
    let c = client(&s).await;
    let groups = kube::discovery::Discovery::new(c.clone()).run().await.unwrap();
    assert!(!groups.has_group("chaos-mesh.org"));
    s.install_chaos_mesh();
    let groups = kube::discovery::Discovery::new(c.clone()).run().await.unwrap();
    assert!(groups.has_group("chaos-mesh.org"));
    let (ar, _) =
        groups.resolve_gvk(&kube::api::GroupVersionKind::gvk("chaos-mesh.org", "v1alpha1", "NetworkChaos")).unwrap();
    assert_eq!(ar.plural, "networkchaos");
    let api: Api<kube::api::DynamicObject> = Api::namespaced_with(c.clone(), "default", &ar);
    // An object its CRD does not describe is refused, as a strictly validating server does.
    let bad: kube::api::DynamicObject = serde_json::from_value(json!({
        "apiVersion": "chaos-mesh.org/v1alpha1", "kind": "NetworkChaos",
        "metadata": {"name": "slow"}, "spec": {"action": "delay", "duration": "60s", "latency": "90ms"}
    }))
    .unwrap();
    let err = api.create(&Default::default(), &bad).await.unwrap_err().to_string();
    for problem in ["spec.latency: unknown field", "spec.mode: Required value", "spec.selector: Required value"] {
        assert!(err.contains(problem), "{err}");
    }
    s.apply(
        "pods",
        json!({"metadata": {"name": "web", "namespace": "default"},
            "spec": {"nodeName": "n1", "containers": [{"name": "web", "image": "web:1"}]}, "status": {"phase": "Running"}}),
    );
    let obj: kube::api::DynamicObject = serde_json::from_value(json!({
        "apiVersion": "chaos-mesh.org/v1alpha1", "kind": "NetworkChaos",
        "metadata": {"name": "slow"},
        "spec": {"action": "delay", "mode": "all", "selector": {"pods": {"default": ["web"]}}, "duration": "60s",
            "delay": {"latency": "90ms"}}
    }))
    .unwrap();
    api.create(&Default::default(), &obj).await.unwrap();
    s.wait_until(Duration::from_secs(5), "the engine to select and inject", |s| {
        s.get("networkchaos", "default", "slow").is_some_and(|o| {
            o["status"]["conditions"][0] == json!({"type": "Selected", "status": "True"})
                && o["status"]["conditions"][1] == json!({"type": "AllInjected", "status": "True"})
                && o["status"]["experiment"]["containerRecords"][0]["id"] == "default/web"
        })
    })
    .await;
    api.delete("slow", &Default::default()).await.unwrap();
    assert!(s.get("networkchaos", "default", "slow").is_some(), "its finalizer holds it a moment");
    s.wait_until(Duration::from_secs(5), "it to be gone", |s| s.get("networkchaos", "default", "slow").is_none()).await;
}
