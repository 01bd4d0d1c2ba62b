//! Undoing a Docker fault: every revert is idempotent and harmless on a fault never (or only
//! partly) applied, and the fault's marker goes only once the undo is confirmed.

use std::time::Duration;

use bollard::models::{ContainerUpdateBody, EndpointIpamConfig, EndpointSettings, NetworkConnectRequest};
use bollard::query_parameters::{KillContainerOptionsBuilder, RemoveContainerOptionsBuilder};
use bollard::Docker;
use futures::StreamExt;

use super::errors::{failed, status};
use super::faults::Ctx;
use super::handle::{Container, Endpoint, HandleData};
use super::helper::{net_admin, run_once};
use super::markers;
use super::netem;
use super::topology::Ctr;
use crate::backend::BackendError;
use crate::model::PodPhase;

/// The endpoint settings of a reconnect: the same aliases, static addresses, links and options.
fn reconnect(ep: &Endpoint) -> EndpointSettings {
    let nonempty = |v: &Vec<String>| (!v.is_empty()).then(|| v.clone());
    let static_ip = ep.ipv4.is_some() || ep.ipv6.is_some() || !ep.link_local.is_empty();
    EndpointSettings {
        aliases: nonempty(&ep.aliases),
        links: nonempty(&ep.links),
        ipam_config: static_ip.then(|| EndpointIpamConfig {
            ipv4_address: ep.ipv4.clone(),
            ipv6_address: ep.ipv6.clone(),
            link_local_ips: nonempty(&ep.link_local),
        }),
        driver_opts: (!ep.driver_opts.is_empty()).then(|| ep.driver_opts.clone().into_iter().collect()),
        ..Default::default()
    }
}

async fn is_running(d: &Docker, id: &str) -> Result<Option<PodPhase>, BackendError> {
    match d.inspect_container(id, None::<bollard::query_parameters::InspectContainerOptions>).await {
        Ok(i) => Ok(Ctr::from_inspect(&i).map(|c| c.phase)),
        Err(e) if status(&e) == Some(404) => Ok(None),
        Err(e) => Err(failed(&format!("inspect {id}"), e)),
    }
}

/// Starts the targets that are not running (they were when the fault began).
async fn start_stopped(d: &Docker, targets: &[Container]) -> Result<(), BackendError> {
    for t in targets {
        // Running, restarting, paused by someone else, or removed: nothing of ours to undo.
        if let Some(PodPhase::Exited(_) | PodPhase::Pending) = is_running(d, &t.id).await? {
            match d.start_container(&t.id, None::<bollard::query_parameters::StartContainerOptions>).await {
                Ok(()) => {}
                Err(e) if status(&e) == Some(304) => {}
                Err(e) => return Err(failed(&format!("start {}", t.name), e)),
            }
        }
    }
    Ok(())
}

/// Undoes a fault, then removes its marker (`session`: whose it is; handles journaled before
/// markers existed have none).
pub async fn revert(ctx: &Ctx, plan: &HandleData, session: Option<&str>, fault: u64) -> Result<(), BackendError> {
    undo(ctx, plan).await?;
    match session {
        Some(s) => markers::remove(&ctx.docker, s, fault).await,
        None => Ok(()),
    }
}

