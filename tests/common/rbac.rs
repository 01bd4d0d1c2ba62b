//! deploy/rbac.yaml checked against what gameday really asked the test API server: every
//! request it made must be allowed by the ClusterRole.

use std::collections::BTreeSet;

use serde_json::Value;

/// (apiGroup, resource or resource/subresource, verb)
pub type Grant = (String, String, String);

pub fn grants() -> BTreeSet<Grant> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/rbac.yaml");
    let text = std::fs::read_to_string(path).expect("deploy/rbac.yaml");
    let docs: Vec<Value> = serde_saphyr::from_multiple(&text).expect("deploy/rbac.yaml is YAML");
    let role = docs.iter().find(|d| d["kind"] == "ClusterRole").expect("a ClusterRole");
    let mut out = BTreeSet::new();
    for rule in role["rules"].as_array().expect("rules") {
        for g in rule["apiGroups"].as_array().into_iter().flatten() {
            for r in rule["resources"].as_array().into_iter().flatten() {
                for v in rule["verbs"].as_array().into_iter().flatten() {
                    let s = |v: &Value| v.as_str().expect("a string").to_string();
                    out.insert((s(g), s(r), s(v)));
                }
            }
        }
    }
    out
}

/// What a recorded request ("METHOD /path" or "GET /path (watch)") needs; None for discovery.
pub fn needs(request: &str) -> Option<Grant> {
    let (method, rest) = request.split_once(' ').expect("METHOD /path");
    let watch = rest.ends_with(" (watch)");
    let path = rest.trim_end_matches(" (watch)").split('?').next().unwrap_or_default();
    let seg: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (group, rest) = match seg.as_slice() {
        ["api", "v1", rest @ ..] => ("", rest),
        ["apis", group, _version, rest @ ..] => (*group, rest),
        _ => return None,
    };
    // namespaces/{ns}/{resource}... is namespaced; namespaces[/{ns}] is the namespace itself.
    let rest = match rest {
        ["namespaces", _ns, tail @ ..] if !tail.is_empty() => tail,
        other => other,
    };
    let (resource, named) = match rest {
        [] => return None,
        [r] => (r.to_string(), false),
        [r, _name] => (r.to_string(), true),
        [r, _name, sub] => (format!("{r}/{sub}"), true),
        _ => panic!("unexpected path {path}"),
    };
    let verb = match (method, named, watch) {
        ("GET", _, true) => "watch",
        ("GET", true, _) => "get",
        ("GET", false, _) => "list",
        ("POST", _, _) => "create",
        ("PATCH", _, _) => "patch",
        ("PUT", _, _) => "update",
        ("DELETE", true, _) => "delete",
        ("DELETE", false, _) => "deletecollection",
        _ => panic!("unexpected request {request}"),
    };
    Some((group.to_string(), resource, verb.to_string()))
}

/// Panics naming every request deploy/rbac.yaml would forbid.
pub fn assert_allowed(requests: &[String]) {
    let grants = grants();
    let denied: BTreeSet<String> = requests
        .iter()
        .filter_map(|r| needs(r).filter(|g| !grants.contains(g)).map(|g| format!("{r} needs {g:?}")))
        .collect();
    assert!(
        denied.is_empty(),
        "deploy/rbac.yaml forbids what gameday does:\n{}",
        denied.into_iter().collect::<Vec<_>>().join("\n")
    );
}
