//! Finding gameday's faults in the cluster by their markers alone (the `gameday.dev/session`
//! and `gameday.dev/fault` labels, the `gameday.dev/revert` annotation with the plan): what any
//! process on any machine needs to undo a fault, whatever its data directory.

use std::collections::BTreeMap;

use futures::StreamExt;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, ListParams, ObjectMeta};
use kube::core::PartialObjectMeta;
use kube::runtime::{watcher, WatchStreamExt};
use kube::Client;
use tokio::sync::mpsc::UnboundedSender;

use super::engines::Engine;
use super::kit::{said, HandleData, DEADLINE, FAULT, REVERT, SESSION};
use crate::backend::Search;
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

/// What one kind's watcher says.
enum Seen {
    /// The kind's objects as listed again (a watch's start, or after 410 Gone).
    Listed(usize, Vec<ObjectMeta>),
    Applied(usize, ObjectMeta),
    Deleted(usize, ObjectMeta),
    Refused(usize, String),
}

fn key(m: &ObjectMeta) -> (String, String) {
    (m.namespace.clone().unwrap_or_default(), m.name.clone().unwrap_or_default())
}

/// Watches the marked objects of every kind (metadata only, by the fault label) and sends the
/// whole `Search` each time it changes: informers instead of listing every few seconds. At rest
/// this costs one watch request per kind every few minutes (kube-runtime's watcher re-watches
/// from where it was; it lists again only after 410 Gone).
pub fn watch(client: Client, kinds: Vec<Engine>, ns: Option<String>, tx: UnboundedSender<Search>) {
    tokio::spawn(async move {
        let streams = kinds.iter().enumerate().map(|(i, kind)| {
            let gvk = GroupVersionKind::gvk(&kind.group, &kind.version, &kind.kind);
            let ar = ApiResource::from_gvk_with_plural(&gvk, &kind.plural);
            let api: Api<PartialObjectMeta<DynamicObject>> = match (kind.namespaced, ns.as_deref()) {
                (true, Some(ns)) => Api::namespaced_with(client.clone(), ns, &ar),
                _ => Api::all_with(client.clone(), &ar),
            };
            let mut buffer: Vec<ObjectMeta> = Vec::new();
            watcher(api, watcher::Config::default().labels(FAULT).any_semantic())
                .default_backoff()
                .filter_map(move |ev| {
                    let seen = match ev {
                        Ok(watcher::Event::Init) => {
                            buffer.clear();
                            None
                        }
                        Ok(watcher::Event::InitApply(o)) => {
                            buffer.push(o.metadata);
                            None
                        }
                        Ok(watcher::Event::InitDone) => Some(Seen::Listed(i, std::mem::take(&mut buffer))),
                        Ok(watcher::Event::Apply(o)) => Some(Seen::Applied(i, o.metadata)),
                        Ok(watcher::Event::Delete(o)) => Some(Seen::Deleted(i, o.metadata)),
                        Err(e) if super::errors::watch_expired(&e) => None,
                        Err(e) => Some(Seen::Refused(i, refused(&e))),
                    };
                    std::future::ready(seen)
                })
                .boxed()
        });
        let mut all = futures::stream::select_all(streams);
        // Each kind's marked objects, once listed; why a kind could not be watched.
        let mut held: Vec<Option<BTreeMap<(String, String), ObjectMeta>>> = vec![None; kinds.len()];
        let mut skipped: Vec<Option<String>> = vec![None; kinds.len()];
        let mut last: Option<Search> = None;
        while let Some(seen) = all.next().await {
            match seen {
                Seen::Listed(i, metas) => {
                    held[i] = Some(metas.into_iter().map(|m| (key(&m), m)).collect());
                    skipped[i] = None;
                }
                Seen::Applied(i, m) => {
                    held[i].get_or_insert_with(BTreeMap::new).insert(key(&m), m);
                    skipped[i] = None;
                }
                Seen::Deleted(i, m) => {
                    if let Some(h) = held[i].as_mut() {
                        h.remove(&key(&m));
                    }
                }
                Seen::Refused(i, why) => skipped[i] = Some(format!("could not watch {}: {why}", kinds[i].kind)),
            }
            // Said once every kind has been listed or refused, then on every change.
            if held.iter().zip(&skipped).any(|(h, s)| h.is_none() && s.is_none()) {
                continue;
            }
            let metas: Vec<(String, ObjectMeta)> = held
                .iter()
                .zip(&kinds)
                .flat_map(|(h, k)| h.iter().flatten().map(move |(_, m)| (k.kind.clone(), m.clone())))
                .collect();
            let search = Search { found: leftovers(metas), skipped: skipped.iter().flatten().cloned().collect() };
            if last.as_ref() != Some(&search) {
                last = Some(search.clone());
                if tx.send(search).is_err() {
                    return;
                }
            }
        }
    });
}

fn refused(e: &watcher::Error) -> String {
    let inner = match e {
        watcher::Error::InitialListFailed(k) | watcher::Error::WatchStartFailed(k) | watcher::Error::WatchFailed(k) => {
            k
        }
        other => return other.to_string(),
    };
    match inner {
        kube::Error::Api(s) if s.code == 403 => format!("forbidden ({})", s.message),
        kube::Error::Api(s) if s.code == 404 => format!("not served here ({})", s.message),
        e => said(e),
    }
}
