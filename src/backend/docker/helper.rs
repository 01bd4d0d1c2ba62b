//! gameday's helper containers: each runs a shell script in a target's network namespace with
//! NET_ADMIN (iproute2's `tc`), either for the whole fault (it removes its qdisc by itself when
//! the time is up) or once (a probe, a qdisc cleaner) and removes itself.

use std::collections::HashMap;
use std::time::Duration;

use bollard::models::{ContainerCreateBody, HostConfig};
use bollard::query_parameters::{
    AttachContainerOptionsBuilder, CreateContainerOptionsBuilder, LogsOptionsBuilder, RemoveContainerOptionsBuilder,
};
use bollard::Docker;
use futures::StreamExt;

use super::errors::failed;
use super::netem;
use super::topology::HELPER;
use crate::backend::BackendError;

/// Labels on helper containers: the markers that let any process find and undo them.
pub const SESSION: &str = "gameday.session";
pub const FAULT: &str = "gameday.fault";
pub const TARGET: &str = "gameday.target";
pub const TARGET_NAME: &str = "gameday.target-name";
pub const QDISC: &str = "gameday.qdisc";
pub const DEADLINE: &str = "gameday.deadline";
/// The `gameday.helper` value of short-lived helpers (the netem probe, a qdisc cleaner).
pub const ONESHOT: &str = "oneshot";

/// How long an injected helper may take to say its qdisc is on.
pub(super) const HELPER_READY: Duration = Duration::from_secs(10);

/// Creates and starts a helper in the target's network namespace, with NET_ADMIN.
pub(super) async fn start_helper(
    d: &Docker,
    name: &str,
    image: &str,
    target_id: &str,
    script: String,
    labels: HashMap<String, String>,
    auto_remove: bool,
) -> Result<(), BackendError> {
    let body = ContainerCreateBody {
        image: Some(image.to_string()),
        cmd: Some(vec!["sh".into(), "-c".into(), script]),
        labels: Some(labels),
        host_config: Some(HostConfig {
            network_mode: Some(format!("container:{target_id}")),
            cap_add: Some(vec!["NET_ADMIN".into()]),
            auto_remove: Some(auto_remove),
            ..Default::default()
        }),
        ..Default::default()
    };
    let opts = CreateContainerOptionsBuilder::default().name(name).build();
    d.create_container(Some(opts), body).await.map_err(|e| failed(&format!("create helper {name}"), e))?;
    d.start_container(name, None::<bollard::query_parameters::StartContainerOptions>)
        .await
        .map_err(|e| failed(&format!("start helper {name}"), e))
}

/// Why a helper did not say its qdisc is on: `exited` when it ended by itself (tc refused, no
/// tc), having undone whatever it installed; otherwise it may still be at work.
pub struct NotReady {
    pub message: String,
    pub exited: bool,
}

/// Follows a helper's output until it says its qdisc is on, or it exits with tc's complaint.
pub(super) async fn wait_applied(d: &Docker, helper: &str, image: &str) -> Result<(), NotReady> {
    let opts = LogsOptionsBuilder::default().stdout(true).stderr(true).follow(true).build();
    let mut logs = d.logs(helper, Some(opts));
    let mut seen = String::new();
    let follow = async {
        while let Some(chunk) = logs.next().await {
            match chunk {
                Ok(out) => {
                    seen.push_str(&String::from_utf8_lossy(&out.into_bytes()));
                    if seen.contains(netem::APPLIED) {
                        return true;
                    }
                }
                Err(_) => break,
            }
        }
        false
    };
    match tokio::time::timeout(HELPER_READY, follow).await {
        Ok(true) => Ok(()),
        Ok(false) => Err(NotReady { message: netem::explain(&seen, image), exited: true }),
        Err(_) => Err(NotReady {
            message: format!("the helper {helper} did not apply its qdisc within {HELPER_READY:?}"),
            exited: false,
        }),
    }
}

/// Runs a one-shot helper to completion and returns its output. It removes itself when it
/// exits (even if this process dies meanwhile); its output is read by attaching before start.
pub(super) async fn run_once(
    d: &Docker,
    name: &str,
    image: &str,
    host: HostConfig,
    script: String,
) -> Result<String, BackendError> {
    let body = ContainerCreateBody {
        image: Some(image.to_string()),
        cmd: Some(vec!["sh".into(), "-c".into(), script]),
        labels: Some(HashMap::from([(HELPER.to_string(), ONESHOT.to_string())])),
        host_config: Some(HostConfig { auto_remove: Some(true), ..host }),
        ..Default::default()
    };
    let _ = d.remove_container(name, Some(RemoveContainerOptionsBuilder::default().force(true).build())).await;
    let opts = CreateContainerOptionsBuilder::default().name(name).build();
    d.create_container(Some(opts), body).await.map_err(|e| failed(&format!("create helper {name}"), e))?;
    let attach = AttachContainerOptionsBuilder::default().stdout(true).stderr(true).stream(true).build();
    let mut attached = match d.attach_container(name, Some(attach)).await {
        Ok(a) => a,
        Err(e) => {
            let _ = d.remove_container(name, Some(RemoveContainerOptionsBuilder::default().force(true).build())).await;
            return Err(failed(&format!("attach to helper {name}"), e));
        }
    };
    if let Err(e) = d.start_container(name, None::<bollard::query_parameters::StartContainerOptions>).await {
        let _ = d.remove_container(name, Some(RemoveContainerOptionsBuilder::default().force(true).build())).await;
        return Err(failed(&format!("start helper {name}"), e));
    }
    let mut out = String::new();
    let read = async {
        while let Some(Ok(chunk)) = attached.output.next().await {
            out.push_str(&String::from_utf8_lossy(&chunk.into_bytes()));
        }
    };
    if tokio::time::timeout(HELPER_READY, read).await.is_err() {
        let _ = d.remove_container(name, Some(RemoveContainerOptionsBuilder::default().force(true).build())).await;
        return Err(BackendError::Failed(format!("the helper {name} did not finish within {HELPER_READY:?}")));
    }
    Ok(out)
}

