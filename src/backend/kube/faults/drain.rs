//! node-drain as `kubectl drain` does it: the node is cordoned, each pod evicted through the
//! Eviction API, and a pod whose PodDisruptionBudget does not let it go yet (429 with the
//! budget's cause) is tried again every few seconds until the budget allows it, or the fault's
//! time is over; a 429 with no budget cause (API Priority and Fairness) is tried again after its
//! Retry-After. The inject returns after the first pass (an abort never waits on a budget); the
//! rest is evicted in the background, said in the timeline, and stopped by the revert.

use std::collections::BTreeMap;
use std::time::Duration;

use kube::Client;
use serde_json::json;

use crate::backend::kube::kit::{Ctx, PodKey};
use crate::backend::BackendError;

/// How often a pod a budget holds back is tried again (kubectl drain waits 5 s).
pub const RETRY_EVERY: Duration = Duration::from_secs(5);
/// The longest a Retry-After is honoured for (a server asking for more is asked again then).
const RETRY_AFTER_MAX: Duration = Duration::from_secs(30);

/// What one eviction did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Eviction {
    Evicted,
    /// Gone already.
    Gone,
    /// A PodDisruptionBudget does not let it go now: the API server's words for it.
    Blocked(String),
    /// Refused for now with no budget cause (API Priority and Fairness): ask again after this.
    Throttled(Duration),
}

/// Asks the Eviction API to evict one pod. The request is sent by hand so the answer's
/// Retry-After header can be read.
pub async fn evict(c: &Client, ns: &str, name: &str, grace: Option<i64>) -> Result<Eviction, BackendError> {
    let mut body = json!({
        "apiVersion": "policy/v1",
        "kind": "Eviction",
        "metadata": {"name": name, "namespace": ns},
    });
    if let Some(g) = grace {
        body["deleteOptions"] = json!({"gracePeriodSeconds": g});
    }
    let uri = format!("/api/v1/namespaces/{ns}/pods/{name}/eviction");
    let what = format!("evict {ns}/{name}");
    let req = http::Request::post(&uri)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(kube::client::Body::from(body.to_string().into_bytes()))
        .map_err(|e| BackendError::Failed(format!("{what}: {e}")))?;
    let resp =
        c.send(req).await.map_err(|e| BackendError::Failed(format!("{what}: {}", super::super::kit::said(&e))))?;
    let status = resp.status().as_u16();
    let retry_after = resp
        .headers()
        .get(http::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if (200..300).contains(&status) {
        return Ok(Eviction::Evicted);
    }
    let bytes = resp.into_body().collect_bytes().await.unwrap_or_default();
    let answer: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
    let message = answer["message"].as_str().map(str::to_string).unwrap_or_else(|| {
        let text = String::from_utf8_lossy(&bytes);
        crate::text::one_line(text.trim()).chars().take(200).collect()
    });
    match status {
        404 => Ok(Eviction::Gone),
        429 => {
            let budget = answer["details"]["causes"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|c| c["reason"] == "DisruptionBudget")
                .and_then(|c| c["message"].as_str());
            match budget {
                Some(cause) => Ok(Eviction::Blocked(cause.to_string())),
                // The budget's own words are missing, but the refusal names it (an older server).
                None if message.contains("disruption budget") => Ok(Eviction::Blocked(message)),
                None => {
                    let secs = retry_after
                        .or_else(|| answer["details"]["retryAfterSeconds"].as_u64())
                        .filter(|s| *s > 0)
                        .unwrap_or(1);
                    Ok(Eviction::Throttled(Duration::from_secs(secs).min(RETRY_AFTER_MAX)))
                }
            }
        }
        _ => Err(BackendError::Failed(format!("{what}: {message} ({status})"))),
    }
}

/// Evicts each pod once: those that are left (a budget holds them back, or the server asked to
/// wait) with why.
pub async fn first_pass(
    c: &Client,
    pods: &[PodKey],
    grace: Option<i64>,
) -> Result<BTreeMap<PodKey, Eviction>, BackendError> {
    let mut left = BTreeMap::new();
    for (ns, name) in pods {
        match evict(c, ns, name, grace).await? {
            Eviction::Evicted | Eviction::Gone => {}
            held => {
                left.insert((ns.clone(), name.clone()), held);
            }
        }
    }
    Ok(left)
}

/// The words for pods a budget holds back.
pub fn held_words(left: &BTreeMap<PodKey, Eviction>) -> String {
    let mut by_cause: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for ((ns, name), e) in left {
        let cause = match e {
            Eviction::Blocked(why) => why.clone(),
            Eviction::Throttled(_) => "the API server asked to wait (429, Retry-After)".to_string(),
            _ => continue,
        };
        by_cause.entry(cause).or_default().push(format!("{ns}/{name}"));
    }
    by_cause.into_iter().map(|(cause, pods)| format!("{} ({cause})", pods.join(", "))).collect::<Vec<_>>().join("; ")
}

/// Goes on evicting what the first pass left, as its budgets allow, until `until` (the fault's
/// end), saying in the timeline what waits and what went. Stopped by the fault's revert.
pub fn spawn_rest(
    ctx: &Ctx,
    session: String,
    fault: u64,
    node: String,
    grace: Option<i64>,
    mut left: BTreeMap<PodKey, Eviction>,
    until: tokio::time::Instant,
) {
    let object = format!("node {node}");
    let (client, news) = (ctx.client.clone(), ctx.news());
    let tell = move |object: &str, message: String, warning: bool| {
        if let Some(tx) = &news {
            let _ = tx.send(crate::model::TopologyDelta::ClusterEvent { object: object.to_string(), message, warning });
        }
    };
    tell(
        &object,
        format!(
            "drain waits for {}: tried again every {} s until the fault ends, as kubectl drain does",
            held_words(&left),
            RETRY_EVERY.as_secs()
        ),
        true,
    );
    let task = tokio::spawn(async move {
        let started = tokio::time::Instant::now();
        while !left.is_empty() {
            let wait = left
                .values()
                .map(|e| match e {
                    Eviction::Throttled(d) => *d,
                    _ => RETRY_EVERY,
                })
                .min()
                .unwrap_or(RETRY_EVERY);
            if tokio::time::Instant::now() + wait >= until {
                tell(
                    &object,
                    format!("drain did not finish within the fault's time; still there: {}", held_words(&left)),
                    true,
                );
                return;
            }
            tokio::time::sleep(wait).await;
            let keys: Vec<PodKey> = left.keys().cloned().collect();
            for (ns, name) in keys {
                match evict(&client, &ns, &name, grace).await {
                    Ok(Eviction::Evicted) => {
                        left.remove(&(ns.clone(), name.clone()));
                        tell(
                            &object,
                            format!(
                                "drain evicted {ns}/{name} once its budget allowed it ({} s later)",
                                started.elapsed().as_secs()
                            ),
                            false,
                        );
                    }
                    Ok(Eviction::Gone) => {
                        left.remove(&(ns, name));
                    }
                    Ok(held) => {
                        left.insert((ns, name), held);
                    }
                    // Said once per pod as it happens; tried again with the rest.
                    Err(e) => tell(&object, format!("drain: {e}; trying again"), true),
                }
            }
        }
        tell(&object, "drain finished: every pod it evicts is evicted".to_string(), false);
    });
    ctx.background.insert((session, fault), task.abort_handle());
}
