//! Golden signals and resources on Kubernetes: the cluster's own Prometheus, found by itself
//! and reached through the API server's service proxy (or the one `--prometheus` names), and
//! CPU and memory from metrics.k8s.io (metrics-server), what `kubectl top` reads.

use std::time::Duration;

use k8s_openapi::api::core::v1::Service;
use kube::api::{Api, ListParams};
use kube::Client;
use serde_json::Value;
use tokio::sync::mpsc::UnboundedSender;

use super::watch::Scope;
use crate::backend::signals::{self, Prometheus, PrometheusConfig};
use crate::model::{PodUsage, SourceKind, SourceState, TopologyDelta};

/// How often CPU and memory are read (metrics-server itself scrapes every 15 s or so).
pub const USAGE_EVERY: Duration = Duration::from_secs(5);

/// What the console says when no Prometheus is found, once.
pub const NO_PROMETHEUS: &str = "no Prometheus found on the cluster (looked for a Service labelled \
     app.kubernetes.io/name=prometheus, or named prometheus-k8s, prometheus-server or prometheus-operated): \
     the health panel shows readiness only; --prometheus URL (or `prometheus = \"URL\"` in config.toml) names one";

/// A Prometheus Service: namespace, name, port (its name, or number).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found {
    pub namespace: String,
    pub name: String,
    pub port: String,
}

/// The names Prometheus' Services have, the likeliest first: kube-prometheus, the Prometheus
/// Helm chart, the operator's headless Service.
const NAMES: [&str; 3] = ["prometheus-k8s", "prometheus-server", "prometheus-operated"];

/// The port to reach it on: named `web` or `http`, else 9090, else its first.
fn port_of(svc: &Service) -> Option<String> {
    let ports = svc.spec.as_ref()?.ports.as_ref()?;
    let named = ports.iter().find(|p| matches!(p.name.as_deref(), Some("web" | "http")));
    let numbered = ports.iter().find(|p| p.port == 9090);
    let p = named.or(numbered).or(ports.first())?;
    Some(p.name.clone().filter(|n| !n.is_empty()).unwrap_or_else(|| p.port.to_string()))
}

/// Which found Service is likeliest the cluster's Prometheus.
fn rank(svc: &Service) -> usize {
    let name = svc.metadata.name.as_deref().unwrap_or_default();
    NAMES.iter().position(|n| *n == name).unwrap_or(NAMES.len())
}

/// Looks for the cluster's Prometheus: Services labelled `app.kubernetes.io/name=prometheus`,
/// then by the names charts give it; in every namespace (it usually lives in its own, e.g.
/// `monitoring`, even when the console watches one), else in the one watched when listing
/// every namespace is not allowed.
pub async fn find(client: &Client, scope: &Scope) -> Result<Option<Found>, String> {
    match find_in(Api::all(client.clone())).await {
        Err(why) if scope.namespace.is_some() => {
            match find_in(Api::namespaced(client.clone(), scope.namespace.as_deref().unwrap_or_default())).await {
                Ok(found) => Ok(found),
                Err(_) => Err(why),
            }
        }
        other => other,
    }
}

async fn find_in(api: Api<Service>) -> Result<Option<Found>, String> {
    let said = |e: kube::Error| super::kit::said(&e);
    let mut found: Vec<Service> =
        api.list(&ListParams::default().labels("app.kubernetes.io/name=prometheus")).await.map_err(said)?.items;
    if found.is_empty() {
        for name in NAMES {
            let by_name =
                api.list(&ListParams::default().fields(&format!("metadata.name={name}"))).await.map_err(said)?;
            found.extend(by_name.items);
        }
    }
    found.sort_by_key(rank);
    Ok(found.iter().find_map(|s| {
        Some(Found { namespace: s.metadata.namespace.clone()?, name: s.metadata.name.clone()?, port: port_of(s)? })
    }))
}

/// Reads golden signals from the named Prometheus, else the one found in the cluster; says so
/// once when there is none.
pub fn spawn(client: Client, scope: Scope, named: Option<PrometheusConfig>, tx: UnboundedSender<TopologyDelta>) {
    tokio::spawn(usage(client.clone(), scope.clone(), tx.clone()));
    tokio::spawn(async move {
        let prom = match named {
            Some(config) => match Prometheus::direct(&config) {
                Ok(p) => p,
                Err(why) => {
                    let state = SourceState::Down { why };
                    let _ = tx.send(TopologyDelta::Source { kind: SourceKind::Requests, name: config.url, state });
                    return;
                }
            },
            None => match find(&client, &scope).await {
                Ok(Some(f)) => Prometheus::proxied(client.clone(), &f.namespace, &f.name, &f.port),
                Ok(None) => {
                    let state = SourceState::Absent { hint: NO_PROMETHEUS.into() };
                    let _ =
                        tx.send(TopologyDelta::Source { kind: SourceKind::Requests, name: "Prometheus".into(), state });
                    return;
                }
                Err(why) => {
                    let state = SourceState::Absent {
                        hint: format!("the cluster's Services could not be listed to find its Prometheus: {why}"),
                    };
                    let _ =
                        tx.send(TopologyDelta::Source { kind: SourceKind::Requests, name: "Prometheus".into(), state });
                    return;
                }
            },
        };
        signals::read(prom, tx).await;
    });
}

