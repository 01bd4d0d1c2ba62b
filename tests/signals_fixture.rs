//! The fixtures golden signals are tested with, proved end to end through the real kube client:
//! the test API server's service proxy (answering as kube-apiserver does), its metrics.k8s.io
//! (metrics-server's PodMetrics and NodeMetrics, following StressChaos), and a real Prometheus
//! scraping the Istio-standard metrics of a mesh whose traffic follows the cluster's state (a
//! NetworkChaos delay, a workload scaled to 0), read through the proxy as the product will.

mod common;

use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{Method, StatusCode, Uri};
use common::apiserver::ApiServer;
use common::mesh::Mesh;
use common::prometheus::{value, Prometheus};
use k8s_openapi::api::apps::v1::Deployment;
use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, GroupVersionKind, ListParams, Patch, PatchParams, PostParams,
};
use kube::Client;
use serde_json::{json, Value};

async fn client(server: &ApiServer) -> Client {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kubeconfig");
    server.write_kubeconfig(&path);
    let kc = kube::config::Kubeconfig::read_from(&path).unwrap();
    let mut cfg = kube::Config::from_custom_kubeconfig(kc, &Default::default()).await.unwrap();
    cfg.default_retry = false;
    Client::try_from(cfg).unwrap()
}

fn get(path: &str) -> http::Request<Vec<u8>> {
    http::Request::get(path).body(Vec::new()).unwrap()
}

