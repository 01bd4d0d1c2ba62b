//! A cluster at scale for the benchmarks: 10,000 pods, 2,500 Deployments each with a Service,
//! 500 nodes, in 50 namespaces (`team-00`..`team-49`, Deployments `svc-00`..`svc-49`); or any
//! other `Scale` of the same shape (50,000 pods: `Scale::FIFTY_K`).

use serde_json::{json, Value};

pub const NAMESPACES: usize = 50;
pub const DEPLOYMENTS_PER_NS: usize = 50; // 2,500 deployments, each with a service
pub const PODS_PER_DEPLOYMENT: usize = 4; // 10,000 pods
pub const NODES: usize = 500;
pub const PODS: usize = NAMESPACES * DEPLOYMENTS_PER_NS * PODS_PER_DEPLOYMENT;

/// How big a cluster: namespaces, Deployments (each with a Service) per namespace, pods per
/// Deployment, nodes.
#[derive(Clone, Copy, Debug)]
pub struct Scale {
    pub namespaces: usize,
    pub deployments_per_ns: usize,
    pub pods_per_deployment: usize,
    pub nodes: usize,
}

impl Scale {
    pub const TEN_K: Scale = Scale {
        namespaces: NAMESPACES,
        deployments_per_ns: DEPLOYMENTS_PER_NS,
        pods_per_deployment: PODS_PER_DEPLOYMENT,
        nodes: NODES,
    };
    /// 50,000 pods, 10,000 services, 2,000 nodes.
    pub const FIFTY_K: Scale = Scale { namespaces: 50, deployments_per_ns: 200, pods_per_deployment: 5, nodes: 2_000 };

    pub fn pods(&self) -> usize {
        self.namespaces * self.deployments_per_ns * self.pods_per_deployment
    }

    pub fn services(&self) -> usize {
        self.namespaces * self.deployments_per_ns
    }
}

/// Every object of the 10,000-pod cluster, as (plural, JSON), in an order the API server accepts.
#[allow(dead_code)]
pub fn objects() -> Vec<(&'static str, Value)> {
    objects_at(Scale::TEN_K)
}

/// Every object of a cluster of `scale`.
pub fn objects_at(scale: Scale) -> Vec<(&'static str, Value)> {
    let Scale { namespaces, deployments_per_ns, pods_per_deployment, nodes } = scale;
    let mut out = Vec::new();
    for n in 0..nodes {
        out.push((
            "nodes",
            json!({"metadata": {"name": format!("node-{n:03}")}, "spec": {},
                "status": {"conditions": [{"type": "Ready", "status": "True"}]}}),
        ));
    }
    let mut pod_no = 0usize;
    for k in 0..namespaces {
        let ns = format!("team-{k:02}");
        out.push(("namespaces", json!({"metadata": {"name": ns, "labels": {"gameday.dev/allow": "true"}}})));
        for d in 0..deployments_per_ns {
            let app = format!("svc-{d:02}");
            let rs = format!("{app}-5f7c9d8b6");
            let n = pods_per_deployment as i64;
            let labels = json!({"app": app});
            out.push((
                "deployments",
                json!({"metadata": {"name": app, "namespace": ns, "labels": labels},
                    "spec": {"replicas": n, "selector": {"matchLabels": labels},
                        "template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": app, "image": "example/app:1"}]}}},
                    "status": {"replicas": n, "readyReplicas": n, "availableReplicas": n, "observedGeneration": 1}}),
            ));
            out.push((
                "replicasets",
                json!({"metadata": {"name": rs, "namespace": ns, "labels": labels,
                        "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": app, "uid": format!("d-{ns}-{app}"), "controller": true}]},
                    "spec": {"replicas": n, "selector": {"matchLabels": labels}, "template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": app, "image": "example/app:1"}]}}},
                    "status": {"replicas": n, "readyReplicas": n}}),
            ));
            out.push((
                "services",
                json!({"metadata": {"name": app, "namespace": ns}, "spec": {"selector": labels, "ports": [{"port": 80}]}}),
            ));
            let mut endpoints = Vec::new();
            for p in 0..pods_per_deployment {
                let name = format!("{rs}-{p:05}");
                let ip = format!("10.{}.{}.{}", pod_no / 65536, (pod_no / 256) % 256, pod_no % 256);
                out.push((
                    "pods",
                    json!({"metadata": {"name": name, "namespace": ns, "labels": labels,
                            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": rs, "uid": format!("rs-{ns}-{rs}"), "controller": true}]},
                        "spec": {"nodeName": format!("node-{:03}", pod_no % nodes), "containers": [{"name": app, "image": "example/app:1"}]},
                        "status": {"phase": "Running", "podIP": ip,
                            "conditions": [{"type": "Ready", "status": "True"}],
                            "containerStatuses": [{"name": app, "ready": true, "restartCount": 0, "image": "example/app:1", "imageID": "", "state": {"running": {}}}]}}),
                ));
                endpoints.push(json!({"addresses": [ip], "conditions": {"ready": true}, "targetRef": {"kind": "Pod", "name": name, "namespace": ns}}));
                pod_no += 1;
            }
            out.push((
                "endpointslices",
                json!({"metadata": {"name": format!("{app}-abcde"), "namespace": ns, "labels": {"kubernetes.io/service-name": app}},
                    "addressType": "IPv4", "endpoints": endpoints, "ports": [{"port": 80}]}),
            ));
        }
    }
    out
}
