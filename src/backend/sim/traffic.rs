//! Simulated traffic: each step sends requests through the call graph, pod by pod, with the
//! faults in place, and measures success ratio and p95 latency per service.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::shop::{CALL_TIMEOUT_MS, SAMPLES_PER_STEP};
use crate::model::ServiceSample;

/// What a request sees of one ready pod.
#[derive(Clone, Debug, Default)]
pub struct PodView {
    pub latency_ms: f64,
    pub jitter_ms: f64,
    pub loss: f64,
    pub cpu_load: f64,
    pub paused: bool,
}

impl PodView {
    pub fn is_faulted(&self) -> bool {
        self.latency_ms > 0.0 || self.loss > 0.0 || self.cpu_load > 0.0 || self.paused
    }
}

/// What a request sees of one service.
pub struct ServiceView {
    pub name: String,
    pub base_ms: f64,
    pub rps: f64,
    pub calls: Vec<(usize, f64)>,
    pub config_broken: bool,
    pub ready: Vec<PodView>,
}

/// One request to service `s`: (latency in ms, succeeded).
fn request(rng: &mut ChaCha8Rng, svcs: &[ServiceView], s: usize, depth: u8) -> (f64, bool) {
    let svc = &svcs[s];
    if svc.ready.is_empty() {
        // No endpoints: connection refused.
        return (2.0, false);
    }
    let pod = &svc.ready[rng.gen_range(0..svc.ready.len())];
    if pod.paused {
        return (CALL_TIMEOUT_MS, false);
    }
    let noise = (0.6 + 0.8 * rng.gen::<f64>()) * if rng.gen::<f64>() < 0.05 { 1.8 } else { 1.0 };
    // Queueing under CPU saturation: service time grows as 1 / (1 - utilisation).
    let cpu = 1.0 / (1.0 - 0.95 * pod.cpu_load.clamp(0.0, 1.0));
    let mut lat = svc.base_ms * noise * cpu;
    if svc.config_broken {
        return (lat, false);
    }
    if pod.latency_ms > 0.0 {
        lat += (pod.latency_ms + pod.jitter_ms * (2.0 * rng.gen::<f64>() - 1.0)).max(0.0);
    }
    if pod.loss > 0.0 && rng.gen::<f64>() < pod.loss {
        // A lost packet: either TCP retransmits (one RTO later) or the call times out.
        if rng.gen_bool(0.5) {
            lat += 200.0;
        } else {
            return (CALL_TIMEOUT_MS, false);
        }
    }
    if depth < 8 {
        for &(callee, share) in &svc.calls {
            if rng.gen::<f64>() < share {
                let (l, ok) = request(rng, svcs, callee, depth + 1);
                lat += l.min(CALL_TIMEOUT_MS);
                if !ok || l >= CALL_TIMEOUT_MS {
                    return (lat, false);
                }
            }
        }
    }
    (lat, true)
}

/// Measures every service once.
pub fn sample(rng: &mut ChaCha8Rng, namespace: &str, svcs: &[ServiceView]) -> Vec<ServiceSample> {
    let mut out = Vec::with_capacity(svcs.len());
    let mut lats = Vec::with_capacity(SAMPLES_PER_STEP);
    for (i, svc) in svcs.iter().enumerate() {
        lats.clear();
        let mut ok = 0usize;
        for _ in 0..SAMPLES_PER_STEP {
            let (l, good) = request(rng, svcs, i, 0);
            lats.push(l);
            ok += good as usize;
        }
        lats.sort_by(f64::total_cmp);
        let p95 = lats[(SAMPLES_PER_STEP * 95 / 100).min(SAMPLES_PER_STEP - 1)];
        out.push(ServiceSample {
            service: format!("{namespace}/{}", svc.name),
            success: ok as f64 / SAMPLES_PER_STEP as f64,
            p95_ms: Some((p95 * 10.0).round() / 10.0),
            rps: (svc.rps * (0.9 + 0.2 * rng.gen::<f64>())).round(),
            source: "demo".into(),
        });
    }
    out
}
