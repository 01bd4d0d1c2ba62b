//! How Docker containers appear in the console: compose project = namespace, compose service =
//! workload, container = pod, the engine's host = the one node. Standalone containers sit in
//! the namespace `standalone`, each its own workload. gameday's own helpers are not shown.

use std::collections::BTreeMap;

use bollard::models::{
    ContainerInspectResponse, ContainerStateStatusEnum, ContainerSummary, ContainerSummaryStateEnum, HealthStatusEnum,
    PortSummaryTypeEnum,
};

use crate::model::{Caveats, Pod, PodPhase, Topology, Workload};

pub const STANDALONE: &str = "standalone";
pub const PROJECT: &str = "com.docker.compose.project";
pub const SERVICE: &str = "com.docker.compose.service";
/// Set on gameday's own helper containers.
pub const HELPER: &str = "gameday.helper";

/// What the console needs of a container, from a list summary or an inspect.
#[derive(Clone, Debug, PartialEq)]
pub struct Ctr {
    pub id: String,
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub phase: PodPhase,
    /// "healthy", "unhealthy", "starting"; `None` without a HEALTHCHECK.
    pub health: Option<String>,
    /// Known only from an inspect.
    pub restarts: Option<u32>,
    pub networks: Vec<String>,
    /// A TCP port published on the host, as an address the console can reach ("127.0.0.1:8080").
    pub published: Option<String>,
    /// `default`, `bridge`, `host`, `none`, a network's name, or `container:<id>`.
    pub network_mode: Option<String>,
    /// A restart policy that restarts it ("always", "unless-stopped", "on-failure"); known only
    /// from an inspect.
    pub restart: Option<String>,
    /// Its STOPSIGNAL, if it sets one; known only from an inspect.
    pub stop_signal: Option<String>,
}

/// A published host address as the console reaches it: a wildcard bind is reached on loopback.
fn reachable(ip: Option<&str>, port: u16) -> String {
    match ip {
        None | Some("") | Some("0.0.0.0") => format!("127.0.0.1:{port}"),
        Some("::") => format!("[::1]:{port}"),
        Some(ip) if ip.contains(':') => format!("[{ip}]:{port}"),
        Some(ip) => format!("{ip}:{port}"),
    }
}

fn name_of(raw: &str) -> String {
    raw.trim_start_matches('/').to_string()
}

/// `(healthy)`, `(unhealthy)`, `(health: starting)` at the end of a list status.
fn health_in_status(status: &str) -> Option<String> {
    if status.contains("(healthy)") {
        Some("healthy".into())
    } else if status.contains("(unhealthy)") {
        Some("unhealthy".into())
    } else if status.contains("(health: starting)") {
        Some("starting".into())
    } else {
        None
    }
}

/// The code in `Exited (137) 2 seconds ago`.
fn exit_code_in_status(status: &str) -> i64 {
    status
        .split_once('(')
        .and_then(|(_, rest)| rest.split_once(')'))
        .and_then(|(code, _)| code.trim().parse().ok())
        .unwrap_or(0)
}

impl Ctr {
    pub fn from_summary(s: &ContainerSummary) -> Option<Ctr> {
        let status = s.status.clone().unwrap_or_default();
        let phase = match s.state? {
            ContainerSummaryStateEnum::RUNNING => PodPhase::Running,
            ContainerSummaryStateEnum::PAUSED => PodPhase::Paused,
            ContainerSummaryStateEnum::RESTARTING => PodPhase::Restarting,
            ContainerSummaryStateEnum::REMOVING | ContainerSummaryStateEnum::STOPPING => PodPhase::Terminating,
            ContainerSummaryStateEnum::EXITED | ContainerSummaryStateEnum::DEAD => {
                PodPhase::Exited(exit_code_in_status(&status))
            }
            ContainerSummaryStateEnum::CREATED | ContainerSummaryStateEnum::EMPTY => PodPhase::Pending,
        };
        Some(Ctr {
            id: s.id.clone()?,
            name: name_of(s.names.as_ref()?.first()?),
            labels: s.labels.clone().unwrap_or_default().into_iter().collect(),
            phase,
            health: health_in_status(&status),
            restarts: None,
            networks: s
                .network_settings
                .as_ref()
                .and_then(|n| n.networks.as_ref())
                .map(|n| n.keys().cloned().collect())
                .unwrap_or_default(),
            published: {
                let mut ports: Vec<_> = s
                    .ports
                    .iter()
                    .flatten()
                    .filter(|p| !matches!(p.typ, Some(PortSummaryTypeEnum::UDP | PortSummaryTypeEnum::SCTP)))
                    .filter_map(|p| p.public_port.map(|port| (p.private_port, reachable(p.ip.as_deref(), port))))
                    .collect();
                ports.sort();
                ports.into_iter().next().map(|(_, addr)| addr)
            },
            network_mode: s.host_config.as_ref().and_then(|h| h.network_mode.clone()),
            restart: None,
            stop_signal: None,
        })
    }