/// A one-shot helper's host config: in this network namespace, allowed to change it.
pub(super) fn net_admin(network_mode: &str) -> HostConfig {
    HostConfig {
        network_mode: Some(network_mode.to_string()),
        cap_add: Some(vec!["NET_ADMIN".into()]),
        ..Default::default()
    }
}

/// What the crash helper prints once the signal went out.
pub const CRASHED: &str = "gameday-crash: sent";

/// The crash helper's script: in the host's PID namespace, check that `pid` is the main process
/// of container `id` (its cgroup names the container), then send it `signal` from outside
/// Docker, the way the kernel's OOM killer or a crash would.
pub fn crash_script(pid: i64, id: &str, signal: &str) -> String {
    let sig = signal.trim().trim_start_matches("SIG");
    format!(
        r#"grep -q "{id}" /proc/{pid}/cgroup 2>/dev/null || {{ echo "gameday-crash: process {pid} is not the main process of container {short}"; exit 3; }}
kill -s {sig} {pid} && echo "{CRASHED}"
"#,
        short = id.chars().take(12).collect::<String>()
    )
}

/// Removes one-shot helpers an earlier process left (it died before they finished). Only those
/// older than a helper may live: a younger one may be another console's on this engine, at work
/// right now (removing it would fail that console's check or crash).
pub async fn sweep_oneshots(d: &Docker) {
    let filters = HashMap::from([("label", vec![format!("{HELPER}={ONESHOT}")])]);
    let opts = bollard::query_parameters::ListContainersOptionsBuilder::default().all(true).filters(&filters).build();
    let now = chrono::Utc::now().timestamp();
    let orphaned = |created: Option<i64>| created.is_none_or(|t| now - t > 2 * HELPER_READY.as_secs() as i64);
    for c in d.list_containers(Some(opts)).await.unwrap_or_default() {
        if !orphaned(c.created) {
            continue;
        }
        if let Some(id) = c.id {
            let _ = d.remove_container(&id, Some(RemoveContainerOptionsBuilder::default().force(true).build())).await;
        }
    }
}

/// What the helper image can do here, found once by a one-shot helper with no network.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HelperCheck {
    /// The image is on this engine, runs `sh`, and its iproute2 `tc` works: every network
    /// fault depends on it.
    pub tc: Result<(), String>,
    /// This kernel has the netem qdisc (latency, loss, duplicate, corrupt need it; tbf does not).
    pub netem: Result<(), String>,
}

/// Runs the helper image once: is it here, does it run a shell, does its `tc` work, and does
/// this kernel have netem. Each answer carries the reason a person can act on.
pub async fn check(d: &Docker, image: &str) -> HelperCheck {
    let no = |why: String| HelperCheck { tc: Err(why.clone()), netem: Err(why) };
    if let Err(e) = d.inspect_image(image).await {
        return no(match super::errors::status(&e) {
            Some(404) => format!(
                "the network helper image {image} is not on this Docker host: pull or build one with a shell and \
                 iproute2's tc (see README), or pass --netem-image"
            ),
            _ => format!("cannot inspect the network helper image {image}: {e}"),
        });
    }
    // Unique per check: two checks at once (two backends in one process) must not collide.
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let name = format!("gameday-probe-{}-{n}", std::process::id());
    let out = match run_once(d, &name, image, net_admin("none"), netem::PROBE.to_string()).await {
        Ok(out) => out,
        Err(e) => return no(format!("the network helper image {image} cannot run `sh -c` here: {e}")),
    };
    if !out.contains(netem::TC_OK) {
        return no(netem::explain(&out, image));
    }
    let netem = if out.contains("netem: ok") { Ok(()) } else { Err(netem::explain(&out, image)) };
    HelperCheck { tc: Ok(()), netem }
}

/// Whether this host's kernel has netem (and the image a working tc), asked of a one-shot helper.
pub async fn probe_netem(d: &Docker, image: &str) -> Result<(), String> {
    let c = check(d, image).await;
    c.tc.and(c.netem)
}
