//! Faults through the plain Kubernetes API: pod delete/kill and eviction, scale, node cordon
//! and drain, a corrupted ConfigMap key, an unpullable image, a deny-all NetworkPolicy. Every
//! object gameday changes or creates carries the labels `gameday.dev/session` and
//! `gameday.dev/fault`, and the annotation `gameday.dev/revert` holds the whole revert plan, so
//! any process can find the fault and undo it from the cluster alone.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Node, Pod};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use kube::api::{Api, DeleteParams, EvictParams, ListParams, Patch, PatchParams, PostParams};
use kube::Client;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::cluster::Policy;
use super::engines::{self, Engines};
use crate::backend::{BackendError, FaultSpec, Mode, RevertHandle, Target};

pub const SESSION: &str = "gameday.dev/session";
pub const FAULT: &str = "gameday.dev/fault";
pub const REVERT: &str = "gameday.dev/revert";
/// Pods chosen for a NetworkPolicy fault get this label (the policy selects it).
pub const DENY: &str = "gameday.dev/deny";

/// The plain-API actions.
pub const ACTIONS: &[&str] = &[
    "pod-delete",
    "pod-evict",
    "scale",
    "node-cordon",
    "node-drain",
    "config-corrupt",
    "image-unavailable",
    "network-deny",
];

/// A pod by namespace and name.
pub type PodKey = (String, String);

/// What a fault does and how to undo it: the revert handle's data, and the `gameday.dev/revert`
/// annotation on what it touched.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "kebab-case")]
pub enum Plan {
    PodDelete {
        pods: Vec<PodKey>,
        grace: Option<i64>,
    },
    PodEvict {
        pods: Vec<PodKey>,
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
        engine: engines::Engine,
        name: String,
        what: String,
        #[serde(default)]
        body: Value,
    },
}

impl Plan {
    pub fn summary(&self, done: bool) -> String {
        let pods = |p: &[PodKey]| p.iter().map(|(ns, n)| format!("{ns}/{n}")).collect::<Vec<_>>().join(", ");
        let (will, did) = match self {
            Plan::PodDelete { pods: p, grace: Some(0) } => (format!("kill {}", pods(p)), format!("killed {}", pods(p))),
            Plan::PodDelete { pods: p, .. } => (format!("delete {}", pods(p)), format!("deleted {}", pods(p))),
            Plan::PodEvict { pods: p } => (format!("evict {}", pods(p)), format!("evicted {}", pods(p))),
            Plan::Scale { namespace, kind, name, from, to } => (
                format!("scale {kind} {namespace}/{name} from {from} to {to}"),
                format!("scaled {kind} {namespace}/{name} from {from} to {to}"),
            ),
            Plan::NodeCordon { node, .. } => (format!("cordon {node}"), format!("cordoned {node}")),
            Plan::NodeDrain { node, pods: p, .. } => (
                format!("cordon {node} and evict {} pods", p.len()),
                format!("cordoned {node} and evicted {}", pods(p)),
            ),
            Plan::ConfigCorrupt { namespace, configmap, key, value, .. } => (
                format!("set {key}={value} in ConfigMap {namespace}/{configmap}"),
                format!("set {key}={value} in ConfigMap {namespace}/{configmap}"),
            ),
            Plan::ImageUnavailable { namespace, kind, name, images } => (
                format!(
                    "point {} container(s) of {kind} {namespace}/{name} at an image that cannot be pulled",
                    images.len()
                ),
                format!("pointed {kind} {namespace}/{name} at an image that cannot be pulled"),
            ),
            Plan::NetworkDeny { namespace, policy, .. } => (
                format!("create the deny-all NetworkPolicy {namespace}/{policy}"),
                format!("created the deny-all NetworkPolicy {namespace}/{policy}"),
            ),
            Plan::Chaos { namespace, engine, name, what, .. } => (
                format!("create {} {namespace}/{name} ({what})", engine.kind),
                format!("created {} {namespace}/{name} ({what})", engine.kind),
            ),
        };
        if done {
            did
        } else {
            will
        }
    }

    pub fn handle(&self, fault_id: u64, done: bool) -> RevertHandle {
        RevertHandle { fault_id, summary: self.summary(done), data: serde_json::to_value(self).unwrap_or(Value::Null) }
    }

