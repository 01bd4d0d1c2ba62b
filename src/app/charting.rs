//! The signals a fault's charts are drawn from: while a fault is in the system (and for a
//! while after its revert, to show the recovery), the signals of the services it touches (its
//! target's, and any whose health changes meanwhile) go on the journal as `Readings`, at most
//! one entry a second. The report draws them (`timeline::charts`). Pure.

use std::collections::{BTreeMap, BTreeSet};

use super::health::ServiceHealth;
use crate::timeline::{EntryKind, ServiceReading};

/// At most this many services are charted per fault: the target's first, then the first whose
/// health changed.
pub const MAX_SERVICES: usize = 8;
/// How long after the revert the charts go on (the recovery).
pub const TAIL_MS: u64 = 30_000;
/// At most one reading a second.
pub const EVERY_MS: u64 = 1_000;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Charting {
    pub fault: u64,
    services: BTreeSet<String>,
    /// Set at the revert: readings stop after this (ms since start).
    until_ms: Option<u64>,
    last_ms: Option<u64>,
}

impl Charting {
    pub fn start(fault: u64, services: impl IntoIterator<Item = String>) -> Charting {
        let mut c = Charting { fault, ..Default::default() };
        for s in services {
            c.touch(&s);
        }
        c
    }

    pub fn services(&self) -> &BTreeSet<String> {
        &self.services
    }

    /// A service the fault touched (its health changed while the fault was in): charted too,
    /// while there is room.
    pub fn touch(&mut self, service: &str) {
        if self.services.len() < MAX_SERVICES {
            self.services.insert(service.to_string());
        }
    }

    /// The fault was reverted (or settled) at `now_ms`: the charts go on for `TAIL_MS`.
    pub fn settle(&mut self, now_ms: u64) {
        self.until_ms.get_or_insert(now_ms + TAIL_MS);
    }

    pub fn over(&self, now_ms: u64) -> bool {
        self.until_ms.is_some_and(|u| now_ms > u)
    }

    /// The readings now, if one is due: each charted service's last signals (none where they
    /// are unknown).
    pub fn take(&mut self, health: &BTreeMap<String, ServiceHealth>, now_ms: u64) -> Option<EntryKind> {
        if self.over(now_ms) || self.last_ms.is_some_and(|l| now_ms < l + EVERY_MS) || self.services.is_empty() {
            return None;
        }
        let services: Vec<ServiceReading> = self
            .services
            .iter()
            .map(|service| {
                let mut r = ServiceReading { service: service.clone(), ..Default::default() };
                if let Some(h) = health.get(service).filter(|h| h.lost.is_none()) {
                    if let Some(x) = &h.last {
                        r.success = Some(x.success);
                        r.p95_ms = x.p95_ms;
                        r.rps = Some(x.rps);
                    } else if h.idle.is_some() {
                        r.rps = Some(0.0);
                    }
                    if let Some(u) = &h.usage {
                        r.cpu_m = Some(u.cpu_m);
                        r.memory_bytes = Some(u.memory_bytes);
                    }
                }
                r
            })
            .collect();
        if services.iter().all(|r| r.success.is_none() && r.p95_ms.is_none() && r.rps.is_none() && r.cpu_m.is_none())
            && self.last_ms.is_none()
        {
            // Nothing measured yet: no chart starts from nothing.
            return None;
        }
        self.last_ms = Some(now_ms);
        Some(EntryKind::Readings { fault: self.fault, services })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ServiceSample;

    fn health(success: f64, p95: f64) -> BTreeMap<String, ServiceHealth> {
        let mut h = ServiceHealth::default();
        h.push(ServiceSample {
            service: "shop/carts".into(),
            success,
            p95_ms: Some(p95),
            rps: 20.0,
            source: "demo".into(),
        });
        BTreeMap::from([("shop/carts".to_string(), h)])
    }

    #[test]
    fn readings_are_taken_at_most_once_a_second_until_the_tail_after_the_revert_ends() {
        let mut c = Charting::start(3, ["shop/carts".to_string()]);
        let Some(EntryKind::Readings { fault, services }) = c.take(&health(0.99, 20.0), 1_000) else { panic!() };
        assert_eq!((fault, services.len()), (3, 1));
        assert_eq!((services[0].success, services[0].p95_ms, services[0].rps), (Some(0.99), Some(20.0), Some(20.0)));
        assert_eq!(c.take(&health(0.99, 20.0), 1_500), None);
        assert!(c.take(&health(0.5, 400.0), 2_000).is_some());
        c.settle(10_000);
        c.settle(20_000);
        assert!(c.take(&health(0.99, 20.0), 10_000 + TAIL_MS).is_some());
        assert!(c.over(10_001 + TAIL_MS));
        assert_eq!(c.take(&health(0.99, 20.0), 10_001 + TAIL_MS), None);
    }

    #[test]
    fn unknown_signals_are_no_reading_and_no_chart_starts_from_nothing() {
        let mut lost = health(0.99, 20.0);
        if let Some(h) = lost.get_mut("shop/carts") {
            h.lose("Prometheus: connection refused");
        }
        let mut c = Charting::start(1, ["shop/carts".to_string(), "shop/db".to_string()]);
        assert_eq!(c.take(&lost, 0), None);
        assert!(c.take(&health(0.99, 20.0), 1_000).is_some());
        let Some(EntryKind::Readings { services, .. }) = c.take(&lost, 2_000) else { panic!() };
        assert!(services.iter().all(|r| r.success.is_none() && r.p95_ms.is_none()), "{services:?}");
    }

    #[test]
    fn a_fault_charts_a_bounded_number_of_services() {
        let mut c = Charting::start(1, (0..20).map(|i| format!("shop/s{i:02}")));
        c.touch("shop/late");
        assert_eq!(c.services().len(), MAX_SERVICES);
        assert!(!c.services().contains("shop/late"));
    }
}
