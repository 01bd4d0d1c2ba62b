//! Pure state-machine tests of what happens to a fault besides its own revert: an inject that
//! changed nothing, a fault that stopped being in effect by itself while live (its target
//! restarted), one that ended by itself while no console ran, and a default probe that follows
//! a published port. No I/O, no async, no real clock.

mod common;

use common::Harness;
use gameday::app::cleanup::TIDY_UP;
use gameday::app::fault::FaultPhase;
use gameday::app::{Effect, Event};
use gameday::model::probe::ProbeKind;
use gameday::model::{Leftover, RevertHandle, TopologyDelta};
use gameday::timeline::{EndReason, EntryKind};
use ratatui::backend::TestBackend;
use ratatui::Terminal;

fn records(fx: &[Effect]) -> Vec<String> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Record(r) => Some(serde_json::to_value(&r.kind).unwrap()["kind"].as_str().unwrap().to_string()),
            _ => None,
        })
        .collect()
}

fn screen(h: &Harness) -> String {
    let mut term = Terminal::new(TestBackend::new(160, 45)).unwrap();
    term.draw(|f| gameday::ui::draw(f, &h.s)).unwrap();
    let buf = term.backend().buffer();
    (0..buf.area.height)
        .map(|y| (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect::<String>())
        .collect::<Vec<_>>()
        .join("\n")
}

/// A fault prepared and being applied (the inject effect is out, its answer not yet in).
fn applying(h: &mut Harness) -> u64 {
    let fx = h.command("inject network-latency sock-shop/carts");
    let Some(Effect::Prepare(spec)) = fx.iter().find(|e| matches!(e, Effect::Prepare(_))).cloned() else {
        panic!("no prepare: {fx:?}")
    };
    let handle = h.sim.prepare(&spec).unwrap();
    let fx = h.send(Event::Prepared { fault: spec.fault_id, result: Ok(handle), fixed_end: None });
    assert!(fx.iter().any(|e| matches!(e, Effect::Inject { .. })));
    assert!(matches!(h.s.fault.phase, FaultPhase::Applying { .. }));
    spec.fault_id
}

#[test]
fn an_inject_that_changed_nothing_is_recorded_as_never_applied_and_not_reverted() {
    let mut h = Harness::demo();
    let id = applying(&mut h);
    let fx = h.send(Event::NotApplied { fault: id, why: "the helper image x has no iproute2 tc".into() });
    assert_eq!(records(&fx), ["inject_not_applied"]);
    assert!(!fx.iter().any(|e| matches!(e, Effect::Revert { .. })), "nothing to revert: {fx:?}");
    assert_eq!(h.s.fault.phase, FaultPhase::Idle);
    // Not a leftover for the next console, and the report says what happened.
    assert!(gameday::timeline::leftovers::unfinished(&h.s.book.timeline, None).is_empty());
    let f = &gameday::timeline::faults::faults(&h.s.book.timeline)[0];
    assert_eq!(f.outcome(), "never applied: the helper image x has no iproute2 tc");
    // A new fault may go in at once.
    let fx = h.command("inject network-latency sock-shop/carts");
    assert!(fx.iter().any(|e| matches!(e, Effect::Prepare(_))));
}

#[test]
fn quitting_while_an_inject_that_changes_nothing_runs_exits_at_once() {
    let mut h = Harness::demo();
    let id = applying(&mut h);
    h.command("quit");
    let fx = h.send(Event::NotApplied { fault: id, why: "no tc".into() });
    assert!(fx.contains(&Effect::Exit), "{fx:?}");
    assert!(h.s.quit.exited);
}

#[test]
fn a_fault_that_is_no_longer_in_effect_ends_and_the_bar_stops_saying_it_is_live() {
    let mut h = Harness::demo();
    let fx = h.command("inject network-latency sock-shop/carts");
    h.run_effects(fx);
    assert!(matches!(h.s.fault.phase, FaultPhase::Active { .. }));
    assert!(screen(&h).contains("FAULT LIVE #1"));
    let session = h.s.session.id.clone();
    // Another session's fault, or another fault of ours, is not this one.
    for (s, f) in [("someone-else", 1), (session.as_str(), 2)] {
        let fx = h.send(Event::Backend(TopologyDelta::FaultLapsed { session: s.into(), fault: f, why: "x".into() }));
        assert!(records(&fx).is_empty(), "{fx:?}");
    }
    assert!(matches!(h.s.fault.phase, FaultPhase::Active { .. }));
    let why = "shop-web-1 stopped or restarted, and its qdisc went with its network namespace".to_string();
    let fx = h.send(Event::Backend(TopologyDelta::FaultLapsed { session, fault: 1, why: why.clone() }));
    assert_eq!(records(&fx), ["fault_ending", "revert_started"]);
    assert!(fx.iter().any(|e| matches!(e, Effect::Revert { delay_ms: 0, .. })), "what is left is cleaned up");
    assert!(
        matches!(&h.s.fault.phase, FaultPhase::Reverting { reason: EndReason::Lapsed { why: w }, .. } if *w == why),
        "{:?}",
        h.s.fault.phase
    );
    let line = h.s.book.timeline.iter().rev().find(|e| matches!(e.kind, EntryKind::FaultEnding { .. })).unwrap();
    assert_eq!(line.kind.describe(), format!("fault #1 NO LONGER IN EFFECT: {why}; cleaning up what is left of it"));
    assert!(!screen(&h).contains("FAULT LIVE"), "{}", screen(&h));
    h.run_effects(fx);
    assert_eq!(h.s.fault.phase, FaultPhase::Idle);
    let f = &gameday::timeline::faults::faults(&h.s.book.timeline)[0];
    assert_eq!(f.outcome(), format!("no longer in effect before its end ({why})"));
    // Said once: a late second notice changes nothing.
    let again = h.send(Event::Backend(TopologyDelta::FaultLapsed {
        session: h.s.session.id.clone(),
        fault: 1,
        why: "again".into(),
    }));
    assert!(records(&again).is_empty());
}

fn expired_leftover() -> Leftover {
    Leftover {
        session: "20261120-090000-dead".into(),
        fault_id: 4,
        what: "network-rate on shop/web (tbf rate 800kbit on shop-web-1 (by a helper))".into(),
        handle: RevertHandle { fault_id: 4, summary: "tbf".into(), data: serde_json::Value::Null },
        journal: None,
        found_by: "marker container gameday-x-f4-marker on the engine".into(),
        ended: Some("its time was up at 2026-11-20 09:05:00 UTC and its helper removed the qdisc".into()),
        deadline: Some(1_763_629_500),
    }
}

#[test]
fn a_fault_that_expired_while_no_console_ran_is_recorded_as_expired_not_left_over() {
    let mut h = Harness::demo();
    let mut live = common::two_leftovers();
    live.truncate(1);
    let fx = h.send(Event::Leftovers { found: vec![expired_leftover(), live[0].clone()], skipped: Vec::new() });
    assert_eq!(records(&fx), ["leftover_expired", "leftover_found"]);
    assert!(
        fx.iter().any(
            |e| matches!(e, Effect::Cleanup { index, leftover, .. } if *index == TIDY_UP && leftover.fault_id == 4)
        ),
        "its helper and marker are tidied up: {fx:?}"
    );
    assert_eq!(h.s.cleanup.items.len(), 1, "only the live one is a leftover");
    let line = h.s.book.timeline.iter().find(|e| matches!(e.kind, EntryKind::LeftoverExpired { .. })).unwrap();
    assert!(line.kind.describe().contains("ended by itself while no console ran: its time was up"), "{line:?}");
    // The tidy-up's answer is nobody's business; a second search does not record it again.
    let fx = h.send(Event::CleanedUp { index: TIDY_UP, attempt: 1, result: Err("engine down".into()) });
    assert!(records(&fx).is_empty());
    let fx = h.send(Event::Leftovers { found: vec![expired_leftover()], skipped: Vec::new() });
    assert!(records(&fx).is_empty());

    // With only an expired one, nothing blocks a new fault.
    let mut h = Harness::demo();
    h.send(Event::Leftovers { found: vec![expired_leftover()], skipped: Vec::new() });
    assert_eq!(h.s.cleanup.unresolved(), 0);
    let fx = h.command("inject network-latency sock-shop/carts");
    assert!(fx.iter().any(|e| matches!(e, Effect::Prepare(_))), "{:?}", records(&fx));
}

#[test]
fn a_default_probe_follows_the_published_port_and_a_declared_one_stays() {
    let mut h = Harness::demo();
    let reach = |h: &mut Harness, service: &str, addr: &str| {
        h.send(Event::Backend(TopologyDelta::Reachable { service: service.into(), addr: addr.into() }))
    };
    let started = |fx: &[Effect]| -> Vec<String> {
        fx.iter()
            .filter_map(|e| match e {
                Effect::StartProbe(p) => match &p.kind {
                    ProbeKind::Tcp { addr } => Some(format!("{}@{addr}", p.name)),
                    _ => None,
                },
                _ => None,
            })
            .collect()
    };
    let fx = reach(&mut h, "shop/web", "127.0.0.1:32768");
    assert_eq!(started(&fx), ["shop/web@127.0.0.1:32768"]);
    assert!(started(&reach(&mut h, "shop/web", "127.0.0.1:32768")).is_empty(), "the same address: nothing new");
    // web restarted and its port moved: the probe follows it, and says so.
    let fx = reach(&mut h, "shop/web", "127.0.0.1:32769");
    assert_eq!(started(&fx), ["shop/web@127.0.0.1:32769"]);
    assert_eq!(records(&fx), ["probe_added"]);
    let probes: Vec<_> = h.s.steady.config.probes.iter().filter(|p| p.name == "shop/web").collect();
    assert_eq!(probes.len(), 1, "replaced, not added");
    assert_eq!(probes[0].kind, ProbeKind::Tcp { addr: "127.0.0.1:32769".into() });

    // A probe someone declared under that name is theirs: never moved.
    h.command("probe shop/db tcp 127.0.0.1:5432");
    let fx = reach(&mut h, "shop/db", "127.0.0.1:40000");
    assert!(started(&fx).is_empty(), "{fx:?}");
}

#[test]
fn a_marker_of_a_session_open_in_a_console_here_is_a_live_fault_not_a_leftover() {
    let dir = tempfile::tempdir().unwrap();
    let _open = gameday::store::journal::Journal::open(&dir.path().join("20261122-100000-live.jsonl")).unwrap();
    let marker = |session: &str| Leftover { session: session.into(), ended: None, ..expired_leftover() };
    let kept = gameday::store::leftovers::not_open_here(
        dir.path(),
        vec![marker("20261122-100000-live"), marker("20261120-090000-dead")],
    );
    assert_eq!(kept.iter().map(|l| l.session.as_str()).collect::<Vec<_>>(), ["20261120-090000-dead"]);
}
