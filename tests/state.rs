//! Pure state-machine tests: the fault lifecycle, the abort path, one fault at a time,
//! quitting, expiry, write-ahead ordering. No I/O, no async, no real clock.

mod common;

use common::{support_only, Harness};
use gameday::app::fault::preview::{Preview, PREVIEW_FRESH_MS};
use gameday::app::fault::{Button, FaultPhase, LOUD_AFTER_ATTEMPTS, QUIT_DEADLINE_MS};
use gameday::app::keymap::Context;
use gameday::app::state::{Level, Overlay};
use gameday::app::{Effect, Event};
use gameday::model::{FaultSpec, Prepared, TopologyDelta};
use gameday::timeline::{EndReason, EntryKind, NoteTag};
use ratatui::crossterm::event::KeyCode;

/// The fault-lifecycle effects, in order (cluster events, health changes and steady-state
/// checks left out: they come from the simulated cluster and are checked separately, in
/// tests/steady.rs for the latter).
fn kinds(fx: &[Effect]) -> Vec<String> {
    fx.iter()
        // A command typed goes to the history, the cluster lock follows the fault, the system's
        // own record is told: not what these tests are about (tests/effects.rs is).
        .filter(|e| {
            !matches!(
                e,
                Effect::RememberCommand(_)
                    | Effect::TakeLock(_)
                    | Effect::LockDeadline { .. }
                    | Effect::GiveBackLock { .. }
                    | Effect::Announce { .. }
            )
        })
        .filter(|e| {
            !matches!(e, Effect::Record(r) if matches!(r.kind,
                EntryKind::Cluster { .. }
                | EntryKind::HealthChanged { .. }
                | EntryKind::SteadyStateBefore { .. }
                | EntryKind::HypothesisBroken { .. }
                | EntryKind::SteadyStateRecovered { .. }))
        })
        .map(|e| match e {
            Effect::Record(entry) => {
                let v = serde_json::to_value(&entry.kind).unwrap();
                format!("record:{}", v["kind"].as_str().unwrap())
            }
            Effect::Prepare(_) => "prepare".into(),
            Effect::Preview(_) => "preview".into(),
            Effect::Inject { .. } => "inject".into(),
            Effect::CancelInject { fault, .. } => format!("cancel-inject:{fault}"),
            Effect::Revert { delay_ms, .. } => format!("revert+{delay_ms}ms"),
            Effect::WriteReport { .. } => "write-report".into(),
            Effect::Cleanup { index, .. } => format!("cleanup:{index}"),
            Effect::StartProbe(p) => format!("start-probe:{}", p.name),
            Effect::Mirror(spec) => format!("mirror:{}", spec.fault_id),
            Effect::Unmirror(id) => format!("unmirror:{id}"),
            Effect::Suspend => "suspend".into(),
            Effect::RememberCommand(_) => "remember".into(),
            Effect::RequestStop => "request-stop".into(),
            Effect::TakeOver { holder, .. } => format!("take-over:{}#{}", holder.session, holder.fault),
            Effect::TakeLock(spec) => format!("take-lock:{}", spec.fault_id),
            Effect::LockDeadline { fault, deadline_ms } => format!("lock-deadline:{fault}@{deadline_ms}"),
            Effect::GiveBackLock { fault } => format!("give-back-lock:{fault}"),
            Effect::Announce { what, .. } => format!("announce:{}", what.reason),
            Effect::Exit => "exit".into(),
        })
        .collect()
}

/// Whether `want` appears in `all` in order, back to back.
fn has_run(all: &[String], want: &[&str]) -> bool {
    all.windows(want.len()).any(|w| w.iter().zip(want).all(|(a, b)| a == b))
}

fn live(h: &mut Harness) {
    let fx = h.command("inject network-latency sock-shop/carts");
    h.run_effects(fx);
    assert!(matches!(h.s.fault.phase, FaultPhase::Active { .. }), "{:?}", h.s.fault.phase);
}

#[test]
fn inject_journals_how_to_undo_it_before_it_applies_anything() {
    let mut h = Harness::demo();
    let fx = h.command("inject pod-delete sock-shop/carts");
    assert_eq!(kinds(&fx), ["record:inject_requested", "prepare"]);
    assert!(matches!(h.s.fault.phase, FaultPhase::Preparing { .. }));
    let all = h.run_effects(fx);
    assert!(
        has_run(&kinds(&all), &["record:inject_started", "inject", "record:inject_confirmed"]),
        "{:?}",
        kinds(&all)
    );
    // The journaled handle names the pod that is about to be deleted.
    let started = all
        .iter()
        .find_map(|e| match e {
            Effect::Record(r) => match &r.kind {
                EntryKind::InjectStarted { handle, .. } => Some(handle.clone()),
                _ => None,
            },
            _ => None,
        })
        .unwrap();
    let pod = started.data["pods"][0].as_str().unwrap().to_string();
    assert!(pod.starts_with("carts-"), "{pod}");
    let FaultPhase::Active { fault } = &h.s.fault.phase else { panic!("{:?}", h.s.fault.phase) };
    assert_eq!(fault.deadline_ms, Some(60_000));
    assert!(
        fault.plan.blast_radius.starts_with("deletes 1 of 3 pods of sock-shop/carts, chosen at random from: carts-"),
        "{}",
        fault.plan.blast_radius
    );
    assert!(fault.plan.blast_radius.ends_with("; callers that may feel it: front-end, orders"));
    assert_eq!(fault.handle.as_ref().unwrap().summary, format!("deleted {pod}"));
}

#[test]
fn a_failed_apply_is_reverted_all_the_same() {
    let mut h = Harness::demo();
    let fx = h.command("inject container-pause sock-shop/carts");
    let Some(Effect::Prepare(spec)) = fx.last().cloned() else { panic!() };
    let handle = h.sim.prepare(&spec).unwrap();
    let fx = h.send(Event::Prepared { fault: spec.fault_id, result: Ok(handle), fixed_end: None });
    assert_eq!(kinds(&fx), ["record:inject_started", "inject"]);
    assert!(matches!(h.s.fault.phase, FaultPhase::Applying { .. }));
    // The apply fails (an API error halfway): whatever was applied is reverted.
    let fx = h.send(Event::Injected { fault: spec.fault_id, result: Err("500 Internal Server Error".into()) });
    assert_eq!(kinds(&fx), ["record:inject_failed", "record:fault_ending", "record:revert_started", "revert+0ms"]);
    h.run_effects(fx);
    assert_eq!(h.s.fault.phase, FaultPhase::Idle);
    let md = gameday::timeline::report::render(&h.s.book.timeline);
    assert!(md.contains("inject failed (500 Internal Server Error); reverted"), "{md}");
}

