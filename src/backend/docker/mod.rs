//! The Docker backend (`--docker`): containers grouped by Compose project and service, live from
//! the engine's event stream, and Pumba-class faults: kill, stop, pause, restart, network
//! disconnect, CPU and memory throttling, and netem/tbf through a helper container that
//! removes its qdisc by itself when the fault's time is up.

pub mod errors;
pub mod faults;
pub mod handle;
pub mod helper;
pub mod lock;
pub mod markers;
pub mod netem;
pub mod revert;
pub mod stats;
pub mod topology;
pub mod watch;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bollard::query_parameters::ListContainersOptionsBuilder;
use bollard::Docker;
use tokio::sync::mpsc::UnboundedSender;

use self::faults::{Container, Ctx, HandleData};
use super::{Backend, BackendError, BackendInfo, FaultSpec, Leftover, RevertHandle, Support, TopologyDelta};

/// The helper image Pumba uses for netem: Alpine with iproute2.
pub const DEFAULT_NETEM_IMAGE: &str = "ghcr.io/alexei-led/pumba-alpine-nettools:latest";

pub struct DockerBackend {
    ctx: Arc<Ctx>,
    host: String,
    version: String,
    /// One fault at a time across every console on this engine.
    lock: Arc<lock::DockerLock>,
    /// Where golden signals come from, when the user named it.
    prometheus: Option<crate::backend::signals::PrometheusConfig>,
}

/// Where the docker CLI would connect: `DOCKER_HOST` or the default socket.
pub fn endpoint() -> String {
    std::env::var("DOCKER_HOST").unwrap_or_else(|_| "unix:///var/run/docker.sock".into())
}

/// This process's container id, if it runs in a Docker container.
pub fn own_container_id() -> Option<String> {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let cgroup = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    own_id_in(&[&mountinfo, &cgroup])
}

/// The container id in /proc/self/mountinfo (`/docker/containers/<id>/hostname`) or
/// /proc/self/cgroup (`/docker/<id>`, `docker-<id>.scope`).
fn own_id_in(texts: &[&str]) -> Option<String> {
    let re = regex::Regex::new(r"/docker/containers/([0-9a-f]{64})/|docker[-/]([0-9a-f]{64})").ok()?;
    texts
        .iter()
        .find_map(|text| re.captures(text).and_then(|c| c.get(1).or_else(|| c.get(2))).map(|m| m.as_str().to_string()))
}

impl DockerBackend {
    /// Connects the way the docker CLI does and negotiates the API version (engines here can
    /// be older than bollard's default).
    pub async fn connect(netem_image: &str) -> anyhow::Result<DockerBackend> {
        let docker = Docker::connect_with_defaults().map_err(|e| unreachable(&e))?;
        Self::with_client(docker, netem_image).await
    }

    /// The backend on a client already made (another socket, in tests).
    pub async fn with_client(docker: Docker, netem_image: &str) -> anyhow::Result<DockerBackend> {
        let docker = tokio::time::timeout(Duration::from_secs(5), docker.negotiate_version())
            .await
            .map_err(|_| unreachable(&"no answer within 5 s"))?
            .map_err(|e| unreachable(&e))?;
        let info = docker.info().await.map_err(|e| unreachable(&e))?;
        let host = info.name.unwrap_or_else(|| "docker".into());
        let version = info.server_version.unwrap_or_default();
        let lock = Arc::new(lock::DockerLock::new(docker.clone(), &host));
        let ctx = Ctx::new(docker, own_container_id(), netem_image);
        Ok(DockerBackend { ctx: Arc::new(ctx), host, version, lock, prometheus: None })
    }

    /// Golden signals from this Prometheus (else a compose service named prometheus).
    pub fn with_prometheus(mut self, prometheus: Option<crate::backend::signals::PrometheusConfig>) -> DockerBackend {
        self.prometheus = prometheus;
        self
    }
}

fn unreachable(e: &dyn std::fmt::Display) -> anyhow::Error {
    anyhow::anyhow!(
        "cannot reach the Docker engine at {}: {e}\n\
         Is the daemon running, and may this user use it? (set DOCKER_HOST to use another engine)",
        endpoint()
    )
}

