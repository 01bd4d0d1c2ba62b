//! The `:` commands, parsed by `crate::app::command`, carried out by the machines they are for.

use std::path::PathBuf;

use super::{abort, arm, quit, react, Outcome};
use crate::app::book::Level;
use crate::app::command::{self, Command};
use crate::app::drill;
use crate::app::event::Effect;
use crate::app::screen::Overlay;
use crate::app::state::AppState;
use crate::timeline::{report, ActionItem, EntryKind, Mark, NoteTag};

pub(super) fn run(s: &mut AppState, line: &str) {
    let cmd = match command::parse(line) {
        Ok(c) => c,
        Err(e) => return s.book.say(Level::Error, e),
    };
    let responder_cannot = match &cmd {
        Command::Inject { .. } => Some(":inject"),
        Command::Next | Command::Outcome { .. } | Command::Skip(_) => Some("the run-sheet"),
        Command::Stop(_) => Some("stop conditions"),
        Command::Resize(_) => Some("a fault's time"),
        Command::Reveal | Command::Drill => Some(":reveal and :drill"),
        Command::Title(_) | Command::Who(_) | Command::Alert { .. } | Command::Action(_) => {
            Some("the session's details")
        }
        _ => None,
    };
    if responder_cannot.is_some_and(|what| drill::refused(s.drill.is_some(), what, &mut s.book)) {
        return;
    }
    match cmd {
        Command::Note(text) if s.drill.is_some() => mark(s, Mark::Note, &text),
        Command::Mark(m, note) => mark(s, m, &note),
        Command::Reveal => drill::reveal(s.fault.live().is_some(), &mut s.book),
        Command::Drill => {
            drill::how_to_join(&s.session.id, &s.session.backend.kind, s.cluster.served.as_ref(), &mut s.book)
        }
        Command::Inject { preset, target, params } => inject(s, &preset, &target, &params),
        Command::Abort => abort(s, ":abort"),
        Command::Note(text) => record_note(s, text, NoteTag::Observation, "note"),
        Command::Export(path) => {
            let path = match path {
                Some(p) => expand_home(p, s.session.home.as_deref()),
                None => s.session.report.clone(),
            };
            export(s, path);
        }
        Command::Theme(name) => match s.themes.get(&name) {
            Some(t) => {
                s.theme = t.clone();
                s.book.say(Level::Info, format!("theme {name}"));
            }
            None => {
                let known: Vec<&str> = s.themes.keys().map(String::as_str).collect();
                let said = format!("unknown theme '{name}' (available: {})", known.join(", "));
                s.book.say(Level::Error, said);
            }
        },
        Command::Quit => quit(s, ":quit"),
        Command::Help => s.ui.overlay = Overlay::Help { scroll: 0 },
        Command::Probe(spec) => s.steady.add_probe(spec, &mut s.book),
        Command::Stop(stop) => s.steady.add_stop(stop, &mut s.book),
        Command::Expect(check) => s.steady.add_check(check, &mut s.book),
        Command::Title(title) => {
            s.book.record(EntryKind::SessionDetails { title: Some(title), facilitator: None, participants: vec![] });
            s.book.say(Level::Info, "the session's title is in the timeline (and the report)");
        }
        Command::Who(participants) => {
            let facilitator = participants.iter().find(|(_, r)| r == "facilitator").map(|(n, _)| n.clone());
            s.book.record(EntryKind::SessionDetails { title: None, facilitator, participants });
            s.book.say(Level::Info, "who takes part is in the timeline (and the report)");
        }
        Command::Alert { name, fired, note } => {
            // An alert often fires after its fault ended: it belongs to the last fault applied.
            let fault = s.fault.live().map(|f| f.id).or_else(|| {
                s.book.timeline.iter().rev().find_map(|e| match e.kind {
                    EntryKind::InjectStarted { fault, .. } => Some(fault),
                    _ => None,
                })
            });
            let word = if fired { "fired" } else { "silent" };
            let author = s.session.user.clone();
            s.book.record(EntryKind::AlertTicked { name: name.clone(), fired, note, author, fault });
            note_saved(s, &format!("alert {name} {word}"));
        }
        Command::Resize(by_ms) => {
            // Within its preset's bounds.
            let max = s.fault.live().and_then(|f| s.preset(&f.plan.preset)).map(|p| p.preset.max_duration);
            let max_ms = max.unwrap_or(crate::config::MAX_DURATION).as_millis().try_into().unwrap_or(u64::MAX);
            let author = s.session.user.clone();
            s.fault.resize(by_ms, max_ms, &author, &mut s.book);
        }
        Command::Action(item) => {
            record(s, item, NoteTag::ActionItem);
            note_saved(s, "action item");
        }
        Command::Next => sheet(s, |sheet, s| sheet.next(s.fault.idle(), &mut s.book)),
        Command::Outcome { verdict, note } => sheet(s, |sheet, s| sheet.record_outcome(&verdict, &note, &mut s.book)),
        Command::Skip(reason) => sheet(s, |sheet, s| sheet.skip(&reason, s.fault.live().is_some(), &mut s.book)),
    }
}

