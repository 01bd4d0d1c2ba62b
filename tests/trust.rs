//! Ordinary accidents, in the pure core: a paste, a stray `q`, a held Space, a journal that
//! cannot be written, Ctrl-Z, hostile text. None of them may end or change a Gameday.

mod common;

use common::Harness;
use gameday::app::fault::FaultPhase;
use gameday::app::state::{Level, Overlay, TextInput};
use gameday::app::{Effect, Event};
use gameday::timeline::entry::seconds;
use gameday::timeline::{since, EntryKind};
use ratatui::crossterm::event::KeyCode;

fn live(h: &mut Harness) {
    let fx = h.command("inject network-latency sock-shop/carts");
    h.run_effects(fx);
    assert!(matches!(h.s.fault.phase, FaultPhase::Active { .. }), "{:?}", h.s.fault.phase);
}

fn records(fx: &[Effect]) -> Vec<&EntryKind> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Record(r) => Some(&r.kind),
            _ => None,
        })
        .collect()
}

fn status(h: &Harness) -> String {
    h.s.book.status.as_ref().map(|s| s.text.clone()).unwrap_or_default()
}

const PASTE: &str = "queue depth 42\r\nthen orders timed out\rq";

#[test]
fn a_paste_goes_whole_into_the_note_and_never_presses_a_key() {
    let mut h = Harness::demo();
    live(&mut h);
    h.key(KeyCode::Char('n'));
    let fx = h.send(Event::Paste(PASTE.into()));
    assert!(fx.is_empty(), "a paste only edits the note: {fx:?}");
    let Overlay::Note(t) = &h.s.ui.overlay else { panic!("the note is still open: {:?}", h.s.ui.overlay) };
    assert_eq!(t.lines(), ["queue depth 42", "then orders timed out", "q"]);
    assert!(matches!(h.s.fault.phase, FaultPhase::Active { .. }), "the fault is untouched");
    assert!(status(&h).contains("pasted 3 lines into the note"), "{}", status(&h));
    // Enter saves it, as one note with its lines.
    let fx = h.key(KeyCode::Enter);
    assert!(
        matches!(records(&fx)[..], [EntryKind::Note { text, .. }] if text == "queue depth 42\nthen orders timed out\nq"),
        "{fx:?}"
    );
}

#[test]
fn a_paste_into_the_command_line_or_filter_is_joined_and_never_run() {
    let mut h = Harness::demo();
    h.key(KeyCode::Char(':'));
    let fx = h.send(Event::Paste("inject pod-delete sock-shop/carts\nquit\n".into()));
    assert!(fx.is_empty(), "nothing runs: {fx:?}");
    let Some(TextInput::Command(t)) = &h.s.ui.input else { panic!("the command line is open") };
    assert_eq!(t.lines(), ["inject pod-delete sock-shop/carts quit"]);
    assert!(status(&h).contains("joined into one (a paste never presses Enter)"), "{}", status(&h));
    assert_eq!(h.s.fault.phase, FaultPhase::Idle);
    h.key(KeyCode::Esc);
    h.key(KeyCode::Char('/'));
    h.send(Event::Paste("carts\ndb".into()));
    assert_eq!(h.s.ui.filter, "carts db");
    assert!(matches!(h.s.ui.input, Some(TextInput::Filter(_))), "the filter stays open");
    h.key(KeyCode::Esc);
    // One line (a fast burst of typed keys arrives so) is kept as typed, its last space too.
    h.key(KeyCode::Char(':'));
    h.send(Event::Paste("inject network-latency sock-shop/carts ".into()));
    h.typed("la");
    let Some(TextInput::Command(t)) = &h.s.ui.input else { panic!("the command line is open") };
    assert_eq!(t.lines(), ["inject network-latency sock-shop/carts la"]);
}

#[test]
fn a_paste_outside_a_text_field_does_nothing_but_say_so() {
    let mut h = Harness::demo();
    live(&mut h);
    for opened in [None, Some('i'), Some('?')] {
        if let Some(c) = opened {
            h.key(KeyCode::Char(c));
        }
        let overlay = format!("{:?}", h.s.ui.overlay);
        let fx = h.send(Event::Paste(format!(" {PASTE} ")));
        assert!(fx.is_empty(), "{fx:?}");
        assert!(status(&h).starts_with("paste ignored: no text field has focus"), "{}", status(&h));
        assert!(matches!(h.s.fault.phase, FaultPhase::Active { .. }), "the fault is untouched");
        assert_eq!(format!("{:?}", h.s.ui.overlay), overlay, "nothing opened or closed");
        assert!(h.s.quit.quitting.is_none());
        h.key(KeyCode::Esc);
    }
}

