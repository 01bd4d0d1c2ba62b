//! Applying a prepared plan, and undoing it (idempotent: harmless on what was never applied).

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{ConfigMap, Node, Pod};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::api::policy::v1::Eviction;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{DeleteOptions, ObjectMeta};
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::Client;
use serde_json::{json, Value};

use crate::backend::kube::engines;
use crate::backend::kube::kit::{
    api_err, is_404, markers, merge, patch_workload, roll, strategic_workload, Ctx, HandleData, DENY,
};
use crate::backend::BackendError;
use crate::model::FaultSpec;

/// Applies the plan; returns it, with what the engine confirmed it hit (Chaos Mesh).
pub async fn inject(ctx: &Ctx, spec: &FaultSpec, plan: &HandleData) -> Result<HandleData, BackendError> {
    let c = &ctx.client;
    match plan {
        HandleData::PodDelete { pods, grace } => {
            for (ns, name) in pods {
                let dp = DeleteParams { grace_period_seconds: grace.map(|g| g.max(0) as u32), ..Default::default() };
                match Api::<Pod>::namespaced(c.clone(), ns).delete(name, &dp).await {
                    Ok(_) => {}
                    Err(e) if is_404(&e) => {}
                    Err(e) => return Err(api_err(&format!("delete pod {ns}/{name}"), e)),
                }
            }
        }
        HandleData::PodEvict { pods, grace } => {
            for (ns, name) in pods {
                evict(c, ns, name, *grace)
                    .await
                    .map_err(|e| api_err(&format!("evict {ns}/{name} (a PodDisruptionBudget may forbid it now)"), e))?;
            }
        }
        HandleData::Scale { namespace, kind, name, to, .. } => {
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
            // An autoscaler or GitOps controller that sets it back is said when it does.
            super::owners::watch_scale(
                ctx,
                spec.session.clone(),
                spec.fault_id,
                (kind.clone(), namespace.clone(), name.clone()),
                *to,
            );
        }
        HandleData::NodeCordon { node, .. } | HandleData::NodeDrain { node, .. } => {
            let patch = merge(markers(spec, plan), json!({"spec": {"unschedulable": true}}));
            Api::<Node>::all(c.clone())
                .patch(node, &PatchParams::default(), &Patch::Merge(&patch))
                .await
                .map_err(|e| api_err(&format!("cordon {node}"), e))?;
            if let HandleData::NodeDrain { pods, grace, .. } = plan {
                // What its budgets let go now goes now; the rest as they allow, in the
                // background (an abort never waits on a budget).
                let left = super::drain::first_pass(c, pods, *grace).await?;
                if !left.is_empty() {
                    let waiting = left.keys().cloned().collect();
                    let until = tokio::time::Instant::now() + std::time::Duration::from_millis(spec.duration_ms);
                    super::drain::spawn_rest(
                        ctx,
                        spec.session.clone(),
                        spec.fault_id,
                        node.clone(),
                        *grace,
                        left,
                        until,
                    );
                    let mut done = plan.clone();
                    if let HandleData::NodeDrain { waiting: w, .. } = &mut done {
                        *w = waiting;
                    }
                    return Ok(done);
                }
            }
        }
        HandleData::ConfigCorrupt { namespace, configmap, key, value, restart, .. } => {
            let patch = merge(markers(spec, plan), json!({"data": {key.as_str(): value}}));
            Api::<ConfigMap>::namespaced(c.clone(), namespace)
                .patch(configmap, &PatchParams::default(), &Patch::Merge(&patch))
                .await
                .map_err(|e| api_err(&format!("ConfigMap {namespace}/{configmap}"), e))?;
            if let Some((kind, name)) = restart {
                roll(ctx, kind, namespace, name).await?;
            }
        }
        HandleData::ImageUnavailable { namespace, kind, name, images } => {
            patch_workload(ctx, kind, namespace, name, &markers(spec, plan)).await.map_err(|e| api_err(name, e))?;
            let containers: Vec<Value> =
                images.iter().map(|(c, _)| json!({"name": c, "image": unavailable_image(c)})).collect();
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
        HandleData::NetworkDeny { namespace, policy, selector, labelled } => {
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
        HandleData::Chaos { .. } => return engines::inject(ctx, spec, plan).await,
    }
    Ok(plan.clone())
}

/// The image image-unavailable points a container at.
pub fn unavailable_image(container: &str) -> String {
    format!("gameday.invalid/unavailable:{container}")
}

/// Evicts a pod through the Eviction API (which honours PodDisruptionBudgets) with this grace
/// period. A policy/v1 Eviction as the API defines it: kube's own `evict()` sends its options
/// under `delete_options`, a field the API server drops (or, validating strictly, refuses), so
/// the grace period would never reach it.
pub async fn evict(c: &Client, ns: &str, name: &str, grace: Option<i64>) -> Result<(), kube::Error> {
    let eviction = Eviction {
        metadata: ObjectMeta { name: Some(name.into()), namespace: Some(ns.into()), ..Default::default() },
        delete_options: grace.map(|g| DeleteOptions { grace_period_seconds: Some(g), ..Default::default() }),
    };
    Api::<Pod>::namespaced(c.clone(), ns)
        .create_subresource::<_, Value>("eviction", name, &PostParams::default(), &eviction)
        .await
        .map(|_| ())
}
