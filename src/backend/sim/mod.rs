//! The embedded simulated cluster (`--demo`): the Sock Shop on three nodes, behind the same
//! backend trait as the real ones. `SimCluster` is the pure model; `SimBackend` runs its clock
//! in real time and streams its deltas.

pub mod cluster;
pub mod shop;
pub mod traffic;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::mpsc::UnboundedSender;

pub use cluster::SimCluster;

use super::{Backend, BackendError, BackendInfo, FaultSpec, RevertHandle, Support, TopologyDelta};

/// What ends a demo fault if its console dies (the confirmation says it).
pub const ENDS: &str = "the simulated cluster lives in this console and ends with it";

type Sinks = Arc<Mutex<Vec<UnboundedSender<TopologyDelta>>>>;
/// The lines the cluster said about its own faults and `seen` has not yet kept back.
type Told = Arc<Mutex<Vec<TopologyDelta>>>;

pub struct SimBackend {
    cluster: Arc<Mutex<SimCluster>>,
    sinks: Sinks,
    told: Told,
    tick: Duration,
    /// How long each API call (prepare, inject, revert) takes: a slow API, rehearsed.
    latency: Duration,
    /// Where each API call is logged as it arrives (`<unix ms> <call> <fault>`), for benchmarks.
    call_log: Option<std::path::PathBuf>,
}

impl SimBackend {
    pub fn new(seed: u64, tick: Duration) -> SimBackend {
        SimBackend {
            cluster: Arc::new(Mutex::new(SimCluster::new(seed))),
            sinks: Arc::default(),
            told: Arc::default(),
            tick,
            latency: Duration::ZERO,
            call_log: None,
        }
    }

    /// Every API call takes this long (`--demo-api-latency`).
    pub fn with_api_latency(mut self, latency: Duration) -> SimBackend {
        self.latency = latency;
        self
    }

    /// Logs each API call as it arrives (`--demo-call-log`).
    pub fn with_call_log(mut self, path: Option<std::path::PathBuf>) -> SimBackend {
        self.call_log = path;
        self
    }

    /// A call arrives: logged, then it takes the API's time.
    async fn arrive(&self, call: &str, fault: u64) {
        if let Some(path) = &self.call_log {
            use std::io::Write as _;
            let ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_millis();
            if let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(path) {
                let _ = writeln!(f, "{ms} {call} {fault}");
            }
        }
        if !self.latency.is_zero() {
            tokio::time::sleep(self.latency).await;
        }
    }

    /// See `SimCluster::hide_fault_events` (a drill responder's replay).
    pub fn hide_fault_events(&self) {
        self.with(SimCluster::hide_fault_events);
    }

    /// Makes the next `n` reverts fail (to rehearse an unreachable API).
    pub fn fail_next_reverts(&self, n: u32) {
        self.with(|c| c.fail_next_reverts(n));
    }

    fn with<R>(&self, f: impl FnOnce(&mut SimCluster) -> R) -> R {
        let mut c = self.cluster.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut c)
    }

    /// What the cluster has to say since the last time, its lines about its own faults kept
    /// aside for `seen` (at most the last 256: a served drill's feed reads them at once).
    fn drain(c: &mut SimCluster, told: &Told) -> Vec<TopologyDelta> {
        let deltas = c.drain();
        let tells = c.take_tells();
        if !tells.is_empty() {
            let mut t = told.lock().unwrap_or_else(|p| p.into_inner());
            t.extend(tells);
            let over = t.len().saturating_sub(256);
            t.drain(..over);
        }
        deltas
    }

    fn publish(sinks: &Sinks, deltas: Vec<TopologyDelta>) {
        let mut sinks = sinks.lock().unwrap_or_else(|p| p.into_inner());
        sinks.retain(|tx| deltas.iter().all(|d| tx.send(d.clone()).is_ok()));
    }
}

#[async_trait]
impl Backend for SimBackend {
    fn info(&self) -> BackendInfo {
        BackendInfo { kind: "demo".into(), cluster: "sock-shop (simulated, 3 nodes)".into(), pod_word: "pod".into() }
    }

