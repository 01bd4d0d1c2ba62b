//! The Markdown report: a snapshot of a whole scripted session (faults that expired, were
//! aborted, and whose revert failed for a while), hostile note text, and `gameday report`.

mod common;

use std::process::Command;

use common::Harness;
use gameday::timeline::{report, Entry};
use ratatui::crossterm::event::KeyCode;

fn session() -> Vec<Entry> {
    let mut h = Harness::demo();
    // As the console starts: the default hypothesis (no session file) is declared.
    let fx = h.s.configure_steady(Default::default());
    h.run_effects(fx);
    h.advance(5_000);
    // 1: latency on carts, left to expire.
    let fx = h.command("inject network-latency sock-shop/carts latency_ms=150 duration=20s");
    h.run_effects(fx);
    h.advance(12_000);
    h.command("alert CartsHighLatency fired paged #carts | <b>on-call</b>");
    h.advance(28_000);
    // 2: pause carts-db, aborted with Space after 5 s.
    let fx = h.command("inject container-pause sock-shop/carts-db");
    h.run_effects(fx);
    h.advance(5_000);
    h.command("note carts | orders </td><script>alert('x')</script> ![pixel](http://evil/x.png) **bold**");
    let fx = h.key(KeyCode::Char(' '));
    h.run_effects(fx);
    h.advance(20_000);
    // 3: a refused second inject, then scale-to-zero whose revert fails twice.
    let fx = h.command("inject scale-to-zero sock-shop/payment");
    h.run_effects(fx);
    h.command("inject pod-kill sock-shop/user");
    h.advance(3_000);
    h.sim.fail_next_reverts(2);
    let fx = h.key(KeyCode::Char(' '));
    h.run_effects(fx);
    h.advance(30_000);
    h.command("note pager fired at +1:05\nsecond line");
    h.command("note action: carts needs a timeout <300ms> | owner: team-cart");
    // After its fault ended: still its fault's.
    h.command("alert PaymentDown silent");
    h.command("action @ben due:2026-12-14 alert on payment's replicas | [link](http://x)");
    let fx = h.key(KeyCode::Char('q'));
    h.run_effects(fx);
    h.s.book.timeline.clone()
}

#[test]
fn report_of_a_scripted_session() {
    let md = report::render(&session());
    insta::assert_snapshot!(md);
    // Hostile text cannot break out of the list or table, inject HTML or load an image.
    assert!(!md.contains("<script>") && !md.contains("</td>"));
    assert!(!md.contains("![pixel]"));
    for line in md.lines().filter(|l| l.starts_with('|')) {
        let cells = line.matches('|').count() - line.matches("\\|").count();
        let header = if line.starts_with("| Time") || line.contains("| Wall") { 4 } else { cells };
        assert_eq!(cells, header, "a row with a stray cell: {line}");
    }
}

#[test]
fn gameday_report_writes_the_same_document_from_the_journal() {
    let entries = session();
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("s.jsonl");
    let text: String = entries.iter().map(|e| serde_json::to_string(e).unwrap() + "\n").collect();
    std::fs::write(&journal, &text).unwrap();
    let out = dir.path().join("out.md");
    let status = Command::new(env!("CARGO_BIN_EXE_gameday"))
        .args(["report", journal.to_str().unwrap(), "-o", out.to_str().unwrap()])
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(std::fs::read_to_string(&out).unwrap(), report::render(&entries));

    // A torn last line (the process died mid-write) is skipped with a warning; so is a line
    // that is not an entry elsewhere (named); the report is written all the same.
    std::fs::write(&journal, format!("{text}{{\"seq\":99,\"wa")).unwrap();
    let ok = Command::new(env!("CARGO_BIN_EXE_gameday")).args(["report", journal.to_str().unwrap()]).output().unwrap();
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    let err = String::from_utf8_lossy(&ok.stderr);
    assert!(err.contains("a torn last line (the console died while writing it) was skipped"), "{err}");
    let mut lines: Vec<&str> = text.lines().collect();
    lines[2] = "not json";
    std::fs::write(&journal, lines.join("\n")).unwrap();
    let bad = Command::new(env!("CARGO_BIN_EXE_gameday")).args(["report", journal.to_str().unwrap()]).output().unwrap();
    assert!(bad.status.success());
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains("s.jsonl:3: skipped: not a timeline entry"), "{err}");
    // A file that is not a journal at all is an error naming it.
    std::fs::write(&journal, "# notes\n").unwrap();
    let bad = Command::new(env!("CARGO_BIN_EXE_gameday")).args(["report", journal.to_str().unwrap()]).output().unwrap();
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("s.jsonl:1: not a timeline entry"));
}

