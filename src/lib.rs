//! gameday: a terminal console for chaos-engineering Gamedays.

pub mod app;
pub mod backend;
pub mod config;
pub mod plan;
pub mod preset;
pub mod probe;
pub mod runtime;
pub mod text;
pub mod theme;
pub mod timeline;
pub mod ui;
