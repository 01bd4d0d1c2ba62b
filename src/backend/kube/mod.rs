//! The Kubernetes backend: the cluster of a kubeconfig context (like kubectl), live by watch,
//! faults through the plain API and through Chaos Mesh or Litmus when they are installed, and
//! markers on everything it touches so any process can find and undo a fault.

pub mod cluster;
pub mod drill;
pub mod engines;
pub mod errors;
pub mod events;
pub mod faults;
pub mod kit;
pub mod lease;
pub mod log;
pub mod markers;
pub mod signals;
pub mod watch;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use tokio::sync::mpsc::UnboundedSender;

use self::cluster::Policy;
use self::engines::Engines;
use self::kit::{Ctx, HandleData};
use self::watch::Scope;
use super::{
    Backend, BackendError, BackendInfo, FaultSpec, Leftover, Prepared, RevertHandle, Search, Support, TopologyDelta,
};

/// How to reach the cluster and what may be touched.
#[derive(Clone, Debug, Default)]
pub struct KubeOptions {
    pub kubeconfig: Option<PathBuf>,
    pub context: Option<String>,
    /// Watch (and act in) this namespace only.
    pub namespace: Option<String>,
    /// Namespaces open to faults without the `gameday.dev/allow=true` label.
    pub allow: Vec<String>,
    /// Where the cluster lock (a Lease) lives; `gameday` if empty.
    pub lock_namespace: String,
    /// The Prometheus to read golden signals from; `None`: the cluster's own, found by itself.
    pub prometheus: Option<crate::backend::signals::PrometheusConfig>,
}

pub struct KubeBackend {
    ctx: Arc<Ctx>,
    scope: Scope,
    cluster: String,
    lock: Arc<lease::LeaseLock>,
    drill: Arc<drill::ConfigMapChannel>,
    events: Arc<events::Events>,
    /// Where golden signals come from, when the user named it.
    prometheus: Option<crate::backend::signals::PrometheusConfig>,
}

/// This process's pod, when it runs in the cluster.
fn own_pod() -> Option<(String, String)> {
    std::env::var_os("KUBERNETES_SERVICE_HOST")?;
    let ns = std::fs::read_to_string("/var/run/secrets/kubernetes.io/serviceaccount/namespace").ok()?;
    let name = std::env::var("POD_NAME").or_else(|_| std::env::var("HOSTNAME")).ok()?;
    Some((ns.trim().to_string(), name))
}

impl KubeBackend {
    /// Reads the kubeconfig the way kubectl does (`--kubeconfig`, else `KUBECONFIG`, else
    /// ~/.kube/config; in a pod, the service account). Does not contact the API server: the
    /// watch reports whether it answers.
    pub async fn connect(opts: &KubeOptions) -> anyhow::Result<KubeBackend> {
        let kco = KubeConfigOptions { context: opts.context.clone(), ..Default::default() };
        let read = match &opts.kubeconfig {
            Some(path) => Some(
                Kubeconfig::read_from(path)
                    .map_err(|e| anyhow::anyhow!("kubeconfig {}: {}", path.display(), chain(&e)))?,
            ),
            None => match Kubeconfig::read() {
                Ok(kc) => Some(kc),
                Err(_) if std::env::var_os("KUBERNETES_SERVICE_HOST").is_some() => None,
                Err(e) => {
                    let from = std::env::var("KUBECONFIG").unwrap_or_else(|_| "~/.kube/config".into());
                    anyhow::bail!(
                        "no usable kubeconfig ({from}): {}\nPass --kubeconfig, set KUBECONFIG, or use --demo / --docker.",
                        chain(&e)
                    )
                }
            },
        };
        let mut exec = None;
        let (mut config, name) = match read {
            Some(mut kc) => {
                let context = opts.context.clone().or_else(|| kc.current_context.clone()).unwrap_or_default();
                exec = credential_plugin(&mut kc, &context);
                if !kc.contexts.iter().any(|c| c.name == context) {
                    let known: Vec<String> = kc.contexts.iter().map(|c| c.name.clone()).collect();
                    anyhow::bail!("the kubeconfig has no context '{context}' (it has: {})", known.join(", "));
                }
                let config =
                    Config::from_custom_kubeconfig(kc, &kco).await.map_err(|e| anyhow::anyhow!("{}", chain(&e)))?;
                (config, context)
            }
            None => (Config::incluster().map_err(|e| anyhow::anyhow!("{}", chain(&e)))?, "in-cluster".to_string()),
        };
        // Retries are the console's business: visible, and never hidden inside one call.
        config.default_retry = false;
        let server = config.cluster_url.to_string();
        let explain = errors::Explain { server: server.trim_end_matches('/').to_string(), exec };
        // A credential plugin runs here already: its failure is said as such.
        let client = log::client(config).map_err(|e| anyhow::anyhow!("{}", explain.explain(&e)))?;
        let lock_ns = match opts.lock_namespace.as_str() {
            "" => lease::DEFAULT_NAMESPACE,
            ns => ns,
        };
        let lock = Arc::new(lease::LeaseLock::new(client.clone(), lock_ns, explain.clone()));
        let drill = Arc::new(drill::ConfigMapChannel::new(client.clone(), lock_ns, explain.clone()));
        let events = Arc::new(events::Events::new(client.clone()));
        let policy = Policy { allow: opts.allow.iter().cloned().collect::<BTreeSet<_>>(), own_pod: own_pod() };
        let ctx = Ctx {
            client,
            policy,
            engines: Arc::new(RwLock::new(Engines::default())),
            news: Default::default(),
            explain,
            background: Default::default(),
        };
        let cluster = match &opts.namespace {
            Some(ns) => format!("{name} ({}) namespace {ns}", server.trim_end_matches('/')),
            None => format!("{name} ({})", server.trim_end_matches('/')),
        };
        Ok(KubeBackend {
            prometheus: opts.prometheus.clone(),
            ctx: Arc::new(ctx),
            scope: Scope { namespace: opts.namespace.clone() },
            cluster,
            lock,
            drill,
            events,
        })
    }

