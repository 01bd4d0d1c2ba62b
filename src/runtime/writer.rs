//! The journal writer: its own thread and queue, so that no append and no `fdatasync` ever runs
//! on the UI task and the abort path never waits on the disk. Entries are written in order, as
//! many as are queued at once with one sync (group commit). Where write-ahead matters (an inject
//! is applied only once the entry saying how to undo it is on disk) the caller waits on
//! `durable()`. If the disk is full or the file unwritable, the entries stay queued, the file is
//! cut back to its last whole line, the error is reported, and the write is retried every
//! `RETRY` until it succeeds.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::watch;

use crate::store::journal::Journal;
use crate::timeline::{Entry, EntryKind};

/// How often a failing journal is retried.
pub const RETRY: Duration = Duration::from_secs(1);

/// What is on disk: every entry up to `seq`; `error` while writes fail.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Durable {
    pub seq: u64,
    pub error: Option<String>,
    /// Entries waiting to be written.
    pub queued: usize,
}

enum Msg {
    Entry(Entry),
    /// An entry numbered and timed by the writer (the emergency path, when no core is left).
    Kind(EntryKind, DateTime<Utc>),
    Close,
}

pub struct JournalWriter {
    tx: mpsc::Sender<Msg>,
    durable: watch::Receiver<Durable>,
    path: PathBuf,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl JournalWriter {
    /// Starts the writer of `journal`, whose entries so far end at `last_seq` and whose clock
    /// started at `start`. `on_change` hears every change of the error state: writes failing (with
    /// the error) and writing again.
    pub fn spawn(
        journal: Journal,
        start: DateTime<Utc>,
        last_seq: u64,
        on_change: impl Fn(&Durable) + Send + 'static,
    ) -> JournalWriter {
        let (tx, rx) = mpsc::channel();
        let (state, durable) = watch::channel(Durable { seq: last_seq, error: None, queued: 0 });
        let path = journal.path().to_path_buf();
        let thread = std::thread::Builder::new()
            .name("journal".into())
            .spawn(move || write_loop(journal, start, last_seq, rx, state, on_change))
            .ok();
        JournalWriter { tx, durable, path, thread }
    }

    pub fn path(&self) -> &std::path::Path {
        &self.path
    }

    /// Queues an entry; returns at once.
    pub fn append(&self, entry: Entry) {
        let _ = self.tx.send(Msg::Entry(entry));
    }

    /// Queues an entry numbered after the last one, timed at `now`.
    pub fn record(&self, kind: EntryKind, now: DateTime<Utc>) {
        let _ = self.tx.send(Msg::Kind(kind, now));
    }

    pub fn durable(&self) -> watch::Receiver<Durable> {
        self.durable.clone()
    }

    /// Writes what is queued and stops, waiting at most `limit` (a disk that stays full). Returns
    /// the entries that could not be written, with the last error.
    pub async fn close(mut self, limit: Duration) -> Result<(), (usize, String)> {
        let _ = self.tx.send(Msg::Close);
        let thread = self.thread.take();
        let done = tokio::task::spawn_blocking(move || {
            if let Some(t) = thread {
                let _ = t.join();
            }
        });
        let _ = tokio::time::timeout(limit, done).await;
        let d = self.durable.borrow().clone();
        match d.error {
            Some(e) if d.queued > 0 => Err((d.queued, e)),
            _ if d.queued > 0 => Err((d.queued, "the disk did not answer in time".into())),
            _ => Ok(()),
        }
    }
}

fn write_loop(
    mut journal: Journal,
    start: DateTime<Utc>,
    mut last_seq: u64,
    rx: mpsc::Receiver<Msg>,
    state: watch::Sender<Durable>,
    on_change: impl Fn(&Durable),
) {
    let mut queue: VecDeque<Entry> = VecDeque::new();
    let mut closing = false;
    let mut error: Option<String> = None;
    let mut take = |msg: Msg, queue: &mut VecDeque<Entry>, closing: &mut bool| match msg {
        Msg::Entry(e) => {
            last_seq = last_seq.max(e.seq);
            queue.push_back(e);
        }
        Msg::Kind(kind, now) => {
            last_seq += 1;
            let t_ms = (now - start).num_milliseconds().max(0) as u64;
            queue.push_back(Entry { seq: last_seq, wall: now, t_ms, kind });
        }
        Msg::Close => *closing = true,
    };
    loop {
        // Wait for work; while the disk fails, wake up to retry.
        let first = match (queue.is_empty(), &error) {
            (true, _) if closing => return,
            (true, _) => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
            (false, Some(_)) => rx.recv_timeout(RETRY),
            (false, None) => Err(RecvTimeoutError::Timeout),
        };
        match first {
            Ok(msg) => take(msg, &mut queue, &mut closing),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => {
                // Nobody is left to queue more: keep retrying what is queued, at the same pace.
                if closing && error.is_some() {
                    std::thread::sleep(RETRY);
                }
                closing = true;
            }
        }
        while let Ok(msg) = rx.try_recv() {
            take(msg, &mut queue, &mut closing);
        }
        if queue.is_empty() {
            continue;
        }
        let batch: Vec<Entry> = queue.iter().cloned().collect();
        match journal.append_all(&batch) {
            Ok(()) => {
                queue.clear();
                let recovered = error.take().is_some();
                let seq = batch.last().map(|e| e.seq).unwrap_or(0);
                state.send_modify(|d| {
                    d.seq = seq;
                    d.error = None;
                    d.queued = 0;
                });
                if recovered {
                    on_change(&state.borrow());
                }
            }
            Err(e) => {
                let message = e.to_string();
                let changed = error.as_ref() != Some(&message);
                error = Some(message.clone());
                state.send_modify(|d| {
                    d.error = Some(message);
                    d.queued = queue.len();
                });
                if changed {
                    on_change(&state.borrow());
                }
            }
        }
    }
}
