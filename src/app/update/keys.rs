//! Keys and pastes, routed by where the user is (`Context`) through the one key table
//! (`keymap`). The abort path comes first: no mode, popup or text field sees its keys before it.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::{abort, arm, commands, quit};
use crate::app::book::Level;
use crate::app::event::Effect;
use crate::app::form::{Edit, ParamForm};
use crate::app::input::{self, Typed};
use crate::app::keymap::{self, Action, Context};
use crate::app::screen::{Focus, Overlay, TextInput};
use crate::app::state::AppState;
use crate::timeline::{EntryKind, Mark};

pub(super) fn on_key(s: &mut AppState, key: KeyEvent) {
    if key.kind != KeyEventKind::Press {
        return;
    }
    let ctx = s.context();
    let action = keymap::lookup(ctx, &key);
    // The abort path first: no mode, popup or text field sees these keys before it.
    match action {
        Some(Action::Abort) => {
            let by = if ctx.is_text() || key.code != KeyCode::Char(' ') {
                keymap::ABORT_CHORD.label()
            } else {
                "Space".to_string()
            };
            return abort(s, &by);
        }
        Some(Action::Quit) if key.modifiers.is_empty() => {
            // A bare q can be a stray key: with something live, ask first.
            match quit_question(s) {
                Some(question) => s.ui.overlay = Overlay::QuitConfirm { question },
                None => quit(s, "q"),
            }
            return;
        }
        Some(Action::Quit) => {
            s.ui.input = None;
            return quit(s, "Ctrl-C");
        }
        Some(Action::Suspend) => return suspend(s, "Ctrl-Z"),
        // "…and quit? y/N": anything but y stays.
        Some(a) if ctx == Context::QuitConfirm && a != Action::Yes => return stay(s),
        None if ctx == Context::QuitConfirm => return stay(s),
        _ => {}
    }
    match ctx {
        Context::CommandLine => match input::command_key(&mut s.ui, action, key) {
            Typed::Run(line) => {
                s.ui.completions_shown = None;
                input::remember(&mut s.ui, &line, &mut s.book);
                commands::run(s, &line);
            }
            Typed::Complete(line) => {
                let done = crate::app::complete::complete(s, &line);
                if done.candidates.len() > 1 {
                    s.book.say(Level::Info, done.candidates.join("  "));
                    s.ui.completions_shown = s.book.status.as_ref().map(|st| st.text.clone());
                }
                s.ui.input = Some(TextInput::Command(input::text_area(&done.line)));
            }
            // Closed (Esc): the completions it showed go with it, not the messages since.
            _ if s.ui.input.is_none() => {
                let shown = s.ui.completions_shown.take();
                if shown.is_some() && s.book.status.as_ref().map(|st| st.text.clone()) == shown {
                    s.book.status = None;
                }
            }
            _ => {}
        },
        Context::Filter => input::filter_key(&mut s.ui, action, key),
        Context::Form => match action {
            Some(Action::Select) => submit_form(s),
            Some(Action::Back) => {
                // Kept: opened again for the same preset and target, it shows these values.
                if let Overlay::Form(form) = std::mem::replace(&mut s.ui.overlay, Overlay::None) {
                    s.ui.last_form = Some(form);
                }
                s.book.say(Level::Info, "cancelled; nothing was injected (the form keeps its values)");
            }
            Some(Action::Down) => edit_form(s, Edit::Next),
            Some(Action::Up) => edit_form(s, Edit::Previous),
            _ => match key.code {
                KeyCode::Char(c) if !key.modifiers.intersects(KeyModifiers::CONTROL | KeyModifiers::ALT) => {
                    edit_form(s, Edit::Type(c))
                }
                KeyCode::Backspace => edit_form(s, Edit::Erase),
                _ => {}
            },
        },
        Context::Note => {
            if let Typed::Note { text, tag } = input::note_key(&mut s.ui, action, key, &mut s.book) {
                match &s.drill {
                    Some(r) => r.mark(Mark::Note, &text, s.picture.lost(), &mut s.book),
                    None => {
                        commands::record_note(s, text, tag, &tag.to_string());
                    }
                }
            }
        }
        _ => on_action(s, ctx, action),
    }
}

fn stay(s: &mut AppState) {
    s.ui.overlay = Overlay::None;
    s.book.say(Level::Info, "not quitting");
}