/// "1604000n", "250m", "1.5", "100u": millicores.
pub fn cpu_m(q: &str) -> Option<f64> {
    let q = q.trim();
    let (n, per_milli) = match q.char_indices().last()? {
        (i, 'n') => (&q[..i], 1e6),
        (i, 'u') => (&q[..i], 1e3),
        (i, 'm') => (&q[..i], 1.0),
        _ => (q, 1e-3),
    };
    n.parse::<f64>().ok().map(|x| x / per_milli).filter(|x| x.is_finite())
}

/// "12345Ki", "10Mi", "1Gi", "1e6", "500M", "123": bytes.
pub fn memory_bytes(q: &str) -> Option<f64> {
    let q = q.trim();
    const UNITS: [(&str, f64); 10] = [
        ("Ki", 1024.0),
        ("Mi", 1048576.0),
        ("Gi", 1073741824.0),
        ("Ti", 1099511627776.0),
        ("k", 1e3),
        ("K", 1e3),
        ("M", 1e6),
        ("G", 1e9),
        ("T", 1e12),
        ("m", 1e-3),
    ];
    for (u, f) in UNITS {
        if let Some(n) = q.strip_suffix(u) {
            return n.parse::<f64>().ok().map(|x| x * f).filter(|x| x.is_finite());
        }
    }
    q.parse::<f64>().ok().filter(|x| x.is_finite())
}

/// A PodMetricsList, as far as it is read (typed: 50,000 pods are tens of megabytes of JSON):
/// each item becomes its pod's usage as it is parsed, its quantities read in place.
#[derive(serde::Deserialize)]
struct PodMetricsList {
    #[serde(default)]
    items: Vec<Usage>,
}

/// One item of the list, read into its pod's usage.
#[derive(serde::Deserialize)]
#[serde(from = "PodMetrics")]
struct Usage(PodUsage);

#[derive(serde::Deserialize)]
struct PodMetrics {
    metadata: Meta,
    #[serde(default)]
    containers: Vec<ContainerMetrics>,
}

#[derive(serde::Deserialize)]
struct Meta {
    name: String,
    namespace: String,
}

#[derive(serde::Deserialize)]
struct ContainerMetrics {
    #[serde(default)]
    usage: Quantities,
}

/// The quantities the console reads of a container's usage (the rest is skipped).
#[derive(Default, serde::Deserialize)]
struct Quantities {
    #[serde(default)]
    cpu: Option<String>,
    #[serde(default)]
    memory: Option<String>,
}

impl From<PodMetrics> for Usage {
    fn from(item: PodMetrics) -> Usage {
        let mut u = PodUsage { namespace: item.metadata.namespace, pod: item.metadata.name, ..Default::default() };
        for c in &item.containers {
            u.cpu_m += c.usage.cpu.as_deref().and_then(cpu_m).unwrap_or(0.0);
            u.memory_bytes += c.usage.memory.as_deref().and_then(memory_bytes).unwrap_or(0.0);
        }
        Usage(u)
    }
}

/// The pods' usage in a PodMetricsList.
fn pods(list: PodMetricsList) -> Vec<PodUsage> {
    list.items.into_iter().map(|u| u.0).collect()
}