/// The report's chart block.
fn chart(md: &str) -> String {
    md.lines().skip_while(|l| *l != "```mermaid").skip(1).take_while(|l| *l != "```").collect::<Vec<_>>().join("\n")
}

#[test]
fn the_chart_means_what_the_journal_says() {
    let entries = session();
    let md = report::render(&entries);
    let chart = chart(&md);
    assert!(chart.contains("dateFormat HH:mm:ss.SSS"), "times since the session's start: {chart}");
    let bars = gameday::timeline::gantt::parse(&chart);
    let origin = 0;
    for f in gameday::timeline::faults::faults(&entries) {
        let label = format!("fault {} {} {}", f.id, f.preset, f.target);
        let (_, start, end) = bars.iter().find(|b| b.0 == label).unwrap_or_else(|| panic!("no bar {label}: {chart}"));
        assert_eq!(*start, origin + f.injected_ms.unwrap() as i64, "{label} starts at its inject");
        assert_eq!(*end, origin + f.reverted_ms.unwrap() as i64, "{label} ends at its confirmed revert");
    }
    for (label, start, end) in &bars {
        assert!(start < end, "{label}: {start} < {end}");
        assert!(*start >= origin && *end <= origin + entries.last().unwrap().t_ms as i64 + 1000, "{label}");
    }
}

