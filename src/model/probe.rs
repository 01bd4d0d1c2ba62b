//! Probes: what is checked about steady state (HTTP, TCP, PromQL, or derived from the backend),
//! the checks made over their readings, and the session file that declares them.

use serde::{Deserialize, Serialize};

/// An http(s) URL a probe can reach: its scheme, a host and a port that exists; else what is
/// wrong with it.
pub fn check_url(url: &str) -> Result<(), String> {
    let u = reqwest::Url::parse(url).map_err(|e| format!("is not a URL: {e}"))?;
    if !matches!(u.scheme(), "http" | "https") {
        return Err("is not an http(s):// URL".into());
    }
    if u.host_str().is_none_or(str::is_empty) {
        return Err("has no host".into());
    }
    Ok(())
}

/// `sock-shop/front-end:80/health`: the Service (`namespace/name`), its port (a name or a
/// number) and the path (`/` when none); else what is wrong with it.
pub fn parse_service_http(s: &str) -> Result<(String, String, String), String> {
    let usage = || format!("'{s}' is not namespace/service:port/path, e.g. sock-shop/front-end:80/health");
    let (ns, rest) = s.split_once('/').filter(|(ns, _)| !ns.is_empty()).ok_or_else(usage)?;
    let (service_port, path) = match rest.split_once('/') {
        Some((sp, path)) => (sp, format!("/{path}")),
        None => (rest, "/".to_string()),
    };
    let (service, port) =
        service_port.split_once(':').filter(|(s, p)| !s.is_empty() && !p.is_empty()).ok_or_else(usage)?;
    let word = |w: &str| w.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
    if !word(ns) || !word(service) || !word(port) || path.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(usage());
    }
    Ok((format!("{ns}/{service}"), port.to_string(), path))
}

/// What a probe looks at.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProbeKind {
    /// GET `url`; ok when the status is `expect_status` within the timeout.
    Http { url: String, expect_status: u16 },
    /// Connect to `addr` (host:port).
    Tcp { addr: String },
    /// GET `path` on a Service inside the cluster (a ClusterIP a laptop cannot reach), through
    /// the Kubernetes API server's service proxy; ok when the status is `expect_status`.
    ServiceHttp { service: String, port: String, path: String, expect_status: u16 },
    /// An instant query against a Prometheus HTTP API; the reading is its (first) value.
    Promql { prometheus: String, query: String },
    /// The backend's traffic samples of a service (`ns/name`): success and p95 each second.
    Service { service: String },
    /// The ready replicas of a workload (`ns/name`), from the topology.
    Ready { workload: String },
}

impl ProbeKind {
    /// Probes the runtime runs (I/O); the others are read from the backend's picture.
    pub fn runs_io(&self) -> bool {
        matches!(
            self,
            ProbeKind::Http { .. } | ProbeKind::Tcp { .. } | ProbeKind::Promql { .. } | ProbeKind::ServiceHttp { .. }
        )
    }

    pub fn describe(&self) -> String {
        match self {
            ProbeKind::Http { url, expect_status } => format!("GET {url} expects {expect_status}"),
            ProbeKind::Tcp { addr } => format!("TCP connect {addr}"),
            ProbeKind::ServiceHttp { service, port, path, expect_status } => {
                format!("GET {path} on service {service}:{port} (through the API server) expects {expect_status}")
            }
            ProbeKind::Promql { query, .. } => format!("PromQL {query}"),
            ProbeKind::Service { service } => format!("traffic of {service}"),
            ProbeKind::Ready { workload } => format!("ready replicas of {workload}"),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProbeSpec {
    pub name: String,
    pub kind: ProbeKind,
    pub interval_ms: u64,
    pub timeout_ms: u64,
}

/// One result of a probe, as the runtime reports it (the core stamps it with the time).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    pub probe: String,
    /// `Some(true)` ok, `Some(false)` failed, `None` could not run (no answer at all, a query
    /// with no result): unknown, never taken for healthy.
    pub ok: Option<bool>,
    /// Fraction of success this reading stands for (1/0 for a check, the backend's rate).
    pub success: Option<f64>,
    pub latency_ms: Option<f64>,
    /// A number read: a PromQL value, ready replicas.
    pub value: Option<f64>,
    /// "200 in 12 ms", "connection refused", "500 Internal Server Error".
    pub detail: String,
    /// Whatever the probe asked answered (a status, a connection). A probe that was never
    /// answered is unknown rather than failed: it may not be reachable from here at all.
    pub reached: bool,
    /// Requests per second (a service's signals).
    #[serde(default)]
    pub rps: Option<f64>,
    /// CPU in millicores and memory in bytes (a workload's pods, summed).
    #[serde(default)]
    pub cpu_m: Option<f64>,
    #[serde(default)]
    pub memory_bytes: Option<f64>,
}

impl Outcome {
    pub fn unknown(probe: &str, detail: impl Into<String>) -> Outcome {
        Outcome {
            probe: probe.into(),
            ok: None,
            success: None,
            latency_ms: None,
            value: None,
            detail: detail.into(),
            reached: false,
            ..Default::default()
        }
    }
}

/// A reading kept by the core: an outcome and when it came (ms since the session start).
#[derive(Clone, Debug, PartialEq)]
pub struct Reading {
    pub at_ms: u64,
    pub outcome: Outcome,
}

#[cfg(test)]
mod tests {
    use super::parse_service_http;

    #[test]
    fn a_service_http_target_is_namespace_service_port_and_path() {
        let ok = |s: &str| parse_service_http(s).unwrap();
        assert_eq!(ok("sock-shop/front-end:80/health"), ("sock-shop/front-end".into(), "80".into(), "/health".into()));
        assert_eq!(ok("shop/front:http"), ("shop/front".into(), "http".into(), "/".into()));
        assert_eq!(ok("shop/front:80/a/b?c=d"), ("shop/front".into(), "80".into(), "/a/b?c=d".into()));
        for bad in [
            "",
            "front:80/health",
            "/front:80",
            "shop/front/health",
            "shop/:80",
            "shop/front:",
            "shop/fr ont:80",
            "shop/front:80/a b",
            "shop/front:80/\u{1b}[2J",
        ] {
            assert!(parse_service_http(bad).is_err(), "{bad:?}");
        }
    }
}