#[test]
fn a_second_inject_is_refused_with_a_message_and_a_timeline_entry() {
    let mut h = Harness::demo();
    live(&mut h);
    let fx = h.command("inject pod-kill sock-shop/catalogue");
    assert_eq!(kinds(&fx), ["record:inject_refused"]);
    let status = h.s.book.status.clone().unwrap();
    assert_eq!(status.level, Level::Warning);
    assert!(status.text.contains("one fault at a time"), "{}", status.text);
    assert!(matches!(h.s.fault.phase, FaultPhase::Active { .. }), "the first fault is untouched");
    // The picker path is refused the same way.
    h.key(KeyCode::Char('i'));
    h.pick("config-corrupt"); // -> its target list
    h.key(KeyCode::Enter); // first target
    assert!(h.s.book.timeline.iter().filter(|e| matches!(e.kind, EntryKind::InjectRefused { .. })).count() == 2);
}

#[test]
fn abort_is_accepted_in_every_state() {
    // Idle: nothing to do, says so.
    let mut h = Harness::demo();
    assert!(h.key(KeyCode::Char(' ')).is_empty());
    assert!(h.s.book.status.as_ref().unwrap().text.contains("nothing to abort"));

    // Armed: the confirmation is cancelled.
    h.key(KeyCode::Down); // sock-shop row -> carts workload
    h.key(KeyCode::Enter);
    assert!(matches!(h.s.ui.overlay, Overlay::Picker { .. }));
    h.key(KeyCode::Enter); // config-corrupt on carts: its form
    assert_eq!(h.s.context(), Context::Form);
    h.key(KeyCode::Enter); // its defaults: the confirmation
    assert!(matches!(h.s.fault.phase, FaultPhase::Armed { .. }), "{:?} {:?}", h.s.book.status, h.s.ui.overlay);
    assert_eq!(h.s.context(), Context::Confirm);
    h.key(KeyCode::Char(' '));
    assert_eq!(h.s.fault.phase, FaultPhase::Idle);

    // Preparing: cancelled, and nothing is ever applied.
    let fx = h.command("inject network-loss sock-shop/carts");
    let abort = h.key(KeyCode::Char(' '));
    assert_eq!(kinds(&abort), ["record:fault_ending"]);
    assert!(matches!(&h.s.fault.phase, FaultPhase::Preparing { abort: Some(by), .. } if by == "Space"));
    let all = h.run_effects(fx);
    assert_eq!(kinds(&all), ["record:inject_requested", "prepare", "record:inject_cancelled"]);
    assert_eq!(h.s.fault.phase, FaultPhase::Idle);
    assert!(h.sim.topology().pods().all(|p| p.note.is_none()), "nothing was applied");

    // Applying: an inject not sent yet is cancelled (the runtime answers that it was never
    // applied: tests/effects.rs); one sent already (here, the harness runs it once the abort was
    // pressed) is reverted the moment it returns.
    let fx = h.command("inject network-loss sock-shop/carts");
    let Some(Effect::Prepare(spec)) = fx.last().cloned() else { panic!() };
    let handle = h.sim.prepare(&spec).unwrap();
    let fx = h.send(Event::Prepared { fault: spec.fault_id, result: Ok(handle), fixed_end: None });
    let abort = h.key(KeyCode::Char(' '));
    assert_eq!(kinds(&abort), ["record:fault_ending".to_string(), format!("cancel-inject:{}", spec.fault_id)]);
    assert!(matches!(&h.s.fault.phase, FaultPhase::Applying { abort: Some(by), .. } if by == "Space"));
    let all = h.run_effects(fx);
    assert_eq!(
        kinds(&all),
        [
            "record:inject_started",
            "inject",
            "record:inject_confirmed",
            "record:revert_started",
            "revert+0ms",
            "record:revert_confirmed"
        ]
    );
    assert_eq!(h.s.fault.phase, FaultPhase::Idle);

    // Active: reverted at once, in the same update as the key.
    live(&mut h);
    let fx = h.key(KeyCode::Char(' '));
    assert_eq!(kinds(&fx), ["record:fault_ending", "record:revert_started", "revert+0ms"]);
    assert!(
        matches!(&h.s.fault.phase, FaultPhase::Reverting { reason: EndReason::Aborted { by }, .. } if by == "Space")
    );

    // Reverting, with the revert in flight: the press is recorded once and nothing more is sent
    // (a held key repeats); the revert in flight answers.
    let again = h.key(KeyCode::Char(' '));
    assert_eq!(kinds(&again), ["record:abort_repeated"]);
    h.run_effects(fx);
    assert_eq!(h.s.fault.phase, FaultPhase::Idle);
}

#[test]
fn space_is_typed_in_text_fields_and_the_chord_aborts_there() {
    let mut h = Harness::demo();
    live(&mut h);
    h.key(KeyCode::Char(':'));
    let fx = h.typed("note a b");
    assert!(fx.is_empty(), "typing never triggers anything");
    assert!(matches!(h.s.fault.phase, FaultPhase::Active { .. }));
    let fx = h.ctrl('g');
    assert_eq!(kinds(&fx), ["record:fault_ending", "record:revert_started", "revert+0ms"]);
    assert!(
        matches!(&h.s.fault.phase, FaultPhase::Reverting { reason: EndReason::Aborted { by }, .. } if by == "Ctrl-G")
    );
    // The note editor too.
    let mut h = Harness::demo();
    live(&mut h);
    h.key(KeyCode::Char('n'));
    assert_eq!(h.s.context(), Context::Note);
    h.typed("q i : ");
    assert!(matches!(h.s.fault.phase, FaultPhase::Active { .. }));
    assert!(!h.ctrl('g').is_empty());
    assert!(matches!(h.s.fault.phase, FaultPhase::Reverting { .. }));
    assert!(matches!(h.s.ui.overlay, Overlay::Note(_)), "the note being typed survives the abort");
    h.typed("x");
    h.key(KeyCode::Enter);
    assert_eq!(
        h.s.book.timeline.iter().rev().find_map(|e| match &e.kind {
            EntryKind::Note { text, .. } => Some(text.clone()),
            _ => None,
        }),
        Some("q i : x".to_string())
    );
}

#[test]
fn a_fault_with_a_duration_reverts_itself_when_it_ends() {
    let mut h = Harness::demo();
    live(&mut h); // network-latency: 2m
    let fx = h.advance(119_000);
    assert!(!kinds(&fx).iter().any(|k| k.starts_with("revert")));
    let fx = h.advance(1_000);
    assert!(
        has_run(
            &kinds(&fx),
            &["record:fault_ending", "record:revert_started", "revert+0ms", "record:revert_confirmed"]
        ),
        "{:?}",
        kinds(&fx)
    );
    let ending = h.s.book.timeline.iter().find_map(|e| match &e.kind {
        EntryKind::FaultEnding { reason, .. } => Some(reason.clone()),
        _ => None,
    });
    assert_eq!(ending, Some(EndReason::Expired));
    assert_eq!(h.s.fault.phase, FaultPhase::Idle);
}

