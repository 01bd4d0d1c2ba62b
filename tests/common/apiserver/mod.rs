//! A test Kubernetes API server that speaks the real HTTP API to the real kube client: list with
//! resourceVersion and paging, watch streams (JSON lines, bookmarks, 410 Gone after compaction),
//! get/create/replace/delete, merge/strategic/JSON/apply patches, the scale and eviction
//! subresources (evictions respect PodDisruptionBudgets), discovery (so custom resources are
//! detected for real), and small controllers. It misbehaves on demand: failed or slow answers,
//! dropped watches, going offline. Grace periods are capped at 2 s to keep tests quick.
//! It also serves the service proxy (to addresses a test puts behind a Service) and
//! metrics.k8s.io (metrics-server's pod and node usage, shaped by the pods' state).

pub mod controllers;
pub mod engines;
pub mod http;
pub mod metrics;
pub mod proxy;
pub mod schemas;
pub mod store;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use controllers::{EngineKnobs, Memory, Timing};
use store::{Res, Store, CHAOS_MESH, LITMUS};

/// A change someone else makes to a stored object.
pub type Change = Box<dyn FnOnce(&mut Value) + Send>;

#[derive(Default)]
pub struct Knobs {
    /// The next N requests fail with `fail_code` (watches too if `fail_watches`).
    pub fail_next: u32,
    pub fail_code: u16,
    pub fail_watches: bool,
    /// The controllers stand still (a large seeded cluster stays exactly as seeded).
    pub frozen: bool,
    /// Every answer waits this long.
    pub delay: Duration,
    /// Every request gets 503.
    pub offline: bool,
    /// "METHOD /path" of every request, in order.
    pub requests: Vec<String>,
    /// Every eviction accepted: (namespace, pod, the grace period it asked for).
    pub evictions: Vec<(String, String, Option<i64>)>,
    /// Every object refused because it departs from its CRD's schema (the message).
    pub invalid: Vec<String>,
    /// (resource plural, verb) the caller's RBAC does not grant: answered 403 Forbidden.
    pub forbidden: Vec<(String, String)>,
    /// Every write refused by a resourceVersion or uid precondition (409 Conflict).
    pub conflicts: Vec<String>,
    /// Someone else's write that lands just before the next write to this resource (after the
    /// writer read the object): it changes the stored object, so the writer's precondition fails.
    pub interleave: Option<(String, Change)>,
    /// What the service proxy reaches behind a Service's port.
    pub endpoints: Vec<proxy::Endpoint>,
    /// (namespace, pod) -> (CPU millicores, memory bytes) metrics.k8s.io reports instead.
    pub usage: HashMap<(String, String), (u64, u64)>,
    /// metrics.k8s.io is not served (a cluster without metrics-server).
    pub no_metrics_server: bool,
    /// The next N evictions are turned away by API Priority and Fairness (429, Retry-After: 1,
    /// no Status body).
    pub throttle_evictions: u32,
}

pub struct Server {
    pub store: Mutex<Store>,
    pub knobs: Mutex<Knobs>,
    /// Bumped to close every open watch.
    pub watch_gen: tokio::sync::watch::Sender<u64>,
    pub timing: Mutex<Timing>,
    pub engines: Mutex<EngineKnobs>,
    /// The service proxy's client.
    pub http: reqwest::Client,
}

