//! Docker faults: prepare (choose running containers, save what the revert needs) and inject
//! (the marker first, then the changes); revert.rs undoes them. What `prepare` saves is the
//! revert handle's data, so it is in the journal before anything changes.

use std::collections::HashMap;

use bollard::models::{ContainerUpdateBody, EndpointSettings, NetworkDisconnectRequest};
use bollard::query_parameters::{
    KillContainerOptionsBuilder, RemoveContainerOptionsBuilder, RestartContainerOptionsBuilder,
    StopContainerOptionsBuilder,
};
use bollard::Docker;
use rand::seq::SliceRandom;

use super::errors::failed;
pub use super::handle::{Container, Endpoint, HandleData, Limits};
use super::helper::{
    crash_script, run_once, start_helper, wait_applied, CRASHED, DEADLINE, FAULT, QDISC, SESSION, TARGET, TARGET_NAME,
};
pub use super::helper::{probe_netem, sweep_oneshots, HelperCheck};
use super::markers;
use super::netem;
use super::topology::{Ctr, HELPER};
use crate::backend::BackendError;
use crate::model::PodPhase;
use crate::model::{FaultSpec, Mode};

/// The faults this backend runs.
pub const ACTIONS: &[&str] = &[
    "container-kill",
    "container-stop",
    "container-restart",
    "container-pause",
    "network-disconnect",
    "cpu-throttle",
    "memory-throttle",
    "network-latency",
    "network-loss",
    "network-duplicate",
    "network-corrupt",
    "network-rate",
];

/// The CFS period the kernel uses when a container sets none (100 ms, in µs).
const DEFAULT_CPU_PERIOD: i64 = 100_000;

/// What the fault code needs of the backend.
pub struct Ctx {
    pub docker: Docker,
    /// The console's own container, never a target.
    pub own: Option<String>,
    /// The helper image this process was given (`--netem-image`).
    pub netem_image: String,
    /// What that image can do here: checked once, on first need.
    pub helper: tokio::sync::OnceCell<HelperCheck>,
}

impl Ctx {
    pub fn new(docker: Docker, own: Option<String>, netem_image: &str) -> Ctx {
        Ctx { docker, own, netem_image: netem_image.to_string(), helper: Default::default() }
    }

    /// The helper image's check, run once.
    pub async fn helper(&self) -> &HelperCheck {
        self.helper.get_or_init(|| super::helper::check(&self.docker, &self.netem_image)).await
    }
}

/// Whether a network action can run with this process's helper image, and if not, why.
async fn helper_usable(ctx: &Ctx, action: &str) -> Result<(), String> {
    let c = ctx.helper().await;
    c.tc.clone()?;
    if netem::needs_netem(action) {
        c.netem.clone()?;
    }
    Ok(())
}

/// The running containers among the candidates, inspected, never the console's own.
async fn running_candidates(
    ctx: &Ctx,
    spec: &FaultSpec,
) -> Result<Vec<(Container, bollard::models::ContainerInspectResponse)>, BackendError> {
    let inspected =
        futures::future::join_all(spec.pods.iter().map(|p| {
            ctx.docker.inspect_container(&p.name, None::<bollard::query_parameters::InspectContainerOptions>)
        }))
        .await;
    let mut own_only = false;
    let mut out = Vec::new();
    for i in inspected.into_iter().flatten() {
        let Some(c) = Ctr::from_inspect(&i) else { continue };
        if ctx.own.as_deref().is_some_and(|own| c.id.starts_with(own) || own.starts_with(&c.id)) {
            own_only = true;
            continue;
        }
        if c.is_helper() || c.phase != PodPhase::Running {
            continue;
        }
        if spec.action.starts_with("network-") {
            network_refusal(&spec.action, &c).map_err(BackendError::Unsupported)?;
        }
        out.push((Container { id: c.id.clone(), name: c.name.clone() }, i));
    }
    if out.is_empty() {
        return Err(if own_only {
            BackendError::Unsupported("refusing to act on the console's own container".into())
        } else {
            BackendError::TargetGone(format!("none of the containers {} selects is running", spec.target))
        });
    }
    out.shuffle(&mut rand::thread_rng());
    out.truncate(spec.mode.unwrap_or(Mode::All).count(out.len()));
    out.sort_by(|a, b| a.0.name.cmp(&b.0.name));
    Ok(out)
}