#[test]
fn quitting_with_a_live_fault_reverts_before_exit() {
    let mut h = Harness::demo();
    live(&mut h);
    // A bare q asks first (a stray key never ends a Gameday); y quits.
    assert!(h.key(KeyCode::Char('q')).is_empty());
    let fx = h.key(KeyCode::Char('y'));
    assert!(!kinds(&fx).contains(&"exit".to_string()), "no exit before the revert is confirmed");
    assert!(kinds(&fx).contains(&"revert+0ms".to_string()));
    let all = h.run_effects(fx);
    assert!(kinds(&all).ends_with(&["record:revert_confirmed".into(), "record:session_end".into(), "exit".into()]));
    assert!(h.s.quit.exited);
    // Without a fault, q leaves at once; signals behave like q.
    let mut h = Harness::demo();
    assert_eq!(kinds(&h.send(Event::Signal("SIGTERM".into()))), ["record:session_end", "exit"]);
    let mut h = Harness::demo();
    live(&mut h);
    let fx = h.send(Event::Signal("SIGHUP".into()));
    let all = h.run_effects(fx);
    assert!(kinds(&all).ends_with(&["record:session_end".into(), "exit".into()]));
    assert!(h.s.book.timeline.iter().any(|e| e.kind == EntryKind::SessionEnd { reason: "quit (SIGHUP)".into() }));
}

#[test]
fn failed_reverts_are_retried_with_backoff_and_get_loud() {
    let mut h = Harness::demo();
    live(&mut h);
    h.sim.fail_next_reverts(LOUD_AFTER_ATTEMPTS + 1);
    let fx = h.key(KeyCode::Char(' '));
    let mut all = h.run_effects(fx);
    assert!(matches!(h.s.fault.phase, FaultPhase::Reverting { attempt: 2, .. }), "the retry waits for its backoff");
    all.extend(h.advance(10_000));
    let delays: Vec<u64> = all
        .iter()
        .filter_map(|e| if let Effect::Revert { delay_ms, .. } = e { Some(*delay_ms) } else { None })
        .collect();
    assert_eq!(delays, [0, 250, 500, 1000, 2000]);
    assert_eq!(h.s.fault.phase, FaultPhase::Idle, "confirmed at the 5th attempt");
    let failed =
        h.s.book.timeline.iter().filter(|e| matches!(e.kind, EntryKind::RevertFailed { retrying: true, .. })).count();
    assert_eq!(failed as u32, LOUD_AFTER_ATTEMPTS + 1);
}

#[test]
fn quitting_gives_up_after_its_deadline_and_says_the_fault_may_remain() {
    let mut h = Harness::demo();
    live(&mut h);
    h.sim.fail_next_reverts(u32::MAX);
    let fx = h.ctrl('c');
    h.run_effects(fx);
    assert!(matches!(h.s.fault.phase, FaultPhase::Reverting { .. }));
    assert!(!h.s.quit.exited);
    let fx = h.advance(QUIT_DEADLINE_MS);
    assert!(kinds(&fx).ends_with(&["record:session_end".into(), "exit".into()]), "{:?}", kinds(&fx));
    let end = h.s.book.timeline.last().unwrap();
    assert!(end.kind.describe().contains("NOT confirmed"), "{}", end.kind.describe());
}

#[test]
fn unknown_presets_targets_and_parameters_get_clear_messages() {
    let mut h = Harness::demo();
    let cases = [
        ("inject pod-delet sock-shop/carts", "unknown preset 'pod-delet' (did you mean pod-delete?"),
        (
            "inject pod-delete sock-shop/cartz",
            "no workload sock-shop/cartz in the cluster (did you mean sock-shop/carts?)",
        ),
        ("inject pod-delete carts", "no pod named carts (did you mean the workload sock-shop/carts?)"),
        ("inject pod-delete a/b/c", "is not a target: write <namespace>/<workload>"),
        (
            "inject node-drain sock-shop/carts",
            "node-drain cannot run on sock-shop/carts: targets nodes, not a workload",
        ),
        ("inject pod-delete sock-shop/carts grace_seconds=1000", "grace_seconds = 1000 is above its maximum 300"),
        ("inject pod-delete sock-shop/carts colour=red", "pod-delete has no parameter 'colour'"),
        ("inject pod-delete sock-shop/carts duration=5h", "duration must be above 0 and at most 30m"),
        ("frobnicate", "unknown command 'frobnicate'"),
        ("theme neon", "unknown theme 'neon' (available: default, high-contrast, light)"),
    ];
    for (cmd, want) in cases {
        let fx = h.command(cmd);
        assert!(kinds(&fx).is_empty(), "{cmd}: nothing recorded or run");
        let st = h.s.book.status.clone().unwrap();
        assert_eq!(st.level, Level::Error, "{cmd}");
        assert!(st.text.contains(want), "{cmd}: {}", st.text);
    }
    assert_eq!(h.s.fault.phase, FaultPhase::Idle);
}

#[test]
fn parameters_and_duration_can_be_set_on_the_command_line() {
    let mut h = Harness::demo();
    let fx = h.command("inject network-latency sock-shop/carts latency_ms=90 duration=30s");
    let Some(Effect::Prepare(spec)) = fx.iter().find(|e| matches!(e, Effect::Prepare(_))) else { panic!() };
    assert_eq!(spec.duration_ms, 30_000);
    assert_eq!(spec.int("latency_ms"), Some(90));
}

#[test]
fn modes_selectors_and_single_pods_choose_what_is_hit() {
    let picked = |h: &mut Harness, cmd: &str| -> Vec<String> {
        let fx = h.command(cmd);
        assert!(matches!(h.s.fault.phase, FaultPhase::Preparing { .. }), "{cmd}: {:?}", h.s.book.status);
        let all = h.run_effects(fx);
        let pods = all
            .iter()
            .find_map(|e| match e {
                Effect::Record(r) => match &r.kind {
                    EntryKind::InjectStarted { handle, .. } => Some(handle.data["pods"].clone()),
                    _ => None,
                },
                _ => None,
            })
            .unwrap();
        let done = h.key(KeyCode::Char(' '));
        h.run_effects(done);
        pods.as_array().unwrap().iter().map(|p| p.as_str().unwrap().to_string()).collect()
    };
    let mut h = Harness::demo();
    assert_eq!(picked(&mut h, "inject pod-delete sock-shop/carts mode=2").len(), 2);
    let mut fresh = Harness::demo();
    assert_eq!(picked(&mut fresh, "inject container-pause sock-shop/carts mode=50%").len(), 2);
    let db = picked(&mut h, "inject container-pause label:name=carts-db");
    assert_eq!(db.len(), 1);
    assert!(db[0].starts_with("carts-db-"));
    let one = picked(&mut h, &format!("inject pod-kill pod/{}", db[0]));
    assert_eq!(one, db, "pod/<name> finds the pod in its namespace");
    assert_eq!(picked(&mut h, "inject network-loss re2:^(user|payment)-[a-z0-9]{10}-").len(), 4);
}

