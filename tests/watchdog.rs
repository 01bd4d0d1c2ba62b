//! `gameday watchdog`'s decisions, without a cluster: a holder that stopped renewing for longer
//! than its lease, or whose fault is past its deadline and its grace, is taken over (once per
//! try); a fault found by its markers past its deadline that no holder owns is reverted; a live
//! holder's fault, a fault within its deadline and a marker without a deadline are left alone.
//! And what the confirmation says about who ends a fault with no console alive.

mod common;

use common::Harness;
use gameday::app::cluster::{OVERDUE_GRACE_S, TRY_AGAIN_MS};
use gameday::app::fault::FaultPhase;
use gameday::app::{Effect, Event};
use gameday::model::{Holder, LEASE_SECONDS};
use gameday::model::{Leftover, Prepared, RevertHandle, TopologyDelta};
use gameday::runtime::watchdog::Watch;
use ratatui::crossterm::event::KeyCode;

const NOW: i64 = 1_796_000_000;

fn holder(renewed: &str, deadline: i64) -> Holder {
    Holder {
        who: "alice@laptop-a".into(),
        session: "s-a".into(),
        fault: 1,
        what: "scale on shop/carts".into(),
        deadline,
        lease_seconds: LEASE_SECONDS,
        renewed: renewed.into(),
        stop: None,
        version: renewed.into(),
        journal: String::new(),
        gone: false,
    }
}

fn marked(session: &str, fault: u64, deadline: Option<i64>) -> Leftover {
    Leftover {
        session: session.into(),
        fault_id: fault,
        what: "scale on shop/carts".into(),
        handle: RevertHandle { fault_id: fault, summary: "scale".into(), data: serde_json::json!({}) },
        journal: None,
        found_by: "markers on Deployment shop/carts".into(),
        ended: None,
        deadline,
    }
}

#[test]
fn a_holder_is_taken_over_once_its_lease_lapses_on_the_watchdogs_clock() {
    let mut w = Watch::default();
    let lease_ms = u64::from(LEASE_SECONDS) * 1000;
    w.on_holder(Some(holder("r1", NOW + 600)), 0);
    // Renewed at 10 s: timed from then.
    w.on_holder(Some(holder("r2", NOW + 600)), 10_000);
    assert_eq!(w.take_over_due(10_000 + lease_ms, NOW), None, "within its lease");
    let (h, why) = w.take_over_due(10_001 + lease_ms, NOW).expect("lapsed");
    assert_eq!((h.session.as_str(), h.fault), ("s-a", 1));
    assert_eq!(why, "its console stopped renewing the cluster lock 15 s ago");
    assert_eq!(w.take_over_due(10_002 + lease_ms, NOW), None, "said once per try");
    assert!(w.take_over_due(10_001 + lease_ms + TRY_AGAIN_MS, NOW).is_some(), "tried again");
    // Released: nothing to do.
    w.on_holder(None, 40_000);
    assert_eq!(w.take_over_due(100_000, NOW + 10_000), None);
}

#[test]
fn a_live_holder_past_its_deadline_gets_its_grace_then_is_taken_over() {
    let mut w = Watch::default();
    w.on_holder(Some(holder("r1", NOW)), 0);
    w.on_holder(Some(holder("r2", NOW)), 1_000);
    assert_eq!(w.take_over_due(2_000, NOW + OVERDUE_GRACE_S), None, "its own console has the grace");
    let (_, why) = w.take_over_due(2_000, NOW + OVERDUE_GRACE_S + 1).expect("overdue");
    assert_eq!(why, "its deadline passed and its console did not revert it");
}

#[test]
fn a_marked_fault_past_its_deadline_that_no_one_holds_is_reverted_and_nothing_else() {
    let mut w = Watch::default();
    let found = [
        marked("s-old", 2, Some(NOW - OVERDUE_GRACE_S - 5)),
        marked("s-new", 1, Some(NOW + 30)),
        marked("s-grace", 4, Some(NOW - 3)),
        marked("s-nodeadline", 3, None),
        marked("s-a", 1, Some(NOW - 100)),
    ];
    // s-a fault 1 is the lock holder's (alive): the lock's business, not the markers'.
    w.on_holder(Some(holder("r1", NOW + 600)), 0);
    let due = w.overdue_markers(&found, 1_000, NOW);
    assert_eq!(due.iter().map(|(l, _)| (l.session.as_str(), l.fault_id)).collect::<Vec<_>>(), [("s-old", 2)]);
    assert_eq!(due[0].1, "its deadline passed 20 s ago and no console owns it");
    assert!(w.overdue_markers(&found, 2_000, NOW).is_empty(), "once per try");
    assert_eq!(w.overdue_markers(&found, 1_000 + TRY_AGAIN_MS, NOW).len(), 1, "tried again while it is there");
    // One that ended by itself (a helper's time ran out) is tidied up, said so.
    let ended = Leftover { ended: Some("its helper removed the qdisc".into()), ..marked("s-x", 1, Some(NOW - 60)) };
    let due = w.overdue_markers(&[ended], 1_000, NOW);
    assert_eq!(due[0].1, "it ended by itself (its helper removed the qdisc); tidying up what is left of it");
}

/// The confirmation of pod-kill on carts, once prepare answered with `ends_by_itself`.
fn confirmation(h: &mut Harness, ends_by_itself: Option<&str>) -> (String, bool) {
    h.instant_previews = false;
    h.key(KeyCode::Down);
    h.key(KeyCode::Enter);
    h.pick("pod-kill");
    let fx = h.key(KeyCode::Enter); // its parameter form, with its defaults
    let spec = fx
        .iter()
        .find_map(|e| match e {
            Effect::Preview(spec) => Some(spec.clone()),
            _ => None,
        })
        .expect("prepare asked");
    let handle = h.sim.prepare(&spec).unwrap();
    let prepared =
        Prepared { handle, found: Vec::new(), ends_by_itself: ends_by_itself.map(str::to_string), fixed_end: None };
    h.send(Event::Previewed { spec: Box::new(spec), result: Ok(prepared) });
    let FaultPhase::Armed { preview, .. } = &h.s.fault.phase else { panic!("no confirmation: {:?}", h.s.fault.phase) };
    let said = gameday::app::fault::preview::ending(preview, h.s.watchdog_alive());
    h.key(KeyCode::Esc); // back to the form
    h.key(KeyCode::Esc);
    said
}

#[test]
fn the_confirmation_says_truthfully_what_ends_a_fault_with_no_console() {
    let mut h = Harness::demo();
    let (said, warn) = confirmation(&mut h, None);
    assert_eq!(said, "NOT ended by itself: only a console on the cluster or `gameday cleanup` reverts it");
    assert!(warn);
    let (said, warn) = confirmation(&mut h, Some("Chaos Mesh ends it at its duration"));
    assert_eq!(said, "Chaos Mesh ends it at its duration");
    assert!(!warn);
    // A watchdog's heartbeat seen on the cluster: it ends the fault at its deadline.
    h.send(Event::Backend(TopologyDelta::Watchdog(Some("2026-11-22T10:00:00Z".into()))));
    let (said, warn) = confirmation(&mut h, None);
    assert_eq!(
        said,
        "gameday watchdog (seen on the cluster) reverts it once this console is silent past its lease, or at its deadline"
    );
    assert!(!warn);
    // Not heard of for two leases: no longer counted on.
    h.advance(2 * u64::from(LEASE_SECONDS) * 1000 + 1_000);
    let (said, _) = confirmation(&mut h, None);
    assert!(said.starts_with("NOT ended by itself"), "{said}");
}
