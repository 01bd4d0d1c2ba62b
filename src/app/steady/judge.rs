//! Verdicts over readings: one check, the hypothesis (the session file's checks, or "every
//! service answers" from the backend's own view), a fault's expectation; and readings of the
//! probes the backend's picture answers (traffic samples, ready replicas). Pure reads.

use std::collections::BTreeMap;

use super::{Steady, SteadyView};
use crate::app::health::{ServiceHealth, DEGRADED_SUCCESS};
use crate::model::check::{Check, Verdict};
use crate::model::probe::{Outcome, ProbeKind, ProbeSpec, Reading};
use crate::timeline::Health;

impl Steady {
    /// The verdict of one check over readings from `floor` on (the ring buffer made contiguous
    /// when it wraps).
    pub(super) fn check_verdict(&self, c: &Check, floor: u64, now: u64) -> Verdict {
        match self.readings.get(&c.probe) {
            Some(r) if r.as_slices().1.is_empty() => c.verdict_from(r.as_slices().0, now, floor),
            Some(r) => {
                let all: Vec<Reading> = r.iter().cloned().collect();
                c.verdict_from(&all, now, floor)
            }
            None => c.verdict_from(&[], now, floor),
        }
    }

    /// The hypothesis now: broken if any check is, unknown if any cannot be judged, else holds.
    pub fn hypothesis(&self, view: &SteadyView) -> Verdict {
        self.hypothesis_from(view, 0)
    }

    /// The hypothesis over readings from `floor` on: after a revert, recovery is judged on what
    /// came after it, not on a window still holding the fault's readings.
    pub(super) fn hypothesis_from(&self, view: &SteadyView, floor: u64) -> Verdict {
        match &self.config.hypothesis {
            Some(h) => self.checks_verdict(&h.checks, floor, view.now_ms),
            None => default_hypothesis(view.health),
        }
    }

    /// The expectation of the live fault now, if it has checks.
    pub fn expectation_now(&self, now_ms: u64) -> Option<Verdict> {
        self.expectation.as_ref().map(|e| self.checks_verdict(&e.checks, 0, now_ms))
    }

    /// Broken if any check is, unknown if any cannot be judged, else holds.
    fn checks_verdict(&self, checks: &[Check], floor: u64, now: u64) -> Verdict {
        let verdicts: Vec<Verdict> = checks.iter().map(|c| self.check_verdict(c, floor, now)).collect();
        let broken: Vec<String> = verdicts
            .iter()
            .zip(checks)
            .filter_map(|(v, c)| match v {
                Verdict::Broken { reading } => Some(format!("{reading}, wanted {}", c.threshold_text())),
                _ => None,
            })
            .collect();
        if !broken.is_empty() {
            return Verdict::Broken { reading: broken.join("; ") };
        }
        if let Some(Verdict::Unknown { why }) = verdicts.iter().find(|v| matches!(v, Verdict::Unknown { .. })) {
            return Verdict::Unknown { why: why.clone() };
        }
        let readings: Vec<String> = verdicts
            .iter()
            .filter_map(|v| match v {
                Verdict::Holds { reading } => Some(reading.clone()),
                _ => None,
            })
            .collect();
        Verdict::Holds { reading: readings.join(", ") }
    }

    /// Why an inject should be confirmed again: the system is not in steady state.
    pub fn unsteady(&self, view: &SteadyView) -> Option<String> {
        match self.hypothesis(view) {
            Verdict::Broken { reading } => Some(reading),
            _ => None,
        }
    }

    /// The stop conditions that cannot be evaluated now (their probe has no reading): they
    /// would protect nobody, so an inject asks first. Each as "<check> (<why>)".
    pub fn blind_stops(&self, now_ms: u64) -> Vec<String> {
        self.config
            .stops
            .iter()
            .filter_map(|stop| match self.check_verdict(&stop.check, 0, now_ms) {
                Verdict::Unknown { why } => Some(format!("{} ({why})", stop.check)),
                _ => None,
            })
            .collect()
    }

