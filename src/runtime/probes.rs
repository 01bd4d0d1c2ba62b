//! The probe engine: one tokio task per probe that reaches out (HTTP GET, TCP connect, PromQL
//! instant query, HTTP GET on a Service through the backend), each reporting `Event::Probe` at its interval through the one event channel.
//! Probes derived from the backend are read by the core and never come here.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use tokio::sync::mpsc::UnboundedSender;

use crate::app::Event;
use crate::backend::Backend;
use crate::model::probe::{Outcome, ProbeKind, ProbeSpec};

/// One HTTP client (one connection pool) for every probe.
fn client() -> Result<&'static reqwest::Client, String> {
    static CLIENT: OnceLock<Result<reqwest::Client, String>> = OnceLock::new();
    CLIENT
        .get_or_init(|| {
            reqwest::Client::builder()
                .user_agent(concat!("gameday/", env!("CARGO_PKG_VERSION"), " probe"))
                .build()
                .map_err(|e| format!("no HTTP client: {e}"))
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// Runs `spec` every interval until the console goes away (or the task is aborted); a probe that
/// reaches in through the system (`service-http`) asks `backend`.
pub fn spawn(
    spec: ProbeSpec,
    backend: Option<Arc<dyn Backend>>,
    tx: UnboundedSender<Event>,
) -> tokio::task::AbortHandle {
    let task = tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(spec.interval_ms.max(100)));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let outcome = run_with(&spec, backend.as_deref()).await;
            if tx.send(Event::Probe(outcome)).is_err() {
                break;
            }
        }
    });
    task.abort_handle()
}

/// The innermost cause: "Connection refused (os error 111)" rather than "error sending request".
fn cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut inner = e;
    while let Some(next) = inner.source() {
        inner = next;
    }
    inner.to_string()
}

fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1000.0
}

/// One check of one probe that needs no backend.
pub async fn run_once(spec: &ProbeSpec) -> Outcome {
    run_with(spec, None).await
}

/// One check of one probe, asking `backend` when it reaches in through the system.
pub async fn run_with(spec: &ProbeSpec, backend: Option<&dyn Backend>) -> Outcome {
    let name = spec.name.as_str();
    let timeout = Duration::from_millis(spec.timeout_ms);
    let t0 = Instant::now();
    match &spec.kind {
        ProbeKind::Http { url, expect_status } => {
            let client = match client() {
                Ok(c) => c,
                Err(e) => return Outcome::unknown(name, e),
            };
            match client.get(url).timeout(timeout).send().await {
                Ok(resp) => {
                    let status = resp.status();
                    let latency = ms(t0);
                    let ok = status.as_u16() == *expect_status;
                    let detail = if ok {
                        format!("{} in {latency:.0} ms", status.as_u16())
                    } else {
                        format!("{status} in {latency:.0} ms, wanted {expect_status}")
                    };
                    answered(name, ok, latency, None, detail)
                }
                Err(e) if e.is_timeout() && !e.is_connect() => {
                    answered(name, false, ms(t0), None, format!("no answer within {} ms", spec.timeout_ms))
                }
                Err(e) => unanswered(name, cause(&e)),
            }
        }
        ProbeKind::Tcp { addr } => match tokio::time::timeout(timeout, tokio::net::TcpStream::connect(addr)).await {
            Ok(Ok(_)) => {
                let latency = ms(t0);
                answered(name, true, latency, None, format!("connected in {latency:.0} ms"))
            }
            Ok(Err(e)) => unanswered(name, e.to_string()),
            Err(_) => unanswered(name, format!("no connection within {} ms", spec.timeout_ms)),
        },
        ProbeKind::Promql { prometheus, query } => {
            let client = match client() {
                Ok(c) => c,
                Err(e) => return Outcome::unknown(name, e),
            };
            let url = format!("{}/api/v1/query", prometheus.trim_end_matches('/'));
            let resp = client.get(&url).query(&[("query", query)]).timeout(timeout).send().await;
            let body: serde_json::Value = match resp {
                Ok(r) => match r.json().await {
                    Ok(b) => b,
                    Err(e) => return unanswered(name, format!("Prometheus answered something else: {}", cause(&e))),
                },
                Err(e) => return unanswered(name, cause(&e)),
            };
            let latency = ms(t0);
            if body["status"] != "success" {
                let why = body["error"].as_str().unwrap_or("the query failed");
                return Outcome { reached: true, ..Outcome::unknown(name, format!("Prometheus: {why}")) };
            }
            let data = &body["data"];
            let value = match data["resultType"].as_str() {
                Some("vector") => data["result"][0]["value"][1].as_str(),
                Some("scalar") => data["result"][1].as_str(),
                _ => None,
            };
            match value.and_then(|v| v.parse::<f64>().ok()) {
                Some(v) => answered(name, true, latency, Some(v), format!("{query} = {v}")),
                None => Outcome { reached: true, ..Outcome::unknown(name, format!("{query} returned no series")) },
            }
        }
        ProbeKind::ServiceHttp { service, port, path, expect_status } => {
            let Some(backend) = backend else {
                return Outcome::unknown(name, "a service-http probe needs the console's backend");
            };
            match backend.service_get(service, port, path, timeout).await {
                Ok(status) => {
                    let latency = ms(t0);
                    let ok = status == *expect_status;
                    let detail = if ok {
                        format!("{status} in {latency:.0} ms")
                    } else {
                        format!("{status} in {latency:.0} ms, wanted {expect_status}")
                    };
                    answered(name, ok, latency, None, detail)
                }
                Err(why) => unanswered(name, why),
            }
        }
        ProbeKind::Service { .. } | ProbeKind::Ready { .. } => Outcome::unknown(name, "read from the backend"),
    }
}

fn answered(name: &str, ok: bool, latency: f64, value: Option<f64>, detail: String) -> Outcome {
    Outcome {
        probe: name.into(),
        ok: Some(ok),
        success: Some(if ok { 1.0 } else { 0.0 }),
        latency_ms: Some(latency),
        value,
        detail,
        reached: true,
        ..Default::default()
    }
}

/// Nothing answered: a failure once the probe has worked, unknown until then (the core decides).
fn unanswered(name: &str, detail: String) -> Outcome {
    Outcome {
        probe: name.into(),
        ok: Some(false),
        success: Some(0.0),
        latency_ms: None,
        value: None,
        detail,
        reached: false,
        ..Default::default()
    }
}
