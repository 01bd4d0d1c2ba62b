//! Pure tests of drills: a facilitator's console and a responder's, each a harness on its own
//! simulated cluster, exchanging their timelines as the runtime's tail would (`Event::Peer`).

mod common;

use common::Harness;
use gameday::app::drill;
use gameday::app::fault::FaultPhase;
use gameday::app::keymap::Context;
use gameday::app::{Effect, Event};
use gameday::timeline::{drill as read_drill, EndReason, Entry, EntryKind, Mark};
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::KeyCode;
use ratatui::Terminal;

struct Drill {
    f: Harness,
    r: Harness,
    /// How much of each timeline the other side has read.
    f_read: usize,
    r_read: usize,
}

impl Drill {
    fn new() -> Drill {
        let f = Harness::demo();
        let mut r = Harness::demo();
        let mut fx = Vec::new();
        let session = f.s.session.id.clone();
        fx.extend(r.s.join_drill(&session, "alice", true));
        let mut d = Drill { f, r, f_read: 0, r_read: 0 };
        d.exchange();
        d
    }

    /// Each side reads what the other wrote since last time; returns the effects of both.
    fn exchange(&mut self) -> (Vec<Effect>, Vec<Effect>) {
        let new: Vec<Entry> = self.r.s.book.timeline[self.r_read..].to_vec();
        self.r_read = self.r.s.book.timeline.len();
        let ffx = self.f.send(Event::Peer { from: "alice".into(), entries: new });
        let ffx = self.f.run_effects(ffx);
        let new: Vec<Entry> = self.f.s.book.timeline[self.f_read..].to_vec();
        self.f_read = self.f.s.book.timeline.len();
        let rfx = self.r.send(Event::Peer { from: "facilitator".into(), entries: new });
        (ffx, rfx)
    }

    /// Both clocks move on together.
    fn advance(&mut self, ms: u64) {
        self.f.advance(ms);
        self.r.advance(ms);
    }
}

fn marks(entries: &[Entry]) -> Vec<(Mark, Option<u64>, Option<u64>)> {
    entries
        .iter()
        .filter_map(|e| match &e.kind {
            EntryKind::DrillMark { mark, fault, after_ms, .. } => Some((*mark, *fault, *after_ms)),
            _ => None,
        })
        .collect()
}

fn screen(h: &Harness) -> String {
    let mut term = Terminal::new(TestBackend::new(140, 42)).unwrap();
    term.draw(|f| gameday::ui::draw(f, &h.s)).unwrap();
    let buf = term.backend().buffer();
    (0..42).map(|y| (0..140).map(|x| buf[(x, y)].symbol()).collect::<String>() + "\n").collect()
}

#[test]
fn the_facilitator_hears_the_responder_join_once() {
    let mut d = Drill::new();
    assert_eq!(d.r.s.context(), Context::Drill);
    d.exchange();
    let joined: Vec<&EntryKind> =
        d.f.s.book.timeline.iter().map(|e| &e.kind).filter(|k| matches!(k, EntryKind::DrillJoined { .. })).collect();
    assert_eq!(joined.len(), 1, "{joined:?}");
}

#[test]
fn marks_are_attributed_to_the_live_fault_and_timed_from_its_inject_once_each() {
    let mut d = Drill::new();
    d.advance(2_000);
    let fx = d.f.command("inject pod-delete sock-shop/carts");
    d.f.run_effects(fx);
    let (_, rfx) = d.exchange();
    // The responder's own (demo) cluster replays it, and their console shows nothing of it.
    assert!(rfx.iter().any(|e| matches!(e, Effect::Mirror(spec) if spec.fault_id == 1 && spec.preset == "pod-delete")));
    assert_eq!(d.r.s.fault.phase, FaultPhase::Idle);
    let shown = screen(&d.r);
    assert!(!shown.contains("pod-delete") && !shown.contains("FAULT LIVE"), "{shown}");

    d.advance(4_000);
    d.r.key(KeyCode::Char('d'));
    d.advance(3_000);
    d.r.command("mitigated rolled carts");
    d.exchange();
    d.exchange();
    assert_eq!(
        marks(&d.f.s.book.timeline),
        vec![(Mark::Detected, Some(1), Some(4_000)), (Mark::Mitigated, Some(1), Some(7_000))],
        "imported once, however often the file is read"
    );
    let status = d.f.s.book.status.as_ref().map(|s| s.text.clone()).unwrap_or_default();
    assert!(status.contains("alice marked MITIGATED 7 s after fault #1"), "{status}");
    let report = gameday::timeline::report::render(&d.f.s.book.timeline);
    assert!(report.contains("## Drill"), "{report}");
    assert!(report.contains("| 4 s (alice) | 7 s (alice) |"), "{report}");
}

