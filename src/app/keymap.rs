//! Every key binding, declared once: key, action, description, context. The footer and the
//! help overlay are generated from this table, and `lookup` is the only key dispatcher.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Abort,
    Quit,
    Help,
    OpenCommand,
    OpenFilter,
    OpenNote,
    OpenPicker,
    Up,
    Down,
    PageUp,
    PageDown,
    Select,
    Back,
    SwitchButton,
    NewLine,
}

/// Where the user is; decides which bindings apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Context {
    Main,
    Picker,
    Targets,
    Confirm,
    Help,
    /// Text fields: the `:` command line, the `/` filter, the note editor.
    CommandLine,
    Filter,
    Note,
}

impl Context {
    pub fn is_text(self) -> bool {
        matches!(self, Context::CommandLine | Context::Filter | Context::Note)
    }
    pub fn title(self) -> &'static str {
        match self {
            Context::Main => "Topology",
            Context::Picker => "Preset picker",
            Context::Targets => "Target selection",
            Context::Confirm => "Confirmation",
            Context::Help => "Help",
            Context::CommandLine => "Command line",
            Context::Filter => "Filter",
            Context::Note => "Note editor",
        }
    }
}

/// Where a binding applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Everywhere, even while typing in a text field.
    Anywhere,
    /// Everywhere except text fields.
    OutsideText,
    Only(Context),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Key {
    pub code: KeyCode,
    pub mods: KeyModifiers,
}

const fn k(c: char) -> Key {
    Key { code: KeyCode::Char(c), mods: KeyModifiers::NONE }
}
const fn ctrl(c: char) -> Key {
    Key { code: KeyCode::Char(c), mods: KeyModifiers::CONTROL }
}
const fn code(code: KeyCode) -> Key {
    Key { code, mods: KeyModifiers::NONE }
}
const fn alt(code: KeyCode) -> Key {
    Key { code, mods: KeyModifiers::ALT }
}

impl Key {
    pub fn matches(&self, ev: &KeyEvent) -> bool {
        let mods = ev.modifiers - KeyModifiers::SHIFT;
        match (self.code, ev.code) {
            (KeyCode::Char(a), KeyCode::Char(b)) => {
                a.eq_ignore_ascii_case(&b) && (a == b || self.mods.contains(KeyModifiers::CONTROL)) && mods == self.mods
            }
            (a, b) => a == b && mods == self.mods,
        }
    }

    pub fn label(&self) -> String {
        let base = match self.code {
            KeyCode::Char(' ') => "Space".to_string(),
            KeyCode::Char(c) => c.to_string(),
            KeyCode::Enter => "Enter".into(),
            KeyCode::Esc => "Esc".into(),
            KeyCode::Up => "↑".into(),
            KeyCode::Down => "↓".into(),
            KeyCode::Left => "←".into(),
            KeyCode::Right => "→".into(),
            KeyCode::Tab => "Tab".into(),
            KeyCode::PageUp => "PgUp".into(),
            KeyCode::PageDown => "PgDn".into(),
            other => format!("{other:?}"),
        };
        if self.mods.contains(KeyModifiers::CONTROL) {
            format!("Ctrl-{}", base.to_uppercase())
        } else if self.mods.contains(KeyModifiers::ALT) {
            format!("Alt-{base}")
        } else {
            base
        }
    }
}

pub struct Binding {
    pub keys: &'static [Key],
    pub action: Action,
    pub description: &'static str,
    pub scope: Scope,
}

impl Binding {
    pub fn keys_label(&self) -> String {
        self.keys.iter().map(Key::label).collect::<Vec<_>>().join("/")
    }
    pub fn applies(&self, ctx: Context) -> bool {
        match self.scope {
            Scope::Anywhere => true,
            Scope::OutsideText => !ctx.is_text(),
            Scope::Only(c) => c == ctx,
        }
    }
}

use Action::*;
use Context as C;