    pub fn from_inspect(i: &ContainerInspectResponse) -> Option<Ctr> {
        let state = i.state.as_ref()?;
        let phase = match state.status? {
            ContainerStateStatusEnum::RUNNING => PodPhase::Running,
            ContainerStateStatusEnum::PAUSED => PodPhase::Paused,
            ContainerStateStatusEnum::RESTARTING => PodPhase::Restarting,
            ContainerStateStatusEnum::REMOVING | ContainerStateStatusEnum::STOPPING => PodPhase::Terminating,
            ContainerStateStatusEnum::EXITED | ContainerStateStatusEnum::DEAD => {
                PodPhase::Exited(state.exit_code.unwrap_or(0))
            }
            ContainerStateStatusEnum::CREATED | ContainerStateStatusEnum::EMPTY => PodPhase::Pending,
        };
        let health = state.health.as_ref().and_then(|h| h.status).and_then(|s| match s {
            HealthStatusEnum::HEALTHY => Some("healthy".to_string()),
            HealthStatusEnum::UNHEALTHY => Some("unhealthy".to_string()),
            HealthStatusEnum::STARTING => Some("starting".to_string()),
            HealthStatusEnum::NONE | HealthStatusEnum::EMPTY => None,
        });
        let mut networks: Vec<String> = i
            .network_settings
            .as_ref()
            .and_then(|n| n.networks.as_ref())
            .map(|n| n.keys().cloned().collect())
            .unwrap_or_default();
        networks.sort();
        let mut published: Vec<(u16, String)> = i
            .network_settings
            .as_ref()
            .and_then(|n| n.ports.as_ref())
            .into_iter()
            .flatten()
            .filter(|(k, _)| k.ends_with("/tcp"))
            .filter_map(|(k, b)| {
                let private = k.split('/').next()?.parse::<u16>().ok()?;
                let b = b.as_ref()?.first()?;
                Some((private, reachable(b.host_ip.as_deref(), b.host_port.as_ref()?.parse().ok()?)))
            })
            .collect();
        published.sort();
        Some(Ctr {
            id: i.id.clone()?,
            name: name_of(i.name.as_deref()?),
            labels: i.config.as_ref().and_then(|c| c.labels.clone()).unwrap_or_default().into_iter().collect(),
            phase,
            health,
            restarts: i.restart_count.map(|r| r.max(0) as u32),
            networks,
            published: published.into_iter().next().map(|(_, addr)| addr),
            network_mode: i.host_config.as_ref().and_then(|h| h.network_mode.clone()),
            restart: i
                .host_config
                .as_ref()
                .and_then(|h| h.restart_policy.as_ref())
                .and_then(|r| r.name)
                .map(|n| n.to_string())
                .filter(|n| !n.is_empty() && n != "no"),
            stop_signal: i.config.as_ref().and_then(|c| c.stop_signal.clone()).filter(|s| !s.is_empty()),
        })
    }

    /// The container whose network namespace this one joined (`--network container:<id>`).
    pub fn joined(&self) -> Option<&str> {
        self.network_mode.as_deref().and_then(|m| m.strip_prefix("container:"))
    }

    pub fn host_network(&self) -> bool {
        self.network_mode.as_deref() == Some("host")
    }

    pub fn namespace(&self) -> &str {
        self.labels.get(PROJECT).map(String::as_str).unwrap_or(STANDALONE)
    }

    pub fn workload(&self) -> &str {
        self.labels.get(SERVICE).map(String::as_str).unwrap_or(&self.name)
    }

    pub fn is_helper(&self) -> bool {
        self.labels.contains_key(HELPER)
    }

    /// Running, not paused, and healthy if it has a health check.
    pub fn ready(&self) -> bool {
        self.phase == PodPhase::Running && self.health.as_deref().is_none_or(|h| h == "healthy")
    }