#[test]
fn a_mark_before_any_fault_is_a_false_alarm() {
    let mut d = Drill::new();
    d.r.key(KeyCode::Char('d'));
    d.exchange();
    assert_eq!(marks(&d.f.s.book.timeline), vec![(Mark::Detected, None, None)]);
    let said = d.f.s.book.timeline.last().unwrap().kind.describe();
    assert_eq!(said, "responder alice marked DETECTED before any fault");
    assert_eq!(d.r.s.book.timeline.last().unwrap().kind.describe(), "responder alice marked DETECTED");
    let read = read_drill::read(&d.f.s.book.timeline);
    assert_eq!(read.false_alarms.len(), 1);
}

#[test]
fn the_responders_emergency_stop_aborts_the_facilitators_fault_through_the_abort_path() {
    let mut d = Drill::new();
    let fx = d.f.command("inject network-latency sock-shop/carts latency_ms=200");
    d.f.run_effects(fx);
    assert!(matches!(d.f.s.fault.phase, FaultPhase::Active { .. }));
    let (_, rfx) = d.exchange();
    assert!(rfx.iter().any(|e| matches!(e, Effect::Mirror(spec) if spec.fault_id == 1)), "{rfx:?}");
    let fx = d.r.key(KeyCode::Char(' '));
    assert!(fx.iter().all(|e| matches!(e, Effect::Record(_))), "the responder reverts nothing itself: {fx:?}");
    // A held Space repeats: one stop is sent, not one per repeat.
    for _ in 0..50 {
        assert!(d.r.key(KeyCode::Char(' ')).is_empty());
    }
    let stops =
        d.r.s.book.timeline.iter().filter(|e| matches!(e.kind, EntryKind::DrillMark { mark: Mark::Stop, .. })).count();
    assert_eq!(stops, 1);
    let (_, rfx) = d.exchange();
    let ended = d.f.s.book.timeline.iter().find_map(|e| match &e.kind {
        EntryKind::FaultEnding { reason: EndReason::Aborted { by }, .. } => Some(by.clone()),
        _ => None,
    });
    assert_eq!(ended.as_deref(), Some("responder alice"));
    assert_eq!(d.f.s.fault.phase, FaultPhase::Idle, "reverted and confirmed");
    // The responder's replay ends with it.
    assert!(rfx.contains(&Effect::Unmirror(1)), "{rfx:?}");
    // Scored as what it was: alice detected the fault and mitigated it, with the stop.
    let md = gameday::timeline::report::render(&d.f.s.book.timeline);
    let row = md.lines().find(|l| l.starts_with("| #1 network-latency")).unwrap_or_default();
    assert!(
        row.contains("| 0 s (alice, emergency stop) | 0 s (alice, emergency stop) | aborted by responder alice |"),
        "{row}\n{md}"
    );
    let own = md.lines().find(|l| l.starts_with("| alice | #1 |")).unwrap_or_default();
    assert!(own.ends_with("| not revealed | 0 s | 0 s (emergency stop) |"), "{own}\n{md}");
    assert!(!md.contains("**not marked**"), "{md}");
}

#[test]
fn a_responder_cannot_inject_or_walk_the_run_sheet() {
    let mut d = Drill::new();
    for cmd in ["inject pod-delete sock-shop/carts", "next", "reveal", "stop front p95 <= 1s"] {
        let fx = d.r.command(cmd);
        // Nothing is done (the line goes to the history, as every command typed does).
        assert!(fx.iter().all(|e| matches!(e, Effect::RememberCommand(_))), "{cmd}: {fx:?}");
        let status = d.r.s.book.status.as_ref().map(|s| s.text.clone()).unwrap_or_default();
        assert!(status.contains("not in a drill's responder console"), "{cmd}: {status}");
    }
    d.r.key(KeyCode::Char('i'));
    d.r.key(KeyCode::Enter);
    assert!(matches!(d.r.s.ui.overlay, gameday::app::state::Overlay::None), "no picker for a responder");
}

