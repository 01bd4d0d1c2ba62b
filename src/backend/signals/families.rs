//! The metric families gameday recognises, with no configuration: which metric names make each,
//! the one query per family per refresh that reads every service's request rate, failure rate
//! and latency histogram at once, and how its labels name a workload.
//!
//! - Istio: `istio_requests_total`, `istio_request_duration_milliseconds_bucket`, by
//!   `destination_workload` and its namespace (the calling side's report preferred: it sees
//!   the calls that never reached a pod);
//! - Linkerd: `response_total`, `response_latency_ms_bucket`, by `deployment` (or statefulset,
//!   daemonset) and namespace, inbound;
//! - OpenTelemetry span metrics: `traces_span_metrics_calls_total`,
//!   `traces_span_metrics_duration_{milliseconds,seconds}_bucket`, by `service_name`, server spans;
//! - ingress-nginx: `nginx_ingress_controller_requests`,
//!   `nginx_ingress_controller_request_duration_seconds_bucket`, by the backend service;
//! - the common HTTP server histograms: `http_server_requests_seconds` (Spring),
//!   `http_request_duration_seconds`, Sock Shop's `request_duration_seconds`, by pod (mapped to
//!   workloads through the picture), else by service or job.

use std::collections::BTreeMap;

use super::prometheus::Sample;
use crate::model::{Rates, SignalKey};

/// One way a family can be read (a family may have several: the HTTP histograms).
#[derive(Clone, Copy, Debug)]
pub struct Variant {
    pub family: &'static str,
    /// The counter of every request (or a histogram's `_count`).
    pub requests: &'static str,
    /// The latency histogram's buckets, if the family has one.
    pub buckets: Option<&'static str>,
    /// The histogram's unit, in ms (1 for ms, 1000 for seconds).
    pub unit_ms: f64,
    /// Matchers every series read must have (`reporter`, `direction`, ...), may be empty.
    pub only: &'static str,
    /// Matchers that make a request a failure; alternatives (any one of them).
    pub failed: &'static [&'static str],
    /// Labels kept: what names the workload, and `prefer`'s label.
    pub by: &'static [&'static str],
    /// A label whose values are preferred in this order, per workload (Istio's reporter).
    pub prefer: Option<(&'static str, &'static [&'static str])>,
    pub key: fn(&BTreeMap<String, String>) -> Option<SignalKey>,
}

fn label<'a>(l: &'a BTreeMap<String, String>, names: &[&str]) -> Option<&'a str> {
    names.iter().find_map(|n| l.get(*n).map(String::as_str).filter(|v| !v.is_empty()))
}

fn istio_key(l: &BTreeMap<String, String>) -> Option<SignalKey> {
    Some(SignalKey::Workload {
        namespace: label(l, &["destination_workload_namespace"])?.to_string(),
        name: label(l, &["destination_workload"]).filter(|w| *w != "unknown")?.to_string(),
    })
}

fn linkerd_key(l: &BTreeMap<String, String>) -> Option<SignalKey> {
    Some(SignalKey::Workload {
        namespace: label(l, &["namespace"])?.to_string(),
        name: label(l, &["deployment", "statefulset", "daemonset"])?.to_string(),
    })
}

fn otel_key(l: &BTreeMap<String, String>) -> Option<SignalKey> {
    Some(SignalKey::Service {
        namespace: label(l, &["k8s_namespace_name", "service_namespace"]).map(str::to_string),
        name: label(l, &["service_name"])?.to_string(),
    })
}

fn nginx_key(l: &BTreeMap<String, String>) -> Option<SignalKey> {
    Some(SignalKey::Service {
        namespace: label(l, &["exported_namespace", "namespace"]).map(str::to_string),
        name: label(l, &["exported_service", "service"])?.to_string(),
    })
}

fn http_key(l: &BTreeMap<String, String>) -> Option<SignalKey> {
    if let (Some(ns), Some(pod)) = (label(l, &["namespace"]), label(l, &["pod"])) {
        return Some(SignalKey::Pod { namespace: ns.to_string(), name: pod.to_string() });
    }
    Some(SignalKey::Service {
        namespace: label(l, &["namespace"]).map(str::to_string),
        name: label(l, &["service", "app", "job"])?.to_string(),
    })
}

