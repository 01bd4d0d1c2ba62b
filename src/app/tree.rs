//! The rows of the topology tree (namespace > workload > pods, then nodes), filtered. Shared by
//! key handling (what is selected) and rendering (what is drawn).

use crate::backend::{Target, Topology};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Row {
    Namespace(String),
    Workload(Target),
    Pod(Target),
    NodesHeader,
    Node(Target),
}

impl Row {
    pub fn target(&self) -> Option<&Target> {
        match self {
            Row::Workload(t) | Row::Pod(t) | Row::Node(t) => Some(t),
            _ => None,
        }
    }
}

pub fn rows(topo: &Topology, filter: &str) -> Vec<Row> {
    let f = filter.trim().to_lowercase();
    let hit = |s: &str| f.is_empty() || s.to_lowercase().contains(&f);
    let mut out = Vec::new();
    let mut current_ns: Option<&str> = None;
    for ((ns, name), _) in &topo.workloads {
        let pods: Vec<&str> = topo.pods_of(ns, name).map(|p| p.name.as_str()).collect();
        let wl_hit = hit(name) || hit(ns);
        let pod_hits: Vec<&str> = pods.iter().copied().filter(|p| wl_hit || hit(p)).collect();
        if !wl_hit && pod_hits.is_empty() {
            continue;
        }
        if current_ns != Some(ns.as_str()) {
            out.push(Row::Namespace(ns.clone()));
            current_ns = Some(ns);
        }
        out.push(Row::Workload(Target::workload(ns, name)));
        out.extend(pod_hits.into_iter().map(|p| Row::Pod(Target::pod(ns, p))));
    }
    let nodes: Vec<Row> = topo.nodes.keys().filter(|n| hit(n)).map(|n| Row::Node(Target::node(n))).collect();
    if !nodes.is_empty() {
        out.push(Row::NodesHeader);
        out.extend(nodes);
    }
    out
}
