//! `update(state, event, now) -> effects`: the one place state changes. Pure: no I/O, no
//! clock reads (time comes in as `now`), no async.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use tui_textarea::TextArea;

use super::blast;
use super::cleanup;
use super::command::{self, Command};
use super::drill;
use super::event::{Effect, Event};
use super::fault::{self, Button, FaultPhase, FaultPlan};
use super::keymap::{self, Action, Context};
use super::state::{AppState, Connection, Focus, Level, Overlay, TextInput};
use super::steady;
use crate::model::Workload;
use crate::model::{PodRef, Target, TopologyDelta};
use crate::timeline::{report, EntryKind, Stamp};

pub fn update(s: &mut AppState, event: Event, now: Stamp) -> Vec<Effect> {
    s.now = now;
    let mut fx = Vec::new();
    if s.exited {
        return fx;
    }
    match event {
        Event::Key(key) => on_key(s, key, &mut fx),
        Event::Paste(text) => on_paste(s, &text),
        Event::Resize { width, height } => s.ui.size = (width, height),
        Event::Tick => {
            fault::on_tick(s, &mut fx);
            fault::on_quit_deadline(s, &mut fx);
            steady::on_tick(s, &mut fx);
            super::runsheet::on_tick(s, &mut fx);
            super::elsewhere::on_tick(s, &mut fx);
        }
        Event::Backend(delta) => on_delta(s, delta, &mut fx),
        Event::Prepared { fault: id, result } => fault::on_prepared(s, id, result, &mut fx),
        Event::Previewed { spec, result } => super::preview::on_previewed(s, &spec, result),
        Event::Injected { fault: id, result } => fault::on_injected(s, id, result, &mut fx),
        Event::Reverted { fault: id, attempt, result } => fault::on_reverted(s, id, attempt, result, &mut fx),
        Event::Exported { path, result } => match result {
            Ok(()) => {
                s.record(EntryKind::ReportExported { path: path.display().to_string() }, &mut fx);
                s.say(Level::Info, format!("report written to {}", path.display()));
            }
            Err(e) => s.say(Level::Error, format!("report NOT written to {}: {e}", path.display())),
        },
        Event::Signal(name) => fault::quit(s, &name, &mut fx),
        Event::Suspend => suspend(s, "SIGTSTP", &mut fx),
        Event::Continued => {
            // Running again after a stop (Ctrl-Z, SIGSTOP; a closed terminal sends it too):
            // whatever came due meanwhile is due now.
            if std::mem::take(&mut s.ui.suspended) {
                s.record(EntryKind::Console { message: "running again (SIGCONT)".into(), warning: false }, &mut fx);
            }
            fault::on_tick(s, &mut fx);
            fault::on_quit_deadline(s, &mut fx);
            steady::on_tick(s, &mut fx);
            super::runsheet::on_tick(s, &mut fx);
        }
        Event::Journal { durable_seq, error } => on_journal(s, durable_seq, error, &mut fx),
        Event::NotApplied { fault: id, why } => fault::on_not_applied(s, id, why, &mut fx),
        Event::Leftovers(found) => cleanup::on_found(s, found, &mut fx),
        Event::CleanedUp { index, attempt, result } => cleanup::on_cleaned(s, index, attempt, result, &mut fx),
        Event::Probe(outcome) => steady::on_outcome(s, outcome, &mut fx),
        Event::Peer { from, entries } => drill::on_peer(s, &from, entries, &mut fx),
        Event::StopAsked { result } => super::elsewhere::on_stop_asked(s, result, &mut fx),
        Event::TookOver { holder, why, result } => super::elsewhere::on_took_over(s, holder, why, result, &mut fx),
    }
    if !s.exited && s.runsheet.as_ref().is_some_and(|r| r.auto) {
        // Without a screen the sheet moves on the moment something changes, not on a tick.
        super::runsheet::pace(s, &mut fx);
    }
    fx
}

