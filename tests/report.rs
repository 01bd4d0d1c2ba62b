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
    let fx = gameday::app::steady::configure(&mut h.s, Default::default());
    h.run_effects(fx);
    h.advance(5_000);
    // 1: latency on carts, left to expire.
    let fx = h.command("inject network-latency sock-shop/carts latency_ms=150 duration=20s");
    h.run_effects(fx);
    h.advance(40_000);
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
    let fx = h.key(KeyCode::Char('q'));
    h.run_effects(fx);
    h.s.timeline.clone()
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
