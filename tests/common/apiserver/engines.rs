//! Stand-ins for the chaos engines' controllers, writing status the way theirs do.
//!
//! Chaos Mesh: a finalizer on every chaos object; after a moment the pods `spec.selector.pods`
//! names are selected and a record per target is written into `status.experiment.
//! containerRecords` (`<ns>/<pod>` for NetworkChaos, `<ns>/<pod>/<container>` for the container
//! selectors of StressChaos and PodChaos, the first container when `containerNames` is empty, as
//! Chaos Mesh does), with the `Selected`, `AllInjected`, `AllRecovered` and `Paused` conditions. A
//! container that is not in the pod fails its record with an event. A container kill restarts
//! the container (its restartCount) once and is never repeated; other faults recover when their
//! duration is up; a deleted object recovers, says `AllRecovered`, then its finalizer lets go.
//!
//! Litmus: only while an operator pod (`name=chaos-operator`) is ready. An active ChaosEngine
//! gets a finalizer; its runner starts if the ChaosExperiment and the chaos service account are
//! in its namespace (otherwise its status says so and nothing runs); it writes ChaosResult
//! `<engine>-<experiment>` (Running, Awaited); pod-delete deletes the pods of each workload
//! `selectors.workloads` names (or, given only `appinfo`, every pod its label selects); after
//! TOTAL_CHAOS_DURATION the verdict is written (Pass, or what the knobs say) and the engine is
//! completed. `engineState: stop` stops it: after the cleanup time the runner is gone, the
//! verdict is Stopped and the engine stopped. A deleted engine's finalizer goes once it is done.

use serde_json::{json, Value};

use super::controllers::{owned_by, ready, res, set_status, terminating, uid, EngineKnobs, Memory, Timing};
use super::http::delete_object;
use super::store::{label_selector_matches, now, Res, Store};

fn duration_of(s: &str) -> std::time::Duration {
    humantime::parse_duration(s).unwrap_or(std::time::Duration::from_secs(60))
}

fn meta(o: &Value, field: &str) -> String {
    o["metadata"][field].as_str().unwrap_or_default().to_string()
}

fn condition(kind: &str, status: bool) -> Value {
    json!({"type": kind, "status": if status { "True" } else { "False" }})
}

fn conditions(selected: bool, injected: bool, recovered: bool) -> Value {
    json!([
        condition("Selected", selected),
        condition("AllInjected", injected),
        condition("AllRecovered", recovered),
        condition("Paused", false),
    ])
}

fn event(kind: &str, operation: &str, message: Option<&str>) -> Value {
    let mut e = json!({"type": kind, "operation": operation, "timestamp": now()});
    if let Some(m) = message {
        e["message"] = json!(m);
    }
    e
}

/// One turn of the Chaos Mesh controller.
pub fn chaos_mesh(store: &mut Store, mem: &mut Memory, t: &Timing, knobs: &EngineKnobs) {
    let pods = res(store, "", "pods");
    for plural in ["networkchaos", "stresschaos", "podchaos"] {
        let Some(r) = store.res("chaos-mesh.org", plural) else { continue };
        for mut o in store.list(&r, None).into_iter().cloned().collect::<Vec<_>>() {
            let id = uid(&o);
            let (ns, name) = (meta(&o, "namespace"), meta(&o, "name"));
            if terminating(&o) {
                // The finalizer recovers every record, says so, then lets the object go.
                let since = mem.since(format!("del-{id}"));
                if since >= t.engine * 2 {
                    o["metadata"]["finalizers"] = json!([]);
                    store.remove(&r, &ns, &name);
                } else if since >= t.engine && o["status"]["conditions"][2]["status"] != "True" {
                    recover(store, &r, o);
                }
                continue;
            }
            if o["metadata"]["finalizers"].is_null() {
                o["metadata"]["finalizers"] = json!(["chaos-mesh/records"]);
                store.update(&r, o);
                continue;
            }
            if mem.age(&id) < t.engine {
                continue;
            }
            let injected_before = !o["status"]["experiment"]["containerRecords"].is_null();
            let one_shot = o["spec"]["action"] == "container-kill";
            let over = !one_shot && o["spec"]["duration"].as_str().is_some_and(|d| mem.age(&id) >= duration_of(d));
            if over {
                if o["status"]["conditions"][2]["status"] != "True" {
                    recover(store, &r, o);
                }
                continue;
            }
            if injected_before {
                continue;
            }
            inject(store, &r, &pods, o, knobs);
        }
    }
}

