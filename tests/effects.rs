//! Everything the runtime does is an effect the pure tests can see: the cluster lock taken
//! before the backend is asked anything and given back once the fault is out of the system,
//! the fault's deadline on the lock, the system's own record told (Kubernetes Events), a
//! resumed session's dead console closed, a lost lock and a drill channel's news as events of
//! their own.

mod common;

use common::{at, session, Harness};
use gameday::app::fault::FaultPhase;
use gameday::app::opening::{Earlier, Opening};
use gameday::app::state::PresetEntry;
use gameday::app::{AppState, Effect, Event};
use gameday::model::{Holder, RevertHandle, Support, Target};
use gameday::timeline::{Entry, EntryKind};
use ratatui::crossterm::event::KeyCode;

/// The effects about the lock and the system's record, in order, as words.
fn lock_and_record(fx: &[Effect]) -> Vec<String> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::TakeLock(spec) => Some(format!("take-lock #{}", spec.fault_id)),
            Effect::LockDeadline { fault, deadline_ms } => Some(format!("deadline #{fault} {deadline_ms}")),
            Effect::GiveBackLock { fault } => Some(format!("give-back #{fault}")),
            Effect::Announce { handle, what } => Some(format!("announce #{} {}", handle.fault_id, what.reason)),
            Effect::Prepare(spec) => Some(format!("prepare #{}", spec.fault_id)),
            Effect::Inject { spec, .. } => Some(format!("inject #{}", spec.fault_id)),
            Effect::Revert { handle, .. } => Some(format!("revert #{}", handle.fault_id)),
            _ => None,
        })
        .collect()
}

#[test]
fn the_lock_is_taken_before_the_backend_is_asked_and_given_back_once_the_revert_is_confirmed() {
    let mut h = Harness::demo();
    let fx = h.command("inject network-latency sock-shop/carts");
    assert_eq!(lock_and_record(&fx), ["take-lock #1", "prepare #1"]);
    let all = h.run_effects(fx);
    assert_eq!(
        lock_and_record(&all),
        [
            "take-lock #1",
            "prepare #1",
            "inject #1",
            "announce #1 GamedayFaultInjected",
            // The window (120 s) from the inject: the lock carries it.
            "deadline #1 120000",
        ]
    );
    let fx = h.key(KeyCode::Char(' '));
    let all = h.run_effects(fx);
    assert_eq!(
        lock_and_record(&all),
        ["announce #1 GamedayFaultAborted", "revert #1", "announce #1 GamedayFaultReverted", "give-back #1"]
    );
    // The system's record says who did it, in which session.
    let notes: Vec<String> = all
        .iter()
        .filter_map(|e| match e {
            Effect::Announce { what, .. } => Some(what.note.clone()),
            _ => None,
        })
        .collect();
    assert!(notes[0].starts_with("gameday session 20261122-100000-test fault #1 ("), "{}", notes[0]);
    assert!(notes[0].ends_with("aborted (Space) at ana@laptop-a"), "{}", notes[0]);
    assert!(notes[1].ends_with("reverted by ana@laptop-a"), "{}", notes[1]);
}

#[test]
fn a_confirmed_inject_takes_the_lock_before_it_is_applied() {
    let mut h = Harness::demo();
    h.key(KeyCode::Char('i'));
    h.pick("pod-delete");
    h.key(KeyCode::Enter); // the first target
    h.key(KeyCode::Enter); // the form: on to the confirmation
    h.key(KeyCode::Tab);
    let fx = h.key(KeyCode::Enter);
    assert_eq!(lock_and_record(&fx), ["take-lock #1", "inject #1"], "{fx:?}");
}

#[test]
fn a_fault_never_applied_gives_the_lock_back_and_one_not_confirmed_reverted_keeps_it() {
    let mut h = Harness::demo();
    let fx = h.command("inject pod-delete sock-shop/carts");
    assert!(matches!(h.s.fault.phase, FaultPhase::Preparing { .. }));
    drop(fx);
    // The lock is held by another console: nothing was asked of the backend.
    let fx = h.send(Event::NotApplied { fault: 1, why: "alice@laptop-b holds the cluster".into() });
    assert_eq!(lock_and_record(&fx), ["give-back #1"]);

    // Quitting, with a revert that keeps failing past the deadline: the fault may still be in
    // the system, so the lock stays held (for a watchdog or another console to take over).
    let mut h = Harness::demo();
    let fx = h.command("inject network-latency sock-shop/carts");
    h.run_effects(fx);
    let fx = h.ctrl('c');
    let revert = fx.iter().find_map(|e| match e {
        Effect::Revert { handle, .. } => Some(handle.clone()),
        _ => None,
    });
    assert!(revert.is_some(), "{fx:?}");
    h.t = 31_000;
    let fx = h.send(Event::Reverted { fault: 1, attempt: 1, result: Err("API server unreachable".into()) });
    assert!(!lock_and_record(&fx).iter().any(|e| e.starts_with("give-back")), "{fx:?}");
    assert!(fx.iter().any(|e| matches!(e, Effect::Exit)));
}

