//! Drills, the runtime's side: how the facilitator and its responders hear each other.
//!
//! - On a backend with a drill channel (Kubernetes: ConfigMaps in the lock namespace) the two
//!   sides share nothing but the system: each publishes what the other needs of its timeline
//!   (`app::drill::for_peers`) and follows the other's by watch. A responder joins by the
//!   session's ID alone (the facilitator's journal is on the facilitator's machine).
//! - Otherwise (the demo, Docker) both sides are on one machine: the responder tails the
//!   facilitator's journal, the facilitator each responder's file (`tail`).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc::{self, UnboundedSender};

use super::tail;
use crate::app::Event;
use crate::backend::drill::{ChannelError, DrillChannel, Heard, Side};
use crate::model::{BackendInfo, TopologyDelta};
use crate::timeline::Entry;

/// How long joining waits for the channel to say whether the session exists.
const JOIN_LIMIT: Duration = Duration::from_secs(10);
/// A publish that failed is tried again after this long.
const RETRY: Duration = Duration::from_secs(1);
/// How long the end of a session waits for its last entries to reach the channel.
pub const FLUSH_LIMIT: Duration = Duration::from_secs(5);

/// A drill responder's own journal, what they marked before (they may rejoin), and when the
/// facilitator's session started (the responder's clock counts from it, as the facilitator's
/// does). The session must exist: in the channel when there is one, else as a journal on this
/// machine.
pub async fn responder(
    dir: &Path,
    id: &str,
    name: &str,
    backend: &BackendInfo,
    channel: Option<&Arc<dyn DrillChannel>>,
) -> anyhow::Result<(PathBuf, Vec<Entry>, Option<chrono::DateTime<chrono::Utc>>)> {
    let started = match channel {
        Some(channel) => {
            let found = tokio::time::timeout(JOIN_LIMIT, channel.facilitator(id))
                .await
                .map_err(|_| {
                    anyhow::anyhow!("session {id}: the drill channel ({}) did not answer", channel.describe())
                })?
                .map_err(|e| anyhow::anyhow!("session {id}: {e}"))?;
            match found {
                None => anyhow::bail!(
                    "no session {id} on this cluster: its facilitator's console publishes it in {} \
                     (is it running, with the same --lock-namespace?)",
                    channel.describe()
                ),
                Some(entries) => entries.first().map(|e| e.wall),
            }
        }
        None => {
            let journal = super::resume::existing(dir, id, backend)?;
            crate::store::journal::first(&journal).ok().flatten().map(|e| e.wall)
        }
    };
    let path = tail::responder_file(dir, id, name);
    if crate::store::journal::in_use(&path) {
        anyhow::bail!("responder {name} is already in this drill in another console (--responder picks another name)");
    }
    let mut earlier = if path.exists() { crate::store::journal::read(&path)? } else { Vec::new() };
    // Marked before from another machine (or another data directory): this console goes on
    // from there, and keeps them in its own journal, so that what it marks next is numbered
    // after them (the channel adds only entries newer than those it has).
    if let Some(channel) = channel {
        let side = Side::Responder(name.to_string());
        let mine = tokio::time::timeout(JOIN_LIMIT, channel.published(id, &side))
            .await
            .map_err(|_| anyhow::anyhow!("session {id}: the drill channel ({}) did not answer", channel.describe()))?
            .map_err(|e| anyhow::anyhow!("session {id}: {e}"))?
            .unwrap_or_default();
        let last = earlier.last().map(|e| e.seq).unwrap_or(0);
        let missing: Vec<Entry> = mine.into_iter().filter(|e| e.seq > last).collect();
        if !missing.is_empty() {
            let mut journal = crate::store::journal::Journal::open(&path)
                .map_err(|e| anyhow::anyhow!("cannot open {}: {e}", path.display()))?;
            journal.append_all(&missing).map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
            earlier.extend(missing);
        }
    }
    Ok((path, earlier, started))
}