#[test]
fn selectors_and_modes_that_cannot_work_say_why() {
    let mut h = Harness::demo();
    for (cmd, want) in [
        ("inject pod-kill container/nope", "no pod named nope"),
        ("inject container-pause label:name=nothing", "label:name=nothing selects no pod"),
        ("inject scale-to-zero sock-shop/carts mode=2", "scale-to-zero acts on a whole workloads, it has no mode"),
        ("inject pod-delete sock-shop/carts mode=some", "mode 'some' is not one, all"),
        ("inject scale-to-zero label:name=carts", "scale-to-zero cannot run on label:name=carts: targets workloads"),
        ("inject pod-delete re2:(", "'(' is not a regular expression"),
    ] {
        assert!(kinds(&h.command(cmd)).is_empty(), "{cmd}");
        let st = h.s.book.status.clone().unwrap();
        assert!(st.text.contains(want), "{cmd}: {}", st.text);
    }
}

#[test]
fn the_confirmation_preselects_cancel() {
    let mut h = Harness::demo();
    h.key(KeyCode::Down);
    h.key(KeyCode::Enter);
    // Move to pod-delete in the picker; its form; its defaults.
    h.pick("pod-delete");
    h.key(KeyCode::Enter);
    let FaultPhase::Armed { plan, .. } = &h.s.fault.phase else { panic!("{:?}", h.s.fault.phase) };
    assert_eq!(plan.target.to_string(), "sock-shop/carts");
    // Enter right away presses Cancel: nothing is injected.
    assert!(h.key(KeyCode::Enter).is_empty());
    assert_eq!(h.s.fault.phase, FaultPhase::Idle);
    // Again, with Tab to Inject: what prepare found is journaled, then applied.
    h.key(KeyCode::Enter);
    h.key(KeyCode::Enter);
    h.key(KeyCode::Enter);
    h.key(KeyCode::Tab);
    let fx = h.key(KeyCode::Enter);
    assert_eq!(kinds(&fx), ["record:inject_requested", "record:inject_started", "inject"]);
}