#[test]
fn a_lost_lock_and_the_drill_channels_news_are_events_of_their_own() {
    let mut h = Harness::demo();
    let by = Holder {
        who: "bob@laptop-b".into(),
        session: "other".into(),
        fault: 3,
        what: "pod-delete on sock-shop/carts".into(),
        deadline: 0,
        lease_seconds: 15,
        renewed: String::new(),
        stop: None,
        version: String::new(),
        journal: String::new(),
        gone: false,
    };
    h.send(Event::LockLost { by });
    let last = h.s.book.timeline.last().unwrap().kind.describe();
    assert!(
        last.starts_with("cluster lock: this console's hold on the cluster was taken over by bob@laptop-b"),
        "{last}"
    );
    h.send(Event::Channel { message: "publishing failed: 403".into(), warning: true });
    assert_eq!(h.s.book.timeline.last().unwrap().kind.describe(), "drill channel: publishing failed: 403");
    h.send(Event::NotAnnounced { fault: 1, error: "events is forbidden".into() });
    assert_eq!(h.s.book.timeline.last().unwrap().kind.describe(), "fault #1: events is forbidden");
}

fn entry(seq: u64, t_ms: u64, kind: EntryKind) -> Entry {
    Entry { seq, wall: common::start() + chrono::Duration::milliseconds(t_ms as i64), t_ms, kind }
}

/// A session whose console was killed with fault #1 applied.
fn killed() -> Vec<Entry> {
    let handle = RevertHandle { fault_id: 1, summary: "paused shop-web-1".into(), data: serde_json::Value::Null };
    vec![
        entry(
            1,
            0,
            EntryKind::SessionStart { session: session().id, backend: session().backend, version: "old".into() },
        ),
        entry(
            2,
            1000,
            EntryKind::InjectRequested {
                fault: 1,
                preset: "container-pause".into(),
                action: "container-pause".into(),
                target: Target::workload("shop", "web"),
                params: Default::default(),
                mode: None,
                duration_ms: 60_000,
                blast_radius: "pauses shop/web".into(),
                hypothesis: String::new(),
            },
        ),
        entry(3, 1100, EntryKind::InjectStarted { fault: 1, handle: handle.clone() }),
        entry(4, 1200, EntryKind::InjectConfirmed { fault: 1, handle }),
    ]
}

fn open(earlier: Earlier) -> gameday::app::opening::Opened {
    let presets = gameday::config::preset::load_presets(None)
        .unwrap()
        .into_iter()
        .map(|p| PresetEntry { support: Support::Yes, preset: p })
        .collect();
    let themes = gameday::config::theme::load_themes(None).unwrap();
    let theme = themes["default"].clone();
    let opening = Opening { earlier: Some(earlier), ..Default::default() };
    AppState::open(session(), presets, themes, theme, at(90_000), opening)
}

#[test]
fn resuming_a_killed_session_is_recorded_by_the_core_and_its_fault_offered_for_revert() {
    let opened = open(Earlier { entries: killed(), resumed: true, cluster_died: false });
    let s = &opened.state;
    // Its faults are numbered after the earlier ones; its timeline goes on.
    assert_eq!(s.fault.next_id, 2);
    let kinds: Vec<String> = s.book.timeline.iter().skip(4).map(|e| e.kind.describe()).collect();
    // Where the dead console stopped goes on record first (it is about that console), then the
    // resume.
    assert!(kinds[0].starts_with("the console stopped at +00:01 without recording its end"), "{kinds:?}");
    assert_eq!(kinds[1], "session resumed (gameday test)", "{kinds:?}");
    // The journal gets what is recorded: the effects start with it.
    assert!(matches!(&opened.effects[0], Effect::Record(e) if matches!(e.kind, EntryKind::ConsoleLost { .. })));
    assert!(matches!(&opened.effects[1], Effect::Record(e) if matches!(e.kind, EntryKind::SessionResumed { .. })));
    // What may still be in the system is searched for with the other leftovers.
    assert_eq!(opened.own_leftovers.len(), 1);
    assert_eq!(opened.own_leftovers[0].fault_id, 1);

    // On the demo the cluster died with its console: the fault is closed, nothing is left.
    let opened = open(Earlier { entries: killed(), resumed: true, cluster_died: true });
    let closed = opened.state.book.timeline.iter().any(|e| matches!(e.kind, EntryKind::FaultClosed { fault: 1, .. }));
    assert!(closed, "{:?}", opened.state.book.timeline.last());
    assert!(opened.own_leftovers.is_empty());
}

/// Every kind of effect an update asked for, as words (for the abort's proofs below).
fn calls(fx: &[Effect]) -> Vec<String> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Prepare(s) => Some(format!("prepare #{}", s.fault_id)),
            Effect::Preview(s) => Some(format!("preview #{}", s.fault_id)),
            Effect::Inject { spec, .. } => Some(format!("inject #{}", spec.fault_id)),
            Effect::CancelInject { fault, .. } => Some(format!("cancel-inject #{fault}")),
            Effect::Revert { handle, .. } => Some(format!("revert #{}", handle.fault_id)),
            Effect::GiveBackLock { fault } => Some(format!("give-back #{fault}")),
            _ => None,
        })
        .collect()
}

