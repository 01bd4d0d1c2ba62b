//! The cluster's one-fault lock as a `coordination.k8s.io/v1` Lease (`gameday` in the lock
//! namespace, `gameday` by default), as Kubernetes' own leader election uses one: the holder is
//! in `spec.holderIdentity` (`user@host`) with its session, fault, deadline and any stop asked
//! of it in annotations; it renews `spec.renewTime` every few seconds and an observer times
//! `spec.leaseDurationSeconds` from when it last saw the Lease change, on its own clock. Every
//! write is a compare-and-swap on `metadata.resourceVersion` (a 409 means read again), never a
//! blind write. A `gameday watchdog` renews its own Lease (`gameday-watchdog`) beside it, so a
//! console can say whether a fault ends at its deadline with no console alive.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use kube::api::{Api, PostParams};
use kube::runtime::{watcher, WatchStreamExt};
use kube::Client;
use tokio::sync::mpsc::UnboundedSender;

use super::errors::Explain;
use crate::backend::lock::{ClusterLock, LockError};
use crate::model::TopologyDelta;
use crate::model::{Holder, LEASE_SECONDS};

/// The Lease every console takes before a fault.
pub const LOCK: &str = "gameday";
/// The Lease a `gameday watchdog` renews while it runs.
pub const WATCHDOG: &str = "gameday-watchdog";
/// The lock namespace, unless `--lock-namespace` says otherwise.
pub const DEFAULT_NAMESPACE: &str = "gameday";

const SESSION: &str = "gameday.dev/session";
const FAULT: &str = "gameday.dev/fault";
const WHAT: &str = "gameday.dev/what";
const DEADLINE: &str = "gameday.dev/deadline";
const STOP: &str = "gameday.dev/stop-requested-by";
/// Labels the Leases gameday owns (what its watch selects).
const OWNED: &str = "app.kubernetes.io/managed-by";

/// How many times a write is tried again after a 409 (someone wrote in between).
const TRIES: usize = 8;

pub struct LeaseLock {
    client: Client,
    namespace: String,
    explain: Explain,
}

impl LeaseLock {
    pub fn new(client: Client, namespace: &str, explain: Explain) -> LeaseLock {
        LeaseLock { client, namespace: namespace.to_string(), explain }
    }

    fn api(&self) -> Api<Lease> {
        Api::namespaced(self.client.clone(), &self.namespace)
    }

    /// A kube error on the lock, in words that say how to fix it.
    fn error(&self, doing: &str, e: kube::Error) -> LockError {
        match &e {
            kube::Error::Api(s) if s.code == 409 => LockError::Conflict(s.message.clone()),
            kube::Error::Api(s) if s.code == 404 && s.message.contains("namespaces") => {
                LockError::Unavailable(format!(
                "the cluster lock cannot be taken: its namespace '{ns}' does not exist. Create it (kubectl apply -f \
                 deploy/rbac.yaml, or kubectl create namespace {ns}) or choose another with --lock-namespace",
                ns = self.namespace
            ))
            }
            kube::Error::Api(s) if s.code == 403 => LockError::Unavailable(format!(
                "the cluster lock (Lease {}/{LOCK}) is not permitted: {} (deploy/rbac.yaml grants get, create and \
                 update on leases in the lock namespace)",
                self.namespace, s.message
            )),
            _ => LockError::Failed(format!("{doing} the cluster lock: {}", self.explain.explain(&e))),
        }
    }

    async fn get(&self, name: &str) -> Result<Option<Lease>, LockError> {
        self.api().get_opt(name).await.map_err(|e| self.error("reading", e))
    }

    async fn replace(&self, lease: &Lease) -> Result<Lease, LockError> {
        self.api().replace(LOCK, &PostParams::default(), lease).await.map_err(|e| self.error("writing", e))
    }

