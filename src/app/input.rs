//! The text fields: the `:` command line (with its history across sessions), the `/` filter and
//! the note editor. A key or a paste changes the field with focus; what is typed is handed on
//! (a command to run, a note to save) by `super::update::keys`.

use ratatui::crossterm::event::KeyEvent;
use tui_textarea::TextArea;

use super::book::{Book, Level};
use super::event::Effect;
use super::keymap::{Action, Context};
use super::screen::{Overlay, TextInput, Ui};
use crate::timeline::NoteTag;

/// The largest paste taken into a text field.
pub const PASTE_LIMIT: usize = 64 * 1024;
/// The most commands kept in the history.
pub const HISTORY: usize = 500;

/// A text field with this text, the cursor at its end.
pub fn text_area(initial: &str) -> Box<TextArea<'static>> {
    let mut t = TextArea::new(vec![initial.to_string()]);
    t.move_cursor(tui_textarea::CursorMove::End);
    Box::new(t)
}

/// What was typed, for the key routing to act on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Typed {
    Nothing,
    /// Enter on the command line: run this.
    Run(String),
    /// Tab on the command line: complete this line.
    Complete(String),
    /// Enter in the note editor: save this note.
    Note {
        text: String,
        tag: NoteTag,
    },
}

/// The line on the command line now.
pub fn command_line(ui: &Ui) -> String {
    match &ui.input {
        Some(TextInput::Command(t)) => t.lines().join(" "),
        _ => String::new(),
    }
}

/// A key on the command line.
pub fn command_key(ui: &mut Ui, action: Option<Action>, key: KeyEvent) -> Typed {
    match action {
        Some(Action::Select) => {
            let line = match ui.input.take() {
                Some(TextInput::Command(t)) => t.lines().join(" "),
                _ => String::new(),
            };
            ui.history_at = None;
            return Typed::Run(line);
        }
        Some(Action::Back) => {
            ui.input = None;
            ui.history_at = None;
        }
        Some(Action::Complete) => return Typed::Complete(command_line(ui)),
        Some(Action::Up) => browse_history(ui, true),
        Some(Action::Down) => browse_history(ui, false),
        _ => {
            if let Some(TextInput::Command(t)) = &mut ui.input {
                t.input(key);
            }
        }
    }
    Typed::Nothing
}

/// A key in the filter.
pub fn filter_key(ui: &mut Ui, action: Option<Action>, key: KeyEvent) {
    match action {
        Some(Action::Select) => ui.input = None,
        Some(Action::Back) => {
            ui.input = None;
            ui.filter.clear();
        }
        _ => {
            if let Some(TextInput::Filter(t)) = &mut ui.input {
                t.input(key);
                ui.filter = t.lines().join("");
            }
            filter_changed(ui);
        }
    }
}

fn filter_changed(ui: &mut Ui) {
    ui.cursor = 0;
    if let Overlay::Targets { cursor, .. } = &mut ui.overlay {
        *cursor = 0;
    }
}

/// A key in the note editor.
pub fn note_key(ui: &mut Ui, action: Option<Action>, key: KeyEvent, book: &mut Book) -> Typed {
    match action {
        Some(Action::Select) => {
            if let Overlay::Note(t) = std::mem::replace(&mut ui.overlay, Overlay::None) {
                let text = t.lines().join("\n").trim().to_string();
                if text.is_empty() {
                    book.say(Level::Info, "empty note discarded");
                } else {
                    return Typed::Note { text, tag: ui.note_tag };
                }
            }
        }
        Some(Action::NewLine) => {
            if let Overlay::Note(t) = &mut ui.overlay {
                t.insert_newline();
            }
        }
        Some(Action::Back) => ui.overlay = Overlay::None,
        Some(Action::CycleTag) => ui.note_tag = ui.note_tag.next(),
        _ => {
            if let Overlay::Note(t) = &mut ui.overlay {
                t.input(key);
            }
        }
    }
    Typed::Nothing
}