fn recorded(h: &Harness) -> Vec<String> {
    h.s.book
        .timeline
        .iter()
        .filter_map(|e| serde_json::to_value(&e.kind).ok())
        .filter_map(|v| v["kind"].as_str().map(str::to_string))
        .filter(|k| k.starts_with("inject") || k.starts_with("fault") || k.starts_with("revert"))
        .collect()
}

#[test]
fn an_abort_in_every_phase_before_the_backend_call_means_the_call_is_never_made() {
    // Armed (the confirmation shows): cancelled; nothing is ever asked but the read-only preview.
    let mut h = Harness::demo();
    h.key(KeyCode::Char('i'));
    h.pick("pod-delete");
    h.key(KeyCode::Enter);
    h.key(KeyCode::Enter);
    assert!(matches!(h.s.fault.phase, FaultPhase::Armed { .. }));
    let fx = h.key(KeyCode::Char(' '));
    assert_eq!(calls(&fx), Vec::<String>::new());
    assert_eq!(h.s.fault.phase, FaultPhase::Idle);
    assert_eq!(calls(&h.key(KeyCode::Enter)), Vec::<String>::new(), "Enter after the abort injects nothing");

    // Preparing: prepare (read-only) answers after the abort; inject is never asked.
    let mut h = Harness::demo();
    let fx = h.command("inject pod-delete sock-shop/carts");
    let Some(Effect::Prepare(spec)) = fx.into_iter().find(|e| matches!(e, Effect::Prepare(_))) else { panic!() };
    assert_eq!(calls(&h.key(KeyCode::Char(' '))), Vec::<String>::new());
    let handle = h.sim.prepare(&spec).unwrap();
    let fx = h.send(Event::Prepared { fault: 1, result: Ok(handle), fixed_end: None });
    assert_eq!(calls(&fx), ["give-back #1"]);
    assert_eq!(recorded(&h), ["inject_requested", "fault_ending", "inject_cancelled"]);

    // Applying, the undo still being written (or the lock awaited): the inject is cancelled
    // before it is sent; the runtime says it was never applied, and nothing is reverted.
    let mut h = Harness::demo();
    let fx = h.command("inject pod-delete sock-shop/carts");
    let Some(Effect::Prepare(spec)) = fx.into_iter().find(|e| matches!(e, Effect::Prepare(_))) else { panic!() };
    let handle = h.sim.prepare(&spec).unwrap();
    let fx = h.send(Event::Prepared { fault: 1, result: Ok(handle), fixed_end: None });
    assert_eq!(calls(&fx), ["inject #1"]);
    let fx = h.key(KeyCode::Char(' '));
    assert_eq!(calls(&fx), ["cancel-inject #1"]);
    let why = "the abort (Space) came before its inject was sent: nothing was applied";
    let fx = h.send(Event::NotApplied { fault: 1, why: why.into() });
    assert_eq!(calls(&fx), ["give-back #1"]);
    assert_eq!(h.s.fault.phase, FaultPhase::Idle);
    assert_eq!(recorded(&h), ["inject_requested", "inject_started", "fault_ending", "inject_not_applied"]);

    // Applying, the inject already sent: it is reverted the moment it returns.
    let mut h = Harness::demo();
    let fx = h.command("inject pod-delete sock-shop/carts");
    let Some(Effect::Prepare(spec)) = fx.into_iter().find(|e| matches!(e, Effect::Prepare(_))) else { panic!() };
    let handle = h.sim.prepare(&spec).unwrap();
    h.send(Event::Prepared { fault: 1, result: Ok(handle.clone()), fixed_end: None });
    h.key(KeyCode::Char(' '));
    let fx = h.send(Event::Injected { fault: 1, result: Ok(handle) });
    assert_eq!(calls(&fx), ["revert #1"]);

    // Active: reverted at once.
    let mut h = Harness::demo();
    let fx = h.command("inject pod-delete sock-shop/carts");
    h.run_effects(fx);
    assert_eq!(calls(&h.key(KeyCode::Char(' '))), ["revert #1"]);
}

/// A responder who rejoins from another machine goes on from the entries it published, whose
/// numbers have gaps (the rest of its old journal stayed on the other machine): what it records
/// next is numbered after them, so the channel takes it as new.
#[test]
fn a_rejoined_responders_next_entries_are_numbered_after_what_it_published() {
    let joined = EntryKind::DrillJoined { session: "s".into(), responder: "bob".into() };
    let mark = |m| EntryKind::DrillMark {
        responder: "bob".into(),
        their_seq: None,
        mark: m,
        note: String::new(),
        fault: None,
        after_ms: None,
    };
    let published = vec![
        entry(3, 100, joined),
        entry(7, 200, mark(gameday::timeline::Mark::Detected)),
        entry(9, 300, mark(gameday::timeline::Mark::Stop)),
    ];
    let opened = open(Earlier { entries: published, resumed: false, cluster_died: true });
    let seqs: Vec<u64> = opened.state.book.timeline.iter().map(|e| e.seq).collect();
    assert_eq!(seqs[..4], [3, 7, 9, 10], "{seqs:?}");
}