impl DockerBackend {
    pub fn docker(&self) -> &Docker {
        &self.ctx.docker
    }

    /// In the background: is the helper image here, does its tc work, and does this kernel
    /// have netem? Checked once; the answers disable the presets that cannot work, with the
    /// reason.
    fn probe_capabilities(&self, tx: UnboundedSender<TopologyDelta>) {
        let ctx = self.ctx.clone();
        tokio::spawn(async move {
            helper::sweep_oneshots(&ctx.docker).await;
            let check = ctx.helper().await;
            for (action, needs_netem) in netem::ACTIONS {
                let why = match (&check.tc, &check.netem) {
                    (Err(why), _) => why,
                    (Ok(()), Err(why)) if *needs_netem => why,
                    _ => continue,
                };
                let support = Support::No(why.clone());
                let _ = tx.send(TopologyDelta::Capability { action: action.to_string(), support });
            }
        });
    }
}

#[async_trait]
impl Backend for DockerBackend {
    fn info(&self) -> BackendInfo {
        BackendInfo {
            kind: "docker".into(),
            cluster: format!("docker on {} (engine {})", self.host, self.version),
            pod_word: "container".into(),
        }
    }

    fn supports(&self, action: &str) -> Support {
        if faults::ACTIONS.contains(&action) {
            Support::Yes
        } else {
            Support::No(format!("not a Docker fault ('{action}' needs Kubernetes or the demo cluster)"))
        }
    }

    fn watch(&self, tx: UnboundedSender<TopologyDelta>) {
        watch::spawn(self.ctx.docker.clone(), self.host.clone(), self.ctx.own.clone(), tx.clone());
        stats::spawn(self.ctx.docker.clone(), self.ctx.own.clone(), self.prometheus.clone(), tx.clone());
        crate::backend::lock::ClusterLock::watch(self.lock.as_ref(), tx.clone());
        self.probe_capabilities(tx);
    }

    async fn prepare(&self, spec: &FaultSpec) -> Result<RevertHandle, BackendError> {
        let plan = faults::prepare(&self.ctx, spec).await?;
        Ok(plan.handle(&spec.session, spec.fault_id, false))
    }

    fn lock(&self) -> Option<Arc<dyn crate::backend::lock::ClusterLock>> {
        Some(self.lock.clone())
    }

    async fn preview(&self, spec: &FaultSpec) -> Result<crate::model::Prepared, BackendError> {
        let plan = faults::prepare(&self.ctx, spec).await?;
        let ends_by_itself = match &plan {
            HandleData::Netem { seconds, .. } if *seconds > 0 => {
                Some("its helper container removes the qdisc at its duration".into())
            }
            _ => None,
        };
        let handle = plan.handle(&spec.session, spec.fault_id, false);
        let fixed_end = self.fixed_end(&handle);
        Ok(crate::model::Prepared { handle, found: Vec::new(), ends_by_itself, fixed_end })
    }

    /// Every fault on an engine: the lock container's deadline label cannot change, and past it a
    /// second console or the watchdog reverts the fault; a helper's timer too.
    fn fixed_end(&self, handle: &RevertHandle) -> Option<String> {
        let helper = matches!(HandleData::from_handle(handle), Ok(HandleData::Netem { .. }));
        Some(match helper {
            true => "its helper container removes the qdisc at its duration".into(),
            false => {
                "the engine's lock keeps the deadline it was taken with (a container's labels cannot change)".into()
            }
        })
    }

    async fn inject(&self, spec: &FaultSpec, prepared: &RevertHandle) -> Result<RevertHandle, BackendError> {
        let plan = HandleData::from_handle(prepared)?;
        faults::inject(&self.ctx, spec, &plan).await?;
        Ok(plan.handle(&spec.session, spec.fault_id, true))
    }

    async fn revert(&self, handle: &RevertHandle) -> Result<crate::backend::Reverted, BackendError> {
        let plan = HandleData::from_handle(handle)?;
        revert::revert(&self.ctx, &plan, HandleData::session_of(handle), handle.fault_id)
            .await
            .map(|()| Default::default())
    }