const HTTP_BY: &[&str] = &["namespace", "pod", "service", "app", "job"];
const HTTP_FAILED: &[&str] = &["status=~\"5..\"", "code=~\"5..\"", "status_code=~\"5..\""];

/// Every variant, the most telling family first (`crate::model::signals::FAMILIES`).
pub const VARIANTS: &[Variant] = &[
    Variant {
        family: "Istio",
        requests: "istio_requests_total",
        buckets: Some("istio_request_duration_milliseconds_bucket"),
        unit_ms: 1.0,
        only: "",
        failed: &["response_code=~\"5..\""],
        by: &["destination_workload_namespace", "destination_workload", "reporter"],
        prefer: Some(("reporter", &["source", "destination"])),
        key: istio_key,
    },
    Variant {
        family: "Linkerd",
        requests: "response_total",
        buckets: Some("response_latency_ms_bucket"),
        unit_ms: 1.0,
        only: "direction=\"inbound\"",
        failed: &["classification=\"failure\""],
        by: &["namespace", "deployment", "statefulset", "daemonset"],
        prefer: None,
        key: linkerd_key,
    },
    Variant {
        family: "OpenTelemetry",
        requests: "traces_span_metrics_calls_total",
        buckets: Some("traces_span_metrics_duration_milliseconds_bucket"),
        unit_ms: 1.0,
        only: "span_kind=\"SPAN_KIND_SERVER\"",
        failed: &["status_code=\"STATUS_CODE_ERROR\""],
        by: &["service_name", "service_namespace", "k8s_namespace_name"],
        prefer: None,
        key: otel_key,
    },
    Variant {
        family: "OpenTelemetry",
        requests: "traces_span_metrics_calls_total",
        buckets: Some("traces_span_metrics_duration_seconds_bucket"),
        unit_ms: 1000.0,
        only: "span_kind=\"SPAN_KIND_SERVER\"",
        failed: &["status_code=\"STATUS_CODE_ERROR\""],
        by: &["service_name", "service_namespace", "k8s_namespace_name"],
        prefer: None,
        key: otel_key,
    },
    Variant {
        family: "ingress-nginx",
        requests: "nginx_ingress_controller_requests",
        buckets: Some("nginx_ingress_controller_request_duration_seconds_bucket"),
        unit_ms: 1000.0,
        only: "",
        failed: &["status=~\"5..\""],
        by: &["exported_namespace", "namespace", "exported_service", "service"],
        prefer: None,
        key: nginx_key,
    },
    Variant {
        family: "HTTP server",
        requests: "http_server_requests_seconds_count",
        buckets: Some("http_server_requests_seconds_bucket"),
        unit_ms: 1000.0,
        only: "",
        failed: HTTP_FAILED,
        by: HTTP_BY,
        prefer: None,
        key: http_key,
    },
    Variant {
        family: "HTTP server",
        requests: "http_request_duration_seconds_count",
        buckets: Some("http_request_duration_seconds_bucket"),
        unit_ms: 1000.0,
        only: "",
        failed: HTTP_FAILED,
        by: HTTP_BY,
        prefer: None,
        key: http_key,
    },
    Variant {
        family: "HTTP server",
        requests: "request_duration_seconds_count",
        buckets: Some("request_duration_seconds_bucket"),
        unit_ms: 1000.0,
        only: "",
        failed: HTTP_FAILED,
        by: HTTP_BY,
        prefer: None,
        key: http_key,
    },
];

/// Every metric name a variant reads (to ask which exist).
pub fn names() -> Vec<&'static str> {
    let mut n: Vec<&str> = VARIANTS.iter().flat_map(|v| std::iter::once(v.requests).chain(v.buckets)).collect();
    n.sort_unstable();
    n.dedup();
    n
}