/// Selects the pods, writes a record per target, and applies the fault where it can.
fn inject(store: &mut Store, r: &Res, pods: &Res, o: Value, knobs: &EngineKnobs) {
    let container_level = r.kind != "NetworkChaos";
    let wanted: Vec<String> = o["spec"]["containerNames"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c.as_str().map(str::to_string))
        .collect();
    let mut selected: Vec<Value> = Vec::new();
    for (ns, names) in o["spec"]["selector"]["pods"].as_object().into_iter().flatten() {
        for n in names.as_array().into_iter().flatten().filter_map(Value::as_str) {
            if let Some(p) = store.get(pods, ns, n).filter(|p| !terminating(p) && p["status"]["phase"] == "Running") {
                selected.push(p.clone());
            }
        }
    }
    let mut records = Vec::new();
    for p in &selected {
        let pod_id = format!("{}/{}", meta(p, "namespace"), meta(p, "name"));
        let have: Vec<String> = p["spec"]["containers"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c["name"].as_str().map(str::to_string))
            .collect();
        // Chaos Mesh's default: the first container.
        let targets: Vec<String> = match (container_level, wanted.is_empty()) {
            (false, _) => vec![String::new()],
            (true, true) => have.first().cloned().into_iter().collect(),
            (true, false) => wanted.clone(),
        };
        for c in targets {
            let id = if c.is_empty() { pod_id.clone() } else { format!("{pod_id}/{c}") };
            let failure = match &knobs.chaos_mesh_fails {
                Some(m) => Some(m.clone()),
                None if !c.is_empty() && !have.contains(&c) => Some(format!("container {c} not found in pod {pod_id}")),
                None => None,
            };
            let record = match &failure {
                Some(m) => json!({"id": id, "selectorKey": ".", "phase": "Not Injected", "injectedCount": 0,
                    "recoveredCount": 0, "events": [event("Failed", "Apply", Some(m))]}),
                None => json!({"id": id, "selectorKey": ".", "phase": "Injected", "injectedCount": 1,
                    "recoveredCount": 0, "events": [event("Succeeded", "Apply", None)]}),
            };
            records.push(record);
            if failure.is_none() && r.kind == "PodChaos" {
                kill(store, pods, p, &c);
            }
        }
    }
    let all_in = !records.is_empty() && records.iter().all(|r| r["phase"] == "Injected");
    let status = json!({"conditions": conditions(!selected.is_empty(), all_in, false),
        "experiment": {"desiredPhase": "Run", "containerRecords": records}});
    set_status(store, r, o, status);
}

/// A container kill: the kubelet restarts the container (its restartCount goes up).
fn kill(store: &mut Store, pods: &Res, p: &Value, container: &str) {
    let Some(mut pod) = store.get(pods, &meta(p, "namespace"), &meta(p, "name")).cloned() else { return };
    if let Some(statuses) = pod["status"]["containerStatuses"].as_array_mut() {
        for s in statuses.iter_mut().filter(|s| s["name"] == container) {
            s["restartCount"] = json!(s["restartCount"].as_i64().unwrap_or(0) + 1);
        }
    }
    store.update(pods, pod);
}

fn recover(store: &mut Store, r: &Res, o: Value) {
    let mut records = o["status"]["experiment"]["containerRecords"].clone();
    for rec in records.as_array_mut().into_iter().flatten() {
        if rec["phase"] == "Injected" {
            rec["phase"] = json!("Not Injected");
            rec["recoveredCount"] = json!(1);
            if let Some(e) = rec["events"].as_array_mut() {
                e.push(event("Succeeded", "Recover", None));
            }
        }
    }
    let selected = o["status"]["conditions"][0]["status"] == "True";
    let status = json!({"conditions": conditions(selected, false, true),
        "experiment": {"desiredPhase": "Stop", "containerRecords": records}});
    set_status(store, r, o, status);
}

/// Whether a Litmus operator pod is ready.
fn operator_runs(store: &Store) -> bool {
    let pods = res(store, "", "pods");
    store.list(&pods, None).into_iter().any(|p| p["metadata"]["labels"]["name"] == "chaos-operator" && ready(p))
}