fn on_delta(s: &mut AppState, delta: TopologyDelta, fx: &mut Vec<Effect>) {
    match delta {
        TopologyDelta::Samples(samples) => {
            for sample in samples {
                let h = s.health.entry(sample.service.clone()).or_default();
                let reading = format!("success {:.1}%, p95 {:.0} ms", sample.success * 100.0, sample.p95_ms);
                let service = sample.service.clone();
                if let Some((from, to)) = h.push(sample) {
                    s.record(EntryKind::HealthChanged { service, from, to, reading }, fx);
                }
            }
        }
        // A responder finds faults by their effects: the system's own record of gameday's faults
        // (its Events) would name them.
        TopologyDelta::ClusterEvent { message, .. }
            if s.drill.is_some() && message.starts_with(crate::model::EVENT_REASON_PREFIX) => {}
        TopologyDelta::ClusterEvent { object, message, warning } => {
            s.record(EntryKind::Cluster { object, message, warning }, fx);
        }
        TopologyDelta::Connection { connected, detail } => {
            let was = s.connection.as_ref().map(|c| c.connected);
            if was != Some(connected) {
                let message = if connected { format!("connected ({detail})") } else { format!("LOST: {detail}") };
                if was.is_some() || !connected {
                    s.record(EntryKind::Cluster { object: "connection".into(), message, warning: !connected }, fx);
                }
            }
            let since_ms = match &s.connection {
                Some(c) if c.connected == connected => c.since_ms,
                _ => s.now.t_ms,
            };
            s.connection = Some(Connection { connected, detail, since_ms });
        }
        TopologyDelta::Reachable { service, addr } => steady::on_reachable(s, service, addr, fx),
        TopologyDelta::FaultLapsed { session, fault, why } => fault::on_lapsed(s, &session, fault, why, fx),
        TopologyDelta::FaultRunsOn { session, fault, within_ms, why } => {
            super::engine_end::on_runs_on(s, &session, fault, within_ms, why, fx)
        }
        TopologyDelta::FaultFinished { session, fault, how } => {
            super::engine_end::on_finished(s, &session, fault, how, fx)
        }
        // A responder injects nothing and takes no lock, and must not learn of a fault through
        // it: who holds the cluster, with what, is not for their console.
        TopologyDelta::Holder(_) if s.drill.is_some() => s.cluster.holder = None,
        TopologyDelta::Holder(holder) => super::elsewhere::on_holder(s, holder, fx),
        TopologyDelta::Watchdog(renewed) => super::elsewhere::on_watchdog(s, renewed),
        TopologyDelta::Capability { action, support } => {
            for p in s.presets.iter_mut().filter(|p| p.preset.action == action) {
                p.support = support.clone();
            }
        }
        TopologyDelta::Snapshot(t) => {
            let gone: Vec<String> = s
                .health
                .iter()
                .filter(|(k, _)| !t.workloads().any(|w| service_key(w) == **k))
                .map(|(k, _)| k.clone())
                .collect();
            for k in gone {
                s.health.remove(&k);
            }
            let workloads: Vec<(String, u32, u32)> =
                t.workloads().map(|w| (service_key(w), w.ready, w.desired)).collect();
            s.topology = t;
            s.pictured = true;
            for (key, ready, desired) in workloads {
                readiness(s, key, ready, desired, fx);
            }
            super::runsheet::check_targets(s, fx);
        }
        TopologyDelta::UpsertWorkload(w) => {
            let (key, ready, desired) = (service_key(&w), w.ready, w.desired);
            s.topology.upsert_workload(w);
            readiness(s, key, ready, desired, fx);
        }
        TopologyDelta::RemoveWorkload { namespace, name } => {
            s.topology.remove_workload(&namespace, &name);
            let key = format!("{namespace}/{name}");
            if s.health.get(&key).is_some_and(|h| h.last.is_none()) {
                s.health.remove(&key);
            }
        }
        other => s.topology.apply(&other),
    }
}

fn service_key(w: &Workload) -> String {
    format!("{}/{}", w.namespace, w.name)
}

fn readiness(s: &mut AppState, service: String, ready: u32, desired: u32, fx: &mut Vec<Effect>) {
    let h = s.health.entry(service.clone()).or_default();
    if let Some((from, to)) = h.observe_readiness(ready, desired) {
        s.record(EntryKind::HealthChanged { service, from, to, reading: format!("ready {ready}/{desired}") }, fx);
    }
}

fn text_area(initial: &str) -> Box<TextArea<'static>> {
    let mut t = TextArea::new(vec![initial.to_string()]);
    t.move_cursor(tui_textarea::CursorMove::End);
    Box::new(t)
}

