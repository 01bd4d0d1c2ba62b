//! What flows into the core (events) and what it asks the runtime to do (effects).

use std::path::PathBuf;

use ratatui::crossterm::event::KeyEvent;

use crate::model::{FaultSpec, Happening, Holder, Leftover, Prepared, RevertHandle, TopologyDelta};
use crate::timeline::Entry;

/// Everything that reaches the UI loop comes through one channel as one of these.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    Key(KeyEvent),
    /// Text pasted into the terminal (bracketed paste, or a burst of keys no person types).
    Paste(String),
    /// The terminal's size (at start, and whenever it is resized): redraw.
    Resize {
        width: u16,
        height: u16,
    },
    /// Once a second: countdowns, expiry, retry deadlines.
    Tick,
    Backend(TopologyDelta),
    Prepared {
        fault: u64,
        result: Result<RevertHandle, String>,
        /// What ends it at its duration whatever the console says (`Backend::fixed_end`).
        fixed_end: Option<String>,
    },
    /// What prepare found for the fault the confirmation shows (nothing is applied); `spec` is
    /// the question it answers.
    Previewed {
        spec: Box<FaultSpec>,
        result: Result<Prepared, String>,
    },
    Injected {
        fault: u64,
        result: Result<RevertHandle, String>,
    },
    Reverted {
        fault: u64,
        attempt: u32,
        /// What the revert left as people changed it since, or why it failed.
        result: Result<Vec<String>, String>,
    },
    Exported {
        path: PathBuf,
        result: Result<(), String>,
    },
    /// Faults left behind by earlier sessions (found after start, without blocking the screen),
    /// and where the search could not look (a fault left there would not be found).
    Leftovers {
        found: Vec<Leftover>,
        skipped: Vec<String>,
    },
    CleanedUp {
        index: usize,
        attempt: u32,
        result: Result<(), String>,
    },
    /// SIGTERM, SIGHUP, SIGINT, SIGQUIT, SIGUSR1/2, SIGALRM, SIGPIPE, or the terminal went away.
    Signal(String),
    /// SIGTSTP: someone asks the console to suspend (Ctrl-Z comes as a key).
    Suspend,
    /// SIGCONT: the console runs again after being stopped.
    Continued,
    /// The journal writer's state changed: writes fail (`error`) or succeed again. Entries up to
    /// `durable_seq` are on disk.
    Journal {
        durable_seq: u64,
        error: Option<String>,
    },
    /// A prepared fault was not applied: the entry that says how to undo it could not be made
    /// durable first, or the inject failed having changed nothing (the backend is sure).
    NotApplied {
        fault: u64,
        why: String,
    },
    /// A probe's result (HTTP, TCP, PromQL).
    Probe(crate::model::probe::Outcome),
    /// This console serves its session's drill to other machines: how they join.
    DrillServed(Served),
    /// New entries in another console's journal (a drill): the facilitator's, or a responder's.
    Peer {
        from: String,
        entries: Vec<Entry>,
    },
    /// The emergency stop reached the cluster lock (the holder asked, and who asked), or not.
    StopAsked {
        result: Result<(Holder, String), String>,
    },
    /// A take-over of a fault held elsewhere ended: what of it was reverted, or why not.
    TookOver {
        holder: Holder,
        why: String,
        result: Result<Vec<String>, String>,
    },
    /// This console's hold on the cluster lock was taken by `by` (this console went silent for
    /// longer than its lease): its fault may have been reverted by them.
    LockLost {
        by: Holder,
    },
    /// The drill channel's news: a publish failed, is working again, the channel is full.
    Channel {
        message: String,
        warning: bool,
    },
    /// The system's own record could not be told of a fault (`Effect::Announce` failed).
    NotAnnounced {
        fault: u64,
        error: String,
    },
}

/// Work for the runtime. Effects are carried out in order; `Record` is written and flushed
/// before the next effect starts, which is what makes the journal write-ahead.
#[derive(Clone, Debug, PartialEq)]
pub enum Effect {
    Record(Entry),
    /// Take the cluster's one-fault lock for this fault (shared with every console on the
    /// cluster). The fault's prepare and inject wait for it; refused, they report
    /// `Event::NotApplied` and ask the backend nothing.
    TakeLock(FaultSpec),
    /// The fault's deadline (ms since the session's start) as the console now knows it: the
    /// lock carries it, for others to judge it overdue.
    LockDeadline {
        fault: u64,
        deadline_ms: u64,
    },
    /// Give the cluster lock back: the fault is out of the system (its revert is confirmed, or
    /// it was never applied).
    GiveBackLock {
        fault: u64,
    },
    /// Put what happened to a fault on the system's own record (Kubernetes Events regarding
    /// what it touched); best effort, a failure comes back as `Event::NotAnnounced`.
    Announce {
        handle: RevertHandle,
        what: Happening,
    },
    /// Ask the backend what the fault will touch and how to undo it (changes nothing).
    Prepare(FaultSpec),
    /// The same, for the confirmation: what prepare finds is shown before the operator confirms.
    Preview(FaultSpec),
    /// Apply a prepared fault (its handle is already journaled), once the entry that says how
    /// to undo it is on disk and the cluster lock is this console's.
    Inject {
        spec: FaultSpec,
        handle: RevertHandle,
    },
    /// An abort came before the inject of `fault` was sent to the backend: it must never be
    /// sent (the runtime answers `Event::NotApplied`). One already sent returns as
    /// `Event::Injected`, and is reverted at once.
    CancelInject {
        fault: u64,
        by: String,
    },
    /// Revert after `delay_ms` (0 for an abort: dispatched at once).
    Revert {
        handle: RevertHandle,
        attempt: u32,
        delay_ms: u64,
    },
    WriteReport {
        path: PathBuf,
        markdown: String,
    },
    /// Revert a fault an earlier session left (after `delay_ms`), and append that to its
    /// journal; `by` is this session.
    Cleanup {
        index: usize,
        leftover: Leftover,
        attempt: u32,
        delay_ms: u64,
        by: String,
    },
    /// Start running a probe (it reports `Event::Probe` at its interval until the end); one of
    /// the same name that runs already is replaced.
    StartProbe(crate::model::probe::ProbeSpec),
    /// A drill responder on the demo: replay the facilitator's fault in this console's own
    /// simulated cluster (nothing is journaled: it dies with the process).
    Mirror(FaultSpec),
    /// Undo a replayed fault.
    Unmirror(u64),
    /// Give the terminal back and stop the process (Ctrl-Z), only when no fault is live.
    Suspend,
    /// Keep a command in the user's history (across sessions).
    RememberCommand(String),
    /// Ask the holder of the cluster lock (another console) to stop its fault.
    RequestStop,
    /// Take the cluster lock over from `holder` (its console went silent, or its fault is
    /// overdue) and revert its fault by its markers.
    TakeOver {
        holder: Holder,
        why: String,
    },
    /// Leave the UI loop (the journal already holds the session end).
    Exit,
}

/// How responders on other machines join the drill this console serves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Served {
    /// The command they type (`gameday --demo --drill ID:TOKEN@HOST:PORT`).
    pub command: String,
    /// Where it listens, as responders dial it (no token: this goes on the record).
    pub at: String,
    /// The server listens on loopback: only this machine can join.
    pub loopback: bool,
}