/// A paste goes into the text field that has focus.
pub(super) fn on_paste(s: &mut AppState, raw: &str) {
    let ctx = s.context();
    if let Some(text) = input::paste(&mut s.ui, ctx, raw, &mut s.book) {
        edit_form(s, Edit::Paste(text));
    }
}

/// A key or a paste on the parameter form.
fn edit_form(s: &mut AppState, edit: Edit) {
    let Overlay::Form(mut form) = std::mem::replace(&mut s.ui.overlay, Overlay::None) else { return };
    form.edit(edit, &s.planner());
    s.ui.overlay = Overlay::Form(form);
}

/// Enter on the form: on to the confirmation, if every value is valid; else said, and the form
/// stays.
fn submit_form(s: &mut AppState) {
    let Overlay::Form(mut form) = std::mem::replace(&mut s.ui.overlay, Overlay::None) else { return };
    let plan = form.submit(&s.planner());
    if plan.is_ok() {
        // Kept for a Cancel on the confirmation, which comes back to it.
        s.ui.last_form = Some(form.clone());
    }
    s.ui.overlay = Overlay::Form(form);
    match plan {
        Ok(plan) => arm(s, plan),
        Err(e) => s.book.say(Level::Error, format!("not yet: {e}")),
    }
}

fn on_action(s: &mut AppState, ctx: Context, action: Option<Action>) {
    let Some(action) = action else { return };
    match (ctx, action) {
        (_, Action::Help) => s.ui.overlay = Overlay::Help { scroll: 0 },
        (Context::Help, Action::Up | Action::Down | Action::PageUp | Action::PageDown) => {
            let max = keymap::help_max_scroll(s.ui.size.0, s.popup_rows());
            if let Overlay::Help { scroll } = &mut s.ui.overlay {
                *scroll = step(*scroll, action, max + 1);
            }
        }
        (_, Action::OpenCommand) => s.ui.input = Some(TextInput::Command(input::text_area(""))),
        (_, Action::OpenFilter) => s.ui.input = Some(TextInput::Filter(input::text_area(&s.ui.filter.clone()))),
        (_, Action::OpenNote) => input::open_note(&mut s.ui),
        (Context::Help, Action::Back) => s.ui.overlay = Overlay::None,
        (Context::QuitConfirm, Action::Yes) => {
            s.ui.overlay = Overlay::None;
            quit(s, "q");
        }
        (Context::Leftovers, Action::SwitchButton) => {
            if let Overlay::Leftovers { revert } = &mut s.ui.overlay {
                *revert = !*revert;
            }
        }
        (Context::Leftovers, Action::Select) => {
            let revert = matches!(s.ui.overlay, Overlay::Leftovers { revert: true });
            s.ui.overlay = Overlay::None;
            match revert {
                true => s.cleanup.revert_all(&mut s.book),
                false => s.cleanup.keep_all(&mut s.book),
            }
        }
        (Context::Leftovers, Action::Back) => {
            s.ui.overlay = Overlay::None;
            s.book.say(Level::Warning, "faults left by earlier sessions are still in place; Space reverts them");
        }
        (Context::Confirm, Action::SwitchButton) => s.fault.switch_button(),
        (Context::Confirm, Action::Select) => {
            let armed = armed(s);
            let before = s.steady.before(&super::steady_view!(s));
            let gate = s.gate();
            let o = s.fault.press(&gate, before, &mut s.book);
            super::react(s, super::Outcome::Fault(o));
            back_to_form(s, armed);
        }
        (Context::Confirm, Action::Back) => {
            let armed = armed(s);
            s.fault.cancel(&mut s.book);
            back_to_form(s, armed);
        }
        (Context::Drill, Action::MarkDetected) => mark(s, Mark::Detected),
        (Context::Drill, Action::MarkMitigated) => mark(s, Mark::Mitigated),
        (Context::Main, Action::SwitchFocus) => {
            s.ui.focus = match s.ui.focus {
                Focus::Tree => Focus::Timeline,
                Focus::Timeline => Focus::Tree,
            };
        }
        (Context::Main, Action::Newest) => s.ui.timeline_at = None,
        (Context::Main, Action::Up | Action::Down | Action::PageUp | Action::PageDown)
            if s.ui.focus == Focus::Timeline =>
        {
            scroll_timeline(s, action)
        }
        (Context::Main | Context::Drill, Action::Up | Action::Down | Action::PageUp | Action::PageDown) => {
            let n = s.rows().len();
            s.ui.cursor = step(s.ui.cursor.min(n.saturating_sub(1)), action, n);
        }
        (Context::Main, Action::Select) => match s.selected_target() {
            Some(t) => s.ui.overlay = Overlay::Picker { cursor: 0, target: Some(t) },
            None => s.book.say(Level::Info, "select a workload, pod or node to pick a fault for it"),
        },
        (Context::Main, Action::OpenPicker) => s.ui.overlay = Overlay::Picker { cursor: 0, target: None },
        (Context::Main | Context::Drill, Action::Back) => {
            s.ui.filter.clear();
            s.book.status = None;
        }
        (Context::Picker, Action::Up | Action::Down | Action::PageUp | Action::PageDown) => {
            let n = s.presets.len();
            if let Overlay::Picker { cursor, .. } = &mut s.ui.overlay {
                *cursor = step(*cursor, action, n);
            }
        }
        (Context::Picker, Action::Select) => {
            let Overlay::Picker { cursor, target } = s.ui.overlay.clone() else {
                return;
            };
            let Some(entry) = s.picker_order(target.as_ref()).get(cursor).map(|e| (*e).clone()) else {
                return;
            };
            if let Err(why) = s.preset_available(&entry, target.as_ref()) {
                return s.book.say(Level::Warning, format!("{} is not available: {why}", entry.preset.id));
            }
            match target {
                Some(t) => open_form(s, &entry.preset.id, &t.to_string()),
                None => {
                    s.ui.filter.clear();
                    s.ui.overlay = Overlay::Targets { preset: entry.preset.id.clone(), cursor: 0 };
                }
            }
        }
        (Context::Targets, Action::Up | Action::Down | Action::PageUp | Action::PageDown) => {
            let Overlay::Targets { preset, .. } = &s.ui.overlay else {
                return;
            };
            let n = s.target_choices(&preset.clone()).len();
            if let Overlay::Targets { cursor, .. } = &mut s.ui.overlay {
                *cursor = step(*cursor, action, n);
            }
        }
        (Context::Targets, Action::Select) => {
            let Overlay::Targets { preset, cursor } = s.ui.overlay.clone() else {
                return;
            };
            let Some(t) = s.target_choices(&preset).get(cursor).cloned() else {
                return;
            };
            s.ui.filter.clear();
            open_form(s, &preset, &t.to_string());
        }
        (Context::Picker | Context::Targets, Action::Back) => {
            s.ui.overlay = Overlay::None;
            s.ui.filter.clear();
        }
        _ => {}
    }
}

