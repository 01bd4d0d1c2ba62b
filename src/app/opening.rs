//! How a session opens: new, resumed (its journal's entries go on, with what its killed console
//! never recorded), or joined as a drill's responder; with a run-sheet or a session file, and
//! what loading the config passed over. All of it is recorded, so the pure tests see it.

use std::collections::BTreeMap;

use super::book::Level;
use super::drill::Responder;
use super::event::Effect;
use super::planning::PresetEntry;
use super::sheet::Sheet;
use super::state::{AppState, Session};
use crate::config::runsheet::RunSheet;
use crate::config::session_file::SessionConfig;
use crate::config::theme::Theme;
use crate::model::Leftover;
use crate::timeline::{leftovers, Entry, EntryKind, Stamp};

/// A session's earlier entries, when the console does not start a new one.
#[derive(Clone, Debug)]
pub struct Earlier {
    pub entries: Vec<Entry>,
    /// Resumed (`--resume`): its own unfinished faults are looked for. Else a responder who
    /// rejoins a drill.
    pub resumed: bool,
    /// The cluster died with the console that wrote them (the demo).
    pub cluster_died: bool,
}

/// What the session opens with.
#[derive(Clone, Debug, Default)]
pub struct Opening {
    pub earlier: Option<Earlier>,
    /// A run-sheet, and whether it is walked by itself (`gameday run`).
    pub sheet: Option<(RunSheet, bool)>,
    /// Probes, hypothesis and stop conditions (a run-sheet has its own).
    pub steady: SessionConfig,
    /// Join this session as this responder; `mirror`: replay its faults in this console's own
    /// cluster (the demo).
    pub drill: Option<(String, String, bool)>,
    /// What loading the config passed over (a FIFO named like a preset).
    pub warnings: Vec<String>,
    /// The commands run before (this user's), oldest first.
    pub history: Vec<String>,
}

/// What opening leaves to the runtime.
pub struct Opened {
    pub state: AppState,
    pub effects: Vec<Effect>,
    /// A resumed session's own faults its killed console left (to search for with the others).
    pub own_leftovers: Vec<Leftover>,
}

impl AppState {
    /// Opens a session.
    pub fn open(
        session: Session,
        presets: Vec<PresetEntry>,
        themes: BTreeMap<String, Theme>,
        theme: Theme,
        start: Stamp,
        opening: Opening,
    ) -> Opened {
        let (mut s, mut fx) = AppState::new(session, presets, themes, theme, start);
        s.ui.history = opening.history;
        let mut own_leftovers = Vec::new();
        if let Some(earlier) = opening.earlier.filter(|e| !e.entries.is_empty()) {
            // Not a new start: the earlier timeline, and faults numbered after its own.
            fx.clear();
            s.book.take_effects();
            s.fault.next_id = earlier.entries.iter().filter_map(|e| e.kind.fault()).max().unwrap_or(0) + 1;
            // A resumed session's own faults that its killed console never finished: where it
            // stopped, what was never applied, or died with the cluster, is recorded so (before
            // the resume: it is about the console that died); what may still be in the system
            // is offered for revert (its journal is this console's now, so the search of other
            // sessions' journals skips it).
            let closing = match earlier.resumed {
                true => leftovers::closing_entries(
                    &earlier.entries,
                    earlier.cluster_died,
                    "found when the session was resumed",
                ),
                false => Vec::new(),
            };
            s.book.timeline = earlier.entries;
            for kind in closing.into_iter().filter(|k| !matches!(k, EntryKind::SessionEnd { .. })) {
                s.book.record(kind);
            }
            s.book.record(EntryKind::SessionResumed { version: s.session.version.clone() });
            if earlier.resumed {
                own_leftovers = leftovers::unfinished(&s.book.timeline, None);
            }
        }
        fx.extend(s.book.take_effects());
        match opening.sheet {
            Some((plan, auto)) => fx.extend(s.load_sheet(plan, auto)),
            None => fx.extend(s.configure_steady(opening.steady)),
        }
        if let Some((session, name, mirror)) = &opening.drill {
            fx.extend(s.join_drill(session, name, *mirror));
        }
        for w in &opening.warnings {
            s.book.record(EntryKind::Console { message: w.clone(), warning: true });
            s.book.say(Level::Warning, w.clone());
        }
        fx.extend(s.book.take_effects());
        Opened { state: s, effects: fx, own_leftovers }
    }

    /// Takes a session file's probes, hypothesis and stop conditions (recorded); the effects
    /// start the probes that reach out.
    pub fn configure_steady(&mut self, config: SessionConfig) -> Vec<Effect> {
        self.steady.configure(config, &mut self.book);
        self.book.take_effects()
    }

    /// Takes a run-sheet (`auto`: walked by itself): its probes and checks, and the sheet. Its
    /// targets are checked against the picture now if it is in, else when it comes.
    pub fn load_sheet(&mut self, plan: RunSheet, auto: bool) -> Vec<Effect> {
        self.steady.configure(plan.steady.clone(), &mut self.book);
        self.sheet = Some(Sheet::load(plan, auto, &mut self.book));
        if self.picture.pictured {
            super::update::check_targets(self);
        }
        self.book.take_effects()
    }

    /// This console joins `session` as responder `name` of a drill.
    pub fn join_drill(&mut self, session: &str, name: &str, mirror: bool) -> Vec<Effect> {
        self.drill = Some(Responder::join(session, name, mirror, &mut self.book));
        self.book.take_effects()
    }
}