    /// Reads the lock and writes what `change` makes of it (`None`: leave it), again after a 409.
    async fn update(
        &self,
        mut change: impl FnMut(Option<&Holder>) -> Result<Option<Holder>, LockError>,
    ) -> Result<(), LockError> {
        for _ in 0..TRIES {
            let current = self.get(LOCK).await?;
            let holder = current.as_ref().and_then(holder_of);
            let Some(next) = change(holder.as_ref())? else { return Ok(()) };
            let result = match current {
                None => {
                    let lease = lease_of(&next, None);
                    self.api()
                        .create(&PostParams::default(), &lease)
                        .await
                        .map(|_| ())
                        .map_err(|e| self.error("creating", e))
                }
                Some(old) => self.replace(&lease_of(&next, Some(&old))).await.map(|_| ()),
            };
            match result {
                Err(LockError::Conflict(_)) => continue,
                // Created by someone else meanwhile: read it again.
                Err(LockError::Failed(m)) if m.contains("already exists") => continue,
                other => return other,
            }
        }
        Err(LockError::Conflict(format!("Lease {}/{LOCK} kept changing while it was written", self.namespace)))
    }

    /// Writes "nobody holds it" if `keep` says the current holder is to go.
    async fn clear(&self, keep: impl Fn(&Holder) -> bool) -> Result<(), LockError> {
        for _ in 0..TRIES {
            let Some(old) = self.get(LOCK).await? else { return Ok(()) };
            match holder_of(&old) {
                Some(h) if !keep(&h) => {}
                _ => return Ok(()),
            }
            match self.replace(&free(&old)).await {
                Err(LockError::Conflict(_)) => continue,
                other => return other.map(|_| ()),
            }
        }
        Err(LockError::Conflict(format!("Lease {}/{LOCK} kept changing while it was released", self.namespace)))
    }
}

fn now_micro() -> MicroTime {
    MicroTime(k8s_openapi::jiff::Timestamp::now())
}

/// The holder a Lease names, if it is held.
pub fn holder_of(lease: &Lease) -> Option<Holder> {
    let spec = lease.spec.as_ref()?;
    let who = spec.holder_identity.clone().filter(|w| !w.is_empty())?;
    let a = lease.metadata.annotations.clone().unwrap_or_default();
    Some(Holder {
        who,
        session: a.get(SESSION).cloned().unwrap_or_default(),
        fault: a.get(FAULT).and_then(|f| f.parse().ok()).unwrap_or(0),
        what: a.get(WHAT).cloned().unwrap_or_default(),
        deadline: a.get(DEADLINE).and_then(|d| d.parse().ok()).unwrap_or(0),
        lease_seconds: spec.lease_duration_seconds.unwrap_or(LEASE_SECONDS as i32).max(0) as u32,
        renewed: spec.renew_time.as_ref().map(|t| t.0.to_string()).unwrap_or_default(),
        stop: a.get(STOP).cloned(),
        version: lease.metadata.resource_version.clone().unwrap_or_default(),
        journal: String::new(),
        gone: false,
    })
}

fn owned_labels() -> BTreeMap<String, String> {
    BTreeMap::from([(OWNED.to_string(), "gameday".to_string())])
}

/// The Lease saying `h` holds it (on top of `old`, whose version it must still have).
fn lease_of(h: &Holder, old: Option<&Lease>) -> Lease {
    let mut annotations: BTreeMap<String, String> =
        old.and_then(|o| o.metadata.annotations.clone()).unwrap_or_default();
    for k in [SESSION, FAULT, WHAT, DEADLINE, STOP] {
        annotations.remove(k);
    }
    annotations.insert(SESSION.into(), h.session.clone());
    annotations.insert(FAULT.into(), h.fault.to_string());
    annotations.insert(WHAT.into(), h.what.clone());
    annotations.insert(DEADLINE.into(), h.deadline.to_string());
    if let Some(by) = &h.stop {
        annotations.insert(STOP.into(), by.clone());
    }
    let old_spec = old.and_then(|o| o.spec.clone()).unwrap_or_default();
    let same_holder =
        old.and_then(holder_of).is_some_and(|o| o.who == h.who && o.session == h.session && o.fault == h.fault);
    let now = now_micro();
    Lease {
        metadata: ObjectMeta {
            name: Some(LOCK.into()),
            namespace: old.and_then(|o| o.metadata.namespace.clone()),
            labels: Some(old.and_then(|o| o.metadata.labels.clone()).unwrap_or_else(owned_labels)),
            annotations: Some(annotations),
            resource_version: old.and_then(|o| o.metadata.resource_version.clone()),
            ..Default::default()
        },
        spec: Some(LeaseSpec {
            holder_identity: Some(h.who.clone()),
            lease_duration_seconds: Some(h.lease_seconds.max(1) as i32),
            acquire_time: if same_holder { old_spec.acquire_time.clone() } else { Some(now.clone()) },
            renew_time: Some(now),
            lease_transitions: Some(old_spec.lease_transitions.unwrap_or(0) + i32::from(!same_holder)),
            ..Default::default()
        }),
    }
}