/// The pods of the workloads a ChaosEngine names (or, given only appinfo, those its label selects).
fn targets(store: &Store, engine: &Value) -> Vec<Value> {
    let pods = res(store, "", "pods");
    let mut out = Vec::new();
    for w in engine["spec"]["selectors"]["workloads"].as_array().into_iter().flatten() {
        let ns = w["namespace"].as_str().unwrap_or_default();
        let plural = match w["kind"].as_str().unwrap_or_default() {
            "statefulset" => "statefulsets",
            "daemonset" => "daemonsets",
            _ => "deployments",
        };
        let Some(owner) = store.res("apps", plural).and_then(|r| store.get(&r, ns, w["names"].as_str()?).cloned())
        else {
            continue;
        };
        // A Deployment owns ReplicaSets, which own the pods.
        let mut owners = vec![uid(&owner)];
        if plural == "deployments" {
            let rss = res(store, "apps", "replicasets");
            owners.extend(store.list(&rss, Some(ns)).into_iter().filter(|rs| owned_by(rs, &uid(&owner))).map(uid));
        }
        out.extend(
            store
                .list(&pods, Some(ns))
                .into_iter()
                .filter(|p| !terminating(p) && owners.iter().any(|o| owned_by(p, o)))
                .cloned(),
        );
    }
    if out.is_empty() {
        let ns = engine["spec"]["appinfo"]["appns"].as_str().unwrap_or_default();
        if let Some(label) = engine["spec"]["appinfo"]["applabel"].as_str().filter(|l| !l.is_empty()) {
            out.extend(
                store
                    .list(&pods, Some(ns))
                    .into_iter()
                    .filter(|p| !terminating(p) && label_selector_matches(label, &p["metadata"]["labels"]))
                    .cloned(),
            );
        }
    }
    out
}

