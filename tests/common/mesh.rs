//! A service mesh's telemetry, shaped by the test API server's state: a loopback HTTP server that
//! stands in for the sidecars of a namespace's workloads (`/{workload}`) and exports what Istio's
//! standard metrics would say of them on `/metrics` (`istio_requests_total` and the
//! `istio_request_duration_milliseconds` histogram with Istio's buckets, `reporter="destination"`),
//! under real load: a background task sends each workload real HTTP requests (20 a second by
//! default).
//!
//! Each request goes to one of the workload's ready pods (round robin) and is answered as the
//! cluster is at that moment: after 5-25 ms, plus the latency (and jitter) of every Chaos Mesh
//! NetworkChaos `action: delay` injected into that pod (an `Injected` record `<ns>/<pod>` in its
//! status, which the stand-in Chaos Mesh writes for the pods `spec.selector.pods` names); 503 at
//! once (`response_flags="UH"`, no healthy upstream) when the workload has no ready pod (scaled
//! to 0, every pod gone or terminating). A workload's pods are those its Deployment's (or
//! StatefulSet's) selector selects, else those labelled `app: <workload>`.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use rand::Rng;
use serde_json::Value;

use super::apiserver::store::{label_selector_matches, Store};
use super::apiserver::{ApiServer, Server};

/// Istio's default buckets for `istio_request_duration_milliseconds`.
pub const BUCKETS: [f64; 19] = [
    0.5, 1.0, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0, 5000.0, 10000.0, 30000.0, 60000.0, 300000.0,
    600000.0, 1800000.0, 3600000.0,
];

/// The counters of one (workload, response code, response flags).
#[derive(Clone, Default)]
struct Series {
    count: u64,
    sum_ms: f64,
    /// Per bucket (not cumulative), the last one +Inf.
    buckets: [u64; BUCKETS.len() + 1],
}

struct Shared {
    srv: Arc<Server>,
    ns: String,
    workloads: Vec<String>,
    series: Mutex<BTreeMap<(String, u16, &'static str), Series>>,
    turn: AtomicUsize,
}

pub struct Mesh {
    addr: SocketAddr,
    shared: Arc<Shared>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for Mesh {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl Mesh {
    /// The workloads `front`, `carts` and `db` of namespace `ns` (as `seed_shop` makes them),
    /// each under 20 requests a second.
    pub async fn start(server: &ApiServer, ns: &str) -> Mesh {
        Mesh::start_with(server, ns, &["front", "carts", "db"], 20).await
    }

    /// These workloads of `ns`, each under `rps` requests a second.
    pub async fn start_with(server: &ApiServer, ns: &str, workloads: &[&str], rps: u32) -> Mesh {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Shared {
            srv: server.srv.clone(),
            ns: ns.to_string(),
            workloads: workloads.iter().map(|w| w.to_string()).collect(),
            series: Mutex::new(BTreeMap::new()),
            turn: AtomicUsize::new(0),
        });
        let app = axum::Router::new()
            .route("/metrics", axum::routing::get(metrics))
            .route("/{workload}", axum::routing::any(request))
            .with_state(shared.clone());
        let serve = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        let names = shared.workloads.clone();
        let load = tokio::spawn(async move {
            let client = reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(30)).build().unwrap();
            let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(rps.max(1))));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            // Dropped (so aborted) with this task.
            let mut inflight = tokio::task::JoinSet::new();
            loop {
                tick.tick().await;
                while inflight.try_join_next().is_some() {}
                for w in &names {
                    let (client, url) = (client.clone(), format!("http://{addr}/{w}"));
                    inflight.spawn(async move {
                        if let Ok(r) = client.get(url).send().await {
                            let _ = r.bytes().await;
                        }
                    });
                }
            }
        });
        Mesh { addr, shared, tasks: vec![serve, load] }
    }

    /// Where it listens: what Prometheus scrapes (`/metrics`).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// How many requests to `workload` were answered with `code` so far.
    pub fn answered(&self, workload: &str, code: u16) -> u64 {
        let series = self.shared.series.lock().unwrap();
        series.iter().filter(|((w, c, _), _)| w == workload && *c == code).map(|(_, s)| s.count).sum()
    }

    /// The `/metrics` text now.
    pub fn exposition(&self) -> String {
        exposition(&self.shared)
    }
}

