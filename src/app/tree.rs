//! The rows of the topology tree (namespace > workload > pods, then nodes), filtered. Shared by
//! key handling (what is selected) and rendering (what is drawn). Rows borrow from the
//! topology, so building them for a large cluster allocates one vector and nothing else.

use crate::model::{Node, Pod, Workload};
use crate::model::{Target, Topology};

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Row<'a> {
    Namespace(&'a str),
    Workload(&'a Workload),
    Pod(&'a Pod),
    NodesHeader,
    Node(&'a Node),
}

impl Row<'_> {
    /// What a fault would aim at if this row were chosen.
    pub fn target(&self) -> Option<Target> {
        match self {
            Row::Workload(w) => Some(Target::workload(&w.namespace, &w.name)),
            Row::Pod(p) => Some(Target::pod(&p.namespace, &p.name)),
            Row::Node(n) => Some(Target::node(&n.name)),
            Row::Namespace(_) | Row::NodesHeader => None,
        }
    }
}

/// Case-insensitive substring match; an empty filter matches everything.
struct Filter(String);

impl Filter {
    fn new(f: &str) -> Filter {
        Filter(f.trim().to_lowercase())
    }
    fn hit(&self, s: &str) -> bool {
        self.0.is_empty() || s.to_lowercase().contains(&self.0)
    }
}

pub fn rows<'a>(topo: &'a Topology, filter: &str) -> Vec<Row<'a>> {
    let f = Filter::new(filter);
    let mut out = Vec::with_capacity(topo.pod_count() + topo.nodes().len() + 16);
    for (ns_name, ns) in topo.namespaces() {
        let ns_hit = f.hit(ns_name);
        let header = out.len();
        out.push(Row::Namespace(ns_name));
        for (name, w) in ns.workloads() {
            let wl_hit = ns_hit || f.hit(name);
            let start = out.len();
            out.push(Row::Workload(w));
            out.extend(ns.pods_of(name).filter(|p| wl_hit || f.hit(&p.name)).map(Row::Pod));
            if !wl_hit && out.len() == start + 1 {
                out.truncate(start);
            }
        }
        if out.len() == header + 1 {
            out.truncate(header);
        }
    }
    let header = out.len();
    out.push(Row::NodesHeader);
    out.extend(topo.nodes().values().filter(|n| f.hit(&n.name)).map(Row::Node));
    if out.len() == header + 1 {
        out.truncate(header);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::sim::SimCluster;

    fn labels(rows: &[Row]) -> Vec<String> {
        rows.iter()
            .map(|r| match r {
                Row::Namespace(n) => format!("ns:{n}"),
                Row::NodesHeader => "nodes".into(),
                r => r.target().map(|t| t.to_string()).unwrap_or_default(),
            })
            .collect()
    }

    #[test]
    fn the_filter_keeps_matching_rows_with_their_parents() {
        let topo = SimCluster::new(42).topology();
        let all = rows(&topo, "");
        assert_eq!(all.len(), 1 + 14 + 21 + 1 + 3);
        let carts = labels(&rows(&topo, "CARTS-DB"));
        assert_eq!(carts.len(), 3, "{carts:?}");
        assert_eq!(carts[0], "ns:sock-shop");
        assert_eq!(carts[1], "sock-shop/carts-db");
        let node = labels(&rows(&topo, "worker-2"));
        assert_eq!(node, ["nodes", "node/worker-2"]);
        assert!(rows(&topo, "no such thing").is_empty());
    }
}
