//! Small controllers that make the test API server behave like a cluster over time: Deployments
//! own ReplicaSets, ReplicaSets/StatefulSets/DaemonSets keep their pods, pods are scheduled,
//! start and become ready after delays, an unpullable image backs off, terminating pods go after
//! their grace period, Services get EndpointSlices of their ready pods, Chaos Mesh and Litmus
//! objects get a status, and orphans are collected.

use std::collections::{BTreeMap, HashMap};
use std::hash::{Hash, Hasher};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::http::delete_object;
use super::store::{label_selector_matches, now, Res, Store};

/// How fast the simulated kubelet and controllers are.
#[derive(Clone, Copy, Debug)]
pub struct Timing {
    /// From a pod's creation to its containers running.
    pub start: Duration,
    /// From running to ready.
    pub ready: Duration,
    /// Before a controller replaces a missing pod.
    pub replace: Duration,
    /// Chaos engines take this long to inject and to recover.
    pub engine: Duration,
    /// Litmus takes this long to clean up once an engine is stopped.
    pub litmus_cleanup: Duration,
}

impl Default for Timing {
    fn default() -> Timing {
        Timing {
            start: Duration::from_millis(300),
            ready: Duration::from_millis(300),
            replace: Duration::from_millis(200),
            engine: Duration::from_millis(200),
            litmus_cleanup: Duration::from_millis(500),
        }
    }
}

/// How the stand-in chaos engines behave.
#[derive(Clone, Debug)]
pub struct EngineKnobs {
    /// Chaos Mesh's daemon fails to inject with this message (a broken chaos-daemon).
    pub chaos_mesh_fails: Option<String>,
    /// The verdict the stand-in Litmus experiment writes when it completes.
    pub litmus_verdict: String,
}

impl Default for EngineKnobs {
    fn default() -> EngineKnobs {
        EngineKnobs { chaos_mesh_fails: None, litmus_verdict: "Pass".into() }
    }
}

/// What the controllers remember between turns (by object uid).
#[derive(Default)]
pub struct Memory {
    first_seen: HashMap<String, Instant>,
    deficit_since: HashMap<String, Instant>,
    events: u64,
}

impl Memory {
    pub(super) fn age(&mut self, uid: &str) -> Duration {
        self.first_seen.entry(uid.to_string()).or_insert_with(Instant::now).elapsed()
    }

    /// How long ago `key` was first asked about (a moment: "del-<uid>", "started-<uid>", ...).
    pub(super) fn since(&mut self, key: String) -> Duration {
        self.first_seen.entry(key).or_insert_with(Instant::now).elapsed()
    }

    pub(super) fn forget(&mut self, key: &str) {
        self.first_seen.remove(key);
    }
}

pub(super) fn res(store: &Store, group: &str, plural: &str) -> Res {
    store.res(group, plural).expect("a built-in resource")
}

pub(super) fn uid(o: &Value) -> String {
    o["metadata"]["uid"].as_str().unwrap_or_default().to_string()
}

pub(super) fn owned_by(o: &Value, owner_uid: &str) -> bool {
    o["metadata"]["ownerReferences"].as_array().is_some_and(|r| r.iter().any(|r| r["uid"] == owner_uid))
}

pub(super) fn terminating(o: &Value) -> bool {
    !o["metadata"]["deletionTimestamp"].is_null()
}

pub(super) fn ready(p: &Value) -> bool {
    p["status"]["conditions"]
        .as_array()
        .is_some_and(|c| c.iter().any(|c| c["type"] == "Ready" && c["status"] == "True"))
}

pub(super) fn owner_ref(o: &Value) -> Value {
    json!([{"apiVersion": o["apiVersion"], "kind": o["kind"], "name": o["metadata"]["name"], "uid": o["metadata"]["uid"], "controller": true}])
}

