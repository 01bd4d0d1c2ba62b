//! The session timeline: entries, the write-ahead JSONL journal, and the Markdown report.

pub mod ci;
pub mod drill;
pub mod entry;
pub mod faults;
pub mod gantt;
pub mod journal;
pub mod json;
pub mod junit;
pub mod leftovers;
pub mod markdown;
pub mod report;
pub mod sessions;
pub mod summary;

pub use entry::{since, EndReason, Entry, EntryKind, Health, Mark, NoteTag, Stamp};
