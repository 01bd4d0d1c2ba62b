//! Resources on Docker, from the engine's own stats stream (what `docker stats` shows): CPU,
//! memory, network and block I/O per container, one stream per running container, summed to
//! `TopologyDelta::Usage` every few seconds. Golden signals come from a Prometheus: the one
//! `--prometheus` names, else a compose service named `prometheus` that publishes its port.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bollard::models::ContainerStatsResponse;
use bollard::query_parameters::{ListContainersOptionsBuilder, StatsOptionsBuilder};
use bollard::Docker;
use futures::StreamExt;
use tokio::sync::mpsc::UnboundedSender;

use super::topology::Ctr;
use crate::backend::signals::{self, Prometheus, PrometheusConfig};
use crate::model::{PodUsage, SourceKind, SourceState, TopologyDelta};

/// How often the usage is sent, and the running containers looked at again.
pub const EVERY: Duration = Duration::from_secs(2);
/// What the usage is said to come from.
pub const SOURCE: &str = "Docker stats";

/// What is said when no Prometheus is known on Docker.
pub const NO_PROMETHEUS: &str = "no Prometheus known on this engine (no compose service named prometheus \
     publishes a port): the health panel shows CPU, memory and reachability; --prometheus URL (or \
     `prometheus = \"URL\"` in config.toml) names one";

/// One container's last reading, and the counters it was computed from.
#[derive(Clone, Debug, Default)]
struct Last {
    usage: PodUsage,
    net: Option<(Instant, u64, u64)>,
    block: Option<(Instant, u64)>,
}

/// CPU in millicores between two readings (the engine gives the previous one with each).
fn cpu_m(s: &ContainerStatsResponse) -> Option<f64> {
    let (now, pre) = (s.cpu_stats.as_ref()?, s.precpu_stats.as_ref()?);
    let used = now.cpu_usage.as_ref()?.total_usage? as f64 - pre.cpu_usage.as_ref()?.total_usage? as f64;
    let system = now.system_cpu_usage? as f64 - pre.system_cpu_usage.unwrap_or(0) as f64;
    let cpus = now.online_cpus.unwrap_or(1).max(1) as f64;
    (system > 0.0 && used >= 0.0).then(|| used / system * cpus * 1000.0)
}

/// Memory in use, less the page cache (as `docker stats` counts it).
fn memory(s: &ContainerStatsResponse) -> Option<f64> {
    let m = s.memory_stats.as_ref()?;
    let usage = m.usage? as f64;
    let cache = m
        .stats
        .as_ref()
        .and_then(|st| st.get("inactive_file").or_else(|| st.get("total_inactive_file")).copied())
        .unwrap_or(0) as f64;
    Some((usage - cache).max(0.0))
}

fn net_bytes(s: &ContainerStatsResponse) -> Option<(u64, u64)> {
    let nets = s.networks.as_ref()?;
    Some(nets.values().fold((0, 0), |(rx, tx), n| (rx + n.rx_bytes.unwrap_or(0), tx + n.tx_bytes.unwrap_or(0))))
}

fn block_bytes(s: &ContainerStatsResponse) -> Option<u64> {
    let entries = s.blkio_stats.as_ref()?.io_service_bytes_recursive.as_ref()?;
    Some(entries.iter().filter_map(|e| e.value).sum())
}

/// A new reading after `last`: the rates since.
fn next(last: &Last, s: &ContainerStatsResponse, at: Instant) -> Last {
    let mut out = Last { usage: last.usage.clone(), ..Default::default() };
    if let Some(c) = cpu_m(s) {
        out.usage.cpu_m = c;
    }
    if let Some(m) = memory(s) {
        out.usage.memory_bytes = m;
    }
    if let Some((rx, tx)) = net_bytes(s) {
        if let Some((t0, rx0, tx0)) = last.net {
            let dt = at.duration_since(t0).as_secs_f64();
            if dt > 0.0 {
                out.usage.net_rx_bps = Some(rx.saturating_sub(rx0) as f64 / dt);
                out.usage.net_tx_bps = Some(tx.saturating_sub(tx0) as f64 / dt);
            }
        }
        out.net = Some((at, rx, tx));
    }
    if let Some(b) = block_bytes(s) {
        if let Some((t0, b0)) = last.block {
            let dt = at.duration_since(t0).as_secs_f64();
            if dt > 0.0 {
                out.usage.block_bps = Some(b.saturating_sub(b0) as f64 / dt);
            }
        }
        out.block = Some((at, b));
    }
    out
}