/// The variants these metric names make (a histogram without its counter is not read; a
/// counter without its histogram is, without latency).
pub fn present(names: &[String]) -> Vec<Variant> {
    let has = |n: &str| names.iter().any(|x| x == n);
    let mut out: Vec<Variant> = Vec::new();
    for v in VARIANTS.iter().filter(|v| has(v.requests)) {
        let buckets = v.buckets.filter(|b| has(b));
        // Two ways of one family with the same counter (OpenTelemetry's units): one is enough.
        if out.iter().any(|o| o.requests == v.requests && o.family == v.family) {
            continue;
        }
        let other_has_buckets =
            VARIANTS.iter().any(|o| o.requests == v.requests && o.buckets != v.buckets && o.buckets.is_some_and(has));
        if buckets.is_none() && other_has_buckets {
            continue;
        }
        out.push(Variant { buckets, ..*v });
    }
    out
}

fn selector(metric: &str, matchers: &[&str]) -> String {
    let m: Vec<&str> = matchers.iter().copied().filter(|m| !m.is_empty()).collect();
    format!("{metric}{{{}}}", m.join(","))
}

/// The one query that reads a variant for every service at once: request rate, failure rate
/// and the histogram's bucket rates over `window`, told apart by a `gameday_signal` label.
pub fn query(v: &Variant, window: &str) -> String {
    let by = v.by.join(", ");
    let tag = |e: String, what: &str| format!("label_replace({e}, \"gameday_signal\", \"{what}\", \"\", \"\")");
    let all = format!("sum by ({by}) (rate({}[{window}]))", selector(v.requests, &[v.only]));
    let failed: Vec<String> = v
        .failed
        .iter()
        .map(|f| format!("sum by ({by}) (rate({}[{window}]))", selector(v.requests, &[v.only, f])))
        .collect();
    let mut q = format!("{} or {}", tag(all, "all"), tag(format!("({})", failed.join(" or ")), "failed"));
    if let Some(b) = v.buckets {
        let buckets = format!("sum by ({by}, le) (rate({}[{window}]))", selector(b, &[v.only]));
        q = format!("{q} or {}", tag(buckets, "le"));
    }
    q
}

