//! Chaos Mesh (`chaos-mesh.org/v1alpha1`): NetworkChaos, StressChaos and PodChaos aimed at
//! exactly the pods prepare chose (by name), in the application's container, never the first
//! container by accident (Chaos Mesh's default, often a sidecar). A fault is "injected" only
//! once Chaos Mesh says so in the object's status: `Selected` and `AllInjected` conditions, and
//! a record per pod it hit; otherwise the inject fails with what Chaos Mesh said, and is
//! reverted. The revert deletes the object and reports `AllRecovered` or the deletion.

use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use kube::api::{DeleteParams, DynamicObject, PostParams};
use serde_json::json;

use super::condition;
use crate::backend::kube::kit::engine::Engine;
use crate::backend::kube::kit::pods::{choose, names, pod_key, pod_line, Found};
use crate::backend::kube::kit::{self, Ctx, HandleData};
use crate::backend::BackendError;
use crate::model::FaultSpec;

/// How long an inject waits for Chaos Mesh to say the fault is in (it takes a second or two);
/// under the console's time limit for one backend call.
pub const CONFIRM: Duration = Duration::from_secs(7);
/// How long a revert waits for the object's finalizer to recover the pods and let it go.
const GONE: Duration = Duration::from_secs(8);

/// Container names that are sidecars, not the application (service meshes, agents, proxies).
const SIDECARS: &[&str] = &[
    "istio-proxy",
    "linkerd-proxy",
    "envoy",
    "envoy-sidecar",
    "vault-agent",
    "cloud-sql-proxy",
    "cloudsql-proxy",
    "datadog-agent",
    "fluent-bit",
    "fluentd",
    "otel-collector",
    "daprd",
];

fn is_sidecar(name: &str) -> bool {
    SIDECARS.contains(&name) || name.ends_with("-sidecar")
}

/// A pod's application container: the one `kubectl.kubernetes.io/default-container` names, its
/// only container, or its only one that is not a known sidecar.
fn app_container(p: &Pod) -> Result<String, String> {
    let all: Vec<String> = p.spec.iter().flat_map(|s| &s.containers).map(|c| c.name.clone()).collect();
    let named = p.metadata.annotations.as_ref().and_then(|a| a.get("kubectl.kubernetes.io/default-container"));
    if let Some(c) = named.filter(|c| all.contains(c)) {
        return Ok(c.clone());
    }
    let apps: Vec<&String> = all.iter().filter(|c| all.len() == 1 || !is_sidecar(c)).collect();
    match apps.as_slice() {
        [one] => Ok((*one).clone()),
        _ => Err(format!(
            "pod {}/{} has the containers {}: name the application's with container=<name>",
            p.metadata.namespace.clone().unwrap_or_default(),
            p.metadata.name.clone().unwrap_or_default(),
            all.join(", ")
        )),
    }
}

/// The one container the fault acts in, in every chosen pod, and the sidecars left alone.
fn container(spec: &FaultSpec, pods: &[Pod]) -> Result<(String, Vec<String>), BackendError> {
    let asked = spec.text("container").filter(|c| !c.is_empty());
    let mut chosen: Vec<String> = Vec::new();
    for p in pods {
        let all: Vec<String> = p.spec.iter().flat_map(|s| &s.containers).map(|c| c.name.clone()).collect();
        let c = match &asked {
            Some(c) if all.contains(c) => c.clone(),
            Some(c) => {
                let (ns, name) = pod_key(p);
                return Err(BackendError::Unsupported(format!(
                    "pod {ns}/{name} has no container {c} (it has {})",
                    all.join(", ")
                )));
            }
            None => app_container(p).map_err(BackendError::Unsupported)?,
        };
        if !chosen.contains(&c) {
            chosen.push(c);
        }
    }
    match chosen.as_slice() {
        [one] => {
            let mut sidecars: Vec<String> = pods
                .iter()
                .flat_map(|p| p.spec.iter().flat_map(|s| &s.containers))
                .map(|c| c.name.clone())
                .filter(|c| c != one)
                .collect();
            sidecars.sort();
            sidecars.dedup();
            Ok((one.clone(), sidecars))
        }
        _ => Err(BackendError::Unsupported(format!(
            "the chosen pods' application containers differ ({}): name one with container=<name>",
            chosen.join(", ")
        ))),
    }
}

