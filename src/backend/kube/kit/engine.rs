//! The chaos engines' resources the cluster serves, as discovery found them.

use std::collections::BTreeMap;

use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind};
use kube::Client;
use serde::{Deserialize, Serialize};

/// A chaos resource the cluster serves.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Engine {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub plural: String,
    /// Namespaced (most chaos kinds) or cluster-scoped (Chaos Mesh's RemoteCluster, ...).
    #[serde(default = "yes")]
    pub namespaced: bool,
}

fn yes() -> bool {
    true
}

impl Engine {
    pub fn api(&self, client: &Client, ns: &str) -> Api<DynamicObject> {
        let gvk = GroupVersionKind::gvk(&self.group, &self.version, &self.kind);
        Api::namespaced_with(client.clone(), ns, &ApiResource::from_gvk_with_plural(&gvk, &self.plural))
    }
}

/// What discovery found, by kind.
#[derive(Clone, Debug, Default)]
pub struct Engines {
    pub checked: bool,
    pub found: BTreeMap<String, Engine>,
}
