//! The journal reader and writer against what crashes, upgrades and hand edits leave: a torn
//! last line, entries of unknown kinds or shapes, hostile text, garbage; and a session whose
//! console was killed gets the end it never wrote.

mod common;

use chrono::{TimeZone, Utc};
use gameday::model::{BackendInfo, RevertHandle, Target};
use gameday::store::journal;
use gameday::store::journal::Journal;
use gameday::store::leftovers::close_dead_sessions;
use gameday::timeline::leftovers::closing_entries;
use gameday::timeline::{Entry, EntryKind};

fn entry(seq: u64, kind: EntryKind) -> Entry {
    let start = Utc.with_ymd_and_hms(2026, 11, 20, 9, 0, 0).unwrap();
    Entry { seq, wall: start + chrono::Duration::seconds(seq as i64), t_ms: seq * 1000, kind }
}

fn demo() -> BackendInfo {
    BackendInfo { kind: "demo".into(), cluster: "sock-shop (simulated, 3 nodes)".into(), pod_word: "pod".into() }
}

fn start(session: &str) -> EntryKind {
    EntryKind::SessionStart { session: session.into(), backend: demo(), version: "test".into() }
}

fn requested(fault: u64) -> EntryKind {
    EntryKind::InjectRequested {
        fault,
        preset: "network-latency".into(),
        action: "network-latency".into(),
        target: Target::Workload { namespace: "sock-shop".into(), name: "carts".into() },
        params: Default::default(),
        mode: None,
        duration_ms: 60_000,
        blast_radius: "all 3 pods of sock-shop/carts".into(),
        hypothesis: "callers slow down".into(),
    }
}

fn handle(fault: u64) -> RevertHandle {
    RevertHandle { fault_id: fault, summary: "+300ms on carts".into(), data: serde_json::Value::Null }
}

fn lines(entries: &[Entry]) -> String {
    entries.iter().map(|e| serde_json::to_string(e).unwrap() + "\n").collect()
}

#[test]
fn a_torn_last_line_is_skipped_with_a_warning_and_a_resumed_journal_ends_it_first() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.jsonl");
    let good = lines(&[entry(1, start("s")), entry(2, requested(1))]);
    std::fs::write(&path, format!("{good}{{\"seq\":3,\"wall\":\"2026-11-2")).unwrap();
    let read = journal::read_all(&path).unwrap();
    assert_eq!(read.entries.len(), 2);
    assert_eq!(read.warnings.len(), 1);
    assert!(read.warnings[0].ends_with("s.jsonl:3: a torn last line (the console died while writing it) was skipped"));
    // Appending to it starts a line of its own.
    let mut j = Journal::open(&path).unwrap();
    j.append(&entry(
        3,
        EntryKind::Note {
            text: "after the crash".into(),
            tag: Default::default(),
            author: String::new(),
            fault: None,
            owner: String::new(),
            due: None,
        },
    ))
    .unwrap();
    drop(j);
    let read = journal::read_all(&path).unwrap();
    assert_eq!(read.entries.len(), 3, "{:?}", read.warnings);
    assert!(matches!(&read.entries[2].kind, EntryKind::Note { text, .. } if text == "after the crash"));
    assert!(read.warnings[0].contains("s.jsonl:3: skipped: not a timeline entry"), "{:?}", read.warnings);
}

