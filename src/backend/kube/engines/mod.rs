//! Faults through the chaos engines installed in the cluster, found by discovery: Chaos Mesh
//! (NetworkChaos for latency and loss, StressChaos for CPU and memory, PodChaos for killing a
//! container) and Litmus (a ChaosEngine running any installed experiment). Every object is
//! created with its duration, so it ends by itself even if the console dies; revert deletes it
//! (Litmus: sets engineState to stop first) and waits until it is gone.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, GroupVersionKind, ListParams, Patch, PatchParams, PostParams,
};
use kube::Client;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::faults::{self, markers, wait_until, Ctx, Plan};
use crate::backend::{BackendError, FaultSpec, Support, Target};

/// A chaos resource the cluster serves.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Engine {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub plural: String,
}

impl Engine {
    fn api(&self, client: &Client, ns: &str) -> Api<DynamicObject> {
        let gvk = GroupVersionKind::gvk(&self.group, &self.version, &self.kind);
        Api::namespaced_with(client.clone(), ns, &ApiResource::from_gvk_with_plural(&gvk, &self.plural))
    }
}

/// What discovery found, by kind.
#[derive(Clone, Debug, Default)]
pub struct Engines {
    pub checked: bool,
    pub found: BTreeMap<String, Engine>,
}

/// Which engine resource each action needs.
pub const ACTIONS: &[(&str, &str, &str)] = &[
    ("network-latency", "chaos-mesh.org", "NetworkChaos"),
    ("network-loss", "chaos-mesh.org", "NetworkChaos"),
    ("cpu-stress", "chaos-mesh.org", "StressChaos"),
    ("memory-stress", "chaos-mesh.org", "StressChaos"),
    ("container-kill", "chaos-mesh.org", "PodChaos"),
    ("litmus-experiment", "litmuschaos.io", "ChaosEngine"),
];

fn engine_name(group: &str) -> &'static str {
    if group == "litmuschaos.io" {
        "Litmus"
    } else {
        "Chaos Mesh"
    }
}

/// Asks the API server which chaos engines it serves.
pub async fn discover(client: &Client) -> Result<Engines, String> {
    let d = kube::discovery::Discovery::new(client.clone())
        .filter(&["chaos-mesh.org", "litmuschaos.io"])
        .run()
        .await
        .map_err(|e| format!("discovery failed: {e}"))?;
    let mut found = BTreeMap::new();
    for group in d.groups() {
        for (ar, _caps) in group.recommended_resources() {
            found.insert(
                ar.kind.clone(),
                Engine {
                    group: ar.group.clone(),
                    version: ar.version.clone(),
                    kind: ar.kind.clone(),
                    plural: ar.plural.clone(),
                },
            );
        }
    }
    Ok(Engines { checked: true, found })
}

/// Whether an engine action can run, and why not.
pub fn support(engines: &Engines, action: &str) -> Option<Support> {
    let (_, group, kind) = ACTIONS.iter().find(|(a, ..)| *a == action)?;
    Some(if engines.found.contains_key(*kind) {
        Support::Yes
    } else if !engines.checked {
        Support::No(format!("looking for {} in the cluster…", engine_name(group)))
    } else {
        Support::No(format!("{} is not installed in this cluster (no {group} {kind})", engine_name(group)))
    })
}

fn engine_for(ctx: &Ctx, action: &str) -> Result<Engine, BackendError> {
    let engines = ctx.engines.read().map(|e| e.clone()).unwrap_or_default();
    match support(&engines, action) {
        Some(Support::Yes) => {
            let kind = ACTIONS.iter().find(|(a, ..)| *a == action).map(|(_, _, k)| *k).unwrap_or_default();
            engines.found.get(kind).cloned().ok_or_else(|| BackendError::Unsupported(format!("no {kind}")))
        }
        Some(Support::No(why)) => Err(BackendError::Unsupported(why)),
        None => Err(BackendError::Unsupported(format!("Kubernetes cannot run '{action}'"))),
    }
}

