//! Who will undo a fault behind gameday's back: an autoscaler that sets a workload's replicas
//! (a HorizontalPodAutoscaler, a KEDA ScaledObject), and a GitOps controller that puts back
//! what git says (Argo CD, Flux). Named in the preview; a scale that is undone while its fault
//! runs is said in the timeline ("fought back").

use futures::StreamExt;
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, ListParams};
use kube::runtime::{watcher, WatchStreamExt};
use kube::Client;
use serde_json::Value;

use crate::backend::kube::kit::Ctx;

/// An autoscaler of a workload, and the replicas it keeps it within.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Autoscaler {
    /// "HorizontalPodAutoscaler shop/carts", "KEDA ScaledObject shop/carts".
    pub name: String,
    pub min: Option<i64>,
    pub max: Option<i64>,
}

impl Autoscaler {
    /// What it will do to a scale to `to`.
    pub fn against(&self, kind: &str, ns: &str, name: &str, to: i32) -> String {
        let to = i64::from(to);
        let range = match (self.min, self.max) {
            (Some(min), Some(max)) => format!(" between {min} and {max} replicas"),
            (None, Some(max)) => format!(" at up to {max} replicas"),
            _ => String::new(),
        };
        let outside = self.min.is_some_and(|m| to < m) || self.max.is_some_and(|m| to > m);
        let then = match outside {
            true => format!("it will undo a scale to {to} at its next turn (seconds), and the fault with it"),
            false => "it may change the replicas while the fault runs".to_string(),
        };
        format!("{} keeps {kind} {ns}/{name}{range}: {then}", self.name)
    }
}

/// The autoscalers that target `kind ns/name`, and what could not be looked at (a line each).
pub async fn autoscalers(client: &Client, kind: &str, ns: &str, name: &str) -> (Vec<Autoscaler>, Vec<String>) {
    let (mut found, mut unread) = (Vec::new(), Vec::new());
    match Api::<HorizontalPodAutoscaler>::namespaced(client.clone(), ns).list(&ListParams::default()).await {
        Ok(list) => {
            for h in list.items {
                let spec = h.spec;
                if spec.scale_target_ref.kind == kind && spec.scale_target_ref.name == name {
                    found.push(Autoscaler {
                        name: format!("HorizontalPodAutoscaler {ns}/{}", h.metadata.name.unwrap_or_default()),
                        min: Some(i64::from(spec.min_replicas.unwrap_or(1))),
                        max: Some(i64::from(spec.max_replicas)),
                    });
                }
            }
        }
        Err(kube::Error::Api(s)) if s.code == 404 => {}
        Err(e) => unread.push(format!(
            "could not look for a HorizontalPodAutoscaler of {kind} {ns}/{name}: {}",
            super::super::kit::said(&e)
        )),
    }
    // KEDA, when its CRD is installed (its ScaledObject owns an HPA of its own as well).
    let gvk = GroupVersionKind::gvk("keda.sh", "v1alpha1", "ScaledObject");
    let ar = ApiResource::from_gvk_with_plural(&gvk, "scaledobjects");
    // Not installed (or not readable): KEDA is not assumed.
    if let Ok(list) = Api::<DynamicObject>::namespaced_with(client.clone(), ns, &ar).list(&ListParams::default()).await
    {
        for o in list.items {
            let target = &o.data["spec"]["scaleTargetRef"];
            let their_kind = target["kind"].as_str().unwrap_or("Deployment");
            if their_kind == kind && target["name"].as_str() == Some(name) {
                found.push(Autoscaler {
                    name: format!("KEDA ScaledObject {ns}/{}", o.metadata.name.unwrap_or_default()),
                    min: Some(o.data["spec"]["minReplicaCount"].as_i64().unwrap_or(0)),
                    max: Some(o.data["spec"]["maxReplicaCount"].as_i64().unwrap_or(100)),
                });
            }
        }
    }
    (found, unread)
}

/// The GitOps controller that manages an object (as JSON), by the labels and annotations Argo
/// CD and Flux put on what they apply: "Argo CD (application shop)", "Flux (Kustomization
/// flux-system/apps)".
pub fn gitops(obj: &Value) -> Option<String> {
    let md = &obj["metadata"];
    let label = |k: &str| md["labels"][k].as_str();
    let annotation = |k: &str| md["annotations"][k].as_str();
    if let Some(id) = annotation("argocd.argoproj.io/tracking-id") {
        let app = id.split(':').next().unwrap_or(id);
        return Some(format!("Argo CD (application {app})"));
    }
    if let Some(app) = label("argocd.argoproj.io/instance") {
        return Some(format!("Argo CD (application {app})"));
    }
    if let (Some(name), Some(ns)) =
        (label("kustomize.toolkit.fluxcd.io/name"), label("kustomize.toolkit.fluxcd.io/namespace"))
    {
        return Some(format!("Flux (Kustomization {ns}/{name})"));
    }
    if let (Some(name), Some(ns)) = (label("helm.toolkit.fluxcd.io/name"), label("helm.toolkit.fluxcd.io/namespace")) {
        return Some(format!("Flux (HelmRelease {ns}/{name})"));
    }
    None
}

/// The preview's line for an object a GitOps controller manages.
pub fn gitops_line(what: &str, obj: &Value) -> Option<String> {
    gitops(obj).map(|by| {
        format!(
            "{what} is managed by {by}: if it heals drift by itself it puts this change back, and the fault with it"
        )
    })
}

/// Follows the replicas of the workload a scale fault holds at `to` while it runs: each time
/// they leave it, says so, naming who could have done it. Stopped by the fault's revert.
pub fn watch_scale(ctx: &Ctx, session: String, fault: u64, (kind, ns, name): (String, String, String), to: i32) {
    let Some(news) = ctx.news() else { return };
    let client = ctx.client.clone();
    let object = format!("{kind} {ns}/{name}");
    let fields = format!("metadata.name={name}");
    let task = tokio::spawn(async move {
        let (scalers, _) = autoscalers(&client, &kind, &ns, &name).await;
        let mut who: Vec<String> = scalers.into_iter().map(|a| a.name).collect();
        who.extend(super::super::kit::pods::workload_json(&client, &kind, &ns, &name).await.as_ref().and_then(gitops));
        let who = match who.is_empty() {
            true => "someone (a person, or a controller gameday does not know)".to_string(),
            false => who.join(" or "),
        };
        let cfg = watcher::Config::default().fields(&fields);
        let mut stream = match kind.as_str() {
            "StatefulSet" => watcher(Api::<StatefulSet>::namespaced(client, &ns), cfg)
                .default_backoff()
                .applied_objects()
                .map(|o| o.map(|o| o.spec.replicas))
                .boxed(),
            _ => watcher(Api::<Deployment>::namespaced(client, &ns), cfg)
                .default_backoff()
                .applied_objects()
                .map(|o| o.map(|o| o.spec.replicas))
                .boxed(),
        };
        let mut last = Some(to);
        while let Some(seen) = stream.next().await {
            let Ok(replicas) = seen else { continue };
            let replicas = replicas.or(Some(1));
            if replicas == last {
                continue;
            }
            last = replicas;
            let n = replicas.unwrap_or(1);
            let message = match n == to {
                true => format!("is at the fault's {to} replicas again"),
                false => format!("was set to {n} replicas while the fault holds it at {to}: {who} fought back"),
            };
            if news
                .send(crate::model::TopologyDelta::ClusterEvent { object: object.clone(), message, warning: n != to })
                .is_err()
            {
                return;
            }
        }
    });
    ctx.background.insert((session, fault), task.abort_handle());
}
