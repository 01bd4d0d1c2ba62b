//! The whole application state. Only `update` changes it; rendering only reads it.

use std::collections::BTreeMap;
use std::path::PathBuf;

use tui_textarea::TextArea;

use super::cleanup::LeftoverItem;
use super::event::Effect;
use super::fault::FaultPhase;
use super::health::ServiceHealth;
use super::keymap::Context;
use super::tree::{self, Row};
use crate::config::preset::Preset;
use crate::config::theme::Theme;
use crate::model::{BackendInfo, Support, Target, Topology};
use crate::timeline::{Entry, EntryKind, Stamp};

#[derive(Clone, Debug)]
pub struct PresetEntry {
    pub preset: Preset,
    /// Whether the backend can run it, and if not, why.
    pub support: Support,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    pub id: String,
    pub backend: BackendInfo,
    pub journal: PathBuf,
    /// Where `:export` writes when no path is given.
    pub report: PathBuf,
    pub version: String,
    /// The user's home, for `~` in paths typed into the console.
    pub home: Option<PathBuf>,
    /// Who is at this console (`--user`, the config's `user`, or the login name): notes carry it.
    pub user: String,
}

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
}

#[derive(Clone, Debug)]
pub enum Overlay {
    None,
    /// The help, scrolled down this many rows.
    Help {
        scroll: usize,
    },
    /// Choosing a preset, for a target already chosen in the tree or not.
    Picker {
        cursor: usize,
        target: Option<Target>,
    },
    /// Choosing a target for a preset.
    Targets {
        preset: String,
        cursor: usize,
    },
    Note(Box<TextArea<'static>>),
    /// Faults left by earlier sessions; `revert` is the highlighted choice (preselected).
    Leftovers {
        revert: bool,
    },
    /// The chosen preset's parameters and duration, to change before the confirmation.
    Form(Box<super::form::ParamForm>),
    /// A bare `q` while a fault is live (or a leftover unresolved): quit only on `y`.
    QuitConfirm {
        question: String,
    },
}

#[derive(Clone, Debug)]
pub enum TextInput {
    Command(Box<TextArea<'static>>),
    Filter(Box<TextArea<'static>>),
}

#[derive(Clone, Debug)]
pub struct Ui {
    pub overlay: Overlay,
    pub input: Option<TextInput>,
    /// Selected row of the topology tree.
    pub cursor: usize,
    pub filter: String,
    pub status: Option<Status>,
    /// The tag of the note being written.
    pub note_tag: crate::timeline::NoteTag,
    /// The console stopped itself (Ctrl-Z) and waits for SIGCONT.
    pub suspended: bool,
    /// The terminal's size (columns, rows), as last told.
    pub size: (u16, u16),
    /// Where the arrows go on the main screen: the tree, or the timeline.
    pub focus: Focus,
    /// The timeline scrolled back: the entry (its seq) shown at the bottom; `None` follows the
    /// newest.
    pub timeline_at: Option<u64>,
    /// Commands run before (this user's, across sessions), oldest first.
    pub history: Vec<String>,
    /// Browsing the history: the position shown, and the line typed before browsing.
    pub history_at: Option<(usize, String)>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Focus {
    #[default]
    Tree,
    Timeline,
}

/// The backend's connection, as it last reported it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Connection {
    pub connected: bool,
    pub detail: String,
    /// Since when (ms since start) it has been in this state.
    pub since_ms: u64,
}

/// The journal writer, as it last reported: while `error` is set, entries after `durable_seq`
/// are held in memory only (shown as not saved) and new faults are refused.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JournalHealth {
    pub durable_seq: u64,
    pub error: Option<String>,
    /// Since when (ms since start) writes fail.
    pub since_ms: u64,
}

impl JournalHealth {
    /// Whether this entry is known not to be on disk.
    pub fn unsaved(&self, seq: u64) -> bool {
        self.error.is_some() && seq > self.durable_seq
    }
}

/// Set when the user or a signal asked to leave: the active fault is reverted first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Quitting {
    pub by: String,
    /// Give up waiting for a confirmed revert after this (ms since start).
    pub deadline_ms: u64,
}

pub struct AppState {
    pub now: Stamp,
    pub session: Session,
    pub presets: Vec<PresetEntry>,
    pub topology: Topology,
    /// Set once the backend's first full picture (a snapshot) is in.
    pub pictured: bool,
    /// `None` until the backend says (the demo never does: it cannot lose its connection).
    pub connection: Option<Connection>,
    pub health: BTreeMap<String, ServiceHealth>,
    pub fault: FaultPhase,
    pub leftovers: Vec<LeftoverItem>,
    pub next_fault_id: u64,
    pub timeline: Vec<Entry>,
    pub themes: BTreeMap<String, Theme>,
    pub theme: Theme,
    pub ui: Ui,
    pub quitting: Option<Quitting>,
    pub exited: bool,
    /// Probes, the steady-state hypothesis and the stop conditions.
    pub steady: super::steady::Steady,
    /// The run-sheet being walked, if any.
    pub runsheet: Option<super::runsheet::Sheet>,
    /// Set when this console is a drill's responder.
    pub drill: Option<super::drill::Responder>,
    pub journal: JournalHealth,
    /// The cluster as other consoles use it: who holds its one-fault lock, a watchdog.
    pub cluster: super::elsewhere::ClusterView,
}

impl AppState {
    /// A new session; the returned effects record its start.
    pub fn new(
        session: Session,
        presets: Vec<PresetEntry>,
        themes: BTreeMap<String, Theme>,
        theme: Theme,
        start: Stamp,
    ) -> (AppState, Vec<Effect>) {
        let mut s = AppState {
            now: start,
            session,
            presets,
            topology: Topology::default(),
            pictured: false,
            connection: None,
            health: BTreeMap::new(),
            fault: FaultPhase::Idle,
            leftovers: Vec::new(),
            cluster: Default::default(),
            next_fault_id: 1,
            timeline: Vec::new(),
            themes,
            theme,
            ui: Ui {
                overlay: Overlay::None,
                input: None,
                cursor: 0,
                filter: String::new(),
                status: None,
                note_tag: Default::default(),
                suspended: false,
                size: (160, 45),
                focus: Focus::Tree,
                timeline_at: None,
                history: Vec::new(),
                history_at: None,
            },
            quitting: None,
            exited: false,
            steady: Default::default(),
            runsheet: None,
            drill: None,
            journal: JournalHealth::default(),
        };
        let mut fx = Vec::new();
        let kind = EntryKind::SessionStart {
            session: s.session.id.clone(),
            backend: s.session.backend.clone(),
            version: s.session.version.clone(),
        };
        s.record(kind, &mut fx);
        (s, fx)
    }