pub async fn prepare(ctx: &Ctx, spec: &FaultSpec) -> Result<Plan, BackendError> {
    let engine = engine_for(ctx, &spec.action)?;
    let int = |n: &str, d: i64| spec.int(n).unwrap_or(d);
    let seconds = spec.duration_ms.div_ceil(1000).max(1);
    let name = faults::object_name(spec, "chaos");
    if engine.kind == "ChaosEngine" {
        let Target::Workload { namespace, name: workload } = &spec.target else {
            return Err(BackendError::Unsupported("a Litmus experiment targets a workload".into()));
        };
        let experiment = spec.text("experiment").unwrap_or_else(|| "pod-delete".into());
        let kinds = ["Deployment", "StatefulSet", "DaemonSet"];
        let (kind, labels) = super::faults::workload_labels(ctx, namespace, workload).await?;
        if !kinds.contains(&kind.as_str()) {
            return Err(BackendError::Unsupported(format!("Litmus cannot target a {kind}")));
        }
        let installed = ctx
            .engines
            .read()
            .ok()
            .and_then(|e| e.found.get("ChaosExperiment").cloned())
            .map(|e| e.api(&ctx.client, namespace));
        if let Some(api) = installed {
            let list = api.list(&ListParams::default()).await.map_err(|e| BackendError::Failed(e.to_string()))?;
            let names: Vec<String> = list.items.iter().filter_map(|o| o.metadata.name.clone()).collect();
            if !names.contains(&experiment) {
                return Err(BackendError::Failed(format!(
                    "the Litmus experiment {experiment} is not installed in {namespace} (installed: {})",
                    if names.is_empty() { "none".to_string() } else { names.join(", ") }
                )));
            }
        }
        let applabel = labels.iter().next().map(|(k, v)| format!("{k}={v}")).unwrap_or_default();
        let body = json!({
            "apiVersion": format!("{}/{}", engine.group, engine.version), "kind": engine.kind,
            "metadata": {"name": name, "namespace": namespace},
            "spec": {
                "engineState": "active",
                "appinfo": {"appns": namespace, "applabel": applabel, "appkind": kind.to_lowercase()},
                "chaosServiceAccount": spec.text("service_account").unwrap_or_else(|| "litmus-admin".into()),
                "experiments": [{"name": experiment, "spec": {"components": {"env": [
                    {"name": "TOTAL_CHAOS_DURATION", "value": seconds.to_string()},
                ]}}}],
            },
        });
        return Ok(Plan::Chaos {
            namespace: namespace.clone(),
            engine,
            name,
            what: format!("Litmus {experiment} on {kind} {namespace}/{workload} for {seconds}s"),
            body,
        });
    }
    let pods = faults::choose_pods(ctx, spec).await?;
    let ns = pods[0].0.clone();
    if pods.iter().any(|(n, _)| *n != ns) {
        return Err(BackendError::Unsupported(format!("a {} lives in one namespace: choose pods of one", engine.kind)));
    }
    let selector = json!({"pods": {ns.clone(): pods.iter().map(|(_, n)| n.clone()).collect::<Vec<_>>()}});
    let duration = format!("{seconds}s");
    let (chaos_spec, what) = match spec.action.as_str() {
        "network-latency" => {
            let (lat, jit) = (int("latency_ms", 300), int("jitter_ms", 0));
            (
                json!({"action": "delay", "mode": "all", "selector": selector, "direction": "to", "duration": duration,
                    "delay": {"latency": format!("{lat}ms"), "jitter": format!("{jit}ms"), "correlation": "0"}}),
                format!("+{lat}ms latency"),
            )
        }
        "network-loss" => {
            let loss = int("loss_percent", 30);
            (
                json!({"action": "loss", "mode": "all", "selector": selector, "direction": "to", "duration": duration,
                    "loss": {"loss": loss.to_string(), "correlation": "0"}}),
                format!("{loss}% packet loss"),
            )
        }
        "cpu-stress" => {
            let (workers, load) = (int("workers", 1), int("load_percent", 90));
            (
                json!({"mode": "all", "selector": selector, "duration": duration, "stressors": {"cpu": {"workers": workers, "load": load}}}),
                format!("{workers} CPU worker(s) at {load}%"),
            )
        }
        "memory-stress" => {
            let (workers, mb) = (int("workers", 1), int("memory_mb", 256));
            (
                json!({"mode": "all", "selector": selector, "duration": duration,
                    "stressors": {"memory": {"workers": workers, "size": format!("{mb}MB")}}}),
                format!("{workers} memory worker(s) of {mb} MB"),
            )
        }
        _ => {
            let only = spec.text("container").filter(|c| !c.is_empty() && !c.starts_with("SIG"));
            let names = match only {
                Some(c) => vec![c],
                None => {
                    let pod = Api::<Pod>::namespaced(ctx.client.clone(), &ns)
                        .get(&pods[0].1)
                        .await
                        .map_err(|e| BackendError::Failed(e.to_string()))?;
                    pod.spec.map(|s| s.containers.into_iter().map(|c| c.name).collect()).unwrap_or_default()
                }
            };
            (
                json!({"action": "container-kill", "mode": "all", "selector": selector, "duration": duration, "containerNames": names}),
                format!("kill container(s) {}", names.join(", ")),
            )
        }
    };
    let body = json!({
        "apiVersion": format!("{}/{}", engine.group, engine.version), "kind": engine.kind,
        "metadata": {"name": name, "namespace": ns}, "spec": chaos_spec,
    });
    let targets = pods.iter().map(|(_, n)| n.as_str()).collect::<Vec<_>>().join(", ");
    Ok(Plan::Chaos { namespace: ns, engine, name, what: format!("{what} on {targets} for {seconds}s"), body })
}