/// How the cluster answers a request to `workload` now: the status, and how long it takes.
fn answer(store: &Store, ns: &str, workload: &str, turn: usize) -> (u16, &'static str, Duration) {
    let mut rng = rand::thread_rng();
    let selector = ["deployments", "statefulsets"]
        .iter()
        .filter_map(|plural| store.res("apps", plural))
        .find_map(|r| store.get(&r, ns, workload))
        .and_then(|o| o["spec"]["selector"]["matchLabels"].as_object())
        .map(|m| m.iter().map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default())).collect::<Vec<_>>().join(","))
        .unwrap_or_else(|| format!("app={workload}"));
    let pods_res = store.res("", "pods").expect("pods");
    let ready: Vec<&Value> = store
        .list(&pods_res, Some(ns))
        .into_iter()
        .filter(|p| label_selector_matches(&selector, &p["metadata"]["labels"]))
        .filter(|p| p["metadata"]["deletionTimestamp"].is_null())
        .filter(|p| {
            p["status"]["conditions"]
                .as_array()
                .is_some_and(|c| c.iter().any(|c| c["type"] == "Ready" && c["status"] == "True"))
        })
        .collect();
    if ready.is_empty() {
        return (503, "UH", Duration::from_micros(rng.gen_range(300..1500)));
    }
    let pod = ready[turn % ready.len()];
    let id = format!("{ns}/{}", pod["metadata"]["name"].as_str().unwrap_or_default());
    let mut ms: f64 = rng.gen_range(5.0..25.0);
    if let Some(r) = store.res("chaos-mesh.org", "networkchaos") {
        for nc in store.list(&r, None) {
            let injected = nc["status"]["experiment"]["containerRecords"]
                .as_array()
                .is_some_and(|recs| recs.iter().any(|rec| rec["id"] == id.as_str() && rec["phase"] == "Injected"));
            if !injected || nc["spec"]["action"] != "delay" {
                continue;
            }
            let parse = |f: &str| {
                nc["spec"]["delay"][f]
                    .as_str()
                    .and_then(|s| humantime::parse_duration(s).ok())
                    .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
            };
            let jitter = parse("jitter");
            ms += parse("latency") + if jitter > 0.0 { rng.gen_range(-jitter..jitter) } else { 0.0 };
        }
    }
    (200, "-", Duration::from_secs_f64(ms.max(0.0) / 1000.0))
}

async fn request(State(m): State<Arc<Shared>>, Path(workload): Path<String>) -> Response {
    if !m.workloads.contains(&workload) {
        return (StatusCode::NOT_FOUND, "no such workload\n").into_response();
    }
    let started = Instant::now();
    let turn = m.turn.fetch_add(1, Ordering::Relaxed);
    let (code, flags, took) = {
        let store = m.srv.store.lock().unwrap();
        answer(&store, &m.ns, &workload, turn)
    };
    tokio::time::sleep(took).await;
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    {
        let mut series = m.series.lock().unwrap();
        let s = series.entry((workload, code, flags)).or_default();
        s.count += 1;
        s.sum_ms += ms;
        s.buckets[BUCKETS.iter().position(|le| ms <= *le).unwrap_or(BUCKETS.len())] += 1;
    }
    let body = if code == 200 { "ok\n" } else { "no healthy upstream\n" };
    (StatusCode::from_u16(code).unwrap_or(StatusCode::OK), body).into_response()
}

fn exposition(m: &Shared) -> String {
    let series = m.series.lock().unwrap().clone();
    let ns = &m.ns;
    let labels = |w: &str, code: u16, flags: &str| {
        format!(
            "reporter=\"destination\",source_workload=\"loadgenerator\",source_workload_namespace=\"{ns}\",\
             destination_workload=\"{w}\",destination_workload_namespace=\"{ns}\",destination_app=\"{w}\",\
             destination_service=\"{w}.{ns}.svc.cluster.local\",destination_service_name=\"{w}\",\
             destination_service_namespace=\"{ns}\",request_protocol=\"http\",response_code=\"{code}\",\
             response_flags=\"{flags}\",connection_security_policy=\"mutual_tls\""
        )
    };
    let mut out = String::new();
    out.push_str("# HELP istio_requests_total Total requests.\n# TYPE istio_requests_total counter\n");
    for ((w, code, flags), s) in &series {
        let _ = writeln!(out, "istio_requests_total{{{}}} {}", labels(w, *code, flags), s.count);
    }
    out.push_str(
        "# HELP istio_request_duration_milliseconds Request duration in milliseconds.\n\
         # TYPE istio_request_duration_milliseconds histogram\n",
    );
    for ((w, code, flags), s) in &series {
        let l = labels(w, *code, flags);
        let mut cumulative = 0;
        for (i, n) in s.buckets.iter().enumerate() {
            cumulative += n;
            let le = BUCKETS.get(i).map_or("+Inf".to_string(), |b| b.to_string());
            let _ = writeln!(out, "istio_request_duration_milliseconds_bucket{{{l},le=\"{le}\"}} {cumulative}");
        }
        let _ = writeln!(out, "istio_request_duration_milliseconds_sum{{{l}}} {}", s.sum_ms);
        let _ = writeln!(out, "istio_request_duration_milliseconds_count{{{l}}} {}", s.count);
    }
    out
}

async fn metrics(State(m): State<Arc<Shared>>) -> Response {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], exposition(&m)).into_response()
}