/// A raw request's refusal: (code, reason, message).
async fn refused(c: &Client, req: http::Request<Vec<u8>>) -> (u16, String, String) {
    match c.request_text(req).await {
        Err(kube::Error::Api(s)) => (s.code, s.reason.clone(), s.message.clone()),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// A loopback server that answers `/status/{code}` with that code, and anything else with what
/// it was asked (method, path, query, body, content-type) as JSON.
async fn echo() -> (std::net::SocketAddr, tokio::task::JoinHandle<()>) {
    async fn answer(method: Method, uri: Uri, headers: axum::http::HeaderMap, body: Bytes) -> axum::response::Response {
        use axum::response::IntoResponse;
        if let Some(code) = uri.path().strip_prefix("/status/").and_then(|c| c.parse().ok()) {
            return (StatusCode::from_u16(code).unwrap(), "teapot\n").into_response();
        }
        axum::Json(json!({
            "method": method.as_str(), "path": uri.path(), "query": uri.query(),
            "body": String::from_utf8_lossy(&body), "contentType": headers.get("content-type").and_then(|v| v.to_str().ok()),
            "authorization": headers.get("authorization").is_some(),
        }))
        .into_response()
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new().fallback(answer);
    (addr, tokio::spawn(async move { axum::serve(listener, app).await.unwrap() }))
}

#[tokio::test]
async fn the_service_proxy_forwards_to_what_is_behind_a_service_and_refuses_as_kube_apiserver_does() {
    let server = ApiServer::start().await;
    let (addr, _echo) = echo().await;
    server.seed_prometheus_service("monitoring", "prometheus-k8s", "web", 9090);
    server.proxy_service("monitoring", "prometheus-k8s", "web", &addr.to_string());
    let c = client(&server).await;
    let base = "/api/v1/namespaces/monitoring/services";

    // Method, path, query and body go through; the caller's credentials do not.
    let text = c
        .request_text(get(&format!("{base}/prometheus-k8s:web/proxy/api/v1/query?query=up%7Bjob%3D%22x%22%7D&time=1")))
        .await
        .unwrap();
    let seen: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(seen["method"], "GET");
    assert_eq!(seen["path"], "/api/v1/query");
    assert_eq!(seen["query"], "query=up%7Bjob%3D%22x%22%7D&time=1");
    assert_eq!(seen["authorization"], false, "the bearer token stays with the API server");
    let post = http::Request::post(format!("{base}/prometheus-k8s:web/proxy/api/v1/query"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(b"query=up".to_vec())
        .unwrap();
    let seen: Value = serde_json::from_str(&c.request_text(post).await.unwrap()).unwrap();
    assert_eq!((seen["method"].as_str(), seen["body"].as_str()), (Some("POST"), Some("query=up")));
    assert_eq!(seen["contentType"], "application/x-www-form-urlencoded");
    // The port by number, the scheme, an escaped colon: the same endpoint.
    for id in ["prometheus-k8s:9090", "http:prometheus-k8s:web", "prometheus-k8s%3Aweb"] {
        let seen: Value =
            serde_json::from_str(&c.request_text(get(&format!("{base}/{id}/proxy/graph/"))).await.unwrap()).unwrap();
        assert_eq!(seen["path"], "/graph/", "{id}");
    }
    // The upstream's own status comes back as it is (not a Status: kube makes one of the text).
    let (code, _, message) = refused(&c, get(&format!("{base}/prometheus-k8s:web/proxy/status/418"))).await;
    assert_eq!((code, message.as_str()), (418, "teapot"));

    // A bare name reaches only an unnamed port, as in kube-apiserver.
    let (code, reason, message) = refused(&c, get(&format!("{base}/prometheus-k8s/proxy/"))).await;
    assert_eq!((code, reason.as_str()), (503, "ServiceUnavailable"));
    assert_eq!(message, "no endpoints available for service \"prometheus-k8s\"");
    server.seed_prometheus_service("monitoring", "plain", "", 8080);
    server.proxy_service("monitoring", "plain", "8080", &addr.to_string());
    let seen: Value =
        serde_json::from_str(&c.request_text(get(&format!("{base}/plain/proxy/x"))).await.unwrap()).unwrap();
    assert_eq!(seen["path"], "/x");

    // No such Service: a named port is looked up in its Endpoints, a number in the Service.
    let (code, reason, message) = refused(&c, get(&format!("{base}/missing:web/proxy/"))).await;
    assert_eq!((code, reason.as_str(), message.as_str()), (404, "NotFound", "endpoints \"missing\" not found"));
    let (code, _, message) = refused(&c, get(&format!("{base}/missing:9090/proxy/"))).await;
    assert_eq!((code, message.as_str()), (404, "services \"missing\" not found"));
    let (code, _, message) = refused(&c, get(&format!("{base}/prometheus-k8s:1234/proxy/"))).await;
    assert_eq!((code, message.as_str()), (503, "no service port 1234 found for service \"prometheus-k8s\""));
    // The Service, with nothing behind it.
    server.seed_prometheus_service("monitoring", "alertmanager-main", "web", 9093);
    let (code, _, message) = refused(&c, get(&format!("{base}/alertmanager-main:web/proxy/api/v2/alerts"))).await;
    assert_eq!((code, message.as_str()), (503, "no endpoints available for service \"alertmanager-main\""));
    // Something behind it that refuses connections.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    server.proxy_service("monitoring", "alertmanager-main", "web", &closed.to_string());
    let (code, reason, message) = refused(&c, get(&format!("{base}/alertmanager-main:web/proxy/"))).await;
    assert_eq!((code, reason.as_str()), (503, "ServiceUnavailable"));
    assert_eq!(message, format!("error trying to reach service: dial tcp {closed}: connect: connection refused"));
    let (code, _, message) = refused(&c, get(&format!("{base}/ftp:prometheus-k8s:web/proxy/"))).await;
    assert_eq!((code, message.as_str()), (400, "invalid service request \"ftp:prometheus-k8s:web\""));

    // The requests are counted, and RBAC sees services/proxy with the method's verb.
    let proxied = format!("GET {base}/prometheus-k8s:web/proxy/api/v1/query");
    assert!(server.requests().contains(&proxied), "{:?}", server.requests());
    assert_eq!(
        common::rbac::needs(&proxied),
        Some((Some("monitoring".into()), ("".into(), "services/proxy".into(), "get".into())))
    );
    server.forbid("services/proxy", "get");
    let (code, reason, message) = refused(&c, get(&format!("{base}/prometheus-k8s:web/proxy/api/v1/query"))).await;
    assert_eq!((code, reason.as_str()), (403, "Forbidden"));
    assert_eq!(
        message,
        "services \"prometheus-k8s:web\" is forbidden: User \"system:serviceaccount:test:gameday\" cannot get resource \"services/proxy\" in API group \"\" in the namespace \"monitoring\""
    );
    let post = http::Request::post(format!("{base}/prometheus-k8s:web/proxy/api/v1/query")).body(Vec::new()).unwrap();
    assert!(c.request_text(post).await.is_ok(), "only get is forbidden");

    // The server's own troubles come first.
    server.offline(true);
    let (code, ..) = refused(&c, get(&format!("{base}/prometheus-k8s:web/proxy/api/v1/query"))).await;
    assert_eq!(code, 503);
    server.offline(false);
    server.slow(Duration::from_millis(300));
    let t = Instant::now();
    let post = http::Request::post(format!("{base}/prometheus-k8s:web/proxy/x")).body(Vec::new()).unwrap();
    c.request_text(post).await.unwrap();
    assert!(t.elapsed() >= Duration::from_millis(300));
}

fn metrics_api(kind: &str, plural: &str) -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk("metrics.k8s.io", "v1beta1", kind), plural)
}

/// CPU in millicores and memory in bytes of a PodMetrics' first container.
fn usage(m: &Value) -> (f64, f64) {
    let u = &m["containers"][0]["usage"];
    let cpu = u["cpu"].as_str().unwrap().strip_suffix('n').unwrap().parse::<f64>().unwrap() / 1e6;
    let mem = u["memory"].as_str().unwrap().strip_suffix("Ki").unwrap().parse::<f64>().unwrap() * 1024.0;
    (cpu, mem)
}

async fn pod_metrics(c: &Client, ns: &str, pod: &str) -> Value {
    let text = c.request_text(get(&format!("/apis/metrics.k8s.io/v1beta1/namespaces/{ns}/pods/{pod}"))).await.unwrap();
    serde_json::from_str(&text).unwrap()
}

async fn wait_usage(c: &Client, pod: &str, what: &str, f: impl Fn((f64, f64)) -> bool) -> (f64, f64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let u = usage(&pod_metrics(c, "shop", pod).await);
        if f(u) {
            return u;
        }
        assert!(Instant::now() < deadline, "{what}: still {u:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn chaos_api(c: &Client, kind: &str, plural: &str) -> Api<DynamicObject> {
    let ar = ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk("chaos-mesh.org", "v1alpha1", kind), plural);
    Api::namespaced_with(c.clone(), "shop", &ar)
}

#[tokio::test]
async fn the_metrics_api_reports_each_running_pod_and_node_and_follows_stress_chaos() {
    let server = ApiServer::start().await;
    server.install_chaos_mesh();
    server.seed_shop("shop", true);
    server.wait_shop_ready("shop").await;
    let c = client(&server).await;

    // Discovered as metrics-server's aggregated API is.
    let group = kube::discovery::group(&c, "metrics.k8s.io").await.unwrap();
    let mut found: Vec<(String, bool)> = group
        .recommended_resources()
        .into_iter()
        .map(|(ar, caps)| (ar.kind, caps.scope == kube::discovery::Scope::Namespaced))
        .collect();
    found.sort();
    assert_eq!(found, [("NodeMetrics".to_string(), false), ("PodMetrics".to_string(), true)]);

    // Every running pod of the shop: front 2, carts 3, db 1, queue 2, agent 3.
    let pods: Api<DynamicObject> = Api::namespaced_with(c.clone(), "shop", &metrics_api("PodMetrics", "pods"));
    let all = pods.list(&ListParams::default()).await.unwrap();
    assert_eq!(all.items.len(), 11);
    let carts = pods.list(&ListParams::default().labels("app=carts")).await.unwrap();
    assert_eq!(carts.items.len(), 3);
    let text = c
        .request_text(get("/apis/metrics.k8s.io/v1beta1/namespaces/shop/pods?labelSelector=app%3Dcarts"))
        .await
        .unwrap();
    let list: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(list["kind"], "PodMetricsList");
    assert!(list["metadata"]["resourceVersion"].is_string());
    let m = &list["items"][0];
    assert_eq!((m["kind"].as_str(), m["apiVersion"].as_str()), (Some("PodMetrics"), Some("metrics.k8s.io/v1beta1")));
    assert_eq!(m["metadata"]["labels"]["app"], "carts");
    assert_eq!(m["metadata"]["namespace"], "shop");
    assert_eq!(m["window"], "15s");
    assert!(chrono::DateTime::parse_from_rfc3339(m["timestamp"].as_str().unwrap()).is_ok());
    assert_eq!(m["containers"][0]["name"], "carts");
    assert_eq!(m["containers"][0]["usage"], json!({"cpu": "5000000n", "memory": "20480Ki"}));
    let target = m["metadata"]["name"].as_str().unwrap().to_string();
    let everywhere = c.request_text(get("/apis/metrics.k8s.io/v1beta1/pods")).await.unwrap();
    assert_eq!(serde_json::from_str::<Value>(&everywhere).unwrap()["items"].as_array().unwrap().len(), 11);
    let (code, _, message) = refused(&c, get("/apis/metrics.k8s.io/v1beta1/namespaces/shop/pods/nope")).await;
    assert_eq!((code, message.as_str()), (404, "podmetrics.metrics.k8s.io \"shop/nope\" not found"));

    let nodes: Api<DynamicObject> = Api::all_with(c.clone(), &metrics_api("NodeMetrics", "nodes"));
    let n = nodes.list(&ListParams::default()).await.unwrap();
    assert_eq!(n.items.len(), 3);
    assert!(n.items.iter().all(|n| n.data["usage"]["cpu"].as_str().is_some_and(|c| c.ends_with('n'))));
    let n1 = nodes.get("n1").await.unwrap();
    assert_eq!(n1.metadata.labels.unwrap()["kubernetes.io/hostname"], "n1");

    // A StressChaos on one carts pod: its CPU rises by workers × load, then memory by size.
    let stress = chaos_api(&c, "StressChaos", "stresschaos");
    let obj: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "chaos-mesh.org/v1alpha1", "kind": "StressChaos",
        "metadata": {"name": "carts-cpu", "namespace": "shop"},
        "spec": {"mode": "all", "selector": {"pods": {"shop": [target]}}, "duration": "10m",
            "stressors": {"cpu": {"workers": 2, "load": 50}}}}))
    .unwrap();
    stress.create(&PostParams::default(), &obj).await.unwrap();
    let (cpu, _) = wait_usage(&c, &target, "CPU under stress", |(cpu, _)| cpu > 500.0).await;
    assert_eq!(cpu, 1005.0, "5m + 2 workers at 50%");
    let others: Vec<f64> = pods
        .list(&ListParams::default().labels("app=carts"))
        .await
        .unwrap()
        .items
        .iter()
        .filter(|p| p.metadata.name.as_deref() != Some(target.as_str()))
        .map(|p| usage(&serde_json::to_value(p).unwrap()).0)
        .collect();
    assert_eq!(others, [5.0, 5.0], "only the selected pod is stressed");
    let obj: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "chaos-mesh.org/v1alpha1", "kind": "StressChaos",
        "metadata": {"name": "carts-memory", "namespace": "shop"},
        "spec": {"mode": "all", "selector": {"pods": {"shop": [target]}}, "duration": "10m",
            "stressors": {"memory": {"workers": 1, "size": "256MB"}}}}))
    .unwrap();
    stress.create(&PostParams::default(), &obj).await.unwrap();
    let (_, mem) = wait_usage(&c, &target, "memory under stress", |(_, mem)| mem > 100.0 * 1048576.0).await;
    assert_eq!(mem, 276.0 * 1048576.0, "20Mi + 256MB");
    // Deleted, each recovers (through Chaos Mesh's finalizer) and the usage falls back.
    stress.delete("carts-cpu", &DeleteParams::default()).await.unwrap();
    stress.delete("carts-memory", &DeleteParams::default()).await.unwrap();
    wait_usage(&c, &target, "usage after the stress", |u| u == (5.0, 20.0 * 1048576.0)).await;

    // A test's own figure wins.
    server.set_usage("shop", &target, 1500, 3 << 30);
    assert_eq!(usage(&pod_metrics(&c, "shop", &target).await), (1500.0, 3.0 * 1073741824.0));
    server.clear_usage("shop", &target);

    // RBAC for metrics.k8s.io is its own (pods.metrics.k8s.io, not pods).
    server.forbid("pods.metrics.k8s.io", "list");
    let (code, _, message) = refused(&c, get("/apis/metrics.k8s.io/v1beta1/namespaces/shop/pods")).await;
    assert_eq!(code, 403);
    assert!(message.contains("cannot list resource \"pods\" in API group \"metrics.k8s.io\""), "{message}");
    assert!(Api::<k8s_openapi::api::core::v1::Pod>::namespaced(c.clone(), "shop")
        .list(&ListParams::default())
        .await
        .is_ok());

    // Without metrics-server there is no such API.
    server.metrics_server(false);
    assert!(kube::discovery::group(&c, "metrics.k8s.io").await.is_err());
    let (code, ..) = refused(&c, get("/apis/metrics.k8s.io/v1beta1/nodes")).await;
    assert_eq!(code, 404);
}