#[test]
fn pasted_escape_sequences_and_control_characters_never_reach_the_note() {
    let mut h = Harness::demo();
    h.key(KeyCode::Char('n'));
    h.send(Event::Paste("ok\u{1b}]52;c;cGF3bmVk\u{7} \u{1b}[2Jdone\u{0}\u{9b}1m".into()));
    let fx = h.key(KeyCode::Enter);
    assert!(matches!(records(&fx)[..], [EntryKind::Note { text, .. }] if text == "ok done1m"), "{fx:?}");
}

#[test]
fn a_bare_q_with_a_fault_live_asks_first_and_only_y_quits() {
    let mut h = Harness::demo();
    live(&mut h);
    let fx = h.key(KeyCode::Char('q'));
    assert!(fx.is_empty(), "{fx:?}");
    let Overlay::QuitConfirm { question } = &h.s.ui.overlay else { panic!("{:?}", h.s.ui.overlay) };
    assert_eq!(question, "abort fault #1 (network-latency → sock-shop/carts) and quit? y/N");
    // Anything but y stays; q again too.
    for k in ['n', 'q', 'x'] {
        let fx = h.key(KeyCode::Char(k));
        assert!(fx.is_empty(), "{k}: {fx:?}");
        assert!(matches!(h.s.ui.overlay, Overlay::None), "{k}");
        assert!(matches!(h.s.fault.phase, FaultPhase::Active { .. }) && h.s.quit.quitting.is_none(), "{k}");
        h.key(KeyCode::Char('q'));
    }
    let fx = h.key(KeyCode::Char('y'));
    let kinds: Vec<_> = records(&fx).into_iter().cloned().collect();
    assert!(matches!(&kinds[0], EntryKind::FaultEnding { .. }), "{kinds:?}");
    assert_eq!(h.s.quit.quitting.as_ref().map(|q| q.by.as_str()), Some("q"));
    h.run_effects(fx);
    assert!(h.s.quit.exited);
}

#[test]
fn q_closes_popups_like_esc_and_never_quits() {
    let mut h = Harness::demo();
    live(&mut h);
    h.key(KeyCode::Char('i'));
    assert!(matches!(h.s.ui.overlay, Overlay::Picker { .. }));
    assert!(h.key(KeyCode::Char('q')).is_empty());
    assert!(matches!(h.s.ui.overlay, Overlay::None));
    h.key(KeyCode::Char('i'));
    h.pick("config-corrupt"); // its target list
    assert!(matches!(h.s.ui.overlay, Overlay::Targets { .. }));
    h.key(KeyCode::Char('q'));
    assert!(matches!(h.s.ui.overlay, Overlay::None));
    h.key(KeyCode::Char('?'));
    h.key(KeyCode::Char('q'));
    assert!(matches!(h.s.ui.overlay, Overlay::None));
    assert!(h.s.quit.quitting.is_none() && matches!(h.s.fault.phase, FaultPhase::Active { .. }));

    // The confirmation of a second fault (after this one ends): q cancels it.
    let fx = h.key(KeyCode::Char(' '));
    h.run_effects(fx);
    h.key(KeyCode::Down);
    h.key(KeyCode::Enter); // the picker
    h.key(KeyCode::Enter); // the form: a text field, where q is a letter (tests/form.rs)
    h.key(KeyCode::Enter);
    assert!(matches!(h.s.fault.phase, FaultPhase::Armed { .. }), "{:?}", h.s.fault.phase);
    assert!(h.key(KeyCode::Char('q')).is_empty());
    assert_eq!(h.s.fault.phase, FaultPhase::Idle);
    assert!(h.s.quit.quitting.is_none());
    // Back on the form it came from (q is a letter there); Esc leaves it.
    assert!(matches!(h.s.ui.overlay, Overlay::Form(_)), "{:?}", h.s.ui.overlay);
    h.key(KeyCode::Esc);
    // With nothing live, a bare q quits at once.
    let fx = h.key(KeyCode::Char('q'));
    assert!(matches!(fx.last(), Some(Effect::Exit)), "{fx:?}");
}