/// Why a network fault may not run on this container, if it may not: on the host's network it
/// would change every interface of the machine; a container that joined another's network
/// namespace has no network of its own to disconnect.
fn network_refusal(action: &str, c: &Ctr) -> Result<(), String> {
    if c.host_network() {
        return Err(format!(
            "{} uses the host's network (--network host): a network fault on it would change every interface \
             of this host, not one container; refused",
            c.name
        ));
    }
    match c.joined() {
        Some(owner) if action == "network-disconnect" => Err(format!(
            "{} shares the network namespace of container {} (--network container:...) and has no network of \
             its own: disconnect that container instead (which cuts off both)",
            c.name,
            owner.chars().take(12).collect::<String>()
        )),
        _ => Ok(()),
    }
}

fn limits(i: &bollard::models::ContainerInspectResponse) -> Limits {
    let h = i.host_config.clone().unwrap_or_default();
    Limits {
        nano_cpus: h.nano_cpus.unwrap_or(0),
        cpu_quota: h.cpu_quota.unwrap_or(0),
        cpu_period: h.cpu_period.unwrap_or(0),
        memory: h.memory.unwrap_or(0),
        memory_swap: h.memory_swap.unwrap_or(0),
    }
}

/// What a reconnect needs to put a container back on `network` exactly as it was.
fn endpoint(network: String, s: EndpointSettings) -> Endpoint {
    let ipam = s.ipam_config.unwrap_or_default();
    let some = |v: Option<String>| v.filter(|a| !a.is_empty());
    Endpoint {
        network,
        aliases: s.aliases.unwrap_or_default(),
        ipv4: some(ipam.ipv4_address),
        ipv6: some(ipam.ipv6_address),
        link_local: ipam.link_local_ips.unwrap_or_default(),
        links: s.links.unwrap_or_default(),
        driver_opts: s.driver_opts.unwrap_or_default().into_iter().collect(),
    }
}

/// A helper's container name: findable, unique per fault and target.
fn helper_name(spec: &FaultSpec, target: &Container) -> String {
    let clean =
        |s: &str| s.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '-' }).collect::<String>();
    format!("gameday-{}-f{}-{}", clean(&spec.session), spec.fault_id, clean(&target.name))
}

pub async fn prepare(ctx: &Ctx, spec: &FaultSpec) -> Result<HandleData, BackendError> {
    let int = |n: &str, d: i64| spec.int(n).unwrap_or(d);
    let chosen = running_candidates(ctx, spec).await?;
    let targets: Vec<Container> = chosen.iter().map(|(t, _)| t.clone()).collect();
    Ok(match spec.action.as_str() {
        "container-kill" => {
            let crash = match spec.text("how").as_deref() {
                None | Some("") | Some("api") => false,
                Some("crash") => true,
                Some(other) => {
                    return Err(BackendError::Unsupported(format!(
                        "container-kill how={other}: api (through the Engine API) or crash (from outside Docker)"
                    )))
                }
            };
            let signal = spec.text("signal").unwrap_or_else(|| "SIGKILL".into());
            HandleData::ContainerKill { targets, signal, crash }
        }
        "container-stop" => HandleData::ContainerStop { targets, grace_s: int("grace_seconds", 10) },
        "container-restart" => HandleData::ContainerRestart { targets, grace_s: int("grace_seconds", 10) },
        "container-pause" => HandleData::ContainerPause { targets },
        "network-disconnect" => {
            let only = spec.text("network").filter(|n| !n.is_empty());
            let endpoints: Vec<Vec<Endpoint>> = chosen
                .iter()
                .map(|(_, i)| {
                    let nets: HashMap<String, EndpointSettings> =
                        i.network_settings.as_ref().and_then(|n| n.networks.clone()).unwrap_or_default();
                    let mut eps: Vec<Endpoint> = nets
                        .into_iter()
                        .filter(|(name, _)| only.as_ref().is_none_or(|o| o == name))
                        .map(|(network, s)| endpoint(network, s))
                        .collect();
                    eps.sort_by(|a, b| a.network.cmp(&b.network));
                    eps
                })
                .collect();
            if endpoints.iter().all(Vec::is_empty) {
                let on = only.map(|o| format!(" {o}")).unwrap_or_default();
                return Err(BackendError::Failed(format!("{} is on no network{on}", spec.target)));
            }
            HandleData::NetworkDisconnect { targets, endpoints }
        }
        "cpu-throttle" => {
            let cpus = spec.params.get("cpus").and_then(|v| v.as_f64()).unwrap_or(0.2);
            HandleData::CpuThrottle { targets, saved: chosen.iter().map(|(_, i)| limits(i)).collect(), cpus }
        }
        "memory-throttle" => {
            let memory_mb = int("memory_mb", 64);
            let saved: Vec<Limits> = chosen.iter().map(|(_, i)| limits(i)).collect();
            for ((t, _), l) in chosen.iter().zip(&saved) {
                if l.memory == 0 {
                    return Err(BackendError::Unsupported(format!(
                        "{} has no memory limit, and Docker cannot remove a limit once it is set: the throttle \
                         could not be undone. Give it a limit first (mem_limit in compose, docker update \
                         --memory), then throttle below it",
                        t.name
                    )));
                }
                if memory_mb * 1024 * 1024 >= l.memory {
                    return Err(BackendError::Failed(format!(
                        "{} is already limited to {} MiB; throttle below that",
                        t.name,
                        l.memory / 1024 / 1024
                    )));
                }
            }
            HandleData::MemoryThrottle { targets, saved, memory_mb }
        }
        action if netem::ACTIONS.iter().any(|(a, _)| *a == action) => {
            let qdisc = netem::qdisc(spec).map_err(BackendError::Unsupported)?;
            helper_usable(ctx, action).await.map_err(BackendError::Unsupported)?;
            let helpers = targets.iter().map(|t| helper_name(spec, t)).collect();
            HandleData::Netem {
                targets,
                helpers,
                qdisc,
                image: ctx.netem_image.clone(),
                seconds: spec.duration_ms.div_ceil(1000).max(1),
            }
        }
        other => return Err(BackendError::Unsupported(format!("Docker cannot run '{other}'"))),
    })
}

