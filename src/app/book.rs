//! The session's book, which every machine writes into: its timeline (each entry also asked of
//! the runtime to journal, before any effect that comes after it), the status line, and the
//! effects an update asks for, in order. A machine is handed the book; it never reaches into
//! another machine.

use super::event::Effect;
use crate::timeline::{Entry, EntryKind, Stamp};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Info,
    Warning,
    Error,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    pub text: String,
    pub level: Level,
    /// When it was said (ms since start): a message goes from the status line once it is old
    /// (`Status::shown`), so the line never says what is no longer so.
    pub at_ms: u64,
}

impl Status {
    /// How long a message stays on the status line: a word of information a little while, a
    /// warning or an error long enough to be read after looking away.
    pub fn lasts_ms(&self) -> u64 {
        match self.level {
            Level::Info => 15_000,
            Level::Warning | Level::Error => 60_000,
        }
    }

    /// Whether it is still shown at `now_ms`.
    pub fn shown(&self, now_ms: u64) -> bool {
        now_ms.saturating_sub(self.at_ms) < self.lasts_ms()
    }
}

#[derive(Clone, Debug)]
pub struct Book {
    /// The time of the event being handled.
    pub now: Stamp,
    pub timeline: Vec<Entry>,
    /// The status line: the last thing said.
    pub status: Option<Status>,
    /// The effects asked for while handling the current event, in order.
    fx: Vec<Effect>,
}

impl Book {
    pub fn new(now: Stamp) -> Book {
        Book { now, timeline: Vec::new(), status: None, fx: Vec::new() }
    }

    /// Milliseconds since the session's start, now.
    pub fn t_ms(&self) -> u64 {
        self.now.t_ms
    }

    /// Appends to the timeline and asks the runtime to journal it before any later effect.
    /// Text in it that came from outside (names, messages, notes) is cleaned of escape sequences
    /// and control characters first, so the screen, the journal and every report agree. It is
    /// numbered after the last entry (a responder who rejoins a drill from another machine goes
    /// on after the entries it published, whose numbers have gaps).
    pub fn record(&mut self, kind: EntryKind) {
        let kind = kind.cleaned();
        let seq = self.timeline.last().map_or(0, |e| e.seq) + 1;
        let entry = Entry { seq, wall: self.now.wall, t_ms: self.now.t_ms, kind };
        self.timeline.push(entry.clone());
        self.fx.push(Effect::Record(entry));
    }

    /// Asks the runtime for something (after every entry recorded before it).
    pub fn effect(&mut self, effect: Effect) {
        self.fx.push(effect);
    }

    /// Says something on the status line (one line, cleaned).
    pub fn say(&mut self, level: Level, text: impl Into<String>) {
        let text = text.into();
        let text = crate::text::one_line(&text).into_owned();
        self.status = Some(Status { text, level, at_ms: self.now.t_ms });
    }

    /// The effects asked for since the last call.
    pub fn take_effects(&mut self) -> Vec<Effect> {
        std::mem::take(&mut self.fx)
    }
}