/// The chart drawn by a real Mermaid engine in time zone `tz`: `--ticks` gives the axis's
/// labels, else the bars.
fn mermaid(chart: &str, tz: &str, ticks: bool) -> serde_json::Value {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/mermaid/gantt_bars.py");
    let mut cmd = Command::new(std::env::var("GAMEDAY_PYTHON").unwrap_or_else(|_| "python3".into()));
    cmd.arg(script).env("TZ", tz);
    if ticks {
        cmd.arg("--ticks");
    }
    let mut child = cmd
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python3");
    use std::io::Write as _;
    child.stdin.take().unwrap().write_all(chart.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "mermaidx (pip install mermaidx): {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
#[ignore = "needs PyPI's mermaidx (a real Mermaid engine in QuickJS): .ci/run installs it"]
fn the_chart_reads_the_same_in_every_time_zone() {
    let md = report::render(&session());
    let chart = chart(&md);
    let utc = mermaid(&chart, "UTC", true);
    let ticks: Vec<&str> = utc.as_array().unwrap().iter().filter_map(|t| t.as_str()).collect();
    assert!(ticks.len() >= 3 && ticks.iter().all(|t| t.starts_with("+00:0")), "from the session's start: {ticks:?}");
    // Half-hour and whole-hour zones on both sides of UTC, one with daylight saving.
    for tz in ["Asia/Kolkata", "America/St_Johns", "Pacific/Auckland", "America/Los_Angeles"] {
        assert_eq!(mermaid(&chart, tz, true), utc, "the axis in {tz}");
        assert_eq!(mermaid(&chart, tz, false), mermaid(&chart, "UTC", false), "the bars in {tz}");
    }
}

#[test]
#[ignore = "needs PyPI's mermaidx (a real Mermaid engine in QuickJS): .ci/run installs it"]
fn a_real_mermaid_engine_draws_each_bar_where_its_times_say() {
    let md = report::render(&session());
    let chart = chart(&md);
    let times = gameday::timeline::gantt::parse(&chart);
    let drawn: Vec<serde_json::Value> = serde_json::from_value(mermaid(&chart, "UTC", false)).unwrap();
    assert_eq!(drawn.len(), times.len(), "{drawn:?}");
    // One time axis for every bar: x = a + b * time, at both ends of each bar (bars in the order
    // the chart defines them).
    let bar = |i: usize| {
        let d = &drawn[i];
        assert_eq!(d["label"], times[i].0.as_str(), "{drawn:?}");
        (d["x"].as_f64().unwrap(), d["x"].as_f64().unwrap() + d["width"].as_f64().unwrap())
    };
    let last = (0..times.len()).max_by_key(|i| times[*i].2).unwrap();
    let (x0, _) = bar(0);
    let (_, x1) = bar(last);
    let b = (x1 - x0) / (times[last].2 - times[0].1) as f64;
    let a = x0 - b * times[0].1 as f64;
    for (i, (label, start, end)) in times.iter().enumerate() {
        let (xs, xe) = bar(i);
        let (want_s, want_e) = (a + b * *start as f64, a + b * *end as f64);
        assert!(
            (xs - want_s).abs() < 2.0 && (xe - want_e).abs() < 2.0,
            "{label}: drawn {xs}..{xe}, its times say {want_s}..{want_e}"
        );
    }
}

/// The report's signal charts (xychart-beta blocks).
fn xycharts(md: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut lines = md.lines();
    while let Some(l) = lines.next() {
        if l == "```mermaid" {
            let block: Vec<&str> = lines.by_ref().take_while(|l| *l != "```").collect();
            if block.first() == Some(&"xychart-beta") {
                out.push(block.join("\n"));
            }
        }
    }
    out
}

/// A chart's line values, as written.
fn line_values(block: &str) -> Vec<f64> {
    let line = block.lines().find_map(|l| l.trim().strip_prefix("line [")).unwrap();
    line.trim_end_matches(']').split(", ").map(|v| v.parse().unwrap()).collect()
}

#[test]
#[ignore = "needs PyPI's mermaidx (a real Mermaid engine in QuickJS): .ci/run installs it"]
fn a_real_mermaid_engine_draws_each_signal_chart_as_its_readings_say() {
    let md = report::render(&session());
    let charts = xycharts(&md);
    assert!(charts.len() >= 4, "the session's faults moved p95 and success: {md}");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/mermaid/xychart_points.py");
    let mut child = Command::new(std::env::var("GAMEDAY_PYTHON").unwrap_or_else(|_| "python3".into()))
        .arg(script)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python3");
    use std::io::Write as _;
    child.stdin.take().unwrap().write_all(charts.join("\n---\n").as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "mermaidx (pip install mermaidx): {}", String::from_utf8_lossy(&out.stderr));
    let drawn: Vec<Vec<(f64, f64)>> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(drawn.len(), charts.len());
    for (block, points) in charts.iter().zip(&drawn) {
        let values = line_values(block);
        assert_eq!(points.len(), values.len(), "one point per reading: {block}");
        // Left to right, evenly spaced.
        let dx = points[1].0 - points[0].0;
        assert!(points.windows(2).all(|w| (w[1].0 - w[0].0 - dx).abs() < 0.5), "{block}: {points:?}");
        // Heights on one linear scale: y = a - b * value, higher values drawn higher up.
        let (lo, hi) = (0..values.len()).fold((0, 0), |(lo, hi), i| {
            (if values[i] < values[lo] { i } else { lo }, if values[i] > values[hi] { i } else { hi })
        });
        if values[hi] == values[lo] {
            continue;
        }
        let b = (points[lo].1 - points[hi].1) / (values[hi] - values[lo]);
        assert!(b > 0.0, "{block}");
        for (v, (_, y)) in values.iter().zip(points) {
            let want = points[lo].1 - b * (v - values[lo]);
            assert!((y - want).abs() < 1.0, "{block}: {v} drawn at {y}, its scale says {want}");
        }
    }
}

fn at(seq: u64, kind: gameday::timeline::EntryKind) -> Entry {
    Entry { seq, wall: common::start() + chrono::Duration::seconds(seq as i64), t_ms: seq * 1000, kind }
}

#[test]
fn the_title_is_the_sessions_and_every_step_is_named_with_its_verdict_even_when_not_run() {
    use gameday::timeline::EntryKind;
    let mut entries = session();
    let last = entries.last().map(|e| e.seq).unwrap_or(0);
    entries.insert(
        1,
        at(
            last + 1,
            EntryKind::PlanLoaded {
                title: "Carts under pressure".into(),
                facilitator: "ana".into(),
                environment: "staging".into(),
                participants: vec![],
                steps: 3,
                names: vec!["latency on carts".into(), "the db pauses".into(), "payment scaled away".into()],
            },
        ),
    );
    let md = report::render(&entries);
    assert!(md.starts_with("# Gameday report: Carts under pressure\n"), "the run-sheet's title: {md}");
    for (n, name) in [(1, "latency on carts"), (2, "the db pauses"), (3, "payment scaled away")] {
        assert!(md.contains(&format!("| {n}. {name} | - | | | - | **not run** |")), "step {n} named: {md}");
    }
    // `:title` wins over the run-sheet's.
    entries.push(at(
        last + 2,
        EntryKind::SessionDetails { title: Some("Q4 resilience day".into()), facilitator: None, participants: vec![] },
    ));
    let md = report::render(&entries);
    assert!(md.starts_with("# Gameday report: Q4 resilience day\n"), "{md}");
    // "Abort to revert" only for what was aborted; every revert's time in its own column.
    let expired = md.lines().find(|l| l.starts_with("| 1 | network-latency")).unwrap();
    assert!(expired.contains("| expired | 0 ms | - |"), "{expired}");
}

#[test]
fn expected_alerts_are_ticked_fired_or_silent_and_action_items_are_a_checklist_with_owners() {
    use gameday::timeline::EntryKind;
    let mut entries = session();
    let last = entries.last().map(|e| e.seq).unwrap_or(0);
    let step = EntryKind::StepStarted {
        step: 1,
        name: "latency on carts".into(),
        preset: "network-latency".into(),
        target: "sock-shop/carts".into(),
        hypothesis: "carts' callers page within a minute".into(),
        expected_alerts: vec!["CartsHighLatency".into(), "OrdersErrorBudget".into(), "PaymentDown".into()],
        checks: vec![],
    };
    entries.insert(1, at(last + 1, step));
    let md = report::render(&entries);
    let row = |name: &str| md.lines().find(|l| l.starts_with(&format!("| {name} |"))).unwrap_or_default().to_string();
    assert!(
        row("CartsHighLatency").contains("| step 1 | fired at +00:17")
            && row("CartsHighLatency").ends_with("| fired as expected |")
    );
    assert!(row("OrdersErrorBudget").ends_with("| step 1 | - | **not ticked** |"), "{md}");
    assert!(row("PaymentDown").ends_with("| **did not fire (expected to)** |"), "{md}");
    // The action items: a checklist, each with its owner and due date (or that it has none).
    assert!(
        md.contains(
            "- [ ] alert on payment's replicas \\| \\[link\\](http://x) (@ben, due 2026-12-14; written at +01:43)"
        ),
        "{md}"
    );
    assert!(md.contains("(**no owner**, no due date;"), "{md}");
    // The JSON says the same.
    let json = gameday::timeline::json::render(&entries);
    let alerts = json["alerts"].as_array().unwrap();
    let orders = alerts.iter().find(|a| a["name"] == "OrdersErrorBudget").unwrap();
    assert_eq!(orders["verdict"], "not ticked");
    assert_eq!(orders["expected_by_steps"], serde_json::json!([1]));
    let carts = alerts.iter().find(|a| a["name"] == "CartsHighLatency").unwrap();
    assert_eq!(carts["ticks"][0]["fired"], true);
    assert_eq!(carts["ticks"][0]["after_inject_ms"], 12_000);
    let ben = json["action_items"].as_array().unwrap().iter().find(|a| a["owner"] == "ben").unwrap();
    assert_eq!(ben["due"], "2026-12-14");
}
