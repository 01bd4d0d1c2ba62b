//! What the screen shows besides the machines' own state: the popup open, the text field with
//! focus, the tree's cursor and filter, where the arrows go, the command history. Changed by
//! the key routing (`super::update::keys`) and the text fields (`super::input`).

use tui_textarea::TextArea;

use super::form::ParamForm;
use crate::model::Target;
use crate::timeline::NoteTag;

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
    Form(Box<ParamForm>),
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

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Focus {
    #[default]
    Tree,
    Timeline,
}

#[derive(Clone, Debug)]
pub struct Ui {
    pub overlay: Overlay,
    pub input: Option<TextInput>,
    /// Selected row of the topology tree.
    pub cursor: usize,
    pub filter: String,
    /// The tag of the note being written.
    pub note_tag: NoteTag,
    /// The console stopped itself (Ctrl-Z) and waits for SIGCONT.
    pub suspended: bool,
    /// The parameter form last left (Esc, or Enter on to its confirmation): opened again for
    /// the same preset and target, it shows the values as they were left.
    pub last_form: Option<Box<super::form::ParamForm>>,
    /// When the last tick came (ms since start): ticks come every second while the console
    /// runs, so a longer gap is time it did not run.
    pub last_tick_ms: Option<u64>,
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
    /// The completions the command line said on the status line: they go when it closes.
    pub completions_shown: Option<String>,
}

impl Default for Ui {
    fn default() -> Ui {
        Ui {
            overlay: Overlay::None,
            input: None,
            cursor: 0,
            filter: String::new(),
            note_tag: Default::default(),
            suspended: false,
            last_tick_ms: None,
            last_form: None,
            size: (160, 45),
            focus: Focus::Tree,
            timeline_at: None,
            history: Vec::new(),
            history_at: None,
            completions_shown: None,
        }
    }
}

impl Ui {
    /// Closes the pickers and help so the fault panel is in view, but never throws away text
    /// someone is typing (a note).
    pub fn clear_for_abort(&mut self) {
        if !matches!(self.overlay, Overlay::Note(_)) {
            self.overlay = Overlay::None;
        }
    }
}
