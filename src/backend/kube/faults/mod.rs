//! Faults through the plain Kubernetes API: pod delete/kill and eviction, scale, node cordon
//! and drain, a corrupted ConfigMap key, an unpullable image, a deny-all NetworkPolicy; and the
//! entry points that hand the others to the chaos engines (`super::engines`). What they are
//! made with (context, markers, the revert plan) is `super::kit`.

mod apply;
mod budgets;
mod config;
mod drain;
mod node;
mod owners;
mod prepare;
mod revert;

pub use apply::inject;
pub use prepare::prepare;
pub use revert::{revert, Mark};

/// The plain-API actions.
pub const ACTIONS: &[&str] = &[
    "pod-delete",
    "pod-evict",
    "scale",
    "node-cordon",
    "node-drain",
    "config-corrupt",
    "image-unavailable",
    "network-deny",
];
