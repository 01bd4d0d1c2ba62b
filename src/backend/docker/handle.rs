//! What a Docker fault does and how to undo it: the revert handle's data, in words too.

use serde::{Deserialize, Serialize};

use crate::backend::BackendError;
use crate::model::RevertHandle;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Container {
    pub id: String,
    pub name: String,
}

/// A network the container was on, and everything a reconnect needs to put it back as it was:
/// its aliases (compose puts the service name), a static address (`--ip`, `ipv4_address`), its
/// legacy links and its driver options.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    pub network: String,
    pub aliases: Vec<String>,
    /// The addresses it asked for (IPAMConfig); empty when the network chose them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv4: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv6: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub link_local: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<String>,
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub driver_opts: std::collections::BTreeMap<String, String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    pub nano_cpus: i64,
    pub cpu_quota: i64,
    pub cpu_period: i64,
    pub memory: i64,
    pub memory_swap: i64,
}

/// What a fault does and how to undo it: the revert handle's data.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "kebab-case")]
pub enum HandleData {
    /// `crash`: the signal comes from outside Docker (a helper in the host's PID namespace), so
    /// Docker sees a crash and the restart policy acts; otherwise through the Engine API, which
    /// Docker takes as a manual stop.
    ContainerKill {
        targets: Vec<Container>,
        signal: String,
        #[serde(default)]
        crash: bool,
    },
    ContainerStop {
        targets: Vec<Container>,
        grace_s: i64,
    },
    ContainerRestart {
        targets: Vec<Container>,
        grace_s: i64,
    },
    ContainerPause {
        targets: Vec<Container>,
    },
    NetworkDisconnect {
        targets: Vec<Container>,
        endpoints: Vec<Vec<Endpoint>>,
    },
    CpuThrottle {
        targets: Vec<Container>,
        saved: Vec<Limits>,
        cpus: f64,
    },
    MemoryThrottle {
        targets: Vec<Container>,
        saved: Vec<Limits>,
        memory_mb: i64,
    },
    Netem {
        targets: Vec<Container>,
        helpers: Vec<String>,
        qdisc: String,
        image: String,
        seconds: u64,
    },
}

impl HandleData {
    pub fn targets(&self) -> &[Container] {
        match self {
            HandleData::ContainerKill { targets, .. }
            | HandleData::ContainerStop { targets, .. }
            | HandleData::ContainerRestart { targets, .. }
            | HandleData::ContainerPause { targets }
            | HandleData::NetworkDisconnect { targets, .. }
            | HandleData::CpuThrottle { targets, .. }
            | HandleData::MemoryThrottle { targets, .. }
            | HandleData::Netem { targets, .. } => targets,
        }
    }

    fn names(&self) -> String {
        self.targets().iter().map(|t| t.name.as_str()).collect::<Vec<_>>().join(", ")
    }

    /// In words, before (`done` false) or after it was applied.
    pub fn summary(&self, done: bool) -> String {
        let n = self.names();
        let (will, did) = match self {
            HandleData::ContainerKill { signal, crash: false, .. } => {
                (format!("kill {n} ({signal})"), format!("killed {n} ({signal})"))
            }
            HandleData::ContainerKill { signal, crash: true, .. } => (
                format!("crash {n} ({signal} from outside Docker)"),
                format!("crashed {n} ({signal} from outside Docker)"),
            ),
            HandleData::ContainerStop { .. } => (format!("stop {n}"), format!("stopped {n}")),
            HandleData::ContainerRestart { .. } => (format!("restart {n}"), format!("restarted {n}")),
            HandleData::ContainerPause { .. } => (format!("pause {n}"), format!("paused {n}")),
            HandleData::NetworkDisconnect { endpoints, .. } => {
                let nets: Vec<String> = endpoints
                    .iter()
                    .flatten()
                    .map(|e| e.network.clone())
                    .collect::<std::collections::BTreeSet<_>>()
                    .into_iter()
                    .collect();
                (
                    format!("disconnect {n} from {}", nets.join(", ")),
                    format!("disconnected {n} from {}", nets.join(", ")),
                )
            }
            HandleData::CpuThrottle { cpus, .. } => {
                (format!("throttle {n} to {cpus} CPUs"), format!("throttled {n} to {cpus} CPUs"))
            }
            HandleData::MemoryThrottle { memory_mb, .. } => {
                (format!("limit {n} to {memory_mb} MiB"), format!("limited {n} to {memory_mb} MiB"))
            }
            HandleData::Netem { qdisc, .. } => (format!("{qdisc} on {n}"), format!("{qdisc} on {n} (by a helper)")),
        };
        if done {
            did
        } else {
            will
        }
    }

    /// The revert handle; its data is the plan and the session (which names the fault's marker).
    pub fn handle(&self, session: &str, fault_id: u64, done: bool) -> RevertHandle {
        let mut data = serde_json::to_value(self).unwrap_or(serde_json::Value::Null);
        if let Some(map) = data.as_object_mut() {
            map.insert("session".into(), session.into());
        }
        RevertHandle { fault_id, summary: self.summary(done), data }
    }

    /// The session a handle's fault belongs to (none in handles from before markers).
    pub fn session_of(h: &RevertHandle) -> Option<&str> {
        h.data.get("session").and_then(|s| s.as_str())
    }

    pub fn from_handle(h: &RevertHandle) -> Result<HandleData, BackendError> {
        serde_json::from_value(h.data.clone()).map_err(|e| {
            BackendError::Failed(format!("revert handle of fault #{} is not a Docker one: {e}", h.fault_id))
        })
    }
}
