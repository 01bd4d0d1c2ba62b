//! Which namespaces faults may touch: those labelled `gameday.dev/allow=true` or opened with
//! `--allow-namespace` (the only way into kube-system); never the console's own pod.

use std::collections::{BTreeMap, BTreeSet};

/// The label that opens a namespace to faults.
pub const ALLOW_LABEL: &str = "gameday.dev/allow";

/// Which namespaces faults may touch.
#[derive(Clone, Debug, Default)]
pub struct Policy {
    /// `--allow-namespace`: allowed without the label (the only way for kube-system).
    pub allow: BTreeSet<String>,
    /// The console's own pod, never a target.
    pub own_pod: Option<(String, String)>,
}

impl Policy {
    pub fn lock_reason(&self, ns: &str, labels: &BTreeMap<String, String>) -> Option<String> {
        if self.allow.contains(ns) {
            return None;
        }
        if ns == "kube-system" {
            return Some("kube-system is off-limits unless you pass --allow-namespace kube-system".into());
        }
        if labels.get(ALLOW_LABEL).is_some_and(|v| v == "true") {
            return None;
        }
        Some(format!("namespace {ns} is off-limits: label it {ALLOW_LABEL}=true or pass --allow-namespace {ns}"))
    }
}