    pub fn from_handle(h: &RevertHandle) -> Result<Plan, BackendError> {
        serde_json::from_value(h.data.clone()).map_err(|e| {
            BackendError::Failed(format!("revert handle of fault #{} is not a Kubernetes one: {e}", h.fault_id))
        })
    }
}

/// What the fault code needs of the backend.
pub struct Ctx {
    pub client: Client,
    pub policy: Policy,
    pub engines: std::sync::Arc<std::sync::RwLock<Engines>>,
}

fn api_err(what: &str, e: kube::Error) -> BackendError {
    match e {
        kube::Error::Api(s) if s.code == 404 => BackendError::TargetGone(format!("{what}: {}", s.message)),
        kube::Error::Api(s) if s.code == 429 => {
            BackendError::Failed(format!("{what}: refused for now ({}): {}", s.code, s.message))
        }
        kube::Error::Api(s) => BackendError::Failed(format!("{what}: {} ({})", s.message, s.code)),
        other => BackendError::Failed(format!("{what}: {other}")),
    }
}

fn is_404(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 404)
}

/// The labels and annotation every touched object gets.
pub fn markers(spec: &FaultSpec, plan: &Plan) -> Value {
    json!({"metadata": {
        "labels": {SESSION: spec.session, FAULT: spec.fault_id.to_string()},
        "annotations": {REVERT: serde_json::to_string(plan).unwrap_or_default()},
    }})
}

/// Removes the markers (a merge patch with nulls).
fn unmark() -> Value {
    json!({"metadata": {"labels": {SESSION: null, FAULT: null}, "annotations": {REVERT: null}}})
}

/// Combines two merge patches into one. Unlike applying `b` to `a` (RFC 7386), a null in `b`
/// stays: in a merge patch it means "remove this field".
fn merge(a: Value, b: Value) -> Value {
    match (a, b) {
        (Value::Object(mut a), Value::Object(b)) => {
            for (k, v) in b {
                let merged = match a.remove(&k) {
                    Some(av) => merge(av, v),
                    None => v,
                };
                a.insert(k, merged);
            }
            Value::Object(a)
        }
        (_, b) => b,
    }
}

/// Whether faults may touch this namespace (the label on it, or --allow-namespace).
async fn check_namespace(ctx: &Ctx, ns: &str) -> Result<(), BackendError> {
    let nss: Api<Namespace> = Api::all(ctx.client.clone());
    let labels = match nss.get(ns).await {
        Ok(n) => n.metadata.labels.unwrap_or_default(),
        Err(e) => return Err(api_err(&format!("namespace {ns}"), e)),
    };
    match ctx.policy.lock_reason(ns, &labels) {
        Some(why) => Err(BackendError::Unsupported(why)),
        None => Ok(()),
    }
}

/// The candidate pods that still exist and run, never the console's own; `count` of them
/// chosen at random.
pub async fn choose_pods(ctx: &Ctx, spec: &FaultSpec) -> Result<Vec<PodKey>, BackendError> {
    let mut live = Vec::new();
    let mut own = false;
    for r in &spec.pods {
        if ctx.policy.own_pod.as_ref() == Some(&(r.namespace.clone(), r.name.clone())) {
            own = true;
            continue;
        }
        let pods: Api<Pod> = Api::namespaced(ctx.client.clone(), &r.namespace);
        match pods.get_opt(&r.name).await {
            Ok(Some(p)) if p.metadata.deletion_timestamp.is_none() => live.push((r.namespace.clone(), r.name.clone())),
            Ok(_) => {}
            Err(e) => return Err(api_err(&format!("pod {}/{}", r.namespace, r.name), e)),
        }
    }
    if live.is_empty() {
        return Err(if own {
            BackendError::Unsupported("refusing to act on the console's own pod".into())
        } else {
            BackendError::TargetGone(format!("none of the pods {} selects is running", spec.target))
        });
    }
    let mut namespaces: Vec<&String> = live.iter().map(|(ns, _)| ns).collect();
    namespaces.sort();
    namespaces.dedup();
    for ns in namespaces {
        check_namespace(ctx, ns).await?;
    }
    live.shuffle(&mut rand::thread_rng());
    live.truncate(spec.mode.unwrap_or(Mode::All).count(live.len()));
    live.sort();
    Ok(live)
}