pub async fn prepare(ctx: &Ctx, spec: &FaultSpec, engine: Engine) -> Result<Found, BackendError> {
    let int = |n: &str, d: i64| spec.int(n).unwrap_or(d);
    let seconds = spec.duration_ms.div_ceil(1000).max(1);
    let name = kit::object_name(spec, "chaos");
    let pods = choose(ctx, spec).await?;
    let keys: Vec<_> = pods.iter().map(pod_key).collect();
    let ns = keys[0].0.clone();
    if keys.iter().any(|(n, _)| *n != ns) {
        return Err(BackendError::Unsupported(format!("a {} lives in one namespace: choose pods of one", engine.kind)));
    }
    let selector = json!({"pods": {ns.clone(): keys.iter().map(|(_, n)| n.clone()).collect::<Vec<_>>()}});
    let duration = format!("{seconds}s");
    let mut found = vec![format!("{} {ns}/{name}: Chaos Mesh selects exactly these pods, by name:", engine.kind)];
    found.extend(pods.iter().take(6).map(pod_line));
    if pods.len() > 6 {
        found.push(format!("and {} more pods", pods.len() - 6));
    }
    let ends = format!("for {seconds} s; Chaos Mesh ends it by itself when that is up");
    let in_container = |c: &str, sidecars: &[String]| match sidecars {
        [] => format!("in container {c} of each"),
        s => format!("in container {c} of each (the application's; left alone: {})", s.join(", ")),
    };
    let (chaos_spec, what) = match spec.action.as_str() {
        "network-latency" => {
            let (lat, jit) = (int("latency_ms", 300), int("jitter_ms", 0));
            found.push(format!("+{lat} ms (±{jit} ms) on every packet they send (all their containers) {ends}"));
            (
                json!({"action": "delay", "mode": "all", "selector": selector, "direction": "to", "duration": duration,
                    "delay": {"latency": format!("{lat}ms"), "jitter": format!("{jit}ms"), "correlation": "0"}}),
                format!("+{lat}ms latency"),
            )
        }
        "network-loss" => {
            let loss = int("loss_percent", 30);
            found.push(format!("drops {loss}% of the packets they send (all their containers) {ends}"));
            (
                json!({"action": "loss", "mode": "all", "selector": selector, "direction": "to", "duration": duration,
                    "loss": {"loss": loss.to_string(), "correlation": "0"}}),
                format!("{loss}% packet loss"),
            )
        }
        "cpu-stress" => {
            let (c, sidecars) = container(spec, &pods)?;
            let (workers, load) = (int("workers", 1), int("load_percent", 90));
            found.push(format!("{workers} CPU worker(s) at {load}% each {} {ends}", in_container(&c, &sidecars)));
            (
                json!({"mode": "all", "selector": selector, "containerNames": [c], "duration": duration,
                    "stressors": {"cpu": {"workers": workers, "load": load}}}),
                format!("{workers} CPU worker(s) at {load}% in {c}"),
            )
        }
        "memory-stress" => {
            let (c, sidecars) = container(spec, &pods)?;
            let (workers, mb) = (int("workers", 1).max(1), int("memory_mb", 256));
            found.push(format!(
                "holds {mb} MB in total {}: Chaos Mesh divides its size among the {workers} worker(s), {} MB each; \
                 {ends}",
                in_container(&c, &sidecars),
                mb / workers
            ));
            (
                json!({"mode": "all", "selector": selector, "containerNames": [c], "duration": duration,
                    "stressors": {"memory": {"workers": workers, "size": format!("{mb}MB")}}}),
                format!("{mb} MB in total in {c}, {workers} worker(s)"),
            )
        }
        _ => {
            let (c, sidecars) = container(spec, &pods)?;
            found.push(format!(
                "kills container {c} once {}: a container kill is instant, Chaos Mesh does not repeat it and \
                 ignores a duration; the fault stays open {seconds} s (the kubelet restarts the container) and \
                 its end only deletes the PodChaos",
                in_container(&c, &sidecars).replacen(&format!("in container {c} of each"), "in each pod", 1)
            ));
            (
                json!({"action": "container-kill", "mode": "all", "selector": selector, "containerNames": [c]}),
                format!("kill container {c} once"),
            )
        }
    };
    let body = json!({
        "apiVersion": format!("{}/{}", engine.group, engine.version), "kind": engine.kind,
        "metadata": {"name": name, "namespace": ns}, "spec": chaos_spec,
    });
    let what = format!("{what} on {}", names(&keys));
    let plan =
        HandleData::Chaos { namespace: ns, engine, name, what, body, experiment: None, hit: Vec::new(), seconds };
    Ok(Found { plan, found })
}

/// What Chaos Mesh's status says: its conditions, and a line per record.
struct Said {
    selected: Option<bool>,
    injected: Option<bool>,
    recovered: Option<bool>,
    /// (record id, injected?, its last event's message if it failed)
    records: Vec<(String, bool, Option<String>)>,
}

