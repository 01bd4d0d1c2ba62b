//! Bad signal sources, as gameday's Prometheus reader meets them: a Prometheus on loopback that
//! answers as the real one does (its HTTP API's shapes), then turns slow, errs, answers NaN,
//! loses a family, or is not there at all; and, through the test API server, a service proxy
//! that this account may not use (403). Each is said as the source's state (`Down` with why),
//! the family's loss as `gone`; the reader never stops for one.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use gameday::backend::signals::{self, Auth, Prometheus, PrometheusConfig};
use gameday::model::{SignalBatch, SignalKey, SourceKind, SourceState, TopologyDelta};
use serde_json::json;
use tokio::sync::mpsc::UnboundedReceiver;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Mode {
    /// carts at 10 requests a second, 1 failing, all under 50 ms.
    Serving,
    /// The query answers no series at all (Istio's exporter is gone).
    NoSeries,
    /// Every value NaN.
    NaN,
    /// 422 with Prometheus' error body.
    BadData,
    /// 503 with a plain body, as a proxy in front of it would.
    Unavailable,
    /// Answers after 6 s (past the reader's 5 s limit).
    Slow,
}

type Shared = Arc<Mutex<Mode>>;

fn vector(result: serde_json::Value) -> axum::response::Response {
    axum::Json(json!({"status": "success", "data": {"resultType": "vector", "result": result}})).into_response()
}

async fn answer(
    State(mode): State<Shared>,
    uri: axum::http::Uri,
    Query(q): Query<Vec<(String, String)>>,
) -> axum::response::Response {
    let m = *mode.lock().unwrap();
    match m {
        Mode::Slow => tokio::time::sleep(Duration::from_secs(6)).await,
        Mode::BadData => {
            let body =
                json!({"status": "error", "errorType": "bad_data", "error": "1:1: parse error: unexpected <EOF>"});
            return (StatusCode::UNPROCESSABLE_ENTITY, axum::Json(body)).into_response();
        }
        Mode::Unavailable => return (StatusCode::SERVICE_UNAVAILABLE, "upstream connect error\n").into_response(),
        _ => {}
    }
    match uri.path() {
        "/api/v1/status/config" => {
            axum::Json(json!({"status": "success", "data": {"yaml": "global:\n  scrape_interval: 1s\n"}}))
                .into_response()
        }
        "/api/v1/label/__name__/values" => axum::Json(json!({"status": "success",
            "data": ["istio_requests_total", "istio_request_duration_milliseconds_bucket"]}))
        .into_response(),
        "/api/v1/query" => {
            let query = q.iter().find(|(k, _)| k == "query").map(|(_, v)| v.as_str()).unwrap_or_default();
            if !query.contains("istio_requests_total") || m == Mode::NoSeries {
                return vector(json!([]));
            }
            let value = |v: &str| json!([1_700_000_000.0, v]);
            let labels = |signal: &str, le: Option<&str>| {
                let mut l = json!({"gameday_signal": signal, "destination_workload": "carts",
                    "destination_workload_namespace": "shop", "reporter": "source"});
                if let Some(le) = le {
                    l["le"] = json!(le);
                }
                l
            };
            let v = |x: &str| if m == Mode::NaN { value("NaN") } else { value(x) };
            vector(json!([
                {"metric": labels("all", None), "value": v("10")},
                {"metric": labels("failed", None), "value": v("1")},
                {"metric": labels("le", Some("50")), "value": v("10")},
                {"metric": labels("le", Some("+Inf")), "value": v("10")},
            ]))
        }
        _ => (StatusCode::NOT_FOUND, "404 page not found\n").into_response(),
    }
}

async fn fake_prometheus(mode: Shared) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new().fallback(answer).with_state(mode);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

/// The next delta satisfying `f` within `secs`.
async fn next(
    rx: &mut UnboundedReceiver<TopologyDelta>,
    secs: u64,
    what: &str,
    f: impl Fn(&TopologyDelta) -> bool,
) -> TopologyDelta {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(d)) if f(&d) => return d,
            Ok(Some(_)) => {}
            Ok(None) => panic!("the reader stopped while waiting for {what}"),
            Err(_) => panic!("no {what} within {secs} s"),
        }
    }
}

fn down(d: &TopologyDelta) -> Option<&str> {
    match d {
        TopologyDelta::Source { kind: SourceKind::Requests, state: SourceState::Down { why }, .. } => Some(why),
        _ => None,
    }
}

