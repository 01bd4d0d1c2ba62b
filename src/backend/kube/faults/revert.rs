//! Undoing a fault without overwriting what people did since. Each object is read; a field is
//! restored only if the object still carries this fault's markers and the field still holds
//! the value the fault set; the write carries the resourceVersion that was read, so a change
//! made in between wins (a 409: read again, decide again). What someone changed since is left
//! as they made it, its markers are removed, and the revert says so; an object whose markers
//! are gone was undone already (by another console, the watchdog or `gameday cleanup`): a
//! journal entry replayed later changes nothing.

use std::fmt::Debug;

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{ConfigMap, Node, Pod};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use kube::api::{Api, DeleteParams, Patch, PatchParams, Preconditions};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};

use crate::backend::kube::engines;
use crate::backend::kube::kit::{api_err, is_404, merge, unmark, unroll, Ctx, HandleData, DENY, FAULT, SESSION};
use crate::backend::{BackendError, Reverted};

/// Whose markers a revert looks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mark {
    /// Empty in handles from before the session was kept: then the fault's number alone.
    pub session: String,
    pub fault: u64,
}

impl Mark {
    /// Whether the object (as JSON) carries this fault's markers.
    fn on(&self, obj: &Value) -> bool {
        let labels = &obj["metadata"]["labels"];
        labels[FAULT].as_str() == Some(self.fault.to_string().as_str())
            && (self.session.is_empty() || labels[SESSION].as_str() == Some(self.session.as_str()))
    }
}

/// What to do with one object, once read.
enum Step {
    /// Write this patch (the markers are removed with it).
    Restore(Value),
    /// Someone changed it since the fault: only the markers go; the note says what was left.
    Keep(String),
}

/// How many times an object is read again after a 409.
const TRIES: usize = 8;

/// Reads `name`, lets `decide` say what to write, writes it with the version that was read.
/// Returns a note when something was left as it was.
async fn restore<K>(
    api: Api<K>,
    name: &str,
    label: &str,
    mark: &Mark,
    strategic: bool,
    decide: impl Fn(&Value) -> Step,
) -> Result<Option<String>, BackendError>
where
    K: kube::Resource + Clone + DeserializeOwned + Serialize + Debug,
{
    for _ in 0..TRIES {
        let Some(obj) = api.get_opt(name).await.map_err(|e| api_err(&format!("read {label}"), e))? else {
            return Ok(Some(format!("{label} no longer exists: nothing to restore")));
        };
        let obj = serde_json::to_value(&obj).unwrap_or(Value::Null);
        if !mark.on(&obj) {
            return Ok(Some(format!("{label}: its markers are gone (undone already by someone else); left as it is")));
        }
        let (patch, note) = match decide(&obj) {
            Step::Restore(p) => (merge(unmark(), p), None),
            Step::Keep(why) => (unmark(), Some(format!("{label}: {why}; left as it is"))),
        };
        let mut patch = patch;
        patch["metadata"]["resourceVersion"] = obj["metadata"]["resourceVersion"].clone();
        let pp = PatchParams::default();
        let r = if strategic {
            api.patch(name, &pp, &Patch::Strategic(&patch)).await
        } else {
            api.patch(name, &pp, &Patch::Merge(&patch)).await
        };
        match r {
            Ok(_) => return Ok(note),
            Err(kube::Error::Api(s)) if s.code == 409 => continue,
            Err(e) if is_404(&e) => return Ok(Some(format!("{label} no longer exists: nothing to restore"))),
            Err(e) => return Err(api_err(&format!("restore {label}"), e)),
        }
    }
    Err(BackendError::Failed(format!("{label} kept changing while it was restored; try again")))
}

fn replicas_step(obj: &Value, from: i32, to: i32) -> Step {
    match obj["spec"]["replicas"].as_i64() {
        Some(now) if now == i64::from(to) => Step::Restore(json!({"spec": {"replicas": from}})),
        now => Step::Keep(format!(
            "replicas are {} now, not the fault's {to}: changed by someone since the fault",
            now.map(|n| n.to_string()).unwrap_or_else(|| "unset".into())
        )),
    }
}

