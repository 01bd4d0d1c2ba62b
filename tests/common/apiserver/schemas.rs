//! The fields the published CRDs define for the chaos objects gameday creates, written out by
//! hand from chaos-mesh/chaos-mesh (config/crd/bases/chaos-mesh.org_podchaos.yaml and
//! _stresschaos.yaml, api/v1alpha1/networkchaos_types.go and common_types.go) and
//! litmuschaos/chaos-operator (deploy/crds/chaosengine_crd.yaml, api/litmuschaos/v1alpha1).
//! The test API server validates every such object it is asked to create against them, the way
//! a server validating strictly does: an unknown field, a missing required one, a wrong type or
//! a value outside an enum is refused, never silently dropped (a real server prunes unknown
//! fields of a structural schema, so a misspelt field would simply vanish).
//!
//! A schema is JSON in the shape of an openAPIV3Schema: `type`, `properties`, `required`,
//! `items`, `additionalProperties`, `enum`, `pattern` (an alternation of literal words here).

use serde_json::{json, Value};

fn string_map() -> Value {
    json!({"type": "object", "additionalProperties": {"type": "string"}})
}

fn strings() -> Value {
    json!({"type": "array", "items": {"type": "string"}})
}

/// Chaos Mesh's PodSelectorSpec (`selector`).
fn selector() -> Value {
    json!({"type": "object", "properties": {
        "annotationSelectors": string_map(),
        "expressionSelectors": {"type": "array", "items": {"type": "object", "required": ["key", "operator"],
            "properties": {"key": {"type": "string"}, "operator": {"type": "string"}, "values": strings()}}},
        "fieldSelectors": string_map(),
        "labelSelectors": string_map(),
        "namespaces": strings(),
        "nodeSelectors": string_map(),
        "nodes": strings(),
        "podPhaseSelectors": strings(),
        "pods": {"type": "object", "additionalProperties": strings()},
    }})
}

fn mode() -> Value {
    json!({"type": "string", "enum": ["one", "all", "fixed", "fixed-percent", "random-max-percent"]})
}

fn top(spec: Value) -> Value {
    json!({"type": "object", "required": ["spec"], "properties": {
        "apiVersion": {"type": "string"}, "kind": {"type": "string"}, "metadata": {"type": "object", "open": true},
        "spec": spec, "status": {"type": "object", "open": true},
    }})
}

pub fn pod_chaos() -> Value {
    top(json!({"type": "object", "required": ["action", "mode", "selector"], "properties": {
        "action": {"type": "string", "enum": ["pod-kill", "pod-failure", "container-kill"]},
        "containerNames": strings(),
        "duration": {"type": "string"},
        "gracePeriod": {"type": "integer"},
        "mode": mode(),
        "remoteCluster": {"type": "string"},
        "selector": selector(),
        "value": {"type": "string"},
    }}))
}

pub fn stress_chaos() -> Value {
    let options = strings();
    top(json!({"type": "object", "required": ["mode", "selector"], "properties": {
        "containerNames": strings(),
        "duration": {"type": "string"},
        "mode": mode(),
        "selector": selector(),
        "stressngStressors": {"type": "string"},
        "stressors": {"type": "object", "properties": {
            "cpu": {"type": "object", "required": ["workers"], "properties": {
                "load": {"type": "integer"}, "options": options, "workers": {"type": "integer"}}},
            "memory": {"type": "object", "required": ["workers"], "properties": {
                "options": options, "size": {"type": "string"}, "workers": {"type": "integer"}}},
        }},
        "value": {"type": "string"},
    }}))
}

pub fn network_chaos() -> Value {
    let correlated = |field: &str| {
        json!({"type": "object", "required": [field], "properties": {
            field: {"type": "string"}, "correlation": {"type": "string"}}})
    };
    top(json!({"type": "object", "required": ["action", "mode", "selector"], "properties": {
        "action": {"type": "string",
            "enum": ["netem", "delay", "loss", "duplicate", "corrupt", "partition", "bandwidth"]},
        "mode": mode(),
        "value": {"type": "string"},
        "selector": selector(),
        "duration": {"type": "string"},
        "delay": {"type": "object", "required": ["latency"], "properties": {
            "latency": {"type": "string"}, "correlation": {"type": "string"}, "jitter": {"type": "string"},
            "reorder": {"type": "object", "required": ["reorder", "gap"], "properties": {
                "reorder": {"type": "string"}, "correlation": {"type": "string"}, "gap": {"type": "integer"}}}}},
        "loss": correlated("loss"),
        "duplicate": correlated("duplicate"),
        "corrupt": correlated("corrupt"),
        "bandwidth": {"type": "object", "required": ["rate", "limit", "buffer"], "properties": {
            "rate": {"type": "string"}, "limit": {"type": "integer"}, "buffer": {"type": "integer"},
            "peakrate": {"type": "integer"}, "minburst": {"type": "integer"}}},
        "direction": {"type": "string", "enum": ["to", "from", "both", ""]},
        "target": {"type": "object", "required": ["mode", "selector"], "properties": {
            "mode": mode(), "value": {"type": "string"}, "selector": selector()}},
        "externalTargets": strings(),
    }}))
}

