//! The backend the flags name: the demo's simulated cluster, a Docker engine, or the
//! Kubernetes cluster of the kubeconfig.

use std::sync::Arc;
use std::time::Duration;

use super::args::BackendArgs;
use crate::backend::docker::DockerBackend;
use crate::backend::kube::{KubeBackend, KubeOptions};
use crate::backend::signals::{Auth, PrometheusConfig};
use crate::backend::sim::SimBackend;
use crate::backend::Backend;

/// The Prometheus to read golden signals from: `--prometheus`, else `prometheus` in
/// config.toml; its credentials from the environment.
pub fn prometheus(args: &BackendArgs, settings: &crate::config::Settings) -> anyhow::Result<Option<PrometheusConfig>> {
    let Some(url) = args.prometheus.clone().or_else(|| settings.prometheus.clone()) else { return Ok(None) };
    crate::model::probe::check_url(&url).map_err(|e| anyhow::anyhow!("--prometheus '{url}' {e}"))?;
    Ok(Some(PrometheusConfig { url, auth: Auth::from_env() }))
}

/// The backend of the flags; `responder`: a drill's responder, whose demo cluster replays the
/// facilitator's faults without saying what they do. `prometheus`: where golden signals come
/// from, when named.
pub async fn connect(
    args: &BackendArgs,
    responder: bool,
    prometheus: Option<PrometheusConfig>,
) -> anyhow::Result<Arc<dyn Backend>> {
    if args.docker {
        return Ok(Arc::new(DockerBackend::connect(&args.netem_image).await?.with_prometheus(prometheus)));
    }
    if !args.demo {
        let opts = KubeOptions {
            kubeconfig: args.kubeconfig.clone(),
            context: args.context.clone(),
            namespace: args.namespace.clone(),
            allow: args.allow_namespace.clone(),
            lock_namespace: args.lock_namespace.clone(),
            prometheus,
        };
        return Ok(Arc::new(KubeBackend::connect(&opts).await?));
    }
    let sim = SimBackend::new(args.seed, Duration::from_millis(args.demo_tick_ms.max(10)))
        .with_api_latency(args.demo_api_latency.unwrap_or_default())
        .with_call_log(args.demo_call_log.clone());
    sim.fail_next_reverts(args.demo_fail_reverts);
    if responder {
        sim.hide_fault_events();
    }
    Ok(Arc::new(sim))
}
