//! deploy/rbac.yaml checked against what gameday really asked the test API server: every
//! request it made must be allowed by the ClusterRole.

use std::collections::BTreeSet;

use serde_json::Value;

/// (apiGroup, resource or resource/subresource, verb)
pub type Grant = (String, String, String);

/// What a manifest grants: cluster-wide (a ClusterRole), or in one namespace (a Role there).
#[derive(Default)]
pub struct Grants {
    pub cluster: BTreeSet<Grant>,
    pub namespaced: BTreeSet<(String, Grant)>,
}

impl Grants {
    pub fn allows(&self, ns: Option<&str>, g: &Grant) -> bool {
        // A rule for every resource of a group ("*") covers each of them.
        let any = (g.0.clone(), "*".to_string(), g.2.clone());
        let grants = |g: &Grant| {
            self.cluster.contains(g) || ns.is_some_and(|ns| self.namespaced.contains(&(ns.to_string(), g.clone())))
        };
        grants(g) || (!g.1.contains('/') && grants(&any))
    }
}

fn rules(doc: &Value) -> BTreeSet<Grant> {
    let mut out = BTreeSet::new();
    for rule in doc["rules"].as_array().expect("rules") {
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

/// The grants of a manifest under deploy/ (its ClusterRoles and Roles).
pub fn grants_of(file: &str) -> Grants {
    let path = format!("{}/deploy/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let docs: Vec<Value> = serde_saphyr::from_multiple(&text).unwrap_or_else(|e| panic!("{path} is not YAML: {e}"));
    let mut out = Grants::default();
    for d in &docs {
        match d["kind"].as_str() {
            Some("ClusterRole") => out.cluster.extend(rules(d)),
            Some("Role") => {
                let ns = d["metadata"]["namespace"].as_str().expect("a Role's namespace").to_string();
                out.namespaced.extend(rules(d).into_iter().map(|g| (ns.clone(), g)));
            }
            _ => {}
        }
    }
    out
}

pub fn grants() -> Grants {
    grants_of("rbac.yaml")
}

/// What a recorded request ("METHOD /path" or "GET /path (watch)") needs, and in which
/// namespace; None for discovery.
pub fn needs(request: &str) -> Option<(Option<String>, Grant)> {
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
    let (ns, rest) = match rest {
        ["namespaces", ns, tail @ ..] if !tail.is_empty() => (Some(ns.to_string()), tail),
        other => (None, other),
    };
    // A proxy subresource ({resource}/{name}/proxy/{path...}): its verb is the method's.
    if let [r, _name, "proxy", ..] = rest {
        let verb = match method {
            "POST" => "create",
            "PUT" => "update",
            "PATCH" => "patch",
            "DELETE" => "delete",
            _ => "get",
        };
        return Some((ns, (group.to_string(), format!("{r}/proxy"), verb.to_string())));
    }
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
    Some((ns, (group.to_string(), resource, verb.to_string())))
}

/// Panics naming every request deploy/rbac.yaml would forbid.
pub fn assert_allowed(requests: &[String]) {
    assert_allowed_by("rbac.yaml", requests)
}

/// Panics naming every request the manifest `deploy/<file>` would forbid.
pub fn assert_allowed_by(file: &str, requests: &[String]) {
    let grants = grants_of(file);
    let denied: BTreeSet<String> = requests
        .iter()
        .filter_map(|r| {
            needs(r).filter(|(ns, g)| !grants.allows(ns.as_deref(), g)).map(|(ns, g)| {
                format!("{r} needs {g:?}{}", ns.map(|n| format!(" in namespace {n}")).unwrap_or_default())
            })
        })
        .collect();
    assert!(
        denied.is_empty(),
        "deploy/{file} forbids what gameday does:\n{}",
        denied.into_iter().collect::<Vec<_>>().join("\n")
    );
}