    /// Every fault leaves a marker on the engine (and a network fault a helper): any process
    /// finds them, whatever its data directory, and knows how to undo them. A network fault
    /// whose helpers all removed their qdisc when its time was up ended by itself.
    async fn leftovers(&self) -> Result<Vec<Leftover>, BackendError> {
        let d = &self.ctx.docker;
        let mut out = Vec::new();
        for m in markers::find(d).await? {
            let mut l = m.leftover();
            if let HandleData::Netem { helpers, .. } = &m.plan {
                l.ended = expired(d, helpers, m.deadline).await;
            }
            out.push(l);
        }
        // A helper whose marker is gone (removed by hand, or a console from before markers).
        let filters = std::collections::HashMap::from([("label", vec![topology::HELPER])]);
        let opts = ListContainersOptionsBuilder::default().all(true).filters(&filters).build();
        let helpers = d.list_containers(Some(opts)).await.map_err(|e| BackendError::Failed(e.to_string()))?;
        for h in helpers {
            let labels = h.labels.unwrap_or_default();
            if labels.get(topology::HELPER).is_none_or(|v| v != "netem") {
                continue;
            }
            let get = |k: &str| labels.get(k).cloned().unwrap_or_default();
            let (Some(name), Ok(fault_id)) =
                (h.names.and_then(|n| n.first().cloned()), get(helper::FAULT).parse::<u64>())
            else {
                continue;
            };
            let session = get(helper::SESSION);
            if out.iter().any(|l| l.session == session && l.fault_id == fault_id) {
                continue;
            }
            let name = name.trim_start_matches('/').to_string();
            let plan = HandleData::Netem {
                targets: vec![Container { id: get(helper::TARGET), name: get(helper::TARGET_NAME) }],
                helpers: vec![name.clone()],
                qdisc: get(helper::QDISC),
                image: h.image.unwrap_or_else(|| self.ctx.netem_image.clone()),
                seconds: 0,
            };
            let deadline = get(helper::DEADLINE).parse().ok();
            let ended = expired(d, std::slice::from_ref(&name), deadline).await;
            out.push(Leftover {
                deadline,
                what: format!("{} (helper {name})", plan.summary(true)),
                handle: plan.handle(&session, fault_id, true),
                session,
                fault_id,
                journal: None,
                found_by: "helper container's labels".into(),
                ended,
            });
        }
        Ok(out)
    }
}

/// Whether a network fault ended by itself: every helper exited 0 (its script removes the qdisc
/// before it exits, on expiry or when told to stop). A helper that is running, was killed, or
/// is gone proves nothing: the fault may still be in effect.
async fn expired(d: &bollard::Docker, helpers: &[String], deadline: Option<i64>) -> Option<String> {
    if helpers.is_empty() {
        return None;
    }
    for h in helpers {
        let i = d.inspect_container(h, None::<bollard::query_parameters::InspectContainerOptions>).await.ok()?;
        let state = i.state?;
        if state.running == Some(true) || state.exit_code != Some(0) {
            return None;
        }
    }
    let at = deadline
        .and_then(|s| chrono::DateTime::from_timestamp(s, 0))
        .map(|t| format!(" at {}", t.format("%Y-%m-%d %H:%M:%S UTC")))
        .unwrap_or_default();
    Some(format!("its time was up{at} and its helper removed the qdisc"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_console_finds_its_own_container() {
        let id = "a".repeat(64);
        let mountinfo = format!("612 590 0:52 /docker/containers/{id}/hostname /etc/hostname rw - ext4 /dev/sda1 rw");
        assert_eq!(super::own_id_in(&[&mountinfo, ""]), Some(id.clone()));
        let cgroup = format!("0::/system.slice/docker-{id}.scope");
        assert_eq!(super::own_id_in(&["", &cgroup]), Some(id));
        assert_eq!(super::own_id_in(&["25 1 0:22 / /sys rw", "0::/user.slice"]), None);
    }
}
