//! Finding gameday's faults in the cluster by their markers alone (the `gameday.dev/session`
//! and `gameday.dev/fault` labels, the `gameday.dev/revert` annotation with the plan): what any
//! process on any machine needs to undo a fault, whatever its data directory.

use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, ListParams, ObjectMeta};
use kube::Client;

use super::engines::Engine;
use super::kit::{said, HandleData, DEADLINE, FAULT, REVERT, SESSION};
use crate::model::Leftover;

/// A built-in kind gameday marks: (group, version, kind, plural, namespaced).
pub struct Builtin(&'static str, &'static str, &'static str, &'static str, bool);

impl Builtin {
    pub fn engine(&self) -> Engine {
        Engine {
            group: self.0.into(),
            version: self.1.into(),
            kind: self.2.into(),
            plural: self.3.into(),
            namespaced: self.4,
        }
    }
}

/// The built-in kinds gameday changes and marks.
pub const BUILTIN: &[Builtin] = &[
    Builtin("apps", "v1", "Deployment", "deployments", true),
    Builtin("apps", "v1", "StatefulSet", "statefulsets", true),
    Builtin("apps", "v1", "DaemonSet", "daemonsets", true),
    Builtin("", "v1", "ConfigMap", "configmaps", true),
    Builtin("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", true),
    Builtin("", "v1", "Node", "nodes", false),
];

/// The marked objects of one kind (in `ns` only, for a namespaced kind under `-n`); why not,
/// in a few words, when the API server refuses.
pub async fn list(client: &Client, kind: &Engine, ns: Option<&str>) -> Result<Vec<ObjectMeta>, String> {
    let gvk = GroupVersionKind::gvk(&kind.group, &kind.version, &kind.kind);
    let ar = ApiResource::from_gvk_with_plural(&gvk, &kind.plural);
    let api: Api<DynamicObject> = match (kind.namespaced, ns) {
        (true, Some(ns)) => Api::namespaced_with(client.clone(), ns, &ar),
        _ => Api::all_with(client.clone(), &ar),
    };
    match api.list_metadata(&ListParams::default().labels(FAULT)).await {
        Ok(list) => Ok(list.items.into_iter().map(|o| o.metadata).collect()),
        Err(kube::Error::Api(s)) if s.code == 403 => Err(format!("forbidden ({})", s.message)),
        Err(kube::Error::Api(s)) if s.code == 404 => Err(format!("not served here ({})", s.message)),
        Err(e) => Err(said(&e)),
    }
}

/// The leftovers the marked objects describe, one per fault (the first object found names it).
pub fn leftovers(metas: Vec<(String, ObjectMeta)>) -> Vec<Leftover> {
    let mut out: Vec<Leftover> = Vec::new();
    for (kind, m) in metas {
        let labels = m.labels.clone().unwrap_or_default();
        let (Some(session), Some(Ok(fault_id))) = (labels.get(SESSION), labels.get(FAULT).map(|f| f.parse::<u64>()))
        else {
            continue;
        };
        let Some(plan) =
            m.annotations.as_ref().and_then(|a| a.get(REVERT)).and_then(|p| serde_json::from_str::<HandleData>(p).ok())
        else {
            continue;
        };
        if out.iter().any(|l| l.session == *session && l.fault_id == fault_id) {
            continue;
        }
        let at = match &m.namespace {
            Some(ns) => format!("{kind} {ns}/{}", m.name.clone().unwrap_or_default()),
            None => format!("{kind} {}", m.name.clone().unwrap_or_default()),
        };
        let deadline = m
            .annotations
            .as_ref()
            .and_then(|a| a.get(DEADLINE))
            .and_then(|d| chrono::DateTime::parse_from_rfc3339(d).ok())
            .map(|d| d.timestamp());
        out.push(Leftover {
            ended: None,
            deadline,
            session: session.clone(),
            fault_id,
            what: plan.summary(true),
            handle: plan.handle(session, fault_id, true),
            journal: None,
            found_by: format!("markers on {at}"),
        });
    }
    out
}