/// Reads every running container's stats until the console goes away.
pub fn spawn(docker: Docker, own: Option<String>, named: Option<PrometheusConfig>, tx: UnboundedSender<TopologyDelta>) {
    let seen: Arc<Mutex<HashMap<String, Last>>> = Default::default();
    let usage_tx = tx.clone();
    let d = docker.clone();
    tokio::spawn(async move {
        let mut streams: HashMap<String, tokio::task::AbortHandle> = HashMap::new();
        let mut tick = tokio::time::interval(EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut up = false;
        loop {
            tick.tick().await;
            let opts = ListContainersOptionsBuilder::new().all(false).build();
            let running = match d.list_containers(Some(opts)).await {
                Ok(r) => r,
                Err(_) => continue, // the topology's watch says the engine is lost
            };
            let ctrs: Vec<Ctr> = running.iter().filter_map(Ctr::from_summary).collect();
            let ids: Vec<String> = ctrs.iter().map(|c| c.id.clone()).collect();
            streams.retain(|id, task| {
                let keep = ids.contains(id) && !task.is_finished();
                if !keep {
                    task.abort();
                }
                keep
            });
            if let Ok(mut s) = seen.lock() {
                s.retain(|id, _| ids.contains(id));
            }
            for c in ctrs.iter().filter(|c| !c.is_helper() && own.as_deref() != Some(c.id.as_str())) {
                if streams.contains_key(&c.id) {
                    continue;
                }
                let base = PodUsage { namespace: c.namespace().to_string(), pod: c.name.clone(), ..Default::default() };
                streams.insert(c.id.clone(), follow(d.clone(), c.id.clone(), base, seen.clone()));
            }
            let pods: Vec<PodUsage> =
                seen.lock().map(|s| s.values().map(|l| l.usage.clone()).collect()).unwrap_or_default();
            if !up {
                up = true;
                let state = SourceState::Up { families: vec!["the engine's stats".into()] };
                if usage_tx
                    .send(TopologyDelta::Source { kind: SourceKind::Resources, name: SOURCE.into(), state })
                    .is_err()
                {
                    break;
                }
            }
            if usage_tx.send(TopologyDelta::Usage { source: SOURCE.into(), pods }).is_err() {
                break;
            }
        }
        for (_, t) in streams {
            t.abort();
        }
    });
    tokio::spawn(async move {
        let prom = match named {
            Some(config) => Prometheus::direct(&config),
            None => match compose_prometheus(&docker).await {
                Some(url) => Prometheus::direct(&PrometheusConfig { url, auth: signals::Auth::from_env() }),
                None => {
                    let state = SourceState::Absent { hint: NO_PROMETHEUS.into() };
                    let _ =
                        tx.send(TopologyDelta::Source { kind: SourceKind::Requests, name: "Prometheus".into(), state });
                    return;
                }
            },
        };
        match prom {
            Ok(p) => signals::read(p, tx).await,
            Err(why) => {
                let state = SourceState::Down { why };
                let _ = tx.send(TopologyDelta::Source { kind: SourceKind::Requests, name: "Prometheus".into(), state });
            }
        }
    });
}

/// One container's stats stream: its last reading kept in `seen` until it ends.
fn follow(
    docker: Docker,
    id: String,
    base: PodUsage,
    seen: Arc<Mutex<HashMap<String, Last>>>,
) -> tokio::task::AbortHandle {
    let task = tokio::spawn(async move {
        let opts = StatsOptionsBuilder::new().stream(true).one_shot(false).build();
        let mut stream = docker.stats(&id, Some(opts));
        let mut last = Last { usage: base, ..Default::default() };
        while let Some(Ok(s)) = stream.next().await {
            last = next(&last, &s, Instant::now());
            if let Ok(mut map) = seen.lock() {
                map.insert(id.clone(), last.clone());
            }
        }
        if let Ok(mut map) = seen.lock() {
            map.remove(&id);
        }
    });
    task.abort_handle()
}

/// A compose service named `prometheus` that publishes its port (9090, or the first) on the
/// host: its URL on loopback.
async fn compose_prometheus(docker: &Docker) -> Option<String> {
    let running = docker.list_containers(Some(ListContainersOptionsBuilder::new().all(false).build())).await.ok()?;
    running.iter().find_map(|c| {
        let labels = c.labels.as_ref()?;
        if labels.get("com.docker.compose.service").map(String::as_str) != Some("prometheus") {
            return None;
        }
        let ports = c.ports.as_ref()?;
        let p = ports
            .iter()
            .find(|p| p.private_port == 9090 && p.public_port.is_some())
            .or_else(|| ports.iter().find(|p| p.public_port.is_some()))?;
        Some(format!("http://127.0.0.1:{}", p.public_port?))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard::models::{ContainerCpuStats, ContainerCpuUsage, ContainerMemoryStats};

    fn stats(total: u64, system: u64, pre_total: u64, pre_system: u64, mem: u64) -> ContainerStatsResponse {
        let cpu = |t, s| ContainerCpuStats {
            cpu_usage: Some(ContainerCpuUsage { total_usage: Some(t), ..Default::default() }),
            system_cpu_usage: Some(s),
            online_cpus: Some(2),
            ..Default::default()
        };
        ContainerStatsResponse {
            cpu_stats: Some(cpu(total, system)),
            precpu_stats: Some(cpu(pre_total, pre_system)),
            memory_stats: Some(ContainerMemoryStats {
                usage: Some(mem),
                stats: Some([("inactive_file".to_string(), 1000)].into_iter().collect()),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn cpu_and_memory_as_docker_stats_counts_them() {
        // Half of the system's time over 2 CPUs: one core.
        let s = stats(1_500, 2_000, 1_000, 1_000, 11_000);
        assert_eq!(cpu_m(&s), Some(1000.0));
        assert_eq!(memory(&s), Some(10_000.0));
        let l = next(&Last::default(), &s, Instant::now());
        assert_eq!((l.usage.cpu_m, l.usage.memory_bytes), (1000.0, 10_000.0));
    }
}