fn short_hash(v: &Value) -> String {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    v.to_string().hash(&mut h);
    let alphabet = b"bcdfghjklmnpqrstvwxz2456789";
    let mut n = h.finish();
    (0..10)
        .map(|_| {
            let c = alphabet[(n % alphabet.len() as u64) as usize] as char;
            n /= alphabet.len() as u64;
            c
        })
        .collect()
}

pub(super) fn selector_of(o: &Value) -> String {
    let m = o["spec"]["selector"]["matchLabels"]
        .as_object()
        .cloned()
        .or_else(|| o["spec"]["selector"].as_object().cloned());
    m.unwrap_or_default()
        .iter()
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
        .collect::<Vec<_>>()
        .join(",")
}

pub(super) fn set_status(store: &mut Store, r: &Res, mut o: Value, status: Value) {
    let mut merged = o["status"].clone();
    if !merged.is_object() {
        merged = json!({});
    }
    json_patch::merge(&mut merged, &status);
    if o["status"] != merged {
        o["status"] = merged;
        store.update(r, o);
    }
}

/// Records a Warning event about an object.
pub fn warn(store: &mut Store, mem: &mut Memory, about: &Value, reason: &str, message: &str) {
    mem.events += 1;
    let ev = res(store, "", "events");
    let ns = about["metadata"]["namespace"].as_str().unwrap_or("default").to_string();
    let obj = json!({
        "metadata": {"name": format!("{}.{:x}", about["metadata"]["name"].as_str().unwrap_or("x"), mem.events)},
        "involvedObject": {"kind": about["kind"], "name": about["metadata"]["name"], "namespace": ns, "uid": about["metadata"]["uid"]},
        "reason": reason, "message": message, "type": "Warning", "count": 1,
        "firstTimestamp": now(), "lastTimestamp": now(),
        "source": {"component": "test-apiserver"},
    });
    let _ = store.create(&ev, &ns, obj);
}

/// One turn of every controller.
pub fn reconcile(store: &mut Store, mem: &mut Memory, t: &Timing, knobs: &EngineKnobs) {
    rollouts(store);
    let pods_res = res(store, "", "pods");
    let nodes = res(store, "", "nodes");
    let schedulable: Vec<String> = store
        .list(&nodes, None)
        .into_iter()
        .filter(|n| n["spec"]["unschedulable"] != true)
        .filter_map(|n| n["metadata"]["name"].as_str().map(str::to_string))
        .collect();
    // A DaemonSet's pods tolerate node.kubernetes.io/unschedulable: a cordoned node keeps them.
    let every_node: Vec<String> = store
        .list(&nodes, None)
        .into_iter()
        .filter_map(|n| n["metadata"]["name"].as_str().map(str::to_string))
        .collect();
    for plural in ["replicasets", "statefulsets", "daemonsets"] {
        let r = res(store, "apps", plural);
        let on = if plural == "daemonsets" { &every_node } else { &schedulable };
        for owner in store.list(&r, None).into_iter().cloned().collect::<Vec<_>>() {
            keep_pods(store, mem, t, &r, owner, on);
        }
    }
    kubelet(store, mem, t, &pods_res, &schedulable);
    deployment_status(store);
    endpoints(store);
    budgets(store);
    autoscalers(store);
    super::engines::chaos_mesh(store, mem, t, knobs);
    super::engines::litmus(store, mem, t, knobs);
    collect_orphans(store);
}