/// Applies a prepared fault: its marker first, then the changes. Stops at the first error;
/// an error before anything changed is `NotApplied` (its marker is removed, there is nothing
/// to revert), any later one leaves the plan for the console to revert.
pub async fn inject(ctx: &Ctx, spec: &FaultSpec, plan: &HandleData) -> Result<(), BackendError> {
    let d = &ctx.docker;
    if let HandleData::Netem { .. } = plan {
        helper_usable(ctx, &spec.action).await.map_err(BackendError::NotApplied)?;
    }
    markers::create(d, spec, plan).await.map_err(|e| BackendError::NotApplied(e.to_string()))?;
    let mut changed = 0;
    match apply(ctx, spec, plan, &mut changed).await {
        Ok(()) => Ok(()),
        Err(e) if changed == 0 => {
            markers::remove(d, &spec.session, spec.fault_id).await?;
            Err(BackendError::NotApplied(e.to_string()))
        }
        Err(e) => Err(e),
    }
}

/// The changes of a plan, one by one; `changed` counts those made (and a helper that may still
/// make its own).
async fn apply(ctx: &Ctx, spec: &FaultSpec, plan: &HandleData, changed: &mut usize) -> Result<(), BackendError> {
    let d = &ctx.docker;
    match plan {
        HandleData::ContainerKill { targets, signal, crash: false } => {
            for t in targets {
                let opts = KillContainerOptionsBuilder::default().signal(signal).build();
                d.kill_container(&t.id, Some(opts)).await.map_err(|e| failed(&format!("kill {}", t.name), e))?;
                *changed += 1;
                tracing::info!(target: "gameday::docker", fault = spec.fault_id, container = %t.name, "{}: changed", spec.action);
            }
        }
        HandleData::ContainerKill { targets, signal, crash: true } => {
            for t in targets {
                crash(ctx, spec, t, signal).await?;
                *changed += 1;
                tracing::info!(target: "gameday::docker", fault = spec.fault_id, container = %t.name, "{}: changed", spec.action);
            }
        }
        HandleData::ContainerStop { targets, grace_s } => {
            for t in targets {
                let opts = StopContainerOptionsBuilder::default().t(*grace_s as i32).build();
                d.stop_container(&t.id, Some(opts)).await.map_err(|e| failed(&format!("stop {}", t.name), e))?;
                *changed += 1;
                tracing::info!(target: "gameday::docker", fault = spec.fault_id, container = %t.name, "{}: changed", spec.action);
            }
        }
        HandleData::ContainerRestart { targets, grace_s } => {
            for t in targets {
                let opts = RestartContainerOptionsBuilder::default().t(*grace_s as i32).build();
                d.restart_container(&t.id, Some(opts)).await.map_err(|e| failed(&format!("restart {}", t.name), e))?;
                *changed += 1;
                tracing::info!(target: "gameday::docker", fault = spec.fault_id, container = %t.name, "{}: changed", spec.action);
            }
        }
        HandleData::ContainerPause { targets } => {
            for t in targets {
                d.pause_container(&t.id).await.map_err(|e| failed(&format!("pause {}", t.name), e))?;
                *changed += 1;
                tracing::info!(target: "gameday::docker", fault = spec.fault_id, container = %t.name, "{}: changed", spec.action);
            }
        }
        HandleData::NetworkDisconnect { targets, endpoints } => {
            for (t, eps) in targets.iter().zip(endpoints) {
                for ep in eps {
                    let req = NetworkDisconnectRequest { container: t.id.clone(), force: Some(false) };
                    d.disconnect_network(&ep.network, req)
                        .await
                        .map_err(|e| failed(&format!("disconnect {} from {}", t.name, ep.network), e))?;
                    *changed += 1;
                    tracing::info!(target: "gameday::docker", fault = spec.fault_id, container = %t.name, "{}: changed", spec.action);
                }
            }
        }
        HandleData::CpuThrottle { targets, saved, cpus } => {
            for (t, l) in targets.iter().zip(saved) {
                let body = if l.nano_cpus > 0 {
                    ContainerUpdateBody { nano_cpus: Some((cpus * 1e9) as i64), ..Default::default() }
                } else {
                    // Only the quota: the period stays as it was (0 is the kernel's 100 ms), so
                    // the revert has it back exactly.
                    let period = if l.cpu_period > 0 { l.cpu_period } else { DEFAULT_CPU_PERIOD };
                    ContainerUpdateBody {
                        cpu_quota: Some(((cpus * period as f64) as i64).max(1000)),
                        ..Default::default()
                    }
                };
                d.update_container(&t.id, body).await.map_err(|e| failed(&format!("throttle {}", t.name), e))?;
                *changed += 1;
                tracing::info!(target: "gameday::docker", fault = spec.fault_id, container = %t.name, "{}: changed", spec.action);
            }
        }
        HandleData::MemoryThrottle { targets, memory_mb, .. } => {
            for t in targets {
                let bytes = memory_mb * 1024 * 1024;
                let body = ContainerUpdateBody { memory: Some(bytes), memory_swap: Some(bytes), ..Default::default() };
                d.update_container(&t.id, body).await.map_err(|e| failed(&format!("limit {}", t.name), e))?;
                *changed += 1;
                tracing::info!(target: "gameday::docker", fault = spec.fault_id, container = %t.name, "{}: changed", spec.action);
            }
        }
        HandleData::Netem { targets, helpers, qdisc, image, seconds } => {
            for (t, helper) in targets.iter().zip(helpers) {
                let deadline = chrono::Utc::now().timestamp() + *seconds as i64;
                let labels = HashMap::from([
                    (HELPER.to_string(), "netem".to_string()),
                    (SESSION.to_string(), spec.session.clone()),
                    (FAULT.to_string(), spec.fault_id.to_string()),
                    (TARGET.to_string(), t.id.clone()),
                    (TARGET_NAME.to_string(), t.name.clone()),
                    (QDISC.to_string(), qdisc.clone()),
                    (DEADLINE.to_string(), deadline.to_string()),
                ]);
                let script = netem::script(qdisc, *seconds);
                // Not removed when it exits: how it exited tells whether its qdisc is gone.
                start_helper(d, helper, image, &t.id, script, labels, false).await?;
                *changed += 1;
                tracing::info!(target: "gameday::docker", fault = spec.fault_id, container = %t.name, "{}: changed", spec.action);
                if let Err(e) = wait_applied(d, helper, image).await {
                    if e.exited {
                        // It undid what it had installed, or installed nothing, and said why.
                        *changed -= 1;
                        let opts = RemoveContainerOptionsBuilder::default().force(true).build();
                        let _ = d.remove_container(helper, Some(opts)).await;
                    }
                    return Err(BackendError::Failed(e.message));
                }
            }
        }
    }
    Ok(())
}