#[test]
fn the_faults_are_revealed_only_when_the_facilitator_says_so_and_not_while_one_is_live() {
    let mut d = Drill::new();
    let fx = d.f.command("inject pod-delete sock-shop/carts duration=5s");
    d.f.run_effects(fx);
    d.advance(2_000);
    d.r.key(KeyCode::Char('d'));
    d.exchange();
    d.f.command("reveal");
    assert!(!d.f.s.book.timeline.iter().any(|e| matches!(e.kind, EntryKind::DrillRevealed { .. })));
    d.advance(6_000);
    d.exchange();
    assert!(!d.r.s.drill.as_ref().unwrap().revealed());
    assert!(!screen(&d.r).contains("pod-delete"));
    d.f.command("reveal");
    d.exchange();
    assert!(d.r.s.drill.as_ref().unwrap().revealed());
    let shown = screen(&d.r);
    assert!(shown.contains("REVEALED: 1 fault(s)"), "{shown}");
    assert!(shown.contains("pod-delete on sock-shop/carts"), "{shown}");
    assert!(shown.contains("detected after 2 s (alice)"), "{shown}");
}

#[test]
fn the_report_of_a_drill_walked_on_a_run_sheet() {
    let mut d = Drill::new();
    let plan = gameday::config::runsheet::RunSheet::parse(
        "drill.toml",
        r#"title = "On-call drill | <b>week 48</b>"
facilitator = "Ana"
[[participant]]
name = "Cy"
role = "responder"
[[step]]
name = "carts gets slow"
preset = "network-latency"
target = "sock-shop/carts"
params = { latency_ms = 800 }
duration = "10s"
hypothesis = "Cy sees the front door slow down within 30 s."
observe = "3s"
[[step]]
name = "orders loses a pod"
preset = "pod-delete"
target = "sock-shop/orders"
duration = "5s"
hypothesis = "Nobody notices."
observe = "3s"
"#,
    )
    .unwrap();
    let fx = d.f.s.load_sheet(plan, false);
    d.f.run_effects(fx);
    d.r.command("detected | </td><script>x</script> front door? (a false alarm)");
    d.exchange();
    d.advance(2_000);
    for step in 0..2 {
        let fx = d.f.command("next");
        d.f.run_effects(fx);
        d.f.key(KeyCode::Tab);
        let fx = d.f.key(KeyCode::Enter);
        d.f.run_effects(fx);
        d.exchange();
        d.advance(3_000 + step * 4_000);
        d.r.key(KeyCode::Char('d'));
        d.exchange();
        if step == 0 {
            d.advance(4_000);
            d.r.command("mitigated shed load at the front door");
            d.exchange();
        }
        d.advance(12_000);
        d.f.command("outcome held");
        d.exchange();
    }
    d.f.command("reveal");
    let md = gameday::timeline::report::render(&d.f.s.book.timeline);
    let summary_and_drill = &md[md.find("## Summary").unwrap()..md.find("## Faults and health").unwrap()];
    insta::assert_snapshot!(summary_and_drill);
    assert!(!md.contains("<script>") && !md.contains("</td>") && !md.contains("<b>"), "{md}");
}

#[test]
fn reveals_come_in_rounds_and_a_later_fault_stays_hidden_until_the_next() {
    let mut d = Drill::new();
    let fx = d.f.command("inject pod-delete sock-shop/carts duration=5s");
    d.f.run_effects(fx);
    d.advance(6_000);
    assert_eq!(d.f.s.fault.phase, FaultPhase::Idle, "fault #1 is over");
    d.f.command("reveal");
    assert!(d.f.s.book.timeline.iter().any(|e| matches!(e.kind, EntryKind::DrillRevealed { faults: 1, .. })));
    // A second fault, live: the responder sees the first one only.
    let fx = d.f.command("inject container-pause sock-shop/carts-db duration=30s");
    d.f.run_effects(fx);
    d.exchange();
    let r = d.r.s.drill.clone().unwrap();
    assert_eq!(r.revealed_faults().into_iter().collect::<Vec<_>>(), [1]);
    let shown = screen(&d.r);
    assert!(shown.contains("#1 pod-delete on sock-shop/carts"), "{shown}");
    assert!(!shown.contains("container-pause") && !shown.contains("#2"), "fault #2 is live and hidden: {shown}");
    // No second reveal while it is live, nor with nothing new.
    d.f.command("reveal");
    assert!(d.f.s.book.status.as_ref().unwrap().text.contains("after the fault is reverted"));
    let fx = d.f.key(KeyCode::Char(' '));
    d.f.run_effects(fx);
    d.f.command("reveal");
    d.f.command("reveal");
    assert!(d.f.s.book.status.as_ref().unwrap().text.starts_with("nothing new to reveal"));
    d.exchange();
    let r = d.r.s.drill.clone().unwrap();
    assert_eq!(r.revealed_faults().into_iter().collect::<Vec<_>>(), [1, 2]);
    assert!(screen(&d.r).contains("#2 container-pause on sock-shop/carts-db"));
    // The facilitator's report of it: both faults, both reveals, in order.
    // A responder joined: q asks first.
    d.f.key(KeyCode::Char('q'));
    let fx = d.f.key(KeyCode::Char('y'));
    d.f.run_effects(fx);
    let md = gameday::timeline::report::render(&d.f.s.book.timeline);
    insta::assert_snapshot!(md);
    let first = md.find("revealed fault #1 to the responders (1 revealed in all)").expect("the first round");
    let second = md.find("revealed fault #2 to the responders (2 revealed in all)").expect("the second round");
    assert!(first < second, "{md}");
}