/// This console's abort, from a key or `:abort`. A drill's responder has no fault of their own:
/// theirs is an emergency stop, which the facilitator's console carries out.
fn abort(s: &mut AppState, by: &str, fx: &mut Vec<Effect>) {
    match s.drill {
        Some(_) => drill::mark(s, crate::timeline::Mark::Stop, &format!("by {by}"), fx),
        None => fault::abort(s, by, fx),
    }
}

fn on_key(s: &mut AppState, key: KeyEvent, fx: &mut Vec<Effect>) {
    if key.kind != KeyEventKind::Press {
        return;
    }
    let ctx = s.context();
    let action = keymap::lookup(ctx, &key);
    // The abort path first: no mode, popup or text field sees these keys before it.
    match action {
        Some(Action::Abort) => {
            let by = if ctx.is_text() || key.code != ratatui::crossterm::event::KeyCode::Char(' ') {
                keymap::ABORT_CHORD.label()
            } else {
                "Space".to_string()
            };
            return abort(s, &by, fx);
        }
        Some(Action::Quit) if key.modifiers.is_empty() => {
            // A bare q can be a stray key: with something live, ask first.
            match quit_question(s) {
                Some(question) => s.ui.overlay = Overlay::QuitConfirm { question },
                None => fault::quit(s, "q", fx),
            }
            return;
        }
        Some(Action::Quit) => {
            s.ui.input = None;
            return fault::quit(s, "Ctrl-C", fx);
        }
        Some(Action::Suspend) => return suspend(s, "Ctrl-Z", fx),
        // "…and quit? y/N": anything but y stays.
        Some(a) if ctx == Context::QuitConfirm && a != Action::Yes => {
            s.ui.overlay = Overlay::None;
            return s.say(Level::Info, "not quitting");
        }
        None if ctx == Context::QuitConfirm => {
            s.ui.overlay = Overlay::None;
            return s.say(Level::Info, "not quitting");
        }
        _ => {}
    }
    match ctx {
        Context::CommandLine => match action {
            Some(Action::Select) => {
                let line = match s.ui.input.take() {
                    Some(TextInput::Command(t)) => t.lines().join(" "),
                    _ => String::new(),
                };
                s.ui.history_at = None;
                remember(s, &line, fx);
                run_command(s, &line, fx);
            }
            Some(Action::Back) => {
                s.ui.input = None;
                s.ui.history_at = None;
            }
            Some(Action::Complete) => {
                let line = command_line(s);
                let done = super::complete::complete(s, &line);
                if done.candidates.len() > 1 {
                    s.say(Level::Info, done.candidates.join("  "));
                }
                s.ui.input = Some(TextInput::Command(text_area(&done.line)));
            }
            Some(Action::Up) => browse_history(s, true),
            Some(Action::Down) => browse_history(s, false),
            _ => {
                if let Some(TextInput::Command(t)) = &mut s.ui.input {
                    t.input(key);
                }
            }
        },
        Context::Filter => match action {
            Some(Action::Select) => s.ui.input = None,
            Some(Action::Back) => {
                s.ui.input = None;
                s.ui.filter.clear();
            }
            _ => {
                if let Some(TextInput::Filter(t)) = &mut s.ui.input {
                    t.input(key);
                    s.ui.filter = t.lines().join("");
                }
                s.ui.cursor = 0;
                if let Overlay::Targets { cursor, .. } = &mut s.ui.overlay {
                    *cursor = 0;
                }
            }
        },
        Context::Form => match action {
            Some(Action::Select) => super::form::submit(s, fx),
            Some(Action::Back) => {
                s.ui.overlay = Overlay::None;
                s.say(Level::Info, "cancelled; nothing was injected");
            }
            Some(Action::Down) => super::form::edit(s, super::form::Edit::Next),
            Some(Action::Up) => super::form::edit(s, super::form::Edit::Previous),
            _ => match key.code {
                KeyCode::Char(c) if !key.modifiers.intersects(KeyModifiers::CONTROL | KeyModifiers::ALT) => {
                    super::form::edit(s, super::form::Edit::Type(c))
                }
                KeyCode::Backspace => super::form::edit(s, super::form::Edit::Erase),
                _ => {}
            },
        },
        Context::Note => match action {
            Some(Action::Select) => {
                if let Overlay::Note(t) = std::mem::replace(&mut s.ui.overlay, Overlay::None) {
                    let text = t.lines().join("\n").trim().to_string();
                    if text.is_empty() {
                        s.say(Level::Info, "empty note discarded");
                    } else if s.drill.is_some() {
                        drill::mark(s, crate::timeline::Mark::Note, &text, fx);
                    } else {
                        let tag = s.ui.note_tag;
                        record_note(s, text, tag, fx);
                        note_saved(s, &tag.to_string());
                    }
                }
            }
            Some(Action::NewLine) => {
                if let Overlay::Note(t) = &mut s.ui.overlay {
                    t.insert_newline();
                }
            }
            Some(Action::Back) => s.ui.overlay = Overlay::None,
            Some(Action::CycleTag) => s.ui.note_tag = s.ui.note_tag.next(),
            _ => {
                if let Overlay::Note(t) = &mut s.ui.overlay {
                    t.input(key);
                }
            }
        },
        _ => on_action(s, ctx, action, fx),
    }
}