/// Which workload kind a `<namespace>/<name>` target is, with its pod template.
async fn workload(ctx: &Ctx, ns: &str, name: &str) -> Result<(String, Value), BackendError> {
    let c = &ctx.client;
    if let Some(d) = Api::<Deployment>::namespaced(c.clone(), ns).get_opt(name).await.map_err(|e| api_err(name, e))? {
        return Ok(("Deployment".into(), serde_json::to_value(d).unwrap_or_default()));
    }
    if let Some(s) = Api::<StatefulSet>::namespaced(c.clone(), ns).get_opt(name).await.map_err(|e| api_err(name, e))? {
        return Ok(("StatefulSet".into(), serde_json::to_value(s).unwrap_or_default()));
    }
    if let Some(d) = Api::<DaemonSet>::namespaced(c.clone(), ns).get_opt(name).await.map_err(|e| api_err(name, e))? {
        return Ok(("DaemonSet".into(), serde_json::to_value(d).unwrap_or_default()));
    }
    Err(BackendError::TargetGone(format!("no Deployment, StatefulSet or DaemonSet {ns}/{name}")))
}

/// A workload's kind and its pods' labels (the selector's matchLabels), after checking its
/// namespace is open to faults.
pub async fn workload_labels(
    ctx: &Ctx,
    ns: &str,
    name: &str,
) -> Result<(String, BTreeMap<String, String>), BackendError> {
    check_namespace(ctx, ns).await?;
    let (kind, obj) = workload(ctx, ns, name).await?;
    let labels = serde_json::from_value(obj["spec"]["selector"]["matchLabels"].clone()).unwrap_or_default();
    Ok((kind, labels))
}

/// Merge-patches a workload of any of the three kinds.
async fn patch_workload(ctx: &Ctx, kind: &str, ns: &str, name: &str, patch: &Value) -> Result<(), kube::Error> {
    let c = ctx.client.clone();
    let p = Patch::Merge(patch);
    let pp = PatchParams::default();
    match kind {
        "Deployment" => Api::<Deployment>::namespaced(c, ns).patch(name, &pp, &p).await.map(|_| ()),
        "StatefulSet" => Api::<StatefulSet>::namespaced(c, ns).patch(name, &pp, &p).await.map(|_| ()),
        _ => Api::<DaemonSet>::namespaced(c, ns).patch(name, &pp, &p).await.map(|_| ()),
    }
}

async fn strategic_workload(ctx: &Ctx, kind: &str, ns: &str, name: &str, patch: &Value) -> Result<(), kube::Error> {
    let c = ctx.client.clone();
    let p = Patch::Strategic(patch);
    let pp = PatchParams::default();
    match kind {
        "Deployment" => Api::<Deployment>::namespaced(c, ns).patch(name, &pp, &p).await.map(|_| ()),
        "StatefulSet" => Api::<StatefulSet>::namespaced(c, ns).patch(name, &pp, &p).await.map(|_| ()),
        _ => Api::<DaemonSet>::namespaced(c, ns).patch(name, &pp, &p).await.map(|_| ()),
    }
}

fn workload_target(spec: &FaultSpec) -> Result<(&str, &str), BackendError> {
    match &spec.target {
        Target::Workload { namespace, name } => Ok((namespace, name)),
        other => Err(BackendError::Unsupported(format!("{} needs a workload, not {other}", spec.action))),
    }
}

/// The ConfigMaps a pod template reads (envFrom, env valueFrom, volumes), in that order.
fn configmaps_of(template_spec: &Value) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for c in template_spec["containers"].as_array().into_iter().flatten() {
        for e in c["envFrom"].as_array().into_iter().flatten() {
            if let Some(n) = e["configMapRef"]["name"].as_str() {
                out.push(n.to_string());
            }
        }
        for e in c["env"].as_array().into_iter().flatten() {
            if let Some(n) = e["valueFrom"]["configMapKeyRef"]["name"].as_str() {
                out.push(n.to_string());
            }
        }
    }
    for v in template_spec["volumes"].as_array().into_iter().flatten() {
        if let Some(n) = v["configMap"]["name"].as_str() {
            out.push(n.to_string());
        }
    }
    out.dedup();
    out
}

/// DNS-1123 name for an object this fault creates.
pub fn object_name(spec: &FaultSpec, what: &str) -> String {
    let s: String =
        spec.session.to_lowercase().chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
    let mut n = format!("gameday-{what}-{s}-f{}", spec.fault_id);
    n.truncate(63);
    n.trim_end_matches('-').to_string()
}

