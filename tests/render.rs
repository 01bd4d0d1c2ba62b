//! Render snapshots (insta on ratatui's TestBackend) of the main screens, built from pure
//! state, plus colour checks on cells (snapshots hold only the text).

mod common;

use common::{support_only, Harness};
use gameday::app::fault::LOUD_AFTER_ATTEMPTS;
use gameday::app::Event;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::style::Color;
use ratatui::Terminal;

const W: u16 = 140;
const H: u16 = 42;

fn draw(h: &Harness) -> Terminal<TestBackend> {
    let mut term = Terminal::new(TestBackend::new(W, H)).unwrap();
    term.draw(|f| gameday::ui::draw(f, &h.s)).unwrap();
    term
}

/// The demo after a few seconds of traffic.
fn warm() -> Harness {
    let mut h = Harness::demo();
    h.advance(5_000);
    h
}

fn screen(term: &Terminal<TestBackend>) -> String {
    let buf = term.backend().buffer();
    (0..H).map(|y| (0..W).map(|x| buf[(x, y)].symbol()).collect::<String>() + "\n").collect()
}

fn row_of(term: &Terminal<TestBackend>, text: &str) -> u16 {
    let buf = term.backend().buffer();
    (0..H)
        .find(|y| (0..W).map(|x| buf[(x, *y)].symbol()).collect::<String>().contains(text))
        .unwrap_or_else(|| panic!("no row shows {text:?}"))
}

#[test]
fn main_screen() {
    insta::assert_snapshot!(draw(&warm()).backend());
}

#[test]
fn fault_live_with_the_red_bar_and_countdown() {
    let mut h = warm();
    let fx = h.command("inject network-latency sock-shop/carts latency_ms=90");
    h.run_effects(fx);
    h.advance(12_000);
    let term = draw(&h);
    insta::assert_snapshot!(term.backend());
    let bar = row_of(&term, "FAULT LIVE #1");
    assert_eq!(bar, 1, "the bar sits right under the header");
    let buf = term.backend().buffer();
    for x in [0, W / 2, W - 1] {
        assert_eq!(buf[(x, bar)].bg, Color::Red, "the bar is red across the screen (x={x})");
    }
}

#[test]
fn preset_picker_for_a_workload_shows_disabled_presets_with_the_reason() {
    let mut h = Harness::with_support(support_only(&[
        "pod-delete",
        "scale",
        "network-latency",
        "network-loss",
        "cpu-stress",
        "container-pause",
        "node-drain",
    ]));
    h.advance(5_000);
    h.key(KeyCode::Down);
    h.key(KeyCode::Enter);
    insta::assert_snapshot!(draw(&h).backend());
}

#[test]
fn target_selection_with_the_blast_radius_preview() {
    let mut h = warm();
    h.key(KeyCode::Char('i'));
    h.pick("pod-delete");
    h.key(KeyCode::Char('/'));
    h.typed("orders");
    h.key(KeyCode::Enter);
    h.key(KeyCode::Down);
    insta::assert_snapshot!(draw(&h).backend());
}

#[test]
fn confirmation_with_cancel_preselected() {
    let mut h = warm();
    h.key(KeyCode::Down);
    h.key(KeyCode::Enter);
    h.pick("pod-kill");
    h.key(KeyCode::Enter); // the form, with its defaults
    let term = draw(&h);
    insta::assert_snapshot!(term.backend());
    let y = row_of(&term, "[ Cancel ]");
    let line: String = (0..W).map(|x| term.backend().buffer()[(x, y)].symbol().to_string()).collect();
    let x = line.find("[ Cancel ]").unwrap() as u16;
    assert_eq!(term.backend().buffer()[(x + 2, y)].bg, h.s.theme.ui.selected_bg, "Cancel is highlighted");
}

#[test]
fn parameter_form_with_a_value_refused_in_place() {
    let mut h = warm();
    h.key(KeyCode::Down);
    h.key(KeyCode::Enter);
    h.pick("network-latency");
    h.key(KeyCode::Tab);
    h.typed("99999");
    let term = draw(&h);
    insta::assert_snapshot!(term.backend());
    let text = screen(&term);
    assert!(text.contains("latency_ms") && text.contains("default 300"), "{text}");
    assert!(text.contains("✖"), "the refusal is shown on its field: {text}");
}

