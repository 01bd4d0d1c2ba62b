//! The HTTP face of the test API server: the paths, verbs and bodies the real kube client uses.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use super::store::{field_selector_matches, label_selector_matches, now, strategic_merge, Res, Store};
use super::Server;

pub fn status(code: u16, reason: &str, message: &str) -> Response {
    let body = json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {},
        "status": if code < 300 { "Success" } else { "Failure" },
        "message": message, "reason": reason, "code": code,
    });
    (StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR), axum::Json(body)).into_response()
}

fn not_found(what: &str, name: &str) -> Response {
    status(404, "NotFound", &format!("{what} \"{name}\" not found"))
}

fn ok(v: Value) -> Response {
    (StatusCode::OK, axum::Json(v)).into_response()
}

/// What a path names.
struct Target {
    res: Res,
    ns: String,
    name: Option<String>,
    sub: Option<String>,
}

pub async fn handle(
    State(srv): State<Arc<Server>>,
    method: Method,
    uri: Uri,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    let is_watch = matches!(q.get("watch").map(String::as_str), Some("true" | "1"));
    if let Some(r) = srv.misbehave(&method, &path, is_watch).await {
        return r;
    }
    let segs: Vec<&str> = path.trim_matches('/').split('/').filter(|s| !s.is_empty()).collect();
    // The service proxy, and metrics-server's API (served by an aggregated API server for real).
    match segs.as_slice() {
        ["api", "v1", "namespaces", ns, "services", id, "proxy", ..] => {
            // What follows `/proxy/`, as given (a trailing slash kept).
            let rest = path.splitn(9, '/').nth(8).unwrap_or_default();
            let (ns, id) = (percent_decoded(ns), percent_decoded(id));
            return srv.proxy_service(&method, &ns, &id, rest, uri.query(), &headers, body).await;
        }
        ["apis", super::metrics::GROUP, rest @ ..] => {
            return srv.metrics(&method, rest, &q).unwrap_or_else(|| {
                status(404, "NotFound", &format!("the server could not find the requested resource ({path})"))
            })
        }
        _ => {}
    }
    let (group, version, rest) = match segs.as_slice() {
        ["version"] => {
            return ok(
                json!({"major": "1", "minor": "31", "gitVersion": "v1.31.0-gameday-test", "platform": "linux/amd64"}),
            )
        }
        ["api"] => return ok(json!({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []})),
        ["apis"] => return ok(srv.group_list()),
        ["api", "v1"] => return ok(srv.resource_list("", "v1")),
        ["apis", g, v] => return ok(srv.resource_list(g, v)),
        ["api", "v1", rest @ ..] => ("", "v1", rest.to_vec()),
        ["apis", g, v, rest @ ..] => (*g, *v, rest.to_vec()),
        _ => return status(404, "NotFound", &format!("no route for {path}")),
    };
    let store = srv.store.lock().unwrap();
    let res_of = |plural: &str| store.res(group, plural).filter(|r| r.version == version);
    let target = match rest.as_slice() {
        ["namespaces", ns, plural, more @ ..] if res_of(plural).is_some_and(|r| r.namespaced) => Target {
            res: res_of(plural).unwrap(),
            ns: ns.to_string(),
            name: more.first().map(|s| s.to_string()),
            sub: more.get(1).map(|s| s.to_string()),
        },
        [plural, more @ ..] if res_of(plural).is_some() => Target {
            res: res_of(plural).unwrap(),
            ns: String::new(),
            name: more.first().map(|s| s.to_string()),
            sub: more.get(1).map(|s| s.to_string()),
        },
        _ => return status(404, "NotFound", &format!("the server could not find the requested resource ({path})")),
    };
    drop(store);
    // RBAC, as the authorizer answers before anything else.
    let verb = match (&method, &target.name) {
        (&Method::GET, None) if is_watch => "watch",
        (&Method::GET, None) => "list",
        (&Method::GET, Some(_)) => "get",
        (&Method::POST, _) => "create",
        (&Method::PUT, _) => "update",
        (&Method::PATCH, _) => "patch",
        (&Method::DELETE, _) => "delete",
        _ => "",
    };
    if srv.knobs.lock().unwrap().forbidden.iter().any(|(p, v)| p == target.res.plural && v == verb) {
        let scope = if target.ns.is_empty() {
            "at the cluster scope".to_string()
        } else {
            format!("in the namespace \"{}\"", target.ns)
        };
        let group = target.res.group;
        return status(
            403,
            "Forbidden",
            &format!(
                "{}{}{group} is forbidden: User \"system:serviceaccount:test:gameday\" cannot {verb} resource \"{}\" in API group \"{group}\" {scope}",
                target.res.plural,
                if group.is_empty() { "" } else { "." },
                target.res.plural
            ),
        );
    }
    match (&method, &target.name, &target.sub) {
        (&Method::GET, None, _) if is_watch => srv.watch(&target, &q),
        (&Method::GET, None, _) => srv.list(&target, &q),
        (&Method::GET, Some(name), sub) => srv.get(&target, name, sub.as_deref()),
        (&Method::POST, None, _) => srv.create(&target, &body),
        (&Method::POST, Some(name), Some(sub)) if sub == "eviction" => srv.evict(&target, name, &body),
        (&Method::PUT, Some(name), sub) => srv.replace(&target, name, sub.as_deref(), &body),
        (&Method::PATCH, Some(name), sub) => {
            let ctype = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
            srv.patch(&target, name, sub.as_deref(), &ctype, &body)
        }
        (&Method::DELETE, Some(name), _) => srv.delete(&target, name, &body, &q),
        _ => status(405, "MethodNotAllowed", &format!("{method} {path}")),
    }
}

