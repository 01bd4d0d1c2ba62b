//! The cluster picture every backend produces: workloads, pods, nodes, services and
//! per-service traffic samples, plus the deltas that keep it current.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};

use super::fault::PodRef;
use super::target::{Target, TargetKind};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PodPhase {
    Pending,
    ContainerCreating,
    Running,
    Terminating,
    CrashLoopBackOff,
    /// Frozen (Docker pause): running but answering nothing.
    Paused,
    Restarting,
    /// Stopped, with its exit code.
    Exited(i64),
}

impl PodPhase {
    /// Gone or going: not a candidate for a fault, not counted on its node.
    pub fn is_down(self) -> bool {
        matches!(self, PodPhase::Terminating | PodPhase::Exited(_))
    }
}

impl fmt::Display for PodPhase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PodPhase::Exited(code) => write!(f, "Exited({code})"),
            other => fmt::Debug::fmt(other, f),
        }
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
    /// What else a person should see: "svc carts 2/3 endpoints", "0 ready".
    #[serde(default)]
    pub note: Option<String>,
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
    pub labels: BTreeMap<String, String>,
    /// What a fault's preview must say about it, when the backend knows.
    #[serde(default)]
    pub caveats: Caveats,
}

/// What a fault's preview must say about a pod (a container) beyond its state: what else a
/// fault on it hits, what brings it back by itself, what no fault may touch.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Caveats {
    /// The network namespace it shares, when it shares one: `host` (the host's own network:
    /// every interface of the machine), or the name of the pod whose namespace it joined
    /// (Docker's `--network container:X`). A network fault hits everything in that namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub netns: Option<String>,
    /// Its restart policy, when it has one that restarts it ("always", "unless-stopped",
    /// "on-failure").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart: Option<String>,
    /// The signal its stop sends, when it sets one (Docker's STOPSIGNAL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_signal: Option<String>,
    /// Why no fault may touch it ("the console's own container").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protected: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Node {
    pub name: String,
    pub ready: bool,
    pub unschedulable: bool,
    /// Conditions worth a look: "MemoryPressure", "DiskPressure".
    #[serde(default)]
    pub note: Option<String>,
}

/// One reading of a service's traffic, as the backend measured or simulated it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ServiceSample {
    /// `namespace/name` of the service (one per workload).
    pub service: String,
    /// Fraction of requests that succeeded, 0.0 ..= 1.0.
    pub success: f64,
    /// The 95th percentile of request latency, ms, when the source measures latency.
    pub p95_ms: Option<f64>,
    pub rps: f64,
    /// Where it came from ("demo", "Istio via Prometheus monitoring/prometheus-k8s").
    #[serde(default)]
    pub source: String,
}

impl ServiceSample {
    /// "success 99.2%, p95 31 ms" (the p95 left out where the source does not measure latency).
    pub fn describe(&self) -> String {
        match self.p95_ms {
            Some(p95) => format!("success {:.1}%, p95 {p95:.0} ms", self.success * 100.0),
            None => format!("success {:.1}%", self.success * 100.0),
        }
    }
}

/// One namespace's workloads and pods, with the index from a workload to its pods. A pod is
/// shared (`Arc`) by the pictures that hold it: the backend's and the console's copy of a
/// picture of 50,000 pods hold each pod once.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Namespace {
    workloads: BTreeMap<String, Workload>,
    pods: BTreeMap<String, std::sync::Arc<Pod>>,
    /// workload name -> names of its pods
    owned: BTreeMap<String, BTreeSet<String>>,
}

impl Namespace {
    pub fn workloads(&self) -> &BTreeMap<String, Workload> {
        &self.workloads
    }
    /// The pods, by name.
    pub fn pods(&self) -> impl ExactSizeIterator<Item = (&String, &Pod)> + '_ {
        self.pods.iter().map(|(n, p)| (n, &**p))
    }
    /// A pod, by name.
    pub fn pod(&self, name: &str) -> Option<&Pod> {
        self.pods.get(name).map(|p| &**p)
    }
    /// The pods of a workload, by name.
    pub fn pods_of<'a>(&'a self, workload: &str) -> impl Iterator<Item = &'a Pod> + use<'a> {
        self.owned.get(workload).into_iter().flatten().filter_map(move |n| self.pods.get(n).map(|p| &**p))
    }
    fn is_empty(&self) -> bool {
        self.workloads.is_empty() && self.pods.is_empty()
    }
}

/// The cluster picture. Changed only through `apply` and the upsert/remove methods, which
/// keep the indexes (pods by workload, pods by node) current, so every lookup the screen
/// makes is a map lookup, never a scan of all pods.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Topology {
    namespaces: BTreeMap<String, Namespace>,
    nodes: BTreeMap<String, Node>,
    /// node name -> (namespace, pod name) of the pods on it
    on_node: BTreeMap<String, BTreeSet<(String, String)>>,
    /// Known call edges between services (`ns/name` -> `ns/name`), when the backend knows them.
    calls: Vec<(String, String)>,
    pod_count: usize,
    /// Namespaces faults may not touch, and why.
    locked: BTreeMap<String, String>,
}

