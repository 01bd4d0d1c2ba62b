//! Leaving the console: `q`, `:quit`, Ctrl-C, a signal, the end of a sheet walked by itself.
//! The live fault is aborted first, and the session ends once it is out of the system (its
//! revert confirmed, or it was never applied); after `QUIT_DEADLINE_MS` without a confirmed
//! revert the console gives up waiting and says so.

use super::book::{Book, Level};
use super::event::Effect;
use super::fault::QUIT_DEADLINE_MS;
use crate::timeline::EntryKind;

/// Set when the user or a signal asked to leave: the active fault is reverted first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Quitting {
    pub by: String,
    /// Give up waiting for a confirmed revert after this (ms since start).
    pub deadline_ms: u64,
}

/// The quit machine.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Quit {
    pub quitting: Option<Quitting>,
    /// The session has ended: the UI loop is leaving.
    pub exited: bool,
}

/// What quitting asks of the others.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum QuitOutcome {
    Nothing,
    /// A fault is live: abort it first (`by`: who asked to quit).
    AbortFirst {
        by: String,
    },
    /// Quitting gave up waiting for a confirmed revert: the live fault is recorded as not
    /// confirmed reverted, and the session ends.
    GiveUp,
}

impl Quit {
    /// Someone asked to leave. `fault_live`: a fault of this console is live.
    pub fn ask(&mut self, by: &str, fault_live: bool, book: &mut Book) -> QuitOutcome {
        if let Some(q) = &self.quitting {
            let left = q.deadline_ms.saturating_sub(book.t_ms()) / 1000;
            book.say(Level::Warning, format!("still reverting before exit (giving up in {left} s)"));
            return QuitOutcome::Nothing;
        }
        self.quitting = Some(Quitting { by: by.to_string(), deadline_ms: book.t_ms() + QUIT_DEADLINE_MS });
        if fault_live {
            return QuitOutcome::AbortFirst { by: by.to_string() };
        }
        self.finish_if_asked(fault_live, book);
        QuitOutcome::Nothing
    }

    /// "quit (q)", as the session's end says.
    pub fn reason(&self) -> String {
        self.quitting.as_ref().map(|q| format!("quit ({})", q.by)).unwrap_or_else(|| "quit".into())
    }

    /// Whether quitting has waited past its deadline.
    pub fn past_deadline(&self, now_ms: u64) -> bool {
        self.quitting.as_ref().is_some_and(|q| now_ms >= q.deadline_ms)
    }

    /// No fault of this console is live any more: if quitting was asked, the session ends.
    pub fn finish_if_asked(&mut self, fault_live: bool, book: &mut Book) {
        if self.quitting.is_some() && !fault_live && !self.exited {
            let reason = self.reason();
            self.finish(reason, book);
        }
    }

    /// The session ends: recorded, and the UI loop leaves.
    pub fn finish(&mut self, reason: String, book: &mut Book) {
        book.record(EntryKind::SessionEnd { reason });
        self.exited = true;
        book.effect(Effect::Exit);
    }

    /// The clock, while quitting: past the deadline with a fault still live, give up.
    pub fn on_tick(&self, fault_live: bool, now_ms: u64) -> QuitOutcome {
        if self.exited || !fault_live || !self.past_deadline(now_ms) {
            return QuitOutcome::Nothing;
        }
        QuitOutcome::GiveUp
    }

    /// When quitting next has something to do by the clock alone.
    pub fn next_due(&self, fault_live: bool) -> Option<u64> {
        self.quitting.as_ref().filter(|_| fault_live).map(|q| q.deadline_ms)
    }
}
