//! The whole application state: one field per machine, the book they all write into, and what
//! the screen shows. Only `update` changes it; rendering only reads it.

use std::collections::BTreeMap;
use std::path::PathBuf;

pub use super::book::{Book, Level, Status};
use super::cleanup::Cleanup;
use super::cluster::ClusterView;
use super::drill::Responder;
use super::event::Effect;
use super::fault::{FaultPhase, Faults, InjectGate};
use super::keymap::Context;
pub use super::picture::{Connection, Picture};
use super::planning::Planner;
pub use super::planning::PresetEntry;
pub use super::quit::{Quit, Quitting};
pub use super::screen::{Focus, Overlay, TextInput, Ui};
use super::sheet::Sheet;
use super::steady::{Steady, SteadyView};
use super::tree::{self, Row};
use crate::config::theme::Theme;
use crate::model::{BackendInfo, Target};
use crate::timeline::{Entry, EntryKind, Stamp};

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
    /// This machine's name (for `user@host` in the system's own record).
    pub host: String,
}

impl Session {
    /// `user@host`.
    pub fn who(&self) -> String {
        format!("{}@{}", self.user, self.host)
    }
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

pub struct AppState {
    pub session: Session,
    /// The timeline, the status line and the effects asked for: what every machine writes.
    pub book: Book,
    pub presets: Vec<PresetEntry>,
    /// The cluster's picture: topology, connection, each service's health.
    pub picture: Picture,
    /// This console's fault.
    pub fault: Faults,
    /// Faults left by earlier sessions.
    pub cleanup: Cleanup,
    /// Probes, the steady-state hypothesis and the stop conditions.
    pub steady: Steady,
    /// The run-sheet being walked, if any.
    pub sheet: Option<Sheet>,
    /// Set when this console is a drill's responder.
    pub drill: Option<Responder>,
    /// The cluster as other consoles use it: who holds its one-fault lock, a watchdog.
    pub cluster: ClusterView,
    pub quit: Quit,
    pub journal: JournalHealth,
    pub themes: BTreeMap<String, Theme>,
    pub theme: Theme,
    pub ui: Ui,
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
            fault: Faults::new(&session.id, &session.who()),
            cleanup: Cleanup::new(&session.id),
            session,
            book: Book::new(start),
            presets,
            picture: Picture::default(),
            steady: Default::default(),
            sheet: None,
            drill: None,
            cluster: Default::default(),
            quit: Quit::default(),
            journal: JournalHealth::default(),
            themes,
            theme,
            ui: Ui::default(),
        };
        let kind = EntryKind::SessionStart {
            session: s.session.id.clone(),
            backend: s.session.backend.clone(),
            version: s.session.version.clone(),
        };
        s.book.record(kind);
        let fx = s.book.take_effects();
        (s, fx)
    }

    pub fn timeline(&self) -> &[Entry] {
        &self.book.timeline
    }

    pub fn say(&mut self, level: Level, text: impl Into<String>) {
        self.book.say(level, text);
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
            _ if matches!(self.fault.phase, FaultPhase::Armed { .. }) => Context::Confirm,
            (_, Overlay::Picker { .. }) => Context::Picker,
            (_, Overlay::Targets { .. }) => Context::Targets,
            _ if self.drill.is_some() => Context::Drill,
            _ => Context::Main,
        }
    }

    /// What a fault is planned against: the presets, the picture now.
    pub fn planner(&self) -> Planner<'_> {
        Planner { presets: &self.presets, topology: &self.picture.topology, pod_word: &self.session.backend.pod_word }
    }

    /// What the steady state reads of the rest of the console now.
    pub fn steady_view(&self) -> SteadyView<'_> {
        SteadyView::of(&self.picture, &self.fault, self.book.t_ms())
    }

    /// Rows of the red bar: the fault (three while its revert keeps failing), faults left by
    /// earlier sessions being reverted, a fault another console holds.
    pub fn abort_bar_rows(&self) -> u16 {
        let fault = match &self.fault.phase {
            FaultPhase::Reverting { attempt, .. } if *attempt > super::fault::LOUD_AFTER_ATTEMPTS => 3,
            FaultPhase::Idle | FaultPhase::Armed { .. } => 0,
            _ => 1,
        };
        let elsewhere = self.fault.idle() && self.cluster.elsewhere(self.own()).is_some();
        fault + u16::from(self.cleanup.live() > 0) + u16::from(elsewhere)
    }

    /// The rows popups may take: all but the header, the red bar, the journal's warning and
    /// the footer, which stay in sight whatever is open.
    pub fn popup_rows(&self) -> u16 {
        let chrome = 2 + self.abort_bar_rows() + u16::from(self.journal.error.is_some());
        self.ui.size.1.saturating_sub(chrome)
    }

    /// This session, and its live fault if any (what the cluster lock's holder is compared to).
    pub fn own(&self) -> (&str, Option<u64>) {
        (&self.session.id, self.fault.live().map(|f| f.id))
    }

    /// Why an inject may not start, as the rest of the console knows it.
    pub fn gate(&self) -> InjectGate {
        InjectGate {
            held_elsewhere: self.cluster.refusal(self.own(), self.book.now.wall.timestamp()),
            leftovers: self.cleanup.unresolved(),
            quitting: self.quit.quitting.is_some(),
            journal_unwritable: self.journal.error.clone(),
        }
    }

    /// The timeline's entries the filter lets through (all of them without one), oldest first.
    pub fn timeline_shown(&self) -> Vec<&Entry> {
        let f = self.ui.filter.to_lowercase();
        self.book
            .timeline
            .iter()
            .filter(|e| e.kind.on_timeline() && (f.is_empty() || e.kind.describe().to_lowercase().contains(&f)))
            .collect()
    }

    pub fn rows(&self) -> Vec<Row<'_>> {
        tree::rows(&self.picture.topology, &self.ui.filter)
    }

    /// The target of the selected tree row, if it is a workload, pod or node.
    pub fn selected_target(&self) -> Option<Target> {
        let rows = self.rows();
        rows.get(self.ui.cursor.min(rows.len().saturating_sub(1))).and_then(Row::target)
    }

    pub fn preset(&self, id: &str) -> Option<&PresetEntry> {
        self.planner().preset(id)
    }

    /// Targets offered for a preset in the target list, filtered.
    pub fn target_choices(&self, preset: &str) -> Vec<Target> {
        self.planner().target_choices(preset, &self.ui.filter)
    }

    /// The presets in the order the picker lists them.
    pub fn picker_order(&self, target: Option<&Target>) -> Vec<&PresetEntry> {
        self.planner().picker_order(target)
    }

    /// Whether a preset can be picked (for a target, if one is chosen); if not, why.
    pub fn preset_available(&self, p: &PresetEntry, target: Option<&Target>) -> Result<(), String> {
        self.planner().preset_available(p, target)
    }

    /// Whether a watchdog is alive on the cluster (seen renewing within two leases).
    pub fn watchdog_alive(&self) -> bool {
        self.cluster.watchdog_alive(self.book.t_ms())
    }
}