impl Topology {
    pub fn namespaces(&self) -> &BTreeMap<String, Namespace> {
        &self.namespaces
    }
    pub fn nodes(&self) -> &BTreeMap<String, Node> {
        &self.nodes
    }
    pub fn calls(&self) -> &[(String, String)] {
        &self.calls
    }
    pub fn pod_count(&self) -> usize {
        self.pod_count
    }
    /// Why faults may not touch this namespace, if they may not.
    pub fn lock_reason(&self, namespace: &str) -> Option<&str> {
        self.locked.get(namespace).map(String::as_str)
    }
    pub fn set_lock(&mut self, namespace: &str, reason: Option<String>) {
        match reason {
            Some(r) => {
                self.locked.insert(namespace.to_string(), r);
            }
            None => {
                self.locked.remove(namespace);
            }
        }
    }
    pub fn workload(&self, namespace: &str, name: &str) -> Option<&Workload> {
        self.namespaces.get(namespace)?.workloads.get(name)
    }
    pub fn pod(&self, namespace: &str, name: &str) -> Option<&Pod> {
        self.namespaces.get(namespace)?.pod(name)
    }
    pub fn node(&self, name: &str) -> Option<&Node> {
        self.nodes.get(name)
    }
    pub fn workloads(&self) -> impl Iterator<Item = &Workload> {
        self.namespaces.values().flat_map(|ns| ns.workloads.values())
    }
    pub fn pods(&self) -> impl Iterator<Item = &Pod> {
        self.namespaces.values().flat_map(|ns| ns.pods.values().map(|p| &**p))
    }

