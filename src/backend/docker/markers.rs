//! A marker on the engine for every Docker fault: a container created (never started) from the
//! first target's own image, labelled with the session, the fault, its deadline and the revert
//! plan. Container labels cannot change, so a pause or a throttle leaves no trace on the target
//! itself; the marker is that trace. It is created before anything is applied and removed only
//! after a confirmed revert, so any process on any machine (`gameday cleanup`, the console's
//! start-up search, a watchdog) finds every fault that may still be in effect and knows how to
//! undo it, whatever data directory it uses.

use std::collections::HashMap;

use bollard::models::{ContainerCreateBody, HostConfig};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, InspectContainerOptions, ListContainersOptionsBuilder, RemoveContainerOptionsBuilder,
};
use bollard::Docker;

use super::errors::{failed, status};
use super::handle::HandleData;
use super::helper::{DEADLINE, FAULT, SESSION, TARGET, TARGET_NAME};
use super::topology::HELPER;
use crate::backend::BackendError;
use crate::model::{FaultSpec, Leftover};

/// The `gameday.helper` value of markers.
pub const MARKER: &str = "marker";
/// The revert plan, as JSON.
pub const PLAN: &str = "gameday.plan";
/// What the fault is, in words ("container-pause on shop/web").
pub const WHAT: &str = "gameday.what";

/// A marker's container name: findable, one per fault.
pub fn name(session: &str, fault: u64) -> String {
    format!("gameday-{}-f{fault}-marker", clean(session))
}

pub fn clean(s: &str) -> String {
    s.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '-' }).collect()
}

/// Leaves the marker of a fault about to be applied (replacing one a failed attempt left).
pub async fn create(d: &Docker, spec: &FaultSpec, plan: &HandleData) -> Result<(), BackendError> {
    let Some(first) = plan.targets().first() else { return Ok(()) };
    // The target's own image: it is on this engine, whatever registry it came from.
    let image = d
        .inspect_container(&first.id, None::<InspectContainerOptions>)
        .await
        .map_err(|e| failed(&format!("inspect {}", first.name), e))?
        .image
        .ok_or_else(|| BackendError::Failed(format!("{} has no image to make a marker from", first.name)))?;
    let deadline = chrono::Utc::now().timestamp() + spec.duration_ms.div_ceil(1000) as i64;
    let plan_json = serde_json::to_string(plan).map_err(|e| BackendError::Failed(format!("marker plan: {e}")))?;
    let labels = HashMap::from([
        (HELPER.to_string(), MARKER.to_string()),
        (SESSION.to_string(), spec.session.clone()),
        (FAULT.to_string(), spec.fault_id.to_string()),
        (TARGET.to_string(), first.id.clone()),
        (TARGET_NAME.to_string(), first.name.clone()),
        (DEADLINE.to_string(), deadline.to_string()),
        (WHAT.to_string(), format!("{} on {}", spec.preset, spec.target)),
        (PLAN.to_string(), plan_json),
    ]);
    let body = ContainerCreateBody {
        image: Some(image),
        // Never started; a command of its own so that an image without one can be used too.
        entrypoint: Some(vec!["/gameday-marker-never-runs".into()]),
        cmd: Some(Vec::new()),
        labels: Some(labels),
        network_disabled: Some(true),
        host_config: Some(HostConfig { network_mode: Some("none".into()), ..Default::default() }),
        ..Default::default()
    };
    let name = name(&spec.session, spec.fault_id);
    remove_named(d, &name).await?;
    let opts = CreateContainerOptionsBuilder::default().name(&name).build();
    d.create_container(Some(opts), body).await.map_err(|e| failed(&format!("create the marker {name}"), e))?;
    Ok(())
}

/// Removes a fault's marker (after a confirmed revert, or an inject that applied nothing).
pub async fn remove(d: &Docker, session: &str, fault: u64) -> Result<(), BackendError> {
    remove_named(d, &name(session, fault)).await
}

async fn remove_named(d: &Docker, name: &str) -> Result<(), BackendError> {
    match d.remove_container(name, Some(RemoveContainerOptionsBuilder::default().force(true).build())).await {
        Ok(()) => Ok(()),
        Err(e) if status(&e) == Some(404) => Ok(()),
        Err(e) => Err(failed(&format!("remove the marker {name}"), e)),
    }
}

/// One marker found on the engine.
pub struct Found {
    pub container: String,
    pub session: String,
    pub fault: u64,
    pub what: String,
    pub plan: HandleData,
    /// Unix seconds.
    pub deadline: Option<i64>,
}

impl Found {
    pub fn leftover(&self) -> Leftover {
        // Before its time is up it may be the live fault of a console on another machine.
        let now = chrono::Utc::now().timestamp();
        let until = match self.deadline.and_then(|d| chrono::DateTime::from_timestamp(d, 0)) {
            Some(t) if t.timestamp() > now => {
                format!("; its time is up at {}: a console elsewhere may still be running it", t.format("%H:%M:%S UTC"))
            }
            _ => String::new(),
        };
        Leftover {
            session: self.session.clone(),
            fault_id: self.fault,
            what: format!("{} ({}{until})", self.what, self.plan.summary(true)),
            handle: self.plan.handle(&self.session, self.fault, true),
            journal: None,
            found_by: format!("marker container {} on the engine", self.container),
            ended: None,
            deadline: self.deadline,
        }
    }
}

/// Every marker on the engine.
pub async fn find(d: &Docker) -> Result<Vec<Found>, BackendError> {
    let filters = HashMap::from([("label", vec![format!("{HELPER}={MARKER}")])]);
    let opts = ListContainersOptionsBuilder::default().all(true).filters(&filters).build();
    let list = d.list_containers(Some(opts)).await.map_err(|e| BackendError::Failed(e.to_string()))?;
    let mut out = Vec::new();
    for c in list {
        let labels = c.labels.unwrap_or_default();
        let get = |k: &str| labels.get(k).cloned().unwrap_or_default();
        let (Ok(fault), Ok(plan)) = (get(FAULT).parse::<u64>(), serde_json::from_str::<HandleData>(&get(PLAN))) else {
            continue;
        };
        out.push(Found {
            container: c.names.and_then(|n| n.first().cloned()).unwrap_or_default().trim_start_matches('/').to_string(),
            session: get(SESSION),
            fault,
            what: get(WHAT),
            plan,
            deadline: get(DEADLINE).parse().ok(),
        });
    }
    Ok(out)
}
