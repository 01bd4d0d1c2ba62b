//! Golden signals and resources as the platform measures them: request rates, failures and the
//! latency histogram of each workload over a short window (from the cluster's Prometheus: Istio,
//! Linkerd, ingress-nginx, OpenTelemetry span metrics, the common HTTP server histograms), and
//! CPU and memory of each pod (metrics.k8s.io, Docker's stats). A source reports what it read
//! keyed the way it labels things; the console maps the keys to its workloads and computes
//! success, p95 and rps the way Prometheus' `histogram_quantile` would.

use serde::{Deserialize, Serialize};

/// What a reading is about, as its source labels it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum SignalKey {
    /// A workload by namespace and name (Istio's `destination_workload`, Linkerd's `deployment`).
    Workload { namespace: String, name: String },
    /// A pod (the common HTTP histograms, by their `pod` label): the console maps it to its
    /// workload.
    Pod { namespace: String, name: String },
    /// A Kubernetes Service, an OpenTelemetry `service.name` or a Prometheus job: the workload of
    /// that name (in that namespace, when it is known).
    Service { namespace: Option<String>, name: String },
}

/// One key's requests over the source's window, as one metric family counted them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Rates {
    /// "Istio", "Linkerd", "ingress-nginx", "OpenTelemetry", "HTTP server" (`FAMILIES`).
    pub family: String,
    pub key: SignalKey,
    /// Requests per second.
    pub rps: f64,
    /// Requests per second that failed (5xx, or the family's own failure classification).
    pub errors_rps: f64,
    /// The latency histogram as cumulative bucket rates: (upper bound in ms, requests per
    /// second at or under it), the last one `f64::INFINITY`; empty when the family has none.
    pub buckets: Vec<(f64, f64)>,
}

/// The metric families a source may have, the most telling first: where two cover a workload,
/// the first one's signals are shown (a mesh sees every call; an app's own histogram only what
/// reached it).
pub const FAMILIES: [&str; 5] = ["Istio", "Linkerd", "OpenTelemetry", "ingress-nginx", "HTTP server"];

/// Where a family stands in `FAMILIES` (unknown ones last).
pub fn family_rank(family: &str) -> usize {
    FAMILIES.iter().position(|f| *f == family).unwrap_or(FAMILIES.len())
}

/// What a source read in one refresh: every family it has, every key each covers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SignalBatch {
    /// Where it came from: "Prometheus monitoring/prometheus-k8s (through the API server)".
    pub source: String,
    /// The window the rates are over, ms.
    pub window_ms: u64,
    pub rates: Vec<Rates>,
    /// Families that had series at the last refresh and have none now (their exporter or
    /// its scrape is gone): what they covered is unknown, not idle.
    #[serde(default)]
    pub gone: Vec<String>,
}

/// A pod's (a container's) resources now.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PodUsage {
    pub namespace: String,
    pub pod: String,
    /// CPU in millicores (1000 = one core).
    pub cpu_m: f64,
    pub memory_bytes: f64,
    /// Network received and sent, bytes per second (Docker).
    #[serde(default)]
    pub net_rx_bps: Option<f64>,
    #[serde(default)]
    pub net_tx_bps: Option<f64>,
    /// Block I/O, bytes read and written per second (Docker).
    #[serde(default)]
    pub block_bps: Option<f64>,
}

/// A signal source's state, as the backend last saw it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum SourceState {
    /// Reading: the metric families it has (for Prometheus), or what it reads.
    Up { families: Vec<String> },
    /// It answered before and fails now (unreachable, timed out, forbidden, an error): its
    /// readings are unknown until it answers again.
    Down { why: String },
    /// No such source here, and how to give one.
    Absent { hint: String },
}

/// Whether a source is for requests (golden signals) or for resources (CPU and memory).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum SourceKind {
    Requests,
    Resources,
}

