//! Litmus (`litmuschaos.io/v1alpha1`): a ChaosEngine that runs one installed experiment against
//! exactly the chosen workload, by its kind and name (`selectors.workloads`), never by a label
//! that may match every workload of a Helm release. Before it is created, prepare checks what
//! its runner needs: the ChaosExperiment in the namespace, the chaos service account there, and
//! a running Litmus operator; without them the engine could never start, so the preset is
//! refused with the reason. The experiment runs its own duration once its runner starts; the
//! console follows the engine and reads the verdict (Pass, Fail) from its ChaosResult. An abort
//! sets `engineState: stop` and waits while Litmus cleans up, which can take minutes.

use std::time::Duration;

use k8s_openapi::api::core::v1::{Pod, ServiceAccount};
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::Client;
use serde_json::{json, Value};
use tokio::sync::mpsc::UnboundedSender;

use crate::backend::kube::kit::engine::Engine;
use crate::backend::kube::kit::pods::{workload_labels, Found};
use crate::backend::kube::kit::{self, said, Ctx, HandleData};
use crate::backend::BackendError;
use crate::model::{FaultSpec, Target, TopologyDelta};

/// How long the console gives an experiment beyond its duration to start its runner and give
/// its verdict, before it stops it.
pub const START_GRACE: Duration = Duration::from_secs(180);
/// How long an abort waits for Litmus to stop the experiment and clean up.
pub const STOP: Duration = Duration::from_secs(300);
/// How often the engine and its result are read while it runs or stops.
const POLL: Duration = Duration::from_secs(1);
/// How long the engine's finalizer may take once it is deleted.
const GONE: Duration = Duration::from_secs(20);

