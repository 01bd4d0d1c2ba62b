//! What the console keeps of each watched object: a pod's phase, readiness, restarts and
//! owner; a node's readiness and pressure. Never whole objects.

use k8s_openapi::api::core::v1::Node as KNode;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::{LeanPod, PodInfo};
use crate::model::{Node, Pod, PodPhase};

/// The controlling owner (kind, name).
pub(super) fn controller(m: &ObjectMeta) -> Option<(String, String)> {
    let refs = m.owner_references.as_ref()?;
    let r = refs.iter().find(|r| r.controller == Some(true)).or_else(|| refs.first())?;
    Some((r.kind.clone(), r.name.clone()))
}

pub(super) fn pod_info(mut p: LeanPod) -> PodInfo {
    let status = p.status.as_ref();
    let statuses = status.and_then(|s| s.container_statuses.clone()).unwrap_or_default();
    let waiting: Option<String> = statuses.iter().find_map(|c| c.state.as_ref()?.waiting.as_ref()?.reason.clone());
    let ready = status
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
    let node = p.spec.as_ref().and_then(|s| s.node_name.clone());
    let phase = if p.metadata.deletion_timestamp.is_some() {
        PodPhase::Terminating
    } else {
        match status.and_then(|s| s.phase.as_deref()) {
            Some("Running") if waiting.as_deref() == Some("CrashLoopBackOff") => PodPhase::CrashLoopBackOff,
            Some("Running") => PodPhase::Running,
            Some("Succeeded") => PodPhase::Exited(0),
            Some("Failed") => PodPhase::Exited(
                statuses
                    .iter()
                    .find_map(|c| c.state.as_ref()?.terminated.as_ref().map(|t| t.exit_code as i64))
                    .unwrap_or(1),
            ),
            _ if node.is_some() => PodPhase::ContainerCreating,
            _ => PodPhase::Pending,
        }
    };
    let restarts: i32 = statuses.iter().map(|c| c.restart_count).sum();
    let oom = statuses.iter().any(|c| {
        c.last_state.as_ref().and_then(|s| s.terminated.as_ref()).and_then(|t| t.reason.as_deref()) == Some("OOMKilled")
    });
    let note = match (waiting.filter(|w| w != "ContainerCreating"), oom) {
        (Some(w), _) => Some(w),
        (None, true) => Some("last exit: OOMKilled".to_string()),
        (None, false) => None,
    };
    PodInfo {
        owner: controller(&p.metadata),
        pod: Pod {
            namespace: p.metadata.namespace.clone().unwrap_or_default(),
            name: p.metadata.name.clone().unwrap_or_default(),
            workload: None,
            node,
            phase,
            ready,
            restarts: restarts.max(0) as u32,
            note,
            labels: p.metadata.labels.take().unwrap_or_default(),
            caveats: Default::default(),
        },
    }
}

pub(super) fn node_of(n: &KNode) -> Node {
    let conditions = n.status.as_ref().and_then(|s| s.conditions.clone()).unwrap_or_default();
    let ready = conditions.iter().any(|c| c.type_ == "Ready" && c.status == "True");
    let pressure: Vec<String> =
        conditions.iter().filter(|c| c.type_ != "Ready" && c.status == "True").map(|c| c.type_.clone()).collect();
    Node {
        name: n.metadata.name.clone().unwrap_or_default(),
        ready,
        unschedulable: n.spec.as_ref().and_then(|s| s.unschedulable).unwrap_or(false),
        note: (!pressure.is_empty()).then(|| pressure.join(", ")),
    }
}