/// Each Deployment owns a ReplicaSet per pod template; the current one has its replicas.
fn rollouts(store: &mut Store) {
    let deps = res(store, "apps", "deployments");
    let rss = res(store, "apps", "replicasets");
    for d in store.list(&deps, None).into_iter().cloned().collect::<Vec<_>>() {
        let ns = d["metadata"]["namespace"].as_str().unwrap_or_default().to_string();
        let name = d["metadata"]["name"].as_str().unwrap_or_default().to_string();
        let replicas = d["spec"]["replicas"].as_i64().unwrap_or(1);
        let hash = short_hash(&d["spec"]["template"]);
        let rs_name = format!("{name}-{hash}");
        let owned: Vec<Value> =
            store.list(&rss, Some(&ns)).into_iter().filter(|rs| owned_by(rs, &uid(&d))).cloned().collect();
        if !owned.iter().any(|rs| rs["metadata"]["name"] == rs_name) {
            let mut template = d["spec"]["template"].clone();
            template["metadata"]["labels"]["pod-template-hash"] = json!(hash);
            let mut labels = template["metadata"]["labels"].clone();
            labels["pod-template-hash"] = json!(hash);
            let rs = json!({
                "metadata": {"name": rs_name, "labels": labels, "ownerReferences": owner_ref(&d)},
                "spec": {"replicas": replicas, "selector": d["spec"]["selector"], "template": template},
            });
            let _ = store.create(&rss, &ns, rs);
        }
        for mut rs in owned {
            let want = if rs["metadata"]["name"] == rs_name { replicas } else { 0 };
            if rs["spec"]["replicas"].as_i64() != Some(want) {
                rs["spec"]["replicas"] = json!(want);
                store.update(&rss, rs);
            }
        }
    }
}

/// A Deployment's status adds up its ReplicaSets'.
fn deployment_status(store: &mut Store) {
    let deps = res(store, "apps", "deployments");
    let rss = res(store, "apps", "replicasets");
    for d in store.list(&deps, None).into_iter().cloned().collect::<Vec<_>>() {
        let ns = d["metadata"]["namespace"].as_str().unwrap_or_default().to_string();
        let mine: Vec<Value> =
            store.list(&rss, Some(&ns)).into_iter().filter(|rs| owned_by(rs, &uid(&d))).cloned().collect();
        let sum = |f: &str| mine.iter().map(|rs| rs["status"][f].as_i64().unwrap_or(0)).sum::<i64>();
        let status = json!({
            "replicas": sum("replicas"), "readyReplicas": sum("readyReplicas"),
            "availableReplicas": sum("readyReplicas"), "updatedReplicas": sum("replicas"),
            "observedGeneration": d["metadata"]["generation"],
        });
        set_status(store, &deps, d, status);
    }
}