#[test]
fn help_overlay_generated_from_the_key_table() {
    let mut h = warm();
    h.key(KeyCode::Char('?'));
    insta::assert_snapshot!(draw(&h).backend());
}

#[test]
fn note_editor() {
    let mut h = warm();
    h.key(KeyCode::Char('n'));
    h.typed("checkout p95 doubled,");
    h.send(Event::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::ALT)));
    h.typed("pager did not fire");
    insta::assert_snapshot!(draw(&h).backend());
}

#[test]
fn a_revert_that_keeps_failing_gets_loud() {
    let mut h = warm();
    let fx = h.command("inject container-pause sock-shop/carts-db");
    h.run_effects(fx);
    h.advance(3_000);
    h.sim.fail_next_reverts(u32::MAX);
    let fx = h.key(KeyCode::Char(' '));
    h.run_effects(fx);
    h.advance(2_000);
    assert!(
        matches!(h.s.fault.phase, gameday::app::fault::FaultPhase::Reverting { attempt, .. } if attempt > LOUD_AFTER_ATTEMPTS)
    );
    insta::assert_snapshot!(draw(&h).backend());
}

#[test]
fn command_line_and_filter() {
    let mut h = warm();
    h.key(KeyCode::Char('/'));
    h.typed("cat");
    h.key(KeyCode::Enter);
    h.key(KeyCode::Char(':'));
    h.typed("inject pod-delete sock-shop/catalogue");
    insta::assert_snapshot!(draw(&h).backend());
}

#[test]
fn health_colours_follow_the_theme() {
    let mut h = warm();
    let fx = h.command("inject container-pause sock-shop/carts-db");
    h.run_effects(fx);
    h.advance(4_000);
    for theme in ["default", "light", "high-contrast"] {
        h.command(&format!("theme {theme}"));
        let term = draw(&h);
        let t = &h.s.theme;
        assert_eq!(t.name, theme);
        let buf = term.backend().buffer();
        let y = row_of(&term, "● carts ");
        let dot = (0..W).find(|x| buf[(*x, y)].symbol() == "●" && *x > W / 3).unwrap();
        assert_eq!(buf[(dot, y)].fg, t.health.down, "{theme}: carts is down");
        let y = row_of(&term, "● catalogue ");
        let dot = (0..W).find(|x| buf[(*x, y)].symbol() == "●" && *x > W / 3).unwrap();
        assert_eq!(buf[(dot, y)].fg, t.health.healthy, "{theme}: catalogue is healthy");
        assert_eq!(buf[(0, row_of(&term, "FAULT LIVE"))].bg, t.abort_bar.bg, "{theme}");
    }
}

#[test]
fn a_huge_cluster_draws_only_the_visible_page() {
    use gameday::model::{Pod, PodPhase, Topology, TopologyDelta, Workload};
    let mut h = Harness::demo();
    let mut t = Topology::default();
    for w in 0..300 {
        t.upsert_workload(Workload {
            namespace: "big".into(),
            name: format!("svc-{w:03}"),
            kind: "Deployment".into(),
            desired: 4,
            ready: 4,
            note: None,
        });
        for p in 0..4 {
            t.upsert_pod(Pod {
                namespace: "big".into(),
                name: format!("svc-{w:03}-pod-{p}"),
                workload: Some(format!("svc-{w:03}")),
                node: Some("n1".into()),
                phase: PodPhase::Running,
                ready: true,
                restarts: 0,
                note: None,
                labels: Default::default(),
                caveats: Default::default(),
            });
        }
    }
    h.send(Event::Backend(TopologyDelta::Snapshot(t)));
    for _ in 0..200 {
        h.key(KeyCode::PageDown);
    }
    let term = draw(&h);
    let top = row_of(&term, "Topology · 1200 pods");
    let line: String = (0..W).map(|x| term.backend().buffer()[(x, top)].symbol().to_string()).collect();
    assert!(line.contains("· 1501/1501 "), "{line}");
    row_of(&term, "svc-299-pod-3");
}

