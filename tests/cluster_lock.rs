//! Many consoles, one cluster, in the pure core: a fault held elsewhere (as the cluster lock's
//! watch reports it) refuses this console's injects, is shown live elsewhere and is asked to
//! stop with Space; a stop asked of this console's fault aborts it through the abort path,
//! once; an owner that goes silent for longer than its lease, or leaves its fault past its
//! deadline, is taken over; a fault with a live owner is never offered as a leftover.

mod common;

use common::Harness;
use gameday::app::cluster::{OVERDUE_GRACE_S, TRY_AGAIN_MS};
use gameday::app::fault::FaultPhase;
use gameday::app::{Effect, Event};
use gameday::model::{Holder, LEASE_SECONDS};
use gameday::model::{Leftover, RevertHandle, TopologyDelta};
use gameday::timeline::{EndReason, EntryKind};
use ratatui::crossterm::event::KeyCode;

fn alice(renewed: &str) -> Holder {
    Holder {
        who: "alice@laptop-a".into(),
        session: "20261122-095000-aaaa".into(),
        fault: 1,
        what: "network-latency on sock-shop/carts".into(),
        // 1:12 from the harness's clock at its start (10:00:00 UTC).
        deadline: common::start().timestamp() + 72,
        lease_seconds: LEASE_SECONDS,
        renewed: renewed.into(),
        stop: None,
        version: renewed.into(),
        journal: String::new(),
        gone: false,
    }
}

fn held(h: &mut Harness, holder: Holder) -> Vec<Effect> {
    h.send(Event::Backend(TopologyDelta::Holder(Some(holder))))
}

fn take_overs(fx: &[Effect]) -> usize {
    fx.iter().filter(|e| matches!(e, Effect::TakeOver { .. })).count()
}

#[test]
fn a_fault_held_elsewhere_refuses_injects_and_names_its_holder() {
    let mut h = Harness::demo();
    held(&mut h, alice("r1"));
    let fx = h.command("inject pod-kill sock-shop/catalogue");
    assert!(fx.iter().all(|e| !matches!(e, Effect::Prepare(_) | Effect::Inject { .. })), "{fx:?}");
    let status = h.s.book.status.clone().unwrap().text;
    assert_eq!(
        status,
        "refused: alice@laptop-a holds the cluster: network-latency on sock-shop/carts, 1:12 left; one fault at a time across the cluster"
    );
    assert!(h.s.book.timeline.iter().any(
        |e| matches!(&e.kind, EntryKind::InjectRefused { reason, .. } if reason.starts_with("alice@laptop-a holds"))
    ));
    // The picker's path is refused the same way.
    h.key(KeyCode::Down);
    h.key(KeyCode::Enter);
    h.pick("pod-kill");
    assert_eq!(h.s.book.timeline.iter().filter(|e| matches!(e.kind, EntryKind::InjectRefused { .. })).count(), 2);
    // Released: injects go ahead.
    h.send(Event::Backend(TopologyDelta::Holder(None)));
    let fx = h.command("inject pod-kill sock-shop/catalogue");
    assert!(fx.iter().any(|e| matches!(e, Effect::Prepare(_))));
}

#[test]
fn space_asks_the_holder_to_stop_and_the_ask_is_recorded() {
    let mut h = Harness::demo();
    held(&mut h, alice("r1"));
    let fx = h.key(KeyCode::Char(' '));
    assert_eq!(fx, [Effect::RequestStop]);
    assert!(h
        .s
        .book
        .status
        .clone()
        .unwrap()
        .text
        .starts_with("asking alice@laptop-a to stop network-latency on sock-shop/carts"));
    h.send(Event::StopAsked { result: Ok((alice("r1"), "bob@laptop-b".into())) });
    let asked = h.s.book.timeline.last().unwrap().kind.describe();
    assert_eq!(
        asked,
        "EMERGENCY STOP asked by bob@laptop-b of alice@laptop-a: network-latency on sock-shop/carts (session 20261122-095000-aaaa, fault #1)"
    );
    // Nothing held elsewhere: Space says so, as before.
    h.send(Event::Backend(TopologyDelta::Holder(None)));
    assert!(h.key(KeyCode::Char(' ')).is_empty());
    assert!(h.s.book.status.clone().unwrap().text.contains("nothing to abort"));
}

