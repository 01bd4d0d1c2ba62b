//! Faults through the chaos engines installed in the cluster, found by discovery: Chaos Mesh
//! (NetworkChaos for latency and loss, StressChaos for CPU and memory, PodChaos for killing a
//! container) and Litmus (a ChaosEngine running any installed experiment). Every object is
//! created with its duration, so it ends by itself even if the console dies; each engine is
//! believed only once its own status says so (`chaos_mesh`, `litmus`).

use std::collections::BTreeMap;

use kube::api::DynamicObject;
use kube::Client;
use serde_json::Value;

pub use super::kit::engine::{Engine, Engines};
use super::kit::pods::Found;
use super::kit::{markers, Ctx, HandleData};
use crate::backend::BackendError;
use crate::model::{FaultSpec, Support};

mod chaos_mesh;
mod litmus;

pub use litmus::STOP as LITMUS_STOP;

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
        for (ar, caps) in group.recommended_resources() {
            found.insert(
                ar.kind.clone(),
                Engine {
                    group: ar.group.clone(),
                    version: ar.version.clone(),
                    kind: ar.kind.clone(),
                    plural: ar.plural.clone(),
                    namespaced: caps.scope == kube::discovery::Scope::Namespaced,
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

pub async fn prepare(ctx: &Ctx, spec: &FaultSpec) -> Result<Found, BackendError> {
    let engine = engine_for(ctx, &spec.action)?;
    if engine.kind == "ChaosEngine" {
        litmus::prepare(ctx, spec, engine).await
    } else {
        chaos_mesh::prepare(ctx, spec, engine).await
    }
}

/// The object a plan creates, with the markers (which carry the plan without its body: the
/// object is the body).
fn marked(spec: &FaultSpec, plan: &HandleData) -> Result<DynamicObject, BackendError> {
    let HandleData::Chaos { body, .. } = plan else {
        return Err(BackendError::Failed("not a chaos engine's plan".into()));
    };
    let mut slim = plan.clone();
    if let HandleData::Chaos { body, .. } = &mut slim {
        *body = Value::Null;
    }
    let mut obj = body.clone();
    json_patch::merge(&mut obj, &markers(spec, &slim));
    serde_json::from_value(obj).map_err(|e| BackendError::Failed(e.to_string()))
}

pub async fn inject(ctx: &Ctx, spec: &FaultSpec, plan: &HandleData) -> Result<HandleData, BackendError> {
    let HandleData::Chaos { engine, .. } = plan else { return Ok(plan.clone()) };
    let obj = marked(spec, plan)?;
    if engine.kind == "ChaosEngine" {
        litmus::inject(ctx, spec, plan, obj).await
    } else {
        chaos_mesh::inject(ctx, plan, obj).await
    }
}

pub async fn revert(ctx: &Ctx, plan: &HandleData) -> Result<(), BackendError> {
    let HandleData::Chaos { engine, .. } = plan else { return Ok(()) };
    if engine.kind == "ChaosEngine" {
        litmus::revert(ctx, plan).await
    } else {
        chaos_mesh::revert(ctx, plan).await
    }
}

/// "shop/carts-x" and the like, from a condition list: `Some(true)` when the condition of this
/// type is "True", `Some(false)` when it is anything else, `None` when it is not there.
fn condition(status: &Value, kind: &str) -> Option<bool> {
    status["conditions"].as_array()?.iter().find(|c| c["type"] == kind).map(|c| c["status"].as_str() == Some("True"))
}