/// Follows the other side: by the channel's watch when there is one; by tailing the files of
/// this machine when there is none, or when the channel is this console's own drill server (a
/// responder on this machine may have joined by the session's ID alone).
pub fn follow(
    channel: Option<&Arc<dyn DrillChannel>>,
    served: bool,
    dir: &Path,
    session: &str,
    me: &Side,
    tx: UnboundedSender<Event>,
) {
    if let Some(channel) = channel {
        let tx = tx.clone();
        let deliver = move |heard: Heard| {
            let ev = match heard {
                Heard::Entries { from, entries } => Event::Peer { from, entries },
                Heard::Trouble(message) => Event::Backend(TopologyDelta::ClusterEvent {
                    object: "drill channel".into(),
                    message,
                    warning: true,
                }),
                Heard::Restored(message) => Event::Backend(TopologyDelta::ClusterEvent {
                    object: "drill channel".into(),
                    message,
                    warning: false,
                }),
            };
            tx.send(ev).is_ok()
        };
        channel.follow(session, me, Box::new(deliver));
        if !served {
            return;
        }
    }
    match me {
        Side::Responder(_) => {
            let journal = dir.join(format!("{session}.jsonl"));
            tail::spawn(dir.to_path_buf(), move |p| (p == journal).then(|| "facilitator".to_string()), tx);
        }
        Side::Facilitator => {
            let prefix = format!("{session}.");
            let name_of = move |p: &Path| {
                let file = p.file_name()?.to_str()?;
                let name = file.strip_prefix(&prefix)?.strip_suffix(".jsonl")?;
                (!name.is_empty()).then(|| name.to_string())
            };
            tail::spawn(dir.join("drills"), name_of, tx);
        }
    }
}

/// Publishes, in the background, what the other side needs of this console's timeline.
pub struct Publisher {
    tx: UnboundedSender<Vec<Entry>>,
    responder: bool,
    /// How much of the timeline was offered.
    offered: usize,
}

impl Publisher {
    /// Starts the publishing task; the handle ends once the publisher is dropped and what it
    /// was given has been published (a publish that fails is tried again every second, until
    /// then; the end of a session waits for it `FLUSH_LIMIT` at most), or could never be (the
    /// channel is full or unavailable).
    pub fn spawn(
        channel: Arc<dyn DrillChannel>,
        session: String,
        side: Side,
        events: UnboundedSender<Event>,
    ) -> (Publisher, tokio::task::JoinHandle<()>) {
        let (tx, mut rx) = mpsc::unbounded_channel::<Vec<Entry>>();
        let responder = matches!(side, Side::Responder(_));
        let say = move |message: String, warning: bool| {
            let _ = events.send(Event::Backend(TopologyDelta::ClusterEvent {
                object: "drill channel".into(),
                message,
                warning,
            }));
        };
        let handle = tokio::spawn(async move {
            let mut pending: Vec<Entry> = Vec::new();
            let mut open = true;
            let mut failing = false;
            while open || !pending.is_empty() {
                let got = if pending.is_empty() {
                    rx.recv().await
                } else if open {
                    tokio::time::timeout(RETRY, rx.recv()).await.unwrap_or(Some(Vec::new()))
                } else {
                    None
                };
                match got {
                    Some(batch) => pending.extend(batch),
                    None => open = false,
                }
                while let Ok(batch) = rx.try_recv() {
                    pending.extend(batch);
                }
                if pending.is_empty() {
                    continue;
                }
                match channel.publish(&session, &side, &pending).await {
                    Ok(()) => {
                        pending.clear();
                        if failing {
                            failing = false;
                            say(format!("publishing in {} again", channel.describe()), false);
                        }
                    }
                    Err(e @ (ChannelError::Full(_) | ChannelError::Unavailable(_))) => {
                        let what = match responder {
                            true => "the facilitator does not hear this console",
                            false => "a drill's responder does not hear this console",
                        };
                        say(format!("{e}; {what}"), true);
                        // Nothing more can be published: what comes is let go.
                        while rx.recv().await.is_some() {}
                        return;
                    }
                    Err(e) => {
                        if !failing {
                            failing = true;
                            say(format!("the drill channel: {e}; trying again"), true);
                        }
                        // The console is ending: tried again until `flushed` lets go of it.
                        if !open {
                            tokio::time::sleep(RETRY).await;
                        }
                    }
                }
            }
        });
        (Publisher { tx, responder, offered: 0 }, handle)
    }

    /// Hands the entries recorded since the last call that the other side needs to the task.
    pub fn offer(&mut self, timeline: &[Entry]) {
        let Some(new) = timeline.get(self.offered..) else { return };
        self.offered = timeline.len();
        let wanted: Vec<Entry> =
            new.iter().filter(|e| crate::app::drill::for_peers(&e.kind, self.responder)).cloned().collect();
        if !wanted.is_empty() {
            let _ = self.tx.send(wanted);
        }
    }
}

/// Takes this side's channel away once its session has ended (bounded: a console that cannot
/// reach the cluster any more still ends; the channel then expires by itself).
pub async fn close(channel: &dyn DrillChannel, session: &str, side: &Side) {
    match tokio::time::timeout(FLUSH_LIMIT, channel.close(session, side)).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::warn!("the drill channel was not taken away: {e} (it expires by itself)"),
        Err(_) => tracing::warn!("the drill channel was not taken away in time (it expires by itself)"),
    }
}

