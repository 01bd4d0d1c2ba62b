//! The test API server's storage: objects by resource, a global resourceVersion, the history
//! watches resume from (compactable, so a resume can get 410 Gone), selectors and patches.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use serde_json::{json, Value};
use tokio::sync::broadcast;

/// A resource type the server serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Res {
    pub group: &'static str,
    pub version: &'static str,
    pub kind: &'static str,
    pub plural: &'static str,
    pub namespaced: bool,
}

impl Res {
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }
    /// The key the store files it under.
    pub fn key(&self) -> String {
        format!("{}/{}", self.group, self.plural)
    }
}

const fn r(
    group: &'static str,
    version: &'static str,
    kind: &'static str,
    plural: &'static str,
    namespaced: bool,
) -> Res {
    Res { group, version, kind, plural, namespaced }
}

pub const BUILTIN: &[Res] = &[
    r("", "v1", "Namespace", "namespaces", false),
    r("", "v1", "Node", "nodes", false),
    r("", "v1", "Pod", "pods", true),
    r("", "v1", "Service", "services", true),
    r("", "v1", "ConfigMap", "configmaps", true),
    r("", "v1", "ServiceAccount", "serviceaccounts", true),
    r("", "v1", "Event", "events", true),
    r("apps", "v1", "Deployment", "deployments", true),
    r("apps", "v1", "StatefulSet", "statefulsets", true),
    r("apps", "v1", "DaemonSet", "daemonsets", true),
    r("apps", "v1", "ReplicaSet", "replicasets", true),
    r("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices", true),
    r("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", true),
    r("autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers", true),
    r("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", true),
    r("coordination.k8s.io", "v1", "Lease", "leases", true),
    r("events.k8s.io", "v1", "Event", "events", true),
];

pub const CHAOS_MESH: &[Res] = &[
    r("chaos-mesh.org", "v1alpha1", "NetworkChaos", "networkchaos", true),
    r("chaos-mesh.org", "v1alpha1", "StressChaos", "stresschaos", true),
    r("chaos-mesh.org", "v1alpha1", "PodChaos", "podchaos", true),
    // Kinds gameday never creates but searches for its markers, one of them cluster-scoped.
    r("chaos-mesh.org", "v1alpha1", "IOChaos", "iochaos", true),
    r("chaos-mesh.org", "v1alpha1", "RemoteCluster", "remoteclusters", false),
];

pub const LITMUS: &[Res] = &[
    r("litmuschaos.io", "v1alpha1", "ChaosEngine", "chaosengines", true),
    r("litmuschaos.io", "v1alpha1", "ChaosResult", "chaosresults", true),
    r("litmuschaos.io", "v1alpha1", "ChaosExperiment", "chaosexperiments", true),
];

/// One change, as a watch stream sends it.
#[derive(Clone, Debug)]
pub struct Change {
    pub rv: u64,
    pub res: String,
    pub typ: &'static str,
    pub object: Value,
}

/// (namespace, name); the namespace is empty for cluster-scoped objects.
pub type Key = (String, String);

pub struct Store {
    pub rv: u64,
    pub resources: Vec<Res>,
    pub objects: BTreeMap<String, BTreeMap<Key, Value>>,
    pub history: VecDeque<Arc<Change>>,
    /// Watches from before this version get 410 Gone.
    pub oldest: u64,
    pub tx: broadcast::Sender<Arc<Change>>,
    uid: u64,
}

/// How many changes the history keeps before it compacts by itself.
const HISTORY: usize = 50_000;

pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

impl Store {
    pub fn new() -> Store {
        let (tx, _) = broadcast::channel(65_536);
        Store {
            rv: 1,
            resources: BUILTIN.to_vec(),
            objects: BTreeMap::new(),
            history: VecDeque::new(),
            oldest: 1,
            tx,
            uid: 0,
        }
    }

    pub fn res(&self, group: &str, plural: &str) -> Option<Res> {
        self.resources.iter().copied().find(|r| r.group == group && r.plural == plural)
    }

    pub fn res_of_kind(&self, kind: &str) -> Option<Res> {
        self.resources.iter().copied().find(|r| r.kind == kind)
    }