    pub fn client(&self) -> &Client {
        &self.ctx.client
    }

    /// Finds the chaos engines in the background and says which presets they make available.
    fn discover(&self, tx: UnboundedSender<TopologyDelta>) {
        let ctx = self.ctx.clone();
        tokio::spawn(async move {
            let found = match engines::discover(&ctx.client).await {
                Ok(e) => e,
                Err(_) => Engines { checked: true, ..Default::default() },
            };
            if let Ok(mut e) = ctx.engines.write() {
                *e = found.clone();
            }
            for (action, ..) in engines::ACTIONS {
                if let Some(support) = engines::support(&found, action) {
                    let _ = tx.send(TopologyDelta::Capability { action: action.to_string(), support });
                }
            }
        });
    }
}

/// The credential plugin the context's user runs, if any. The console owns the terminal, so a
/// plugin never gets it: it runs non-interactively (its stderr is kept, for the message if it
/// fails, instead of being written over the screen).
fn credential_plugin(kc: &mut Kubeconfig, context: &str) -> Option<String> {
    let user = kc.contexts.iter().find(|c| c.name == context)?.context.as_ref()?.user.clone()?;
    let mut found = None;
    for named in &mut kc.auth_infos {
        if let Some(exec) = named.auth_info.as_mut().and_then(|a| a.exec.as_mut()) {
            exec.interactive_mode = Some(kube::config::ExecInteractiveMode::Never);
            if named.name == user {
                found = exec.command.clone();
            }
        }
    }
    found
}

/// An error with its causes, on one line.
fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        let t = s.to_string();
        if !out.contains(&t) {
            out.push_str(": ");
            out.push_str(&t);
        }
        src = s.source();
    }
    out
}

#[async_trait]
impl Backend for KubeBackend {
    fn info(&self) -> BackendInfo {
        BackendInfo { kind: "kubernetes".into(), cluster: self.cluster.clone(), pod_word: "pod".into() }
    }

    fn supports(&self, action: &str) -> Support {
        if faults::ACTIONS.contains(&action) {
            return Support::Yes;
        }
        let engines = self.ctx.engines.read().map(|e| e.clone()).unwrap_or_default();
        engines::support(&engines, action).unwrap_or_else(|| {
            Support::No(format!("not a Kubernetes fault ('{action}' needs Docker or the demo cluster)"))
        })
    }

    fn watch(&self, tx: UnboundedSender<TopologyDelta>) {
        if let Ok(mut news) = self.ctx.news.lock() {
            *news = Some(tx.clone());
        }
        let (client, policy) = (self.ctx.client.clone(), self.ctx.policy.clone());
        watch::spawn(client.clone(), self.scope.clone(), policy, self.ctx.explain.clone(), tx.clone());
        signals::spawn(client, self.scope.clone(), self.prometheus.clone(), tx.clone());
        crate::backend::lock::ClusterLock::watch(self.lock.as_ref(), tx.clone());
        self.discover(tx);
    }

    async fn announce(&self, handle: &RevertHandle, what: &crate::model::Happening) -> Result<(), String> {
        let plan = HandleData::from_handle(handle).map_err(|e| e.to_string())?;
        self.events.publish(&plan, what).await
    }

    fn lock(&self) -> Option<Arc<dyn crate::backend::lock::ClusterLock>> {
        Some(self.lock.clone())
    }

    fn drill_channel(&self) -> Option<Arc<dyn crate::backend::drill::DrillChannel>> {
        Some(self.drill.clone())
    }