#[test]
fn ctrl_c_and_colon_quit_do_not_ask() {
    for how in ["ctrl-c", ":quit"] {
        let mut h = Harness::demo();
        live(&mut h);
        let fx = if how == "ctrl-c" { h.ctrl('c') } else { h.command("quit") };
        assert!(h.s.quit.quitting.is_some(), "{how}");
        assert!(matches!(h.s.ui.overlay, Overlay::None), "{how}");
        assert!(fx.iter().any(|e| matches!(e, Effect::Revert { delay_ms: 0, .. })), "{how}: reverts first");
    }
}

#[test]
fn holding_space_sends_one_revert_and_records_the_repeat_once() {
    let mut h = Harness::demo();
    live(&mut h);
    let first = h.key(KeyCode::Char(' '));
    assert_eq!(first.iter().filter(|e| matches!(e, Effect::Revert { .. })).count(), 1);
    // The key repeats while that revert is in flight.
    let mut repeats = Vec::new();
    for _ in 0..200 {
        repeats.extend(h.key(KeyCode::Char(' ')));
    }
    assert!(!repeats.iter().any(|e| matches!(e, Effect::Revert { .. })), "no second revert");
    let noted: Vec<_> = records(&repeats).into_iter().collect();
    assert!(matches!(noted[..], [EntryKind::AbortRepeated { fault: 1, .. }]), "{noted:?}");
    assert!(status(&h).contains("in flight"), "{}", status(&h));
    // The revert answers: confirmed.
    h.run_effects(first);
    assert_eq!(h.s.fault.phase, FaultPhase::Idle);
}

#[test]
fn a_press_after_a_failed_revert_retries_at_once() {
    let mut h = Harness::demo();
    h.sim.fail_next_reverts(1);
    live(&mut h);
    let fx = h.key(KeyCode::Char(' '));
    let fx = h.run_effects(fx);
    // The failure scheduled a retry with backoff; pressing again retries now.
    assert!(fx.iter().any(|e| matches!(e, Effect::Revert { delay_ms, .. } if *delay_ms > 0)), "{fx:?}");
    let fx = h.key(KeyCode::Char(' '));
    assert!(fx.iter().any(|e| matches!(e, Effect::Revert { delay_ms: 0, attempt: 3, .. })), "{fx:?}");
    h.run_effects(fx);
    assert_eq!(h.s.fault.phase, FaultPhase::Idle);
}

#[test]
fn an_unwritable_journal_refuses_new_faults_keeps_abort_and_says_what_is_not_saved() {
    let mut h = Harness::demo();
    live(&mut h);
    let durable = h.s.book.timeline.last().unwrap().seq;
    let error = "/data/sessions/s.jsonl: No space left on device (os error 28)".to_string();
    h.send(Event::Journal { durable_seq: durable, error: Some(error.clone()) });
    assert_eq!(h.s.book.status.as_ref().map(|s| s.level), Some(Level::Error));
    // A note is taken, but not acknowledged as saved.
    h.command("note carts-db is slow");
    assert!(status(&h).contains("NOT saved yet"), "{}", status(&h));
    let note = h.s.book.timeline.iter().rev().find(|e| matches!(e.kind, EntryKind::Note { .. })).unwrap().seq;
    assert!(h.s.journal.unsaved(note));
    // Abort still works.
    let fx = h.key(KeyCode::Char(' '));
    assert!(fx.iter().any(|e| matches!(e, Effect::Revert { delay_ms: 0, .. })));
    h.run_effects(fx);
    assert_eq!(h.s.fault.phase, FaultPhase::Idle);
    // A new fault is refused while the journal cannot say how to undo it.
    let fx = h.command("inject pod-delete sock-shop/carts");
    assert!(
        matches!(records(&fx)[..], [EntryKind::InjectRefused { reason, .. }] if reason.contains("journal cannot be written")),
        "{fx:?}"
    );
    assert!(!fx.iter().any(|e| matches!(e, Effect::Prepare(_))));
    // The journal takes entries again: the refusal is lifted, and that is recorded.
    let last = h.s.book.timeline.last().unwrap().seq;
    let fx = h.send(Event::Journal { durable_seq: last, error: None });
    assert!(matches!(records(&fx)[..], [EntryKind::Console { warning: false, .. }]), "{fx:?}");
    assert!(!h.s.journal.unsaved(note));
    let fx = h.command("inject pod-delete sock-shop/carts");
    assert!(fx.iter().any(|e| matches!(e, Effect::Prepare(_))), "{fx:?}");
}

