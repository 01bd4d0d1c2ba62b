//! A drill's channel as ConfigMaps in the lock namespace (`gameday` unless `--lock-namespace`
//! says otherwise): one per writer per session, `gameday-drill-<session>-f` for the facilitator
//! and `gameday-drill-<session>-r-<name>` for each responder, labelled
//! `app.kubernetes.io/managed-by=gameday`, `gameday.dev/drill=<session>` and
//! `gameday.dev/drill-side`. Each entry its writer published is one key of `data`
//! (`0000000042.json`, its seq, holding the entry's JSON). A writer appends: a merge patch that
//! adds only the new entries' keys, with the `resourceVersion` it last saw as a precondition (a
//! 409: read again, append again), so nothing already published is sent again; the other side
//! follows them with kube-runtime's `watcher`, so an entry reaches it as soon as the API server
//! has it.
//!
//! A drill's channels go when it ends: the facilitator's console deletes every object of its
//! session as its session ends (a responder who quits may rejoin, so theirs stays until then).
//! Each object carries `gameday.dev/expires` (a day after its last write): one whose facilitator
//! died is deleted after that by `gameday watchdog` and `gameday cleanup`.
//!
//! A ConfigMap holds at most 1 MiB of data. Only the entries a peer needs are published (a
//! responder's marks; the facilitator's faults, reveals and session start and end), a few hundred
//! bytes each, so a session of some hundreds of faults or some thousands of marks fits. A writer
//! whose object is full gets `ChannelError::Full` and the console says so: from then on its new
//! entries reach peers on other machines no more (its own journal still has them all).

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;
use futures::StreamExt;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DeleteParams, ListParams, ObjectMeta, Patch, PatchParams, PostParams};
use kube::runtime::{watcher, WatchStreamExt};
use kube::Client;

use super::errors::Explain;
use crate::backend::drill::{ChannelError, Deliver, DrillChannel, Heard, Side};
use crate::timeline::Entry;

/// The key that held all of a writer's entries, a JSON line each, before each had its own key:
/// still read, so a channel written by an earlier version is followed.
pub const ENTRIES: &str = "entries.jsonl";
/// When a channel whose console never ended its session may be deleted (RFC 3339).
pub const EXPIRES: &str = "gameday.dev/expires";
/// How long a channel is kept after its last write when its session never ended.
pub const KEPT_FOR: chrono::TimeDelta = chrono::TimeDelta::hours(24);
/// The most data a ConfigMap may hold (the API server refuses more).
pub const LIMIT: usize = 1024 * 1024;
const OWNED: &str = "app.kubernetes.io/managed-by";
const DRILL: &str = "gameday.dev/drill";
const SIDE: &str = "gameday.dev/drill-side";
const WRITER: &str = "gameday.dev/drill-writer";
const TRIES: usize = 8;

pub struct ConfigMapChannel {
    client: Client,
    namespace: String,
    explain: Explain,
    /// Each object as this process last wrote it: the next append needs no read unless someone
    /// wrote in between (a 409).
    written: Mutex<BTreeMap<String, ConfigMap>>,
}

/// The ConfigMap `side` writes for `session`.
pub fn object_name(session: &str, side: &Side) -> String {
    match side {
        Side::Facilitator => format!("gameday-drill-{session}-f"),
        Side::Responder(name) => format!("gameday-drill-{session}-r-{}", dns_part(name)),
    }
}

/// A responder's name as part of an object name (lower-case letters, digits and dashes); a name
/// that had to change gets a short hash of itself, so that "Bob" and "bob" stay apart.
fn dns_part(name: &str) -> String {
    let mut out: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' }).collect();
    out = out.trim_matches('-').chars().take(40).collect();
    if out != name || out.is_empty() {
        let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
        out = format!("{}{}{:08x}", out.trim_matches('-'), if out.is_empty() { "" } else { "-" }, hash as u32);
    }
    out
}

/// A session ID as a label value (and part of a name) must be short and plain.
fn check_session(session: &str) -> Result<(), ChannelError> {
    let plain = session.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_');
    let ends = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    if session.len() <= 63 && plain && ends(session.chars().next()) && ends(session.chars().last()) {
        Ok(())
    } else {
        Err(ChannelError::Failed(format!(
            "'{session}' is not a session ID (gameday sessions lists them, e.g. 20260101-101500-1a2b)"
        )))
    }
}