/// The `q` quantile (0.95 for p95) of a histogram of cumulative bucket rates, as Prometheus'
/// `histogram_quantile` computes it: the rank's bucket, interpolated linearly within it (from 0,
/// or the bucket before); the highest finite bound when the rank falls in the +Inf bucket;
/// `None` with no requests, no finite bucket, or buckets that are not a histogram.
pub fn quantile(q: f64, buckets: &[(f64, f64)]) -> Option<f64> {
    if !(0.0..=1.0).contains(&q) || buckets.len() < 2 {
        return None;
    }
    let mut b: Vec<(f64, f64)> = buckets.iter().copied().filter(|(le, c)| !le.is_nan() && c.is_finite()).collect();
    b.sort_by(|x, y| x.0.total_cmp(&y.0));
    if b.last().is_none_or(|(le, _)| *le != f64::INFINITY) {
        return None;
    }
    // Counts must not decrease (a scrape between buckets can make them): as Prometheus does.
    for i in 1..b.len() {
        if b[i].1 < b[i - 1].1 {
            b[i].1 = b[i - 1].1;
        }
    }
    let total = b.last()?.1;
    if total <= 0.0 {
        return None;
    }
    let rank = q * total;
    let i = b.iter().position(|(_, c)| *c >= rank)?;
    if b[i].0 == f64::INFINITY {
        return b.get(b.len().checked_sub(2)?).map(|(le, _)| *le);
    }
    let (lower, below) = if i == 0 { (0.0f64.min(b[0].0), 0.0) } else { b[i - 1] };
    let (upper, count) = b[i];
    let in_bucket = count - below;
    if in_bucket <= 0.0 {
        return Some(upper);
    }
    Some(lower + (upper - lower) * (rank - below) / in_bucket)
}

/// Sums cumulative histograms (rates of the same buckets; a bound only one has is added as it is).
pub fn add_buckets(into: &mut Vec<(f64, f64)>, more: &[(f64, f64)]) {
    for (le, c) in more {
        match into.iter_mut().find(|(l, _)| l == le || (l.is_infinite() && le.is_infinite())) {
            Some((_, x)) => *x += c,
            None => into.push((*le, *c)),
        }
    }
    into.sort_by(|a, b| a.0.total_cmp(&b.0));
}

#[cfg(test)]
mod tests {
    use super::*;

    const INF: f64 = f64::INFINITY;

    #[test]
    fn the_quantile_is_prometheus_histogram_quantile() {
        // 100 requests: 50 under 10 ms, 90 under 100 ms, all under 1 s.
        let b = [(10.0, 50.0), (100.0, 90.0), (1000.0, 100.0), (INF, 100.0)];
        // Rank 95 falls in (100, 1000]: 100 + 900 * (95 - 90) / 10.
        assert_eq!(quantile(0.95, &b), Some(550.0));
        // Rank 50 is the top of the first bucket.
        assert_eq!(quantile(0.5, &b), Some(10.0));
        // Rank 25 within the first bucket, from 0.
        assert_eq!(quantile(0.25, &b), Some(5.0));
        // In the +Inf bucket: the highest finite bound.
        assert_eq!(quantile(0.99, &[(10.0, 90.0), (INF, 100.0)]), Some(10.0));
        // No requests, no +Inf, not a histogram: none.
        assert_eq!(quantile(0.95, &[(10.0, 0.0), (INF, 0.0)]), None);
        assert_eq!(quantile(0.95, &[(10.0, 5.0), (20.0, 5.0)]), None);
        assert_eq!(quantile(0.95, &[(INF, 5.0)]), None);
        // Out of order, and counts that dip (a scrape between buckets): as Prometheus fixes them.
        assert_eq!(quantile(0.5, &[(INF, 100.0), (100.0, 90.0), (10.0, 50.0)]), Some(10.0));
        // (100 -> 40 becomes 50: rank 95 falls in (100, 1000], 100 + 900 * (95 - 50) / 50.)
        assert_eq!(quantile(0.95, &[(10.0, 50.0), (100.0, 40.0), (1000.0, 100.0), (INF, 100.0)]), Some(910.0));
    }

    #[test]
    fn histograms_add_by_bucket() {
        let mut a = vec![(10.0, 1.0), (INF, 2.0)];
        add_buckets(&mut a, &[(10.0, 3.0), (100.0, 4.0), (INF, 4.0)]);
        assert_eq!(a, [(10.0, 4.0), (100.0, 4.0), (INF, 6.0)]);
    }
}