fn on_action(s: &mut AppState, ctx: Context, action: Option<Action>, fx: &mut Vec<Effect>) {
    let Some(action) = action else { return };
    match (ctx, action) {
        (_, Action::Help) => s.ui.overlay = Overlay::Help { scroll: 0 },
        (Context::Help, Action::Up | Action::Down | Action::PageUp | Action::PageDown) => {
            let max = keymap::help_max_scroll(s.ui.size.0, s.ui.size.1);
            if let Overlay::Help { scroll } = &mut s.ui.overlay {
                *scroll = step(*scroll, action, max + 1);
            }
        }
        (_, Action::OpenCommand) => s.ui.input = Some(TextInput::Command(text_area(""))),
        (_, Action::OpenFilter) => s.ui.input = Some(TextInput::Filter(text_area(&s.ui.filter.clone()))),
        (_, Action::OpenNote) => {
            let mut t = TextArea::default();
            t.set_placeholder_text("What do you see? Enter saves, Alt-Enter adds a line, Esc discards.");
            s.ui.overlay = Overlay::Note(Box::new(t));
            s.ui.note_tag = Default::default();
        }
        (Context::Help, Action::Back) => s.ui.overlay = Overlay::None,
        (Context::QuitConfirm, Action::Yes) => {
            s.ui.overlay = Overlay::None;
            fault::quit(s, "q", fx);
        }

        (Context::Leftovers, Action::SwitchButton) => {
            if let Overlay::Leftovers { revert } = &mut s.ui.overlay {
                *revert = !*revert;
            }
        }
        (Context::Leftovers, Action::Select) => match s.ui.overlay {
            Overlay::Leftovers { revert: true } => cleanup::revert_all(s, fx),
            _ => cleanup::keep_all(s, fx),
        },
        (Context::Leftovers, Action::Back) => {
            s.ui.overlay = Overlay::None;
            s.say(Level::Warning, "faults left by earlier sessions are still in place; Space reverts them");
        }
        (Context::Confirm, Action::SwitchButton) => {
            if let FaultPhase::Armed { button, .. } = &mut s.fault {
                *button = if *button == Button::Cancel { Button::Inject } else { Button::Cancel };
            }
        }
        (Context::Confirm, Action::Select) => super::preview::press(s, fx),
        (Context::Confirm, Action::Back) => {
            s.fault = FaultPhase::Idle;
            s.say(Level::Info, "cancelled; nothing was injected");
        }
        (Context::Drill, Action::MarkDetected) => drill::mark(s, crate::timeline::Mark::Detected, "", fx),
        (Context::Drill, Action::MarkMitigated) => drill::mark(s, crate::timeline::Mark::Mitigated, "", fx),
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
            None => s.say(Level::Info, "select a workload, pod or node to pick a fault for it"),
        },
        (Context::Main, Action::OpenPicker) => s.ui.overlay = Overlay::Picker { cursor: 0, target: None },
        (Context::Main | Context::Drill, Action::Back) => {
            s.ui.filter.clear();
            s.ui.status = None;
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
                return s.say(Level::Warning, format!("{} is not available: {why}", entry.preset.id));
            }
            match target {
                Some(t) => open_form(s, &entry.preset.id, &t.to_string(), fx),
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
            open_form(s, &preset, &t.to_string(), fx);
        }
        (Context::Picker | Context::Targets, Action::Back) => {
            s.ui.overlay = Overlay::None;
            s.ui.filter.clear();
        }
        _ => {}
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
    match cleanup::unresolved(s) {
        0 => None,
        n => Some(format!("{n} fault(s) left by earlier sessions are not reverted: quit and leave them? y/N")),
    }
}

