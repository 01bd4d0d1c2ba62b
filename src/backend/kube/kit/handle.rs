//! What a fault does and how to undo it: the plan a prepare writes, the revert handle carries
//! and the `gameday.dev/revert` annotation holds.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::PodKey;
use crate::backend::BackendError;
use crate::model::RevertHandle;

/// What a fault does and how to undo it: the revert handle's data, and the `gameday.dev/revert`
/// annotation on what it touched.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "kebab-case")]
pub enum HandleData {
    PodDelete {
        pods: Vec<PodKey>,
        grace: Option<i64>,
    },
    PodEvict {
        pods: Vec<PodKey>,
        /// The evicted pods' grace period (`None`: each pod's own).
        #[serde(default)]
        grace: Option<i64>,
    },
    Scale {
        namespace: String,
        kind: String,
        name: String,
        from: i32,
        to: i32,
    },
    NodeCordon {
        node: String,
        was_unschedulable: bool,
    },
    NodeDrain {
        node: String,
        was_unschedulable: bool,
        pods: Vec<PodKey>,
        /// The evicted pods' grace period (`None`: each pod's own).
        #[serde(default)]
        grace: Option<i64>,
        /// Those the inject's first pass left for their PodDisruptionBudget (or the server) to
        /// let go: evicted in the background as they allow.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        waiting: Vec<PodKey>,
    },
    ConfigCorrupt {
        namespace: String,
        configmap: String,
        key: String,
        value: String,
        original: Option<String>,
        restart: Option<(String, String)>,
    },
    ImageUnavailable {
        namespace: String,
        kind: String,
        name: String,
        images: Vec<(String, String)>,
    },
    NetworkDeny {
        namespace: String,
        policy: String,
        selector: BTreeMap<String, String>,
        labelled: Vec<String>,
    },
    /// An object of a chaos engine; `body` is what is created (not kept in the markers).
    Chaos {
        namespace: String,
        engine: super::engine::Engine,
        name: String,
        what: String,
        #[serde(default)]
        body: Value,
        /// Litmus: the experiment the engine runs (its verdict is in ChaosResult
        /// `<name>-<experiment>`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        experiment: Option<String>,
        /// What the engine says it hit once injected (Chaos Mesh's records).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        hit: Vec<String>,
        /// The fault's duration, in seconds, as the engine was given it.
        #[serde(default)]
        seconds: u64,
    },
}

impl HandleData {
    /// What ends this fault at its duration when no gameday process is alive: a chaos engine's
    /// own controller does; a plain-API change stays until someone reverts it.
    pub fn ends_by_itself(&self) -> Option<String> {
        match self {
            HandleData::Chaos { engine, .. } if engine.group == "chaos-mesh.org" => {
                Some("Chaos Mesh ends it at its duration".into())
            }
            HandleData::Chaos { engine, .. } if engine.group == "litmuschaos.io" => {
                Some("Litmus ends its experiment at its chaos duration".into())
            }
            _ => None,
        }
    }

    pub fn summary(&self, done: bool) -> String {
        let pods = |p: &[PodKey]| p.iter().map(|(ns, n)| format!("{ns}/{n}")).collect::<Vec<_>>().join(", ");
        let (will, did) = match self {
            HandleData::PodDelete { pods: p, grace: Some(0) } => {
                (format!("kill {}", pods(p)), format!("killed {}", pods(p)))
            }
            HandleData::PodDelete { pods: p, .. } => (format!("delete {}", pods(p)), format!("deleted {}", pods(p))),
            HandleData::PodEvict { pods: p, grace } => (
                format!("evict {} ({})", pods(p), grace_words(*grace)),
                format!("evicted {} ({})", pods(p), grace_words(*grace)),
            ),
            HandleData::Scale { namespace, kind, name, from, to } => (
                format!("scale {kind} {namespace}/{name} from {from} to {to}"),
                format!("scaled {kind} {namespace}/{name} from {from} to {to}"),
            ),
            HandleData::NodeCordon { node, .. } => (format!("cordon {node}"), format!("cordoned {node}")),
            HandleData::NodeDrain { node, pods: p, grace, waiting, .. } => {
                let gone: Vec<PodKey> = p.iter().filter(|k| !waiting.contains(k)).cloned().collect();
                let did = match (gone.is_empty(), waiting.is_empty()) {
                    (_, true) => format!("cordoned {node} and evicted {} ({})", pods(p), grace_words(*grace)),
                    (true, false) => {
                        format!("cordoned {node}; {} wait for their PodDisruptionBudget to let them go", pods(waiting))
                    }
                    (false, false) => format!(
                        "cordoned {node} and evicted {} ({}); {} wait for their PodDisruptionBudget",
                        pods(&gone),
                        grace_words(*grace),
                        pods(waiting)
                    ),
                };
                (format!("cordon {node} and evict {} pods ({})", p.len(), grace_words(*grace)), did)
            }
            HandleData::ConfigCorrupt { namespace, configmap, key, value, .. } => (
                format!("set {key}={value} in ConfigMap {namespace}/{configmap}"),
                format!("set {key}={value} in ConfigMap {namespace}/{configmap}"),
            ),
            HandleData::ImageUnavailable { namespace, kind, name, images } => (
                format!(
                    "point {} container(s) of {kind} {namespace}/{name} at an image that cannot be pulled",
                    images.len()
                ),
                format!("pointed {kind} {namespace}/{name} at an image that cannot be pulled"),
            ),
            HandleData::NetworkDeny { namespace, policy, .. } => (
                format!("create the deny-all NetworkPolicy {namespace}/{policy}"),
                format!("created the deny-all NetworkPolicy {namespace}/{policy}"),
            ),
            HandleData::Chaos { namespace, engine, name, what, hit, .. } => (
                format!("create {} {namespace}/{name} ({what})", engine.kind),
                match hit.len() {
                    0 => format!("created {} {namespace}/{name} ({what})", engine.kind),
                    _ => {
                        format!("created {} {namespace}/{name} ({what}); injected into {}", engine.kind, hit.join(", "))
                    }
                },
            ),
        };
        if done {
            did
        } else {
            will
        }
    }

    /// The revert handle: the plan, and the session whose markers it left (a revert touches
    /// only what still carries them).
    pub fn handle(&self, session: &str, fault_id: u64, done: bool) -> RevertHandle {
        let mut data = serde_json::to_value(self).unwrap_or(Value::Null);
        if let Some(map) = data.as_object_mut() {
            map.insert("session".into(), Value::String(session.to_string()));
        }
        RevertHandle { fault_id, summary: self.summary(done), data }
    }

    /// The session a handle's markers name ("" in handles from before it was kept).
    pub fn session_of(h: &RevertHandle) -> &str {
        h.data.get("session").and_then(Value::as_str).unwrap_or_default()
    }

    pub fn from_handle(h: &RevertHandle) -> Result<HandleData, BackendError> {
        serde_json::from_value(h.data.clone()).map_err(|e| {
            BackendError::Failed(format!("revert handle of fault #{} is not a Kubernetes one: {e}", h.fault_id))
        })
    }
}

/// "grace period 30 s", or each pod's own.
pub fn grace_words(grace: Option<i64>) -> String {
    match grace {
        Some(g) => format!("grace period {g} s"),
        None => "each pod's own grace period".into(),
    }
}