    fn record(&mut self, res: &Res, typ: &'static str, object: Value) {
        let change = Arc::new(Change { rv: self.rv, res: res.key(), typ, object });
        self.history.push_back(change.clone());
        if self.history.len() > HISTORY {
            if let Some(c) = self.history.pop_front() {
                self.oldest = c.rv + 1;
            }
        }
        let _ = self.tx.send(change);
    }

    /// Forgets the history: a watch resuming from before now gets 410 Gone.
    pub fn compact(&mut self) {
        self.history.clear();
        self.oldest = self.rv + 1;
    }

    pub fn get(&self, res: &Res, ns: &str, name: &str) -> Option<&Value> {
        let ns = if res.namespaced { ns } else { "" };
        self.objects.get(&res.key())?.get(&(ns.to_string(), name.to_string()))
    }

    pub fn list(&self, res: &Res, ns: Option<&str>) -> Vec<&Value> {
        let ns = ns.filter(|_| res.namespaced);
        self.objects
            .get(&res.key())
            .map(|m| m.iter().filter(|((n, _), _)| ns.is_none_or(|ns| ns == n)).map(|(_, v)| v).collect())
            .unwrap_or_default()
    }

    /// Creates an object (errors: name taken). Fills uid, resourceVersion, timestamps.
    pub fn create(&mut self, res: &Res, ns: &str, mut obj: Value) -> Result<Value, (u16, String)> {
        let name = obj["metadata"]["name"]
            .as_str()
            .map(str::to_string)
            .or_else(|| obj["metadata"]["generateName"].as_str().map(|g| format!("{g}{:05x}", self.uid + 1)));
        let Some(name) = name else { return Err((422, "metadata.name is required".into())) };
        let key = (if res.namespaced { ns.to_string() } else { String::new() }, name.clone());
        if self.objects.get(&res.key()).is_some_and(|m| m.contains_key(&key)) {
            return Err((409, format!("{} \"{name}\" already exists", res.plural)));
        }
        self.rv += 1;
        self.uid += 1;
        obj["apiVersion"] = json!(res.api_version());
        obj["kind"] = json!(res.kind);
        let md = &mut obj["metadata"];
        md["name"] = json!(name);
        if res.namespaced {
            md["namespace"] = json!(ns);
        }
        md["uid"] = json!(format!("uid-{:08}", self.uid));
        md["resourceVersion"] = json!(self.rv.to_string());
        md["creationTimestamp"] = json!(now());
        md["generation"] = json!(1);
        self.objects.entry(res.key()).or_default().insert(key, obj.clone());
        self.record(res, "ADDED", obj.clone());
        Ok(obj)
    }

    /// Replaces an object with `obj` (already changed by the caller), bumping its version.
    pub fn update(&mut self, res: &Res, mut obj: Value) -> Value {
        omit_empty(&mut obj);
        let ns = obj["metadata"]["namespace"].as_str().unwrap_or_default().to_string();
        let name = obj["metadata"]["name"].as_str().unwrap_or_default().to_string();
        let key = (if res.namespaced { ns } else { String::new() }, name);
        let old = self.objects.get(&res.key()).and_then(|m| m.get(&key)).cloned();
        self.rv += 1;
        if let Some(old) = &old {
            if old.get("spec") != obj.get("spec") {
                let g = old["metadata"]["generation"].as_i64().unwrap_or(1) + 1;
                obj["metadata"]["generation"] = json!(g);
            }
            for k in ["uid", "creationTimestamp"] {
                obj["metadata"][k] = old["metadata"][k].clone();
            }
        }
        obj["metadata"]["resourceVersion"] = json!(self.rv.to_string());
        self.objects.entry(res.key()).or_default().insert(key, obj.clone());
        self.record(res, "MODIFIED", obj.clone());
        obj
    }

    pub fn remove(&mut self, res: &Res, ns: &str, name: &str) -> Option<Value> {
        let key = (if res.namespaced { ns.to_string() } else { String::new() }, name.to_string());
        let mut obj = self.objects.get_mut(&res.key())?.remove(&key)?;
        self.rv += 1;
        obj["metadata"]["resourceVersion"] = json!(self.rv.to_string());
        self.record(res, "DELETED", obj.clone());
        Some(obj)
    }

    /// Every object of a resource, for a watch started without a version (ADDED each).
    pub fn snapshot(&self, res: &Res) -> Vec<Value> {
        self.objects.get(&res.key()).map(|m| m.values().cloned().collect()).unwrap_or_default()
    }
}