/// A path segment with its `%XX` escapes decoded (a client may send `name%3Aport`).
fn percent_decoded(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        match (b[i], b.get(i + 1).copied().and_then(hex), b.get(i + 2).copied().and_then(hex)) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (c, ..) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn parse_body(body: &Bytes) -> Result<Value, Box<Response>> {
    if body.is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_slice(body).map_err(|e| Box::new(status(400, "BadRequest", &format!("body is not JSON: {e}"))))
}

/// The Scale subresource of a workload.
fn scale_of(obj: &Value) -> Value {
    json!({
        "apiVersion": "autoscaling/v1", "kind": "Scale",
        "metadata": {
            "name": obj["metadata"]["name"], "namespace": obj["metadata"]["namespace"],
            "resourceVersion": obj["metadata"]["resourceVersion"], "uid": obj["metadata"]["uid"],
        },
        "spec": {"replicas": obj["spec"]["replicas"].as_i64().unwrap_or(1)},
        "status": {"replicas": obj["status"]["replicas"].as_i64().unwrap_or(0)},
    })
}

/// 409 Conflict, as the API server answers a write whose precondition (the resourceVersion
/// the writer read, or a uid) no longer holds.
fn conflict(srv: &Server, res: &Res, name: &str) -> Response {
    let group = if res.group.is_empty() { String::new() } else { format!(".{}", res.group) };
    let message = format!(
        "Operation cannot be fulfilled on {}{group} \"{name}\": the object has been modified; please apply your changes to the latest version and try again",
        res.plural
    );
    srv.knobs.lock().unwrap().conflicts.push(message.clone());
    status(409, "Conflict", &message)
}

/// An events.k8s.io/v1 Event is the same object as a core/v1 Event, as the real API server
/// stores them: whoever lists or watches `events` in the core group sees it too (`regarding` as
/// `involvedObject`, `note` as `message`).
fn mirror_event(store: &mut Store, ns: &str, e: &Value) {
    let Some(core) = store.res("", "events") else { return };
    let name = e["metadata"]["name"].as_str().unwrap_or_default();
    let obj = json!({
        "metadata": {"name": name, "namespace": ns},
        "involvedObject": e["regarding"],
        "reason": e["reason"],
        "message": e["note"],
        "type": e["type"],
        "count": e["deprecatedCount"].as_i64().unwrap_or(1),
        "source": {"component": e["reportingController"]},
        "reportingComponent": e["reportingController"],
        "reportingInstance": e["reportingInstance"],
    });
    let _ = store.create(&core, ns, obj);
}

/// The API server refuses to change the data of a ConfigMap (or Secret) marked immutable.
fn immutable(res: &Res, old: &Value, new: &Value) -> Option<Response> {
    if !matches!(res.plural, "configmaps" | "secrets") || old["immutable"] != true {
        return None;
    }
    let same = ["data", "binaryData"].iter().all(|k| old[*k] == new[*k]) && new["immutable"] == true;
    (!same).then(|| {
        let name = old["metadata"]["name"].as_str().unwrap_or_default();
        status(
            422,
            "Invalid",
            &format!("ConfigMap \"{name}\" is invalid: data: Forbidden: field is immutable when `immutable` is set"),
        )
    })
}

/// The API server refuses a ConfigMap whose data (values of `data` and `binaryData`) is over
/// 1 MiB, as the real one validates it.
fn too_long(res: &Res, obj: &Value) -> Option<Response> {
    if res.plural != "configmaps" {
        return None;
    }
    let size: usize = ["data", "binaryData"]
        .iter()
        .filter_map(|k| obj[*k].as_object())
        .flat_map(|m| m.values())
        .map(|v| v.as_str().map(str::len).unwrap_or_default())
        .sum();
    (size > 1024 * 1024).then(|| {
        let name = obj["metadata"]["name"].as_str().unwrap_or_default();
        status(
            422,
            "Invalid",
            &format!("ConfigMap \"{name}\" is invalid: []: Too long: must have at most 1048576 bytes"),
        )
    })
}

/// Whether `given` (a resourceVersion in a request) is stale against the stored object.
fn stale(given: &Value, stored: &Value) -> bool {
    given.as_str().is_some_and(|rv| !rv.is_empty() && Some(rv) != stored["metadata"]["resourceVersion"].as_str())
}

impl Server {
    /// Someone else's write lands now, if one is waiting for this resource.
    fn interleave(&self, store: &mut Store, res: &Res, ns: &str, name: &str) {
        let change = {
            let mut k = self.knobs.lock().unwrap();
            match &k.interleave {
                Some((plural, _)) if plural == res.plural => k.interleave.take().map(|(_, f)| f),
                _ => None,
            }
        };
        if let (Some(change), Some(mut obj)) = (change, store.get(res, ns, name).cloned()) {
            change(&mut obj);
            store.update(res, obj);
        }
    }

    async fn misbehave(&self, method: &Method, path: &str, is_watch: bool) -> Option<Response> {
        let (delay, fail, offline) = {
            let mut k = self.knobs.lock().unwrap();
            k.requests.push(format!("{method} {path}{}", if is_watch { " (watch)" } else { "" }));
            let fail = if k.fail_next > 0 && (!is_watch || k.fail_watches) {
                k.fail_next -= 1;
                Some(k.fail_code)
            } else {
                None
            };
            (k.delay, fail, k.offline)
        };
        if offline {
            return Some(status(503, "ServiceUnavailable", "the API server is offline (test)"));
        }
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        fail.map(|code| status(code, "InternalError", "injected failure (test)"))
    }

    pub fn group_list(&self) -> Value {
        let store = self.store.lock().unwrap();
        let mut groups: Vec<(String, String)> = store
            .resources
            .iter()
            .filter(|r| !r.group.is_empty())
            .map(|r| (r.group.to_string(), r.version.to_string()))
            .collect();
        groups.sort();
        groups.dedup();
        let mut groups: Vec<Value> = groups
            .iter()
            .map(|(g, v)| {
                let gv = json!({"groupVersion": format!("{g}/{v}"), "version": v});
                json!({"name": g, "versions": [gv.clone()], "preferredVersion": gv})
            })
            .collect();
        drop(store);
        if !self.knobs.lock().unwrap().no_metrics_server {
            groups.push(super::metrics::group());
        }
        json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
    }

    pub fn resource_list(&self, group: &str, version: &str) -> Value {
        let store = self.store.lock().unwrap();
        let verbs = ["create", "delete", "get", "list", "patch", "update", "watch"];
        let mut resources: Vec<Value> = Vec::new();
        for r in store.resources.iter().filter(|r| r.group == group && r.version == version) {
            resources.push(json!({
                "name": r.plural, "singularName": r.kind.to_lowercase(), "namespaced": r.namespaced,
                "kind": r.kind, "verbs": verbs,
            }));
            resources.push(json!({"name": format!("{}/status", r.plural), "singularName": "", "namespaced": r.namespaced, "kind": r.kind, "verbs": ["get", "patch", "update"]}));
            if matches!(r.plural, "deployments" | "statefulsets" | "replicasets") {
                resources.push(json!({"name": format!("{}/scale", r.plural), "singularName": "", "namespaced": true, "group": "autoscaling", "version": "v1", "kind": "Scale", "verbs": ["get", "patch", "update"]}));
            }
            if r.plural == "pods" {
                resources.push(json!({"name": "pods/eviction", "singularName": "", "namespaced": true, "group": "policy", "version": "v1", "kind": "Eviction", "verbs": ["create"]}));
            }
        }
        let gv = if group.is_empty() { version.to_string() } else { format!("{group}/{version}") };
        json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources})
    }

    fn selected(obj: &Value, q: &HashMap<String, String>) -> bool {
        q.get("labelSelector").is_none_or(|s| label_selector_matches(s, &obj["metadata"]["labels"]))
            && q.get("fieldSelector").is_none_or(|s| field_selector_matches(s, obj))
    }

    fn list(&self, t: &Target, q: &HashMap<String, String>) -> Response {
        let store = self.store.lock().unwrap();
        let ns = (!t.ns.is_empty()).then_some(t.ns.as_str());
        let mut items: Vec<&Value> = store.list(&t.res, ns).into_iter().filter(|o| Self::selected(o, q)).collect();
        let start: usize = q.get("continue").and_then(|c| c.parse().ok()).unwrap_or(0);
        let limit: usize = q.get("limit").and_then(|l| l.parse().ok()).filter(|l| *l > 0).unwrap_or(usize::MAX);
        let total = items.len();
        items = items.into_iter().skip(start).take(limit).collect();
        let mut metadata = json!({"resourceVersion": store.rv.to_string()});
        if start + items.len() < total {
            metadata["continue"] = json!((start + items.len()).to_string());
            metadata["remainingItemCount"] = json!(total - start - items.len());
        }
        ok(json!({
            "kind": format!("{}List", t.res.kind), "apiVersion": t.res.api_version(),
            "metadata": metadata, "items": items,
        }))
    }

    fn get(&self, t: &Target, name: &str, sub: Option<&str>) -> Response {
        let store = self.store.lock().unwrap();
        match (store.get(&t.res, &t.ns, name), sub) {
            (None, _) => not_found(t.res.plural, name),
            (Some(o), Some("scale")) => ok(scale_of(o)),
            (Some(o), _) => ok(o.clone()),
        }
    }

    fn create(&self, t: &Target, body: &Bytes) -> Response {
        let obj = match parse_body(body) {
            Ok(v) => v,
            Err(r) => return *r,
        };
        let ns = if t.ns.is_empty() {
            obj["metadata"]["namespace"].as_str().unwrap_or("default").to_string()
        } else {
            t.ns.clone()
        };
        if let Some(refused) = too_long(&t.res, &obj) {
            return refused;
        }
        // A chaos object is checked against the fields its published CRD defines.
        if let Some(schema) = super::schemas::of(t.res.kind) {
            let problems = super::schemas::check(&schema, &obj);
            if !problems.is_empty() {
                let name = obj["metadata"]["name"].as_str().unwrap_or_default();
                let message = format!("{}.{} \"{name}\" is invalid: {}", t.res.kind, t.res.group, problems.join("; "));
                self.knobs.lock().unwrap().invalid.push(message.clone());
                return status(422, "Invalid", &message);
            }
        }
        let mut store = self.store.lock().unwrap();
        // A namespaced object needs its namespace (`default` always exists).
        if t.res.namespaced && ns != "default" {
            if let Some(nres) = store.res("", "namespaces") {
                if store.get(&nres, "", &ns).is_none() {
                    return not_found("namespaces", &ns);
                }
            }
        }
        match store.create(&t.res, &ns, obj) {
            Ok(o) => {
                if t.res.group == "events.k8s.io" {
                    mirror_event(&mut store, &ns, &o);
                }
                (StatusCode::CREATED, axum::Json(o)).into_response()
            }
            Err((409, m)) => status(409, "AlreadyExists", &m),
            Err((code, m)) => status(code, "Invalid", &m),
        }
    }

    fn replace(&self, t: &Target, name: &str, sub: Option<&str>, body: &Bytes) -> Response {
        let new = match parse_body(body) {
            Ok(v) => v,
            Err(r) => return *r,
        };
        if let Some(refused) = too_long(&t.res, &new) {
            return refused;
        }
        let mut store = self.store.lock().unwrap();
        self.interleave(&mut store, &t.res, &t.ns, name);
        let Some(old) = store.get(&t.res, &t.ns, name).cloned() else { return not_found(t.res.plural, name) };
        if stale(&new["metadata"]["resourceVersion"], &old) {
            drop(store);
            return conflict(self, &t.res, name);
        }
        if let Some(refused) = immutable(&t.res, &old, &new) {
            return refused;
        }
        let obj = if sub == Some("scale") {
            let mut o = old;
            o["spec"]["replicas"] = new["spec"]["replicas"].clone();
            o
        } else {
            // The object is the one the path names: a body naming another is refused, a body
            // naming none is given the path's name and namespace.
            let mut new = new;
            let body_ns = new["metadata"]["namespace"].as_str().unwrap_or_default().to_string();
            if t.res.namespaced && !body_ns.is_empty() && body_ns != t.ns {
                return status(
                    400,
                    "BadRequest",
                    "the namespace of the provided object does not match the namespace sent on the request",
                );
            }
            if new["metadata"]["name"].as_str().is_some_and(|n| n != name) {
                return status(400, "BadRequest", "the name of the object does not match the name on the URL");
            }
            new["metadata"]["name"] = json!(name);
            if t.res.namespaced {
                new["metadata"]["namespace"] = json!(t.ns);
            }
            new["apiVersion"] = json!(t.res.api_version());
            new["kind"] = json!(t.res.kind);
            new
        };
        let updated = store.update(&t.res, obj);
        ok(if sub == Some("scale") { scale_of(&updated) } else { updated })
    }

    fn patch(&self, t: &Target, name: &str, sub: Option<&str>, ctype: &str, body: &Bytes) -> Response {
        let p = match parse_body(body) {
            Ok(v) => v,
            Err(r) => return *r,
        };
        let mut store = self.store.lock().unwrap();
        self.interleave(&mut store, &t.res, &t.ns, name);
        let existing = store.get(&t.res, &t.ns, name).cloned();
        let apply = ctype.starts_with("application/apply-patch");
        let Some(old) = existing.or_else(|| apply.then(|| json!({"metadata": {"name": name}}))) else {
            return not_found(t.res.plural, name);
        };
        let old_stored = old.clone();
        // A resourceVersion in a merge patch is a precondition, as in an update.
        if !ctype.starts_with("application/json-patch+json") && stale(&p["metadata"]["resourceVersion"], &old) {
            drop(store);
            return conflict(self, &t.res, name);
        }
        let mut doc = if sub == Some("scale") { scale_of(&old) } else { old.clone() };
        if ctype.starts_with("application/json-patch+json") {
            let ops: json_patch::Patch = match serde_json::from_value(p) {
                Ok(ops) => ops,
                Err(e) => return status(400, "BadRequest", &format!("not a JSON patch: {e}")),
            };
            if let Err(e) = json_patch::patch(&mut doc, &ops) {
                return status(422, "Invalid", &format!("the JSON patch does not apply: {e}"));
            }
        } else if ctype.starts_with("application/strategic-merge-patch+json") {
            strategic_merge(&mut doc, &p);
        } else if ctype.starts_with("application/merge-patch+json") || apply {
            json_patch::merge(&mut doc, &p);
        } else {
            return status(415, "UnsupportedMediaType", &format!("patch type {ctype}"));
        }
        if store.get(&t.res, &t.ns, name).is_none() {
            return match store.create(&t.res, &t.ns, doc) {
                Ok(o) => (StatusCode::CREATED, axum::Json(o)).into_response(),
                Err((code, m)) => status(code, "Invalid", &m),
            };
        }
        let obj = if sub == Some("scale") {
            let mut o = old;
            o["spec"]["replicas"] = doc["spec"]["replicas"].clone();
            o
        } else {
            doc["metadata"]["name"] = json!(name);
            if t.res.namespaced {
                doc["metadata"]["namespace"] = json!(t.ns);
            }
            doc
        };
        if let Some(refused) = too_long(&t.res, &obj).or_else(|| immutable(&t.res, &old_stored, &obj)) {
            return refused;
        }
        let updated = store.update(&t.res, obj);
        ok(if sub == Some("scale") { scale_of(&updated) } else { updated })
    }

    fn delete(&self, t: &Target, name: &str, body: &Bytes, q: &HashMap<String, String>) -> Response {
        let opts = parse_body(body).unwrap_or(Value::Null);
        let grace =
            opts["gracePeriodSeconds"].as_i64().or_else(|| q.get("gracePeriodSeconds").and_then(|g| g.parse().ok()));
        let mut store = self.store.lock().unwrap();
        let Some(obj) = store.get(&t.res, &t.ns, name).cloned() else { return not_found(t.res.plural, name) };
        let pre = &opts["preconditions"];
        let uid_differs = pre["uid"].as_str().is_some_and(|u| Some(u) != obj["metadata"]["uid"].as_str());
        if stale(&pre["resourceVersion"], &obj) || uid_differs {
            drop(store);
            return conflict(self, &t.res, name);
        }
        ok(delete_object(&mut store, &t.res, obj, grace))
    }

    fn evict(&self, t: &Target, name: &str, body: &Bytes) -> Response {
        let ev = match parse_body(body) {
            Ok(v) => v,
            Err(r) => return *r,
        };
        // Strict field validation, as a server asked for it (or a future default) answers: a
        // field the policy/v1 Eviction does not define is refused, not silently dropped.
        if let Some(field) = unknown_field(&ev, EVICTION_FIELDS, "")
            .or_else(|| unknown_field(&ev["deleteOptions"], DELETE_OPTIONS_FIELDS, "deleteOptions."))
        {
            return status(400, "BadRequest", &format!("Eviction in version \"v1\" cannot be handled as a Eviction: strict decoding error: unknown field \"{field}\""));
        }
        // API Priority and Fairness turning a request away: plain text, and when to come back.
        {
            let mut k = self.knobs.lock().unwrap();
            if k.throttle_evictions > 0 {
                k.throttle_evictions -= 1;
                return (
                    StatusCode::TOO_MANY_REQUESTS,
                    [(axum::http::header::RETRY_AFTER, "1")],
                    "Too many requests, please try again later.\n",
                )
                    .into_response();
            }
        }
        let mut store = self.store.lock().unwrap();
        let Some(pod) = store.get(&t.res, &t.ns, name).cloned() else { return not_found("pods", name) };
        let healthy = |p: &Value| {
            p["metadata"]["deletionTimestamp"].is_null()
                && p["status"]["conditions"]
                    .as_array()
                    .is_some_and(|c| c.iter().any(|c| c["type"] == "Ready" && c["status"] == "True"))
        };
        if let Some(pdb_res) = store.res("policy", "poddisruptionbudgets") {
            for pdb in store.list(&pdb_res, Some(&t.ns)) {
                let sel = pdb["spec"]["selector"]["matchLabels"].as_object().cloned().unwrap_or_default();
                let sel: String = sel
                    .iter()
                    .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                    .collect::<Vec<_>>()
                    .join(",");
                if !label_selector_matches(&sel, &pod["metadata"]["labels"]) {
                    continue;
                }
                let matching: Vec<&Value> = store
                    .list(&t.res, Some(&t.ns))
                    .into_iter()
                    .filter(|p| {
                        label_selector_matches(&sel, &p["metadata"]["labels"])
                            && p["metadata"]["deletionTimestamp"].is_null()
                    })
                    .collect();
                let ready = matching.iter().filter(|p| healthy(p)).count() as i64;
                let allowed = match (pdb["spec"]["minAvailable"].as_i64(), pdb["spec"]["maxUnavailable"].as_i64()) {
                    (Some(min), _) => ready - min,
                    (None, Some(max)) => max - (matching.len() as i64 - ready),
                    (None, None) => 1,
                };
                if healthy(&pod) && allowed < 1 {
                    // As the eviction REST storage answers: the budget named in a cause.
                    let desired = (ready - allowed).max(0);
                    let body = json!({
                        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                        "message": "Cannot evict pod as it would violate the pod's disruption budget.",
                        "reason": "TooManyRequests", "code": 429,
                        "details": {"causes": [{"reason": "DisruptionBudget", "message": format!(
                            "The disruption budget {} needs {desired} healthy pods and has {ready} currently",
                            pdb["metadata"]["name"].as_str().unwrap_or_default()
                        )}]},
                    });
                    return (StatusCode::TOO_MANY_REQUESTS, axum::Json(body)).into_response();
                }
            }
        }
        let grace = ev["deleteOptions"]["gracePeriodSeconds"].as_i64();
        self.knobs.lock().unwrap().evictions.push((t.ns.clone(), name.to_string(), grace));
        delete_object(&mut store, &t.res, pod, grace);
        status(201, "", "evicted")
    }

    fn watch(&self, t: &Target, q: &HashMap<String, String>) -> Response {
        let since: Option<u64> = q.get("resourceVersion").and_then(|v| v.parse().ok()).filter(|v| *v > 0);
        let timeout = q.get("timeoutSeconds").and_then(|v| v.parse::<u64>().ok()).unwrap_or(300);
        let bookmarks = q.get("allowWatchBookmarks").is_some_and(|v| v == "true");
        let ns = (!t.ns.is_empty()).then(|| t.ns.clone());
        let res = t.res;
        let q = q.clone();
        let wanted = move |o: &Value| -> bool {
            ns.as_deref().is_none_or(|ns| o["metadata"]["namespace"].as_str() == Some(ns)) && Server::selected(o, &q)
        };
        let key = res.key();
        let keep = move |c: &super::store::Change| -> bool { c.res == key && wanted(&c.object) };
        let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(1024);
        let line = |typ: &str, object: &Value| Bytes::from(format!("{}\n", json!({"type": typ, "object": object})));
        // Subscribe before reading the backlog, so nothing falls between the two.
        let (mut live, backlog, current, gone) = {
            let store = self.store.lock().unwrap();
            let live = store.tx.subscribe();
            let gone = since.is_some_and(|s| s + 1 < store.oldest);
            let backlog: Vec<Bytes> = match since {
                _ if gone => Vec::new(),
                Some(s) => {
                    store.history.iter().filter(|c| c.rv > s && keep(c)).map(|c| line(c.typ, &c.object)).collect()
                }
                None => store
                    .snapshot(&res)
                    .into_iter()
                    .map(|o| super::store::Change { rv: 0, res: res.key(), typ: "ADDED", object: o })
                    .filter(|c| keep(c))
                    .map(|c| line("ADDED", &c.object))
                    .collect(),
            };
            (live, backlog, store.rv, gone)
        };
        let mut closed = self.watch_gen.subscribe();
        tokio::spawn(async move {
            if gone {
                let status = json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                    "message": format!("too old resource version: {}", since.unwrap_or(0)), "reason": "Expired", "code": 410});
                let _ = tx.send(line("ERROR", &status)).await;
                return;
            }
            let mut last = since.unwrap_or(current);
            for b in backlog {
                if tx.send(b).await.is_err() {
                    return;
                }
            }
            let deadline = tokio::time::sleep(Duration::from_secs(timeout));
            tokio::pin!(deadline);
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            loop {
                tokio::select! {
                    biased;
                    _ = closed.changed() => return,
                    _ = &mut deadline => return,
                    ev = live.recv() => match ev {
                        Ok(c) if c.rv > last && keep(&c) => {
                            last = c.rv;
                            if tx.send(line(c.typ, &c.object)).await.is_err() {
                                return;
                            }
                        }
                        Ok(_) => {}
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => return,
                        Err(_) => return,
                    },
                    _ = tick.tick(), if bookmarks => {
                        let b = json!({"kind": res.kind, "apiVersion": res.api_version(), "metadata": {"resourceVersion": last.to_string()}});
                        if tx.send(line("BOOKMARK", &b)).await.is_err() {
                            return;
                        }
                    }
                }
            }
        });
        let stream =
            futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|b| (Ok::<_, Infallible>(b), rx)) });
        Response::builder()
            .status(200)
            .header("content-type", "application/json")
            .body(Body::from_stream(stream))
            .unwrap_or_else(|_| status(500, "InternalError", "watch"))
    }
}