/// A ReplicaSet, StatefulSet or DaemonSet keeps its pods.
fn keep_pods(store: &mut Store, mem: &mut Memory, t: &Timing, r: &Res, owner: Value, nodes: &[String]) {
    let pods = res(store, "", "pods");
    let ns = owner["metadata"]["namespace"].as_str().unwrap_or_default().to_string();
    let name = owner["metadata"]["name"].as_str().unwrap_or_default().to_string();
    let mine: Vec<Value> =
        store.list(&pods, Some(&ns)).into_iter().filter(|p| owned_by(p, &uid(&owner))).cloned().collect();
    let live: Vec<&Value> = mine.iter().filter(|p| !terminating(p)).collect();
    // Which pods should exist: names for a StatefulSet, nodes for a DaemonSet, a count otherwise.
    let wanted: Vec<(String, Option<String>)> = match r.plural {
        "statefulsets" => {
            (0..owner["spec"]["replicas"].as_i64().unwrap_or(1)).map(|i| (format!("{name}-{i}"), None)).collect()
        }
        "daemonsets" => {
            nodes.iter().map(|n| (format!("{name}-{}", &short_hash(&json!(n))[..5]), Some(n.clone()))).collect()
        }
        _ => Vec::new(),
    };
    let desired = match r.plural {
        "replicasets" => owner["spec"]["replicas"].as_i64().unwrap_or(1) as usize,
        _ => wanted.len(),
    };
    let missing: Vec<(String, Option<String>)> = match r.plural {
        "replicasets" => (live.len()..desired)
            .map(|i| (format!("{name}-{}", &short_hash(&json!([uid(&owner), mem.events, i, now()]))[..5]), None))
            .collect(),
        _ => wanted.iter().filter(|(n, _)| !mine.iter().any(|p| p["metadata"]["name"] == *n)).cloned().collect(),
    };
    let key = uid(&owner);
    if missing.is_empty() {
        mem.deficit_since.remove(&key);
    } else if mem.deficit_since.entry(key.clone()).or_insert_with(Instant::now).elapsed() >= t.replace {
        mem.deficit_since.remove(&key);
        for (pod_name, node) in missing {
            let mut spec = owner["spec"]["template"]["spec"].clone();
            if let Some(n) = node {
                spec["nodeName"] = json!(n);
            }
            let pod = json!({
                "metadata": {"name": pod_name, "labels": owner["spec"]["template"]["metadata"]["labels"], "ownerReferences": owner_ref(&owner)},
                "spec": spec,
                "status": {"phase": "Pending"},
            });
            let _ = store.create(&pods, &ns, pod);
        }
    }
    if r.plural == "replicasets" && live.len() > desired {
        let mut extra: Vec<Value> = live.iter().map(|p| (*p).clone()).collect();
        extra.sort_by_key(|p| {
            std::cmp::Reverse(p["metadata"]["resourceVersion"].as_str().unwrap_or("0").parse::<u64>().unwrap_or(0))
        });
        for p in extra.into_iter().take(live.len() - desired) {
            delete_object(store, &pods, p, None);
        }
    }
    let now_mine: Vec<Value> = store
        .list(&pods, Some(&ns))
        .into_iter()
        .filter(|p| owned_by(p, &uid(&owner)) && !terminating(p))
        .cloned()
        .collect();
    let ready_n = now_mine.iter().filter(|p| ready(p)).count();
    let status = match r.plural {
        "daemonsets" => {
            json!({"desiredNumberScheduled": wanted.len(), "currentNumberScheduled": now_mine.len(), "numberReady": ready_n, "numberAvailable": ready_n})
        }
        _ => json!({"replicas": now_mine.len(), "readyReplicas": ready_n, "availableReplicas": ready_n}),
    };
    set_status(store, r, owner, status);
}

