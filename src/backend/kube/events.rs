//! The cluster's own record of a fault: an `events.k8s.io/v1` Event regarding each object a
//! fault touched (through kube-runtime's Recorder), so `kubectl describe deploy carts` and any
//! event pipeline show who injected what, and when it was aborted and reverted.

use k8s_openapi::api::core::v1::ObjectReference;
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::Client;

use super::kit::HandleData;
use crate::model::Happening;

pub struct Events {
    client: Client,
    reporter: Reporter,
}

impl Events {
    pub fn new(client: Client) -> Events {
        let instance = crate::store::machine::host_name();
        Events { client, reporter: Reporter { controller: "gameday".into(), instance: Some(instance) } }
    }

    /// One Event per object the plan touched; the errors, if any, in one line.
    pub async fn publish(&self, plan: &HandleData, what: &Happening) -> Result<(), String> {
        let ev = Event {
            type_: if what.warning { EventType::Warning } else { EventType::Normal },
            reason: what.reason.to_string(),
            // At most 1 kB, as the API wants it.
            note: Some(what.note.chars().take(1000).collect()),
            action: what.action.to_string(),
            secondary: None,
        };
        // A Recorder of its own for each happening: one that lives on folds every Event of the
        // same reason about the same object into one series (its key leaves the note out), so
        // fault #11 on carts would be counted into fault #10's Event and keep #10's note. Each
        // fault is its own Event; nothing gameday says of one fault is said twice.
        let recorder = Recorder::new(self.client.clone(), self.reporter.clone());
        let mut failed = Vec::new();
        for object in regarding(plan) {
            let name =
                format!("{} {}", object.kind.clone().unwrap_or_default(), object.name.clone().unwrap_or_default());
            if let Err(e) = recorder.publish(&ev, &object).await {
                failed.push(format!("{name}: {}", super::kit::said(&e)));
            }
        }
        match failed.is_empty() {
            true => Ok(()),
            false => Err(format!("could not record the Kubernetes Event {}: {}", what.reason, failed.join("; "))),
        }
    }
}

fn reference(api_version: &str, kind: &str, ns: Option<&str>, name: &str) -> ObjectReference {
    ObjectReference {
        api_version: Some(api_version.into()),
        kind: Some(kind.into()),
        namespace: ns.map(str::to_string),
        name: Some(name.into()),
        ..Default::default()
    }
}

fn workload(kind: &str, ns: &str, name: &str) -> ObjectReference {
    reference("apps/v1", kind, Some(ns), name)
}

/// The objects a fault touched.
pub fn regarding(plan: &HandleData) -> Vec<ObjectReference> {
    let pod = |(ns, name): &(String, String)| reference("v1", "Pod", Some(ns), name);
    match plan {
        HandleData::PodDelete { pods, .. } | HandleData::PodEvict { pods, .. } => pods.iter().map(pod).collect(),
        HandleData::Scale { namespace, kind, name, .. }
        | HandleData::ImageUnavailable { namespace, kind, name, .. } => {
            vec![workload(kind, namespace, name)]
        }
        HandleData::NodeCordon { node, .. } => vec![reference("v1", "Node", None, node)],
        HandleData::NodeDrain { node, pods, .. } => {
            std::iter::once(reference("v1", "Node", None, node)).chain(pods.iter().map(pod)).collect()
        }
        HandleData::ConfigCorrupt { namespace, configmap, restart, .. } => {
            let mut out = vec![reference("v1", "ConfigMap", Some(namespace), configmap)];
            out.extend(restart.as_ref().map(|(kind, name)| workload(kind, namespace, name)));
            out
        }
        HandleData::NetworkDeny { namespace, policy, labelled, .. } => {
            std::iter::once(reference("networking.k8s.io/v1", "NetworkPolicy", Some(namespace), policy))
                .chain(labelled.iter().map(|p| reference("v1", "Pod", Some(namespace), p)))
                .collect()
        }
        HandleData::Chaos { namespace, engine, name, .. } => {
            vec![reference(&format!("{}/{}", engine.group, engine.version), &engine.kind, Some(namespace), name)]
        }
    }
}