    fn supports(&self, action: &str) -> Support {
        if cluster::ACTIONS.contains(&action) {
            Support::Yes
        } else {
            Support::No(format!("the demo cluster cannot simulate '{action}'"))
        }
    }

    fn watch(&self, tx: UnboundedSender<TopologyDelta>) {
        let (snapshot, samples) = self.with(|c| {
            let samples: Vec<TopologyDelta> =
                c.drain().into_iter().filter(|d| matches!(d, TopologyDelta::Samples(_))).collect();
            (c.topology(), samples)
        });
        if tx.send(TopologyDelta::Snapshot(snapshot)).is_err() || samples.into_iter().any(|s| tx.send(s).is_err()) {
            return;
        }
        let first = {
            let mut sinks = self.sinks.lock().unwrap_or_else(|p| p.into_inner());
            sinks.push(tx);
            sinks.len() == 1
        };
        if first {
            let (cluster, sinks, told, tick) = (self.cluster.clone(), self.sinks.clone(), self.told.clone(), self.tick);
            tokio::spawn(async move {
                let mut interval = tokio::time::interval(tick);
                interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                interval.tick().await;
                loop {
                    interval.tick().await;
                    let deltas = {
                        let mut c = cluster.lock().unwrap_or_else(|p| p.into_inner());
                        c.step(tick.as_millis() as u64);
                        Self::drain(&mut c, &told)
                    };
                    Self::publish(&sinks, deltas);
                    if sinks.lock().map(|s| s.is_empty()).unwrap_or(true) {
                        break;
                    }
                }
            });
        }
    }

    fn faults_outlive_process(&self) -> bool {
        false
    }

    /// No real cluster notes on a pod what a fault does to it, or says so on its timeline: a
    /// served drill's responder sees neither.
    fn seen(&self, delta: TopologyDelta) -> Option<TopologyDelta> {
        let unnoted = |mut p: crate::model::Pod| {
            p.note = None;
            p
        };
        match delta {
            TopologyDelta::UpsertPod(p) => Some(TopologyDelta::UpsertPod(unnoted(p))),
            TopologyDelta::Snapshot(mut t) => {
                let noted: Vec<crate::model::Pod> = t.pods().filter(|p| p.note.is_some()).cloned().collect();
                noted.into_iter().for_each(|p| t.upsert_pod(unnoted(p)));
                Some(TopologyDelta::Snapshot(t))
            }
            e @ TopologyDelta::ClusterEvent { .. } => {
                let mut told = self.told.lock().unwrap_or_else(|p| p.into_inner());
                match told.iter().position(|t| *t == e) {
                    Some(i) => {
                        told.remove(i);
                        None
                    }
                    None => Some(e),
                }
            }
            other => Some(other),
        }
    }

    async fn prepare(&self, spec: &FaultSpec) -> Result<RevertHandle, BackendError> {
        self.arrive("prepare", spec.fault_id).await;
        self.with(|c| c.prepare(spec))
    }

    async fn preview(&self, spec: &FaultSpec) -> Result<crate::model::Prepared, BackendError> {
        let handle = self.prepare(spec).await?;
        Ok(crate::model::Prepared {
            handle,
            found: Vec::new(),
            ends_by_itself: Some(ENDS.to_string()),
            fixed_end: None,
        })
    }

    async fn inject(&self, spec: &FaultSpec, prepared: &RevertHandle) -> Result<RevertHandle, BackendError> {
        self.arrive("inject", spec.fault_id).await;
        let (result, deltas) = self.with(|c| {
            let r = c.inject(spec, prepared);
            (r, Self::drain(c, &self.told))
        });
        Self::publish(&self.sinks, deltas);
        result
    }

    async fn revert(&self, handle: &RevertHandle) -> Result<crate::backend::Reverted, BackendError> {
        self.arrive("revert", handle.fault_id).await;
        let (result, deltas) = self.with(|c| {
            let r = c.revert(handle);
            (r, Self::drain(c, &self.told))
        });
        Self::publish(&self.sinks, deltas);
        result.map(|()| Default::default())
    }
}