/// Opens the confirmation of pod-kill on carts; the preview is left to the test.
fn armed(h: &mut Harness) -> FaultSpec {
    h.instant_previews = false;
    h.key(KeyCode::Down);
    h.key(KeyCode::Enter);
    h.pick("pod-kill");
    let fx = h.key(KeyCode::Enter); // its parameter form, with its defaults
    let previews: Vec<FaultSpec> = fx
        .iter()
        .filter_map(|e| match e {
            Effect::Preview(spec) => Some(spec.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(kinds(&fx), ["preview"], "arming asks prepare and nothing else");
    assert!(
        matches!(&h.s.fault.phase, FaultPhase::Armed { preview: Preview::Reading { id: 1 }, .. }),
        "{:?}",
        h.s.fault.phase
    );
    previews[0].clone()
}

fn answer(h: &mut Harness, spec: &FaultSpec, result: Result<Prepared, String>) -> Vec<Effect> {
    h.send(Event::Previewed { spec: Box::new(spec.clone()), result })
}

fn prepared(h: &mut Harness, spec: &FaultSpec) -> Prepared {
    let handle = h.sim.prepare(spec).unwrap();
    Prepared { handle, found: vec!["carts runs on worker-3".into()], ends_by_itself: None, fixed_end: None }
}

#[test]
fn the_confirmation_shows_what_prepare_found_and_injects_exactly_that() {
    let mut h = Harness::demo();
    let spec = armed(&mut h);
    assert_eq!((spec.preset.as_str(), spec.fault_id), ("pod-kill", 1));
    // Inject before prepare answered: nothing happens, and the console says why.
    h.key(KeyCode::Tab);
    assert!(h.key(KeyCode::Enter).is_empty());
    assert!(h.s.book.status.as_ref().unwrap().text.contains("still reading"), "{:?}", h.s.book.status);
    assert!(matches!(h.s.fault.phase, FaultPhase::Armed { preview: Preview::Reading { .. }, .. }));
    // The answer for another question (another plan) is not this confirmation's.
    let mut other = spec.clone();
    other.preset = "pod-delete".into();
    let p = prepared(&mut h, &other);
    assert!(answer(&mut h, &other, Ok(p)).is_empty());
    assert!(matches!(h.s.fault.phase, FaultPhase::Armed { preview: Preview::Reading { .. }, .. }));
    // Its own answer shows; Inject journals the handle prepare gave, then applies it.
    let p = prepared(&mut h, &spec);
    assert!(answer(&mut h, &spec, Ok(p.clone())).is_empty(), "nothing is applied by a preview");
    assert!(
        matches!(&h.s.fault.phase, FaultPhase::Armed { preview: Preview::Found { prepared, .. }, .. } if *prepared == p)
    );
    let fx = h.key(KeyCode::Enter);
    assert_eq!(kinds(&fx), ["record:inject_requested", "record:inject_started", "inject"]);
    let journaled = fx.iter().find_map(|e| match e {
        Effect::Record(r) => match &r.kind {
            EntryKind::InjectStarted { handle, .. } => Some(handle.clone()),
            _ => None,
        },
        _ => None,
    });
    let applied = fx.iter().find_map(|e| match e {
        Effect::Inject { handle, .. } => Some(handle.clone()),
        _ => None,
    });
    assert_eq!(journaled.as_ref(), Some(&p.handle), "the previewed handle is what the journal holds");
    assert_eq!(applied.as_ref(), Some(&p.handle), "and exactly what is applied (the pods shown)");
    assert!(matches!(h.s.fault.phase, FaultPhase::Applying { .. }));
    h.run_effects(fx);
    assert!(matches!(h.s.fault.phase, FaultPhase::Active { .. }), "{:?}", h.s.fault.phase);
}

#[test]
fn a_fault_prepare_refuses_is_refused_in_its_confirmation_and_never_requested() {
    let mut h = Harness::demo();
    let spec = armed(&mut h);
    answer(&mut h, &spec, Err("ConfigMap sock-shop/carts-config has no key DB_HOST".into()));
    assert!(
        matches!(&h.s.fault.phase, FaultPhase::Armed { preview: Preview::Refused { why }, .. } if why.contains("no key DB_HOST"))
    );
    h.key(KeyCode::Tab);
    let fx = h.key(KeyCode::Enter);
    assert_eq!(kinds(&fx), ["record:inject_refused"]);
    assert_eq!(h.s.fault.phase, FaultPhase::Idle);
    assert!(!h.s.book.timeline.iter().any(|e| matches!(e.kind, EntryKind::InjectRequested { .. })));
    assert_eq!(h.s.fault.next_id, 1, "no fault number was used");
}

#[test]
fn a_preview_too_old_is_read_again_before_anything_is_applied() {
    let mut h = Harness::demo();
    let spec = armed(&mut h);
    let p = prepared(&mut h, &spec);
    answer(&mut h, &spec, Ok(p));
    h.advance(PREVIEW_FRESH_MS + 1000);
    h.key(KeyCode::Tab);
    let fx = h.key(KeyCode::Enter);
    assert_eq!(kinds(&fx), ["preview"], "read again, nothing requested");
    assert!(h.s.book.status.as_ref().unwrap().text.contains("reading it again"), "{:?}", h.s.book.status);
    let FaultPhase::Armed { button, preview: Preview::Reading { .. }, .. } = &h.s.fault.phase else {
        panic!("{:?}", h.s.fault.phase)
    };
    assert_eq!(*button, Button::Cancel, "Cancel is preselected again");
    // The fresh answer can be confirmed.
    let p = prepared(&mut h, &spec);
    answer(&mut h, &spec, Ok(p));
    h.key(KeyCode::Tab);
    assert_eq!(kinds(&h.key(KeyCode::Enter)), ["record:inject_requested", "record:inject_started", "inject"]);
}

#[test]
fn abort_cancels_a_confirmation_whatever_its_preview_and_a_late_answer_changes_nothing() {
    let mut h = Harness::demo();
    // Reading.
    let spec = armed(&mut h);
    h.key(KeyCode::Char(' '));
    assert_eq!(h.s.fault.phase, FaultPhase::Idle);
    let p = prepared(&mut h, &spec);
    assert!(answer(&mut h, &spec, Ok(p)).is_empty());
    assert_eq!(h.s.fault.phase, FaultPhase::Idle, "a late answer opens nothing");
    // Found.
    let spec = armed(&mut h);
    let p = prepared(&mut h, &spec);
    answer(&mut h, &spec, Ok(p));
    h.key(KeyCode::Char(' '));
    assert_eq!(h.s.fault.phase, FaultPhase::Idle);
    // Refused.
    let spec = armed(&mut h);
    answer(&mut h, &spec, Err("no".into()));
    h.key(KeyCode::Char(' '));
    assert_eq!(h.s.fault.phase, FaultPhase::Idle);
    assert!(
        !h.s.book.timeline.iter().any(|e| matches!(e.kind, EntryKind::InjectRequested { .. })),
        "nothing requested"
    );
}

#[test]
fn the_target_list_filters_and_chooses() {
    let mut h = Harness::demo();
    h.key(KeyCode::Char('i'));
    h.pick("node-drain");
    assert!(matches!(&h.s.ui.overlay, Overlay::Targets { preset, .. } if preset == "node-drain"));
    h.key(KeyCode::Char('/'));
    h.typed("2");
    h.key(KeyCode::Enter);
    assert_eq!(h.s.target_choices("node-drain").iter().map(|t| t.to_string()).collect::<Vec<_>>(), ["node/worker-2"]);
    h.key(KeyCode::Enter);
    h.key(KeyCode::Enter); // the form, with its defaults
    let FaultPhase::Armed { plan, .. } = &h.s.fault.phase else { panic!("{:?}", h.s.fault.phase) };
    assert!(plan.blast_radius.starts_with("cordons node worker-2 and evicts its 7 pods"), "{}", plan.blast_radius);
}

#[test]
fn presets_the_backend_cannot_run_are_disabled_with_the_reason() {
    let mut h = Harness::with_support(support_only(&["pod-delete"]));
    h.key(KeyCode::Char('i'));
    let order: Vec<String> = h.s.picker_order(None).iter().map(|p| p.preset.id.clone()).collect();
    assert_eq!(order[0], "pod-delete", "what can run comes first: {order:?}");
    h.pick("config-corrupt");
    let st = h.s.book.status.clone().unwrap();
    assert!(
        st.text.contains("config-corrupt is not available: this backend cannot run 'config-corrupt'"),
        "{}",
        st.text
    );
    assert!(matches!(h.s.ui.overlay, Overlay::Picker { .. }));
    h.command("inject cpu-stress sock-shop/carts");
    assert!(h.s.book.status.clone().unwrap().text.contains("cannot run 'cpu-stress'"));
}

#[test]
fn action_items_carry_an_owner_and_a_due_date_and_alerts_are_ticked_against_their_fault() {
    let mut h = Harness::demo();
    let last = |h: &Harness| h.s.book.timeline.last().unwrap().kind.clone();
    let fx = h.command("action @ben due:2026-12-14 alert on carts' p95");
    assert_eq!(kinds(&fx), ["record:note"]);
    assert_eq!(
        last(&h),
        EntryKind::Note {
            text: "alert on carts' p95".into(),
            tag: NoteTag::ActionItem,
            author: "ana".into(),
            fault: None,
            owner: "ben".into(),
            due: Some("2026-12-14".into()),
        }
    );
    // The same words in the note editor, tagged as an action item (Tab).
    h.key(KeyCode::Char('n'));
    h.typed("@cy due:2027-01-04 retry budget for orders");
    h.key(KeyCode::Tab);
    h.key(KeyCode::Enter);
    assert!(matches!(last(&h), EntryKind::Note { owner, due: Some(d), text, .. }
        if owner == "cy" && d == "2027-01-04" && text == "retry budget for orders"));
    // A prefix typed in the editor says the tag as on :note, and leaves the words: the
    // owner and due date after it are read.
    h.key(KeyCode::Char('n'));
    h.typed("action: @dee due:2027-02-01 page on carts' p95");
    h.key(KeyCode::Enter);
    assert!(matches!(last(&h), EntryKind::Note { tag: NoteTag::ActionItem, owner, due: Some(d), text, .. }
        if owner == "dee" && d == "2027-02-01" && text == "page on carts' p95"));
    // A date that is none: kept in the words, and said.
    h.key(KeyCode::Char('n'));
    h.typed("@cy due:friday retry budget");
    h.key(KeyCode::Tab);
    h.key(KeyCode::Enter);
    assert!(matches!(last(&h), EntryKind::Note { owner, due: None, text, .. }
        if owner.is_empty() && text == "@cy due:friday retry budget"));
    let said = h.s.book.status.clone().unwrap().text;
    assert!(said.contains("due:friday is not a date"), "{said}");
    // A bad :action is refused with its usage; nothing is recorded.
    let n = h.s.book.timeline.len();
    h.command("action @ben due:2026-02-30 x");
    assert_eq!(h.s.book.timeline.len(), n);
    assert!(h.s.book.status.clone().unwrap().text.contains("due:2026-02-30 is not a date"));

    // An alert ticked while a fault is live is that fault's; after it ended, still the last one's.
    let fx = h.command("alert CartsHighLatency silent");
    assert_eq!(kinds(&fx), ["record:alert_ticked"]);
    assert!(matches!(last(&h), EntryKind::AlertTicked { fault: None, fired: false, .. }));
    let fx = h.command("inject container-pause sock-shop/carts-db");
    h.run_effects(fx);
    h.advance(5_000);
    h.command("alert CartsHighLatency fired paged the on-call");
    assert_eq!(
        last(&h),
        EntryKind::AlertTicked {
            name: "CartsHighLatency".into(),
            fired: true,
            note: "paged the on-call".into(),
            author: "ana".into(),
            fault: Some(1),
        }
    );
    let fx = h.key(KeyCode::Char(' '));
    h.run_effects(fx);
    h.advance(5_000);
    h.command("alert OrdersErrors silent");
    assert!(matches!(last(&h), EntryKind::AlertTicked { fault: Some(1), .. }));
}

#[test]
fn notes_and_health_changes_land_in_the_timeline() {
    let mut h = Harness::demo();
    h.key(KeyCode::Char('n'));
    h.typed("pager fired");
    h.send(Event::Key(ratatui::crossterm::event::KeyEvent::new(
        KeyCode::Enter,
        ratatui::crossterm::event::KeyModifiers::ALT,
    )));
    h.typed("for carts");
    let fx = h.key(KeyCode::Enter);
    assert_eq!(kinds(&fx), ["record:note"]);
    assert_eq!(
        h.s.book.timeline.last().unwrap().kind,
        EntryKind::Note {
            text: "pager fired\nfor carts".into(),
            tag: NoteTag::Observation,
            author: "ana".into(),
            fault: None,
            owner: String::new(),
            due: None,
        }
    );
    h.command("note action: add a retry budget to carts");
    assert_eq!(
        h.s.book.timeline.last().unwrap().kind,
        EntryKind::Note {
            text: "add a retry budget to carts".into(),
            tag: NoteTag::ActionItem,
            author: "ana".into(),
            fault: None,
            owner: String::new(),
            due: None,
        }
    );
    // Tab tags a note in the editor: observation > action item > question.
    h.key(KeyCode::Char('n'));
    h.typed("who owns carts?");
    h.key(KeyCode::Tab);
    h.key(KeyCode::Tab);
    h.key(KeyCode::Enter);
    assert_eq!(
        h.s.book.timeline.last().unwrap().kind,
        EntryKind::Note {
            text: "who owns carts?".into(),
            tag: NoteTag::Question,
            author: "ana".into(),
            fault: None,
            owner: String::new(),
            due: None
        }
    );

    let fx = h.command("inject container-pause sock-shop/carts-db");
    h.run_effects(fx);
    h.advance(2000);
    let changed: Vec<String> =
        h.s.book
            .timeline
            .iter()
            .filter_map(|e| match &e.kind {
                EntryKind::HealthChanged { service, to, .. } => Some(format!("{service}:{to}")),
                _ => None,
            })
            .collect();
    assert!(changed.contains(&"sock-shop/carts:down".to_string()), "{changed:?}");
    assert!(changed.contains(&"sock-shop/front-end:degraded".to_string()), "{changed:?}");
}

#[test]
fn export_writes_the_report_then_records_it() {
    let mut h = Harness::demo();
    let fx = h.command("export /tmp/x/report.md");
    // Recorded once it is written (the runtime may refuse the path).
    assert_eq!(kinds(&fx), ["write-report"]);
    let Some(Effect::WriteReport { path, markdown }) = fx.last() else { panic!() };
    assert_eq!(path.to_str(), Some("/tmp/x/report.md"));
    assert!(markdown.starts_with("# Gameday report: sock-shop (simulated, 3 nodes) (demo)"));
    let fx = h.command("export");
    let Some(Effect::WriteReport { path, .. }) = fx.last() else { panic!() };
    assert_eq!(path.to_str(), Some("/tmp/gameday-test/session.md"));
}

#[test]
fn readiness_connection_and_capabilities_from_a_backend_without_traffic() {
    use gameday::model::Workload;
    use gameday::model::{Support, TopologyDelta};
    let mut h = Harness::demo();
    h.send(Event::Backend(TopologyDelta::Snapshot(common::compose_topology())));
    assert!(!h.s.picture.health.contains_key("sock-shop/carts"), "services of the old picture are gone");
    assert_eq!(h.s.picture.health["shop/web"].state(), gameday::timeline::Health::Healthy);
    let web = |ready| Workload {
        namespace: "shop".into(),
        name: "web".into(),
        kind: "compose service".into(),
        desired: 2,
        ready,
        note: None,
    };
    h.send(Event::Backend(TopologyDelta::UpsertWorkload(web(0))));
    let last = h.s.book.timeline.last().unwrap().kind.describe();
    assert_eq!(last, "shop/web healthy > down (ready 0/2)");

    h.send(Event::Backend(TopologyDelta::Connection { connected: false, detail: "connection refused".into() }));
    assert!(h.s.book.timeline.last().unwrap().kind.describe().contains("connection: LOST: connection refused"));
    h.send(Event::Backend(TopologyDelta::Connection { connected: false, detail: "connection refused".into() }));
    let n = h.s.book.timeline.len();
    h.send(Event::Backend(TopologyDelta::Connection { connected: true, detail: "engine 20.10".into() }));
    assert_eq!(h.s.book.timeline.len(), n + 1, "one line per change");
    assert!(h.s.book.timeline.last().unwrap().kind.describe().contains("connection: connected (engine 20.10)"));

    let why = "this host's kernel has no netem qdisc".to_string();
    h.send(Event::Backend(TopologyDelta::Capability {
        action: "network-latency".into(),
        support: Support::No(why.clone()),
    }));
    h.command("inject network-latency shop/web");
    assert!(h.s.book.status.clone().unwrap().text.contains(&why), "{:?}", h.s.book.status);
}

#[test]
fn faults_left_by_an_earlier_session_are_reverted_before_anything_new() {
    use gameday::app::cleanup::CleanupStatus;
    let mut h = Harness::demo();
    let fx = h.send(Event::Leftovers { found: common::two_leftovers(), skipped: Vec::new() });
    assert_eq!(fx.len(), 2, "each finding is recorded");
    assert!(matches!(h.s.ui.overlay, Overlay::Leftovers { revert: true }), "Revert all is preselected");
    assert_eq!(h.s.context(), Context::Leftovers);
    h.key(KeyCode::Esc);
    // New injects wait until they are dealt with.
    assert_eq!(kinds(&h.command("inject pod-kill sock-shop/carts")), ["record:inject_refused"]);
    assert!(h.s.book.status.clone().unwrap().text.contains("2 fault(s) left by earlier sessions are not reverted yet"));
    // Space reverts them, like any live fault.
    let fx = h.key(KeyCode::Char(' '));
    let cleanups: Vec<(usize, u32)> = fx
        .iter()
        .filter_map(|e| if let Effect::Cleanup { index, attempt, .. } = e { Some((*index, *attempt)) } else { None })
        .collect();
    assert_eq!(cleanups, [(0, 1), (1, 1)]);
    h.send(Event::CleanedUp { index: 0, attempt: 1, result: Ok(()) });
    let fx = h.send(Event::CleanedUp { index: 1, attempt: 1, result: Err("503".into()) });
    assert!(
        fx.iter().any(|e| matches!(e, Effect::Cleanup { index: 1, attempt: 2, delay_ms: 250, .. })),
        "retried with backoff"
    );
    assert_eq!(h.s.cleanup.items[0].status, CleanupStatus::Reverted);
    h.send(Event::CleanedUp { index: 1, attempt: 1, result: Ok(()) });
    assert_eq!(h.s.cleanup.items[1].status, CleanupStatus::Reverting { attempt: 2 }, "a stale answer is ignored");
    h.send(Event::CleanedUp { index: 1, attempt: 2, result: Ok(()) });
    assert_eq!(h.s.cleanup.items[1].status, CleanupStatus::Reverted);
    assert_eq!(kinds(&h.command("inject pod-kill sock-shop/carts")), ["record:inject_requested", "prepare"]);
    let described: Vec<String> = h.s.book.timeline.iter().map(|e| e.kind.describe()).collect();
    assert!(
        described.iter().any(|d| d == "reverted fault #2 of session 20261120-090000-dead (confirmed, attempt 2)"),
        "{described:?}"
    );
}

#[test]
fn leaving_earlier_faults_in_place_is_a_recorded_choice() {
    use gameday::app::cleanup::CleanupStatus;
    let mut h = Harness::demo();
    h.send(Event::Leftovers { found: common::two_leftovers(), skipped: Vec::new() });
    h.send(Event::Leftovers { found: common::two_leftovers(), skipped: Vec::new() });
    assert_eq!(h.s.cleanup.items.len(), 2, "found twice, listed once");
    h.key(KeyCode::Tab);
    h.key(KeyCode::Enter);
    assert!(h.s.cleanup.items.iter().all(|l| l.status == CleanupStatus::Kept));
    assert!(h.s.book.timeline.iter().any(|e| e.kind.describe().contains("left in place by choice")));
    assert_eq!(kinds(&h.command("inject pod-kill sock-shop/carts"))[0], "record:inject_requested");
    // The abort key still takes them out.
    let fx = h.key(KeyCode::Char(' '));
    assert_eq!(fx.iter().filter(|e| matches!(e, Effect::Cleanup { .. })).count(), 2);
}

#[test]
fn a_fault_its_engine_runs_to_its_end_waits_for_the_verdict_and_ends_with_it() {
    let mut h = Harness::demo();
    live(&mut h);
    let session = h.s.session.id.clone();
    let deadline = |h: &Harness| match &h.s.fault.phase {
        FaultPhase::Active { fault } => fault.deadline_ms.unwrap(),
        other => panic!("{other:?}"),
    };
    let first = deadline(&h);
    // News of another session's fault is not about ours.
    let runs_on = |session: &str, fault: u64, within_ms: u64| {
        Event::Backend(TopologyDelta::FaultRunsOn {
            session: session.into(),
            fault,
            within_ms,
            why: "Litmus runs pod-delete for 120 s from when its runner starts, then gives its verdict".into(),
        })
    };
    assert!(h.send(runs_on("20260101-000000-else", 1, 10_000_000)).is_empty());
    assert_eq!(deadline(&h), first);
    // Ours: given until then, and said.
    let fx = h.send(runs_on(&session, 1, first - h.t + 60_000));
    assert_eq!(kinds(&fx), ["record:console"]);
    assert_eq!(deadline(&h), first + 60_000);
    h.advance(first - h.t + 5_000);
    assert!(
        matches!(h.s.fault.phase, FaultPhase::Active { .. }),
        "not stopped at its own duration: {:?}",
        h.s.fault.phase
    );
    // The verdict ends it; what is left is tidied up through the revert.
    let finished = Event::Backend(TopologyDelta::FaultFinished {
        session: session.clone(),
        fault: 1,
        how: "Litmus pod-delete verdict Pass".into(),
    });
    let fx = h.send(finished);
    assert_eq!(kinds(&fx), ["record:fault_ending", "record:revert_started", "revert+0ms"]);
    h.run_effects(fx);
    assert_eq!(h.s.fault.phase, FaultPhase::Idle);
    let md = gameday::timeline::report::render(&h.s.book.timeline);
    assert!(md.contains("finished by itself: Litmus pod-delete verdict Pass"), "{md}");
    assert!(
        h.s.book.timeline.iter().any(|e| matches!(&e.kind,
        EntryKind::FaultEnding { reason: EndReason::Finished { how }, .. } if how == "Litmus pod-delete verdict Pass"))
    );

    // One that never finishes is stopped when its time is up; an abort stops it at any time.
    let mut h = Harness::demo();
    live(&mut h);
    let second = deadline(&h);
    h.send(runs_on(&session, 1, second - h.t + 30_000));
    h.advance(second - h.t + 31_000);
    assert!(matches!(&h.s.fault.phase, FaultPhase::Idle), "{:?}", h.s.fault.phase);
    assert!(h
        .s
        .book
        .timeline
        .iter()
        .any(|e| matches!(&e.kind, EntryKind::FaultEnding { fault: 1, reason: EndReason::Expired })));
    let mut h = Harness::demo();
    live(&mut h);
    h.send(runs_on(&session, 1, 600_000));
    h.key(KeyCode::Char(' '));
    assert!(
        matches!(&h.s.fault.phase, FaultPhase::Reverting { reason: EndReason::Aborted { .. }, .. }),
        "{:?}",
        h.s.fault.phase
    );
}

#[test]
fn a_stray_q_asks_first_while_run_sheet_steps_are_left() {
    let mut h = Harness::demo();
    h.walk_sheet(
        r#"title = "two steps"
[[step]]
name = "one"
preset = "pod-delete"
target = "sock-shop/carts"
hypothesis = "carts keeps serving"
[[step]]
name = "two"
preset = "pod-delete"
target = "sock-shop/orders"
hypothesis = "orders keeps serving"
"#,
    );
    h.key(KeyCode::Char('q'));
    let overlay = format!("{:?}", h.s.ui.overlay);
    assert!(overlay.contains("2 run-sheet steps are not finished: end the session and quit? y/N"), "{overlay}");
    h.key(KeyCode::Char('n'));
    assert!(!h.s.quit.exited, "stayed");
}

#[test]
fn an_outcome_typed_before_the_step_asks_for_it_says_why_and_records_nothing() {
    let mut h = Harness::demo();
    let said = |h: &Harness| h.s.book.status.clone().unwrap().text;
    let outcomes =
        |h: &Harness| h.s.book.timeline.iter().filter(|e| matches!(e.kind, EntryKind::StepOutcome { .. })).count();
    h.walk_sheet(
        r#"title = "one step"
[[step]]
name = "carts slows down"
preset = "network-latency"
target = "sock-shop/carts"
duration = "5s"
observe = "20s"
hypothesis = "carts keeps serving"
"#,
    );
    let fx = h.command("next");
    h.run_effects(fx);
    h.key(KeyCode::Tab);
    let fx = h.key(KeyCode::Enter);
    h.run_effects(fx);
    assert!(h.s.fault.live().is_some(), "{:?}", h.s.fault.phase);
    h.command("outcome held");
    assert!(said(&h).contains("step 1's fault is still on: its outcome comes after it"), "{}", said(&h));
    // The fault is over; the recovery is watched (the demo's latency leaves carts slow a
    // while): an outcome now is early, and says how long at most.
    h.advance(6_000);
    assert!(h.s.fault.live().is_none(), "{:?}", h.s.fault.phase);
    {
        let phase = h.s.sheet.as_ref().map(|s| s.phase.clone());
        assert!(matches!(phase, Some(gameday::app::sheet::Phase::Observing { .. })), "{phase:?}");
        h.command("outcome held");
        assert!(said(&h).contains("step 1 is still watching the recovery (at most"), "{}", said(&h));
        assert!(said(&h).contains("its outcome is asked for then"), "{}", said(&h));
    }
    assert_eq!(outcomes(&h), 0, "nothing recorded early");
    h.advance(21_000);
    assert!(
        matches!(h.s.sheet.as_ref().map(|s| &s.phase), Some(gameday::app::sheet::Phase::Outcome { .. })),
        "{:?}",
        h.s.sheet.as_ref().map(|s| &s.phase)
    );
    h.command("outcome held");
    assert_eq!(outcomes(&h), 1);
    assert!(said(&h).contains("step 1 recorded as held; that was the last step"), "{}", said(&h));
}

#[test]
fn a_live_fault_is_extended_or_shortened_within_its_bounds_and_its_new_end_is_kept() {
    let mut h = Harness::demo();
    let said = |h: &Harness| h.s.book.status.clone().unwrap().text;
    h.command("extend 1m");
    assert!(said(&h).contains("no fault is live"), "{}", said(&h));
    // container-pause: 60 s, at most 30 min.
    let fx = h.command("inject container-pause sock-shop/carts-db");
    h.run_effects(fx);
    let deadline = h.s.fault.live().and_then(|f| f.deadline_ms).unwrap();
    h.advance(10_000);
    let fx = h.command("extend 2m");
    let until = deadline + 120_000;
    assert!(fx.iter().any(|e| matches!(e, Effect::LockDeadline { fault: 1, deadline_ms } if *deadline_ms == until)));
    assert!(matches!(&h.s.book.timeline.last().unwrap().kind,
        EntryKind::FaultResized { fault: 1, by_ms: 120_000, duration_ms: 180_000, author } if author == "ana"));
    assert!(said(&h).contains("fault #1 extended: it ends at"), "{}", said(&h));
    // Beyond the preset's max_duration: refused, with how much is left to give.
    let n = h.s.book.timeline.len();
    h.command("extend 28m");
    assert!(said(&h).contains("may last at most 30 min"), "{}", said(&h));
    assert!(said(&h).contains("27 min 00 s more at most"), "{}", said(&h));
    // Into the past: refused, with the abort key offered.
    h.command("shorten 3m");
    assert!(said(&h).contains("shorten it by less, or abort it (Space)"), "{}", said(&h));
    assert_eq!(h.s.book.timeline.len(), n, "a refused change records nothing");
    // Shortened, it ends at its new end and not a second later.
    h.command("shorten 150s");
    let until = until - 150_000;
    assert_eq!(h.s.fault.live().and_then(|f| f.deadline_ms), Some(until));
    h.advance(until - h.t - 1_000);
    assert_eq!(h.s.fault.active(), Some(1));
    h.advance(2_000);
    assert!(h.s.fault.active().is_none(), "ended at its shortened deadline");
    assert!(h.s.book.timeline.iter().any(|e| matches!(e.kind, EntryKind::FaultEnding { fault: 1, .. })));
    let md = gameday::timeline::report::render(&h.s.book.timeline);
    assert!(md.contains("fault #1 extended by ana by 2 min 00 s: it lasts 3 min 00 s in all"), "{md}");
    assert!(md.contains("fault #1 shortened by ana by 2 min 30 s: it lasts 30 s in all"), "{md}");
    assert!(
        md.contains(
            "- Time changed: extended by 2 min 00 s at +00:10 by ana (3 min 00 s in all); shortened by 2 min 30 s"
        ),
        "{md}"
    );
}

#[test]
fn a_fault_something_else_ends_at_its_duration_is_shortened_but_never_extended() {
    let mut h = Harness::demo();
    h.fixed_end = Some("Chaos Mesh ends it at its duration".into());
    let fx = h.command("inject container-pause sock-shop/carts-db");
    h.run_effects(fx);
    let n = h.s.book.timeline.len();
    h.command("extend 1m");
    let said = h.s.book.status.clone().unwrap().text;
    assert!(said.contains("cannot be extended: Chaos Mesh ends it at its duration; abort it (Space)"), "{said}");
    assert_eq!(h.s.book.timeline.len(), n);
    h.command("shorten 30s");
    assert!(matches!(h.s.book.timeline.last().unwrap().kind, EntryKind::FaultResized { by_ms: -30_000, .. }));
}
