//! One fault at a time across every console on a cluster: a lock object in the cluster itself
//! (a `coordination.k8s.io/v1` Lease on Kubernetes, a named container on Docker), taken before a
//! fault is prepared and given back only once its revert is confirmed. Its holder says who holds
//! it, with which session and fault, and until when; a live holder renews it every few seconds.
//! Another console may ask the holder to stop (the holder aborts through its own abort path); a
//! holder that stopped renewing (a dead laptop) is taken over and its fault reverted by its
//! markers, by any console or by `gameday watchdog`.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc::UnboundedSender;

use super::TopologyDelta;

/// How long a renewal holds, by default: a holder not heard of for this long is taken over.
pub const LEASE_SECONDS: u32 = 15;
/// How often a holder renews.
pub const RENEW_EVERY: std::time::Duration = std::time::Duration::from_secs(4);

/// Who holds the cluster's one fault, as the lock object says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    /// `user@host`.
    pub who: String,
    pub session: String,
    pub fault: u64,
    /// "network-latency on sock-shop/carts".
    pub what: String,
    /// When the fault's time is up (Unix seconds, the holder's clock); 0 if unknown.
    pub deadline: i64,
    /// How long a renewal holds (seconds); 0: never renewed (its liveness is told otherwise,
    /// e.g. Docker's lock container: its deadline, or its journal's lock on this machine).
    pub lease_seconds: u32,
    /// Changes at every renewal (a Lease's renewTime): an observer times the lease from when it
    /// last saw it change, on its own clock, as Kubernetes' leader election does.
    pub renewed: String,
    /// An emergency stop asked by another console: who asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop: Option<String>,
    /// The object's version, for a take-over that must not race another one.
    #[serde(default)]
    pub version: String,
    /// The holder's journal on its machine, where the lock cannot be renewed (Docker): an
    /// observer on the same machine tells by the journal's lock whether its console is alive.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub journal: String,
    /// Its console is known to be gone (its journal on this machine is no longer held): it is
    /// taken over at once, without waiting for a lease or a deadline.
    #[serde(default)]
    pub gone: bool,
}

impl Holder {
    /// "alice@laptop-a holds the cluster: network-latency on sock-shop/carts".
    pub fn describe(&self) -> String {
        format!("{} holds the cluster: {} (session {}, fault #{})", self.who, self.what, self.session, self.fault)
    }

    /// Its journal, if its console ran on this machine and no process holds that journal any
    /// more: its console is gone.
    pub fn dead_journal(&self) -> Option<std::path::PathBuf> {
        let here = self.who.rsplit_once('@').is_some_and(|(_, host)| host == host_name());
        let path = std::path::PathBuf::from(&self.journal);
        (here && !self.journal.is_empty() && !crate::timeline::journal::in_use(&path)).then_some(path)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LockError {
    /// Someone else holds it.
    #[error("{}", .0.describe())]
    Held(Box<Holder>),
    /// The lock cannot be used at all (its namespace is missing, RBAC refuses it): said how to
    /// fix it.
    #[error("{0}")]
    Unavailable(String),
    /// It changed under us (a concurrent writer won); read it again.
    #[error("the cluster lock changed meanwhile: {0}")]
    Conflict(String),
    #[error("{0}")]
    Failed(String),
}

/// The cluster's one-fault lock.
#[async_trait]
pub trait ClusterLock: Send + Sync + 'static {
    /// Where it lives ("Lease gameday/gameday").
    fn describe(&self) -> String;

    /// The holder now, if any.
    async fn current(&self) -> Result<Option<Holder>, LockError>;

    /// Takes the lock for `me` if it is free (or already ours): a compare-and-swap on the
    /// object's version, never a blind write.
    async fn acquire(&self, me: &Holder) -> Result<(), LockError>;

    /// Renews our hold (and its deadline); returns the holder as it stands (a stop asked of it).
    /// `Held` if someone took it over meanwhile.
    async fn renew(&self, me: &Holder) -> Result<Holder, LockError>;

    /// Gives it back, if `session`'s fault `fault` still holds it.
    async fn release(&self, session: &str, fault: u64) -> Result<(), LockError>;

    /// Asks the holder to stop its fault (it watches the lock and aborts).
    async fn request_stop(&self, by: &str) -> Result<Holder, LockError>;

    /// Takes over from `from` (whose renewals stopped, or whose fault is overdue) to revert its
    /// fault: succeeds only if the lock still is exactly as `from` saw it.
    async fn take_over(&self, me: &Holder, from: &Holder) -> Result<(), LockError>;

    /// Streams the holder as it changes (`None` when free) as `TopologyDelta::Holder`, with
    /// `TopologyDelta::Watchdog` when a watchdog's heartbeat is seen. Must not block.
    fn watch(&self, tx: UnboundedSender<TopologyDelta>);

    /// `gameday watchdog` says it is alive (consoles then say a fault ends at its deadline
    /// with no console left); where the lock cannot carry a heartbeat, nothing.
    async fn watchdog_heartbeat(&self, _who: &str) -> Result<(), LockError> {
        Ok(())
    }

    /// `gameday watchdog` stops: its heartbeat is taken away at once (a console must not count
    /// on a watchdog that has gone).
    async fn watchdog_gone(&self, _who: &str) -> Result<(), LockError> {
        Ok(())
    }
}

/// This machine's name, for `user@host`.
pub fn host_name() -> String {
    hostname::get()
        .ok()
        .and_then(|h| h.into_string().ok())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into())
}