pub async fn prepare(ctx: &Ctx, spec: &FaultSpec) -> Result<Plan, BackendError> {
    let int = |n: &str, d: i64| spec.int(n).unwrap_or(d);
    match spec.action.as_str() {
        "pod-delete" => Ok(Plan::PodDelete { pods: choose_pods(ctx, spec).await?, grace: spec.int("grace_seconds") }),
        "pod-evict" => Ok(Plan::PodEvict { pods: choose_pods(ctx, spec).await? }),
        "scale" => {
            let (ns, name) = workload_target(spec)?;
            check_namespace(ctx, ns).await?;
            let (kind, obj) = workload(ctx, ns, name).await?;
            if kind == "DaemonSet" {
                return Err(BackendError::Unsupported(format!(
                    "{ns}/{name} is a DaemonSet: it has no replicas to scale"
                )));
            }
            let from = obj["spec"]["replicas"].as_i64().unwrap_or(1) as i32;
            Ok(Plan::Scale { namespace: ns.into(), kind, name: name.into(), from, to: int("replicas", 0) as i32 })
        }
        "node-cordon" | "node-drain" => {
            let Target::Node { name } = &spec.target else {
                return Err(BackendError::Unsupported(format!("{} needs a node", spec.action)));
            };
            let node = Api::<Node>::all(ctx.client.clone())
                .get(name)
                .await
                .map_err(|e| api_err(&format!("node {name}"), e))?;
            let was_unschedulable = node.spec.and_then(|s| s.unschedulable).unwrap_or(false);
            if spec.action == "node-cordon" {
                return Ok(Plan::NodeCordon { node: name.clone(), was_unschedulable });
            }
            let on_node = Api::<Pod>::all(ctx.client.clone())
                .list(&ListParams::default().fields(&format!("spec.nodeName={name}")))
                .await
                .map_err(|e| api_err(&format!("pods on {name}"), e))?;
            let mut pods = Vec::new();
            for p in on_node.items {
                let daemon = p.metadata.owner_references.iter().flatten().any(|r| r.kind == "DaemonSet");
                let mirror =
                    p.metadata.annotations.as_ref().is_some_and(|a| a.contains_key("kubernetes.io/config.mirror"));
                if daemon || mirror || p.metadata.deletion_timestamp.is_some() {
                    continue;
                }
                let key = (p.metadata.namespace.unwrap_or_default(), p.metadata.name.unwrap_or_default());
                if ctx.policy.own_pod.as_ref() == Some(&key) {
                    return Err(BackendError::Unsupported(format!(
                        "node {name} runs the console's own pod; drain another"
                    )));
                }
                pods.push(key);
            }
            let mut namespaces: Vec<&String> = pods.iter().map(|(ns, _)| ns).collect();
            namespaces.sort();
            namespaces.dedup();
            for ns in namespaces {
                check_namespace(ctx, ns)
                    .await
                    .map_err(|e| BackendError::Unsupported(format!("draining {name} would evict pods of {ns}: {e}")))?;
            }
            Ok(Plan::NodeDrain { node: name.clone(), was_unschedulable, pods })
        }
        "config-corrupt" => {
            let (ns, name) = workload_target(spec)?;
            check_namespace(ctx, ns).await?;
            let (kind, obj) = workload(ctx, ns, name).await?;
            let wanted = spec.text("configmap").filter(|c| !c.is_empty());
            let read = configmaps_of(&obj["spec"]["template"]["spec"]);
            let configmap = match (wanted, read.first()) {
                (Some(c), _) => c,
                (None, Some(c)) => c.clone(),
                (None, None) => {
                    return Err(BackendError::Failed(format!(
                        "{ns}/{name} reads no ConfigMap; name one with configmap=<name>"
                    )))
                }
            };
            let cm = Api::<ConfigMap>::namespaced(ctx.client.clone(), ns)
                .get(&configmap)
                .await
                .map_err(|e| api_err(&format!("ConfigMap {ns}/{configmap}"), e))?;
            let data = cm.data.unwrap_or_default();
            let key = spec
                .text("key")
                .filter(|k| !k.is_empty() && data.contains_key(k))
                .or_else(|| data.keys().next().cloned())
                .ok_or_else(|| BackendError::Failed(format!("ConfigMap {ns}/{configmap} has no data to corrupt")))?;
            Ok(Plan::ConfigCorrupt {
                namespace: ns.into(),
                configmap,
                original: data.get(&key).cloned(),
                key,
                value: spec.text("value").unwrap_or_else(|| "nonexistent.invalid".into()),
                restart: (spec.text("restart").as_deref() == Some("yes")).then(|| (kind, name.to_string())),
            })
        }
        "image-unavailable" => {
            let (ns, name) = workload_target(spec)?;
            check_namespace(ctx, ns).await?;
            let (kind, obj) = workload(ctx, ns, name).await?;
            let only = spec.text("container").filter(|c| !c.is_empty());
            let images: Vec<(String, String)> = obj["spec"]["template"]["spec"]["containers"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|c| only.as_ref().is_none_or(|o| c["name"].as_str() == Some(o)))
                .map(|c| {
                    (
                        c["name"].as_str().unwrap_or_default().to_string(),
                        c["image"].as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect();
            if images.is_empty() {
                return Err(BackendError::Failed(format!("{ns}/{name} has no container {}", only.unwrap_or_default())));
            }
            Ok(Plan::ImageUnavailable { namespace: ns.into(), kind, name: name.into(), images })
        }
        "network-deny" => {
            let policy = object_name(spec, "deny");
            match &spec.target {
                Target::Workload { namespace, name } => {
                    let (_, selector) = workload_labels(ctx, namespace, name).await?;
                    Ok(Plan::NetworkDeny { namespace: namespace.clone(), policy, selector, labelled: Vec::new() })
                }
                _ => {
                    let pods = choose_pods(ctx, spec).await?;
                    let ns = pods[0].0.clone();
                    if pods.iter().any(|(n, _)| *n != ns) {
                        return Err(BackendError::Unsupported(
                            "a NetworkPolicy lives in one namespace: choose pods of one".into(),
                        ));
                    }
                    let value = format!("{}-f{}", spec.session, spec.fault_id);
                    let selector = BTreeMap::from([(DENY.to_string(), value)]);
                    Ok(Plan::NetworkDeny {
                        namespace: ns,
                        policy,
                        selector,
                        labelled: pods.into_iter().map(|(_, n)| n).collect(),
                    })
                }
            }
        }
        _ => engines::prepare(ctx, spec).await,
    }
}

pub async fn inject(ctx: &Ctx, spec: &FaultSpec, plan: &Plan) -> Result<(), BackendError> {
    let c = &ctx.client;
    match plan {
        Plan::PodDelete { pods, grace } => {
            for (ns, name) in pods {
                let dp = DeleteParams { grace_period_seconds: grace.map(|g| g.max(0) as u32), ..Default::default() };
                match Api::<Pod>::namespaced(c.clone(), ns).delete(name, &dp).await {
                    Ok(_) => {}
                    Err(e) if is_404(&e) => {}
                    Err(e) => return Err(api_err(&format!("delete pod {ns}/{name}"), e)),
                }
            }
        }
        Plan::PodEvict { pods } => {
            for (ns, name) in pods {
                Api::<Pod>::namespaced(c.clone(), ns)
                    .evict(name, &EvictParams::default())
                    .await
                    .map_err(|e| api_err(&format!("evict {ns}/{name} (a PodDisruptionBudget may forbid it now)"), e))?;
            }
        }
        Plan::Scale { namespace, kind, name, to, .. } => {
            patch_workload(ctx, kind, namespace, name, &markers(spec, plan)).await.map_err(|e| api_err(name, e))?;
            let p = Patch::Merge(json!({"spec": {"replicas": to}}));
            let r = match kind.as_str() {
                "Deployment" => {
                    Api::<Deployment>::namespaced(c.clone(), namespace)
                        .patch_scale(name, &PatchParams::default(), &p)
                        .await
                }
                _ => {
                    Api::<StatefulSet>::namespaced(c.clone(), namespace)
                        .patch_scale(name, &PatchParams::default(), &p)
                        .await
                }
            };
            r.map_err(|e| api_err(&format!("scale {namespace}/{name}"), e))?;
        }
        Plan::NodeCordon { node, .. } | Plan::NodeDrain { node, .. } => {
            let patch = merge(markers(spec, plan), json!({"spec": {"unschedulable": true}}));
            Api::<Node>::all(c.clone())
                .patch(node, &PatchParams::default(), &Patch::Merge(&patch))
                .await
                .map_err(|e| api_err(&format!("cordon {node}"), e))?;
            if let Plan::NodeDrain { pods, .. } = plan {
                let mut blocked = Vec::new();
                for (ns, name) in pods {
                    match Api::<Pod>::namespaced(c.clone(), ns).evict(name, &EvictParams::default()).await {
                        Ok(_) => {}
                        Err(e) if is_404(&e) => {}
                        Err(kube::Error::Api(s)) if s.code == 429 => blocked.push(format!("{ns}/{name}")),
                        Err(e) => return Err(api_err(&format!("evict {ns}/{name}"), e)),
                    }
                }
                if !blocked.is_empty() {
                    return Err(BackendError::Failed(format!(
                        "drain of {node} stopped: a PodDisruptionBudget forbids evicting {} now",
                        blocked.join(", ")
                    )));
                }
            }
        }
        Plan::ConfigCorrupt { namespace, configmap, key, value, restart, .. } => {
            let patch = merge(markers(spec, plan), json!({"data": {key.as_str(): value}}));
            Api::<ConfigMap>::namespaced(c.clone(), namespace)
                .patch(configmap, &PatchParams::default(), &Patch::Merge(&patch))
                .await
                .map_err(|e| api_err(&format!("ConfigMap {namespace}/{configmap}"), e))?;
            if let Some((kind, name)) = restart {
                roll(ctx, kind, namespace, name).await?;
            }
        }
        Plan::ImageUnavailable { namespace, kind, name, images } => {
            patch_workload(ctx, kind, namespace, name, &markers(spec, plan)).await.map_err(|e| api_err(name, e))?;
            let containers: Vec<Value> = images
                .iter()
                .map(|(c, _)| json!({"name": c, "image": format!("gameday.invalid/unavailable:{c}")}))
                .collect();
            strategic_workload(
                ctx,
                kind,
                namespace,
                name,
                &json!({"spec": {"template": {"spec": {"containers": containers}}}}),
            )
            .await
            .map_err(|e| api_err(&format!("{kind} {namespace}/{name}"), e))?;
        }
        Plan::NetworkDeny { namespace, policy, selector, labelled } => {
            for pod in labelled {
                let patch = json!({"metadata": {"labels": {DENY: selector.get(DENY)}}});
                Api::<Pod>::namespaced(c.clone(), namespace)
                    .patch(pod, &PatchParams::default(), &Patch::Merge(&patch))
                    .await
                    .map_err(|e| api_err(&format!("label pod {namespace}/{pod}"), e))?;
            }
            let np = merge(
                markers(spec, plan),
                json!({
                    "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                    "metadata": {"name": policy, "namespace": namespace},
                    "spec": {"podSelector": {"matchLabels": selector}, "policyTypes": ["Ingress", "Egress"], "ingress": [], "egress": []},
                }),
            );
            let np: NetworkPolicy = serde_json::from_value(np).map_err(|e| BackendError::Failed(e.to_string()))?;
            match Api::<NetworkPolicy>::namespaced(c.clone(), namespace).create(&PostParams::default(), &np).await {
                Ok(_) => {}
                Err(kube::Error::Api(s)) if s.code == 409 => {}
                Err(e) => return Err(api_err(&format!("NetworkPolicy {namespace}/{policy}"), e)),
            }
        }
        Plan::Chaos { .. } => engines::inject(ctx, spec, plan).await?,
    }
    Ok(())
}

/// Restarts a workload's pods the way `kubectl rollout restart` does.
async fn roll(ctx: &Ctx, kind: &str, ns: &str, name: &str) -> Result<(), BackendError> {
    let patch = json!({"spec": {"template": {"metadata": {"annotations": {"gameday.dev/restartedAt": chrono::Utc::now().to_rfc3339()}}}}});
    patch_workload(ctx, kind, ns, name, &patch).await.map_err(|e| api_err(&format!("restart {kind} {ns}/{name}"), e))
}

pub async fn revert(ctx: &Ctx, plan: &Plan) -> Result<(), BackendError> {
    let c = &ctx.client;
    let ok404 = |r: Result<(), kube::Error>, what: &str| match r {
        Ok(()) => Ok(()),
        Err(e) if is_404(&e) => Ok(()),
        Err(e) => Err(api_err(what, e)),
    };
    match plan {
        // Their controllers replace deleted and evicted pods.
        Plan::PodDelete { .. } | Plan::PodEvict { .. } => Ok(()),
        Plan::Scale { namespace, kind, name, from, .. } => {
            let p = Patch::Merge(json!({"spec": {"replicas": from}}));
            let r = match kind.as_str() {
                "Deployment" => Api::<Deployment>::namespaced(c.clone(), namespace)
                    .patch_scale(name, &PatchParams::default(), &p)
                    .await
                    .map(|_| ()),
                _ => Api::<StatefulSet>::namespaced(c.clone(), namespace)
                    .patch_scale(name, &PatchParams::default(), &p)
                    .await
                    .map(|_| ()),
            };
            ok404(r, &format!("scale {namespace}/{name} back to {from}"))?;
            ok404(patch_workload(ctx, kind, namespace, name, &unmark()).await, name)
        }
        Plan::NodeCordon { node, was_unschedulable } | Plan::NodeDrain { node, was_unschedulable, .. } => {
            let patch = merge(
                unmark(),
                json!({"spec": {"unschedulable": if *was_unschedulable { json!(true) } else { Value::Null }}}),
            );
            let r = Api::<Node>::all(c.clone())
                .patch(node, &PatchParams::default(), &Patch::Merge(&patch))
                .await
                .map(|_| ());
            ok404(r, &format!("uncordon {node}"))
        }
        Plan::ConfigCorrupt { namespace, configmap, key, original, restart, .. } => {
            let value = original.as_ref().map(|v| json!(v)).unwrap_or(Value::Null);
            let patch = merge(unmark(), json!({"data": {key.as_str(): value}}));
            let r = Api::<ConfigMap>::namespaced(c.clone(), namespace)
                .patch(configmap, &PatchParams::default(), &Patch::Merge(&patch))
                .await
                .map(|_| ());
            ok404(r, &format!("restore ConfigMap {namespace}/{configmap}"))?;
            if let Some((kind, name)) = restart {
                roll(ctx, kind, namespace, name).await?;
            }
            Ok(())
        }
        Plan::ImageUnavailable { namespace, kind, name, images } => {
            let containers: Vec<Value> = images.iter().map(|(c, image)| json!({"name": c, "image": image})).collect();
            let r = strategic_workload(
                ctx,
                kind,
                namespace,
                name,
                &json!({"spec": {"template": {"spec": {"containers": containers}}}}),
            )
            .await;
            ok404(r, &format!("restore the images of {kind} {namespace}/{name}"))?;
            ok404(patch_workload(ctx, kind, namespace, name, &unmark()).await, name)
        }
        Plan::NetworkDeny { namespace, policy, labelled, .. } => {
            let r = Api::<NetworkPolicy>::namespaced(c.clone(), namespace)
                .delete(policy, &DeleteParams::default())
                .await
                .map(|_| ());
            ok404(r, &format!("delete NetworkPolicy {namespace}/{policy}"))?;
            for pod in labelled {
                let patch = json!({"metadata": {"labels": {DENY: null}}});
                let r = Api::<Pod>::namespaced(c.clone(), namespace)
                    .patch(pod, &PatchParams::default(), &Patch::Merge(&patch))
                    .await
                    .map(|_| ());
                ok404(r, &format!("unlabel pod {namespace}/{pod}"))?;
            }
            Ok(())
        }
        Plan::Chaos { .. } => engines::revert(ctx, plan).await,
    }
}

/// Waits up to `limit` for `done` to hold, checking every 200 ms.
pub async fn wait_until<F, Fut>(limit: Duration, mut done: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if done().await {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combined_patches_keep_their_nulls() {
        let p = merge(unmark(), json!({"spec": {"unschedulable": null}, "data": {"K": null}}));
        assert_eq!(p["spec"]["unschedulable"], Value::Null);
        assert!(p["spec"].as_object().unwrap().contains_key("unschedulable"), "{p}");
        assert!(p["data"].as_object().unwrap().contains_key("K"));
        assert!(p["metadata"]["labels"].as_object().unwrap().contains_key(FAULT));
    }
}