/// Kills a container's main process from outside Docker (a helper in the host's PID namespace):
/// Docker sees a crash, not a manual stop, so the container's restart policy acts on it.
async fn crash(ctx: &Ctx, spec: &FaultSpec, t: &Container, signal: &str) -> Result<(), BackendError> {
    let d = &ctx.docker;
    let i = d
        .inspect_container(&t.id, None::<bollard::query_parameters::InspectContainerOptions>)
        .await
        .map_err(|e| failed(&format!("inspect {}", t.name), e))?;
    let pid = i
        .state
        .and_then(|s| s.pid)
        .filter(|p| *p > 0)
        .ok_or_else(|| BackendError::TargetGone(format!("{} has no running process to crash", t.name)))?;
    let host = bollard::models::HostConfig {
        pid_mode: Some("host".into()),
        network_mode: Some("none".into()),
        ..Default::default()
    };
    let name =
        format!("gameday-{}-f{}-crash-{}", markers::clean(&spec.session), spec.fault_id, markers::clean(&t.name));
    let out = run_once(d, &name, &ctx.netem_image, host, crash_script(pid, &t.id, signal)).await?;
    if out.contains(CRASHED) {
        Ok(())
    } else {
        Err(BackendError::Failed(format!(
            "crash {} with the helper image {}: {}",
            t.name,
            ctx.netem_image,
            out.trim().lines().last().unwrap_or("the helper exited without a word")
        )))
    }
}
