//! gameday: a terminal console for chaos-engineering Gamedays.
//!
//! The layers, each importing only those before it (tests/architecture.rs checks it):
//! `text` and `model` (the domain, a leaf) < `timeline` (entries, reports) < `config` (presets,
//! run-sheets, themes, session files) and `store` (journals and reports on disk) < `backend`
//! (sim, kube, docker) and `app` (the pure core) < `ui` (draws the core's state) < `runtime`
//! (carries out the core's effects) < `cli` (the command line).

pub mod app;
pub mod backend;
pub mod cli;
pub mod config;
pub mod files;
pub mod model;
pub mod runtime;
pub mod store;
pub mod text;
pub mod timeline;
pub mod ui;