/// A cluster with a shop under a mesh, and its Prometheus (`monitoring/prometheus-k8s:web`)
/// scraping the mesh every second.
struct Signals {
    server: ApiServer,
    c: Client,
    mesh: Mesh,
    prom: Prometheus,
}

async fn signals() -> Signals {
    let server = ApiServer::start().await;
    server.install_chaos_mesh();
    server.seed_shop("shop", true);
    server.wait_shop_ready("shop").await;
    let mesh = Mesh::start(&server, "shop").await;
    let prom = Prometheus::start(&[("mesh", mesh.addr())]);
    prom.wait_ready(Duration::from_secs(10)).await;
    server.seed_prometheus_service("monitoring", "prometheus-k8s", "web", 9090);
    server.proxy_service("monitoring", "prometheus-k8s", "web", &prom.addr().to_string());
    let c = client(&server).await;
    Signals { server, c, mesh, prom }
}

/// An instant query through the API server's service proxy, as the product reads Prometheus.
async fn promql(c: &Client, query: &str) -> Result<Vec<Value>, String> {
    let url = reqwest::Url::parse_with_params("http://x/", &[("query", query)]).unwrap();
    let path = format!(
        "/api/v1/namespaces/monitoring/services/prometheus-k8s:web/proxy/api/v1/query?{}",
        url.query().unwrap()
    );
    let text = c.request_text(get(&path)).await.map_err(|e| e.to_string())?;
    let body: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    if body["status"] != "success" {
        return Err(text);
    }
    Ok(body["data"]["result"].as_array().cloned().unwrap_or_default())
}