pub struct ApiServer {
    pub addr: SocketAddr,
    pub srv: Arc<Server>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for ApiServer {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl ApiServer {
    /// Starts on 127.0.0.1 (a free port), with its controllers running.
    pub async fn start() -> ApiServer {
        let (watch_gen, _) = tokio::sync::watch::channel(0);
        let srv = Arc::new(Server {
            store: Mutex::new(Store::new()),
            knobs: Mutex::new(Knobs { fail_code: 500, ..Default::default() }),
            watch_gen,
            timing: Mutex::new(Timing::default()),
            engines: Mutex::new(EngineKnobs::default()),
            http: reqwest::Client::builder()
                .no_proxy()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(60))
                .build()
                .expect("an HTTP client"),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().unwrap();
        let app = axum::Router::new().fallback(http::handle).with_state(srv.clone());
        let serve = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        let s2 = srv.clone();
        let controllers = tokio::spawn(async move {
            let mut mem = Memory::default();
            let mut tick = tokio::time::interval(Duration::from_millis(50));
            loop {
                tick.tick().await;
                if s2.knobs.lock().unwrap().frozen {
                    continue;
                }
                let t = *s2.timing.lock().unwrap();
                let knobs = s2.engines.lock().unwrap().clone();
                let mut store = s2.store.lock().unwrap();
                controllers::reconcile(&mut store, &mut mem, &t, &knobs);
            }
        });
        ApiServer { addr, srv, tasks: vec![serve, controllers] }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A kubeconfig pointing at this server (context `test`, namespace `default`).
    pub fn write_kubeconfig(&self, path: &Path) {
        let text = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: test\n  cluster:\n    server: {}\n\
             contexts:\n- name: test\n  context:\n    cluster: test\n    user: test\n    namespace: default\n\
             current-context: test\nusers:\n- name: test\n  user:\n    token: test-token\n",
            self.url()
        );
        std::fs::write(path, text).expect("write kubeconfig");
    }

    fn install(&self, res: &[Res]) {
        let mut s = self.srv.store.lock().unwrap();
        for r in res {
            if !s.resources.contains(r) {
                s.resources.push(*r);
            }
        }
    }

    pub fn install_chaos_mesh(&self) {
        self.install(CHAOS_MESH);
    }

    pub fn install_litmus(&self) {
        self.install(LITMUS);
    }

    /// Litmus as it runs in a cluster: its kinds, the operator (a Deployment in namespace
    /// `litmus` whose pods are labelled `name=chaos-operator`), and in namespace `ns` the
    /// pod-delete ChaosExperiment and the chaos service account `litmus-admin`.
    pub fn install_litmus_with_operator(&self, ns: &str) {
        self.install_litmus();
        self.apply("namespaces", json!({"metadata": {"name": "litmus"}}));
        self.apply(
            "deployments",
            json!({"metadata": {"name": "chaos-operator-ce", "namespace": "litmus", "labels": {"name": "chaos-operator"}},
                "spec": {"replicas": 1, "selector": {"matchLabels": {"name": "chaos-operator"}},
                    "template": {"metadata": {"labels": {"name": "chaos-operator"}},
                        "spec": {"containers": [{"name": "chaos-operator", "image": "litmuschaos/chaos-operator:3.0.0"}]}}}}),
        );
        self.apply(
            "chaosexperiments",
            json!({"metadata": {"name": "pod-delete", "namespace": ns},
                "spec": {"definition": {"scope": "Namespaced", "image": "litmuschaos/go-runner:3.0.0"}}}),
        );
        self.apply("serviceaccounts", json!({"metadata": {"name": "litmus-admin", "namespace": ns}}));
    }

    /// What `kubectl apply -f deploy/rbac.yaml` creates that gameday needs besides its grants:
    /// the namespace of the cluster lock.
    pub fn install_gameday(&self) {
        self.apply("namespaces", json!({"metadata": {"name": "gameday"}}));
    }

    /// How the stand-in engines behave from now on.
    pub fn set_engines(&self, f: impl FnOnce(&mut EngineKnobs)) {
        f(&mut self.srv.engines.lock().unwrap());
    }

    /// Objects refused because they depart from their CRD's schema.
    pub fn invalid(&self) -> Vec<String> {
        self.srv.knobs.lock().unwrap().invalid.clone()
    }

    fn res(&self, plural: &str) -> Res {
        let s = self.srv.store.lock().unwrap();
        s.resources.iter().copied().find(|r| r.plural == plural).unwrap_or_else(|| panic!("no resource {plural}"))
    }

    /// Creates the object, or replaces it.
    pub fn apply(&self, plural: &str, obj: Value) -> Value {
        let r = self.res(plural);
        let ns = obj["metadata"]["namespace"].as_str().unwrap_or("default").to_string();
        let name = obj["metadata"]["name"].as_str().unwrap_or_default().to_string();
        let mut s = self.srv.store.lock().unwrap();
        match s.get(&r, &ns, &name).cloned() {
            Some(mut old) => {
                json_patch::merge(&mut old, &obj);
                s.update(&r, old)
            }
            None => s.create(&r, &ns, obj).expect("create"),
        }
    }

    pub fn get(&self, plural: &str, ns: &str, name: &str) -> Option<Value> {
        let r = self.res(plural);
        self.srv.store.lock().unwrap().get(&r, ns, name).cloned()
    }

    /// The objects of a resource of one API group (events: core `""` or `events.k8s.io`).
    pub fn list_in(&self, group: &str, plural: &str, ns: Option<&str>) -> Vec<Value> {
        let s = self.srv.store.lock().unwrap();
        let r = s.res(group, plural).unwrap_or_else(|| panic!("no resource {group}/{plural}"));
        s.list(&r, ns).into_iter().cloned().collect()
    }

    pub fn list(&self, plural: &str, ns: Option<&str>) -> Vec<Value> {
        let r = self.res(plural);
        self.srv.store.lock().unwrap().list(&r, ns).into_iter().cloned().collect()
    }

    pub fn delete_now(&self, plural: &str, ns: &str, name: &str) {
        let r = self.res(plural);
        self.srv.store.lock().unwrap().remove(&r, ns, name);
    }

    /// The caller may not `verb` (get, list, watch, create, update, patch, delete) `plural`
    /// from now on: 403, as RBAC answers.
    pub fn forbid(&self, plural: &str, verb: &str) {
        self.srv.knobs.lock().unwrap().forbidden.push((plural.to_string(), verb.to_string()));
    }

    /// The next `n` evictions are turned away by API Priority and Fairness (429 with
    /// Retry-After: 1 and a plain-text body, as the real server answers).
    pub fn throttle_evictions(&self, n: u32) {
        self.srv.knobs.lock().unwrap().throttle_evictions = n;
    }

    /// The service proxy reaches `addr` (`127.0.0.1:PORT`) behind port `port` (its name or
    /// number) of Service `ns/service`, as if a ready pod there served it. The Service itself
    /// must exist for the proxy to answer (`seed_prometheus_service` makes one).
    pub fn proxy_service(&self, ns: &str, service: &str, port: &str, addr: &str) {
        let mut k = self.srv.knobs.lock().unwrap();
        k.endpoints.retain(|e| !(e.ns == ns && e.service == service && e.port == port));
        k.endpoints.push(proxy::Endpoint {
            ns: ns.into(),
            service: service.into(),
            port: port.into(),
            addr: addr.into(),
        });
    }

    /// Nothing is behind Service `ns/service` any more (its pods are gone): 503 from the proxy.
    pub fn unproxy_service(&self, ns: &str, service: &str) {
        self.srv.knobs.lock().unwrap().endpoints.retain(|e| !(e.ns == ns && e.service == service));
    }

    /// A Service as the Prometheus Operator makes one (`prometheus-k8s` in `monitoring` in
    /// kube-prometheus): port `port_name` (empty: unnamed) `port` -> targetPort `port_name`
    /// (or `port`), selecting `app.kubernetes.io/name: prometheus`; its namespace too.
    pub fn seed_prometheus_service(&self, ns: &str, name: &str, port_name: &str, port: u16) {
        self.apply("namespaces", json!({"metadata": {"name": ns}}));
        let mut p = json!({"port": port, "protocol": "TCP"});
        if port_name.is_empty() {
            p["targetPort"] = json!(port);
        } else {
            p["name"] = json!(port_name);
            p["targetPort"] = json!(port_name);
        }
        self.apply(
            "services",
            json!({"metadata": {"name": name, "namespace": ns, "labels": {"app.kubernetes.io/name": "prometheus"}},
                "spec": {"type": "ClusterIP", "selector": {"app.kubernetes.io/name": "prometheus"}, "ports": [p]}}),
        );
    }

    /// metrics.k8s.io reports pod `ns/pod` using this much (CPU in millicores, memory in bytes,
    /// all on its first container) instead of what its state says.
    pub fn set_usage(&self, ns: &str, pod: &str, cpu_millicores: u64, memory_bytes: u64) {
        self.srv.knobs.lock().unwrap().usage.insert((ns.into(), pod.into()), (cpu_millicores, memory_bytes));
    }

    /// metrics.k8s.io reports pod `ns/pod` from its state again.
    pub fn clear_usage(&self, ns: &str, pod: &str) {
        self.srv.knobs.lock().unwrap().usage.remove(&(ns.to_string(), pod.to_string()));
    }

    /// Whether metrics-server is installed (it is by default): without it metrics.k8s.io is
    /// neither discovered nor served (404), as in a cluster that lacks it.
    pub fn metrics_server(&self, on: bool) {
        self.srv.knobs.lock().unwrap().no_metrics_server = !on;
    }

    /// Changes the object the next write to `plural` is about just before that write lands.
    pub fn on_next_write(&self, plural: &str, change: impl FnOnce(&mut Value) + Send + 'static) {
        self.srv.knobs.lock().unwrap().interleave = Some((plural.to_string(), Box::new(change)));
    }

    /// Writes refused by a stale resourceVersion (or uid) precondition so far.
    pub fn conflicts(&self) -> Vec<String> {
        self.srv.knobs.lock().unwrap().conflicts.clone()
    }

    pub fn fail_next(&self, n: u32, code: u16) {
        let mut k = self.srv.knobs.lock().unwrap();
        k.fail_next = n;
        k.fail_code = code;
    }

    pub fn slow(&self, d: Duration) {
        self.srv.knobs.lock().unwrap().delay = d;
    }

    pub fn offline(&self, off: bool) {
        self.srv.knobs.lock().unwrap().offline = off;
        if off {
            self.drop_watches();
        }
    }

    /// Stops (or restarts) the controllers.
    pub fn freeze(&self, frozen: bool) {
        self.srv.knobs.lock().unwrap().frozen = frozen;
    }

    pub fn drop_watches(&self) {
        self.srv.watch_gen.send_modify(|g| *g += 1);
    }

    /// Forgets the change history: resuming a watch from before now gets 410 Gone.
    pub fn compact(&self) {
        self.srv.store.lock().unwrap().compact();
    }

    pub fn requests(&self) -> Vec<String> {
        self.srv.knobs.lock().unwrap().requests.clone()
    }

    /// Forgets the requests recorded so far (those of another party, checked on their own).
    pub fn forget_requests(&self) {
        self.srv.knobs.lock().unwrap().requests.clear();
    }

    /// Every eviction the server accepted: (namespace, pod, grace period asked for).
    pub fn evictions(&self) -> Vec<(String, String, Option<i64>)> {
        self.srv.knobs.lock().unwrap().evictions.clone()
    }

    pub fn set_timing(&self, t: Timing) {
        *self.srv.timing.lock().unwrap() = t;
    }

    /// Waits until `f` holds (checked every 50 ms); panics with `what` after `timeout`.
    pub async fn wait_until(&self, timeout: Duration, what: &str, f: impl Fn(&ApiServer) -> bool) {
        let deadline = Instant::now() + timeout;
        while !f(self) {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Ready pods of a workload (by the `app` label).
    /// The names of the pods of app `app` in `ns` not being deleted, sorted.
    pub fn live_pods(&self, ns: &str, app: &str) -> Vec<String> {
        let mut names: Vec<String> = self
            .list("pods", Some(ns))
            .into_iter()
            .filter(|p| p["metadata"]["labels"]["app"] == app && p["metadata"]["deletionTimestamp"].is_null())
            .filter_map(|p| p["metadata"]["name"].as_str().map(str::to_string))
            .collect();
        names.sort();
        names
    }

    pub fn ready_pods(&self, ns: &str, app: &str) -> usize {
        self.list("pods", Some(ns))
            .iter()
            .filter(|p| p["metadata"]["labels"]["app"] == app && p["metadata"]["deletionTimestamp"].is_null())
            .filter(|p| {
                p["status"]["conditions"]
                    .as_array()
                    .is_some_and(|c| c.iter().any(|c| c["type"] == "Ready" && c["status"] == "True"))
            })
            .count()
    }

    /// A small shop in namespace `ns` (allowed for faults when `allow`): nodes n1..n3;
    /// deployments front (2), carts (3, reads ConfigMap carts-config), db (1) with services;
    /// a StatefulSet queue (2), a DaemonSet agent; a PDB keeping 2 carts up.
    pub fn seed_shop(&self, ns: &str, allow: bool) {
        let labels = if allow { json!({"gameday.dev/allow": "true"}) } else { json!({}) };
        self.apply("namespaces", json!({"metadata": {"name": ns, "labels": labels}}));
        self.apply("namespaces", json!({"metadata": {"name": "kube-system"}}));
        for n in ["n1", "n2", "n3"] {
            self.apply(
                "nodes",
                json!({"metadata": {"name": n, "labels": {"kubernetes.io/hostname": n}}, "spec": {},
                    "status": {"conditions": [{"type": "Ready", "status": "True"}]}}),
            );
        }
        self.apply("configmaps", json!({"metadata": {"name": "carts-config", "namespace": ns}, "data": {"DB_HOST": "db", "TIMEOUT_MS": "500"}}));
        for (name, replicas) in [("front", 2), ("carts", 3), ("db", 1)] {
            let mut container =
                json!({"name": name, "image": format!("example/{name}:1.0"), "ports": [{"containerPort": 8080}]});
            if name == "carts" {
                container["envFrom"] = json!([{"configMapRef": {"name": "carts-config"}}]);
            }
            self.apply(
                "deployments",
                json!({"metadata": {"name": name, "namespace": ns, "labels": {"app": name}},
                    "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                        "template": {"metadata": {"labels": {"app": name}},
                            "spec": {"terminationGracePeriodSeconds": 1, "containers": [container]}}}}),
            );
            self.apply(
                "services",
                json!({"metadata": {"name": name, "namespace": ns}, "spec": {"selector": {"app": name}, "ports": [{"port": 80, "targetPort": 8080}]}}),
            );
        }
        self.apply(
            "statefulsets",
            json!({"metadata": {"name": "queue", "namespace": ns, "labels": {"app": "queue"}},
                "spec": {"replicas": 2, "serviceName": "queue", "selector": {"matchLabels": {"app": "queue"}},
                    "template": {"metadata": {"labels": {"app": "queue"}}, "spec": {"terminationGracePeriodSeconds": 1, "containers": [{"name": "queue", "image": "example/queue:1"}]}}}}),
        );
        self.apply(
            "daemonsets",
            json!({"metadata": {"name": "agent", "namespace": ns, "labels": {"app": "agent"}},
                "spec": {"selector": {"matchLabels": {"app": "agent"}},
                    "template": {"metadata": {"labels": {"app": "agent"}}, "spec": {"containers": [{"name": "agent", "image": "example/agent:1"}]}}}}),
        );
        self.apply(
            "poddisruptionbudgets",
            json!({"metadata": {"name": "carts", "namespace": ns}, "spec": {"minAvailable": 2, "selector": {"matchLabels": {"app": "carts"}}}}),
        );
    }

    /// Waits until every workload of the shop is fully ready.
    pub async fn wait_shop_ready(&self, ns: &str) {
        let want = [("front", 2), ("carts", 3), ("db", 1), ("queue", 2), ("agent", 3)];
        self.wait_until(Duration::from_secs(15), "the shop to be ready", |s| {
            want.iter().all(|(app, n)| s.ready_pods(ns, app) == *n)
                // and the controllers have written it into the workloads' status
                && ["front", "carts", "db"].iter().zip([2, 3, 1]).all(|(d, n)| {
                    s.get("deployments", ns, d).is_some_and(|d| d["status"]["readyReplicas"] == n)
                })
        })
        .await;
    }
}