/// The fields of a policy/v1 Eviction, and of the DeleteOptions it carries.
const EVICTION_FIELDS: &[&str] = &["apiVersion", "kind", "metadata", "deleteOptions"];
const DELETE_OPTIONS_FIELDS: &[&str] = &[
    "apiVersion",
    "kind",
    "dryRun",
    "gracePeriodSeconds",
    "ignoreStoreReadErrorWithClusterBreakingPotential",
    "orphanDependents",
    "preconditions",
    "propagationPolicy",
];

/// The first key of `obj` (if it is an object) that `known` does not list, with its path.
fn unknown_field(obj: &Value, known: &[&str], prefix: &str) -> Option<String> {
    obj.as_object()?.keys().find(|k| !known.contains(&k.as_str())).map(|k| format!("{prefix}{k}"))
}

/// Deletes as the API server does: pods with a grace period and objects with finalizers are
/// marked (deletionTimestamp) and removed later by the controllers; the rest at once.
pub fn delete_object(store: &mut Store, res: &Res, mut obj: Value, grace: Option<i64>) -> Value {
    let ns = obj["metadata"]["namespace"].as_str().unwrap_or_default().to_string();
    let name = obj["metadata"]["name"].as_str().unwrap_or_default().to_string();
    let finalizers = obj["metadata"]["finalizers"].as_array().is_some_and(|f| !f.is_empty());
    let grace = if res.plural == "pods" {
        grace.or_else(|| obj["spec"]["terminationGracePeriodSeconds"].as_i64()).unwrap_or(30)
    } else {
        0
    };
    if grace > 0 || finalizers {
        if obj["metadata"]["deletionTimestamp"].is_null() {
            obj["metadata"]["deletionTimestamp"] = json!(now());
            obj["metadata"]["deletionGracePeriodSeconds"] = json!(grace);
            return store.update(res, obj);
        }
        return obj;
    }
    store.remove(res, &ns, &name).unwrap_or(obj)
}
