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
    /// The note's tag: observation, action item, question.
    CycleTag,
    /// A drill responder's marks.
    MarkDetected,
    MarkMitigated,
    /// Answer yes to a question (quit with a fault live).
    Yes,
    /// Give the terminal back and stop (refused while a fault is live).
    Suspend,
    /// The arrows move the tree's cursor, or scroll the timeline.
    SwitchFocus,
    /// The timeline follows the newest entry again.
    Newest,
    /// Complete the word being typed on the command line.
    Complete,
}

/// Where the user is; decides which bindings apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Context {
    Main,
    Picker,
    Targets,
    Confirm,
    Help,
    /// Faults left by earlier sessions: revert them or leave them.
    Leftovers,
    /// Text fields: the `:` command line, the `/` filter, the note editor.
    CommandLine,
    Filter,
    Note,
    /// A drill's responder console: the topology and health, no faults.
    Drill,
    /// The start screen, before a session opens: only its own keys apply.
    Start,
    /// "abort fault #1 and quit? y/N"
    QuitConfirm,
    /// The parameter form (a text field: typing goes into the focused value).
    Form,
}

impl Context {
    /// Inside a session: everywhere but the start screen, where only its own keys apply.
    pub fn in_session(self) -> bool {
        self != Context::Start
    }
    pub fn is_text(self) -> bool {
        matches!(self, Context::CommandLine | Context::Filter | Context::Note | Context::Form)
    }
    pub fn title(self) -> &'static str {
        match self {
            Context::Main => "Topology",
            Context::Picker => "Preset picker",
            Context::Targets => "Target selection",
            Context::Confirm => "Confirmation",
            Context::Help => "Help",
            Context::Leftovers => "Faults left by earlier sessions",
            Context::CommandLine => "Command line",
            Context::Filter => "Filter",
            Context::Note => "Note editor",
            Context::Drill => "Drill responder",
            Context::Start => "Start screen",
            Context::QuitConfirm => "Quit, something unfinished",
            Context::Form => "Parameter form",
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
            KeyCode::BackTab => "Shift-Tab".into(),
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
    /// One or two words for the footer.
    pub short: &'static str,
    pub description: &'static str,
    pub scope: Scope,
}

impl Binding {
    pub fn keys_label(&self) -> String {
        self.keys.iter().map(Key::label).collect::<Vec<_>>().join("/")
    }
    pub fn applies(&self, ctx: Context) -> bool {
        match self.scope {
            Scope::Anywhere => ctx.in_session(),
            Scope::OutsideText => ctx.in_session() && !ctx.is_text(),
            Scope::Only(c) => c == ctx,
        }
    }
}

use Action::*;
use Context as C;

const ENTER: Key = code(KeyCode::Enter);
const ESC: Key = code(KeyCode::Esc);

const fn b(
    keys: &'static [Key],
    action: Action,
    short: &'static str,
    description: &'static str,
    scope: Scope,
) -> Binding {
    Binding { keys, action, short, description, scope }
}

/// The abort chord that also works inside text fields.
pub const ABORT_CHORD: Key = ctrl('g');

/// Order matters: the first binding that applies wins. The abort keys come first, so no mode,
/// popup or text field sees them before the abort path does.
pub const BINDINGS: &[Binding] = &[
    b(&[ABORT_CHORD], Abort, "abort (typing)", "ABORT the active fault (works while typing)", Scope::Anywhere),
    b(&[k(' ')], Abort, "ABORT", "ABORT the active fault", Scope::OutsideText),
    // Listed after the general Space so that the footer, which shows abort keys last first,
    // names it in a responder's console.
    b(&[k(' ')], Abort, "STOP", "emergency stop: the facilitator's console aborts", Scope::Only(C::Drill)),
    b(&[ctrl('c')], Quit, "quit", "quit (reverts the active fault first)", Scope::Anywhere),
    b(&[ctrl('z')], Suspend, "suspend", "suspend the console (not while a fault is live)", Scope::Anywhere),
    // Quit with something unfinished (a live fault, leftovers, steps, responders): only y quits.
    b(&[k('y')], Yes, "yes", "quit (a live fault is aborted first)", Scope::Only(C::QuitConfirm)),
    b(&[k('n'), ESC, k('q')], Back, "no", "stay", Scope::Only(C::QuitConfirm)),
    // Text fields
    b(&[ENTER], Select, "run", "run the command", Scope::Only(C::CommandLine)),
    b(
        &[code(KeyCode::Tab)],
        Complete,
        "complete",
        "complete a command, preset, target or parameter",
        Scope::Only(C::CommandLine),
    ),
    b(
        &[code(KeyCode::Up)],
        Up,
        "older",
        "an older command (history kept across sessions)",
        Scope::Only(C::CommandLine),
    ),
    b(&[code(KeyCode::Down)], Down, "newer", "a newer command", Scope::Only(C::CommandLine)),
    b(&[ESC], Back, "close", "close the command line", Scope::Only(C::CommandLine)),
    b(&[ENTER], Select, "keep", "keep the filter", Scope::Only(C::Filter)),
    b(&[ESC], Back, "clear", "clear the filter", Scope::Only(C::Filter)),
    b(&[ENTER], Select, "save", "save the note to the timeline", Scope::Only(C::Note)),
    b(&[alt(KeyCode::Enter)], NewLine, "new line", "new line in the note", Scope::Only(C::Note)),
    b(&[ESC], Back, "discard", "discard the note", Scope::Only(C::Note)),
    // The parameter form
    b(&[ENTER], Select, "review", "on to the confirmation (when every value is valid)", Scope::Only(C::Form)),
    b(&[code(KeyCode::Tab), code(KeyCode::Down)], Down, "next", "the next value", Scope::Only(C::Form)),
    b(&[code(KeyCode::BackTab), code(KeyCode::Up)], Up, "previous", "the previous value", Scope::Only(C::Form)),
    b(&[ESC], Back, "cancel", "cancel: nothing is injected", Scope::Only(C::Form)),
    // The start screen
    b(&[code(KeyCode::Up), k('k')], Up, "up", "move up", Scope::Only(C::Start)),
    b(&[code(KeyCode::Down), k('j')], Down, "down", "move down", Scope::Only(C::Start)),
    b(&[ENTER], Select, "start", "start the highlighted session", Scope::Only(C::Start)),
    b(&[ESC, k('q'), ctrl('c')], Back, "quit", "leave without starting a session", Scope::Only(C::Start)),
    // A drill's responder
    b(&[k('d')], MarkDetected, "detected", "drill: mark that you detected a problem", Scope::Only(C::Drill)),
    b(&[k('m')], MarkMitigated, "mitigated", "drill: mark that the impact is mitigated", Scope::Only(C::Drill)),
    b(&[code(KeyCode::Tab)], CycleTag, "tag", "tag the note: observation, action item, question", Scope::Only(C::Note)),
    // Confirmation
    b(
        &[code(KeyCode::Tab), code(KeyCode::Left), code(KeyCode::Right), k('h'), k('l')],
        SwitchButton,
        "switch",
        "switch between Cancel and Inject",
        Scope::Only(C::Confirm),
    ),
    b(&[ENTER], Select, "press", "press the highlighted button", Scope::Only(C::Confirm)),
    b(&[ESC, k('q')], Back, "cancel", "cancel", Scope::Only(C::Confirm)),
    // Popups: q closes them like Esc, and never quits.
    b(&[ESC, k('q')], Back, "back", "close the preset picker", Scope::Only(C::Picker)),
    b(&[ESC, k('q')], Back, "back", "close the target list", Scope::Only(C::Targets)),
    // Help
    b(&[ESC, k('?'), k('q')], Back, "close", "close help", Scope::Only(C::Help)),
    // Faults left by earlier sessions
    b(
        &[code(KeyCode::Tab), code(KeyCode::Left), code(KeyCode::Right), k('h'), k('l')],
        SwitchButton,
        "switch",
        "switch between Revert all and Leave them",
        Scope::Only(C::Leftovers),
    ),
    b(&[ENTER], Select, "press", "revert them all, or leave them in place (recorded)", Scope::Only(C::Leftovers)),
    b(&[ESC, k('q')], Back, "later", "decide later (new injects stay refused)", Scope::Only(C::Leftovers)),
    // Lists
    b(&[code(KeyCode::Up), k('k')], Up, "up", "move up", Scope::OutsideText),
    b(&[code(KeyCode::Down), k('j')], Down, "down", "move down", Scope::OutsideText),
    b(&[code(KeyCode::PageUp)], PageUp, "page up", "page up", Scope::OutsideText),
    b(&[code(KeyCode::PageDown)], PageDown, "page down", "page down", Scope::OutsideText),
    b(&[ENTER], Select, "faults for it", "pick a fault for the selected workload, pod, node", Scope::Only(C::Main)),
    b(&[ENTER], Select, "choose", "choose this preset", Scope::Only(C::Picker)),
    b(&[ENTER], Select, "choose", "choose this target", Scope::Only(C::Targets)),
    b(&[ESC], Back, "back", "back", Scope::OutsideText),
    // Everywhere outside text fields
    b(&[k('i')], OpenPicker, "inject", "inject: pick a fault preset", Scope::Only(C::Main)),
    b(
        &[code(KeyCode::Tab)],
        SwitchFocus,
        "tree/timeline",
        "arrows move in the tree, or scroll the timeline",
        Scope::Only(C::Main),
    ),
    b(&[code(KeyCode::End)], Newest, "newest", "the timeline follows the newest entry again", Scope::Only(C::Main)),
    b(&[k('?')], Help, "help", "help", Scope::OutsideText),
    b(&[k('/')], OpenFilter, "filter", "filter", Scope::OutsideText),
    b(&[k(':')], OpenCommand, "command", "command line", Scope::OutsideText),
    b(&[k('n')], OpenNote, "note", "write a note for the timeline", Scope::OutsideText),
    b(&[k('q')], Quit, "quit", "quit (asks first if something is unfinished)", Scope::OutsideText),
];

/// The action a key triggers in a context, if any. Keys without a binding in a text field
/// are typed into it.
pub fn lookup(ctx: Context, ev: &KeyEvent) -> Option<Action> {
    BINDINGS.iter().find(|b| b.applies(ctx) && b.keys.iter().any(|k| k.matches(ev))).map(|b| b.action)
}

/// Bindings shown in the footer for a context: the abort keys first, then the context's own,
/// then the general ones. A key shows once, with the binding that wins for it here.
pub fn footer(ctx: Context) -> Vec<(String, &'static str)> {
    let applies = |b: &&Binding| b.applies(ctx) && !matches!(b.action, PageUp | PageDown | Suspend);
    // The way to abort first, then help (so a narrow terminal still shows both), then the
    // context's own keys, then the rest.
    let first = |b: &&Binding| matches!(b.action, Abort | Help);
    let abort = BINDINGS.iter().filter(applies).filter(|b| b.action == Abort);
    // (Unless the context gives its key a meaning of its own: in the help, ? closes it.)
    let overridden = |b: &&Binding| {
        BINDINGS.iter().any(|o| o.scope == Scope::Only(ctx) && o.keys.iter().any(|k| b.keys.contains(k)))
    };
    let help = BINDINGS.iter().filter(applies).filter(|b| b.action == Help && !overridden(b));
    let own = BINDINGS.iter().filter(applies).filter(|b| b.scope == Scope::Only(ctx) && !first(b));
    let general = BINDINGS.iter().filter(applies).filter(|b| b.scope != Scope::Only(ctx) && !first(b));
    let mut seen: Vec<Key> = Vec::new();
    let mut out: Vec<(String, &'static str)> = Vec::new();
    for b in abort.rev().chain(help).chain(own).chain(general) {
        let keys: Vec<Key> = b.keys.iter().copied().filter(|k| !seen.contains(k)).collect();
        if keys.is_empty() || out.iter().any(|(_, s)| *s == b.short) {
            continue;
        }
        seen.extend(keys.iter().copied());
        out.push((keys.iter().map(Key::label).collect::<Vec<_>>().join("/"), b.short));
    }
    out
}

/// The help overlay: every binding of a session, grouped by where it applies (the start screen
/// shows its own keys).
pub fn help_sections() -> Vec<(String, Vec<(String, &'static str)>)> {
    let mut sections: Vec<(String, Vec<(String, &'static str)>)> = Vec::new();
    for b in BINDINGS.iter().filter(|b| b.scope != Scope::Only(C::Start)) {
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

/// A section of the help: its title and rows (keys or a form, and what they do).
pub struct HelpSection {
    pub title: String,
    pub rows: Vec<(String, String)>,
}

/// The whole help: every binding by where it applies, then the commands and how targets are
/// written.
pub fn help_document() -> Vec<HelpSection> {
    let mut out: Vec<HelpSection> = help_sections()
        .into_iter()
        .map(|(title, rows)| HelpSection {
            title,
            rows: rows.into_iter().map(|(k, what)| (k, what.to_string())).collect(),
        })
        .collect();
    out.push(HelpSection {
        title: "Commands (after :)".into(),
        rows: super::command::USAGE.split(" · ").map(|c| (c.to_string(), String::new())).collect(),
    });
    out.push(HelpSection {
        title: "Targets".into(),
        rows: [
            ("<namespace>/<workload>", "sock-shop/carts"),
            ("<namespace>/pod/<name>", "sock-shop/pod/carts-7d4f-x2k4p"),
            ("node/<name>", "node/worker-1"),
        ]
        .into_iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect(),
    });
    out
}

impl HelpSection {
    /// The width its keys are padded to: wider when one of them is long.
    pub fn key_width(&self) -> usize {
        if self.rows.iter().any(|(k, _)| k.chars().count() > 14) {
            24
        } else {
            14
        }
    }

    /// Its widest line as drawn: the title, or a row indented by two.
    pub fn width(&self) -> usize {
        let w = self.key_width();
        let rows = self.rows.iter().map(|(k, what)| 2 + k.chars().count().max(w) + what.chars().count());
        rows.chain([self.title.chars().count()]).max().unwrap_or(0)
    }
}

/// How wide the help's popup is in two columns: each as wide as the widest line of all, and a
/// space between them, so no line is cut or runs into the other column.
pub fn help_two_column_width() -> u16 {
    let widest = help_document().iter().map(HelpSection::width).max().unwrap_or(0);
    u16::try_from(2 * (widest + 1) + 2).unwrap_or(u16::MAX)
}

/// The help in one column, or two when the screen is wide enough, sections kept whole.
pub fn help_columns(width: u16) -> (Vec<HelpSection>, Vec<HelpSection>) {
    let sections = help_document();
    let total: usize = sections.iter().map(|s| s.rows.len() + 1).sum();
    // The popup keeps a column either side.
    let two = width.saturating_sub(2) >= help_two_column_width();
    let (mut left, mut right) = (Vec::new(), Vec::new());
    let mut left_rows = 0;
    for sec in sections {
        if two && left_rows >= total.div_ceil(2) {
            right.push(sec);
        } else {
            left_rows += sec.rows.len() + 1;
            left.push(sec);
        }
    }
    (left, right)
}

/// How far the help scrolls in a popup area of this size (`AppState::popup_rows`): its rows
/// less those that show.
pub fn help_max_scroll(width: u16, height: u16) -> usize {
    let (left, right) = help_columns(width);
    let rows = |c: &[HelpSection]| c.iter().map(|s| s.rows.len() + 1).sum::<usize>();
    let rows = rows(&left).max(rows(&right));
    // The popup keeps a row above and below, and has its borders.
    let visible = (height as usize).saturating_sub(4);
    rows.saturating_sub(visible)
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
        for ctx in [C::Main, C::Picker, C::Targets, C::Confirm, C::Help, C::Leftovers] {
            assert_eq!(lookup(ctx, &space), Some(Abort), "{ctx:?}");
        }
        for ctx in [C::CommandLine, C::Filter, C::Note] {
            assert_eq!(lookup(ctx, &space), None, "{ctx:?}: space must be typed");
            assert_eq!(lookup(ctx, &chord), Some(Abort), "{ctx:?}");
            assert_eq!(lookup(ctx, &key(KeyCode::Char('q'), KeyModifiers::NONE)), None);
        }
    }

    #[test]
    fn the_footer_shows_each_key_once_with_the_binding_that_wins() {
        let f = footer(C::Confirm);
        assert_eq!(f[0], ("Space".to_string(), "ABORT"));
        assert_eq!(f.iter().filter(|(k, _)| k.contains("Esc")).count(), 1, "{f:?}");
        assert!(f.contains(&("Esc/q".to_string(), "cancel")), "{f:?}");
        let f = footer(C::CommandLine);
        assert!(!f.iter().any(|(k, _)| k == "Space"), "Space is typed in a text field: {f:?}");
        assert_eq!(f[0], ("Ctrl-G".to_string(), "abort (typing)"));
    }

    #[test]
    fn uppercase_letters_are_not_their_lowercase_bindings() {
        assert_eq!(lookup(C::Main, &key(KeyCode::Char('Q'), KeyModifiers::SHIFT)), None);
        assert_eq!(lookup(C::Main, &key(KeyCode::Char('?'), KeyModifiers::SHIFT)), Some(Help));
    }
}
