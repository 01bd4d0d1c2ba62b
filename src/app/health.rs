//! Service health: each traffic sample is classified, and the history kept for sparklines.

use std::collections::VecDeque;

use crate::backend::model::ServiceSample;
use crate::timeline::Health;

/// Below this success ratio a service is degraded.
pub const DEGRADED_SUCCESS: f64 = 0.99;
/// Below this success ratio a service is down.
pub const DOWN_SUCCESS: f64 = 0.5;
/// Above this p95 latency a service is degraded.
pub const DEGRADED_P95_MS: f64 = 200.0;
/// Samples kept per service for the sparklines.
pub const HISTORY: usize = 120;

pub fn classify(s: &ServiceSample) -> Health {
    if s.success < DOWN_SUCCESS {
        Health::Down
    } else if s.success < DEGRADED_SUCCESS || s.p95_ms > DEGRADED_P95_MS {
        Health::Degraded
    } else {
        Health::Healthy
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct ServiceHealth {
    pub state: Option<Health>,
    pub last: Option<ServiceSample>,
    /// Success in tenths of a percent, oldest first.
    pub success_hist: VecDeque<u64>,
    /// p95 latency in ms, oldest first.
    pub p95_hist: VecDeque<u64>,
}

impl ServiceHealth {
    pub fn state(&self) -> Health {
        self.state.unwrap_or(Health::Unknown)
    }

    /// Records a sample; returns the transition (from, to) if the state changed from a known one.
    pub fn push(&mut self, sample: ServiceSample) -> Option<(Health, Health)> {
        let next = classify(&sample);
        push_capped(&mut self.success_hist, (sample.success * 1000.0).round() as u64);
        push_capped(&mut self.p95_hist, sample.p95_ms.round() as u64);
        self.last = Some(sample);
        let prev = self.state.replace(next);
        match prev {
            Some(p) if p != next => Some((p, next)),
            _ => None,
        }
    }
}

fn push_capped(q: &mut VecDeque<u64>, v: u64) {
    if q.len() == HISTORY {
        q.pop_front();
    }
    q.push_back(v);
}