#[test]
fn entries_of_unknown_kinds_or_shapes_are_kept_never_a_reason_to_reject_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.jsonl");
    let text = format!(
        "{}{}\n{}\n{}\n",
        lines(&[entry(1, start("s"))]),
        r#"{"seq":2,"wall":"2026-11-20T09:00:02Z","t_ms":2000,"kind":"quantum_fault","qubits":3}"#,
        r#"{"seq":3,"wall":"2026-11-20T09:00:03Z","t_ms":3000,"kind":"note","text":"a field from later","tag":"observation","mood":"calm"}"#,
        r#"{"seq":4,"wall":"2026-11-20T09:00:04Z","t_ms":4000,"kind":"note","text":42}"#,
    );
    std::fs::write(&path, text).unwrap();
    let read = journal::read_all(&path).unwrap();
    assert_eq!(read.entries.len(), 4, "{:?}", read.warnings);
    assert!(
        matches!(&read.entries[1].kind, EntryKind::Unknown { name, fields } if name == "quantum_fault" && fields["qubits"] == 3)
    );
    assert!(matches!(&read.entries[2].kind, EntryKind::Note { text, .. } if text == "a field from later"));
    assert!(matches!(&read.entries[3].kind, EntryKind::Unknown { name, .. } if name == "note"));
    assert_eq!(read.warnings.len(), 2, "{:?}", read.warnings);
    // The report is written all the same.
    let md = gameday::timeline::report::render(&read.entries);
    assert!(md.contains("quantum_fault"), "{md}");
}

#[test]
fn a_file_that_is_not_a_journal_is_an_error_naming_its_first_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.md");
    std::fs::write(&path, "# my notes\n").unwrap();
    let err = journal::read_all(&path).unwrap_err().to_string();
    assert!(err.contains("notes.md:1: not a timeline entry"), "{err}");
}

#[test]
fn hostile_text_in_a_journal_is_cleaned_when_it_is_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.jsonl");
    let note = EntryKind::Note {
        text: "fine\u{1b}]52;c;cHduZWQ=\u{7} \u{1b}[2Jreally".into(),
        tag: Default::default(),
        author: String::new(),
        fault: None,
        owner: String::new(),
        due: None,
    };
    std::fs::write(&path, lines(&[entry(1, start("s")), entry(2, note)])).unwrap();
    let read = journal::read(&path).unwrap();
    assert!(matches!(&read[1].kind, EntryKind::Note { text, .. } if text == "fine really"), "{:?}", read[1]);
}

#[test]
fn a_value_the_journal_cannot_hold_is_refused_at_input() {
    let mut h = common::Harness::demo();
    h.command("inject cpu-throttle sock-shop/carts cpus=NaN");
    let status = h.s.book.status.clone().unwrap().text;
    assert!(status.contains("cpus takes a finite number, not 'NaN'"), "{status}");
    h.command("inject cpu-throttle sock-shop/carts cpus=inf");
    assert!(h.s.book.status.clone().unwrap().text.contains("finite number"));
    assert!(!h.s.book.timeline.iter().any(|e| matches!(e.kind, EntryKind::InjectRequested { .. })));
}

#[test]
fn a_killed_demo_session_is_closed_truthfully() {
    // Killed with fault #1 live and fault #2 being prepared.
    let entries = vec![
        entry(1, start("s")),
        entry(2, requested(1)),
        entry(3, EntryKind::InjectStarted { fault: 1, handle: handle(1) }),
        entry(4, EntryKind::InjectConfirmed { fault: 1, handle: handle(1) }),
        entry(5, requested(2)),
    ];
    let closing = closing_entries(&entries, true, "found by session x");
    // Where the console stopped comes first: nothing was watched after its last entry.
    assert!(matches!(&closing[0], EntryKind::ConsoleLost { last_ms: 5000, by } if by == "found by session x"));
    assert!(
        matches!(&closing[1], EntryKind::FaultClosed { fault: 1, how } if how.starts_with("the console was killed; the simulated cluster died with it, so nothing is left"))
    );
    assert!(
        matches!(&closing[2], EntryKind::InjectNotApplied { fault: 2, reason } if reason.starts_with("the console died while preparing it"))
    );
    assert!(matches!(&closing[3], EntryKind::SessionEnd { reason } if reason.starts_with("the console was killed")));
    // On a cluster that outlives the console, the applied fault stays open (a leftover to
    // revert), the one being prepared was never applied, and the session is not over yet.
    let closing = closing_entries(&entries, false, "found by session x");
    assert_eq!(closing.len(), 2);
    assert!(matches!(&closing[1], EntryKind::InjectNotApplied { fault: 2, .. }));
    // Found again later: its loss is said once.
    let mut again = entries.clone();
    again.extend(closing.into_iter().enumerate().map(|(i, k)| entry(6 + i as u64, k)));
    assert!(closing_entries(&again, false, "found by session y").is_empty());
    // A finished session needs nothing.
    let mut done = entries.clone();
    done.push(entry(6, EntryKind::FaultClosed { fault: 1, how: "x".into() }));
    done.push(entry(7, EntryKind::InjectNotApplied { fault: 2, reason: "x".into() }));
    done.push(entry(8, EntryKind::SessionEnd { reason: "quit (q)".into() }));
    assert!(closing_entries(&done, true, "x").is_empty());

    // Appended to the dead session's journal; its report no longer says "still active".
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("s.jsonl"), lines(&entries)).unwrap();
    let said = close_dead_sessions(dir.path(), &demo(), true, "recorded by gameday cleanup");
    assert_eq!(said.len(), 1, "{said:?}");
    let after = journal::read(&dir.path().join("s.jsonl")).unwrap();
    assert_eq!(after.len(), 9);
    let md = gameday::timeline::report::render(&after);
    assert!(!md.contains("still active"), "{md}");
    assert!(!md.contains("by hand"), "{md}");
    assert!(md.contains("the simulated cluster died with it"), "{md}");
    // Done once: a second look finds nothing more to say.
    assert!(close_dead_sessions(dir.path(), &demo(), true, "again").is_empty());
}