/// One turn of the Litmus operator (and of the runner and experiment it would start).
pub fn litmus(store: &mut Store, mem: &mut Memory, t: &Timing, knobs: &EngineKnobs) {
    let (Some(engines), Some(results), Some(experiments)) = (
        store.res("litmuschaos.io", "chaosengines"),
        store.res("litmuschaos.io", "chaosresults"),
        store.res("litmuschaos.io", "chaosexperiments"),
    ) else {
        return;
    };
    if !operator_runs(store) {
        return;
    }
    let pods = res(store, "", "pods");
    let accounts = res(store, "", "serviceaccounts");
    for mut e in store.list(&engines, None).into_iter().cloned().collect::<Vec<_>>() {
        let id = uid(&e);
        let (ns, name) = (meta(&e, "namespace"), meta(&e, "name"));
        let status = e["status"]["engineStatus"].as_str().unwrap_or_default().to_string();
        let experiment = e["spec"]["experiments"][0]["name"].as_str().unwrap_or_default().to_string();
        let result_name = format!("{name}-{experiment}");
        let runner = format!("{name}-runner");
        if terminating(&e) {
            // Deleting a running engine stops it first, like engineState: stop.
            let done = matches!(status.as_str(), "completed" | "stopped") || status.is_empty();
            if done || mem.since(format!("del-{id}")) >= t.litmus_cleanup {
                if let Some(p) = store.get(&pods, &ns, &runner).cloned() {
                    delete_object(store, &pods, p, Some(0));
                }
                if !done {
                    finish(store, &results, &ns, &result_name, "Stopped", "Stopped", None);
                }
                e["metadata"]["finalizers"] = json!([]);
                store.remove(&engines, &ns, &name);
            }
            continue;
        }
        if e["metadata"]["finalizers"].is_null() {
            e["metadata"]["finalizers"] = json!(["chaosengine.litmuschaos.io/finalizer"]);
            store.update(&engines, e);
            continue;
        }
        if matches!(status.as_str(), "completed" | "stopped") || mem.age(&id) < t.engine {
            continue;
        }
        let stopping = e["spec"]["engineState"] == "stop";
        if stopping {
            if mem.since(format!("stop-{id}")) < t.litmus_cleanup {
                continue;
            }
            if let Some(p) = store.get(&pods, &ns, &runner).cloned() {
                delete_object(store, &pods, p, Some(0));
            }
            finish(store, &results, &ns, &result_name, "Stopped", "Stopped", None);
            let exp = json!([{"name": experiment, "runner": runner, "status": "Forcefully Aborted",
                "verdict": "Stopped", "lastUpdateTime": now()}]);
            set_status(store, &engines, e, json!({"engineStatus": "stopped", "experiments": exp}));
            continue;
        }
        if status.is_empty() {
            let account = e["spec"]["chaosServiceAccount"].as_str().unwrap_or_default().to_string();
            let missing = if store.get(&experiments, &ns, &experiment).is_none() {
                Some("ChaosExperiment Not Found")
            } else if store.get(&accounts, &ns, &account).is_none() {
                Some("Waiting for Job Creation")
            } else {
                None
            };
            let exp_status = missing.unwrap_or("Running");
            if missing.is_none() {
                let pod = json!({"metadata": {"name": runner, "labels": {"app": name, "chaosUID": id}},
                    "spec": {"serviceAccountName": account, "containers": [{"name": "chaos-runner", "image": "litmuschaos/chaos-runner:3.0.0"}]},
                    "status": {"phase": "Pending"}});
                let _ = store.create(&pods, &ns, pod);
                let result = json!({"metadata": {"name": result_name, "labels": {"chaosUID": id}},
                    "spec": {"engine": name, "experiment": experiment},
                    "status": {"experimentStatus": {"phase": "Running", "verdict": "Awaited", "probeSuccessPercentage": "0"},
                        "history": {"passedRuns": 0, "failedRuns": 0, "stoppedRuns": 0, "targets": []}}});
                let _ = store.create(&results, &ns, result);
                mem.forget(&format!("started-{id}"));
                mem.since(format!("started-{id}"));
                // The experiment's chaos: pod-delete deletes one pod of each target.
                let hit = targets(store, &e);
                if experiment == "pod-delete" {
                    for p in &hit {
                        delete_object(store, &pods, p.clone(), Some(0));
                    }
                }
                let listed: Vec<Value> = hit
                    .iter()
                    .map(|p| json!({"name": meta(p, "name"), "kind": "pod", "chaosStatus": "targeted"}))
                    .collect();
                if let Some(mut r) = store.get(&results, &ns, &result_name).cloned() {
                    r["status"]["history"]["targets"] = json!(listed);
                    store.update(&results, r);
                }
            }
            let exp = json!([{"name": experiment, "runner": runner, "experimentPod": format!("{experiment}-x7k2p"),
                "status": exp_status, "verdict": "Awaited", "lastUpdateTime": now()}]);
            set_status(store, &engines, e, json!({"engineStatus": "initialized", "experiments": exp}));
            continue;
        }
        // Running: done once its TOTAL_CHAOS_DURATION is up (counted from the runner's start).
        if e["status"]["experiments"][0]["status"] != "Running" {
            continue;
        }
        let seconds = e["spec"]["experiments"][0]["spec"]["components"]["env"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|v| v["name"] == "TOTAL_CHAOS_DURATION")
            .and_then(|v| v["value"].as_str()?.parse::<u64>().ok())
            .unwrap_or(30);
        if mem.since(format!("started-{id}")) < std::time::Duration::from_secs(seconds) {
            continue;
        }
        let verdict = knobs.litmus_verdict.clone();
        let failure = (verdict == "Fail").then_some("the application's health check failed after the chaos");
        finish(store, &results, &ns, &result_name, "Completed", &verdict, failure);
        if let Some(p) = store.get(&pods, &ns, &runner).cloned() {
            delete_object(store, &pods, p, Some(0));
        }
        let exp = json!([{"name": experiment, "runner": runner, "status": "Completed", "verdict": verdict,
            "lastUpdateTime": now()}]);
        set_status(store, &engines, e, json!({"engineStatus": "completed", "experiments": exp}));
    }
}

/// Writes a ChaosResult's end.
fn finish(store: &mut Store, results: &Res, ns: &str, name: &str, phase: &str, verdict: &str, failed: Option<&str>) {
    let Some(mut r) = store.get(results, ns, name).cloned() else { return };
    r["status"]["experimentStatus"]["phase"] = json!(phase);
    r["status"]["experimentStatus"]["verdict"] = json!(verdict);
    if let Some(f) = failed {
        r["status"]["experimentStatus"]["failureOutput"] = json!({"failedStep": f, "errorCode": "STATUS_CHECKS_ERROR"});
    }
    let counter = match verdict {
        "Pass" => "passedRuns",
        "Fail" => "failedRuns",
        _ => "stoppedRuns",
    };
    r["status"]["history"][counter] = json!(r["status"]["history"][counter].as_i64().unwrap_or(0) + 1);
    store.update(results, r);
}
