//! One fault at a time across every console on a cluster: a lock object in the cluster itself
//! (a `coordination.k8s.io/v1` Lease on Kubernetes, a named container on Docker), taken before a
//! fault is prepared and given back only once its revert is confirmed. Its holder says who holds
//! it, with which session and fault, and until when; a live holder renews it every few seconds.
//! Another console may ask the holder to stop (the holder aborts through its own abort path); a
//! holder that stopped renewing (a dead laptop) is taken over and its fault reverted by its
//! markers, by any console or by `gameday watchdog`.

use async_trait::async_trait;
use tokio::sync::mpsc::UnboundedSender;

use crate::model::{Holder, TopologyDelta};

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
