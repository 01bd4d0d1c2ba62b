//! The session timeline: its entries and what is made of them (the Markdown report, its JSON,
//! the JUnit file, the gantt chart, the CI log's lines). Pure data and formats: the files they
//! live in are `crate::store`'s.

pub mod alerts;
pub mod charts;
pub mod ci;
pub mod describe;
pub mod drill;
pub mod entry;
pub mod faults;
pub mod gantt;
pub mod json;
pub mod junit;
pub mod leftovers;
pub mod listing;
pub mod markdown;
pub mod report;
pub mod summary;
pub mod time;

pub use entry::{since, ActionItem, EndReason, Entry, EntryKind, Health, Mark, NoteTag, ServiceReading, Stamp};
