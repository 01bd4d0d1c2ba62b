//! The pure core: `update(state, event, now) -> effects`, with no I/O, no clock and no async.
//!
//! One machine per file or folder, each owning its state and all its transitions, each
//! writing into the session's `book` (timeline, status line, effects) and returning an outcome:
//! `fault` (the lifecycle, the only one that changes a fault's phase), `cleanup` (faults left
//! by earlier sessions), `sheet` (the run-sheet), `steady` (probes, hypothesis, stop
//! conditions), `drill`, `cluster` (the cluster lock as other consoles hold it), `picture`
//! (topology and health), `quit`, `form` and `input` (the text fields). `update` routes each
//! event to its machine, and its `react` is the one place machines meet. `state` composes
//! them; `planning` makes a fault's plan against the picture; `keymap` is the one key table.

pub mod blast;
pub mod book;
pub mod charting;
pub mod cleanup;
pub mod cluster;
pub mod command;
pub mod complete;
pub mod drill;
pub mod dry_run;
pub mod due;
pub mod event;
pub mod fault;
pub mod form;
pub mod health;
pub mod input;
pub mod keymap;
pub mod opening;
pub mod picture;
pub mod planning;
pub mod quit;
pub mod screen;
pub mod sheet;
pub mod start;
pub mod state;
pub mod steady;
pub mod tree;
pub mod update;

pub use event::{Effect, Event};
pub use state::AppState;
pub use update::update;
