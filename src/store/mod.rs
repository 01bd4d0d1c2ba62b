//! Where a Gameday's record lives on this machine: the session journals (write-ahead, locked
//! while a console writes them), the list of sessions, the faults left in dead sessions'
//! journals, and the reports written beside them. I/O on the timeline's data.

pub mod journal;
pub mod leftovers;
pub mod machine;
pub mod report;
pub mod sessions;
