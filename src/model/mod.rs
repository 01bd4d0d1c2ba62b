//! The domain model, a leaf: the cluster's picture (topology, targets, the deltas that keep it
//! current), a fault (its spec, how to undo it, what prepare found, one left behind), a preset's
//! parameters, the holder of the cluster's one-fault lock, probes and their checks, and a step's
//! verdict. Plain data and pure functions: it imports nothing of the crate but itself and
//! `crate::text`, and every other layer (timeline, config, store, core, backends) imports it.

pub mod check;
pub mod delta;
pub mod fault;
pub mod holder;
pub mod params;
pub mod probe;
pub mod signals;
pub mod target;
pub mod topology;
pub mod verdict;

pub use delta::TopologyDelta;
pub use fault::{
    BackendInfo, FaultSpec, Happening, Leftover, PodRef, Prepared, RevertHandle, Support, EVENT_REASON_PREFIX,
};
pub use holder::{Holder, LEASE_SECONDS, RENEW_EVERY};
pub use params::{ParamDef, ParamValue};
pub use signals::{PodUsage, Rates, SignalBatch, SignalKey, SourceKind, SourceState};
pub use target::{Mode, Target, TargetKind, TARGET_SYNTAX};
pub use topology::{Caveats, Namespace, Node, Pod, PodPhase, ServiceSample, Topology, Workload};
pub use verdict::{StepVerdict, Tally};