#[test]
fn a_responder_learns_nothing_of_a_fault_from_the_cluster_lock_or_gamedays_own_events() {
    use gameday::model::Holder;
    use gameday::model::TopologyDelta;
    let mut d = Drill::new();
    let holder = Holder {
        who: "carol@laptop-c".into(),
        session: d.f.s.session.id.clone(),
        fault: 1,
        what: "scale on sock-shop/carts".into(),
        deadline: 0,
        lease_seconds: 15,
        renewed: "r1".into(),
        stop: None,
        version: "7".into(),
        journal: String::new(),
        gone: false,
    };
    d.r.send(Event::Backend(TopologyDelta::Holder(Some(holder))));
    let gameday_event =
        "GamedayFaultInjected: session s, fault #1, scale on sock-shop/carts, injected by carol@laptop-c";
    for (object, message) in
        [("deployment sock-shop/carts", gameday_event), ("pod sock-shop/carts-1", "BackOff: back-off")]
    {
        d.r.send(Event::Backend(TopologyDelta::ClusterEvent {
            object: object.into(),
            message: message.into(),
            warning: true,
        }));
    }
    let shown = screen(&d.r);
    for hidden in ["LIVE ELSEWHERE", "carol", "GamedayFault", "scale on"] {
        assert!(!shown.contains(hidden), "{hidden}: {shown}");
    }
    let said: Vec<String> = d.r.s.book.timeline.iter().map(|e| e.kind.describe()).collect();
    assert!(said.iter().all(|s| !s.contains("Gameday")), "{said:?}");
    assert!(said.iter().any(|s| s.contains("BackOff")), "other events still show: {said:?}");
    // Space is the responder's emergency stop to their facilitator, never a stop asked of
    // whoever holds the cluster lock; and the lock is never taken over by a responder.
    let fx = d.r.key(KeyCode::Char(' '));
    assert!(!fx.iter().any(|e| matches!(e, Effect::RequestStop)), "{fx:?}");
    assert!(matches!(d.r.s.book.timeline.last().map(|e| &e.kind), Some(EntryKind::DrillMark { mark: Mark::Stop, .. })));
    let fx = d.r.advance(60_000);
    assert!(!fx.iter().any(|e| matches!(e, Effect::TakeOver { .. })), "{fx:?}");
}

#[test]
fn only_what_the_other_side_needs_is_carried_to_another_machine() {
    let mut d = Drill::new();
    let fx = d.f.command("inject pod-delete sock-shop/carts");
    d.f.run_effects(fx);
    d.r.key(KeyCode::Char('d'));
    d.exchange();
    let carried = |h: &Harness, responder: bool| -> Vec<String> {
        h.s.book
            .timeline
            .iter()
            .filter(|e| drill::for_peers(&e.kind, responder))
            .map(|e| serde_json::to_value(e).unwrap()["kind"].as_str().unwrap().to_string())
            .collect()
    };
    // The responder: their joining and their own marks (not what they read of the facilitator).
    assert_eq!(carried(&d.r, true), ["drill_joined", "drill_mark"]);
    // The facilitator: the session, the fault's course, the responder's mark; no health or
    // console chatter.
    let f = carried(&d.f, false);
    for want in ["session_start", "drill_joined", "inject_requested", "inject_confirmed", "drill_mark"] {
        assert!(f.contains(&want.to_string()), "{want} missing: {f:?}");
    }
    let all: Vec<String> =
        d.f.s
            .book
            .timeline
            .iter()
            .map(|e| serde_json::to_value(e).unwrap()["kind"].as_str().unwrap().to_string())
            .collect();
    assert!(all.len() > f.len(), "something stays on the facilitator's machine: {all:?}");
    // What the responder reads from the carried entries alone is what they read from the whole.
    let whole = gameday::timeline::drill::read(&d.f.s.book.timeline);
    let part: Vec<Entry> = d.f.s.book.timeline.iter().filter(|e| drill::for_peers(&e.kind, false)).cloned().collect();
    assert_eq!(format!("{:?}", gameday::timeline::drill::read(&part)), format!("{whole:?}"));
}