/// Ctrl-Z or SIGTSTP: suspending with a fault live would leave it running with nobody able to
/// abort it, so that is refused; otherwise the terminal is given back and the process stops.
fn suspend(s: &mut AppState, by: &str, fx: &mut Vec<Effect>) {
    let live =
        s.fault.live().map(|f| format!("fault #{} is live", f.id)).or_else(|| {
            (cleanup::live(s) > 0).then(|| "faults left by earlier sessions may still be live".to_string())
        });
    match live {
        Some(why) => {
            let message =
                format!("not suspended ({by}): {why}, and a stopped console cannot abort it; abort it first, or quit");
            s.say(Level::Warning, message.clone());
            s.record(EntryKind::Console { message, warning: true }, fx);
        }
        None => {
            s.record(EntryKind::Console { message: format!("suspended ({by})"), warning: false }, fx);
            s.ui.suspended = true;
            fx.push(Effect::Suspend);
        }
    }
}

/// The largest paste taken into a text field.
pub const PASTE_LIMIT: usize = 64 * 1024;

/// A paste goes, whole and literal (cleaned of escape sequences and control characters), into
/// the text field that has focus; it never presses a key. The command line and the filter are
/// one line: a paste's lines are joined, never run. Outside a text field a paste does nothing.
fn on_paste(s: &mut AppState, raw: &str) {
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
    let joined = || text.split(['\n', '\t']).map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(" ");
    let ctx = s.context();
    match (ctx, &mut s.ui.input, &mut s.ui.overlay) {
        (Context::CommandLine, Some(TextInput::Command(t)), _) => {
            t.insert_str(joined());
        }
        (Context::Filter, Some(TextInput::Filter(t)), _) => {
            t.insert_str(joined());
            s.ui.filter = t.lines().join("");
            s.ui.cursor = 0;
            if let Overlay::Targets { cursor, .. } = &mut s.ui.overlay {
                *cursor = 0;
            }
        }
        (Context::Note, _, Overlay::Note(t)) => {
            t.insert_str(text.replace('\t', "    "));
        }
        (Context::Form, _, Overlay::Form(_)) => super::form::edit(s, super::form::Edit::Paste(joined())),
        _ => {
            return s.say(
                Level::Info,
                "paste ignored: no text field has focus (n opens a note, : the command line, / the filter)",
            )
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
        s.say(Level::Info, said.join("; "));
    }
}

/// The journal writer's news: writes fail (say so for good, refuse new faults) or work again.
fn on_journal(s: &mut AppState, durable_seq: u64, error: Option<String>, fx: &mut Vec<Effect>) {
    let was = s.journal.error.clone();
    s.journal.durable_seq = durable_seq;
    match (was, error) {
        (None, Some(e)) => {
            s.journal.since_ms = s.now.t_ms;
            s.journal.error = Some(e.clone());
            s.say(Level::Error, format!("JOURNAL NOT WRITABLE: {e}"));
            // Held in memory and written once the journal takes entries again.
            s.record(
                EntryKind::Console { message: format!("the journal could not be written: {e}"), warning: true },
                fx,
            );
        }
        (Some(_), Some(e)) => s.journal.error = Some(e),
        (Some(_), None) => {
            s.journal.error = None;
            let held = crate::timeline::entry::seconds(s.now.t_ms.saturating_sub(s.journal.since_ms));
            let message = format!("the journal is written again; what happened in the {held} it failed is on disk now");
            s.say(Level::Info, message.clone());
            s.record(EntryKind::Console { message, warning: false }, fx);
        }
        (None, None) => {}
    }
}

/// The line on the command line now.
fn command_line(s: &AppState) -> String {
    match &s.ui.input {
        Some(TextInput::Command(t)) => t.lines().join(" "),
        _ => String::new(),
    }
}

/// The most commands kept in the history.
pub const HISTORY: usize = 500;

/// A command run is kept (once in a row) for Up on the command line, here and in later sessions.
fn remember(s: &mut AppState, line: &str, fx: &mut Vec<Effect>) {
    let line = crate::text::one_line(line.trim()).into_owned();
    if line.is_empty() || s.ui.history.last() == Some(&line) {
        return;
    }
    s.ui.history.push(line.clone());
    if s.ui.history.len() > HISTORY {
        s.ui.history.remove(0);
    }
    fx.push(Effect::RememberCommand(line));
}

/// Up shows the command before the one shown (the newest first); Down the one after, and past
/// the newest the line that was being typed.
fn browse_history(s: &mut AppState, older: bool) {
    let n = s.ui.history.len();
    let (at, draft) = match s.ui.history_at.take() {
        Some((at, draft)) => (Some(at), draft),
        None => (None, command_line(s)),
    };
    let next = match (at, older) {
        (None, true) if n > 0 => Some(n - 1),
        (None, _) => None,
        (Some(i), true) => Some(i.saturating_sub(1)),
        (Some(i), false) if i + 1 < n => Some(i + 1),
        (Some(_), false) => None,
    };
    let line = match next {
        Some(i) => s.ui.history[i].clone(),
        None => draft.clone(),
    };
    s.ui.history_at = next.map(|i| (i, draft));
    s.ui.input = Some(TextInput::Command(text_area(&line)));
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
fn open_form(s: &mut AppState, preset: &str, target: &str, fx: &mut Vec<Effect>) {
    // Refused while busy before anything else, as the confirmation would be.
    if fault::refused_while_busy(s, preset, target, fx) {
        s.ui.overlay = Overlay::None;
        return;
    }
    match plan(s, preset, target, &[]) {
        Ok(_) => super::form::open(s, preset, target),
        Err(e) => s.say(Level::Error, e),
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

fn run_command(s: &mut AppState, line: &str, fx: &mut Vec<Effect>) {
    let cmd = match command::parse(line) {
        Ok(c) => c,
        Err(e) => return s.say(Level::Error, e),
    };
    let responder_cannot = match &cmd {
        Command::Inject { .. } => Some(":inject"),
        Command::Next | Command::Outcome { .. } | Command::Skip(_) => Some("the run-sheet"),
        Command::Stop(_) => Some("stop conditions"),
        Command::Reveal => Some(":reveal"),
        Command::Title(_) | Command::Who(_) => Some("the session's details"),
        _ => None,
    };
    if responder_cannot.is_some_and(|what| drill::refused(s, what)) {
        return;
    }
    match cmd {
        Command::Note(text) if s.drill.is_some() => drill::mark(s, crate::timeline::Mark::Note, &text, fx),
        Command::Mark(mark, note) => drill::mark(s, mark, &note, fx),
        Command::Reveal => drill::reveal(s, fx),
        Command::Inject { preset, target, params } => {
            // Refused before the plan is checked, so a busy console says so first.
            if fault::refused_while_busy(s, &preset, &target, fx) {
                return;
            }
            match plan(s, &preset, &target, &params) {
                // Not in steady state: the confirmation shows why and asks again.
                Ok(p) if steady::unsteady(s).is_some() => {
                    fault::arm(s, p, fx);
                    s.say(Level::Warning, "NOT in steady state: confirm to inject anyway");
                }
                // A stop condition that cannot be read protects nobody: the same.
                Ok(p) if !steady::blind_stops(s).is_empty() => {
                    let blind = steady::blind_stops(s).join("; ");
                    fault::arm(s, p, fx);
                    s.say(
                        Level::Warning,
                        format!("stop conditions cannot be evaluated: {blind}; confirm to inject anyway"),
                    );
                }
                Ok(p) => fault::inject(s, p, fx),
                Err(e) => s.say(Level::Error, e),
            }
        }
        Command::Abort => abort(s, ":abort", fx),
        Command::Note(text) => {
            let (tag, text) = crate::timeline::NoteTag::from_prefix(&text);
            record_note(s, text, tag, fx);
            note_saved(s, "note");
        }
        Command::Export(path) => {
            let path = match path {
                Some(p) => expand_home(p, s.session.home.as_deref()),
                None => s.session.report.clone(),
            };
            export(s, path, fx);
        }
        Command::Theme(name) => match s.themes.get(&name) {
            Some(t) => {
                s.theme = t.clone();
                s.say(Level::Info, format!("theme {name}"));
            }
            None => {
                let known: Vec<&str> = s.themes.keys().map(String::as_str).collect();
                s.say(Level::Error, format!("unknown theme '{name}' (available: {})", known.join(", ")));
            }
        },
        Command::Quit => fault::quit(s, ":quit", fx),
        Command::Help => s.ui.overlay = Overlay::Help { scroll: 0 },
        Command::Probe(spec) => steady::add_probe(s, spec, fx),
        Command::Stop(stop) => steady::add_stop(s, stop, fx),
        Command::Expect(check) => steady::add_check(s, check, fx),
        Command::Title(title) => {
            s.record(EntryKind::SessionDetails { title: Some(title), facilitator: None, participants: vec![] }, fx);
            s.say(Level::Info, "the session's title is in the timeline (and the report)");
        }
        Command::Who(participants) => {
            let facilitator = participants.iter().find(|(_, r)| r == "facilitator").map(|(n, _)| n.clone());
            s.record(EntryKind::SessionDetails { title: None, facilitator, participants }, fx);
            s.say(Level::Info, "who takes part is in the timeline (and the report)");
        }
        Command::Next => super::runsheet::next(s, fx),
        Command::Outcome { verdict, note } => super::runsheet::record_outcome(s, &verdict, &note, fx),
        Command::Skip(reason) => super::runsheet::skip(s, &reason, fx),
    }
}

/// A note, with who wrote it and the fault that was live when they did.
fn record_note(s: &mut AppState, text: String, tag: crate::timeline::NoteTag, fx: &mut Vec<Effect>) {
    let (author, fault) = (s.session.user.clone(), s.fault.live().map(|f| f.id));
    s.record(EntryKind::Note { text, tag, author, fault }, fx);
}

/// A note is acknowledged as saved only when the journal takes entries.
fn note_saved(s: &mut AppState, what: &str) {
    match &s.journal.error {
        None => s.say(Level::Info, format!("{what} added to the timeline")),
        Some(_) => s.say(
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
fn export(s: &mut AppState, path: PathBuf, fx: &mut Vec<Effect>) {
    // The session goes on: the report says so.
    let markdown = report::render_as(&s.timeline, report::Status::InProgress);
    s.say(Level::Info, format!("writing report to {}…", path.display()));
    fx.push(Effect::WriteReport { path, markdown });
}

fn target_namespace(t: &Target) -> Option<&str> {
    match t {
        Target::Workload { namespace, .. } | Target::Pod { namespace, .. } if !namespace.is_empty() => Some(namespace),
        _ => None,
    }
}

/// `pod/<name>` and `container/<name>` name one pod in any namespace: find it.
fn resolve(s: &AppState, target: Target) -> Result<Target, String> {
    let Target::Pod { namespace, name } = &target else { return Ok(target) };
    if !namespace.is_empty() {
        return Ok(target);
    }
    let word = &s.session.backend.pod_word;
    let found = s.topology.select(&target);
    match found.as_slice() {
        [p] => Ok(Target::pod(&p.namespace, &p.name)),
        [] => {
            // A workload of that name is the likelier meaning of a bare word.
            let workload = s.topology.workloads().find(|w| w.name == *name);
            let all: Vec<String> = s.topology.pods().map(|p| p.name.clone()).collect();
            let hint = match workload {
                Some(w) => format!(" (did you mean the workload {}/{}?)", w.namespace, w.name),
                None => suggest(name, all.iter().map(String::as_str))
                    .map(|h| format!(" (did you mean {h}?)"))
                    .unwrap_or_default(),
            };
            Err(format!("no {word} named {name}{hint}"))
        }
        many => {
            let names: Vec<String> = many.iter().map(|p| format!("{}/pod/{}", p.namespace, p.name)).collect();
            Err(format!("{word}/{name} is ambiguous: {}", names.join(", ")))
        }
    }
}

/// Whether a written target is in the cluster's picture now; if not, what to say ("no workload
/// sock-shop/cartz in the cluster (did you mean sock-shop/carts?)").
pub fn target_problem(s: &AppState, target: &str) -> Option<String> {
    match target.parse::<Target>().and_then(|t| resolve(s, t)) {
        Ok(t) => absent(s, &t),
        Err(e) => Some(e),
    }
}

fn absent(s: &AppState, target: &Target) -> Option<String> {
    if s.topology.contains(target) {
        return None;
    }
    let word = s.session.backend.pod_word.as_str();
    if target.kind() == crate::model::TargetKind::Selector {
        return Some(format!("{target} selects no {word}"));
    }
    let candidates: Vec<String> = s.topology.targets(target.kind()).iter().map(|t| t.to_string()).collect();
    let hint = suggest(&target.to_string(), candidates.iter().map(String::as_str))
        .map(|h| format!(" (did you mean {h}?)"))
        .unwrap_or_default();
    Some(format!("no {} {target} in the cluster{hint}", target.kind()))
}

/// Builds a fault plan from a preset id, a written target and `name=value` overrides, with
/// a clear message for anything unknown or out of bounds.
pub fn plan(s: &AppState, preset_id: &str, target: &str, overrides: &[(String, String)]) -> Result<FaultPlan, String> {
    let entry = s.preset(preset_id).ok_or_else(|| {
        let known: Vec<&str> = s.presets.iter().map(|p| p.preset.id.as_str()).collect();
        let hint = suggest(preset_id, known.iter().copied()).map(|h| format!("did you mean {h}? ")).unwrap_or_default();
        format!("unknown preset '{preset_id}' ({hint}known: {})", known.join(", "))
    })?;
    let target = resolve(s, target.parse()?)?;
    s.preset_available(entry, Some(&target)).map_err(|why| format!("{preset_id} cannot run on {target}: {why}"))?;
    let p = &entry.preset;
    let word = s.session.backend.pod_word.as_str();
    if let Some(ns) = target_namespace(&target) {
        if let Some(why) = s.topology.lock_reason(ns) {
            return Err(format!("{target} is off-limits: {why}"));
        }
    }
    if let Some(missing) = absent(s, &target) {
        return Err(missing);
    }
    let mut params: BTreeMap<_, _> = p.default_params();
    let mut duration = p.duration;
    let mut mode = p.mode;
    for (name, raw) in overrides {
        match name.as_str() {
            "duration" => {
                duration = humantime::parse_duration(raw).map_err(|e| format!("duration '{raw}': {e}"))?;
                if duration.is_zero() || duration > p.max_duration {
                    return Err(format!(
                        "duration must be above 0 and at most {}",
                        humantime::format_duration(p.max_duration)
                    ));
                }
            }
            "mode" if mode.is_some() => mode = Some(raw.parse()?),
            "mode" => return Err(format!("{} acts on a whole {}, it has no mode", p.id, p.targets_text())),
            _ => {
                let def = p.params.get(name).ok_or_else(|| {
                    let mut names: Vec<&str> = p.params.keys().map(String::as_str).collect();
                    names.push("duration");
                    if p.mode.is_some() {
                        names.push("mode");
                    }
                    format!("{} has no parameter '{name}' (it has: {})", p.id, names.join(", "))
                })?;
                params.insert(name.clone(), def.parse(name, raw)?);
            }
        }
    }
    // Faults on pods act on the live pods the target selects now; the backend picks among them.
    let pods: Vec<PodRef> = match mode {
        Some(_) => s.topology.live_pods(&target),
        None => Vec::new(),
    };
    if mode.is_some() && pods.is_empty() {
        if let Some(own) = s.topology.select(&target).into_iter().find_map(|p| p.caveats.protected.as_deref()) {
            return Err(format!("{target} selects only {own}, which no fault may touch"));
        }
        return Err(format!("{target} has no running {word}"));
    }
    if let Some(why) = blast::refusal(&s.topology, &p.action, &pods) {
        return Err(format!("{} cannot run on {target}: {why}", p.id));
    }
    // A selector or a node may reach into namespaces faults may not touch.
    if let Some(why) = pods.iter().find_map(|p| s.topology.lock_reason(&p.namespace).map(|w| (p, w))) {
        return Err(format!("{target} reaches {}, which is off-limits: {}", why.0, why.1));
    }
    let blast_radius = blast::describe(
        &s.topology,
        &blast::Blast { preset: p, target: &target, params: &params, mode, pods: &pods, word },
    );
    Ok(FaultPlan {
        preset: p.id.clone(),
        action: p.action.clone(),
        blast_radius,
        target,
        params,
        duration_ms: duration_ms(duration),
        pods,
        mode,
        hypothesis: p.hypothesis.clone(),
    })
}

fn duration_ms(d: Duration) -> u64 {
    d.as_millis().min(u64::MAX as u128) as u64
}

fn suggest<'a>(word: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .map(|c| (strsim::jaro_winkler(word, c), c))
        .filter(|(score, _)| *score > 0.85)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}
