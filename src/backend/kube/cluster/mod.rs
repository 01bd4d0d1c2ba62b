//! The Kubernetes picture as a pure model: watcher changes in, topology deltas out. Only the
//! fields the console shows are kept (never whole objects), so a large cluster stays small.
//! Pods are grouped under their workload through ownerReferences (pod > ReplicaSet >
//! Deployment), services are matched to workloads by selector, and a relist (after 410 Gone or
//! a reconnect) removes what disappeared meanwhile.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::core::v1::{Event as KEvent, Namespace as KNamespace, Node as KNode, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::model::{Node, Pod, Topology, TopologyDelta};

mod lean;
mod objects;
mod policy;
mod services;
mod workloads;

pub use lean::LeanPod;
use objects::{controller, node_of, pod_info};
pub use policy::{Policy, ALLOW_LABEL};
use services::external_address;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Namespace,
    Node,
    Pod,
    ReplicaSet,
    Deployment,
    StatefulSet,
    DaemonSet,
    Service,
    EndpointSlice,
    Event,
}

pub const KINDS: &[Kind] = &[
    Kind::Namespace,
    Kind::Node,
    Kind::Pod,
    Kind::ReplicaSet,
    Kind::Deployment,
    Kind::StatefulSet,
    Kind::DaemonSet,
    Kind::Service,
    Kind::EndpointSlice,
    Kind::Event,
];

pub enum Obj {
    Namespace(KNamespace),
    Node(KNode),
    /// Read lean (`LeanPod`): what the picture needs of it, nothing more.
    Pod(LeanPod),
    ReplicaSet(ReplicaSet),
    Deployment(Deployment),
    StatefulSet(StatefulSet),
    DaemonSet(DaemonSet),
    Service(Service),
    EndpointSlice(EndpointSlice),
    Event(KEvent),
}

pub enum Change {
    /// A (re)list of this kind begins.
    Init(Kind),
    Apply(Obj),
    Delete(Obj),
    /// The (re)list of this kind is complete.
    InitDone(Kind),
    /// The watch of this kind failed (it retries by itself); `denied` when the credentials
    /// were refused (401/403), which no retry mends by itself.
    Failed {
        kind: Kind,
        why: String,
        denied: bool,
    },
    /// A check of the API server succeeded while watches were failing: a watch that resumed
    /// quietly (nothing changed meanwhile) sends nothing, so this is how the console knows.
    Answered,
}

type Key = (String, String);

fn key(m: &ObjectMeta) -> Key {
    (m.namespace.clone().unwrap_or_default(), m.name.clone().unwrap_or_default())
}

#[derive(Clone, Debug, PartialEq)]
struct PodInfo {
    owner: Option<(String, String)>,
    pod: Pod,
}

#[derive(Clone, Debug, PartialEq)]
struct WorkloadInfo {
    kind: &'static str,
    desired: u32,
    ready: u32,
    template_labels: BTreeMap<String, String>,
}

#[derive(Default)]
pub struct Cluster {
    policy: Policy,
    synced: HashSet<Kind>,
    announced: bool,
    /// Keys seen since a relist of this kind began.
    relist: HashMap<Kind, HashSet<Key>>,
    /// Why the watches fail, and whether it is a refusal of the credentials.
    failing: Option<(String, bool)>,
    /// Each pod's controlling owner (the pod itself is in `topo`, once).
    pods: HashMap<Key, Option<(String, String)>>,
    /// ReplicaSet (ns, name) -> its Deployment's name.
    rs_owner: HashMap<Key, Option<String>>,
    /// (ns, owner name) -> names of the pods it owns directly.
    by_owner: HashMap<Key, BTreeSet<String>>,
    workloads: HashMap<Key, WorkloadInfo>,
    namespaces: HashMap<String, BTreeMap<String, String>>,
    /// namespace -> service -> its selector
    services: HashMap<String, BTreeMap<String, BTreeMap<String, String>>>,
    /// Services reachable from outside the cluster (a load balancer's or an external IP):
    /// (ns, service) -> "host:port".
    addresses: BTreeMap<Key, String>,
    /// Workloads ("ns/name") already announced as reachable (a default probe each).
    reachable: HashSet<String>,
    /// (ns, slice) -> (service, ready, total)
    slices: HashMap<Key, (String, u32, u32)>,
    /// (ns, service) -> (ready, total) endpoints over its slices
    endpoints: HashMap<Key, (u32, u32)>,
    seen_events: HashSet<(String, i32)>,
    nodes: HashMap<String, Node>,
    topo: Topology,
    /// Workloads whose record is to be made once the first picture is whole (until then each
    /// pod, slice or service would remake its workload's record again and again).
    stale: HashSet<Key>,
}