/// Waits (a little) for a publisher's last entries to reach the channel.
pub async fn flushed(handle: Option<tokio::task::JoinHandle<()>>) {
    if let Some(h) = handle {
        let _ = tokio::time::timeout(FLUSH_LIMIT, h).await;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use async_trait::async_trait;
    use chrono::Utc;

    use super::*;
    use crate::backend::drill::Deliver;
    use crate::timeline::{EntryKind, Mark};

    /// A channel that answers each publish with the next of `answers` (then Ok), and keeps
    /// what it was given.
    #[derive(Default)]
    struct Fake {
        answers: Mutex<Vec<Result<(), ChannelError>>>,
        published: Mutex<Vec<u64>>,
    }

    #[async_trait]
    impl DrillChannel for Fake {
        fn describe(&self) -> String {
            "the fake".into()
        }
        async fn published(&self, _: &str, _: &Side) -> Result<Option<Vec<Entry>>, ChannelError> {
            Ok(None)
        }
        async fn publish(&self, _: &str, _: &Side, entries: &[Entry]) -> Result<(), ChannelError> {
            let answer = {
                let mut a = self.answers.lock().unwrap();
                if a.is_empty() {
                    Ok(())
                } else {
                    a.remove(0)
                }
            };
            if answer.is_ok() {
                self.published.lock().unwrap().extend(entries.iter().map(|e| e.seq));
            }
            answer
        }
        fn follow(&self, _: &str, _: &Side, _: Deliver) {}
    }

    fn entry(seq: u64, kind: EntryKind) -> Entry {
        Entry { seq, wall: Utc::now(), t_ms: seq, kind }
    }

    fn mark(seq: u64) -> Entry {
        let kind = EntryKind::DrillMark {
            responder: "bob".into(),
            their_seq: None,
            mark: Mark::Detected,
            note: String::new(),
            fault: None,
            after_ms: None,
        };
        entry(seq, kind)
    }

    fn said(rx: &mut mpsc::UnboundedReceiver<Event>) -> Vec<(String, bool)> {
        let mut out = Vec::new();
        while let Ok(ev) = rx.try_recv() {
            if let Event::Backend(TopologyDelta::ClusterEvent { message, warning, .. }) = ev {
                out.push((message, warning));
            }
        }
        out
    }

    #[tokio::test]
    async fn a_failed_publish_is_said_once_and_tried_again_until_it_goes_through() {
        let fake = Arc::new(Fake::default());
        *fake.answers.lock().unwrap() =
            vec![Err(ChannelError::Failed("503".into())), Err(ChannelError::Failed("503".into()))];
        let (tx, mut rx) = mpsc::unbounded_channel();
        let (mut p, handle) = Publisher::spawn(fake.clone(), "s".into(), Side::Responder("bob".into()), tx);
        let note = entry(2, EntryKind::Console { message: "x".into(), warning: false });
        p.offer(&[mark(1), note, mark(3)]);
        drop(p);
        flushed(Some(handle)).await;
        assert_eq!(*fake.published.lock().unwrap(), vec![1, 3], "only what the facilitator needs");
        let said = said(&mut rx);
        assert_eq!(said.len(), 2, "{said:?}");
        assert!(said[0].0.contains("503; trying again") && said[0].1, "{said:?}");
        assert_eq!(said[1], ("publishing in the fake again".to_string(), false));
    }

    #[tokio::test]
    async fn a_full_channel_is_said_and_what_comes_after_is_let_go() {
        let fake = Arc::new(Fake::default());
        *fake.answers.lock().unwrap() = vec![Err(ChannelError::Full("the drill channel is full".into()))];
        let (tx, mut rx) = mpsc::unbounded_channel();
        let (mut p, handle) = Publisher::spawn(fake.clone(), "s".into(), Side::Facilitator, tx);
        let timeline = vec![entry(1, EntryKind::DrillRevealed { faults: 0, new: Vec::new() })];
        p.offer(&timeline);
        tokio::time::sleep(Duration::from_millis(50)).await;
        let mut more = timeline.clone();
        more.push(entry(2, EntryKind::DrillRevealed { faults: 0, new: Vec::new() }));
        p.offer(&more);
        drop(p);
        flushed(Some(handle)).await;
        assert!(fake.published.lock().unwrap().is_empty());
        let said = said(&mut rx);
        assert_eq!(
            said,
            vec![("the drill channel is full; a drill's responder does not hear this console".to_string(), true)]
        );
    }
}