pub async fn revert(ctx: &Ctx, plan: &HandleData, mark: &Mark) -> Result<Reverted, BackendError> {
    let c = &ctx.client;
    // Whatever the fault goes on doing (a drain waiting on its budgets) stops first.
    ctx.background.stop(&mark.session, mark.fault);
    let mut kept: Vec<String> = Vec::new();
    match plan {
        // Their controllers replace deleted and evicted pods.
        HandleData::PodDelete { .. } | HandleData::PodEvict { .. } => {}
        HandleData::Scale { namespace, kind, name, from, to } => {
            let label = format!("{kind} {namespace}/{name}");
            let step = |o: &Value| replicas_step(o, *from, *to);
            let note = match kind.as_str() {
                "Deployment" => {
                    restore(Api::<Deployment>::namespaced(c.clone(), namespace), name, &label, mark, false, step)
                        .await?
                }
                _ => {
                    restore(Api::<StatefulSet>::namespaced(c.clone(), namespace), name, &label, mark, false, step)
                        .await?
                }
            };
            kept.extend(note);
        }
        HandleData::NodeCordon { node, was_unschedulable } | HandleData::NodeDrain { node, was_unschedulable, .. } => {
            let was = *was_unschedulable;
            let note = restore(Api::<Node>::all(c.clone()), node, &format!("node {node}"), mark, false, |o| {
                match o["spec"]["unschedulable"].as_bool().unwrap_or(false) {
                    true => {
                        Step::Restore(json!({"spec": {"unschedulable": if was { json!(true) } else { Value::Null }}}))
                    }
                    false => Step::Keep("uncordoned by someone since the fault".into()),
                }
            })
            .await?;
            kept.extend(note);
        }
        HandleData::ConfigCorrupt { namespace, configmap, key, value, original, restart } => {
            let label = format!("ConfigMap {namespace}/{configmap}");
            let api = Api::<ConfigMap>::namespaced(c.clone(), namespace);
            let note = restore(api, configmap, &label, mark, false, |o| match o["data"][key.as_str()].as_str() {
                Some(now) if now == value => {
                    let back = original.as_ref().map(|v| json!(v)).unwrap_or(Value::Null);
                    Step::Restore(json!({"data": {key.as_str(): back}}))
                }
                now => Step::Keep(format!(
                    "{key} is {} now, not the fault's \"{value}\": changed by someone since the fault",
                    now.map(|v| format!("\"{v}\"")).unwrap_or_else(|| "gone".into())
                )),
            })
            .await?;
            kept.extend(note);
            // The pods read the restored value (or whatever was set since) only once they
            // restart: the template goes back to what it was, which rolls them again.
            if let Some((kind, name)) = restart {
                unroll(ctx, kind, namespace, name).await?;
            }
        }
        HandleData::ImageUnavailable { namespace, kind, name, images } => {
            let label = format!("{kind} {namespace}/{name}");
            let step = |o: &Value| {
                let containers = o["spec"]["template"]["spec"]["containers"].as_array().cloned().unwrap_or_default();
                let image_of = |c: &str| {
                    containers.iter().find(|x| x["name"] == c).and_then(|x| x["image"].as_str()).map(str::to_string)
                };
                let (ours, theirs): (Vec<_>, Vec<_>) = images
                    .iter()
                    .partition(|(c, _)| image_of(c).as_deref() == Some(super::apply::unavailable_image(c).as_str()));
                if ours.is_empty() {
                    return Step::Keep("its images were changed by someone since the fault".into());
                }
                let restore: Vec<Value> = ours.iter().map(|(c, image)| json!({"name": c, "image": image})).collect();
                let _ = theirs;
                Step::Restore(json!({"spec": {"template": {"spec": {"containers": restore}}}}))
            };
            let note = match kind.as_str() {
                "Deployment" => {
                    restore(Api::<Deployment>::namespaced(c.clone(), namespace), name, &label, mark, true, step).await?
                }
                "StatefulSet" => {
                    restore(Api::<StatefulSet>::namespaced(c.clone(), namespace), name, &label, mark, true, step)
                        .await?
                }
                _ => {
                    restore(Api::<DaemonSet>::namespaced(c.clone(), namespace), name, &label, mark, true, step).await?
                }
            };
            kept.extend(note);
        }
        HandleData::NetworkDeny { namespace, policy, selector, labelled } => {
            let api = Api::<NetworkPolicy>::namespaced(c.clone(), namespace);
            let label = format!("NetworkPolicy {namespace}/{policy}");
            match api.get_opt(policy).await.map_err(|e| api_err(&format!("read {label}"), e))? {
                None => {}
                Some(np) => {
                    let v = serde_json::to_value(&np).unwrap_or(Value::Null);
                    if mark.on(&v) {
                        // Exactly the policy that was read: a newer one of the same name stays.
                        let dp = DeleteParams {
                            preconditions: Some(Preconditions { uid: np.metadata.uid.clone(), resource_version: None }),
                            ..Default::default()
                        };
                        match api.delete(policy, &dp).await {
                            Ok(_) => {}
                            Err(e) if is_404(&e) => {}
                            Err(kube::Error::Api(s)) if s.code == 409 => {
                                kept.push(format!("{label} was replaced by someone since the fault; left as it is"))
                            }
                            Err(e) => return Err(api_err(&format!("delete {label}"), e)),
                        }
                    } else {
                        kept.push(format!("{label} no longer carries the fault's markers; left as it is"));
                    }
                }
            }
            // The pods keep their labels unless they still carry this fault's own value.
            let ours = selector.get(DENY).cloned().unwrap_or_default();
            let pods = Api::<Pod>::namespaced(c.clone(), namespace);
            for pod in labelled {
                let Some(p) =
                    pods.get_opt(pod).await.map_err(|e| api_err(&format!("read pod {namespace}/{pod}"), e))?
                else {
                    continue;
                };
                if p.metadata.labels.as_ref().and_then(|l| l.get(DENY)) != Some(&ours) {
                    continue;
                }
                let patch =
                    json!({"metadata": {"labels": {DENY: null}, "resourceVersion": p.metadata.resource_version}});
                match pods.patch(pod, &PatchParams::default(), &Patch::Merge(&patch)).await {
                    Ok(_) => {}
                    Err(e) if is_404(&e) => {}
                    // Changed in between: its label is read again by the next revert, if any.
                    Err(kube::Error::Api(s)) if s.code == 409 => {}
                    Err(e) => return Err(api_err(&format!("unlabel pod {namespace}/{pod}"), e)),
                }
            }
        }
        HandleData::Chaos { .. } => engines::revert(ctx, plan).await?,
    }
    Ok(Reverted { kept })
}