pub fn chaos_engine() -> Value {
    let kinds = "^(^$|deployment|statefulset|daemonset|deploymentconfig|rollout)$";
    let open = || json!({"type": "object", "open": true});
    let env = json!({"type": "array", "items": {"type": "object", "required": ["name"], "properties": {
        "name": {"type": "string"}, "value": {"type": "string"}, "valueFrom": open()}}});
    let components = json!({"type": "object", "properties": {
        "env": env,
        "configMaps": {"type": "array", "items": open()},
        "secrets": {"type": "array", "items": open()},
        "experimentAnnotations": string_map(),
        "experimentImage": {"type": "string"},
        "experimentImagePullSecrets": {"type": "array", "items": open()},
        "nodeSelector": string_map(),
        "statusCheckTimeouts": {"type": "object", "properties": {
            "delay": {"type": "integer"}, "timeout": {"type": "integer"}}},
        "resources": open(),
        "tolerations": {"type": "array", "items": open()},
    }});
    let experiment = json!({"type": "object", "properties": {
        "name": {"type": "string"},
        "spec": {"type": "object", "properties": {
            "probe": {"type": "array", "items": open()}, "rank": {"type": "integer"}, "components": components}},
    }});
    let workload = json!({"type": "object", "required": ["kind", "namespace"], "oneOf": ["names", "labels"],
        "properties": {"kind": {"type": "string", "pattern": kinds}, "labels": {"type": "string"},
            "names": {"type": "string"}, "namespace": {"type": "string"}}});
    let selectors = json!({"type": "object", "oneOf": ["pods", "workloads"], "properties": {
        "pods": {"type": "array", "items": {"type": "object", "required": ["names", "namespace"], "properties": {
            "names": {"type": "string"}, "namespace": {"type": "string"}}}},
        "workloads": {"type": "array", "items": workload}}});
    top(json!({"type": "object", "properties": {
        "jobCleanUpPolicy": {"type": "string", "pattern": "^(delete|retain)$"},
        "defaultHealthCheck": {"type": "string", "pattern": "^(true|false)$"},
        "appinfo": {"type": "object", "properties": {
            "appkind": {"type": "string", "pattern": kinds}, "applabel": {"type": "string"},
            "appns": {"type": "string"}}},
        "selectors": selectors,
        "auxiliaryAppInfo": {"type": "string"},
        "engineState": {"type": "string", "pattern": "^(active|stop)$"},
        "chaosServiceAccount": {"type": "string"},
        "terminationGracePeriodSeconds": {"type": "integer"},
        "components": open(),
        "experiments": {"type": "array", "items": experiment},
    }}))
}

/// The schema for a kind gameday creates through a chaos engine, if it has one here.
pub fn of(kind: &str) -> Option<Value> {
    match kind {
        "PodChaos" => Some(pod_chaos()),
        "StressChaos" => Some(stress_chaos()),
        "NetworkChaos" => Some(network_chaos()),
        "ChaosEngine" => Some(chaos_engine()),
        _ => None,
    }
}

/// Every way `v` departs from `schema`, as "path: problem".
pub fn check(schema: &Value, v: &Value) -> Vec<String> {
    let mut out = Vec::new();
    walk(schema, v, "", &mut out);
    out
}

fn walk(schema: &Value, v: &Value, path: &str, out: &mut Vec<String>) {
    let at = |p: &str| if path.is_empty() { p.to_string() } else { format!("{path}.{p}") };
    let here = if path.is_empty() { "(the object)" } else { path };
    let ok_type = match schema["type"].as_str() {
        Some("string") => v.is_string(),
        Some("integer") => v.is_i64() || v.is_u64(),
        Some("boolean") => v.is_boolean(),
        Some("array") => v.is_array(),
        Some("object") => v.is_object(),
        _ => true,
    };
    if !ok_type {
        out.push(format!("{here}: must be of type {}, not {v}", schema["type"].as_str().unwrap_or("?")));
        return;
    }
    if let Some(allowed) = schema["enum"].as_array() {
        if !allowed.contains(v) {
            out.push(format!("{here}: unsupported value {v}"));
        }
    }
    if let (Some(pattern), Some(s)) = (schema["pattern"].as_str(), v.as_str()) {
        let words: Vec<&str> = pattern.trim_start_matches("^(").trim_end_matches(")$").split('|').collect();
        let empty_ok = words.contains(&"^$");
        if !(words.contains(&s) || (s.is_empty() && empty_ok)) {
            out.push(format!("{here}: {s:?} does not match {pattern}"));
        }
    }
    if let Some(items) = v.as_array() {
        for (i, item) in items.iter().enumerate() {
            walk(&schema["items"], item, &format!("{path}[{i}]"), out);
        }
    }
    let Some(obj) = v.as_object() else { return };
    for r in schema["required"].as_array().into_iter().flatten().filter_map(Value::as_str) {
        if !obj.contains_key(r) {
            out.push(format!("{}: Required value", at(r)));
        }
    }
    if let Some(one_of) = schema["oneOf"].as_array() {
        let present = one_of.iter().filter_map(Value::as_str).filter(|k| obj.contains_key(*k)).count();
        if present != 1 {
            out.push(format!("{here}: exactly one of {one_of:?} is required, {present} given"));
        }
    }
    if schema["open"] == true {
        return;
    }
    let props = schema["properties"].as_object();
    let extra = &schema["additionalProperties"];
    for (k, child) in obj {
        match (props.and_then(|p| p.get(k)), extra.is_object()) {
            (Some(s), _) => walk(s, child, &at(k), out),
            (None, true) => walk(extra, child, &at(k), out),
            (None, false) => out.push(format!("{}: unknown field", at(k))),
        }
    }
}