fn ready(p: &Pod) -> bool {
    let status = p.status.as_ref();
    status.and_then(|s| s.phase.as_deref()) == Some("Running")
        && status
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

fn pod_name(p: &Pod) -> String {
    format!("{}/{}", p.metadata.namespace.clone().unwrap_or_default(), p.metadata.name.clone().unwrap_or_default())
}

/// A ready pod of the Litmus operator, in any namespace: labelled `name=chaos-operator` as its
/// manifests do, or (a Helm install labels it otherwise) running the chaos-operator image.
async fn operator(ctx: &Ctx) -> Result<Option<String>, BackendError> {
    let pods: Api<Pod> = Api::all(ctx.client.clone());
    let fail = |e: kube::Error| BackendError::Failed(format!("looking for the Litmus operator: {}", said(&e)));
    let labelled = pods.list(&ListParams::default().labels("name=chaos-operator")).await.map_err(fail)?;
    if let Some(p) = labelled.items.iter().find(|p| ready(p)) {
        return Ok(Some(pod_name(p)));
    }
    let all = pods.list(&ListParams::default()).await.map_err(fail)?;
    let runs_it = |p: &Pod| {
        p.spec
            .iter()
            .flat_map(|s| &s.containers)
            .any(|c| c.image.as_deref().is_some_and(|i| i.contains("chaos-operator")))
    };
    Ok(all.items.iter().find(|p| ready(p) && runs_it(p)).map(pod_name))
}

/// Another Litmus kind the cluster serves (ChaosExperiment, ChaosResult).
fn kind(ctx: &Ctx, kind: &str) -> Result<Engine, BackendError> {
    ctx.engines
        .read()
        .ok()
        .and_then(|e| e.found.get(kind).cloned())
        .ok_or_else(|| BackendError::Unsupported(format!("this cluster serves no litmuschaos.io {kind}")))
}

pub async fn prepare(ctx: &Ctx, spec: &FaultSpec, engine: Engine) -> Result<Found, BackendError> {
    let Target::Workload { namespace: ns, name: workload } = &spec.target else {
        return Err(BackendError::Unsupported(
            "a Litmus experiment targets a workload (a Deployment, StatefulSet or DaemonSet)".into(),
        ));
    };
    let text = |n: &str, d: &str| spec.text(n).filter(|v| !v.is_empty()).unwrap_or_else(|| d.to_string());
    let (experiment, account) = (text("experiment", "pod-delete"), text("service_account", "litmus-admin"));
    let seconds = spec.duration_ms.div_ceil(1000).max(1);
    let name = kit::object_name(spec, "chaos");
    let (kind_of, _) = workload_labels(ctx, ns, workload).await?;
    let experiments = kind(ctx, "ChaosExperiment")?.api(&ctx.client, ns);
    let read = |what: String| move |e: kube::Error| BackendError::Failed(format!("{what}: {}", said(&e)));
    if experiments.get_opt(&experiment).await.map_err(read(format!("ChaosExperiment {ns}/{experiment}")))?.is_none() {
        let list = experiments.list(&ListParams::default()).await.map_err(read(format!("ChaosExperiments of {ns}")))?;
        let names: Vec<String> = list.items.iter().filter_map(|o| o.metadata.name.clone()).collect();
        return Err(BackendError::Unsupported(format!(
            "the Litmus experiment {experiment} is not installed in {ns} (installed: {}): the engine could never run it",
            if names.is_empty() { "none".to_string() } else { names.join(", ") }
        )));
    }
    let accounts: Api<ServiceAccount> = Api::namespaced(ctx.client.clone(), ns);
    if accounts.get_opt(&account).await.map_err(read(format!("service account {ns}/{account}")))?.is_none() {
        return Err(BackendError::Unsupported(format!(
            "the chaos service account {ns}/{account} does not exist: the experiment's runner could never start \
             (install the experiment's RBAC there, or name another with service_account=<name>)"
        )));
    }
    let Some(op) = operator(ctx).await? else {
        return Err(BackendError::Unsupported(
            "the Litmus operator is not running (no ready chaos-operator pod in any namespace): nothing would ever \
             start the engine"
                .into(),
        ));
    };
    let result = format!("{name}-{experiment}");
    let found = vec![
        format!("ChaosExperiment {ns}/{experiment} is installed; its runner runs as service account {ns}/{account}"),
        format!("the Litmus operator runs ({op})"),
        format!(
            "ChaosEngine {ns}/{name} targets {kind_of} {ns}/{workload} by its kind and name (selectors.workloads), \
             not by a label"
        ),
        format!(
            "Litmus runs {experiment} for {seconds} s once its runner starts, then writes its verdict (Pass or Fail) \
             into ChaosResult {ns}/{result}, which the console reads as the fault's end; an abort sets engineState: \
             stop, and Litmus's cleanup can take minutes"
        ),
    ];
    let body = json!({
        "apiVersion": format!("{}/{}", engine.group, engine.version), "kind": engine.kind,
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "engineState": "active",
            "chaosServiceAccount": account,
            "jobCleanUpPolicy": "delete",
            "selectors": {"workloads": [{"kind": kind_of.to_lowercase(), "namespace": ns, "names": workload}]},
            "experiments": [{"name": experiment, "spec": {"components": {"env": [
                {"name": "TOTAL_CHAOS_DURATION", "value": seconds.to_string()},
            ]}}}],
        },
    });
    let what = format!("Litmus {experiment} on {kind_of} {ns}/{workload} for {seconds}s");
    let plan = HandleData::Chaos {
        namespace: ns.clone(),
        engine,
        name,
        what,
        body,
        experiment: Some(experiment),
        hit: Vec::new(),
        seconds,
    };
    Ok(Found { plan, found })
}

pub async fn inject(
    ctx: &Ctx,
    spec: &FaultSpec,
    plan: &HandleData,
    obj: DynamicObject,
) -> Result<HandleData, BackendError> {
    let HandleData::Chaos { namespace, engine, name, experiment, seconds, .. } = plan else { return Ok(plan.clone()) };
    let api = engine.api(&ctx.client, namespace);
    match api.create(&PostParams::default(), &obj).await {
        Ok(_) => {}
        Err(kube::Error::Api(s)) if s.code == 409 => {}
        Err(e) => return Err(BackendError::Failed(format!("create ChaosEngine {namespace}/{name}: {}", said(&e)))),
    }
    let experiment = experiment.clone().unwrap_or_default();
    if let Some(news) = ctx.news() {
        let within_ms = (Duration::from_secs(*seconds) + START_GRACE).as_millis() as u64;
        let why =
            format!("Litmus runs {experiment} for {seconds} s from when its runner starts, then gives its verdict");
        let _ = news.send(TopologyDelta::FaultRunsOn {
            session: spec.session.clone(),
            fault: spec.fault_id,
            within_ms,
            why,
        });
        let follower = Follower {
            client: ctx.client.clone(),
            results: kind(ctx, "ChaosResult").ok(),
            engine: engine.clone(),
            namespace: namespace.clone(),
            name: name.clone(),
            experiment,
            session: spec.session.clone(),
            fault: spec.fault_id,
            news,
        };
        tokio::spawn(follower.run());
    }
    Ok(plan.clone())
}