pub async fn inject(ctx: &Ctx, spec: &FaultSpec, plan: &Plan) -> Result<(), BackendError> {
    let Plan::Chaos { namespace, engine, name, body, what } = plan else { return Ok(()) };
    // The markers carry the plan without its body (the object is the body).
    let slim = Plan::Chaos {
        namespace: namespace.clone(),
        engine: engine.clone(),
        name: name.clone(),
        what: what.clone(),
        body: Value::Null,
    };
    let mut obj = body.clone();
    json_patch::merge(&mut obj, &markers(spec, &slim));
    let obj: DynamicObject = serde_json::from_value(obj).map_err(|e| BackendError::Failed(e.to_string()))?;
    match engine.api(&ctx.client, namespace).create(&PostParams::default(), &obj).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 409 => Ok(()),
        Err(e) => Err(BackendError::Failed(format!("create {} {namespace}/{name}: {e}", engine.kind))),
    }
}

/// How long a revert waits for the engine to finish recovering and the object to go.
const GONE: Duration = Duration::from_secs(8);

pub async fn revert(ctx: &Ctx, plan: &Plan) -> Result<(), BackendError> {
    let Plan::Chaos { namespace, engine, name, .. } = plan else { return Ok(()) };
    let api = engine.api(&ctx.client, namespace);
    if engine.kind == "ChaosEngine" {
        let stop = Patch::Merge(json!({"spec": {"engineState": "stop"}}));
        match api.patch(name, &PatchParams::default(), &stop).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 404 => return Ok(()),
            Err(e) => return Err(BackendError::Failed(format!("stop ChaosEngine {namespace}/{name}: {e}"))),
        }
    }
    match api.delete(name, &DeleteParams::default()).await {
        Ok(_) => {}
        Err(kube::Error::Api(s)) if s.code == 404 => return Ok(()),
        Err(e) => return Err(BackendError::Failed(format!("delete {} {namespace}/{name}: {e}", engine.kind))),
    }
    let gone = wait_until(GONE, || async { matches!(api.get_opt(name).await, Ok(None)) }).await;
    if gone {
        Ok(())
    } else {
        Err(BackendError::Failed(format!(
            "{} {namespace}/{name} is still recovering after {GONE:?} (its finalizer has not finished)",
            engine.kind
        )))
    }
}