#[test]
fn a_stop_asked_of_this_consoles_fault_aborts_it_once_through_the_abort_path() {
    let mut h = Harness::demo();
    let fx = h.command("inject network-latency sock-shop/carts");
    h.run_effects(fx);
    let FaultPhase::Active { fault } = &h.s.fault.phase else { panic!("{:?}", h.s.fault.phase) };
    let mine = Holder { session: h.s.session.id.clone(), fault: fault.id, who: "ana@laptop".into(), ..alice("r1") };
    // Our own hold, renewed: nothing happens, and it is not "elsewhere".
    assert!(held(&mut h, mine.clone()).is_empty());
    assert!(h.s.cluster.elsewhere(h.s.own()).is_none());
    // Bob asks: the fault is aborted through the same path as Space, naming him.
    let asked = Holder { stop: Some("bob@laptop-b".into()), renewed: "r2".into(), ..mine.clone() };
    let fx = held(&mut h, asked.clone());
    assert!(fx.iter().any(|e| matches!(e, Effect::Revert { delay_ms: 0, .. })), "{fx:?}");
    assert!(h.s.book.timeline.iter().any(|e| matches!(&e.kind,
        EntryKind::FaultEnding { reason: EndReason::Aborted { by }, .. } if by == "emergency stop asked by bob@laptop-b")));
    // The lock still says so at every renewal until it is released: aborted once.
    let again = held(&mut h, Holder { renewed: "r3".into(), ..asked });
    assert!(again.iter().all(|e| !matches!(e, Effect::Revert { .. })), "{again:?}");
    h.run_effects(fx);
    assert_eq!(h.s.fault.phase, FaultPhase::Idle);
}

#[test]
fn a_silent_owner_is_taken_over_after_its_lease_and_a_renewing_one_never_is() {
    let mut h = Harness::demo();
    held(&mut h, alice("r1"));
    // Renewing every 4 s: alive however long it holds.
    let mut fx = Vec::new();
    for i in 0..10 {
        fx.extend(h.advance(4_000));
        held(&mut h, alice(&format!("r{}", i + 2)));
    }
    assert_eq!(take_overs(&fx), 0);
    // Silent: taken over once its lease (15 s, on this console's clock) has passed.
    let fx = h.advance(u64::from(LEASE_SECONDS) * 1000);
    assert_eq!(take_overs(&fx), 0, "not before the lease is over");
    let fx = h.advance(1_000);
    assert_eq!(take_overs(&fx), 1);
    let Some(Effect::TakeOver { holder, why }) = fx.iter().find(|e| matches!(e, Effect::TakeOver { .. })) else {
        unreachable!()
    };
    assert_eq!(holder.session, "20261122-095000-aaaa");
    assert_eq!(why, "its console stopped renewing the cluster lock 16 s ago");
    assert_eq!(take_overs(&h.advance(5_000)), 0, "once, while it is under way");
    // It worked: recorded with what was reverted.
    h.send(Event::TookOver {
        holder: holder.clone(),
        why: why.clone(),
        result: Ok(vec!["latency on carts (found by markers on Deployment sock-shop/carts)".into()]),
    });
    let said = h.s.book.timeline.last().unwrap().kind.describe();
    assert!(said.starts_with("took over the cluster from alice@laptop-a (its console stopped renewing"), "{said}");
}