/// What the engine and its result say, in words.
struct State {
    engine_status: String,
    stop_asked: bool,
    experiment_status: String,
    runner: String,
    phase: String,
    verdict: String,
    detail: String,
}

impl State {
    fn line(&self) -> String {
        let mut parts = vec![format!("engineStatus {}", or_none(&self.engine_status))];
        if !self.runner.is_empty() {
            parts.push(format!("runner {}", self.runner));
        }
        if !self.experiment_status.is_empty() {
            parts.push(format!("experiment {}", self.experiment_status));
        }
        if !self.phase.is_empty() {
            parts.push(format!("result {} ({})", self.phase, or_none(&self.verdict)));
        }
        parts.join(", ")
    }

    /// A verdict Litmus has given.
    fn verdict(&self) -> Option<String> {
        let given = matches!(self.verdict.as_str(), "Pass" | "Fail" | "Stopped");
        (given && self.phase != "Running").then(|| match self.detail.as_str() {
            "" => format!("verdict {}", self.verdict),
            d => format!("verdict {} ({d})", self.verdict),
        })
    }

    /// Litmus is done with the engine: it completed, or it stopped and cleaned up.
    fn settled(&self) -> bool {
        matches!(self.engine_status.as_str(), "completed" | "stopped") && self.phase != "Running"
    }
}

fn or_none(s: &str) -> &str {
    if s.is_empty() {
        "not set yet"
    } else {
        s
    }
}

async fn read_state(
    client: &Client,
    engine: &Engine,
    results: Option<&Engine>,
    ns: &str,
    name: &str,
    experiment: &str,
) -> Result<Option<State>, kube::Error> {
    let Some(e) = engine.api(client, ns).get_opt(name).await? else { return Ok(None) };
    let status = &e.data["status"];
    let exp = status["experiments"].as_array().and_then(|a| a.first()).cloned().unwrap_or(Value::Null);
    let mut state = State {
        engine_status: status["engineStatus"].as_str().unwrap_or_default().to_string(),
        stop_asked: e.data["spec"]["engineState"] == "stop",
        experiment_status: exp["status"].as_str().unwrap_or_default().to_string(),
        runner: exp["runner"].as_str().unwrap_or_default().to_string(),
        phase: String::new(),
        verdict: String::new(),
        detail: String::new(),
    };
    if let Some(r) = results {
        if let Some(result) = r.api(client, ns).get_opt(&format!("{name}-{experiment}")).await? {
            let st = &result.data["status"]["experimentStatus"];
            state.phase = st["phase"].as_str().unwrap_or_default().to_string();
            state.verdict = st["verdict"].as_str().unwrap_or_default().to_string();
            let failed = st["failureOutput"]["failedStep"].as_str().unwrap_or_default();
            let targets: Vec<String> = result.data["status"]["history"]["targets"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|t| {
                    format!(
                        "{} {} {}",
                        t["kind"].as_str().unwrap_or_default(),
                        t["name"].as_str().unwrap_or_default(),
                        t["chaosStatus"].as_str().unwrap_or_default()
                    )
                })
                .collect();
            let mut detail = Vec::new();
            if !failed.is_empty() {
                detail.push(format!("failed step: {failed}"));
            }
            if !targets.is_empty() {
                detail.push(format!("targets: {}", targets.join(", ")));
            }
            state.detail = detail.join("; ");
        }
    }
    Ok(Some(state))
}

/// Follows a running engine: a timeline line when its state changes, and the verdict as the
/// fault's end. Stops when the engine is stopped (the revert takes over) or gone.
struct Follower {
    client: Client,
    results: Option<Engine>,
    engine: Engine,
    namespace: String,
    name: String,
    experiment: String,
    session: String,
    fault: u64,
    news: UnboundedSender<TopologyDelta>,
}