/// The abort chord that also works inside text fields.
pub const ABORT_CHORD: Key = ctrl('g');

/// Order matters: the first binding that applies wins. The abort keys come first, so no mode,
/// popup or text field sees them before the abort path does.
pub const BINDINGS: &[Binding] = &[
    Binding {
        keys: &[ABORT_CHORD],
        action: Abort,
        description: "ABORT the active fault (works while typing)",
        scope: Scope::Anywhere,
    },
    Binding { keys: &[k(' ')], action: Abort, description: "ABORT the active fault", scope: Scope::OutsideText },
    Binding {
        keys: &[ctrl('c')],
        action: Quit,
        description: "quit (reverts the active fault first)",
        scope: Scope::Anywhere,
    },
    // Text fields
    Binding {
        keys: &[code(KeyCode::Enter)],
        action: Select,
        description: "run the command",
        scope: Scope::Only(C::CommandLine),
    },
    Binding {
        keys: &[code(KeyCode::Esc)],
        action: Back,
        description: "close the command line",
        scope: Scope::Only(C::CommandLine),
    },
    Binding {
        keys: &[code(KeyCode::Enter)],
        action: Select,
        description: "keep the filter",
        scope: Scope::Only(C::Filter),
    },
    Binding {
        keys: &[code(KeyCode::Esc)],
        action: Back,
        description: "clear the filter",
        scope: Scope::Only(C::Filter),
    },
    Binding {
        keys: &[code(KeyCode::Enter)],
        action: Select,
        description: "save the note to the timeline",
        scope: Scope::Only(C::Note),
    },
    Binding {
        keys: &[alt(KeyCode::Enter)],
        action: NewLine,
        description: "new line in the note",
        scope: Scope::Only(C::Note),
    },
    Binding { keys: &[code(KeyCode::Esc)], action: Back, description: "discard the note", scope: Scope::Only(C::Note) },
    // Confirmation
    Binding {
        keys: &[code(KeyCode::Tab), code(KeyCode::Left), code(KeyCode::Right), k('h'), k('l')],
        action: SwitchButton,
        description: "switch between Cancel and Inject",
        scope: Scope::Only(C::Confirm),
    },
    Binding {
        keys: &[code(KeyCode::Enter)],
        action: Select,
        description: "press the highlighted button",
        scope: Scope::Only(C::Confirm),
    },
    Binding { keys: &[code(KeyCode::Esc)], action: Back, description: "cancel", scope: Scope::Only(C::Confirm) },
    // Help
    Binding {
        keys: &[code(KeyCode::Esc), k('?'), k('q')],
        action: Back,
        description: "close help",
        scope: Scope::Only(C::Help),
    },
    // Lists
    Binding { keys: &[code(KeyCode::Up), k('k')], action: Up, description: "move up", scope: Scope::OutsideText },
    Binding { keys: &[code(KeyCode::Down), k('j')], action: Down, description: "move down", scope: Scope::OutsideText },
    Binding { keys: &[code(KeyCode::PageUp)], action: PageUp, description: "page up", scope: Scope::OutsideText },
    Binding { keys: &[code(KeyCode::PageDown)], action: PageDown, description: "page down", scope: Scope::OutsideText },
    Binding {
        keys: &[code(KeyCode::Enter)],
        action: Select,
        description: "pick a fault for the selected workload, pod or node",
        scope: Scope::Only(C::Main),
    },
    Binding {
        keys: &[code(KeyCode::Enter)],
        action: Select,
        description: "choose this preset",
        scope: Scope::Only(C::Picker),
    },
    Binding {
        keys: &[code(KeyCode::Enter)],
        action: Select,
        description: "choose this target",
        scope: Scope::Only(C::Targets),
    },
    Binding { keys: &[code(KeyCode::Esc)], action: Back, description: "back", scope: Scope::OutsideText },
    // Everywhere outside text fields
    Binding {
        keys: &[k('i')],
        action: OpenPicker,
        description: "inject: pick a fault preset",
        scope: Scope::Only(C::Main),
    },
    Binding { keys: &[k('?')], action: Help, description: "help", scope: Scope::OutsideText },
    Binding { keys: &[k('/')], action: OpenFilter, description: "filter", scope: Scope::OutsideText },
    Binding { keys: &[k(':')], action: OpenCommand, description: "command line", scope: Scope::OutsideText },
    Binding { keys: &[k('n')], action: OpenNote, description: "write a note", scope: Scope::OutsideText },
    Binding {
        keys: &[k('q')],
        action: Quit,
        description: "quit (reverts the active fault first)",
        scope: Scope::OutsideText,
    },
];

