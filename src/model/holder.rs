//! Who holds the cluster's one-fault lock, as the lock object says: plain data, read and
//! written by the backends' locks and judged by the console's core.

use serde::{Deserialize, Serialize};

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
}