    /// Whether some probe has no reading yet (its verdict would be unknown for want of one).
    pub fn unread(&self) -> bool {
        self.config.probes.iter().any(|p| self.readings.get(&p.name).is_none_or(|r| r.is_empty()))
    }
}

/// "Every service answers", from the backend's own view: no service is down, and where traffic
/// is measured its requests succeed. A slower service, or one with a replica being replaced
/// while every request succeeds, still answers.
fn default_hypothesis(health: &BTreeMap<String, ServiceHealth>) -> Verdict {
    if health.is_empty() {
        return Verdict::Unknown { why: "no service health known yet".into() };
    }
    // Signals that cannot be read are never taken for a service that answers.
    let lost: Vec<(&String, &String)> = health.iter().filter_map(|(n, h)| h.lost.as_ref().map(|w| (n, w))).collect();
    if let Some((_, why)) = lost.first() {
        return Verdict::Unknown { why: format!("the signals of {} service(s) are unknown: {why}", lost.len()) };
    }
    let failing: Vec<String> = health
        .iter()
        .filter_map(|(name, h)| {
            let failing = h.last.as_ref().is_some_and(|x| x.success < DEGRADED_SUCCESS);
            match h.state() {
                Health::Down => Some(format!("{name} down")),
                Health::Degraded if failing => {
                    let x = h.last.as_ref().map(|x| x.success * 100.0).unwrap_or(0.0);
                    Some(format!("{name} {x:.1}% of requests succeed"))
                }
                _ => None,
            }
        })
        .collect();
    if failing.is_empty() {
        Verdict::Holds { reading: format!("{} services answer", health.len()) }
    } else {
        Verdict::Broken { reading: failing.join(", ") }
    }
}

/// A reading of a probe the backend answers: traffic samples or ready replicas.
pub(super) fn derive(view: &SteadyView, p: &ProbeSpec) -> Outcome {
    match &p.kind {
        ProbeKind::Service { service } => {
            let Some(h) = view.health.get(service).filter(|h| h.last.is_some() || h.usage.is_some()) else {
                return Outcome::unknown(&p.name, format!("no traffic samples for {service}"));
            };
            if let Some(why) = &h.lost {
                return Outcome::unknown(&p.name, format!("the signals of {service} are unknown: {why}"));
            }
            let usage = h.usage.as_ref();
            let mut detail: Vec<String> = h.last.iter().map(|x| x.describe()).collect();
            if let Some(u) = usage {
                detail.push(format!("CPU {:.0}m, memory {}", u.cpu_m, crate::model::check::bytes(u.memory_bytes)));
            }
            let x = h.last.as_ref();
            Outcome {
                probe: p.name.clone(),
                // Failing only when nothing answers: slower or fewer answers are judged by the
                // checks and stop conditions written for it, never by a threshold of ours.
                ok: Some(h.state() != Health::Down),
                success: x.map(|x| x.success),
                latency_ms: x.and_then(|x| x.p95_ms),
                value: x.map(|x| x.rps),
                detail: detail.join(", "),
                reached: true,
                rps: x.map(|x| x.rps),
                cpu_m: usage.map(|u| u.cpu_m),
                memory_bytes: usage.map(|u| u.memory_bytes),
            }
        }
        ProbeKind::Ready { workload } => {
            let w = workload.split_once('/').and_then(|(ns, name)| view.topology.workload(ns, name));
            match w {
                Some(w) => Outcome {
                    probe: p.name.clone(),
                    ok: Some(w.ready >= w.desired && w.desired > 0),
                    success: Some(if w.desired == 0 { 0.0 } else { w.ready as f64 / w.desired as f64 }),
                    latency_ms: None,
                    value: Some(w.ready as f64),
                    detail: format!("ready {}/{}", w.ready, w.desired),
                    reached: true,
                    ..Default::default()
                },
                None => Outcome::unknown(&p.name, format!("{workload} is not in the topology")),
            }
        }
        _ => Outcome::unknown(&p.name, "not a derived probe"),
    }
}