/// The action a key triggers in a context, if any. Keys without a binding in a text field
/// are typed into it.
pub fn lookup(ctx: Context, ev: &KeyEvent) -> Option<Action> {
    BINDINGS.iter().find(|b| b.applies(ctx) && b.keys.iter().any(|k| k.matches(ev))).map(|b| b.action)
}

/// Bindings shown in the footer for a context: its own first, then the general ones.
pub fn footer(ctx: Context) -> Vec<(String, &'static str)> {
    let mut own: Vec<&Binding> = BINDINGS.iter().filter(|b| b.scope == Scope::Only(ctx)).collect();
    let general = BINDINGS
        .iter()
        .filter(|b| b.scope != Scope::Only(ctx) && b.applies(ctx) && !matches!(b.action, PageUp | PageDown));
    own.extend(general);
    let mut seen = Vec::new();
    own.into_iter()
        .filter(|b| {
            let first = !seen.contains(&(b.action, b.description));
            seen.push((b.action, b.description));
            first
        })
        .map(|b| (b.keys_label(), short(b.description)))
        .collect()
}

fn short(d: &'static str) -> &'static str {
    d.split([' ', ':']).next().map(|w| if w == "ABORT" { "ABORT" } else { w }).unwrap_or(d)
}

/// The help overlay: every binding, grouped by where it applies.
pub fn help_sections() -> Vec<(String, Vec<(String, &'static str)>)> {
    let mut sections: Vec<(String, Vec<(String, &'static str)>)> = Vec::new();
    for b in BINDINGS {
        let title = match b.scope {
            Scope::Anywhere => "Anywhere, even while typing".to_string(),
            Scope::OutsideText => "Anywhere outside text fields".to_string(),
            Scope::Only(c) => c.title().to_string(),
        };
        match sections.iter_mut().find(|(t, _)| *t == title) {
            Some((_, rows)) => rows.push((b.keys_label(), b.description)),
            None => sections.push((title, vec![(b.keys_label(), b.description)])),
        }
    }
    sections
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode, mods: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, mods)
    }

    #[test]
    fn space_aborts_outside_text_fields_only_and_the_chord_aborts_everywhere() {
        let space = key(KeyCode::Char(' '), KeyModifiers::NONE);
        let chord = key(KeyCode::Char('g'), KeyModifiers::CONTROL);
        for ctx in [C::Main, C::Picker, C::Targets, C::Confirm, C::Help] {
            assert_eq!(lookup(ctx, &space), Some(Abort), "{ctx:?}");
        }
        for ctx in [C::CommandLine, C::Filter, C::Note] {
            assert_eq!(lookup(ctx, &space), None, "{ctx:?}: space must be typed");
            assert_eq!(lookup(ctx, &chord), Some(Abort), "{ctx:?}");
            assert_eq!(lookup(ctx, &key(KeyCode::Char('q'), KeyModifiers::NONE)), None);
        }
    }

    #[test]
    fn uppercase_letters_are_not_their_lowercase_bindings() {
        assert_eq!(lookup(C::Main, &key(KeyCode::Char('Q'), KeyModifiers::SHIFT)), None);
        assert_eq!(lookup(C::Main, &key(KeyCode::Char('?'), KeyModifiers::SHIFT)), Some(Help));
    }
}