/// The Lease saying nobody holds it.
fn free(old: &Lease) -> Lease {
    let mut lease = old.clone();
    if let Some(a) = lease.metadata.annotations.as_mut() {
        for k in [SESSION, FAULT, WHAT, DEADLINE, STOP] {
            a.remove(k);
        }
    }
    if let Some(spec) = lease.spec.as_mut() {
        spec.holder_identity = None;
        spec.acquire_time = None;
        spec.renew_time = Some(now_micro());
    }
    lease
}

fn same_fault(a: &Holder, b: &Holder) -> bool {
    a.session == b.session && a.fault == b.fault
}

#[async_trait]
impl ClusterLock for LeaseLock {
    fn describe(&self) -> String {
        format!("Lease {}/{LOCK}", self.namespace)
    }

    async fn current(&self) -> Result<Option<Holder>, LockError> {
        Ok(self.get(LOCK).await?.as_ref().and_then(holder_of))
    }

    async fn acquire(&self, me: &Holder) -> Result<(), LockError> {
        self.update(|current| match current {
            Some(h) if !same_fault(h, me) => Err(LockError::Held(Box::new(h.clone()))),
            _ => Ok(Some(me.clone())),
        })
        .await
    }

    async fn renew(&self, me: &Holder) -> Result<Holder, LockError> {
        let mut now = None;
        self.update(|current| match current {
            Some(h) if same_fault(h, me) => {
                // A stop asked of us stays until we release.
                let next = Holder { stop: h.stop.clone(), ..me.clone() };
                now = Some(next.clone());
                Ok(Some(next))
            }
            Some(h) => Err(LockError::Held(Box::new(h.clone()))),
            None => Err(LockError::Failed("the cluster lock was released by someone else".into())),
        })
        .await?;
        now.ok_or_else(|| LockError::Failed("the cluster lock could not be renewed".into()))
    }

    async fn release(&self, session: &str, fault: u64) -> Result<(), LockError> {
        self.clear(|h| !(h.session == session && h.fault == fault)).await
    }

    async fn request_stop(&self, by: &str) -> Result<Holder, LockError> {
        let mut asked = None;
        self.update(|current| match current {
            Some(h) => {
                asked = Some(h.clone());
                match &h.stop {
                    Some(_) => Ok(None),
                    None => Ok(Some(Holder { stop: Some(by.to_string()), ..h.clone() })),
                }
            }
            None => Err(LockError::Failed("nobody holds the cluster: there is no fault to stop".into())),
        })
        .await?;
        asked.ok_or_else(|| LockError::Failed("nobody holds the cluster".into()))
    }

    async fn take_over(&self, me: &Holder, from: &Holder) -> Result<(), LockError> {
        let Some(old) = self.get(LOCK).await? else {
            return Err(LockError::Conflict("the cluster lock was released meanwhile".into()));
        };
        if old.metadata.resource_version.as_deref() != Some(from.version.as_str()) {
            return Err(LockError::Conflict("the cluster lock changed since it was seen".into()));
        }
        self.replace(&lease_of(me, Some(&old))).await.map(|_| ())
    }