#[test]
fn a_fault_whose_undo_could_not_be_journaled_is_recorded_as_never_applied() {
    let mut h = Harness::demo();
    let fx = h.command("inject container-pause sock-shop/carts");
    let Some(Effect::Prepare(spec)) = fx.last().cloned() else { panic!() };
    let handle = h.sim.prepare(&spec).unwrap();
    h.send(Event::Prepared { fault: spec.fault_id, result: Ok(handle), fixed_end: None });
    assert!(matches!(h.s.fault.phase, FaultPhase::Applying { .. }));
    let fx = h.send(Event::NotApplied { fault: spec.fault_id, why: "disk full".into() });
    assert!(matches!(records(&fx)[..], [EntryKind::InjectNotApplied { fault: 1, .. }]), "{fx:?}");
    assert!(!fx.iter().any(|e| matches!(e, Effect::Revert { .. })), "nothing to revert: {fx:?}");
    assert_eq!(h.s.fault.phase, FaultPhase::Idle);
    let md = gameday::timeline::report::render(&h.s.book.timeline);
    assert!(!md.contains("still active"), "{md}");
    let left = gameday::timeline::leftovers::unfinished(&h.s.book.timeline, None);
    assert!(left.is_empty(), "never applied, so nothing is left behind: {left:?}");
}

#[test]
fn ctrl_z_is_refused_while_a_fault_is_live_and_suspends_otherwise() {
    let mut h = Harness::demo();
    live(&mut h);
    for fx in [h.ctrl('z'), h.send(Event::Suspend)] {
        assert!(!fx.contains(&Effect::Suspend), "{fx:?}");
        assert!(status(&h).contains("not suspended"), "{}", status(&h));
    }
    let fx = h.key(KeyCode::Char(' '));
    h.run_effects(fx);
    let fx = h.ctrl('z');
    assert!(fx.contains(&Effect::Suspend), "{fx:?}");
}

#[test]
fn a_fault_whose_deadline_passed_while_the_console_was_stopped_is_reverted_at_once() {
    let mut h = Harness::demo();
    live(&mut h);
    h.advance(1_000);
    // Stopped (SIGSTOP) for longer than the fault's duration, then continued: no tick came.
    let deadline = h.s.fault.live().and_then(|f| f.deadline_ms).unwrap();
    let from = h.t;
    h.t += 10 * 60_000;
    let fx = h.send(Event::Continued);
    assert!(fx.iter().any(|e| matches!(e, Effect::Revert { delay_ms: 0, .. })), "{fx:?}");
    // Recorded as such, before the end it made late.
    let kinds = records(&fx);
    let stopped = kinds.iter().position(|k| {
        **k == EntryKind::ConsoleStopped { from_ms: from, for_ms: 600_000, fault: Some(1), due_ms: Some(deadline) }
    });
    let ending = kinds.iter().position(|k| matches!(k, EntryKind::FaultEnding { fault: 1, .. }));
    assert!(stopped.is_some() && stopped < ending, "{kinds:?}");
    h.advance(5_000);
    let md = gameday::timeline::report::render(&h.s.book.timeline);
    let late = seconds(from + 600_000 - deadline);
    let line = format!(
        "- Its duration ended at {} while the console did not run (10 min 00 s from {}): reverted {late} late",
        since(deadline),
        since(from)
    );
    assert!(md.contains(&line), "{line}\n{md}");
    // A stop shorter than the fault's time is said too, with nothing overdue.
    let mut h = Harness::demo();
    live(&mut h);
    h.advance(1_000);
    h.t += 8_000;
    let fx = h.send(Event::Tick);
    assert!(matches!(
        records(&fx)[..],
        [EntryKind::ConsoleStopped { for_ms: 8_000, fault: None, due_ms: None, .. }, ..]
    ));
    assert!(h.s.fault.active().is_some());
}