    /// The container as a pod. `owner` names the container whose network namespace it joined
    /// (the id in its network mode, resolved); `own`: it is the console's own container.
    pub fn pod(&self, host: &str, owner: Option<&str>, own: bool) -> Pod {
        let mut note = Vec::new();
        if let Some(h) = &self.health {
            note.push(h.clone());
        }
        let joined = self.joined().map(|id| owner.unwrap_or(id).to_string());
        if self.host_network() {
            note.push("net host".into());
        } else if let Some(o) = &joined {
            note.push(format!("net of {o}"));
        } else if !self.networks.is_empty() {
            note.push(format!("net {}", self.networks.join(",")));
        } else if self.phase == PodPhase::Running {
            note.push("no network".into());
        }
        Pod {
            namespace: self.namespace().to_string(),
            name: self.name.clone(),
            workload: Some(self.workload().to_string()),
            node: Some(host.to_string()),
            phase: self.phase,
            ready: self.ready(),
            restarts: self.restarts.unwrap_or(0),
            note: (!note.is_empty()).then(|| note.join(", ")),
            labels: self.labels.clone(),
            caveats: Caveats {
                netns: if self.host_network() { Some("host".into()) } else { joined },
                restart: self.restart.clone(),
                stop_signal: self.stop_signal.clone(),
                protected: own.then(|| "the console's own container".to_string()),
            },
        }
    }
}

/// A compose service (or standalone container) as a workload: its containers are the desired
/// count, the ready ones the ready count. `None` once it has no container.
pub fn workload_of(topo: &Topology, namespace: &str, name: &str) -> Option<Workload> {
    let pods: Vec<&Pod> = topo.pods_of(namespace, name).collect();
    if pods.is_empty() {
        return None;
    }
    let kind = if namespace == STANDALONE { "container" } else { "compose service" };
    Some(Workload {
        namespace: namespace.to_string(),
        name: name.to_string(),
        kind: kind.into(),
        desired: pods.len() as u32,
        ready: pods.iter().filter(|p| p.ready).count() as u32,
        note: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn summary(
        name: &str,
        state: ContainerSummaryStateEnum,
        status: &str,
        labels: &[(&str, &str)],
    ) -> ContainerSummary {
        ContainerSummary {
            id: Some(format!("id-{name}")),
            names: Some(vec![format!("/{name}")]),
            state: Some(state),
            status: Some(status.into()),
            labels: Some(labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<HashMap<_, _>>()),
            ..Default::default()
        }
    }

    #[test]
    fn compose_containers_group_by_project_and_service_and_standalone_ones_stand_alone() {
        let web = Ctr::from_summary(&summary(
            "shop-web-1",
            ContainerSummaryStateEnum::RUNNING,
            "Up 3 minutes (healthy)",
            &[(PROJECT, "shop"), (SERVICE, "web")],
        ))
        .unwrap();
        assert_eq!((web.namespace(), web.workload()), ("shop", "web"));
        assert!(web.ready());
        let redis =
            Ctr::from_summary(&summary("redis", ContainerSummaryStateEnum::RUNNING, "Up 1 second", &[])).unwrap();
        assert_eq!((redis.namespace(), redis.workload()), (STANDALONE, "redis"));
        assert!(redis.ready(), "no health check: running is ready");
        let sick = Ctr::from_summary(&summary("a", ContainerSummaryStateEnum::RUNNING, "Up 1 minute (unhealthy)", &[]))
            .unwrap();
        assert!(!sick.ready());
        let dead =
            Ctr::from_summary(&summary("b", ContainerSummaryStateEnum::EXITED, "Exited (137) 2 seconds ago", &[]))
                .unwrap();
        assert_eq!(dead.phase, PodPhase::Exited(137));
        let paused =
            Ctr::from_summary(&summary("c", ContainerSummaryStateEnum::PAUSED, "Up 5 minutes (Paused)", &[])).unwrap();
        assert_eq!(paused.phase, PodPhase::Paused);
        assert!(!paused.ready());
    }

    #[test]
    fn a_service_is_as_ready_as_its_containers() {
        let mut t = Topology::default();
        for (name, status) in [("shop-web-1", "Up (healthy)"), ("shop-web-2", "Up (unhealthy)")] {
            let c = Ctr::from_summary(&summary(
                name,
                ContainerSummaryStateEnum::RUNNING,
                status,
                &[(PROJECT, "shop"), (SERVICE, "web")],
            ))
            .unwrap();
            t.upsert_pod(c.pod("host", None, false));
        }
        let w = workload_of(&t, "shop", "web").unwrap();
        assert_eq!((w.ready, w.desired, w.kind.as_str()), (1, 2, "compose service"));
        assert!(workload_of(&t, "shop", "db").is_none());
    }
}