fn side_label(side: &Side) -> &'static str {
    match side {
        Side::Facilitator => "facilitator",
        Side::Responder(_) => "responder",
    }
}

/// The key of the entry with `seq`: sorted by name, the entries are in order.
fn key_of(seq: u64) -> String {
    format!("{seq:010}.json")
}

/// The entries a ConfigMap holds, in order (a value that is not an entry, another version's
/// kind, is passed over as the file tail does).
pub fn entries_of(cm: &ConfigMap) -> Vec<Entry> {
    let mut out: Vec<Entry> = lines_of(cm).filter_map(|l| serde_json::from_str::<Entry>(l).ok()).collect();
    out.sort_by_key(|e| e.seq);
    out
}

/// Every published entry's JSON, as held (one key each, and the earlier single key's lines).
fn lines_of(cm: &ConfigMap) -> impl Iterator<Item = &str> {
    cm.data.iter().flatten().flat_map(|(k, v)| match k.as_str() {
        ENTRIES => v.lines().filter(|l| !l.is_empty()).collect::<Vec<_>>(),
        k if k.ends_with(".json") => vec![v.as_str()],
        _ => Vec::new(),
    })
}

/// The bytes of data a ConfigMap holds, as the API server counts them against its limit.
fn size_of(cm: &ConfigMap) -> usize {
    cm.data.iter().flatten().map(|(k, v)| k.len() + v.len()).sum()
}

/// The seq of the last entry it holds (0 if none).
fn last_seq(cm: &ConfigMap) -> u64 {
    #[derive(serde::Deserialize)]
    struct Seq {
        seq: u64,
    }
    lines_of(cm).filter_map(|l| serde_json::from_str::<Seq>(l).ok()).map(|s| s.seq).max().unwrap_or(0)
}

/// The seq of an entry the object holds that is not the one this writer gives under that seq
/// (another console writes as the same side), if any. Only entries up to `last` are compared:
/// a writer's rejoin gives back what it published before, and those must be its own.
fn foreign(cm: &ConfigMap, entries: &[Entry], last: u64) -> Option<u64> {
    let older: Vec<&Entry> = entries.iter().filter(|e| e.seq <= last).collect();
    if older.is_empty() {
        return None;
    }
    #[derive(serde::Deserialize)]
    struct Stamp {
        seq: u64,
        wall: chrono::DateTime<chrono::Utc>,
        t_ms: u64,
    }
    let held: BTreeMap<u64, (chrono::DateTime<chrono::Utc>, u64)> =
        lines_of(cm).filter_map(|l| serde_json::from_str::<Stamp>(l).ok()).map(|s| (s.seq, (s.wall, s.t_ms))).collect();
    older.into_iter().find(|e| held.get(&e.seq).is_some_and(|h| *h != (e.wall, e.t_ms))).map(|e| e.seq)
}