#[test]
fn a_take_over_that_fails_is_tried_again_later_and_an_overdue_fault_is_taken_over() {
    let mut h = Harness::demo();
    // Renewing, but 15 s past its deadline of 1:12: its own console did not revert it.
    let mut fx = Vec::new();
    for i in 0..((72 + OVERDUE_GRACE_S) / 4) {
        fx.extend(h.advance(4_000));
        held(&mut h, alice(&format!("r{}", i + 2)));
    }
    assert_eq!(take_overs(&fx), 0);
    let fx = h.advance(4_000);
    assert_eq!(take_overs(&fx), 1);
    let Some(Effect::TakeOver { holder, why }) = fx.into_iter().find(|e| matches!(e, Effect::TakeOver { .. })) else {
        unreachable!()
    };
    assert_eq!(why, "its deadline passed and its console did not revert it");
    h.send(Event::TookOver { holder, why, result: Err("someone else got there first".into()) });
    assert_eq!(take_overs(&h.advance(TRY_AGAIN_MS - 1_000)), 0);
    assert_eq!(take_overs(&h.advance(2_000)), 1, "tried again");
}

#[test]
fn a_fault_with_a_live_owner_is_never_offered_as_a_leftover() {
    let mut h = Harness::demo();
    let leftover = |fault: u64| Leftover {
        session: "20261122-095000-aaaa".into(),
        fault_id: fault,
        what: "network-latency on sock-shop/carts".into(),
        handle: RevertHandle { fault_id: fault, summary: "latency".into(), data: serde_json::json!({}) },
        journal: None,
        found_by: "markers on Deployment sock-shop/carts".into(),
        ended: None,
        deadline: None,
    };
    // Found before the lock's holder was heard of: withdrawn when it is.
    h.send(Event::Leftovers { found: vec![leftover(1), leftover(7)], skipped: Vec::new() });
    assert_eq!(h.s.cleanup.items.len(), 2);
    held(&mut h, alice("r1"));
    assert_eq!(h.s.cleanup.items.iter().map(|l| l.leftover.fault_id).collect::<Vec<_>>(), [7]);
    // Found after: never offered.
    h.send(Event::Leftovers { found: vec![leftover(1)], skipped: Vec::new() });
    assert_eq!(h.s.cleanup.items.len(), 1);
}

#[test]
fn this_sessions_own_fault_from_before_a_restart_is_taken_over_at_once_and_its_end_recorded() {
    let mut h = Harness::demo();
    let own = h.s.session.id.clone();
    // What the killed console had journaled: fault #1 applied, never reverted.
    let handle = RevertHandle { fault_id: 1, summary: "paused db".into(), data: serde_json::json!({}) };
    let before = vec![
        EntryKind::SessionStart { session: own.clone(), backend: h.s.session.backend.clone(), version: "test".into() },
        EntryKind::InjectConfirmed { fault: 1, handle },
    ];
    let fx = held(&mut h, Holder { session: own.clone(), ..alice("r1") });
    let fx = [fx, h.advance(1_000)].concat();
    assert_eq!(take_overs(&fx), 1, "at once: no lease to wait out, nobody else will revert it");
    let Some(Effect::TakeOver { holder, why }) = fx.into_iter().find(|e| matches!(e, Effect::TakeOver { .. })) else {
        unreachable!()
    };
    h.send(Event::TookOver { holder, why, result: Ok(vec!["unpaused db".into()]) });
    let tail: Vec<&EntryKind> = h.s.book.timeline.iter().rev().take(2).map(|e| &e.kind).collect();
    assert!(
        matches!(tail[0], EntryKind::FaultClosed { fault: 1, how } if how.contains("resumed")),
        "its end is on this session's record: {tail:?}"
    );
    // So nothing calls it unfinished any more (neither the report nor `gameday cleanup`).
    let mut entries: Vec<gameday::timeline::Entry> = before
        .into_iter()
        .map(|kind| gameday::timeline::Entry { seq: 0, wall: common::start(), t_ms: 0, kind })
        .collect();
    entries.extend(h.s.book.timeline.iter().cloned());
    assert!(gameday::timeline::leftovers::unfinished(&entries, None).is_empty());
}
