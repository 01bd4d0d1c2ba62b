//! Service health: each traffic sample is classified, and the history kept for sparklines.

use std::collections::VecDeque;

use crate::model::ServiceSample;
use crate::timeline::Health;

/// Below this success ratio a service is degraded.
pub const DEGRADED_SUCCESS: f64 = 0.99;
/// Below this success ratio a service is down.
pub const DOWN_SUCCESS: f64 = 0.5;
/// Above this p95 latency a service is degraded.
pub const DEGRADED_P95_MS: f64 = 200.0;
/// Leaving a worse state needs this much margin past the threshold (hysteresis), so a service
/// that hovers at a threshold does not flap.
pub const RECOVER_SUCCESS_MARGIN: f64 = 0.005;
pub const RECOVER_P95_FACTOR: f64 = 0.9;
/// A new state counts once this many consecutive samples agree on it.
pub const CONFIRM_SAMPLES: u32 = 2;
/// Samples kept per service for the sparklines.
pub const HISTORY: usize = 120;

fn classify_with(s: &ServiceSample, down: f64, degraded: f64, p95: f64) -> Health {
    if s.success < down {
        Health::Down
    } else if s.success < degraded || s.p95_ms.is_some_and(|x| x > p95) {
        Health::Degraded
    } else {
        Health::Healthy
    }
}

/// The state a sample shows, given the state the service is in now: getting worse uses the
/// thresholds, getting better needs the margin as well.
pub fn classify(s: &ServiceSample, current: Option<Health>) -> Health {
    let raw = classify_with(s, DOWN_SUCCESS, DEGRADED_SUCCESS, DEGRADED_P95_MS);
    match current {
        Some(c) if c.severity() > raw.severity() => classify_with(
            s,
            DOWN_SUCCESS + 10.0 * RECOVER_SUCCESS_MARGIN,
            DEGRADED_SUCCESS + RECOVER_SUCCESS_MARGIN,
            DEGRADED_P95_MS * RECOVER_P95_FACTOR,
        ),
        _ => raw,
    }
}