#[test]
fn a_journal_with_a_line_twice_or_lines_out_of_order_is_read_as_it_was_written_and_said() {
    use gameday::timeline::EndReason;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("20261120-090000-dup1.jsonl");
    let e = [
        entry(1, start("20261120-090000-dup1")),
        entry(2, requested(1)),
        entry(3, EntryKind::InjectStarted { fault: 1, handle: handle(1) }),
        entry(4, EntryKind::InjectConfirmed { fault: 1, handle: handle(1) }),
        entry(5, EntryKind::FaultEnding { fault: 1, reason: EndReason::Expired }),
        entry(6, EntryKind::RevertStarted { fault: 1, attempt: 1 }),
        entry(7, EntryKind::RevertConfirmed { fault: 1, attempt: 1, kept: vec![] }),
        entry(8, EntryKind::SessionEnd { reason: "quit (q)".into() }),
    ];
    // Its inject confirmed twice (a bad merge), its revert before its inject (a hand edit).
    let order = [&e[0], &e[1], &e[6], &e[2], &e[3], &e[3], &e[4], &e[5], &e[7]];
    let text: String = order.iter().map(|e| serde_json::to_string(e).unwrap() + "\n").collect();
    std::fs::write(&path, text).unwrap();
    let read = journal::read_all(&path).unwrap();
    let seqs: Vec<u64> = read.entries.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, [1, 2, 3, 4, 5, 6, 7, 8], "each once, in the order written");
    let at = |line: usize| format!("{}:{line}: ", path.display());
    assert!(
        read.warnings.iter().any(|w| w.starts_with(&at(4)) && w.contains("entry 3 comes after entry 7 (line 3)")),
        "{:?}",
        read.warnings
    );
    assert!(
        read.warnings.iter().any(|w| w.starts_with(&at(6)) && w.contains("entry 4 again (first on line 5)")),
        "{:?}",
        read.warnings
    );
    // `gameday report` says so, and its report has one fault, reverted after it began.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gameday"))
        .args(["report", path.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&at(4)) && stderr.contains(&at(6)), "{stderr}");
    let md = String::from_utf8_lossy(&out.stdout);
    let faults: Vec<&str> = md.lines().filter(|l| l.starts_with("| 1 | network-latency")).collect();
    assert_eq!(faults.len(), 1, "{md}");
    assert!(faults[0].contains("| +00:04 | +00:07 | expired |"), "{}", faults[0]);
    // --resume reads it the same way, and says the same.
    let (_, resumed) = gameday::runtime::resume::resumable(dir.path(), "20261120-090000-dup1", &demo()).unwrap();
    assert_eq!(resumed.entries, read.entries);
    assert_eq!(resumed.warnings, read.warnings);
}
