//! The pure core: state, events, effects, the fault lifecycle and the key table.

pub mod blast;
pub mod cleanup;
pub mod command;
pub mod complete;
pub mod drill;
pub mod dry_run;
pub mod due;
pub mod elsewhere;
pub mod engine_end;
pub mod event;
pub mod fault;
pub mod form;
pub mod health;
pub mod keymap;
pub mod preview;
pub mod runsheet;
pub mod start;
pub mod state;
pub mod steady;
pub mod tree;
pub mod update;

pub use event::{Effect, Event};
pub use state::AppState;
pub use update::update;