async fn undo(ctx: &Ctx, plan: &HandleData) -> Result<(), BackendError> {
    let d = &ctx.docker;
    match plan {
        HandleData::ContainerKill { targets, .. }
        | HandleData::ContainerStop { targets, .. }
        | HandleData::ContainerRestart { targets, .. } => start_stopped(d, targets).await,
        HandleData::ContainerPause { targets } => {
            for t in targets {
                match d.unpause_container(&t.id).await {
                    Ok(()) => {}
                    // Not paused (never applied, or already undone), or gone: nothing to undo.
                    // Older engines say "is not paused" with a 500.
                    Err(e) if matches!(status(&e), Some(404 | 409)) || e.to_string().contains("is not paused") => {}
                    Err(e) => return Err(failed(&format!("unpause {}", t.name), e)),
                }
            }
            Ok(())
        }
        HandleData::NetworkDisconnect { targets, endpoints } => {
            for (t, eps) in targets.iter().zip(endpoints) {
                let current = match d
                    .inspect_container(&t.id, None::<bollard::query_parameters::InspectContainerOptions>)
                    .await
                {
                    Ok(i) => i.network_settings.and_then(|n| n.networks).unwrap_or_default(),
                    Err(e) if status(&e) == Some(404) => continue,
                    Err(e) => return Err(failed(&format!("inspect {}", t.name), e)),
                };
                for ep in eps.iter().filter(|ep| !current.contains_key(&ep.network)) {
                    let req = NetworkConnectRequest { container: t.id.clone(), endpoint_config: Some(reconnect(ep)) };
                    d.connect_network(&ep.network, req)
                        .await
                        .map_err(|e| failed(&format!("reconnect {} to {}", t.name, ep.network), e))?;
                }
            }
            Ok(())
        }
        HandleData::CpuThrottle { targets, saved, .. } | HandleData::MemoryThrottle { targets, saved, .. } => {
            for (t, l) in targets.iter().zip(saved) {
                let body = match plan {
                    HandleData::CpuThrottle { .. } if l.nano_cpus > 0 => {
                        ContainerUpdateBody { nano_cpus: Some(l.nano_cpus), ..Default::default() }
                    }
                    // The throttle changed only the quota. A quota of 0 means "unchanged" to
                    // the Engine API, which cannot write 0 back: -1 is its "no limit".
                    HandleData::CpuThrottle { .. } => ContainerUpdateBody {
                        cpu_quota: Some(if l.cpu_quota == 0 { -1 } else { l.cpu_quota }),
                        ..Default::default()
                    },
                    _ => ContainerUpdateBody {
                        memory: Some(l.memory),
                        memory_swap: Some(l.memory_swap),
                        ..Default::default()
                    },
                };
                match d.update_container(&t.id, body).await {
                    Ok(()) => {}
                    Err(e) if status(&e) == Some(404) => {}
                    Err(e) => return Err(failed(&format!("restore the limits of {}", t.name), e)),
                }
            }
            Ok(())
        }
        HandleData::Netem { targets, helpers, image: saved, .. } => {
            // The image this process was given, when it works here (`cleanup --netem-image`
            // fixes a broken one); the one the fault was injected with otherwise.
            let image = if ctx.helper().await.tc.is_ok() { &ctx.netem_image } else { saved };
            for (t, helper) in targets.iter().zip(helpers) {
                // The helper removes its qdisc when told to stop; then make sure, from a fresh one.
                let opts = KillContainerOptionsBuilder::default().signal("SIGTERM").build();
                let _ = d.kill_container(helper, Some(opts)).await;
                let mut wait = d.wait_container(helper, None::<bollard::query_parameters::WaitContainerOptions>);
                let _ =
                    tokio::time::timeout(Duration::from_secs(5), async { while wait.next().await.is_some() {} }).await;
                let _ = d
                    .remove_container(helper, Some(RemoveContainerOptionsBuilder::default().force(true).build()))
                    .await;
                if is_running(d, &t.id).await? != Some(PodPhase::Running)
                    && is_running(d, &t.id).await? != Some(PodPhase::Paused)
                {
                    continue; // stopped or gone: its network namespace, and the qdisc, are gone too
                }
                let out = run_once(
                    d,
                    &format!("{helper}-clean"),
                    image,
                    net_admin(&format!("container:{}", t.id)),
                    netem::clean_script(),
                )
                .await?;
                if !out.contains("gameday-netem: removed") {
                    return Err(BackendError::Failed(format!(
                        "removing the qdisc of {}: {}",
                        t.name,
                        netem::explain(&out, image)
                    )));
                }
            }
            Ok(())
        }
    }
}