#[test]
fn disconnected_with_a_stale_picture_and_readiness_health() {
    use gameday::model::TopologyDelta;
    use gameday::model::Workload;
    let mut h = Harness::demo();
    h.send(Event::Backend(TopologyDelta::Snapshot(common::compose_topology())));
    h.send(Event::Backend(TopologyDelta::UpsertWorkload(Workload {
        namespace: "shop".into(),
        name: "db".into(),
        kind: "compose service".into(),
        desired: 1,
        ready: 0,
        note: None,
    })));
    h.t = 4_000;
    h.send(Event::Backend(TopologyDelta::Connection { connected: false, detail: "engine unreachable".into() }));
    h.t = 9_000;
    h.send(Event::Tick);
    let term = draw(&h);
    insta::assert_snapshot!(term.backend());
    assert_eq!(term.backend().buffer()[(12, 0)].fg, h.s.theme.ui.error);
}

#[test]
fn faults_left_by_an_earlier_session() {
    let mut h = warm();
    h.send(Event::Leftovers { found: common::two_leftovers(), skipped: Vec::new() });
    let term = draw(&h);
    insta::assert_snapshot!(term.backend());
    assert_eq!(term.backend().buffer()[(0, row_of(&term, "LEFT BY EARLIER SESSIONS"))].bg, Color::Red);
}

#[test]
fn probes_panel_with_the_hypothesis_broken_and_the_confirmation_asking_again() {
    let mut h = Harness::demo();
    let file = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/sessions/demo.toml")).unwrap();
    let config = gameday::config::session_file::SessionConfig::parse("sessions/demo.toml", &file).unwrap();
    h.s.configure_steady(config);
    h.advance(5_000);
    insta::assert_snapshot!("probes_holding", draw(&h).backend());
    // After a latency fault the 30 s window still holds slow readings: an inject asks again.
    let fx = h.command("inject network-latency sock-shop/front-end latency_ms=900 duration=20s");
    h.run_effects(fx);
    h.advance(25_000);
    h.command("inject pod-delete sock-shop/orders");
    let term = draw(&h);
    insta::assert_snapshot!("probes_broken_confirmation", term.backend());
    row_of(&term, "NOT in steady state");
    row_of(&term, "[ Inject anyway ]");
}

#[test]
fn a_drill_responder_sees_health_and_their_marks_but_no_fault() {
    let mut h = Harness::demo();
    let mut fx = Vec::new();
    fx.extend(h.s.join_drill("20261122-100000-test", "cy", true));
    h.advance(5_000);
    h.key(KeyCode::Char('d'));
    let term = draw(&h);
    insta::assert_snapshot!(term.backend());
}

#[test]
fn the_start_screen() {
    use gameday::app::start::StartScreen;
    use gameday::timeline::listing::Summary;
    let earlier = |id: &str, state: &str| Summary {
        id: id.into(),
        journal: format!("{id}.jsonl").into(),
        started: "2026-11-24 10:00 UTC".into(),
        target: "sock-shop (simulated, 3 nodes) (demo)".into(),
        kind: "demo".into(),
        title: Some("Thursday Gameday".into()),
        faults: 2,
        steps: Some("1 held, 1 broken, 0 failed".into()),
        state: state.into(),
    };
    let mut screen = StartScreen::new(
        vec![("plans/demo.toml".into(), "Sock Shop checkout resilience".into())],
        &[earlier("20261124-101500-beef", "running"), earlier("20261124-100000-abcd", "ended: quit (q)")],
        |id| Some(format!("gameday --demo --drill {id}:0f3a9c41d2e87b65@192.168.1.20:41237")),
    );
    screen.on_key(&KeyEvent::new(KeyCode::Down, KeyModifiers::NONE));
    let themes = gameday::config::theme::load_themes(None).unwrap();
    let mut term = Terminal::new(TestBackend::new(120, 12)).unwrap();
    term.draw(|f| gameday::ui::start::draw(f, &screen, &themes["default"], "the demo cluster")).unwrap();
    insta::assert_snapshot!(term.backend());
}

fn draw_at(h: &Harness, w: u16, hgt: u16) -> Terminal<TestBackend> {
    let mut term = Terminal::new(TestBackend::new(w, hgt)).unwrap();
    term.draw(|f| gameday::ui::draw(f, &h.s)).unwrap();
    term
}

