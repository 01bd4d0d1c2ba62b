//! Pure tests of steady state: probe readings, the hypothesis before/during/after a fault, stop
//! conditions that abort by themselves through the abort path, and unknown never taken for
//! healthy. Readings come in as events; time is the harness's clock.

mod common;

use common::Harness;
use gameday::app::fault::FaultPhase;
use gameday::app::steady::probe_state;
use gameday::app::{Effect, Event};
use gameday::config::session_file::SessionConfig;
use gameday::model::check::Verdict;
use gameday::model::probe::Outcome;
use gameday::timeline::{EndReason, EntryKind};
use ratatui::crossterm::event::KeyCode;

const FILE: &str = r#"
[[probe]]
name = "api"
http = "http://127.0.0.1:9/health"

[[probe]]
name = "front"
service = "sock-shop/front-end"

[hypothesis]
name = "the API answers"
checks = [{ probe = "api", check = "success >= 90%", over = "5s" }]

[[stop]]
probe = "api"
check = "success >= 50%"
over = "3s"
for = "2s"
"#;

fn configured(text: &str) -> (Harness, Vec<Effect>) {
    let mut h = Harness::demo();
    let config = SessionConfig::parse("test.toml", text).unwrap();
    let fx = h.s.configure_steady(config);
    (h, fx)
}

fn outcome(ok: bool, reached: bool) -> Outcome {
    Outcome {
        probe: "api".into(),
        ok: Some(ok),
        success: Some(if ok { 1.0 } else { 0.0 }),
        latency_ms: reached.then_some(12.0),
        value: None,
        detail: if ok {
            "200 in 12 ms".into()
        } else if reached {
            "500 in 3 ms, wanted 200".into()
        } else {
            "Connection refused".into()
        },
        reached,
        ..Default::default()
    }
}

/// One second passes and the api probe reports.
fn second(h: &mut Harness, ok: bool) -> Vec<Effect> {
    let mut fx = h.advance(1000);
    let more = h.send(Event::Probe(outcome(ok, true)));
    fx.extend(h.run_effects(more));
    fx
}

