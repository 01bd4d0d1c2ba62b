//! One kube-runtime watcher per kind (list, then watch; resumes a dropped watch, relists after
//! 410 Gone, backs off while the API server is unreachable), all feeding one task that owns the
//! picture and sends its deltas to the console.

use futures::{Stream, StreamExt};
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::core::v1::{Event as KEvent, Namespace, Node, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::Api;
use kube::runtime::{watcher, WatchStreamExt};
use kube::Client;
use tokio::sync::mpsc::{self, UnboundedSender};

use super::cluster::{Change, Cluster, Kind, LeanPod, Obj, Policy};
use super::errors::Explain;
use crate::model::TopologyDelta;

/// Where to look: every namespace, or one.
#[derive(Clone, Debug, Default)]
pub struct Scope {
    pub namespace: Option<String>,
}

fn api<K>(client: &Client, scope: &Scope) -> Api<K>
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>,
    <K as kube::Resource>::DynamicType: Default,
{
    match &scope.namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    }
}

/// A watcher's events as changes for the picture.
fn changes<K, F>(
    kind: Kind,
    stream: impl Stream<Item = Result<watcher::Event<K>, watcher::Error>> + Send + 'static,
    wrap: F,
    explain: Explain,
) -> impl Stream<Item = Change> + Send
where
    K: Send + 'static,
    F: Fn(K) -> Obj + Send + 'static,
{
    stream.filter_map(move |ev| {
        let change = match ev {
            Ok(watcher::Event::Init) => Some(Change::Init(kind)),
            Ok(watcher::Event::InitApply(o) | watcher::Event::Apply(o)) => Some(Change::Apply(wrap(o))),
            Ok(watcher::Event::Delete(o)) => Some(Change::Delete(wrap(o))),
            Ok(watcher::Event::InitDone) => Some(Change::InitDone(kind)),
            // The history it resumed from was compacted (routine in etcd): the watcher lists
            // again at once, and the picture is kept until that list replaces it. No news.
            Err(e) if super::errors::watch_expired(&e) => {
                tracing::debug!(?kind, "watch expired (410 Gone): listing again");
                None
            }
            Err(e) => {
                let (why, denied) = describe(&e, &explain);
                Some(Change::Failed { kind, why, denied })
            }
        };
        std::future::ready(change)
    })
}

/// A watcher error as a person would want it: what the API server said, or why it could not
/// be reached (`Explain`); and whether the credentials were refused.
fn describe(e: &watcher::Error, explain: &Explain) -> (String, bool) {
    let denied = matches!(e,
        watcher::Error::InitialListFailed(kube::Error::Api(s))
        | watcher::Error::WatchStartFailed(kube::Error::Api(s))
        | watcher::Error::WatchFailed(kube::Error::Api(s)) if s.code == 401 || s.code == 403);
    let inner = match e {
        watcher::Error::InitialListFailed(k) | watcher::Error::WatchStartFailed(k) | watcher::Error::WatchFailed(k) => {
            explain.explain(k)
        }
        other => other.to_string(),
    };
    (format!("the API server: {inner}"), denied)
}

/// How many changes may wait for the picture's task: the watchers wait beyond it (their lists
/// stay in the socket), so a list that streams in faster than the picture takes it is never
/// held whole in memory.
const BACKLOG: usize = 256;

/// How often the API server is checked while watches fail.
const RECHECK: std::time::Duration = std::time::Duration::from_secs(2);

pub fn spawn(client: Client, scope: Scope, policy: Policy, explain: Explain, tx: UnboundedSender<TopologyDelta>) {
    let cfg = || watcher::Config::default().any_semantic();
    let (ctx, mut rx) = mpsc::channel::<Change>(BACKLOG);
    let forward = |s: std::pin::Pin<Box<dyn Stream<Item = Change> + Send>>| {
        let ctx = ctx.clone();
        tokio::spawn(async move {
            let mut s = s;
            while let Some(c) = s.next().await {
                if ctx.send(c).await.is_err() {
                    break;
                }
            }
        });
    };
    let ns_cfg = match &scope.namespace {
        Some(ns) => cfg().fields(&format!("metadata.name={ns}")),
        None => cfg(),
    };
    let c = &client;
    forward(
        changes(
            Kind::Namespace,
            watcher(Api::<Namespace>::all(c.clone()), ns_cfg).default_backoff(),
            Obj::Namespace,
            explain.clone(),
        )
        .boxed(),
    );
    forward(
        changes(Kind::Node, watcher(Api::<Node>::all(c.clone()), cfg()).default_backoff(), Obj::Node, explain.clone())
            .boxed(),
    );
    forward(
        changes(Kind::Pod, watcher(api::<LeanPod>(c, &scope), cfg()).default_backoff(), Obj::Pod, explain.clone())
            .boxed(),
    );
    forward(
        changes(
            Kind::ReplicaSet,
            watcher(api::<ReplicaSet>(c, &scope), cfg()).default_backoff(),
            Obj::ReplicaSet,
            explain.clone(),
        )
        .boxed(),
    );
    forward(
        changes(
            Kind::Deployment,
            watcher(api::<Deployment>(c, &scope), cfg()).default_backoff(),
            Obj::Deployment,
            explain.clone(),
        )
        .boxed(),
    );
    forward(
        changes(
            Kind::StatefulSet,
            watcher(api::<StatefulSet>(c, &scope), cfg()).default_backoff(),
            Obj::StatefulSet,
            explain.clone(),
        )
        .boxed(),
    );
    forward(
        changes(
            Kind::DaemonSet,
            watcher(api::<DaemonSet>(c, &scope), cfg()).default_backoff(),
            Obj::DaemonSet,
            explain.clone(),
        )
        .boxed(),
    );
    forward(
        changes(
            Kind::Service,
            watcher(api::<Service>(c, &scope), cfg()).default_backoff(),
            Obj::Service,
            explain.clone(),
        )
        .boxed(),
    );
    forward(
        changes(
            Kind::EndpointSlice,
            watcher(api::<EndpointSlice>(c, &scope), cfg()).default_backoff(),
            Obj::EndpointSlice,
            explain.clone(),
        )
        .boxed(),
    );
    forward(
        changes(
            Kind::Event,
            watcher(api::<KEvent>(c, &scope), cfg().fields("type=Warning")).default_backoff(),
            Obj::Event,
            explain.clone(),
        )
        .boxed(),
    );
    let weak = ctx.downgrade();
    drop(ctx);
    tokio::spawn(async move {
        let mut cluster = Cluster::new(policy);
        let mut recheck = tokio::time::interval(RECHECK);
        recheck.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let change = tokio::select! {
                c = rx.recv() => match c {
                    Some(c) => c,
                    None => return,
                },
                _ = recheck.tick(), if cluster.failing() => {
                    // Only while disconnected: is the API server back?
                    let (client, weak) = (client.clone(), weak.clone());
                    tokio::spawn(async move {
                        let ok = tokio::time::timeout(RECHECK, client.apiserver_version()).await;
                        if let (Ok(Ok(_)), Some(ctx)) = (ok, weak.upgrade()) {
                            let _ = ctx.send(Change::Answered).await;
                        }
                    });
                    continue;
                }
            };
            for d in cluster.apply(change) {
                if tx.send(d).is_err() {
                    return;
                }
            }
        }
    });
}