impl Follower {
    async fn run(self) {
        let object = format!("ChaosEngine {}/{}", self.namespace, self.name);
        let mut said = String::new();
        loop {
            tokio::time::sleep(POLL).await;
            let state = match read_state(
                &self.client,
                &self.engine,
                self.results.as_ref(),
                &self.namespace,
                &self.name,
                &self.experiment,
            )
            .await
            {
                Ok(Some(s)) => s,
                Ok(None) => return,
                Err(_) => continue,
            };
            if state.stop_asked {
                return;
            }
            let line = state.line();
            if line != said {
                let _ = self.news.send(TopologyDelta::ClusterEvent {
                    object: object.clone(),
                    message: line.clone(),
                    warning: false,
                });
                said = line;
            }
            if let Some(verdict) = state.verdict() {
                let how = format!("Litmus {} {verdict}", self.experiment);
                let result = format!("ChaosResult {}/{}-{}", self.namespace, self.name, self.experiment);
                let warning = state.verdict != "Pass";
                let _ = self.news.send(TopologyDelta::ClusterEvent { object: result, message: verdict, warning });
                let _ = self.news.send(TopologyDelta::FaultFinished { session: self.session, fault: self.fault, how });
                return;
            }
        }
    }
}

pub async fn revert(ctx: &Ctx, plan: &HandleData) -> Result<(), BackendError> {
    let HandleData::Chaos { namespace, engine, name, experiment, .. } = plan else { return Ok(()) };
    let experiment = experiment.clone().unwrap_or_default();
    let object = format!("ChaosEngine {namespace}/{name}");
    let api = engine.api(&ctx.client, namespace);
    let results = kind(ctx, "ChaosResult").ok();
    let read = || read_state(&ctx.client, engine, results.as_ref(), namespace, name, &experiment);
    let Some(state) = read().await.map_err(|e| BackendError::Failed(format!("read {object}: {}", said(&e))))? else {
        return Ok(());
    };
    // A verdict given while it ran was told by its follower; one that comes of a stop is told here.
    let settled_before = state.settled();
    if !settled_before && !state.stop_asked {
        let stop = Patch::Merge(json!({"spec": {"engineState": "stop"}}));
        match api.patch(name, &PatchParams::default(), &stop).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 404 => return Ok(()),
            Err(e) => return Err(BackendError::Failed(format!("stop {object}: {}", said(&e)))),
        }
        ctx.tell(
            object.clone(),
            "stopping (engineState: stop): Litmus stops the experiment and cleans up, which can take minutes".into(),
            true,
        );
    }
    let deadline = tokio::time::Instant::now() + STOP;
    let last = loop {
        match read().await {
            Ok(None) => return Ok(()),
            Ok(Some(s)) if s.settled() => break s,
            Ok(Some(s)) if tokio::time::Instant::now() >= deadline => {
                return Err(BackendError::Failed(format!(
                    "{object} is still stopping after {} s ({}): Litmus has not finished its cleanup",
                    STOP.as_secs(),
                    s.line()
                )))
            }
            _ => tokio::time::sleep(POLL).await,
        }
    };
    if let Some(verdict) = last.verdict().filter(|_| !settled_before) {
        let result = format!("ChaosResult {namespace}/{name}-{experiment}");
        ctx.tell(result, verdict, last.verdict != "Pass");
    }
    match api.delete(name, &DeleteParams::default()).await {
        Ok(_) => {}
        Err(kube::Error::Api(s)) if s.code == 404 => return Ok(()),
        Err(e) => return Err(BackendError::Failed(format!("delete {object}: {}", said(&e)))),
    }
    let gone = kit::wait_until(GONE, || async { matches!(api.get_opt(name).await, Ok(None)) }).await;
    if !gone {
        return Err(BackendError::Failed(format!(
            "{object} is {} but still there {} s after its deletion (its finalizer has not finished)",
            last.engine_status,
            GONE.as_secs()
        )));
    }
    ctx.tell(object, format!("{}; deleted", last.engine_status), false);
    Ok(())
}