/// A drill responder's mark.
fn mark(s: &mut AppState, mark: Mark) {
    if let Some(r) = &s.drill {
        r.mark(mark, "", s.picture.lost(), &mut s.book);
    }
}

/// What a bare `q` asks before quitting, if anything is live: a fault of this console's, or
/// faults left by earlier sessions that are not resolved.
fn quit_question(s: &AppState) -> Option<String> {
    if s.drill.is_some() {
        return None;
    }
    if let Some(f) = s.fault.live() {
        return Some(format!("abort fault #{} ({} → {}) and quit? y/N", f.id, f.plan.preset, f.plan.target));
    }
    if let n @ 1.. = s.cleanup.unresolved() {
        return Some(format!("{n} fault(s) left by earlier sessions are not reverted: quit and leave them? y/N"));
    }
    // A facilitator's stray q must not end a Gameday half run, or leave responders alone.
    let left = s.sheet.as_ref().map(|sh| sh.steps_left()).unwrap_or(0);
    let responders: std::collections::BTreeSet<&str> = s
        .book
        .timeline
        .iter()
        .filter_map(|e| match &e.kind {
            EntryKind::DrillJoined { responder, .. } => Some(responder.as_str()),
            _ => None,
        })
        .collect();
    let steps = match left {
        0 => None,
        1 => Some("1 run-sheet step is not finished".to_string()),
        n => Some(format!("{n} run-sheet steps are not finished")),
    };
    let joined = match responders.len() {
        0 => None,
        1 => Some("1 responder joined the drill".to_string()),
        n => Some(format!("{n} responders joined the drill")),
    };
    match (steps, joined) {
        (None, None) => None,
        (Some(a), None) | (None, Some(a)) => Some(format!("{a}: end the session and quit? y/N")),
        (Some(a), Some(b)) => Some(format!("{a} and {b}: end the session and quit? y/N")),
    }
}