    pub fn pods_of<'a>(&'a self, namespace: &str, workload: &str) -> impl Iterator<Item = &'a Pod> + use<'a> {
        let ns = self.namespaces.get(namespace);
        let names = ns.and_then(|ns| ns.owned.get(workload));
        names.into_iter().flatten().filter_map(move |n| ns.and_then(|ns| ns.pod(n)))
    }

    pub fn pods_on<'a>(&'a self, node: &str) -> impl Iterator<Item = &'a Pod> + use<'a> {
        self.on_node.get(node).into_iter().flatten().filter_map(move |(ns, n)| self.pod(ns, n))
    }

    /// The pods a target selects that are not down and not protected: what a fault on pods can
    /// hit now.
    pub fn live_pods(&self, target: &Target) -> Vec<PodRef> {
        self.select(target)
            .into_iter()
            .filter(|p| !p.phase.is_down() && p.caveats.protected.is_none())
            .map(|p| PodRef { namespace: p.namespace.clone(), name: p.name.clone() })
            .collect()
    }

    /// The pods a target selects (a workload's pods, a pod, the pods on a node, the pods with a
    /// label or whose name matches), terminating ones included.
    pub fn select(&self, target: &Target) -> Vec<&Pod> {
        match target {
            Target::Workload { namespace, name } => self.pods_of(namespace, name).collect(),
            Target::Pod { namespace, name } if namespace.is_empty() => {
                self.pods().filter(|p| p.name == *name).collect()
            }
            Target::Pod { namespace, name } => self.pod(namespace, name).into_iter().collect(),
            Target::Node { name } => self.pods_on(name).collect(),
            Target::Label { key, value } => self.pods().filter(|p| p.labels.get(key) == Some(value)).collect(),
            Target::Regex { pattern } => match regex::Regex::new(pattern) {
                Ok(re) => self.pods().filter(|p| re.is_match(&p.name)).collect(),
                Err(_) => Vec::new(),
            },
        }
    }

    pub fn contains(&self, target: &Target) -> bool {
        match target {
            Target::Workload { namespace, name } => self.workload(namespace, name).is_some(),
            Target::Pod { namespace, name } => self.pod(namespace, name).is_some(),
            Target::Node { name } => self.nodes.contains_key(name),
            Target::Label { .. } | Target::Regex { .. } => !self.select(target).is_empty(),
        }
    }

    /// Every target of the given kind, in display order.
    pub fn targets(&self, kind: TargetKind) -> Vec<Target> {
        match kind {
            TargetKind::Workload => self.workloads().map(|w| Target::workload(&w.namespace, &w.name)).collect(),
            TargetKind::Pod => self.pods().map(|p| Target::pod(&p.namespace, &p.name)).collect(),
            TargetKind::Node => self.nodes.keys().map(|n| Target::node(n)).collect(),
            TargetKind::Selector => Vec::new(),
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

    pub fn set_calls(&mut self, calls: Vec<(String, String)>) {
        self.calls = calls;
    }

    pub fn upsert_workload(&mut self, w: Workload) {
        let ns = self.namespaces.entry(w.namespace.clone()).or_default();
        ns.workloads.insert(w.name.clone(), w);
    }

    pub fn remove_workload(&mut self, namespace: &str, name: &str) {
        if let Some(ns) = self.namespaces.get_mut(namespace) {
            ns.workloads.remove(name);
        }
        self.drop_if_empty(namespace);
    }

    pub fn upsert_pod(&mut self, p: Pod) {
        self.remove_pod(&p.namespace, &p.name);
        if let Some(node) = &p.node {
            self.on_node.entry(node.clone()).or_default().insert((p.namespace.clone(), p.name.clone()));
        }
        let ns = self.namespaces.entry(p.namespace.clone()).or_default();
        if let Some(w) = &p.workload {
            ns.owned.entry(w.clone()).or_default().insert(p.name.clone());
        }
        ns.pods.insert(p.name.clone(), std::sync::Arc::new(p));
        self.pod_count += 1;
    }

    pub fn remove_pod(&mut self, namespace: &str, name: &str) {
        let Some(ns) = self.namespaces.get_mut(namespace) else { return };
        let Some(old) = ns.pods.remove(name) else { return };
        self.pod_count -= 1;
        if let Some(w) = &old.workload {
            if let Some(set) = ns.owned.get_mut(w) {
                set.remove(name);
                if set.is_empty() {
                    ns.owned.remove(w);
                }
            }
        }
        if let Some(node) = &old.node {
            if let Some(set) = self.on_node.get_mut(node) {
                set.remove(&(old.namespace.clone(), old.name.clone()));
                if set.is_empty() {
                    self.on_node.remove(node);
                }
            }
        }
        self.drop_if_empty(namespace);
    }

    pub fn upsert_node(&mut self, n: Node) {
        self.nodes.insert(n.name.clone(), n);
    }

    pub fn remove_node(&mut self, name: &str) {
        self.nodes.remove(name);
    }

    fn drop_if_empty(&mut self, namespace: &str) {
        if self.namespaces.get(namespace).is_some_and(Namespace::is_empty) {
            self.namespaces.remove(namespace);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(ns: &str, name: &str, wl: &str, node: &str) -> Pod {
        Pod {
            namespace: ns.into(),
            name: name.into(),
            workload: Some(wl.into()),
            node: Some(node.into()),
            phase: PodPhase::Running,
            ready: true,
            restarts: 0,
            note: None,
            labels: BTreeMap::from([("app".to_string(), wl.to_string())]),
            caveats: Caveats::default(),
        }
    }

    #[test]
    fn selectors_and_aliases_parse_and_select() {
        let mut t = Topology::default();
        t.upsert_pod(pod("shop", "shop-web-1", "web", "n1"));
        t.upsert_pod(pod("shop", "shop-db-1", "db", "n2"));
        for (written, hits) in [
            ("shop/web", true),
            ("shop/pod/shop-web-1", true),
            ("container/shop-web-1", true),
            ("pod/shop-web-2", false),
            ("node/n1", true),
            ("label:app=web", true),
            ("label:app=db", false),
            (r"re2:^shop-web-\d+$", true),
            ("re2:db", false),
        ] {
            let target: Target = written.parse().unwrap();
            let names: Vec<&str> = t.select(&target).iter().map(|p| p.name.as_str()).collect();
            assert_eq!(names.contains(&"shop-web-1"), hits, "{written}: {names:?}");
        }
        assert_eq!("container/x".parse::<Target>().unwrap().to_string(), "pod/x");
        assert!("re2:(".parse::<Target>().unwrap_err().contains("is not a regular expression"));
        assert!("label:=x".parse::<Target>().is_err());
    }

    #[test]
    fn the_indexes_follow_every_change() {
        let mut t = Topology::default();
        t.upsert_pod(pod("a", "web-1", "web", "n1"));
        t.upsert_pod(pod("a", "web-2", "web", "n2"));
        t.upsert_pod(pod("b", "db-1", "db", "n1"));
        assert_eq!(t.pod_count(), 3);
        assert_eq!(t.pods_of("a", "web").count(), 2);
        assert_eq!(t.pods_on("n1").map(|p| p.name.as_str()).collect::<Vec<_>>(), ["web-1", "db-1"]);
        // A pod that moves node and owner is re-indexed, not duplicated.
        t.upsert_pod(pod("a", "web-2", "api", "n1"));
        assert_eq!(t.pod_count(), 3);
        assert_eq!(t.pods_of("a", "web").count(), 1);
        assert_eq!(t.pods_of("a", "api").count(), 1);
        assert_eq!(t.pods_on("n2").count(), 0);
        assert_eq!(t.pods_on("n1").count(), 3);
        t.remove_pod("b", "db-1");
        assert!(!t.namespaces().contains_key("b"), "an empty namespace goes away");
        t.remove_pod("a", "nope");
        assert_eq!(t.pod_count(), 2);
    }
}