fn text(term: &Terminal<TestBackend>) -> String {
    let buf = term.backend().buffer();
    let area = buf.area;
    (0..area.height).map(|y| (0..area.width).map(|x| buf[(x, y)].symbol()).collect::<String>() + "\n").collect()
}

/// A session walking a run-sheet, with a fault live.
fn live_on_a_run_sheet() -> Harness {
    let mut h = warm();
    let plan = gameday::config::runsheet::RunSheet::parse_for(
        "plans/demo.toml",
        include_str!("../plans/demo.toml"),
        &gameday::config::preset::load_presets(None).unwrap(),
    )
    .unwrap();
    let fx = h.s.load_sheet(plan, false);
    h.run_effects(fx);
    // Its probes' first readings (a stop condition without one would make the inject ask).
    h.advance(2_000);
    let fx = h.command("inject network-latency sock-shop/carts latency_ms=90");
    h.run_effects(fx);
    h.advance(8_000);
    h
}

#[test]
fn at_80x24_with_a_fault_live_the_bar_names_the_abort_key_first() {
    let h = live_on_a_run_sheet();
    let term = draw_at(&h, 80, 24);
    insta::assert_snapshot!(term.backend());
    let screen = text(&term);
    let bar = screen.lines().nth(1).unwrap();
    // The key, then the time left, then what it is (the end is what a narrow screen cuts).
    assert!(bar.starts_with(" ■ SPACE aborts · 01:52 left of 02:00 · FAULT LIVE #1 network-latency"), "{bar}");
}

#[test]
fn at_80x24_with_a_fault_live_no_popup_covers_the_abort_bar_and_the_footer_keeps_help() {
    // Each popup a person can open while a fault is live, opened as they would.
    type Open = fn(&mut Harness);
    let popups: [(&str, Open); 6] = [
        ("the preset picker", |h| {
            h.key(KeyCode::Char('i'));
        }),
        ("the target list", |h| {
            h.key(KeyCode::Char('i'));
            h.pick("config-corrupt");
        }),
        ("the help", |h| {
            h.key(KeyCode::Char('?'));
        }),
        ("the note editor", |h| {
            h.key(KeyCode::Char('n'));
            h.typed("the pager fired");
        }),
        ("the command line", |h| {
            h.key(KeyCode::Char(':'));
            h.typed("note x");
        }),
        ("the quit question", |h| {
            h.key(KeyCode::Char('q'));
        }),
    ];
    for (what, open) in popups {
        let mut h = live_on_a_run_sheet();
        h.send(Event::Resize { width: 80, height: 24 });
        open(&mut h);
        let term = draw_at(&h, 80, 24);
        let screen = text(&term);
        let lines: Vec<&str> = screen.lines().collect();
        // The key that aborts from where they are: Space, or the chord in a text field.
        let typing = h.s.context().is_text();
        let bar = if typing {
            " ■ CTRL-G aborts (typing) · 01:52 left of 02:00"
        } else {
            " ■ SPACE aborts · 01:52 left of 02:00"
        };
        assert!(lines[1].starts_with(bar), "{what} covers the abort bar, or names the wrong key:\n{screen}");
        let buf = term.backend().buffer();
        for x in [0, 40, 79] {
            assert_eq!(buf[(x, 1)].bg, Color::Red, "{what}: the bar is red across (x={x})\n{screen}");
        }
        let footer = lines[23];
        if h.s.ui.input.is_some() {
            // The command line is the footer, and still names the chord at its end.
            assert!(footer.starts_with(':') && footer.contains("Ctrl-G abort · Esc close"), "{what}: {footer:?}");
            continue;
        }
        // Space, or Ctrl-G where Space is typed; first, so it is never cut off.
        assert!(
            footer.starts_with(" Space ABORT") || footer.starts_with(" Ctrl-G abort (typing)"),
            "{what}: the footer names the abort key first: {footer:?}\n{screen}"
        );
        // Help, where ? means help (not in a text field), next.
        let help = gameday::app::keymap::footer(h.s.context()).iter().any(|(_, what)| *what == "help");
        assert!(!help || footer.contains(" ? help"), "{what}: the footer keeps ? for help: {footer:?}\n{screen}");
    }
}

