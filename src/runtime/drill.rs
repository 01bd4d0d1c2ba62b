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
use crate::backend::{BackendInfo, TopologyDelta};
use crate::timeline::Entry;

/// How long joining waits for the channel to say whether the session exists.
const JOIN_LIMIT: Duration = Duration::from_secs(10);
/// A publish that failed is tried again after this long.
const RETRY: Duration = Duration::from_secs(1);
/// How long the end of a session waits for its last entries to reach the channel.
pub const FLUSH_LIMIT: Duration = Duration::from_secs(5);

/// A drill responder's own journal, and what they marked before (they may rejoin). The session
/// must exist: in the channel when there is one, else as a journal on this machine.
pub async fn responder(
    dir: &Path,
    id: &str,
    name: &str,
    backend: &BackendInfo,
    channel: Option<&Arc<dyn DrillChannel>>,
) -> anyhow::Result<(PathBuf, Vec<Entry>)> {
    match channel {
        Some(channel) => {
            let found = tokio::time::timeout(JOIN_LIMIT, channel.facilitator(id))
                .await
                .map_err(|_| {
                    anyhow::anyhow!("session {id}: the drill channel ({}) did not answer", channel.describe())
                })?
                .map_err(|e| anyhow::anyhow!("session {id}: {e}"))?;
            if found.is_none() {
                anyhow::bail!(
                    "no session {id} on this cluster: its facilitator's console publishes it in {} \
                     (is it running, with the same --lock-namespace?)",
                    channel.describe()
                );
            }
        }
        None => {
            super::resume::existing(dir, id, backend)?;
        }
    }
    let path = tail::responder_file(dir, id, name);
    if crate::timeline::journal::in_use(&path) {
        anyhow::bail!("responder {name} is already in this drill in another console (--responder picks another name)");
    }
    let earlier = if path.exists() { crate::timeline::journal::read(&path)? } else { Vec::new() };
    Ok((path, earlier))
}

/// Follows the other side: by the channel's watch when there is one, else by tailing files.
pub fn follow(
    channel: Option<&Arc<dyn DrillChannel>>,
    dir: &Path,
    session: &str,
    me: &Side,
    tx: UnboundedSender<Event>,
) {
    if let Some(channel) = channel {
        let deliver = move |heard: Heard| {
            let ev = match heard {
                Heard::Entries { from, entries } => Event::Peer { from, entries },
                Heard::Trouble(message) => Event::Backend(TopologyDelta::ClusterEvent {
                    object: "drill channel".into(),
                    message,
                    warning: true,
                }),
            };
            tx.send(ev).is_ok()
        };
        return channel.follow(session, me, Box::new(deliver));
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
    /// was given has been published (or could not be).
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
                        if !open {
                            return;
                        }
                        if !failing {
                            failing = true;
                            say(format!("the drill channel: {e}; trying again"), true);
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

/// Waits (a little) for a publisher's last entries to reach the channel.
pub async fn flushed(handle: Option<tokio::task::JoinHandle<()>>) {
    if let Some(h) = handle {
        let _ = tokio::time::timeout(FLUSH_LIMIT, h).await;
    }
}