fn status_of(obj: &DynamicObject) -> Said {
    let status = &obj.data["status"];
    let records = status["experiment"]["containerRecords"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            let id = r["id"].as_str().unwrap_or_default().to_string();
            let injected = r["phase"] == "Injected" || r["injectedCount"].as_i64().unwrap_or(0) > 0;
            let failed = r["events"]
                .as_array()
                .and_then(|e| e.last())
                .filter(|e| e["type"] == "Failed")
                .map(|e| e["message"].as_str().unwrap_or_default().to_string());
            (id, injected, failed)
        })
        .collect();
    Said {
        selected: condition(status, "Selected"),
        injected: condition(status, "AllInjected"),
        recovered: condition(status, "AllRecovered"),
        records,
    }
}

pub async fn inject(ctx: &Ctx, plan: &HandleData, obj: DynamicObject) -> Result<HandleData, BackendError> {
    let HandleData::Chaos { namespace, engine, name, .. } = plan else { return Ok(plan.clone()) };
    let api = engine.api(&ctx.client, namespace);
    match api.create(&PostParams::default(), &obj).await {
        Ok(_) => {}
        Err(kube::Error::Api(s)) if s.code == 409 => {}
        Err(e) => {
            return Err(BackendError::Failed(format!("create {} {namespace}/{name}: {}", engine.kind, kit::said(&e))))
        }
    }
    let deadline = tokio::time::Instant::now() + CONFIRM;
    let mut last: Option<Said> = None;
    loop {
        match api.get_opt(name).await {
            Ok(Some(o)) => {
                let s = status_of(&o);
                if s.selected == Some(true)
                    && s.injected == Some(true)
                    && !s.records.is_empty()
                    && s.records.iter().all(|r| r.1)
                {
                    let mut done = plan.clone();
                    if let HandleData::Chaos { hit, .. } = &mut done {
                        *hit = s.records.into_iter().map(|r| r.0).collect();
                    }
                    return Ok(done);
                }
                last = Some(s);
            }
            Ok(None) => {
                return Err(BackendError::Failed(format!(
                    "{} {namespace}/{name} was deleted before Chaos Mesh injected it",
                    engine.kind
                )))
            }
            Err(_) => {}
        }
        if tokio::time::Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let why = match last {
        None => "its status could not be read".to_string(),
        Some(s) if s.selected.is_none() && s.records.is_empty() => {
            "it wrote no status (is the Chaos Mesh controller running?)".into()
        }
        Some(s) if s.selected != Some(true) || s.records.is_empty() => {
            "it selected no pod (Selected is not True): the pods may be gone".into()
        }
        Some(s) => {
            let lines: Vec<String> = s
                .records
                .iter()
                .filter(|r| !r.1)
                .map(|(id, _, failed)| match failed {
                    Some(m) => format!("{id}: {m}"),
                    None => format!("{id}: not injected yet"),
                })
                .collect();
            format!("AllInjected is not True: {}", lines.join("; "))
        }
    };
    Err(BackendError::Failed(format!(
        "Chaos Mesh did not inject {} {namespace}/{name} within {} s: {why}; it is deleted",
        engine.kind,
        CONFIRM.as_secs()
    )))
}

pub async fn revert(ctx: &Ctx, plan: &HandleData) -> Result<(), BackendError> {
    let HandleData::Chaos { namespace, engine, name, .. } = plan else { return Ok(()) };
    let api = engine.api(&ctx.client, namespace);
    let object = format!("{} {namespace}/{name}", engine.kind);
    let mut recovered = match api.get_opt(name).await {
        Ok(Some(o)) => status_of(&o).recovered == Some(true),
        Ok(None) => return Ok(()),
        Err(e) => return Err(BackendError::Failed(format!("read {object}: {}", kit::said(&e)))),
    };
    match api.delete(name, &DeleteParams::default()).await {
        Ok(_) => {}
        Err(kube::Error::Api(s)) if s.code == 404 => return Ok(()),
        Err(e) => return Err(BackendError::Failed(format!("delete {object}: {}", kit::said(&e)))),
    }
    let deadline = tokio::time::Instant::now() + GONE;
    let gone = loop {
        match api.get_opt(name).await {
            Ok(None) => break true,
            Ok(Some(o)) => recovered |= status_of(&o).recovered == Some(true),
            Err(_) => {}
        }
        if tokio::time::Instant::now() >= deadline {
            break false;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    if !gone {
        return Err(BackendError::Failed(format!(
            "{object} is still recovering after {} s (its finalizer has not finished; AllRecovered is {})",
            GONE.as_secs(),
            if recovered { "True" } else { "not True" }
        )));
    }
    let message = if recovered {
        "Chaos Mesh reported AllRecovered; deleted".to_string()
    } else {
        "deleted (its finalizer recovered the pods; AllRecovered was not seen before it went)".to_string()
    };
    ctx.tell(object, message, false);
    Ok(())
}