fn records(fx: &[Effect]) -> Vec<EntryKind> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Record(r) => Some(r.kind.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn configuring_starts_the_probes_that_reach_out_and_records_the_hypothesis() {
    let (_, fx) = configured(FILE);
    let started: Vec<&str> = fx
        .iter()
        .filter_map(|e| match e {
            Effect::StartProbe(p) => Some(p.name.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(started, ["api"], "derived probes are read from the backend, not run");
    let rec = records(&fx);
    assert!(
        matches!(&rec[0], EntryKind::SteadyStateDeclared { hypothesis, checks, stops }
        if hypothesis == "the API answers" && checks == &["api success >= 90.0% over 5 s"]
            && stops == &["api success >= 50.0% over 3 s for 2 s"]),
        "{rec:?}"
    );
}

#[test]
fn a_stop_condition_breached_for_its_hold_time_aborts_through_the_abort_path() {
    let (mut h, _) = configured(FILE);
    for _ in 0..5 {
        second(&mut h, true);
    }
    let fx = h.command("inject network-latency sock-shop/carts");
    h.run_effects(fx);
    assert!(matches!(h.s.fault.phase, FaultPhase::Active { .. }));
    // Failing: the window (the last 3 s, both ends in: 4 readings) falls under 50% at the
    // third failure; the hold is 2 s more.
    let mut seen = Vec::new();
    let mut aborted_at = None;
    for i in 1..=8 {
        let fx = second(&mut h, false);
        if aborted_at.is_none() && fx.iter().any(|e| matches!(e, Effect::Revert { delay_ms: 0, .. })) {
            aborted_at = Some(i);
        }
        seen.extend(records(&fx));
    }
    assert_eq!(aborted_at, Some(5), "breached from the 3rd failing second, held 2 s: aborted at the 5th");
    let stop = seen.iter().find(|k| matches!(k, EntryKind::StopCondition { .. })).expect("recorded");
    assert!(
        matches!(stop, EntryKind::StopCondition { fault: 1, reading, threshold, held_ms: 2000, .. }
        if reading == "api success 0.0%" && threshold == ">= 50.0%"),
        "{stop:?}"
    );
    let ending = seen.iter().find_map(|k| match k {
        EntryKind::FaultEnding { reason: EndReason::Aborted { by }, .. } => Some(by.clone()),
        _ => None,
    });
    assert_eq!(ending.as_deref(), Some("stop condition: api success 0.0%"));
    assert_eq!(seen.iter().filter(|k| matches!(k, EntryKind::StopCondition { .. })).count(), 1, "once");
    // Time to detect: the hypothesis broke before the stop condition.
    assert!(seen.iter().any(|k| matches!(k, EntryKind::HypothesisBroken { fault: 1, .. })));
    assert!(matches!(h.s.fault.phase, FaultPhase::Idle));
}

#[test]
fn a_breach_shorter_than_the_hold_time_does_not_abort() {
    let (mut h, _) = configured(FILE);
    for _ in 0..5 {
        second(&mut h, true);
    }
    let fx = h.command("inject network-latency sock-shop/carts");
    h.run_effects(fx);
    for ok in [false, false, true, true, true, false, false, true, true, true] {
        let fx = second(&mut h, ok);
        assert!(!records(&fx).iter().any(|k| matches!(k, EntryKind::StopCondition { .. })), "{fx:?}");
    }
    assert!(matches!(h.s.fault.phase, FaultPhase::Active { .. }));
}

#[test]
fn a_probe_that_never_answered_is_unknown_and_never_healthy_nor_a_breach() {
    let (mut h, _) = configured(FILE);
    for _ in 0..6 {
        h.advance(1000);
        let fx = h.send(Event::Probe(outcome(false, false)));
        h.run_effects(fx);
    }
    assert_eq!(probe_state(h.s.steady.readings.get("api")), "unknown");
    assert!(
        matches!(h.s.steady.hypothesis(&h.s.steady_view()), Verdict::Unknown { ref why } if why == "api: Connection refused")
    );
    // Unknown is not broken, but a stop condition that cannot be read protects nobody: the
    // inject asks first. Confirmed, it goes ahead, recorded as unknown; no stop condition fires.
    let fx = h.command("inject network-latency sock-shop/carts");
    assert!(
        fx.iter().all(|e| matches!(e, Effect::RememberCommand(_) | Effect::Preview(_))),
        "only the command remembered, and prepare's preview (read-only): {fx:?}"
    );
    assert!(matches!(h.s.fault.phase, FaultPhase::Armed { .. }), "{:?}", h.s.fault.phase);
    h.key(KeyCode::Tab);
    let fx = h.key(KeyCode::Enter);
    let rec = records(&h.run_effects(fx));
    assert!(rec.iter().any(|k| matches!(k, EntryKind::SteadyStateBefore { verdict, .. } if verdict == "unknown")));
    for _ in 0..5 {
        h.advance(1000);
        let fx = h.send(Event::Probe(outcome(false, false)));
        assert!(!records(&h.run_effects(fx)).iter().any(|k| matches!(k, EntryKind::StopCondition { .. })));
    }
    // Once it has answered, not answering is a failure.
    second(&mut h, true);
    h.advance(1000);
    h.send(Event::Probe(outcome(false, false)));
    assert_eq!(probe_state(h.s.steady.readings.get("api")), "failing");
}

#[test]
fn not_in_steady_state_the_inject_asks_again_and_records_it_was_injected_anyway() {
    let (mut h, _) = configured(FILE);
    for _ in 0..5 {
        second(&mut h, false);
    }
    assert!(h.s.steady.unsteady(&h.s.steady_view()).is_some());
    let fx = h.command("inject pod-delete sock-shop/carts");
    assert!(matches!(h.s.fault.phase, FaultPhase::Armed { .. }), "the confirmation, not the inject");
    assert!(!fx.iter().any(|e| matches!(e, Effect::Prepare(_))));
    h.key(KeyCode::Tab);
    let fx = h.key(KeyCode::Enter);
    let rec = records(&h.run_effects(fx));
    assert!(
        rec.iter().any(|k| matches!(k, EntryKind::SteadyStateBefore { verdict, detail, .. }
        if verdict == "broken" && detail == "api success 0.0%, wanted >= 90.0%")),
        "{rec:?}"
    );
}

#[test]
fn time_to_detect_and_time_to_recover_on_the_demo_with_the_default_hypothesis() {
    let mut h = Harness::demo();
    h.s.steady = Default::default();
    h.advance(10_000);
    assert!(h.s.steady.hypothesis(&h.s.steady_view()).holds(), "{:?}", h.s.steady.hypothesis(&h.s.steady_view()));
    let fx = h.command("inject network-latency sock-shop/carts latency_ms=1200");
    let mut rec = records(&h.run_effects(fx));
    assert!(rec.iter().any(|k| matches!(k, EntryKind::SteadyStateBefore { verdict, .. } if verdict == "holds")));
    rec.extend(records(&h.advance(10_000)));
    let detect = rec.iter().find_map(|k| match k {
        EntryKind::HypothesisBroken { after_ms, detail, .. } => Some((*after_ms, detail.clone())),
        _ => None,
    });
    let (after, detail) = detect.expect("the hypothesis broke");
    assert!(after <= 5000 && detail.contains("sock-shop/front-end"), "{after} {detail}");
    let fx = h.key(KeyCode::Char(' '));
    rec.extend(records(&h.run_effects(fx)));
    rec.extend(records(&h.advance(20_000)));
    let recovered = rec.iter().find_map(|k| match k {
        EntryKind::SteadyStateRecovered { after_ms, .. } => Some(*after_ms),
        _ => None,
    });
    assert!(recovered.is_some_and(|ms| ms <= 10_000), "{rec:#?}");
}

#[test]
fn a_service_down_between_two_ticks_breaks_the_default_hypothesis_and_its_recovery_is_seen() {
    use gameday::model::{TopologyDelta, Workload};
    let mut h = Harness::demo();
    h.s.steady = Default::default();
    // A workload judged by its readiness alone (no traffic is measured for it).
    let edge = |ready| {
        Event::Backend(TopologyDelta::UpsertWorkload(Workload {
            namespace: "sock-shop".into(),
            name: "edge".into(),
            kind: "Deployment".into(),
            desired: 2,
            ready,
            note: None,
        }))
    };
    h.send(edge(2));
    h.advance(10_000);
    let fx = h.command("inject network-latency sock-shop/carts latency_ms=1");
    let mut rec = records(&h.run_effects(fx));
    rec.extend(records(&h.advance(1_000)));
    assert!(!rec.iter().any(|k| matches!(k, EntryKind::HypothesisBroken { .. })), "{rec:#?}");
    // edge's pods are replaced within half a second, between two ticks (a pod-delete healed at
    // once): the timeline says it was down, and so does the steady state.
    h.t += 200;
    let fx = h.send(edge(0));
    rec.extend(records(&h.run_effects(fx)));
    h.t += 300;
    let fx = h.send(edge(2));
    rec.extend(records(&h.run_effects(fx)));
    let broken = rec.iter().find_map(|k| match k {
        EntryKind::HypothesisBroken { detail, .. } => Some(detail.clone()),
        _ => None,
    });
    assert!(broken.as_deref().is_some_and(|d| d.contains("sock-shop/edge down")), "{rec:#?}");
    assert!(rec.iter().any(|k| matches!(k, EntryKind::SteadyStateHeldAgain { .. })), "{rec:#?}");
    // After the revert, the recovery is seen (a run-sheet step's observation ends on it).
    let fx = h.key(KeyCode::Char(' '));
    rec.extend(records(&h.run_effects(fx)));
    rec.extend(records(&h.advance(5_000)));
    assert!(rec.iter().any(|k| matches!(k, EntryKind::SteadyStateRecovered { .. })), "{rec:#?}");
}

#[test]
fn a_late_reading_does_not_restart_the_hold_time() {
    let file = FILE
        .replace("over = \"3s\"\nfor = \"2s\"", "over = \"1s\"\nfor = \"3s\"")
        .replace("success >= 50%", "success >= 99%");
    let (mut h, _) = configured(&file);
    for _ in 0..5 {
        second(&mut h, true);
    }
    let fx = h.command("inject network-latency sock-shop/carts");
    h.run_effects(fx);
    second(&mut h, false); // breached from here
                           // Three seconds without a reading: the 1 s window empties, the verdict is unknown, which
                           // neither aborts nor ends the breach.
    let fx = h.advance(3000);
    assert!(!records(&fx).iter().any(|k| matches!(k, EntryKind::StopCondition { .. })), "unknown never aborts");
    let fx = second(&mut h, false);
    let stop = records(&fx).into_iter().find(|k| matches!(k, EntryKind::StopCondition { .. }));
    assert!(matches!(stop, Some(EntryKind::StopCondition { held_ms: 4000, .. })), "{stop:?}");
}

#[test]
fn probes_checks_and_stop_conditions_declared_from_the_console() {
    let mut h = Harness::demo();
    let fx = h.command("probe shop http http://127.0.0.1:9/health");
    assert!(fx.iter().any(|e| matches!(e, Effect::StartProbe(p) if p.name == "shop")), "{fx:?}");
    assert!(records(&fx).iter().any(|k| matches!(k, EntryKind::ProbeAdded { probe, .. } if probe == "shop")));
    let fx = h.command("probe front service sock-shop/front-end");
    assert!(!fx.iter().any(|e| matches!(e, Effect::StartProbe(_))), "read from the backend");
    let fx = h.command("expect front p95 <= 300ms over 10s");
    assert!(
        records(&fx).iter().any(|k| matches!(k, EntryKind::SteadyStateDeclared { hypothesis, checks, .. }
        if hypothesis == "declared in the console" && checks == &["front p95 <= 300 ms over 10 s"])),
        "{fx:?}"
    );
    let fx = h.command("stop shop success >= 50% for 5s");
    assert!(
        records(&fx).iter().any(|k| matches!(k, EntryKind::SteadyStateDeclared { stops, .. }
        if stops == &["shop success >= 50.0% over 10 s for 5 s"])),
        "{fx:?}"
    );
    h.command("stop nope success >= 50%");
    assert_eq!(h.s.book.status.as_ref().unwrap().text, "no probe named nope: add it first with :probe");
    h.advance(3000);
    assert!(h.s.steady.hypothesis(&h.s.steady_view()).holds(), "{:?}", h.s.steady.hypothesis(&h.s.steady_view()));
}

#[test]
fn a_service_the_console_can_reach_gets_a_probe_by_default() {
    use gameday::model::TopologyDelta;
    let mut h = Harness::demo();
    let reach =
        |svc: &str| Event::Backend(TopologyDelta::Reachable { service: svc.into(), addr: "127.0.0.1:8080".into() });
    let fx = h.send(reach("shop/web"));
    assert!(
        fx.iter().any(|e| matches!(e, Effect::StartProbe(p) if p.name == "shop/web"
        && p.kind == gameday::model::probe::ProbeKind::Tcp { addr: "127.0.0.1:8080".into() })),
        "{fx:?}"
    );
    assert!(records(&fx)
        .iter()
        .any(|k| matches!(k, EntryKind::ProbeAdded { what, .. } if what.contains("probed by default"))));
    assert!(h.send(reach("shop/web")).is_empty(), "once");
    // A probe declared under that name wins.
    let (mut h, _) = configured("[[probe]]\nname = \"api\"\ntcp = \"h:1\"\n");
    assert!(h.send(Event::Backend(TopologyDelta::Reachable { service: "api".into(), addr: "x:1".into() })).is_empty());
}

#[test]
fn a_service_probe_fails_only_when_nothing_answers_slower_answers_are_for_the_checks_written_for_it() {
    let mut h = Harness::demo();
    h.command("probe front service sock-shop/front-end");
    h.advance(3_000);
    let state = |h: &Harness| gameday::app::steady::probe_state(h.s.steady.readings.get("front"));
    assert_eq!(state(&h), "ok");
    // Latency on carts makes the front door slower (degraded): not a failure of the probe.
    let fx = h.command("inject network-latency sock-shop/carts latency_ms=400");
    h.run_effects(fx);
    h.advance(5_000);
    let front = h.s.picture.health.get("sock-shop/front-end").map(|s| s.state());
    assert_eq!(front, Some(gameday::timeline::Health::Degraded));
    assert_eq!(state(&h), "ok", "no threshold was written for it");
    let fx = h.key(ratatui::crossterm::event::KeyCode::Char(' '));
    h.run_effects(fx);
    h.advance(20_000);
    // Nothing answers: failing.
    let fx = h.command("inject scale-to-zero sock-shop/front-end");
    h.run_effects(fx);
    h.advance(5_000);
    assert_eq!(state(&h), "failing");
}