impl Cluster {
    pub fn new(policy: Policy) -> Cluster {
        Cluster { policy, ..Default::default() }
    }

    /// The picture as published so far.
    pub fn topology(&self) -> &Topology {
        &self.topo
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// One watcher change; returns the deltas for the console (nothing until every kind has
    /// listed once, then a whole snapshot, then changes as they come).
    pub fn apply(&mut self, change: Change) -> Vec<TopologyDelta> {
        let mut out = Vec::new();
        match change {
            Change::Init(kind) => {
                self.relist.insert(kind, HashSet::new());
            }
            Change::InitDone(kind) => {
                if let Some(seen) = self.relist.remove(&kind) {
                    self.forget_unseen(kind, &seen, &mut out);
                }
                self.synced.insert(kind);
                self.answered(&mut out);
            }
            Change::Failed { why, denied, .. } => {
                // Before the first picture too: an unreachable or unauthorized cluster says so.
                if self.failing.is_none() {
                    out.push(TopologyDelta::Connection { connected: false, detail: why.clone() });
                }
                self.failing = Some((why, denied));
            }
            Change::Answered => {
                if !self.failing.as_ref().is_some_and(|f| f.1) {
                    self.answered(&mut out);
                }
            }
            Change::Apply(obj) => {
                self.answered(&mut out);
                self.upsert(obj, &mut out)
            }
            Change::Delete(obj) => {
                self.answered(&mut out);
                self.delete(obj, &mut out)
            }
        }
        if !self.announced {
            if KINDS.iter().all(|k| self.synced.contains(k)) {
                self.announced = true;
                let mut stale: Vec<Key> = self.stale.drain().collect();
                stale.sort();
                for (ns, name) in stale {
                    self.refresh_workload(&ns, &name, &mut out);
                }
                let mut first = vec![TopologyDelta::Snapshot(self.topo.clone())];
                first.push(TopologyDelta::Connection { connected: true, detail: "watching the API server".into() });
                first.extend(out.into_iter().filter(|d| matches!(d, TopologyDelta::Reachable { .. })));
                return first;
            }
            // Until the first picture, changes are in it; what is reachable is said as found.
            out.retain(|d| matches!(d, TopologyDelta::Connection { .. } | TopologyDelta::Reachable { .. }));
        }
        out
    }

    /// Whether watches are failing (the API server is unreachable or refuses them).
    pub fn failing(&self) -> bool {
        self.failing.is_some()
    }

    fn answered(&mut self, out: &mut Vec<TopologyDelta>) {
        if self.failing.take().is_some() && self.announced {
            out.push(TopologyDelta::Connection { connected: true, detail: "API server answers again".into() });
        }
    }

    fn seen(&mut self, kind: Kind, k: &Key) {
        if let Some(s) = self.relist.get_mut(&kind) {
            s.insert(k.clone());
        }
    }

    /// After a relist: what was not listed again is gone.
    fn forget_unseen(&mut self, kind: Kind, seen: &HashSet<Key>, out: &mut Vec<TopologyDelta>) {
        let gone: Vec<Key> = match kind {
            Kind::Pod => self.pods.keys().filter(|k| !seen.contains(*k)).cloned().collect(),
            Kind::Node => self.nodes.keys().map(|n| (String::new(), n.clone())).filter(|k| !seen.contains(k)).collect(),
            Kind::ReplicaSet => self.rs_owner.keys().filter(|k| !seen.contains(*k)).cloned().collect(),
            Kind::Deployment | Kind::StatefulSet | Kind::DaemonSet => {
                let name = kind_name(kind);
                self.workloads
                    .iter()
                    .filter(|(k, w)| w.kind == name && !seen.contains(*k))
                    .map(|(k, _)| k.clone())
                    .collect()
            }
            Kind::Service => self
                .services
                .iter()
                .flat_map(|(ns, m)| m.keys().map(move |n| (ns.clone(), n.clone())))
                .filter(|k| !seen.contains(k))
                .collect(),
            Kind::Namespace => {
                self.namespaces.keys().map(|n| (String::new(), n.clone())).filter(|k| !seen.contains(k)).collect()
            }
            Kind::EndpointSlice => self.slices.keys().filter(|k| !seen.contains(*k)).cloned().collect(),
            Kind::Event => Vec::new(),
        };
        for k in gone {
            match kind {
                Kind::Pod => self.remove_pod(&k, out),
                Kind::Node => {
                    self.nodes.remove(&k.1);
                    self.topo.remove_node(&k.1);
                    out.push(TopologyDelta::RemoveNode { name: k.1 });
                }
                Kind::ReplicaSet => {
                    self.rs_owner.remove(&k);
                    self.drop_workload(&k, "ReplicaSet", out);
                }
                Kind::Deployment | Kind::StatefulSet | Kind::DaemonSet => self.drop_workload(&k, kind_name(kind), out),
                Kind::Service => self.remove_service(&k, out),
                Kind::Namespace => {
                    self.namespaces.remove(&k.1);
                }
                Kind::EndpointSlice => self.put_slice(&k, None, out),
                Kind::Event => {}
            }
        }
    }

    fn upsert(&mut self, obj: Obj, out: &mut Vec<TopologyDelta>) {
        match obj {
            Obj::Pod(p) => {
                let k = key(&p.metadata);
                self.seen(Kind::Pod, &k);
                let info = pod_info(p);
                self.put_pod(k, info, out);
            }
            Obj::ReplicaSet(rs) => {
                let k = key(&rs.metadata);
                self.seen(Kind::ReplicaSet, &k);
                let deployment = controller(&rs.metadata).filter(|(kind, _)| kind == "Deployment").map(|(_, n)| n);
                let before = self.rs_owner.insert(k.clone(), deployment.clone());
                if deployment.is_none() {
                    let info = WorkloadInfo {
                        kind: "ReplicaSet",
                        desired: rs.spec.replicas.unwrap_or(1).max(0) as u32,
                        ready: rs.status.as_ref().and_then(|s| s.ready_replicas).unwrap_or(0).max(0) as u32,
                        template_labels: rs
                            .spec
                            .template
                            .as_ref()
                            .and_then(|t| t.metadata.as_ref())
                            .and_then(|m| m.labels.clone())
                            .unwrap_or_default(),
                    };
                    self.put_workload(k.clone(), info, out);
                }
                if before != Some(deployment) {
                    self.regroup_pods_of(&k, out);
                }
            }
            Obj::Deployment(d) => {
                let k = key(&d.metadata);
                self.seen(Kind::Deployment, &k);
                let info = WorkloadInfo {
                    kind: "Deployment",
                    desired: d.spec.replicas.unwrap_or(1).max(0) as u32,
                    ready: d.status.as_ref().and_then(|s| s.ready_replicas).unwrap_or(0).max(0) as u32,
                    template_labels: d
                        .spec
                        .template
                        .metadata
                        .as_ref()
                        .and_then(|m| m.labels.clone())
                        .unwrap_or_default(),
                };
                self.put_workload(k, info, out);
            }
            Obj::StatefulSet(s) => {
                let k = key(&s.metadata);
                self.seen(Kind::StatefulSet, &k);
                let info = WorkloadInfo {
                    kind: "StatefulSet",
                    desired: s.spec.replicas.unwrap_or(1).max(0) as u32,
                    ready: s.status.as_ref().and_then(|s| s.ready_replicas).unwrap_or(0).max(0) as u32,
                    template_labels: s
                        .spec
                        .template
                        .metadata
                        .as_ref()
                        .and_then(|m| m.labels.clone())
                        .unwrap_or_default(),
                };
                self.put_workload(k, info, out);
            }
            Obj::DaemonSet(d) => {
                let k = key(&d.metadata);
                self.seen(Kind::DaemonSet, &k);
                let st = d.status.as_ref();
                let info = WorkloadInfo {
                    kind: "DaemonSet",
                    desired: st.map(|s| s.desired_number_scheduled).unwrap_or(0).max(0) as u32,
                    ready: st.map(|s| s.number_ready).unwrap_or(0).max(0) as u32,
                    template_labels: d
                        .spec
                        .template
                        .metadata
                        .as_ref()
                        .and_then(|m| m.labels.clone())
                        .unwrap_or_default(),
                };
                self.put_workload(k, info, out);
            }
            Obj::Node(n) => {
                let name = n.metadata.name.clone().unwrap_or_default();
                self.seen(Kind::Node, &(String::new(), name.clone()));
                let node = node_of(&n);
                if self.nodes.get(&name) != Some(&node) {
                    self.nodes.insert(name, node.clone());
                    self.topo.upsert_node(node.clone());
                    out.push(TopologyDelta::UpsertNode(node));
                }
            }
            Obj::Namespace(ns) => {
                let name = ns.metadata.name.clone().unwrap_or_default();
                self.seen(Kind::Namespace, &(String::new(), name.clone()));
                let labels = ns.metadata.labels.clone().unwrap_or_default();
                self.namespaces.insert(name.clone(), labels.clone());
                let reason = self.policy.lock_reason(&name, &labels);
                if self.topo.lock_reason(&name).map(str::to_string) != reason {
                    self.topo.set_lock(&name, reason.clone());
                    out.push(TopologyDelta::Lock { namespace: name, reason });
                }
            }
            Obj::Service(s) => {
                let k = key(&s.metadata);
                self.seen(Kind::Service, &k);
                let sel = s.spec.as_ref().and_then(|s| s.selector.clone()).unwrap_or_default();
                let ns = self.services.entry(k.0.clone()).or_default();
                if ns.get(&k.1) != Some(&sel) {
                    ns.insert(k.1.clone(), sel);
                    self.refresh_service(&k.0, &k.1, out);
                }
                match external_address(&s) {
                    Some(addr) => self.addresses.insert(k.clone(), addr),
                    None => self.addresses.remove(&k),
                };
                self.announce(&k.0, out);
            }
            Obj::EndpointSlice(es) => {
                let k = key(&es.metadata);
                self.seen(Kind::EndpointSlice, &k);
                let svc = es
                    .metadata
                    .labels
                    .as_ref()
                    .and_then(|l| l.get("kubernetes.io/service-name"))
                    .cloned()
                    .unwrap_or_default();
                let eps = es.endpoints.as_deref().unwrap_or_default();
                let total = eps.len() as u32;
                let ready =
                    eps.iter().filter(|e| e.conditions.as_ref().and_then(|c| c.ready).unwrap_or(true)).count() as u32;
                self.put_slice(&k, Some((svc, ready, total)), out);
            }
            Obj::Event(e) => {
                if e.type_.as_deref() != Some("Warning") || !self.announced {
                    return;
                }
                let uid = e.metadata.uid.clone().unwrap_or_default();
                if !self.seen_events.insert((uid, e.count.unwrap_or(1))) {
                    return;
                }
                let io = &e.involved_object;
                let object = format!(
                    "{} {}/{}",
                    io.kind.clone().unwrap_or_default().to_lowercase(),
                    io.namespace.clone().unwrap_or_default(),
                    io.name.clone().unwrap_or_default()
                );
                let message =
                    format!("{}: {}", e.reason.clone().unwrap_or_default(), e.message.clone().unwrap_or_default());
                out.push(TopologyDelta::ClusterEvent { object, message, warning: true });
            }
        }
    }

    fn delete(&mut self, obj: Obj, out: &mut Vec<TopologyDelta>) {
        match obj {
            Obj::Pod(p) => self.remove_pod(&key(&p.metadata), out),
            Obj::ReplicaSet(rs) => {
                let k = key(&rs.metadata);
                self.rs_owner.remove(&k);
                self.drop_workload(&k, "ReplicaSet", out);
            }
            Obj::Deployment(d) => self.drop_workload(&key(&d.metadata), "Deployment", out),
            Obj::StatefulSet(s) => self.drop_workload(&key(&s.metadata), "StatefulSet", out),
            Obj::DaemonSet(d) => self.drop_workload(&key(&d.metadata), "DaemonSet", out),
            Obj::Node(n) => {
                let name = n.metadata.name.unwrap_or_default();
                self.nodes.remove(&name);
                self.topo.remove_node(&name);
                out.push(TopologyDelta::RemoveNode { name });
            }
            Obj::Namespace(ns) => {
                self.namespaces.remove(&ns.metadata.name.unwrap_or_default());
            }
            Obj::Service(s) => self.remove_service(&key(&s.metadata), out),
            Obj::EndpointSlice(es) => self.put_slice(&key(&es.metadata), None, out),
            Obj::Event(_) => {}
        }
    }
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Deployment => "Deployment",
        Kind::StatefulSet => "StatefulSet",
        Kind::DaemonSet => "DaemonSet",
        _ => "ReplicaSet",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn synced() -> Cluster {
        let mut c = Cluster::new(Policy::default());
        for k in KINDS {
            c.apply(Change::InitDone(*k));
        }
        c
    }

    fn connection(out: &[TopologyDelta]) -> Option<bool> {
        out.iter().find_map(|d| match d {
            TopologyDelta::Connection { connected, .. } => Some(*connected),
            _ => None,
        })
    }

    #[test]
    fn an_outage_is_reported_once_and_ends_when_the_api_server_answers() {
        let mut c = synced();
        let fail = |denied| Change::Failed { kind: Kind::Pod, why: "the API server: offline (503)".into(), denied };
        assert_eq!(connection(&c.apply(fail(false))), Some(false));
        assert_eq!(connection(&c.apply(fail(false))), None, "once");
        assert_eq!(connection(&c.apply(Change::Answered)), Some(true));
        assert!(!c.failing());
        assert_eq!(connection(&c.apply(Change::Answered)), None, "once");
    }

    #[test]
    fn refused_credentials_stay_reported_until_a_watch_works_again() {
        let mut c = synced();
        c.apply(Change::Failed { kind: Kind::Pod, why: "forbidden (403)".into(), denied: true });
        assert_eq!(connection(&c.apply(Change::Answered)), None, "/version answering is not enough");
        assert!(c.failing());
        assert_eq!(connection(&c.apply(Change::InitDone(Kind::Pod))), Some(true));
    }
}
