//! The cluster picture every backend produces: workloads, pods, nodes, services and
//! per-service traffic samples, plus the deltas that keep it current.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// What a fault is aimed at, written the way the command line and the README spell it:
/// `<namespace>/<workload>`, `<namespace>/pod/<name>` or `node/<name>`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Target {
    Workload { namespace: String, name: String },
    Pod { namespace: String, name: String },
    Node { name: String },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TargetKind {
    Workload,
    Pod,
    Node,
}

impl fmt::Display for TargetKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TargetKind::Workload => "workload",
            TargetKind::Pod => "pod",
            TargetKind::Node => "node",
        })
    }
}

impl Target {
    pub fn kind(&self) -> TargetKind {
        match self {
            Target::Workload { .. } => TargetKind::Workload,
            Target::Pod { .. } => TargetKind::Pod,
            Target::Node { .. } => TargetKind::Node,
        }
    }
    pub fn workload(namespace: &str, name: &str) -> Self {
        Target::Workload { namespace: namespace.into(), name: name.into() }
    }
    pub fn pod(namespace: &str, name: &str) -> Self {
        Target::Pod { namespace: namespace.into(), name: name.into() }
    }
    pub fn node(name: &str) -> Self {
        Target::Node { name: name.into() }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Workload { namespace, name } => write!(f, "{namespace}/{name}"),
            Target::Pod { namespace, name } => write!(f, "{namespace}/pod/{name}"),
            Target::Node { name } => write!(f, "node/{name}"),
        }
    }
}

impl FromStr for Target {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let parts: Vec<&str> = s.split('/').collect();
        let ok = |p: &str| !p.is_empty() && !p.chars().any(char::is_whitespace);
        match parts.as_slice() {
            ["node", name] if ok(name) => Ok(Target::node(name)),
            [ns, "pod", name] if ok(ns) && ok(name) => Ok(Target::pod(ns, name)),
            [ns, name] if ok(ns) && ok(name) => Ok(Target::workload(ns, name)),
            _ => Err(format!(
                "'{s}' is not a target: write <namespace>/<workload>, <namespace>/pod/<name> or node/<name>"
            )),
        }
    }
}

impl TryFrom<String> for Target {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        s.parse()
    }
}