#[test]
fn at_160x48_with_a_run_sheet_and_a_fault_live_no_service_is_dropped() {
    let h = live_on_a_run_sheet();
    let term = draw_at(&h, 160, 48);
    insta::assert_snapshot!(term.backend());
    let screen = text(&term);
    for service in h.s.picture.health.keys() {
        let short = service.rsplit('/').next().unwrap();
        assert!(screen.contains(&format!("● {short} ")) || screen.contains("more:"), "{short} is not shown: {screen}");
    }
    assert!(screen.contains("● user-db "), "{screen}");
}

#[test]
fn a_panel_too_small_for_its_rows_says_how_many_more() {
    let h = live_on_a_run_sheet();
    let screen = text(&draw_at(&h, 100, 30));
    assert!(screen.contains(" more: "), "the health panel counts what it cannot show: {screen}");
}

#[test]
fn the_help_scrolls_on_a_small_screen() {
    let mut h = warm();
    h.send(Event::Resize { width: 80, height: 24 });
    h.key(KeyCode::Char('?'));
    let first = text(&draw_at(&h, 80, 24));
    assert!(first.contains("Help · rows 1-18 of"), "{first}");
    for _ in 0..200 {
        h.key(KeyCode::Down);
    }
    let last = text(&draw_at(&h, 80, 24));
    assert!(last.contains("Targets"), "scrolled to its end: {last}");
    // Up from the end moves at once (the scroll stops at the last row).
    h.key(KeyCode::Up);
    let up = text(&draw_at(&h, 80, 24));
    assert_ne!(up, last);
    h.key(KeyCode::Char('q'));
    assert!(matches!(h.s.ui.overlay, gameday::app::state::Overlay::None));
}

#[test]
fn the_status_line_never_says_what_is_no_longer_so() {
    let mut h = warm();
    h.command("note the pager fired");
    assert!(text(&draw_at(&h, 140, 42)).contains("note added to the timeline"));
    h.advance(14_000);
    assert!(text(&draw_at(&h, 140, 42)).contains("note added to the timeline"), "read for a while");
    h.advance(2_000);
    assert!(!text(&draw_at(&h, 140, 42)).contains("note added to the timeline"), "then gone");
    // A warning or an error stays long enough to be read after looking away.
    h.command("frobnicate");
    h.advance(50_000);
    assert!(text(&draw_at(&h, 140, 42)).contains("unknown command 'frobnicate'"));
    h.advance(11_000);
    assert!(!text(&draw_at(&h, 140, 42)).contains("unknown command"));
}

#[test]
fn the_helps_columns_never_run_into_each_other() {
    // Every width from the narrowest that shows two columns up: each left line ends before
    // the right column starts, with a space between them.
    let first = (80..400u16).find(|w| !gameday::app::keymap::help_columns(*w).1.is_empty()).unwrap();
    println!("two columns from {first} columns");
    for w in first..=first + 80 {
        let mut h = warm();
        h.send(Event::Resize { width: w, height: 60 });
        h.key(KeyCode::Char('?'));
        let term = draw_at(&h, w, 60);
        let buf = term.backend().buffer();
        let (left, right) = gameday::app::keymap::help_columns(w);
        assert!(!right.is_empty(), "two columns at {w}");
        // The right column's first section title, where it starts.
        let title = &right[0].title;
        let (x0, y0) = (0..60u16)
            .find_map(|y| {
                let row: String = (0..w).map(|x| buf[(x, y)].symbol()).collect();
                row.find(title.as_str()).map(|i| (row[..i].chars().count() as u16, y))
            })
            .unwrap_or_else(|| panic!("no {title} at {w}"));
        let rows = left.iter().map(|s| s.rows.len() + 1).sum::<usize>() as u16;
        for y in y0..(y0 + rows).min(58) {
            let gap = buf[(x0 - 1, y)].symbol();
            let row: String = (0..w).map(|x| buf[(x, y)].symbol()).collect();
            assert_eq!(gap, " ", "at width {w}, row {y} runs into the right column:\n{row}");
        }
    }
}