/// A variant's answer as rates per key (`prefer` applied: per workload, the first preferred
/// value of its label that has requests).
pub fn rates(v: &Variant, samples: &[Sample]) -> Vec<Rates> {
    #[derive(Default)]
    struct Acc {
        rps: f64,
        failed: f64,
        buckets: Vec<(f64, f64)>,
    }
    let mut acc: BTreeMap<(SignalKey, String), Acc> = BTreeMap::new();
    for s in samples {
        let Some(key) = (v.key)(&s.labels) else { continue };
        let alt = v.prefer.and_then(|(l, _)| s.labels.get(l).cloned()).unwrap_or_default();
        let a = acc.entry((key, alt)).or_default();
        match s.labels.get("gameday_signal").map(String::as_str) {
            Some("all") => a.rps += s.value,
            Some("failed") => a.failed += s.value,
            Some("le") => {
                let Some(le) = s.labels.get("le") else { continue };
                let le = match le.as_str() {
                    "+Inf" => f64::INFINITY,
                    x => match x.parse::<f64>() {
                        Ok(x) => x * v.unit_ms,
                        Err(_) => continue,
                    },
                };
                crate::model::signals::add_buckets(&mut a.buckets, &[(le, s.value)]);
            }
            _ => {}
        }
    }
    let rank = |alt: &str| match v.prefer {
        Some((_, order)) => order.iter().position(|o| *o == alt).unwrap_or(order.len()),
        None => 0,
    };
    let mut best: BTreeMap<SignalKey, (usize, Acc)> = BTreeMap::new();
    for ((key, alt), a) in acc {
        if a.rps <= 0.0 {
            continue;
        }
        let r = rank(&alt);
        match best.get(&key) {
            Some((have, _)) if *have <= r => {}
            _ => {
                best.insert(key, (r, a));
            }
        }
    }
    best.into_iter()
        .map(|(key, (_, a))| Rates {
            family: v.family.to_string(),
            key,
            rps: a.rps,
            errors_rps: a.failed.min(a.rps),
            buckets: a.buckets,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(labels: &[(&str, &str)], value: f64) -> Sample {
        Sample { labels: labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(), value }
    }

    #[test]
    fn one_query_reads_every_service_of_a_family() {
        let istio = VARIANTS[0];
        let q = query(&istio, "30s");
        assert_eq!(
            q,
            "label_replace(sum by (destination_workload_namespace, destination_workload, reporter) (rate(istio_requests_total{}[30s])), \"gameday_signal\", \"all\", \"\", \"\") \
             or label_replace((sum by (destination_workload_namespace, destination_workload, reporter) (rate(istio_requests_total{response_code=~\"5..\"}[30s]))), \"gameday_signal\", \"failed\", \"\", \"\") \
             or label_replace(sum by (destination_workload_namespace, destination_workload, reporter, le) (rate(istio_request_duration_milliseconds_bucket{}[30s])), \"gameday_signal\", \"le\", \"\", \"\")"
        );
        let http = VARIANTS.iter().find(|v| v.requests == "request_duration_seconds_count").unwrap();
        assert!(query(http, "15s").contains(
            "or sum by (namespace, pod, service, app, job) (rate(request_duration_seconds_count{code=~\"5..\"}[15s]))"
        ));
    }

    #[test]
    fn a_family_is_read_where_its_names_exist() {
        let names: Vec<String> = [
            "istio_requests_total",
            "request_duration_seconds_count",
            "traces_span_metrics_calls_total",
            "traces_span_metrics_duration_seconds_bucket",
        ]
        .map(String::from)
        .into();
        let p = present(&names);
        let got: Vec<(&str, &str, Option<&str>)> = p.iter().map(|v| (v.family, v.requests, v.buckets)).collect();
        assert_eq!(
            got,
            [
                ("Istio", "istio_requests_total", None),
                (
                    "OpenTelemetry",
                    "traces_span_metrics_calls_total",
                    Some("traces_span_metrics_duration_seconds_bucket")
                ),
                ("HTTP server", "request_duration_seconds_count", None),
            ]
        );
    }

    #[test]
    fn answers_become_rates_per_workload_the_calling_side_preferred() {
        let istio = VARIANTS[0];
        let w = |r: &str, sig: &str, le: Option<&str>, v: f64| {
            let mut l = vec![
                ("destination_workload_namespace", "shop"),
                ("destination_workload", "carts"),
                ("reporter", r),
                ("gameday_signal", sig),
            ];
            if let Some(le) = le {
                l.push(("le", le));
            }
            sample(&l, v)
        };
        let samples = vec![
            w("destination", "all", None, 10.0),
            w("source", "all", None, 12.0),
            w("source", "failed", None, 3.0),
            w("source", "le", Some("100"), 9.0),
            w("source", "le", Some("+Inf"), 12.0),
            w("destination", "le", Some("100"), 10.0),
            sample(
                &[
                    ("destination_workload", "unknown"),
                    ("destination_workload_namespace", "x"),
                    ("gameday_signal", "all"),
                ],
                5.0,
            ),
        ];
        let r = rates(&istio, &samples);
        assert_eq!(r.len(), 1, "{r:?}");
        assert_eq!(r[0].key, SignalKey::Workload { namespace: "shop".into(), name: "carts".into() });
        assert_eq!((r[0].rps, r[0].errors_rps), (12.0, 3.0));
        assert_eq!(r[0].buckets, [(100.0, 9.0), (f64::INFINITY, 12.0)]);
        // Seconds become ms; a pod's label names it.
        let http = VARIANTS.iter().find(|v| v.requests == "request_duration_seconds_count").unwrap();
        let r = rates(
            http,
            &[
                sample(&[("namespace", "shop"), ("pod", "carts-1"), ("gameday_signal", "all")], 2.0),
                sample(&[("namespace", "shop"), ("pod", "carts-1"), ("gameday_signal", "le"), ("le", "0.25")], 2.0),
            ],
        );
        assert_eq!(r[0].key, SignalKey::Pod { namespace: "shop".into(), name: "carts-1".into() });
        assert_eq!(r[0].buckets, [(250.0, 2.0)]);
    }
}
