//! A fault as the console and every backend speak of it: what to inject (`FaultSpec`), how to
//! undo it (`RevertHandle`, journaled before anything is applied), what a read-only prepare
//! found (`Prepared`), a fault an earlier process left (`Leftover`), and what the system's own
//! record is told (`Happening`). Plain data: no I/O.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::params::ParamValue;
use super::target::{Mode, Target};

/// One pod (or container) by namespace and name.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PodRef {
    pub namespace: String,
    pub name: String,
}

impl std::fmt::Display for PodRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

/// Everything a backend needs to inject one fault.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FaultSpec {
    pub fault_id: u64,
    /// The console session that injects it (markers on what the fault changes carry it).
    pub session: String,
    pub preset: String,
    /// The fault family the backend implements ("pod-delete", "network-latency", ...).
    pub action: String,
    pub target: Target,
    pub params: BTreeMap<String, ParamValue>,
    pub duration_ms: u64,
    /// For faults on pods (containers): the pods the target selected when the console planned
    /// the fault, and how many of them to hit. The backend chooses among them in `prepare`.
    /// Empty, with no mode, for workload and node faults.
    pub pods: Vec<PodRef>,
    pub mode: Option<Mode>,
}

impl FaultSpec {
    pub fn int(&self, name: &str) -> Option<i64> {
        self.params.get(name).and_then(ParamValue::as_int)
    }

    pub fn text(&self, name: &str) -> Option<String> {
        self.params.get(name).map(ToString::to_string)
    }

    /// How many of the candidate pods this fault hits.
    pub fn pick_count(&self) -> usize {
        self.mode.unwrap_or(Mode::All).count(self.pods.len())
    }
}

/// What a backend needs to undo a fault. It is serialisable so that the journal can carry it
/// and another process can undo the fault after a crash.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RevertHandle {
    pub fault_id: u64,
    /// What was done, in words ("deleted pod sock-shop/carts-5d8f-x2k4p").
    pub summary: String,
    /// Backend-specific state needed to revert (saved replica count, paused pods, ...).
    pub data: serde_json::Value,
}

/// What `prepare` found, for the confirmation: the handle that says how to undo the fault, and
/// what it read on the way, a line each ("ConfigMap shop/carts-config, key DB_HOST (now \"db\")").
#[derive(Clone, Debug, PartialEq)]
pub struct Prepared {
    pub handle: RevertHandle,
    pub found: Vec<String>,
    /// Whether the fault ends at its duration with no gameday process alive, and what ends it
    /// ("Chaos Mesh ends it at its duration"); `None`: only a console, `gameday cleanup` or
    /// `gameday watchdog` reverts it.
    pub ends_by_itself: Option<String>,
    /// What ends it at the duration it was injected with whatever the console says (an
    /// engine's own duration, a helper's timer, a lock whose deadline cannot move): such a
    /// fault can be shortened, never extended. `None`: the console holds its end.
    pub fixed_end: Option<String>,
}

/// A fault that an earlier gameday process injected and never confirmed reverted, found in
/// its journal or by the markers on what it changed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Leftover {
    pub session: String,
    pub fault_id: u64,
    /// "container-pause on shop/web (paused shop-web-1)"
    pub what: String,
    pub handle: RevertHandle,
    /// The session's journal, when it was found there (the revert is appended to it).
    pub journal: Option<std::path::PathBuf>,
    /// "journal", "label gameday.session on container x", ...
    pub found_by: String,
    /// Set when it ended by itself meanwhile (a helper's time ran out while no console ran):
    /// nothing to revert, only to record and tidy up ("expired at 10:42:07 UTC").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended: Option<String>,
    /// When the fault's time is up, as its markers say (Unix seconds): a fault past it is
    /// reverted by any console or watchdog on the system (after a grace for its own console).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackendInfo {
    /// "demo", "kubernetes", "docker"
    pub kind: String,
    /// Human name of what we are connected to.
    pub cluster: String,
    /// What this backend calls the things workloads run as: "pod" or "container".
    #[serde(default = "pod_word")]
    pub pod_word: String,
}

fn pod_word() -> String {
    "pod".into()
}

/// Whether a backend can run a given fault action, and if not, why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Support {
    Yes,
    No(String),
}

/// Every reason gameday gives its Events in the system's own record begins so
/// (`GamedayFaultInjected`, ...): a drill's responder does not see them.
pub const EVENT_REASON_PREFIX: &str = "Gameday";

/// Something done to a fault, for the system's own record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Happening {
    /// `GamedayFaultInjected`, `GamedayFaultAborted`, `GamedayFaultReverted`,
    /// `GamedayFaultTakenOver`.
    pub reason: &'static str,
    /// `Inject`, `Abort`, `Revert`, `TakeOver`.
    pub action: &'static str,
    /// Session, fault, what it does, who: one line.
    pub note: String,
    pub warning: bool,
}