#[test]
fn export_expands_the_home_and_is_recorded_once_written() {
    let mut h = Harness::demo();
    h.s.session.home = Some("/home/alice".into());
    let fx = h.command("export ~/reports/gameday.md");
    let Some(Effect::WriteReport { path, .. }) = fx.iter().find(|e| matches!(e, Effect::WriteReport { .. })) else {
        panic!("{fx:?}")
    };
    assert_eq!(path, &std::path::PathBuf::from("/home/alice/reports/gameday.md"));
    assert!(records(&fx).is_empty(), "not recorded before it is written: {fx:?}");
    let fx =
        h.send(Event::Exported { path: path.clone(), result: Err("it exists and is not a gameday report".into()) });
    assert!(records(&fx).is_empty());
    assert!(status(&h).contains("report NOT written"), "{}", status(&h));
    let fx = h.send(Event::Exported { path: path.clone(), result: Ok(()) });
    assert!(matches!(records(&fx)[..], [EntryKind::ReportExported { .. }]));
}

#[test]
fn hostile_text_from_the_cluster_is_cleaned_before_it_is_recorded() {
    let mut h = Harness::demo();
    let fx = h.send(Event::Backend(gameday::model::TopologyDelta::ClusterEvent {
        object: "pod/x\u{1b}]0;owned\u{7}".into(),
        message: "Back-off \u{1b}[2J\u{1b}]52;c;cGF3bmVk\u{7}restarting".into(),
        warning: true,
    }));
    let [EntryKind::Cluster { object, message, .. }] = records(&fx)[..] else { panic!("{fx:?}") };
    assert_eq!((object.as_str(), message.as_str()), ("pod/x", "Back-off restarting"));
}

#[test]
fn an_inject_whose_stop_conditions_cannot_be_read_asks_first() {
    let mut h = Harness::demo();
    let config = gameday::config::session_file::SessionConfig::parse(
        "s.toml",
        "[[probe]]\nname = \"front\"\nhttp = \"http://127.0.0.1:9/\"\n[[stop]]\nprobe = \"front\"\ncheck = \"success >= 90%\"\n",
    )
    .unwrap();
    let fx = h.s.configure_steady(config);
    h.run_effects(fx);
    assert_eq!(h.s.steady.blind_stops(h.s.book.t_ms()), ["front success >= 90.0% (front: no reading yet)"]);
    let fx = h.command("inject pod-delete sock-shop/carts");
    assert!(!fx.iter().any(|e| matches!(e, Effect::Prepare(_))), "not injected: {fx:?}");
    assert!(matches!(h.s.fault.phase, FaultPhase::Armed { .. }), "{:?}", h.s.fault.phase);
    assert!(status(&h).starts_with("stop conditions cannot be evaluated: front success"), "{}", status(&h));
}

#[test]
fn a_long_paste_into_the_command_line_runs_on_enter() {
    let mut h = Harness::demo();
    h.key(KeyCode::Char(':'));
    h.send(Event::Paste(format!("note {}", "y".repeat(1500))));
    let fx = h.key(KeyCode::Enter);
    assert!(matches!(records(&fx)[..], [EntryKind::Note { .. }]), "{fx:?}");
}

#[test]
fn a_note_carries_its_author_and_the_fault_live_when_it_was_written() {
    let mut h = Harness::demo();
    live(&mut h);
    let fx = h.command("note the pager fired");
    assert!(matches!(records(&fx)[..], [EntryKind::Note { author, fault: Some(1), .. }] if author == "ana"), "{fx:?}");
    let md = gameday::timeline::report::render(&h.s.book.timeline);
    assert!(md.contains("*observation* by ana during fault #1: the pager fired"), "{md}");
    // A plain session gets a title and who takes part, for the report's header.
    h.command("title Thursday carts drill");
    h.command("who Ana Lima facilitator, Ben operator");
    let md = gameday::timeline::report::render(&h.s.book.timeline);
    assert!(md.contains("| Title | Thursday carts drill |"), "{md}");
    assert!(md.contains("| Facilitator | Ana Lima |"), "{md}");
    assert!(md.contains("| Participants | Ana Lima (facilitator), Ben (operator) |"), "{md}");
}