/// Schedules, starts, readies and finally removes pods.
fn kubelet(store: &mut Store, mem: &mut Memory, t: &Timing, pods: &Res, nodes: &[String]) {
    let all: Vec<Value> = store.list(pods, None).into_iter().cloned().collect();
    let mut load: BTreeMap<String, usize> = nodes.iter().map(|n| (n.clone(), 0)).collect();
    for p in &all {
        if let Some(n) = p["spec"]["nodeName"].as_str() {
            *load.entry(n.to_string()).or_default() += 1;
        }
    }
    for mut p in all {
        let id = uid(&p);
        let age = mem.age(&id);
        if terminating(&p) {
            let grace = p["metadata"]["deletionGracePeriodSeconds"].as_u64().unwrap_or(0);
            let since = mem.first_seen.entry(format!("del-{id}")).or_insert_with(Instant::now).elapsed();
            if since >= Duration::from_secs(grace).min(Duration::from_secs(2)) {
                let ns = p["metadata"]["namespace"].as_str().unwrap_or_default().to_string();
                let name = p["metadata"]["name"].as_str().unwrap_or_default().to_string();
                store.remove(pods, &ns, &name);
            }
            continue;
        }
        if p["spec"]["nodeName"].is_null() {
            match load.iter().filter(|(n, _)| nodes.contains(n)).min_by_key(|(_, c)| **c).map(|(n, _)| n.clone()) {
                Some(node) => {
                    *load.entry(node.clone()).or_default() += 1;
                    p["spec"]["nodeName"] = json!(node);
                    store.update(pods, p);
                }
                None if age > t.start && p["status"]["conditions"].is_null() => {
                    warn(store, mem, &p, "FailedScheduling", "0/3 nodes are available: 3 node(s) were unschedulable.");
                    set_status(
                        store,
                        pods,
                        p,
                        json!({"conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable"}]}),
                    );
                }
                None => {}
            }
            continue;
        }
        let phase = p["status"]["phase"].as_str().unwrap_or("Pending").to_string();
        let containers: Vec<Value> = p["spec"]["containers"].as_array().cloned().unwrap_or_default();
        let unpullable = containers.iter().any(|c| {
            let image = c["image"].as_str().unwrap_or_default();
            image.contains("unpullable") || image.starts_with("gameday.invalid/")
        });
        if phase == "Pending" && age >= t.start {
            if unpullable {
                if p["status"]["containerStatuses"][0]["state"]["waiting"]["reason"] != "ImagePullBackOff" {
                    let image = containers.first().and_then(|c| c["image"].as_str()).unwrap_or_default().to_string();
                    warn(store, mem, &p, "Failed", &format!("Failed to pull image \"{image}\": not found"));
                    let statuses: Vec<Value> = containers
                        .iter()
                        .map(|c| {
                            json!({"name": c["name"], "image": c["image"], "ready": false, "restartCount": 0,
                            "state": {"waiting": {"reason": "ImagePullBackOff", "message": "Back-off pulling image"}}})
                        })
                        .collect();
                    set_status(store, pods, p, json!({"containerStatuses": statuses}));
                }
                continue;
            }
            let statuses: Vec<Value> = containers
                .iter()
                .map(|c| json!({"name": c["name"], "image": c["image"], "ready": false, "restartCount": 0, "state": {"running": {"startedAt": now()}}}))
                .collect();
            let ip = format!("10.0.{}.{}", (mem.events / 250) % 250, 1 + id.len() as u64 + mem.events % 250);
            mem.events += 1;
            mem.first_seen.insert(format!("run-{id}"), Instant::now());
            set_status(
                store,
                pods,
                p,
                json!({"phase": "Running", "podIP": ip, "containerStatuses": statuses,
                    "conditions": [{"type": "PodScheduled", "status": "True"}, {"type": "Ready", "status": "False"}]}),
            );
            continue;
        }
        if phase == "Running" && !ready(&p) {
            let since = mem.first_seen.entry(format!("run-{id}")).or_insert_with(Instant::now).elapsed();
            if since >= t.ready {
                let mut statuses = p["status"]["containerStatuses"].clone();
                if let Some(a) = statuses.as_array_mut() {
                    for s in a {
                        s["ready"] = json!(true);
                    }
                }
                set_status(
                    store,
                    pods,
                    p,
                    json!({"containerStatuses": statuses, "conditions": [{"type": "PodScheduled", "status": "True"}, {"type": "Ready", "status": "True"}]}),
                );
            }
        }
    }
}

fn endpoints(store: &mut Store) {
    let svcs = res(store, "", "services");
    let pods = res(store, "", "pods");
    let slices = res(store, "discovery.k8s.io", "endpointslices");
    for s in store.list(&svcs, None).into_iter().cloned().collect::<Vec<_>>() {
        let sel = selector_of(&s);
        if sel.is_empty() {
            continue;
        }
        let ns = s["metadata"]["namespace"].as_str().unwrap_or_default().to_string();
        let name = s["metadata"]["name"].as_str().unwrap_or_default().to_string();
        let eps: Vec<Value> = store
            .list(&pods, Some(&ns))
            .into_iter()
            .filter(|p| label_selector_matches(&sel, &p["metadata"]["labels"]) && !p["status"]["podIP"].is_null())
            .map(|p| {
                json!({"addresses": [p["status"]["podIP"]], "conditions": {"ready": ready(p) && !terminating(p)},
                "targetRef": {"kind": "Pod", "name": p["metadata"]["name"], "namespace": ns}})
            })
            .collect();
        let slice_name = format!("{name}-slice");
        match store.get(&slices, &ns, &slice_name).cloned() {
            Some(mut sl) if sl["endpoints"] != json!(eps) => {
                sl["endpoints"] = json!(eps);
                store.update(&slices, sl);
            }
            Some(_) => {}
            None => {
                let sl = json!({"metadata": {"name": slice_name, "labels": {"kubernetes.io/service-name": name}, "ownerReferences": owner_ref(&s)},
                    "addressType": "IPv4", "endpoints": eps, "ports": s["spec"]["ports"]});
                let _ = store.create(&slices, &ns, sl);
            }
        }
    }
}