/// Ctrl-Z or SIGTSTP: suspending with a fault live would leave it running with nobody able to
/// abort it, so that is refused; otherwise the terminal is given back and the process stops.
pub(super) fn suspend(s: &mut AppState, by: &str) {
    let live =
        s.fault.live().map(|f| format!("fault #{} is live", f.id)).or_else(|| {
            (s.cleanup.live() > 0).then(|| "faults left by earlier sessions may still be live".to_string())
        });
    match live {
        Some(why) => {
            let message =
                format!("not suspended ({by}): {why}, and a stopped console cannot abort it; abort it first, or quit");
            s.book.say(Level::Warning, message.clone());
            s.book.record(EntryKind::Console { message, warning: true });
        }
        None => {
            s.book.record(EntryKind::Console { message: format!("suspended ({by})"), warning: false });
            s.ui.suspended = true;
            s.book.effect(Effect::Suspend);
        }
    }
}

/// Up shows older entries, Down newer; at the newest the timeline follows it again.
fn scroll_timeline(s: &mut AppState, action: Action) {
    let shown: Vec<u64> = s.timeline_shown().iter().map(|e| e.seq).collect();
    let Some(last) = shown.len().checked_sub(1) else { return };
    let at = s.ui.timeline_at.and_then(|seq| shown.iter().rposition(|x| *x <= seq)).unwrap_or(last);
    // `step` moves a cursor down a list; the timeline's newest is at its bottom.
    let from_newest = step(last - at, swap_direction(action), shown.len());
    s.ui.timeline_at = (from_newest > 0).then(|| shown[last - from_newest]);
}

fn swap_direction(action: Action) -> Action {
    match action {
        Action::Up => Action::Down,
        Action::Down => Action::Up,
        Action::PageUp => Action::PageDown,
        Action::PageDown => Action::PageUp,
        other => other,
    }
}

/// A preset and a target are chosen: the form of its parameters, if a plan can be made.
fn open_form(s: &mut AppState, preset: &str, target: &str) {
    // Refused while busy before anything else, as the confirmation would be.
    if s.fault.refused(&s.gate(), preset, target, &mut s.book) {
        s.ui.overlay = Overlay::None;
        return;
    }
    let form = {
        let planner = s.planner();
        planner.plan(preset, target, &[]).map(|_| ParamForm::open(&planner, preset, target))
    };
    match form {
        Ok(Some(form)) => {
            // The values left in this preset's form for this target, checked again.
            let kept = s.ui.last_form.take().filter(|f| f.preset == form.preset && f.target == form.target);
            let form = match kept {
                Some(mut kept) => {
                    kept.revalidate(&s.planner());
                    kept
                }
                None => Box::new(form),
            };
            s.ui.overlay = Overlay::Form(form)
        }
        Ok(None) => {}
        Err(e) => s.book.say(Level::Error, e),
    }
}

/// The preset and target the confirmation shows.
fn armed(s: &AppState) -> Option<(String, String)> {
    match &s.fault.phase {
        crate::app::fault::FaultPhase::Armed { plan, .. } => Some((plan.preset.clone(), plan.target.to_string())),
        _ => None,
    }
}

/// A confirmation cancelled (nothing was injected) goes back to the form it came from, with
/// its values.
fn back_to_form(s: &mut AppState, armed: Option<(String, String)>) {
    let Some((preset, target)) = armed else { return };
    if !matches!(s.fault.phase, crate::app::fault::FaultPhase::Idle) || !matches!(s.ui.overlay, Overlay::None) {
        return;
    }
    if s.ui.last_form.as_ref().is_some_and(|f| f.preset == preset && f.target == target) {
        open_form(s, &preset, &target);
    }
}

fn step(cursor: usize, action: Action, n: usize) -> usize {
    let last = n.saturating_sub(1);
    match action {
        Action::Up => cursor.saturating_sub(1),
        Action::Down => (cursor + 1).min(last),
        Action::PageUp => cursor.saturating_sub(10),
        Action::PageDown => (cursor + 10).min(last),
        _ => cursor,
    }
}