#[test]
fn the_timeline_scrolls_back_stays_put_as_entries_come_and_is_filtered() {
    let mut h = Harness::demo();
    for i in 0..30 {
        h.command(&format!("note n{i}"));
    }
    assert_eq!(h.s.ui.timeline_at, None, "follows the newest");
    h.key(KeyCode::Tab);
    for _ in 0..5 {
        h.key(KeyCode::Up);
    }
    let at = h.s.ui.timeline_at.expect("scrolled back");
    let shown: Vec<u64> = h.s.timeline_shown().iter().map(|e| e.seq).collect();
    assert_eq!(at, shown[shown.len() - 6]);
    // New entries do not move what is on screen.
    h.command("note later");
    assert_eq!(h.s.ui.timeline_at, Some(at));
    // The arrows moved the timeline, not the tree.
    assert_eq!(h.s.ui.cursor, 0);
    h.key(KeyCode::End);
    assert_eq!(h.s.ui.timeline_at, None);
    // The same / filter searches it.
    h.key(KeyCode::Char('/'));
    h.typed("n1");
    h.key(KeyCode::Enter);
    let texts: Vec<String> = h.s.timeline_shown().iter().map(|e| e.kind.describe()).collect();
    assert!(!texts.is_empty() && texts.iter().all(|t| t.contains("n1")), "{texts:?}");
}

#[test]
fn tab_completes_commands_presets_targets_and_parameter_names() {
    let mut h = Harness::demo();
    let line = |h: &Harness| match &h.s.ui.input {
        Some(TextInput::Command(t)) => t.lines().join(""),
        _ => panic!("the command line is open"),
    };
    h.key(KeyCode::Char(':'));
    h.typed("inj");
    h.key(KeyCode::Tab);
    assert_eq!(line(&h), "inject ");
    h.typed("network-l");
    h.key(KeyCode::Tab);
    assert_eq!(line(&h), "inject network-l", "two presets start so: {:?}", h.s.book.status);
    assert!(status(&h).contains("network-latency") && status(&h).contains("network-loss"), "{}", status(&h));
    h.typed("a");
    h.key(KeyCode::Tab);
    assert_eq!(line(&h), "inject network-latency ");
    h.typed("sock-shop/cart");
    h.key(KeyCode::Tab);
    assert_eq!(line(&h), "inject network-latency sock-shop/carts", "carts and carts-db: {}", status(&h));
    h.typed(" lat");
    h.key(KeyCode::Tab);
    assert_eq!(line(&h), "inject network-latency sock-shop/carts latency_ms=");
    h.typed("90 dur");
    h.key(KeyCode::Tab);
    assert_eq!(line(&h), "inject network-latency sock-shop/carts latency_ms=90 duration=");
    // Only the presets this backend can run are offered.
    let mut h = Harness::with_support(common::support_only(&["pod-delete", "network-latency"]));
    h.key(KeyCode::Char(':'));
    h.typed("inject net");
    h.key(KeyCode::Tab);
    assert_eq!(line(&h), "inject network-latency ", "network-loss cannot run here: {:?}", h.s.book.status);
    h.key(KeyCode::Esc);
    h.key(KeyCode::Char(':'));
    h.typed("inject ");
    h.key(KeyCode::Tab);
    let said = status(&h);
    assert!(said.contains("pod-delete") && said.contains("network-latency") && !said.contains("cpu-stress"), "{said}");
    // The completions go with the command line that showed them.
    h.key(KeyCode::Esc);
    assert!(h.s.book.status.is_none(), "{:?}", h.s.book.status);
}

#[test]
fn up_and_down_browse_the_commands_run_before_and_they_are_kept() {
    let mut h = Harness::demo();
    h.s.ui.history = vec!["note from yesterday".into()];
    let fx = h.command("note one");
    assert!(fx.contains(&Effect::RememberCommand("note one".into())), "{fx:?}");
    h.command("note two");
    h.key(KeyCode::Char(':'));
    h.typed("half");
    let line = |h: &Harness| match &h.s.ui.input {
        Some(TextInput::Command(t)) => t.lines().join(""),
        _ => panic!("the command line is open"),
    };
    h.key(KeyCode::Up);
    assert_eq!(line(&h), "note two");
    h.key(KeyCode::Up);
    h.key(KeyCode::Up);
    assert_eq!(line(&h), "note from yesterday");
    h.key(KeyCode::Up);
    assert_eq!(line(&h), "note from yesterday", "the oldest stays");
    h.key(KeyCode::Down);
    h.key(KeyCode::Down);
    h.key(KeyCode::Down);
    assert_eq!(line(&h), "half", "past the newest, what was being typed");
}