/// When a channel written now may be deleted if its session never ends.
fn expiry(now: chrono::DateTime<chrono::Utc>) -> String {
    (now + KEPT_FOR).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Whether a channel is past its expiry at `now`: by its annotation, or (written by an earlier
/// version, without one) a day after it was created.
fn expired(cm: &ConfigMap, now: chrono::DateTime<chrono::Utc>) -> Option<String> {
    let at = match cm.metadata.annotations.as_ref().and_then(|a| a.get(EXPIRES)) {
        Some(at) => chrono::DateTime::parse_from_rfc3339(at).ok()?.with_timezone(&chrono::Utc),
        None => chrono::DateTime::from_timestamp(cm.metadata.creation_timestamp.as_ref()?.0.as_second(), 0)? + KEPT_FOR,
    };
    (at <= now).then(|| at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
}

impl ConfigMapChannel {
    pub fn new(client: Client, namespace: &str, explain: Explain) -> ConfigMapChannel {
        ConfigMapChannel { client, namespace: namespace.to_string(), explain, written: Mutex::new(BTreeMap::new()) }
    }

    fn api(&self) -> Api<ConfigMap> {
        Api::namespaced(self.client.clone(), &self.namespace)
    }

    fn error(&self, doing: &str, name: &str, e: kube::Error) -> ChannelError {
        let ns = &self.namespace;
        match &e {
            kube::Error::Api(s) if s.code == 404 && s.message.contains("namespaces") => {
                ChannelError::Unavailable(format!(
                    "the drill channel cannot be used: its namespace '{ns}' does not exist. Create it (kubectl apply \
                     -f deploy/rbac.yaml, or kubectl create namespace {ns}) or choose another with --lock-namespace"
                ))
            }
            kube::Error::Api(s) if s.code == 403 => ChannelError::Unavailable(format!(
                "the drill channel (ConfigMaps in namespace {ns}) is not permitted: {} (deploy/rbac.yaml grants get, \
                 list, watch, create, patch and delete on configmaps in the lock namespace)",
                s.message
            )),
            kube::Error::Api(s) if s.code == 422 && s.message.contains("Too long") => self.full(name),
            _ => ChannelError::Failed(format!("{doing} ConfigMap {ns}/{name}: {}", self.explain.explain(&e))),
        }
    }

    fn full(&self, name: &str) -> ChannelError {
        ChannelError::Full(format!(
            "the drill channel is full (ConfigMap {}/{name} holds at most 1 MiB): what this console records from \
             now on reaches the drill's other machines no more (its own journal keeps it all)",
            self.namespace
        ))
    }

    fn remembered(&self, name: &str) -> Option<ConfigMap> {
        self.written.lock().ok().and_then(|w| w.get(name).cloned())
    }

    fn remember(&self, name: &str, cm: Option<ConfigMap>) {
        if let Ok(mut w) = self.written.lock() {
            match cm {
                Some(cm) => w.insert(name.to_string(), cm),
                None => w.remove(name),
            };
        }
    }
}

#[async_trait]
impl DrillChannel for ConfigMapChannel {
    fn describe(&self) -> String {
        format!("ConfigMaps in namespace {}", self.namespace)
    }

    async fn published(&self, session: &str, side: &Side) -> Result<Option<Vec<Entry>>, ChannelError> {
        check_session(session)?;
        let name = object_name(session, side);
        let cm = self.api().get_opt(&name).await.map_err(|e| self.error("reading", &name, e))?;
        Ok(cm.as_ref().map(entries_of))
    }

    async fn publish(&self, session: &str, side: &Side, entries: &[Entry]) -> Result<(), ChannelError> {
        check_session(session)?;
        let name = object_name(session, side);
        let api = self.api();
        for _ in 0..TRIES {
            let current = match self.remembered(&name) {
                Some(cm) => Some(cm),
                None => api.get_opt(&name).await.map_err(|e| self.error("reading", &name, e))?,
            };
            let last = current.as_ref().map(last_seq).unwrap_or(0);
            if let Some(seq) = current.as_ref().and_then(|cm| foreign(cm, entries, last)) {
                self.remember(&name, None);
                return Err(ChannelError::Unavailable(format!(
                    "another console publishes as {} in session {session} (ConfigMap {}/{name} has a different entry {seq}): this one stops publishing (join with another --responder name)",
                    side.name(),
                    self.namespace
                )));
            }
            let mut added = BTreeMap::new();
            for e in entries.iter().filter(|e| e.seq > last) {
                let line = serde_json::to_string(e).map_err(|e| ChannelError::Failed(e.to_string()))?;
                added.insert(key_of(e.seq), line);
            }
            if added.is_empty() {
                return Ok(());
            }
            let held = current.as_ref().map(size_of).unwrap_or(0);
            if held + added.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>() > LIMIT {
                return Err(self.full(&name));
            }
            let expires = expiry(chrono::Utc::now());
            let written = match &current {
                None => {
                    let cm = ConfigMap {
                        metadata: ObjectMeta {
                            name: Some(name.clone()),
                            labels: Some(BTreeMap::from([
                                (OWNED.to_string(), "gameday".to_string()),
                                (DRILL.to_string(), session.to_string()),
                                (SIDE.to_string(), side_label(side).to_string()),
                            ])),
                            annotations: Some(BTreeMap::from([
                                (WRITER.to_string(), side.name().to_string()),
                                (EXPIRES.to_string(), expires),
                            ])),
                            ..Default::default()
                        },
                        data: Some(added),
                        ..Default::default()
                    };
                    api.create(&PostParams::default(), &cm).await
                }
                // Only what is new is sent; the version seen is the precondition, so an entry is
                // never written over one another console put there meanwhile.
                Some(cm) => {
                    let patch = serde_json::json!({
                        "metadata": {
                            "resourceVersion": cm.metadata.resource_version,
                            "annotations": {EXPIRES: expires},
                        },
                        "data": added,
                    });
                    api.patch(&name, &PatchParams::default(), &Patch::Merge(&patch)).await
                }
            };
            match written {
                Ok(cm) => {
                    self.remember(&name, Some(cm));
                    return Ok(());
                }
                // Someone wrote in between (or created it meanwhile): read it again.
                Err(kube::Error::Api(s)) if s.code == 409 => self.remember(&name, None),
                Err(e) => {
                    self.remember(&name, None);
                    return Err(self.error("writing", &name, e));
                }
            }
        }
        Err(ChannelError::Failed(format!(
            "ConfigMap {}/{name} kept changing while it was written (is another console writing as {}?)",
            self.namespace,
            side.name()
        )))
    }

    async fn close(&self, session: &str, side: &Side) -> Result<(), ChannelError> {
        check_session(session)?;
        // A responder who quits may rejoin (from another machine, too): theirs stays until the
        // drill ends.
        if matches!(side, Side::Responder(_)) {
            return Ok(());
        }
        let api = self.api();
        let all = format!("the drill channels of session {session}");
        let list = api
            .list(&ListParams::default().labels(&format!("{OWNED}=gameday,{DRILL}={session}")))
            .await
            .map_err(|e| self.error("listing", &all, e))?;
        for cm in list.items {
            let name = cm.metadata.name.unwrap_or_default();
            self.remember(&name, None);
            match api.delete(&name, &DeleteParams::default()).await {
                Ok(_) => {}
                Err(kube::Error::Api(s)) if s.code == 404 => {}
                Err(e) => return Err(self.error("deleting", &name, e)),
            }
        }
        Ok(())
    }

    async fn expired(&self, session: Option<&str>, remove: bool) -> Result<Vec<String>, ChannelError> {
        let selector = match session {
            Some(s) => {
                check_session(s)?;
                format!("{OWNED}=gameday,{DRILL}={s}")
            }
            None => format!("{OWNED}=gameday,{DRILL}"),
        };
        let api = self.api();
        let all = "the drill channels";
        let list =
            api.list(&ListParams::default().labels(&selector)).await.map_err(|e| self.error("listing", all, e))?;
        let now = chrono::Utc::now();
        let mut out = Vec::new();
        for cm in list.items {
            let Some(at) = expired(&cm, now) else { continue };
            let name = cm.metadata.name.clone().unwrap_or_default();
            let drill = cm.metadata.labels.as_ref().and_then(|l| l.get(DRILL)).cloned().unwrap_or_default();
            if remove {
                match api.delete(&name, &DeleteParams::default()).await {
                    Ok(_) => {}
                    Err(kube::Error::Api(s)) if s.code == 404 => continue,
                    Err(e) => return Err(self.error("deleting", &name, e)),
                }
            }
            out.push(format!("ConfigMap {}/{name} (drill of session {drill}, expired {at})", self.namespace));
        }
        Ok(out)
    }

    fn follow(&self, session: &str, me: &Side, deliver: Deliver) {
        let api = self.api();
        let explain = self.explain.clone();
        let ns = self.namespace.clone();
        let other = match me {
            Side::Facilitator => "responder",
            Side::Responder(_) => "facilitator",
        };
        let selector = format!("{OWNED}=gameday,{DRILL}={session},{SIDE}={other}");
        tokio::spawn(async move {
            let cfg = watcher::Config::default().labels(&selector);
            let mut stream = watcher(api, cfg).default_backoff().boxed();
            // The last seq delivered from each object.
            let mut delivered: BTreeMap<String, u64> = BTreeMap::new();
            let mut said_failure = false;
            while let Some(ev) = stream.next().await {
                let cm = match ev {
                    Ok(watcher::Event::Apply(cm) | watcher::Event::InitApply(cm)) => cm,
                    Ok(_) => continue,
                    // Compacted history: listed again at once, no news.
                    Err(e) if super::errors::watch_expired(&e) => continue,
                    Err(e) => {
                        if !said_failure {
                            said_failure = true;
                            let why = match &e {
                                watcher::Error::InitialListFailed(k)
                                | watcher::Error::WatchStartFailed(k)
                                | watcher::Error::WatchFailed(k) => explain.explain(k),
                                other => other.to_string(),
                            };
                            let trouble =
                                format!("the drill channel (ConfigMaps in namespace {ns}) cannot be watched: {why}");
                            if !deliver(Heard::Trouble(trouble)) {
                                return;
                            }
                        }
                        continue;
                    }
                };
                said_failure = false;
                let name = cm.metadata.name.clone().unwrap_or_default();
                let from = match other {
                    "facilitator" => "facilitator".to_string(),
                    _ => match cm.metadata.annotations.as_ref().and_then(|a| a.get(WRITER)) {
                        Some(w) => w.clone(),
                        None => continue,
                    },
                };
                let last = delivered.get(&name).copied().unwrap_or(0);
                let new: Vec<Entry> = entries_of(&cm).into_iter().filter(|e| e.seq > last).collect();
                let Some(top) = new.iter().map(|e| e.seq).max() else { continue };
                delivered.insert(name, top);
                if !deliver(Heard::Entries { from, entries: new }) {
                    return;
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_valid_object_names_and_keep_responders_apart() {
        assert_eq!(object_name("20260101-101500-1a2b", &Side::Facilitator), "gameday-drill-20260101-101500-1a2b-f");
        assert_eq!(object_name("s", &Side::Responder("bob".into())), "gameday-drill-s-r-bob");
        let upper = object_name("s", &Side::Responder("Bob".into()));
        assert!(upper.starts_with("gameday-drill-s-r-bob-") && upper != "gameday-drill-s-r-bob", "{upper}");
        let odd = object_name("s", &Side::Responder("ünïcode name_1".into()));
        assert!(odd.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'), "{odd}");
        assert!(object_name("s", &Side::Responder("***".into())).len() > "gameday-drill-s-r-".len());
    }

    #[test]
    fn a_session_id_must_be_a_label_value() {
        assert!(check_session("20260101-101500-1a2b").is_ok());
        assert!(check_session("a/b").is_err());
        assert!(check_session(&"x".repeat(64)).is_err());
        assert!(check_session("-x").is_err());
    }

    #[test]
    fn the_last_seq_is_the_last_entrys_in_either_layout() {
        let cm = |data: &[(&str, &str)]| ConfigMap {
            data: Some(data.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()),
            ..Default::default()
        };
        assert_eq!(last_seq(&cm(&[])), 0);
        assert_eq!(last_seq(&cm(&[(ENTRIES, "{\"seq\":3}\n{\"seq\":7}\n")])), 7);
        assert_eq!(last_seq(&cm(&[(&key_of(12), "{\"seq\":12}"), (&key_of(9), "{\"seq\":9}")])), 12);
        assert!(key_of(9) < key_of(10), "sorted by name, in order");
    }

    #[test]
    fn a_channel_expires_by_its_annotation_or_a_day_after_it_was_made() {
        let now = chrono::Utc::now();
        let mut cm = ConfigMap::default();
        cm.metadata.annotations = Some(BTreeMap::from([(EXPIRES.to_string(), expiry(now))]));
        assert!(expired(&cm, now).is_none());
        assert!(expired(&cm, now + KEPT_FOR + chrono::TimeDelta::seconds(1)).is_some());
        let mut old = ConfigMap::default();
        old.metadata.creation_timestamp = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
            k8s_openapi::jiff::Timestamp::from_second((now - chrono::TimeDelta::hours(25)).timestamp()).unwrap(),
        ));
        assert!(expired(&old, now).is_some(), "an earlier version's channel, a day old");
        assert!(expired(&ConfigMap::default(), now).is_none(), "nothing to go by: kept");
    }
}