/// Reads CPU and memory from metrics.k8s.io every `USAGE_EVERY`, until the console goes away.
async fn usage(client: Client, scope: Scope, tx: UnboundedSender<TopologyDelta>) {
    let name = "metrics.k8s.io".to_string();
    let path = match &scope.namespace {
        Some(ns) => format!("/apis/metrics.k8s.io/v1beta1/namespaces/{ns}/pods"),
        None => "/apis/metrics.k8s.io/v1beta1/pods".to_string(),
    };
    let say = |state: SourceState| {
        tx.send(TopologyDelta::Source { kind: SourceKind::Resources, name: name.clone(), state }).is_ok()
    };
    let mut tick = tokio::time::interval(USAGE_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut up = false;
    loop {
        tick.tick().await;
        let req = match http::Request::get(&path).body(Vec::new()) {
            Ok(r) => r,
            Err(_) => return,
        };
        let answer = tokio::time::timeout(signals::prometheus::CALL_LIMIT, client.request_text(req)).await;
        let state = match answer {
            Ok(Ok(text)) => match serde_json::from_str::<PodMetricsList>(&text) {
                Ok(list) => {
                    if !up {
                        up = true;
                        if !say(SourceState::Up { families: vec!["metrics-server".into()] }) {
                            return;
                        }
                    }
                    if tx.send(TopologyDelta::Usage { source: name.clone(), pods: pods(list) }).is_err() {
                        return;
                    }
                    continue;
                }
                Err(e) => SourceState::Down { why: format!("it answered something else: {e}") },
            },
            Ok(Err(kube::Error::Api(s))) if s.code == 404 => SourceState::Absent {
                hint: "metrics-server is not installed (no metrics.k8s.io): CPU and memory are not shown".into(),
            },
            Ok(Err(kube::Error::Api(s))) if s.code == 403 => SourceState::Down {
                why: "forbidden (403): this account may not list pods.metrics.k8s.io; deploy/rbac.yaml grants it"
                    .into(),
            },
            Ok(Err(e)) => SourceState::Down { why: super::kit::said(&e) },
            Err(_) => {
                SourceState::Down { why: format!("no answer within {} s", signals::prometheus::CALL_LIMIT.as_secs()) }
            }
        };
        up = false;
        if matches!(state, SourceState::Absent { .. }) {
            let _ = say(state);
            return;
        }
        if !say(state) {
            return;
        }
    }
}

/// GETs `path` on `service` (`namespace/name`) port `port` through the API server's service
/// proxy: the status the service answered with, or why it could not be asked (a refusal by the
/// API server itself, such as 403, 404 or 503 for a Service with no ready endpoint).
pub async fn service_get(
    client: &Client,
    service: &str,
    port: &str,
    path: &str,
    limit: Duration,
) -> Result<u16, String> {
    let (ns, name) = service.split_once('/').ok_or_else(|| format!("'{service}' is not namespace/name"))?;
    let uri = format!("/api/v1/namespaces/{ns}/services/{name}:{port}/proxy{path}");
    let req = http::Request::get(&uri)
        .body(kube::client::Body::from(Vec::new()))
        .map_err(|e| format!("cannot ask for {uri}: {e}"))?;
    match tokio::time::timeout(limit, client.send(req)).await {
        Err(_) => Err(format!("no answer within {} ms", limit.as_millis())),
        Ok(Err(e)) => Err(super::kit::said(&e)),
        Ok(Ok(resp)) => {
            let status = resp.status().as_u16();
            if status >= 400 {
                // The API server's own refusals (forbidden, no such Service, no ready endpoint)
                // are Status objects; what the service itself answers is not.
                let body = tokio::time::timeout(limit, resp.into_body().collect_bytes()).await;
                let refusal = body
                    .ok()
                    .and_then(Result::ok)
                    .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
                    .filter(|v| v["kind"] == "Status" && v["apiVersion"] == "v1");
                if let Some(refusal) = refusal {
                    let message = refusal["message"].as_str().unwrap_or("no reason given");
                    return Err(if matches!(status, 401 | 403) {
                        format!("the API server refused the service proxy ({status}): {message}; deploy/rbac.yaml grants get on services/proxy")
                    } else {
                        format!("the API server answered {status}: {message}")
                    });
                }
            }
            Ok(status)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_as_the_metrics_api_writes_them() {
        assert_eq!(cpu_m("1604000n"), Some(1.604));
        assert_eq!(cpu_m("250m"), Some(250.0));
        assert_eq!(cpu_m("2"), Some(2000.0));
        assert_eq!(cpu_m("100u"), Some(0.1));
        assert_eq!(memory_bytes("12345Ki"), Some(12345.0 * 1024.0));
        assert_eq!(memory_bytes("10Mi"), Some(10.0 * 1048576.0));
        assert_eq!(memory_bytes("500M"), Some(5e8));
        assert_eq!(memory_bytes("123"), Some(123.0));
        assert_eq!(memory_bytes("x"), None);
        let list = serde_json::json!({"items": [{"metadata": {"name": "carts-1", "namespace": "shop"},
            "containers": [{"name": "a", "usage": {"cpu": "250m", "memory": "10Mi"}}, {"name": "b", "usage": {"cpu": "1000000n", "memory": "1Mi"}}]}]});
        let p = pods(serde_json::from_value(list).unwrap());
        assert_eq!((p[0].pod.as_str(), p[0].cpu_m, p[0].memory_bytes), ("carts-1", 251.0, 11.0 * 1048576.0));
    }
}