fn batch(d: &TopologyDelta) -> Option<&SignalBatch> {
    match d {
        TopologyDelta::Signals(b) => Some(b),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prometheus_that_turns_slow_errs_answers_nan_or_loses_a_family_is_said_so_and_read_again() {
    let mode: Shared = Arc::new(Mutex::new(Mode::Serving));
    let url = fake_prometheus(mode.clone()).await;
    let prom = Prometheus::direct(&PrometheusConfig { url: url.clone(), auth: Auth::None }).unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(signals::read(prom, tx));
    let set = |m: Mode| *mode.lock().unwrap() = m;

    let up = next(&mut rx, 10, "the source up", |d| {
        matches!(d, TopologyDelta::Source { state: SourceState::Up { .. }, .. })
    })
    .await;
    assert!(
        matches!(&up, TopologyDelta::Source { name, state: SourceState::Up { families }, .. }
        if name == &format!("Prometheus at {url}") && families == &["Istio".to_string()]),
        "{up:?}"
    );
    let d = next(&mut rx, 10, "a batch", |d| batch(d).is_some_and(|b| !b.rates.is_empty())).await;
    let b = batch(&d).unwrap();
    assert_eq!(b.window_ms, 15_000, "four 1 s scrapes, at least 15 s");
    assert_eq!(b.rates[0].key, SignalKey::Workload { namespace: "shop".into(), name: "carts".into() });
    assert_eq!((b.rates[0].rps, b.rates[0].errors_rps), (10.0, 1.0));

    // The family is gone: said as gone once, then read as absent.
    set(Mode::NoSeries);
    let d = next(&mut rx, 10, "Istio gone", |d| batch(d).is_some_and(|b| !b.gone.is_empty())).await;
    assert_eq!(batch(&d).unwrap().gone, ["Istio"]);
    let d = next(&mut rx, 10, "the next batch", |d| batch(d).is_some()).await;
    assert!(batch(&d).unwrap().gone.is_empty(), "said once: {d:?}");
    set(Mode::Serving);
    next(&mut rx, 10, "Istio back", |d| batch(d).is_some_and(|b| !b.rates.is_empty())).await;

    // NaN everywhere: no rates made of it, and the family is as good as gone.
    set(Mode::NaN);
    let d = next(&mut rx, 10, "a NaN answer", |d| batch(d).is_some_and(|b| !b.gone.is_empty())).await;
    assert!(batch(&d).unwrap().rates.is_empty(), "{d:?}");
    set(Mode::Serving);
    next(&mut rx, 10, "numbers again", |d| batch(d).is_some_and(|b| !b.rates.is_empty())).await;

    // Its own error, in its words.
    set(Mode::BadData);
    let d = next(&mut rx, 10, "the source down", |d| down(d).is_some()).await;
    assert!(down(&d).unwrap().contains("parse error: unexpected <EOF>"), "{d:?}");
    set(Mode::Unavailable);
    let d = next(&mut rx, 10, "503", |d| down(d).is_some_and(|w| w.contains("503"))).await;
    assert!(down(&d).unwrap().contains("upstream connect error"), "{d:?}");
    set(Mode::Serving);
    next(&mut rx, 10, "up again", |d| matches!(d, TopologyDelta::Source { state: SourceState::Up { .. }, .. })).await;
    next(&mut rx, 10, "numbers again", |d| batch(d).is_some_and(|b| !b.rates.is_empty())).await;

    // Slow: given up on at the call's limit, not waited for.
    set(Mode::Slow);
    let t0 = Instant::now();
    let d = next(&mut rx, 15, "a timeout", |d| down(d).is_some()).await;
    assert_eq!(down(&d), Some("no answer within 5 s"));
    assert!(t0.elapsed() < Duration::from_secs(9), "{:?}", t0.elapsed());
    set(Mode::Serving);
    next(&mut rx, 20, "numbers after the slow spell", |d| batch(d).is_some_and(|b| !b.rates.is_empty())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prometheus_that_is_not_there_is_said_unreachable() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let prom =
        Prometheus::direct(&PrometheusConfig { url: format!("http://127.0.0.1:{port}"), auth: Auth::None }).unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(signals::read(prom, tx));
    let d = next(&mut rx, 10, "the source down", |d| down(d).is_some()).await;
    assert!(down(&d).unwrap().starts_with("unreachable: ") && down(&d).unwrap().contains("refused"), "{d:?}");
    // A URL that is no URL is refused before anything is sent.
    let bad = Prometheus::direct(&PrometheusConfig { url: "prometheus:9090".into(), auth: Auth::None }).err().unwrap();
    assert!(bad.contains("prometheus:9090"), "{bad}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_proxy_this_account_may_not_use_is_said_with_what_grants_it() {
    let (server, dir) = common::laptops::cluster(&[("shop", true)], false).await;
    let mode: Shared = Arc::new(Mutex::new(Mode::Serving));
    let url = fake_prometheus(mode).await;
    server.seed_prometheus_service("monitoring", "prometheus-k8s", "web", 9090);
    server.proxy_service("monitoring", "prometheus-k8s", "web", url.trim_start_matches("http://"));
    server.forbid("services/proxy", "get");
    let b = gameday::backend::kube::KubeBackend::connect(&gameday::backend::kube::KubeOptions {
        kubeconfig: Some(dir.path().join("kubeconfig")),
        namespace: Some("shop".into()),
        ..Default::default()
    })
    .await
    .unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    use gameday::backend::Backend;
    b.watch(tx);
    let d = next(&mut rx, 20, "the proxy refused", |d| down(d).is_some()).await;
    let why = down(&d).unwrap();
    assert!(
        why.contains("forbidden (403)") && why.contains("services/proxy") && why.contains("deploy/rbac.yaml"),
        "{why}"
    );
}