/// The health a workload's readiness shows, for services with no traffic samples: down with no
/// ready pod, degraded with fewer than desired, unknown when scaled to zero.
pub fn from_readiness(ready: u32, desired: u32) -> Health {
    match (ready, desired) {
        (0, 0) => Health::Unknown,
        (0, _) => Health::Down,
        (r, d) if r < d => Health::Degraded,
        _ => Health::Healthy,
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct ServiceHealth {
    pub state: Option<Health>,
    /// A different state seen in the last samples, and how many in a row.
    pending: Option<(Health, u32)>,
    pub last: Option<ServiceSample>,
    /// Success in tenths of a percent, oldest first.
    pub success_hist: VecDeque<u64>,
    /// p95 latency in ms, oldest first.
    pub p95_hist: VecDeque<u64>,
    /// Ready and desired pods, for services judged by readiness.
    pub ready: Option<(u32, u32)>,
    /// The source of its signals cannot be read now (why): they are unknown, never taken for
    /// healthy, until it answers again.
    pub lost: Option<String>,
    /// Its source measured no requests in its last window (and which source): readiness judges
    /// it meanwhile.
    pub idle: Option<String>,
    /// CPU and memory of its pods, summed.
    pub usage: Option<Usage>,
}

/// A workload's resources, summed over its pods (containers).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Usage {
    /// CPU in millicores.
    pub cpu_m: f64,
    pub memory_bytes: f64,
    pub net_rx_bps: Option<f64>,
    pub net_tx_bps: Option<f64>,
    pub block_bps: Option<f64>,
    pub pods: usize,
    /// Where it came from ("metrics.k8s.io", "Docker stats").
    pub source: String,
}

impl ServiceHealth {
    pub fn state(&self) -> Health {
        if self.lost.is_some() {
            return Health::Unknown;
        }
        self.state.unwrap_or(Health::Unknown)
    }

    /// Its signals' source fails: they are unknown until it answers again. The state it had is
    /// kept (a service is not recorded as changing because its source went away).
    pub fn lose(&mut self, why: &str) {
        self.lost = Some(why.to_string());
    }

    /// Its source measured no requests in its window: the last sample is let go, and readiness
    /// judges it (a service scaled to zero after it served is down).
    pub fn go_idle(&mut self, source: &str) -> Option<(Health, Health)> {
        self.lost = None;
        self.idle = Some(source.to_string());
        self.last = None;
        self.pending = None;
        let (ready, desired) = self.ready?;
        self.observe_readiness(ready, desired)
    }

    /// Records readiness. Services with traffic samples are judged by them instead; for the
    /// others a change of readiness is a change of health at once (it is not noisy).
    pub fn observe_readiness(&mut self, ready: u32, desired: u32) -> Option<(Health, Health)> {
        self.ready = Some((ready, desired));
        if self.last.is_some() {
            return None;
        }
        let next = match (from_readiness(ready, desired), self.state) {
            // Scaled to zero after it served: nothing serves now, which is down, not unknown.
            (Health::Unknown, Some(prev)) if desired == 0 && prev != Health::Unknown => Health::Down,
            (h, _) => h,
        };
        match self.state.replace(next) {
            Some(prev) if prev != next => Some((prev, next)),
            _ => None,
        }
    }

    /// Records a sample; returns the transition (from, to) once a new state is confirmed.
    pub fn push(&mut self, sample: ServiceSample) -> Option<(Health, Health)> {
        self.lost = None;
        self.idle = None;
        let seen = classify(&sample, self.state);
        push_capped(&mut self.success_hist, (sample.success * 1000.0).round() as u64);
        if let Some(p95) = sample.p95_ms {
            push_capped(&mut self.p95_hist, p95.round() as u64);
        }
        self.last = Some(sample);
        let current = match self.state {
            None => {
                self.state = Some(seen);
                return None;
            }
            Some(c) => c,
        };
        if seen == current {
            self.pending = None;
            return None;
        }
        let n = match self.pending {
            Some((h, n)) if h == seen => n + 1,
            _ => 1,
        };
        if n < CONFIRM_SAMPLES {
            self.pending = Some((seen, n));
            return None;
        }
        self.pending = None;
        self.state = Some(seen);
        Some((current, seen))
    }
}

fn push_capped(q: &mut VecDeque<u64>, v: u64) {
    if q.len() == HISTORY {
        q.pop_front();
    }
    q.push_back(v);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(success: f64, p95_ms: f64) -> ServiceSample {
        ServiceSample { service: "ns/svc".into(), success, p95_ms: Some(p95_ms), rps: 1.0, source: "test".into() }
    }

    fn feed(h: &mut ServiceHealth, readings: &[(f64, f64)]) -> Vec<(Health, Health)> {
        readings.iter().filter_map(|(s, p)| h.push(sample(*s, *p))).collect()
    }

    #[test]
    fn a_change_counts_once_it_holds_for_two_samples() {
        let mut h = ServiceHealth::default();
        assert!(feed(&mut h, &[(1.0, 50.0)]).is_empty());
        assert_eq!(h.state(), Health::Healthy);
        // One bad reading is noise.
        assert!(feed(&mut h, &[(1.0, 250.0), (1.0, 50.0)]).is_empty());
        assert_eq!(feed(&mut h, &[(1.0, 250.0), (1.0, 260.0)]), [(Health::Healthy, Health::Degraded)]);
        assert_eq!(feed(&mut h, &[(0.2, 10.0), (0.1, 10.0)]), [(Health::Degraded, Health::Down)]);
    }

    #[test]
    fn readiness_judges_services_without_traffic() {
        let mut h = ServiceHealth::default();
        assert_eq!(h.observe_readiness(3, 3), None);
        assert_eq!(h.observe_readiness(2, 3), Some((Health::Healthy, Health::Degraded)));
        assert_eq!(h.observe_readiness(0, 3), Some((Health::Degraded, Health::Down)));
        // Scaled to zero after serving is down; never having served is unknown.
        assert_eq!(h.observe_readiness(0, 0), None);
        assert_eq!(ServiceHealth::default().observe_readiness(0, 0), None);
        assert_eq!(h.state(), Health::Down);
        let mut scaled = ServiceHealth::default();
        scaled.observe_readiness(3, 3);
        assert_eq!(scaled.observe_readiness(0, 0), Some((Health::Healthy, Health::Down)));
        // Once traffic is measured, it decides.
        h.push(sample(1.0, 10.0));
        assert_eq!(h.observe_readiness(0, 3), None);
    }

    #[test]
    fn hovering_at_a_threshold_does_not_flap() {
        let mut h = ServiceHealth::default();
        feed(&mut h, &[(1.0, 50.0), (1.0, 214.0), (1.0, 205.0)]);
        assert_eq!(h.state(), Health::Degraded);
        // 179..199 ms is below the threshold but inside the margin: still degraded.
        assert!(feed(&mut h, &[(1.0, 199.0), (1.0, 190.0), (1.0, 204.0), (1.0, 185.0), (1.0, 186.0)]).is_empty());
        assert_eq!(feed(&mut h, &[(1.0, 170.0), (1.0, 160.0)]), [(Health::Degraded, Health::Healthy)]);
    }
}