    async fn prepare(&self, spec: &FaultSpec) -> Result<RevertHandle, BackendError> {
        Ok(faults::prepare(&self.ctx, spec).await?.plan.handle(&spec.session, spec.fault_id, false))
    }

    async fn preview(&self, spec: &FaultSpec) -> Result<Prepared, BackendError> {
        let found = faults::prepare(&self.ctx, spec).await?;
        Ok(Prepared {
            handle: found.plan.handle(&spec.session, spec.fault_id, false),
            ends_by_itself: found.plan.ends_by_itself(),
            fixed_end: found.plan.ends_by_itself(),
            found: found.found,
        })
    }

    /// A chaos engine's run: it ends at the duration it was given.
    fn fixed_end(&self, handle: &RevertHandle) -> Option<String> {
        HandleData::from_handle(handle).ok().and_then(|d| d.ends_by_itself())
    }

    async fn inject(&self, spec: &FaultSpec, prepared: &RevertHandle) -> Result<RevertHandle, BackendError> {
        let plan = HandleData::from_handle(prepared)?;
        Ok(faults::inject(&self.ctx, spec, &plan).await?.handle(&spec.session, spec.fault_id, true))
    }

    async fn revert(&self, handle: &RevertHandle) -> Result<crate::backend::Reverted, BackendError> {
        let mark = faults::Mark { session: HandleData::session_of(handle).to_string(), fault: handle.fault_id };
        faults::revert(&self.ctx, &HandleData::from_handle(handle)?, &mark).await
    }

    /// A Litmus engine is stopped, then Litmus cleans up: that can take minutes.
    fn revert_time_limit(&self, handle: &RevertHandle) -> Option<std::time::Duration> {
        match HandleData::from_handle(handle) {
            Ok(HandleData::Chaos { engine, .. }) if engine.kind == "ChaosEngine" => {
                Some(engines::LITMUS_STOP + std::time::Duration::from_secs(60))
            }
            _ => None,
        }
    }

    async fn service_get(
        &self,
        service: &str,
        port: &str,
        path: &str,
        limit: std::time::Duration,
    ) -> Result<u16, String> {
        signals::service_get(&self.ctx.client, service, port, path, limit).await
    }

    async fn leftovers(&self) -> Result<Vec<Leftover>, BackendError> {
        Ok(self.search().await?.found)
    }

    /// Everything carrying gameday's markers, with the revert plan its annotation holds: the
    /// built-in kinds gameday changes, and every kind the installed chaos engines serve (found by
    /// discovery now if the watch has not yet). A kind that cannot be listed (forbidden, or
    /// cluster-scoped under `-n`) is skipped and named, never hiding the rest.
    async fn search(&self) -> Result<Search, BackendError> {
        let c = &self.ctx.client;
        let ns = self.scope.namespace.as_deref();
        let kinds = self.marked_kinds().await;
        let mut metas: Vec<(String, kube::api::ObjectMeta)> = Vec::new();
        let mut skipped = Vec::new();
        let mut searched = 0;
        for kind in &kinds {
            match markers::list(c, kind, ns).await {
                Ok(found) => {
                    searched += 1;
                    metas.extend(found.into_iter().map(|m| (kind.kind.clone(), m)));
                }
                Err(why) => skipped.push(format!("could not search {}: {why}", kind.kind)),
            }
        }
        if searched == 0 {
            return Err(BackendError::Failed(format!("looking for gameday's markers: {}", skipped.join("; "))));
        }
        Ok(Search { found: markers::leftovers(metas), skipped })
    }

    fn watch_markers(&self, tx: UnboundedSender<Search>) -> bool {
        let (ctx, ns) = (self.ctx.clone(), self.scope.namespace.clone());
        tokio::spawn(async move {
            let kinds = marked_kinds(&ctx).await;
            markers::watch(ctx.client.clone(), kinds, ns, tx);
        });
        true
    }
}

impl KubeBackend {
    async fn marked_kinds(&self) -> Vec<engines::Engine> {
        marked_kinds(&self.ctx).await
    }
}

/// Every kind gameday marks: the built-in ones, and those of the chaos engines installed
/// (found by discovery once).
async fn marked_kinds(ctx: &Ctx) -> Vec<engines::Engine> {
    let checked = ctx.engines.read().map(|e| e.checked).unwrap_or(false);
    if !checked {
        if let Ok(found) = engines::discover(&ctx.client).await {
            if let Ok(mut e) = ctx.engines.write() {
                *e = found;
            }
        }
    }
    let mut kinds: Vec<engines::Engine> = markers::BUILTIN.iter().map(|b| b.engine()).collect();
    kinds.extend(
        ctx.engines
            .read()
            .map(|e| e.found.values().cloned().collect::<Vec<_>>())
            .unwrap_or_default()
            .into_iter()
            .filter(|e| e.kind != "ChaosExperiment" && e.kind != "ChaosResult"),
    );
    kinds
}
