//! Prometheus metrics (`--metrics-addr HOST:PORT`, served at `/metrics` in the text format
//! through `prometheus-client`): whether a fault is live (the red band on a dashboard), faults by
//! how they ended, the time from an abort to its confirmed revert, probe results and latency, and
//! whether steady state holds. The UI loop hands the core's state and its new timeline entries
//! to `observe` after each batch; the core knows nothing of metrics.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::app::fault::FaultPhase;
use crate::app::AppState;
use crate::model::check::Verdict;
use crate::timeline::{EndReason, Entry, EntryKind};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct FaultLabels {
    pub session: String,
    pub preset: String,
    pub target: String,
    pub backend: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ProbeLabels {
    pub probe: String,
}

fn latency_buckets() -> Histogram {
    Histogram::new([0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0])
}

fn revert_buckets() -> Histogram {
    Histogram::new([0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0])
}

/// The metrics of one console, and what `observe` remembers between batches.
pub struct Metrics {
    registry: Registry,
    fault_active: Family<FaultLabels, Gauge>,
    faults: Family<OutcomeLabels, Counter>,
    abort_to_revert: Histogram,
    probe_success: Family<ProbeLabels, Gauge>,
    probe_latency: Family<ProbeLabels, Histogram, fn() -> Histogram>,
    steady: Gauge,
    seen: Mutex<Seen>,
}

#[derive(Default)]
struct Seen {
    /// Faults by id: their labels (from their request) and how they are ending.
    faults: BTreeMap<u64, (FaultLabels, Option<EndReason>, u64)>,
    /// The fault whose gauge is 1 now.
    active: Option<FaultLabels>,
    /// Per probe, the time of the last reading counted.
    readings: BTreeMap<String, u64>,
    /// The session's idle series (0, empty preset and target) is out.
    started: bool,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("gameday");
        let fault_active = Family::<FaultLabels, Gauge>::default();
        registry.register(
            "fault_active",
            "1 while a fault is live (applying, active or reverting), 0 once its revert is confirmed (and, with an empty preset and target, before any fault)",
            fault_active.clone(),
        );
        let faults = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "faults",
            "Faults by how they ended: expired, aborted, stop_condition, inject_failed, lapsed, finished, revert_failed",
            faults.clone(),
        );
        let abort_to_revert = revert_buckets();
        registry.register(
            "abort_to_revert_seconds",
            "Time from an abort (key, signal or stop condition) to the confirmed revert",
            abort_to_revert.clone(),
        );
        let probe_success = Family::<ProbeLabels, Gauge>::default();
        registry.register(
            "probe_success",
            "1 if the probe's last reading succeeded, 0 if it failed (absent while unknown)",
            probe_success.clone(),
        );
        let probe_latency = Family::<ProbeLabels, Histogram, fn() -> Histogram>::new_with_constructor(latency_buckets);
        registry.register("probe_latency_seconds", "Latency of the probes' readings", probe_latency.clone());
        let steady = Gauge::default();
        registry.register(
            "steady_state_holds",
            "1 while the session's steady-state hypothesis holds, 0 while it is broken, -1 while it cannot be judged",
            steady.clone(),
        );
        Metrics {
            registry,
            fault_active,
            faults,
            abort_to_revert,
            probe_success,
            probe_latency,
            steady,
            seen: Mutex::new(Seen::default()),
        }
    }

    /// The metrics in the Prometheus text format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }

    /// After each batch of events: the core's state, and the entries it recorded since the
    /// last call.
    pub fn observe(&self, s: &AppState, new: &[Entry]) {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        let backend = s.session.backend.kind.clone();
        for e in new {
            match &e.kind {
                EntryKind::InjectRequested { fault, preset, target, .. } => {
                    let labels = FaultLabels {
                        session: s.session.id.clone(),
                        preset: preset.clone(),
                        target: target.to_string(),
                        backend: backend.clone(),
                    };
                    seen.faults.insert(*fault, (labels, None, 0));
                }
                EntryKind::FaultEnding { fault, reason } => {
                    if let Some(f) = seen.faults.get_mut(fault) {
                        f.1 = Some(reason.clone());
                        f.2 = e.t_ms;
                    }
                }
                EntryKind::InjectNotApplied { fault, .. } | EntryKind::InjectCancelled { fault } => {
                    seen.faults.remove(fault);
                }
                EntryKind::RevertConfirmed { fault, .. } => {
                    if let Some((_, reason, ending_ms)) = seen.faults.remove(fault) {
                        let outcome = match &reason {
                            Some(EndReason::Expired) | None => "expired",
                            Some(EndReason::Aborted { by }) if by.starts_with("stop condition") => "stop_condition",
                            Some(EndReason::Aborted { .. }) => "aborted",
                            Some(EndReason::InjectFailed) => "inject_failed",
                            Some(EndReason::Lapsed { .. }) => "lapsed",
                            Some(EndReason::Finished { .. }) => "finished",
                        };
                        self.faults.get_or_create(&OutcomeLabels { outcome: outcome.into() }).inc();
                        if matches!(reason, Some(EndReason::Aborted { .. })) {
                            self.abort_to_revert.observe(e.t_ms.saturating_sub(ending_ms) as f64 / 1000.0);
                        }
                    }
                }
                EntryKind::RevertFailed { fault, retrying: false, .. } if seen.faults.remove(fault).is_some() => {
                    self.faults.get_or_create(&OutcomeLabels { outcome: "revert_failed".into() }).inc();
                }
                _ => {}
            }
        }
        // The red band: the fault in the system now (its apply begun, its revert not confirmed).
        let live = match &s.fault.phase {
            FaultPhase::Applying { fault, .. } | FaultPhase::Active { fault } | FaultPhase::Reverting { fault, .. } => {
                Some(FaultLabels {
                    session: s.session.id.clone(),
                    preset: fault.plan.preset.clone(),
                    target: fault.plan.target.to_string(),
                    backend: backend.clone(),
                })
            }
            _ => None,
        };
        if !seen.started {
            // Before any fault the gauge is there, at 0, with the session's labels.
            seen.started = true;
            let idle = FaultLabels {
                session: s.session.id.clone(),
                preset: String::new(),
                target: String::new(),
                backend: backend.clone(),
            };
            self.fault_active.get_or_create(&idle).set(0);
        }
        if live != seen.active {
            if let Some(old) = seen.active.take() {
                self.fault_active.get_or_create(&old).set(0);
            }
            if let Some(now) = &live {
                self.fault_active.get_or_create(now).set(1);
            }
            seen.active = live;
        }
        // Probe readings taken since the last batch.
        for (probe, readings) in &s.steady.readings {
            let last = seen.readings.get(probe).copied();
            let labels = ProbeLabels { probe: probe.clone() };
            for r in readings.iter().filter(|r| last.is_none_or(|l| r.at_ms > l)) {
                if let Some(ms) = r.outcome.latency_ms {
                    self.probe_latency.get_or_create(&labels).observe(ms / 1000.0);
                }
            }
            if let Some(r) = readings.back() {
                match r.outcome.ok {
                    Some(ok) => {
                        self.probe_success.get_or_create(&labels).set(i64::from(ok));
                    }
                    None => {
                        self.probe_success.remove(&labels);
                    }
                }
                seen.readings.insert(probe.clone(), r.at_ms);
            }
        }
        self.steady.set(match s.steady.hypothesis(&s.steady_view()) {
            Verdict::Holds { .. } => 1,
            Verdict::Broken { .. } => 0,
            Verdict::Unknown { .. } => -1,
        });
    }
}

/// Serves `/metrics` on `addr` (bound now, so a port in use is said at once) from a task on the
/// current runtime.
pub async fn serve(addr: SocketAddr, metrics: Arc<Metrics>) -> anyhow::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("--metrics-addr {addr}: cannot listen: {e}"))?;
    let bound = listener.local_addr()?;
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let metrics = metrics.clone();
            async move {
                (
                    [(axum::http::header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")],
                    metrics.render(),
                )
            }
        }),
    );
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(bound)
}
