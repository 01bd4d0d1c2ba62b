//! The Kubernetes backend's test fixture: the test API server with two shops, a backend
//! connected to it through a kubeconfig, and a watch kept like a console keeps it. Whatever a
//! test made gameday do, deploy/rbac.yaml must allow it (checked when the fixture goes).

use std::time::Duration;

use gameday::backend::kube::{KubeBackend, KubeOptions};
use gameday::backend::Backend;
use gameday::model::ParamValue;
use gameday::model::{FaultSpec, Mode, PodRef, RevertHandle, Target, Topology, TopologyDelta};

use super::apiserver::ApiServer;

pub struct Fixture {
    pub server: ApiServer,
    pub _dir: tempfile::TempDir,
    pub backend: KubeBackend,
}

/// Whatever a test made gameday do, deploy/rbac.yaml allows it.
impl Drop for Fixture {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            super::rbac::assert_allowed(&self.server.requests());
        }
    }
}

pub async fn fixture(allow: &[&str]) -> Fixture {
    let server = ApiServer::start().await;
    server.seed_shop("shop", true);
    server.seed_shop("locked", false);
    server.wait_shop_ready("shop").await;
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    server.write_kubeconfig(&kubeconfig);
    let opts = KubeOptions {
        kubeconfig: Some(kubeconfig),
        allow: allow.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    };
    let backend = KubeBackend::connect(&opts).await.expect("connect");
    Fixture { server, _dir: dir, backend }
}

/// The deltas of a watch, kept: a wait finds one that came before it asked, once; the picture
/// is kept current as a console would.
pub struct Watch {
    pub rx: tokio::sync::mpsc::UnboundedReceiver<TopologyDelta>,
    pub seen: Vec<TopologyDelta>,
    pub topo: Topology,
}

impl Watch {
    pub fn start(b: &KubeBackend) -> Watch {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        b.watch(tx);
        Watch { rx, seen: Vec::new(), topo: Topology::default() }
    }

    pub async fn wait(&mut self, secs: u64, what: &str, f: impl Fn(&TopologyDelta) -> bool) -> TopologyDelta {
        if let Some(i) = self.seen.iter().position(&f) {
            return self.seen.remove(i);
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
        loop {
            match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Ok(Some(d)) => {
                    self.topo.apply(&d);
                    if f(&d) {
                        return d;
                    }
                    self.seen.push(d);
                }
                Ok(None) => panic!("the watch ended while waiting for {what}"),
                Err(_) => panic!("no {what} within {secs} s"),
            }
        }
    }

    /// Waits until the picture satisfies `f`.
    pub async fn until(&mut self, secs: u64, what: &str, f: impl Fn(&Topology) -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
        while !f(&self.topo) {
            match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Ok(Some(d)) => {
                    self.topo.apply(&d);
                    self.seen.push(d);
                }
                Ok(None) => panic!("the watch ended while waiting for {what}"),
                Err(_) => panic!("the picture never showed {what}"),
            }
        }
    }
}

pub fn spec(
    action: &str,
    target: &str,
    topo: &Topology,
    params: &[(&str, ParamValue)],
    mode: Option<Mode>,
) -> FaultSpec {
    let target: Target = target.parse().unwrap();
    let pods = match mode {
        Some(_) => topo
            .select(&target)
            .into_iter()
            .filter(|p| !p.phase.is_down())
            .map(|p| PodRef { namespace: p.namespace.clone(), name: p.name.clone() })
            .collect(),
        None => Vec::new(),
    };
    FaultSpec {
        fault_id: 1,
        session: "20261124-120000-test".into(),
        preset: action.into(),
        action: action.into(),
        target,
        params: params.iter().map(|(k, v)| (k.to_string(), v.clone())).collect(),
        duration_ms: 60_000,
        pods,
        mode,
    }
}

pub async fn apply(b: &KubeBackend, spec: &FaultSpec) -> RevertHandle {
    let prepared = b.prepare(spec).await.unwrap_or_else(|e| panic!("prepare {}: {e}", spec.action));
    b.inject(spec, &prepared).await.unwrap_or_else(|e| panic!("inject {}: {e}", spec.action))
}

pub fn text(s: &str) -> ParamValue {
    ParamValue::Text(s.into())
}