/// The single value of a query once `f` holds of it (polled every 500 ms; no series or an
/// error is waited out); panics after `secs`, with the last answer.
async fn wait_value(c: &Client, query: &str, secs: u64, what: &str, f: impl Fn(f64) -> bool) -> (f64, Duration) {
    let start = Instant::now();
    let mut last = String::new();
    while start.elapsed() < Duration::from_secs(secs) {
        match promql(c, query).await.map(|r| r.first().map(value)) {
            Ok(Some(v)) if f(v) => return (v, start.elapsed()),
            other => last = format!("{other:?}"),
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    panic!("{what}: not within {secs} s (last {last}) of {query}");
}

const P95_CARTS: &str = "histogram_quantile(0.95, sum by (le)(rate(istio_request_duration_milliseconds_bucket{destination_workload=\"carts\"}[15s])))";

fn success(workload: &str) -> String {
    format!(
        "sum(rate(istio_requests_total{{reporter=\"destination\",destination_workload=\"{workload}\",response_code!~\"5..\"}}[15s])) \
         / sum(rate(istio_requests_total{{reporter=\"destination\",destination_workload=\"{workload}\"}}[15s]))"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Debian's prometheus package (.ci/run installs it)"]
async fn the_proxy_reaches_a_real_prometheus_that_scrapes_the_mesh() {
    let s = signals().await;
    let t = Instant::now();
    // Straight from Prometheus first: the mesh's series are scraped.
    let up = s.prom.wait_for_series("up{job=\"mesh\"} == 1", Duration::from_secs(30)).await;
    assert_eq!(up[0]["metric"]["instance"], s.mesh.addr().to_string());
    println!("the mesh is up in Prometheus after {:.1} s", t.elapsed().as_secs_f64());
    let rps = "sum by (destination_workload, destination_workload_namespace)(rate(istio_requests_total{reporter=\"destination\"}[15s]))";
    let deadline = Instant::now() + Duration::from_secs(30);
    let rates = loop {
        let r = promql(&s.c, rps).await.unwrap();
        if r.len() == 3 || Instant::now() > deadline {
            break r;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    println!("first rates through the proxy after {:.1} s", t.elapsed().as_secs_f64());
    let mut workloads: Vec<&str> =
        rates.iter().map(|r| r["metric"]["destination_workload"].as_str().unwrap()).collect();
    workloads.sort();
    assert_eq!(workloads, ["carts", "db", "front"]);
    assert!(rates.iter().all(|r| r["metric"]["destination_workload_namespace"] == "shop"));
    // 20 requests a second each, as the mesh counts them and as Prometheus does (once samples
    // fill most of the 15 s window `rate` looks at).
    let n = s.mesh.answered("carts", 200);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let counted = (s.mesh.answered("carts", 200) - n) as f64 / 3.0;
    assert!((18.0..=22.0).contains(&counted), "the mesh answered carts {counted} times a second");
    let carts = "sum(rate(istio_requests_total{destination_workload=\"carts\"}[15s]))";
    let (rate, _) = wait_value(&s.c, carts, 20, "carts' rps", |v| v > 17.0).await;
    assert!(rate < 23.0, "{rate}");
    println!(
        "carts at {counted:.1} requests a second, {rate:.1} in Prometheus after {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let (p95, _) = wait_value(&s.c, P95_CARTS, 10, "a p95 of carts", f64::is_finite).await;
    assert!((5.0..=100.0).contains(&p95), "carts answers in 5-25 ms (later on a busy host): p95 {p95}");
    let (ok, _) = wait_value(&s.c, &success("front"), 10, "front's success", f64::is_finite).await;
    assert_eq!(ok, 1.0);
    assert!(s.server.requests().iter().any(|r| r.contains("/services/prometheus-k8s:web/proxy/api/v1/query")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Debian's prometheus package (.ci/run installs it)"]
async fn the_p95_latency_of_carts_follows_a_network_chaos_delay() {
    let s = signals().await;
    let (before, _) = wait_value(&s.c, P95_CARTS, 30, "a p95 of carts", f64::is_finite).await;
    assert!(before < 100.0, "{before}");
    let carts: Vec<String> = s
        .server
        .list("pods", Some("shop"))
        .iter()
        .filter(|p| p["metadata"]["labels"]["app"] == "carts")
        .map(|p| p["metadata"]["name"].as_str().unwrap().to_string())
        .collect();
    let chaos = chaos_api(&s.c, "NetworkChaos", "networkchaos");
    let obj: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "chaos-mesh.org/v1alpha1", "kind": "NetworkChaos",
        "metadata": {"name": "carts-latency", "namespace": "shop"},
        "spec": {"action": "delay", "mode": "all", "selector": {"pods": {"shop": carts}},
            "delay": {"latency": "400ms", "jitter": "0ms"}, "duration": "10m"}}))
    .unwrap();
    chaos.create(&PostParams::default(), &obj).await.unwrap();
    let (during, rose) = wait_value(&s.c, P95_CARTS, 20, "carts' p95 above 300 ms", |v| v > 300.0).await;
    println!("p95 {before:.0} ms -> {during:.0} ms within {:.1} s of the delay", rose.as_secs_f64());
    let (front, _) = wait_value(&s.c, &P95_CARTS.replace("carts", "front"), 5, "front's p95", f64::is_finite).await;
    assert!(front < 100.0, "front is not delayed: {front}");
    chaos.delete("carts-latency", &DeleteParams::default()).await.unwrap();
    let (after, fell) = wait_value(&s.c, P95_CARTS, 30, "carts' p95 back under 100 ms", |v| v < 100.0).await;
    println!("p95 back to {after:.0} ms within {:.1} s of the delete", fell.as_secs_f64());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Debian's prometheus package (.ci/run installs it)"]
async fn the_success_rate_of_carts_drops_when_it_is_scaled_to_zero() {
    let s = signals().await;
    let (before, _) = wait_value(&s.c, &success("carts"), 30, "carts' success rate", f64::is_finite).await;
    assert_eq!(before, 1.0);
    let deployments: Api<Deployment> = Api::namespaced(s.c.clone(), "shop");
    deployments.patch("carts", &PatchParams::default(), &Patch::Merge(json!({"spec": {"replicas": 0}}))).await.unwrap();
    let (after, fell) = wait_value(&s.c, &success("carts"), 30, "carts' success rate near 0", |v| v < 0.05).await;
    println!("carts' success {before} -> {after:.3} within {:.1} s of the scale to 0", fell.as_secs_f64());
    let (front, _) = wait_value(&s.c, &success("front"), 5, "front's success", f64::is_finite).await;
    assert_eq!(front, 1.0, "front still answers");
    let flags = promql(
        &s.c,
        "sum by (response_flags)(istio_requests_total{destination_workload=\"carts\",response_code=\"503\"})",
    )
    .await
    .unwrap();
    assert_eq!(flags[0]["metric"]["response_flags"], "UH", "no healthy upstream");
    assert!(s.mesh.answered("carts", 503) > 0 && s.mesh.answered("front", 503) == 0);
}