    /// Creates or renews the `gameday-watchdog` Lease.
    async fn watchdog_heartbeat(&self, who: &str) -> Result<(), LockError> {
        let lock = self;
        let api = lock.api();
        for _ in 0..TRIES {
            let old = lock.get(WATCHDOG).await?;
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(WATCHDOG.into()),
                    labels: Some(owned_labels()),
                    resource_version: old.as_ref().and_then(|o| o.metadata.resource_version.clone()),
                    ..Default::default()
                },
                spec: Some(LeaseSpec {
                    holder_identity: Some(who.to_string()),
                    lease_duration_seconds: Some(LEASE_SECONDS as i32),
                    renew_time: Some(now_micro()),
                    ..Default::default()
                }),
            };
            let r = match old {
                None => api.create(&PostParams::default(), &lease).await.map(|_| ()),
                Some(_) => api.replace(WATCHDOG, &PostParams::default(), &lease).await.map(|_| ()),
            };
            match r.map_err(|e| lock.error("writing", e)) {
                Err(LockError::Conflict(_)) => continue,
                Err(LockError::Failed(m)) if m.contains("already exists") => continue,
                other => return other,
            }
        }
        Ok(())
    }

    /// Deletes the `gameday-watchdog` Lease, if it is still this watchdog's.
    async fn watchdog_gone(&self, who: &str) -> Result<(), LockError> {
        let Some(old) = self.get(WATCHDOG).await? else { return Ok(()) };
        if old.spec.as_ref().and_then(|s| s.holder_identity.as_deref()) != Some(who) {
            return Ok(());
        }
        let pre = kube::api::Preconditions {
            resource_version: old.metadata.resource_version.clone(),
            uid: old.metadata.uid.clone(),
        };
        let dp = kube::api::DeleteParams { preconditions: Some(pre), ..Default::default() };
        match self.api().delete(WATCHDOG, &dp).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(s)) if s.code == 404 || s.code == 409 => Ok(()),
            Err(e) => Err(self.error("deleting the watchdog's Lease", e)),
        }
    }

    fn watch(&self, tx: UnboundedSender<TopologyDelta>) {
        let api = self.api();
        let explain = self.explain.clone();
        let where_ = self.describe();
        tokio::spawn(async move {
            let cfg = watcher::Config::default().labels(&format!("{OWNED}=gameday")).any_semantic();
            let mut stream = watcher(api, cfg).default_backoff().boxed();
            let mut said_failure = false;
            while let Some(ev) = stream.next().await {
                let lease = match ev {
                    Ok(watcher::Event::Apply(l) | watcher::Event::InitApply(l)) => Some((l, true)),
                    Ok(watcher::Event::Delete(l)) => Some((l, false)),
                    Ok(_) => None,
                    // Compacted history: listed again at once, no news.
                    Err(e) if super::errors::watch_expired(&e) => None,
                    Err(e) => {
                        if !said_failure {
                            said_failure = true;
                            let why = match &e {
                                watcher::Error::InitialListFailed(k)
                                | watcher::Error::WatchStartFailed(k)
                                | watcher::Error::WatchFailed(k) => explain.explain(k),
                                other => other.to_string(),
                            };
                            let _ = tx.send(TopologyDelta::ClusterEvent {
                                object: where_.clone(),
                                message: format!("the cluster lock cannot be watched: {why}"),
                                warning: true,
                            });
                        }
                        None
                    }
                };
                let Some((lease, present)) = lease else { continue };
                said_failure = false;
                let delta = match lease.metadata.name.as_deref() {
                    Some(LOCK) => TopologyDelta::Holder(if present { holder_of(&lease) } else { None }),
                    Some(WATCHDOG) => TopologyDelta::Watchdog(
                        present
                            .then(|| lease.spec.as_ref().and_then(|s| s.renew_time.as_ref()).map(|t| t.0.to_string()))
                            .flatten(),
                    ),
                    _ => continue,
                };
                if tx.send(delta).is_err() {
                    return;
                }
            }
        });
    }
}

/// How long to wait before trying a lock write again.
pub const RETRY: Duration = Duration::from_millis(500);