impl From<Target> for String {
    fn from(t: Target) -> String {
        t.to_string()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PodPhase {
    Pending,
    ContainerCreating,
    Running,
    Terminating,
    CrashLoopBackOff,
}

impl fmt::Display for PodPhase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Workload {
    pub namespace: String,
    pub name: String,
    /// Deployment, StatefulSet, DaemonSet, compose service...
    pub kind: String,
    pub desired: u32,
    pub ready: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Pod {
    pub namespace: String,
    pub name: String,
    /// Name of the owning workload in the same namespace, if any.
    pub workload: Option<String>,
    pub node: Option<String>,
    pub phase: PodPhase,
    pub ready: bool,
    pub restarts: u32,
    /// Something a person should notice: "paused", "CPU stressed", "+300ms latency".
    pub note: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Node {
    pub name: String,
    pub ready: bool,
    pub unschedulable: bool,
}

/// One reading of a service's traffic, as the backend measured or simulated it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ServiceSample {
    /// `namespace/name` of the service (one per workload in the demo).
    pub service: String,
    /// Fraction of requests that succeeded, 0.0 ..= 1.0.
    pub success: f64,
    pub p95_ms: f64,
    pub rps: f64,
}

pub type ObjKey = (String, String);

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Topology {
    pub workloads: BTreeMap<ObjKey, Workload>,
    pub pods: BTreeMap<ObjKey, Pod>,
    pub nodes: BTreeMap<String, Node>,
    /// Known call edges between services (`ns/name` -> `ns/name`), when the backend knows them.
    pub calls: Vec<(String, String)>,
}

impl Topology {
    pub fn pods_of<'a>(&'a self, namespace: &'a str, workload: &'a str) -> impl Iterator<Item = &'a Pod> + 'a {
        self.pods.values().filter(move |p| p.namespace == namespace && p.workload.as_deref() == Some(workload))
    }

    pub fn pods_on<'a>(&'a self, node: &'a str) -> impl Iterator<Item = &'a Pod> + 'a {
        self.pods.values().filter(move |p| p.node.as_deref() == Some(node))
    }

    pub fn contains(&self, target: &Target) -> bool {
        match target {
            Target::Workload { namespace, name } => self.workloads.contains_key(&(namespace.clone(), name.clone())),
            Target::Pod { namespace, name } => self.pods.contains_key(&(namespace.clone(), name.clone())),
            Target::Node { name } => self.nodes.contains_key(name),
        }
    }

    /// Every target of the given kind, in display order.
    pub fn targets(&self, kind: TargetKind) -> Vec<Target> {
        match kind {
            TargetKind::Workload => self.workloads.keys().map(|(ns, n)| Target::workload(ns, n)).collect(),
            TargetKind::Pod => self.pods.keys().map(|(ns, n)| Target::pod(ns, n)).collect(),
            TargetKind::Node => self.nodes.keys().map(|n| Target::node(n)).collect(),
        }
    }

    /// Services that call `service`, directly or through others (transitively).
    pub fn upstream_of(&self, service: &str) -> Vec<String> {
        let mut found: Vec<String> = Vec::new();
        let mut frontier = vec![service.to_string()];
        while let Some(s) = frontier.pop() {
            for (from, to) in &self.calls {
                if *to == s && from != service && !found.contains(from) {
                    found.push(from.clone());
                    frontier.push(from.clone());
                }
            }
        }
        found.sort();
        found
    }

    pub fn apply(&mut self, delta: &TopologyDelta) {
        match delta {
            TopologyDelta::Snapshot(t) => *self = t.clone(),
            TopologyDelta::UpsertWorkload(w) => {
                self.workloads.insert((w.namespace.clone(), w.name.clone()), w.clone());
            }
            TopologyDelta::RemoveWorkload { namespace, name } => {
                self.workloads.remove(&(namespace.clone(), name.clone()));
            }
            TopologyDelta::UpsertPod(p) => {
                self.pods.insert((p.namespace.clone(), p.name.clone()), p.clone());
            }
            TopologyDelta::RemovePod { namespace, name } => {
                self.pods.remove(&(namespace.clone(), name.clone()));
            }
            TopologyDelta::UpsertNode(n) => {
                self.nodes.insert(n.name.clone(), n.clone());
            }
            TopologyDelta::RemoveNode { name } => {
                self.nodes.remove(name);
            }
            TopologyDelta::Samples(_) | TopologyDelta::ClusterEvent { .. } => {}
        }
    }
}

/// A change to the cluster picture, streamed by a backend's watch.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum TopologyDelta {
    Snapshot(Topology),
    UpsertWorkload(Workload),
    RemoveWorkload {
        namespace: String,
        name: String,
    },
    UpsertPod(Pod),
    RemovePod {
        namespace: String,
        name: String,
    },
    UpsertNode(Node),
    RemoveNode {
        name: String,
    },
    Samples(Vec<ServiceSample>),
    /// Something that happened in the cluster worth a timeline line (pod deleted, created, ready).
    ClusterEvent {
        object: String,
        message: String,
        warning: bool,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_round_trip_through_their_written_form() {
        for s in ["sock-shop/carts", "sock-shop/pod/carts-abc-123", "node/worker-1"] {
            let t: Target = s.parse().unwrap();
            assert_eq!(t.to_string(), s);
        }
        assert_eq!("node/worker-1".parse::<Target>().unwrap().kind(), TargetKind::Node);
        assert_eq!("a/pod/b".parse::<Target>().unwrap().kind(), TargetKind::Pod);
    }

    #[test]
    fn malformed_targets_explain_the_syntax() {
        for s in ["carts", "", "a/b/c", "ns/", "/x", "a/pod/", "a b/c"] {
            let err = s.parse::<Target>().unwrap_err();
            assert!(err.contains("<namespace>/<workload>"), "{s}: {err}");
        }
    }
}