/// A command for the run-sheet: refused without one.
fn sheet(
    s: &mut AppState,
    f: impl FnOnce(&mut crate::app::sheet::Sheet, &mut AppState) -> Vec<crate::app::sheet::SheetOutcome>,
) {
    let Some(mut sheet) = s.sheet.take() else {
        return s.book.say(Level::Error, "no run-sheet: start the console with --plan <file>");
    };
    let o = f(&mut sheet, s);
    s.sheet = Some(sheet);
    react(s, Outcome::Sheet(o));
}

/// A mark is a drill responder's.
fn mark(s: &mut AppState, mark: Mark, note: &str) {
    match &s.drill {
        Some(r) => r.mark(mark, note, s.picture.lost(), &mut s.book),
        None => s.book.say(Level::Error, "marks are for a drill's responder (gameday --drill <ID>)"),
    }
}

/// `:inject`: at once, unless the system is not in steady state or a stop condition cannot be
/// read (then the confirmation shows why and asks).
fn inject(s: &mut AppState, preset: &str, target: &str, params: &[(String, String)]) {
    // Refused before the plan is checked, so a busy console says so first.
    if s.fault.refused(&s.gate(), preset, target, &mut s.book) {
        return;
    }
    let plan = match s.planner().plan(preset, target, params) {
        Ok(p) => p,
        Err(e) => return s.book.say(Level::Error, e),
    };
    let view = super::steady_view!(s);
    if s.steady.unsteady(&view).is_some() {
        arm(s, plan);
        return s.book.say(Level::Warning, "NOT in steady state: confirm to inject anyway");
    }
    let blind = s.steady.blind_stops(s.book.t_ms());
    if !blind.is_empty() {
        arm(s, plan);
        let blind = blind.join("; ");
        return s
            .book
            .say(Level::Warning, format!("stop conditions cannot be evaluated: {blind}; confirm to inject anyway"));
    }
    let before = s.steady.before(&view);
    let gate = s.gate();
    let o = s.fault.inject(plan, &gate, before, &mut s.book);
    react(s, Outcome::Fault(o));
}

/// A note, with who wrote it and the fault that was live when they did; an action item's
/// leading `@owner` and `due:DATE` are its owner and due date.
/// `what` names it in the acknowledgement.
pub(super) fn record_note(s: &mut AppState, text: String, tag: NoteTag, what: &str) {
    // A typed prefix ("action: ...") says its tag, on `:note` and in the note editor alike; a
    // tag chosen with Tab is kept over it.
    let (said, words) = NoteTag::from_prefix(&text);
    let (tag, text) = match words != text {
        true => (if tag == NoteTag::Observation { said } else { tag }, words),
        false => (tag, text),
    };
    let (item, warning) = match tag {
        NoteTag::ActionItem => match ActionItem::parse(&text) {
            Ok(item) if !item.text.is_empty() => (item, None),
            Ok(_) => (ActionItem { text, ..ActionItem::default() }, None),
            Err(e) => (ActionItem { text, ..ActionItem::default() }, Some(e)),
        },
        _ => (ActionItem { text, ..ActionItem::default() }, None),
    };
    record(s, item, tag);
    note_saved(s, what);
    if let Some(e) = warning.filter(|_| s.journal.error.is_none()) {
        s.book.say(Level::Warning, format!("{what} added, with its words as written: {e}"));
    }
}

fn record(s: &mut AppState, item: ActionItem, tag: NoteTag) {
    let (author, fault) = (s.session.user.clone(), s.fault.live().map(|f| f.id));
    let ActionItem { owner, due, text } = item;
    s.book.record(EntryKind::Note { text, tag, author, fault, owner, due });
}

/// A note is acknowledged as saved only when the journal takes entries.
pub(super) fn note_saved(s: &mut AppState, what: &str) {
    match &s.journal.error {
        None => s.book.say(Level::Info, format!("{what} added to the timeline")),
        Some(_) => s.book.say(
            Level::Error,
            format!("{what} NOT saved yet: the journal cannot be written (kept in memory, retrying)"),
        ),
    }
}

/// `~/reports/x.md` is in the user's home, as a shell would have it.
fn expand_home(path: PathBuf, home: Option<&std::path::Path>) -> PathBuf {
    match (path.strip_prefix("~"), home) {
        (Ok(rest), Some(home)) => home.join(rest),
        _ => path,
    }
}

/// Writes the report (the runtime refuses to write over anything but an earlier report); the
/// timeline records it once it is written.
fn export(s: &mut AppState, path: PathBuf) {
    // The session goes on: the report says so.
    let markdown = report::render_as(&s.book.timeline, report::Status::InProgress);
    s.book.say(Level::Info, format!("writing report to {}…", path.display()));
    s.book.effect(Effect::WriteReport { path, markdown });
}