/// The disruption controller: each PodDisruptionBudget's status from its pods.
fn budgets(store: &mut Store) {
    let Some(pdbs) = store.res("policy", "poddisruptionbudgets") else { return };
    let pods = res(store, "", "pods");
    for b in store.list(&pdbs, None).into_iter().cloned().collect::<Vec<_>>() {
        let ns = b["metadata"]["namespace"].as_str().unwrap_or_default().to_string();
        let sel = selector_of(&b);
        let mine: Vec<&Value> = store
            .list(&pods, Some(&ns))
            .into_iter()
            .filter(|p| label_selector_matches(&sel, &p["metadata"]["labels"]) && !terminating(p))
            .collect();
        let expected = mine.len() as i64;
        let healthy = mine.iter().filter(|p| ready(p)).count() as i64;
        let desired = match (b["spec"]["minAvailable"].as_i64(), b["spec"]["maxUnavailable"].as_i64()) {
            (Some(min), _) => min,
            (None, Some(max)) => expected - max,
            (None, None) => expected,
        };
        let status = json!({"currentHealthy": healthy, "desiredHealthy": desired, "expectedPods": expected,
            "disruptionsAllowed": (healthy - desired).max(0), "observedGeneration": b["metadata"]["generation"]});
        set_status(store, &pdbs, b, status);
    }
}

/// The horizontal pod autoscaler: a workload it targets is kept within its minReplicas and
/// maxReplicas (the metrics it would scale on are steady here), so a scale outside them is
/// undone at its next turn, as the real one does.
fn autoscalers(store: &mut Store) {
    let Some(hpas) = store.res("autoscaling", "horizontalpodautoscalers") else { return };
    for h in store.list(&hpas, None).into_iter().cloned().collect::<Vec<_>>() {
        let ns = h["metadata"]["namespace"].as_str().unwrap_or_default().to_string();
        let target = &h["spec"]["scaleTargetRef"];
        let plural = match target["kind"].as_str() {
            Some("Deployment") => "deployments",
            Some("StatefulSet") => "statefulsets",
            _ => continue,
        };
        let r = res(store, "apps", plural);
        let Some(mut w) = store.get(&r, &ns, target["name"].as_str().unwrap_or_default()).cloned() else { continue };
        let (min, max) =
            (h["spec"]["minReplicas"].as_i64().unwrap_or(1), h["spec"]["maxReplicas"].as_i64().unwrap_or(1));
        let now = w["spec"]["replicas"].as_i64().unwrap_or(1);
        let want = now.clamp(min, max.max(min));
        if want != now {
            w["spec"]["replicas"] = json!(want);
            store.update(&r, w);
        }
    }
}

/// Objects whose controlling owner is gone go too (pods at once).
fn collect_orphans(store: &mut Store) {
    let mut uids: std::collections::HashSet<String> = std::collections::HashSet::new();
    for objs in store.objects.values() {
        for o in objs.values() {
            uids.insert(uid(o));
        }
    }
    let mut doomed = Vec::new();
    for (key, objs) in &store.objects {
        for o in objs.values() {
            let owners = o["metadata"]["ownerReferences"].as_array();
            if owners.is_some_and(|r| {
                !r.is_empty() && r.iter().all(|r| !uids.contains(r["uid"].as_str().unwrap_or_default()))
            }) {
                doomed.push((key.clone(), o.clone()));
            }
        }
    }
    for (key, o) in doomed {
        if let Some(r) = store.resources.iter().copied().find(|r| r.key() == key) {
            delete_object(store, &r, o, Some(0));
        }
    }
}