/// `a=b,c!=d,e,!f,g in (x,y),h notin (z)`
pub fn label_selector_matches(selector: &str, labels: &Value) -> bool {
    let get = |k: &str| labels.get(k).and_then(Value::as_str);
    split_selector(selector).iter().all(|term| {
        let t = term.trim();
        if t.is_empty() {
            return true;
        }
        if let Some((k, set)) = t.split_once(" notin ") {
            let set = parse_set(set);
            return get(k.trim()).is_none_or(|v| !set.contains(&v.to_string()));
        }
        if let Some((k, set)) = t.split_once(" in ") {
            let set = parse_set(set);
            return get(k.trim()).is_some_and(|v| set.contains(&v.to_string()));
        }
        if let Some((k, v)) = t.split_once("!=") {
            return get(k.trim()) != Some(v.trim());
        }
        if let Some((k, v)) = t.split_once("==").or_else(|| t.split_once('=')) {
            return get(k.trim()) == Some(v.trim());
        }
        if let Some(k) = t.strip_prefix('!') {
            return get(k.trim()).is_none();
        }
        get(t).is_some()
    })
}

/// Splits on commas outside parentheses.
fn split_selector(s: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut depth = 0;
    for c in s.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(String::new());
                continue;
            }
            _ => {}
        }
        if let Some(last) = out.last_mut() {
            last.push(c);
        }
    }
    out
}

fn parse_set(s: &str) -> Vec<String> {
    s.trim().trim_start_matches('(').trim_end_matches(')').split(',').map(|v| v.trim().to_string()).collect()
}

/// `metadata.name=x,spec.nodeName!=y`: any dotted path of the object, compared as text.
pub fn field_selector_matches(selector: &str, obj: &Value) -> bool {
    selector.split(',').filter(|t| !t.trim().is_empty()).all(|term| {
        let (path, want, neg) = match term.split_once("!=") {
            Some((p, v)) => (p, v, true),
            None => match term.split_once("==").or_else(|| term.split_once('=')) {
                Some((p, v)) => (p, v, false),
                None => return true,
            },
        };
        let mut cur = obj;
        for part in path.trim().split('.') {
            cur = &cur[part];
        }
        let have = match cur {
            Value::String(s) => s.clone(),
            Value::Null => String::new(),
            other => other.to_string(),
        };
        (have == want.trim()) != neg
    })
}

/// Strategic merge as the server does it for the common cases: a merge patch, except that
/// lists of objects with a `name` merge by name (containers, env, ports), and `$patch: delete`.
pub fn strategic_merge(doc: &mut Value, patch: &Value) {
    match (doc, patch) {
        (Value::Object(d), Value::Object(p)) => {
            for (k, pv) in p {
                if pv.is_null() {
                    d.remove(k);
                    continue;
                }
                match (d.get_mut(k), pv) {
                    (Some(Value::Array(da)), Value::Array(pa)) if pa.iter().all(|x| x.get("name").is_some()) => {
                        for item in pa {
                            let name = &item["name"];
                            if item.get("$patch").and_then(Value::as_str) == Some("delete") {
                                da.retain(|x| &x["name"] != name);
                            } else if let Some(existing) = da.iter_mut().find(|x| &x["name"] == name) {
                                strategic_merge(existing, item);
                            } else {
                                da.push(item.clone());
                            }
                        }
                    }
                    (Some(dv), pv) if dv.is_object() && pv.is_object() => strategic_merge(dv, pv),
                    _ => {
                        d.insert(k.clone(), pv.clone());
                    }
                }
            }
        }
        (doc, patch) => *doc = patch.clone(),
    }
}

/// As the real server stores objects (Go structs, `omitempty`): a metadata's labels or
/// annotations left empty by a patch are no field at all.
fn omit_empty(v: &mut Value) {
    match v {
        Value::Object(map) => {
            if let Some(Value::Object(md)) = map.get_mut("metadata") {
                for k in ["labels", "annotations"] {
                    if md.get(k).is_some_and(|m| m.as_object().is_some_and(|m| m.is_empty())) {
                        md.remove(k);
                    }
                }
            }
            map.values_mut().for_each(omit_empty);
        }
        Value::Array(items) => items.iter_mut().for_each(omit_empty),
        _ => {}
    }
}
