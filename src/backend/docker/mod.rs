//! The Docker backend (`--docker`): containers grouped by Compose project and service, live from
//! the engine's event stream, and Pumba-class faults: kill, stop, pause, restart, network
//! disconnect, CPU and memory throttling, and netem/tbf through a helper container that
//! removes its qdisc by itself when the fault's time is up.

pub mod faults;
pub mod helper;
pub mod netem;
pub mod plan;
pub mod topology;
pub mod watch;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bollard::query_parameters::ListContainersOptionsBuilder;
use bollard::Docker;
use tokio::sync::mpsc::UnboundedSender;

use self::faults::{Ctx, Plan, Target};
use super::{Backend, BackendError, BackendInfo, FaultSpec, Leftover, RevertHandle, Support, TopologyDelta};

/// The helper image Pumba uses for netem: Alpine with iproute2.
pub const DEFAULT_NETEM_IMAGE: &str = "ghcr.io/alexei-led/pumba-alpine-nettools:latest";

pub struct DockerBackend {
    ctx: Arc<Ctx>,
    host: String,
    version: String,
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
        let ctx = Ctx { docker, own: own_container_id(), netem_image: netem_image.to_string() };
        Ok(DockerBackend { ctx: Arc::new(ctx), host, version })
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

    /// In the background: is the helper image here, and does this kernel have netem? The
    /// answers disable the presets that cannot work, with the reason.
    fn probe_capabilities(&self, tx: UnboundedSender<TopologyDelta>) {
        let ctx = self.ctx.clone();
        tokio::spawn(async move {
            faults::sweep_oneshots(&ctx.docker).await;
            let all: Vec<&str> = netem::ACTIONS.iter().map(|(a, _)| *a).collect();
            let say = |actions: &[&str], support: Support| {
                for a in actions {
                    let _ = tx.send(TopologyDelta::Capability { action: a.to_string(), support: support.clone() });
                }
            };
            if ctx.docker.inspect_image(&ctx.netem_image).await.is_err() {
                let why = format!(
                    "the network helper image {} is not on this Docker host (pull or build one, or pass --netem-image)",
                    ctx.netem_image
                );
                return say(&all, Support::No(why));
            }
            if let Err(why) = faults::probe_netem(&ctx.docker, &ctx.netem_image).await {
                let netem: Vec<&str> = all.iter().copied().filter(|a| netem::needs_netem(a)).collect();
                say(&netem, Support::No(why));
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
        self.probe_capabilities(tx);
    }

    async fn prepare(&self, spec: &FaultSpec) -> Result<RevertHandle, BackendError> {
        let plan = faults::prepare(&self.ctx, spec).await?;
        Ok(plan.handle(spec.fault_id, false))
    }

    async fn inject(&self, spec: &FaultSpec, prepared: &RevertHandle) -> Result<RevertHandle, BackendError> {
        let plan = Plan::from_handle(prepared)?;
        faults::inject(&self.ctx, spec, &plan).await?;
        Ok(plan.handle(spec.fault_id, true))
    }

    async fn revert(&self, handle: &RevertHandle) -> Result<(), BackendError> {
        faults::revert(&self.ctx, &Plan::from_handle(handle)?).await
    }

    /// Running helpers carry their session, fault and target in labels: any process can find
    /// them and undo their qdisc.
    async fn leftovers(&self) -> Result<Vec<Leftover>, BackendError> {
        let filters = std::collections::HashMap::from([("label", vec![topology::HELPER])]);
        let opts = ListContainersOptionsBuilder::default().all(true).filters(&filters).build();
        let helpers =
            self.ctx.docker.list_containers(Some(opts)).await.map_err(|e| BackendError::Failed(e.to_string()))?;
        let mut out = Vec::new();
        for h in helpers {
            let labels = h.labels.unwrap_or_default();
            if labels.get(topology::HELPER).is_some_and(|v| v == helper::ONESHOT) {
                continue;
            }
            let get = |k: &str| labels.get(k).cloned().unwrap_or_default();
            let (Some(name), Ok(fault_id)) =
                (h.names.and_then(|n| n.first().cloned()), get(helper::FAULT).parse::<u64>())
            else {
                continue;
            };
            let plan = Plan::Netem {
                targets: vec![Target { id: get(helper::TARGET), name: get(helper::TARGET_NAME) }],
                helpers: vec![name.trim_start_matches('/').to_string()],
                qdisc: get(helper::QDISC),
                image: h.image.unwrap_or_else(|| self.ctx.netem_image.clone()),
                seconds: 0,
            };
            out.push(Leftover {
                session: get(helper::SESSION),
                fault_id,
                what: format!("{} (helper {})", plan.summary(true), name.trim_start_matches('/')),
                handle: plan.handle(fault_id, true),
                journal: None,
                found_by: "helper container's labels".into(),
            });
        }
        Ok(out)
    }
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