/// Opens the note editor.
pub fn open_note(ui: &mut Ui) {
    let mut t = TextArea::default();
    t.set_placeholder_text("What do you see? Enter saves, Alt-Enter adds a line, Esc discards.");
    ui.overlay = Overlay::Note(Box::new(t));
    ui.note_tag = Default::default();
}

/// A command run is kept (once in a row) for Up on the command line, here and in later sessions.
pub fn remember(ui: &mut Ui, line: &str, book: &mut Book) {
    let line = crate::text::one_line(line.trim()).into_owned();
    if line.is_empty() || ui.history.last() == Some(&line) {
        return;
    }
    ui.history.push(line.clone());
    if ui.history.len() > HISTORY {
        ui.history.remove(0);
    }
    book.effect(Effect::RememberCommand(line));
}

/// Up shows the command before the one shown (the newest first); Down the one after, and past
/// the newest the line that was being typed.
fn browse_history(ui: &mut Ui, older: bool) {
    let n = ui.history.len();
    let (at, draft) = match ui.history_at.take() {
        Some((at, draft)) => (Some(at), draft),
        None => (None, command_line(ui)),
    };
    let next = match (at, older) {
        (None, true) if n > 0 => Some(n - 1),
        (None, _) => None,
        (Some(i), true) => Some(i.saturating_sub(1)),
        (Some(i), false) if i + 1 < n => Some(i + 1),
        (Some(_), false) => None,
    };
    let line = match next {
        Some(i) => ui.history[i].clone(),
        None => draft.clone(),
    };
    ui.history_at = next.map(|i| (i, draft));
    ui.input = Some(TextInput::Command(text_area(&line)));
}

/// A paste goes, whole and literal (cleaned of escape sequences and control characters), into
/// the text field that has focus; it never presses a key. The command line and the filter are
/// one line: a paste's lines are joined, never run. Outside a text field a paste does nothing.
/// Returns the line to paste into the parameter form, which has focus (the form is replanned
/// by the caller).
pub fn paste(ui: &mut Ui, ctx: Context, raw: &str, book: &mut Book) -> Option<String> {
    // Terminals send a pasted line break as CR (or CR LF).
    let raw = raw.replace("\r\n", "\n").replace('\r', "\n");
    let mut text = crate::text::clean(&raw).into_owned();
    let mut cut = false;
    if text.len() > PASTE_LIMIT {
        let end = (0..=PASTE_LIMIT).rev().find(|i| text.is_char_boundary(*i)).unwrap_or(0);
        text.truncate(end);
        cut = true;
    }
    let lines = text.lines().count();
    // One line, as typed (a burst of keys ending in a space keeps it); several, joined by spaces.
    let joined = || match lines > 1 {
        false => text.trim_end_matches('\n').replace('\t', " "),
        true => text.split(['\n', '\t']).map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(" "),
    };
    let mut form = None;
    match (ctx, &mut ui.input, &mut ui.overlay) {
        (Context::CommandLine, Some(TextInput::Command(t)), _) => {
            t.insert_str(joined());
        }
        (Context::Filter, Some(TextInput::Filter(t)), _) => {
            t.insert_str(joined());
            ui.filter = t.lines().join("");
            filter_changed(ui);
        }
        (Context::Note, _, Overlay::Note(t)) => {
            t.insert_str(text.replace('\t', "    "));
        }
        (Context::Form, _, Overlay::Form(_)) => form = Some(joined()),
        _ => {
            book.say(
                Level::Info,
                "paste ignored: no text field has focus (n opens a note, : the command line, / the filter)",
            );
            return None;
        }
    }
    let mut said = Vec::new();
    if lines > 1 && ctx != Context::Note {
        said.push(format!("the paste's {lines} lines were joined into one (a paste never presses Enter)"));
    } else if lines > 1 {
        said.push(format!("pasted {lines} lines into the note (Enter saves it)"));
    }
    if cut {
        said.push(format!("the paste was cut to {} KiB", PASTE_LIMIT / 1024));
    }
    if !said.is_empty() {
        book.say(Level::Info, said.join("; "));
    }
    form
}