    /// Appends to the timeline and asks the runtime to journal it before any later effect.
    /// Text in it that came from outside (names, messages, notes) is cleaned of escape sequences
    /// and control characters first, so the screen, the journal and every report agree.
    pub fn record(&mut self, kind: EntryKind, fx: &mut Vec<Effect>) {
        let kind = kind.cleaned();
        let entry = Entry { seq: self.timeline.len() as u64 + 1, wall: self.now.wall, t_ms: self.now.t_ms, kind };
        self.timeline.push(entry.clone());
        fx.push(Effect::Record(entry));
    }

    pub fn say(&mut self, level: Level, text: impl Into<String>) {
        let text = text.into();
        let text = crate::text::one_line(&text).into_owned();
        self.ui.status = Some(Status { text, level });
    }

    pub fn context(&self) -> Context {
        match (&self.ui.input, &self.ui.overlay) {
            (Some(TextInput::Command(_)), _) => Context::CommandLine,
            (Some(TextInput::Filter(_)), _) => Context::Filter,
            (_, Overlay::Note(_)) => Context::Note,
            (_, Overlay::Form(_)) => Context::Form,
            (_, Overlay::Help { .. }) => Context::Help,
            (_, Overlay::Leftovers { .. }) => Context::Leftovers,
            (_, Overlay::QuitConfirm { .. }) => Context::QuitConfirm,
            _ if matches!(self.fault, FaultPhase::Armed { .. }) => Context::Confirm,
            (_, Overlay::Picker { .. }) => Context::Picker,
            (_, Overlay::Targets { .. }) => Context::Targets,
            _ if self.drill.is_some() => Context::Drill,
            _ => Context::Main,
        }
    }

    /// The timeline's entries the filter lets through (all of them without one), oldest first.
    pub fn timeline_shown(&self) -> Vec<&Entry> {
        let f = self.ui.filter.to_lowercase();
        self.timeline.iter().filter(|e| f.is_empty() || e.kind.describe().to_lowercase().contains(&f)).collect()
    }

    pub fn rows(&self) -> Vec<Row<'_>> {
        tree::rows(&self.topology, &self.ui.filter)
    }

    /// The target of the selected tree row, if it is a workload, pod or node.
    pub fn selected_target(&self) -> Option<Target> {
        let rows = self.rows();
        rows.get(self.ui.cursor.min(rows.len().saturating_sub(1))).and_then(Row::target)
    }

    pub fn preset(&self, id: &str) -> Option<&PresetEntry> {
        self.presets.iter().find(|p| p.preset.id == id)
    }

    /// Targets offered for a preset in the target list, filtered.
    pub fn target_choices(&self, preset: &str) -> Vec<Target> {
        let Some(p) = self.preset(preset) else {
            return Vec::new();
        };
        let f = self.ui.filter.to_lowercase();
        p.preset
            .targets
            .iter()
            .flat_map(|k| self.topology.targets(*k))
            .filter(|t| f.is_empty() || t.to_string().to_lowercase().contains(&f))
            .collect()
    }

    /// The presets in the order the picker lists them: those that can run (on the chosen
    /// target, if any) first, then the disabled ones, each by id.
    pub fn picker_order(&self, target: Option<&Target>) -> Vec<&PresetEntry> {
        let (mut ok, mut no): (Vec<&PresetEntry>, Vec<&PresetEntry>) =
            self.presets.iter().partition(|p| self.preset_available(p, target).is_ok());
        ok.sort_by(|a, b| a.preset.id.cmp(&b.preset.id));
        no.sort_by(|a, b| a.preset.id.cmp(&b.preset.id));
        ok.extend(no);
        ok
    }

    /// Whether a preset can be picked (for a target, if one is chosen); if not, why.
    pub fn preset_available(&self, p: &PresetEntry, target: Option<&Target>) -> Result<(), String> {
        if let crate::model::Support::No(why) = &p.support {
            return Err(why.clone());
        }
        match target {
            Some(t) if !p.preset.targets.contains(&t.kind()) => {
                Err(format!("targets {}, not a {}", p.preset.targets_text(), t.kind()))
            }
            _ => Ok(()),
        }
    }
}
