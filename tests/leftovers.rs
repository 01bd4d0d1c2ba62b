//! Faults left behind by a dead process: found in its journal (never in a live session's, never
//! in another cluster's) and by markers, reverted, and written back into the journal that left
//! them; `gameday cleanup` lists or reverts them.

mod common;

use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use chrono::{TimeZone, Utc};
use common::fake::FakeBackend;
use gameday::cli::cleanup::{self, Which};
use gameday::model::{BackendInfo, Leftover, RevertHandle, Target};
use gameday::runtime::revert::revert_and_record;
use gameday::store::journal::{read, Journal};
use gameday::store::leftovers::in_journals;
use gameday::timeline::leftovers::{merge, unfinished};
use gameday::timeline::{report, EndReason, Entry, EntryKind};

fn handle(id: u64, what: &str) -> RevertHandle {
    RevertHandle { fault_id: id, summary: what.into(), data: serde_json::json!({ "what": what }) }
}

/// A session journal as a process that died mid-session would have left it.
fn session(session: &str, cluster: &str, faults: &[(u64, bool, bool)]) -> Vec<Entry> {
    let start = Utc.with_ymd_and_hms(2026, 11, 20, 9, 0, 0).unwrap();
    let mut kinds = vec![EntryKind::SessionStart {
        session: session.into(),
        backend: BackendInfo { kind: "fake".into(), cluster: cluster.into(), pod_word: "pod".into() },
        version: "test".into(),
    }];
    for &(id, confirmed, reverted) in faults {
        kinds.push(EntryKind::InjectRequested {
            fault: id,
            preset: "container-pause".into(),
            action: "container-pause".into(),
            target: Target::workload("shop", "web"),
            params: Default::default(),
            mode: None,
            duration_ms: 60_000,
            blast_radius: String::new(),
            hypothesis: String::new(),
        });
        kinds.push(EntryKind::InjectStarted { fault: id, handle: handle(id, "pause shop-web-1") });
        if confirmed {
            kinds.push(EntryKind::InjectConfirmed { fault: id, handle: handle(id, "paused shop-web-1") });
        }
        if reverted {
            kinds.push(EntryKind::RevertConfirmed { fault: id, attempt: 1, kept: Vec::new() });
        }
    }
    kinds
        .into_iter()
        .enumerate()
        .map(|(i, kind)| Entry { seq: i as u64 + 1, wall: start, t_ms: i as u64 * 1000, kind })
        .collect()
}

fn write(path: &Path, entries: &[Entry]) {
    let text: String = entries.iter().map(|e| serde_json::to_string(e).unwrap() + "\n").collect();
    std::fs::write(path, text).unwrap();
}

fn fake_info(cluster: &str) -> BackendInfo {
    BackendInfo { kind: "fake".into(), cluster: cluster.into(), pod_word: "pod".into() }
}

#[test]
fn a_fault_whose_handle_was_journaled_and_never_reverted_is_left_over() {
    let e = session("s1", "c", &[(1, true, true), (2, false, false), (3, true, false)]);
    let found = unfinished(&e, None);
    assert_eq!(found.iter().map(|l| l.fault_id).collect::<Vec<_>>(), [2, 3]);
    assert_eq!(found[0].what, "container-pause on shop/web (pause shop-web-1)", "prepared, never confirmed");
    assert_eq!(found[1].handle.summary, "paused shop-web-1", "the confirmed handle wins");
}

#[test]
fn live_sessions_and_other_clusters_are_not_leftovers() {
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("dead.jsonl"), &session("dead", "c", &[(1, true, false)]));
    write(&dir.path().join("other.jsonl"), &session("other", "elsewhere", &[(1, true, false)]));
    let live_path = dir.path().join("live.jsonl");
    write(&live_path, &session("live", "c", &[(1, true, false)]));
    let _held = Journal::open(&live_path).unwrap();
    assert!(Journal::open(&live_path).is_err(), "one writer per session");
    let (found, problems) = in_journals(dir.path(), &fake_info("c"));
    assert!(problems.is_empty());
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].session, "dead");
    assert_eq!(found[0].journal.as_deref(), Some(dir.path().join("dead.jsonl").as_path()));
    let marker = Leftover { found_by: "label gameday.session".into(), journal: None, ..found[0].clone() };
    let other = Leftover { session: "elsewhere".into(), ..marker.clone() };
    assert_eq!(merge(found, vec![marker, other]).len(), 2, "the journal's finding wins, markers add");
}

#[tokio::test]
async fn a_cleanup_is_written_into_the_journal_that_left_the_fault() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dead.jsonl");
    write(&path, &session("dead", "c", &[(1, true, false)]));
    let backend = FakeBackend::new("c");
    backend.fail_reverts.store(1, Ordering::SeqCst);
    let (found, _) = in_journals(dir.path(), &fake_info("c"));
    assert!(revert_and_record(&backend, &found[0], 1, "gameday cleanup").await.is_err());
    revert_and_record(&backend, &found[0], 2, "gameday cleanup").await.unwrap();
    assert_eq!(backend.reverted_ids(), [1]);
    let entries = read(&path).unwrap();
    let tail: Vec<String> = entries[entries.len() - 7..].iter().map(|e| e.kind.describe()).collect();
    assert_eq!(
        tail,
        [
            "the console stopped at +00:03 without recording its end (killed or crashed); nothing was watched after \
             that (recorded by gameday cleanup)",
            "ABORT fault #1 (gameday cleanup)",
            "fault #1 revert started (attempt 1)",
            "fault #1 revert FAILED (attempt 1): 503 from the fake; retrying",
            "fault #1 revert started (attempt 2)",
            "fault #1 revert confirmed (attempt 2)",
            "session ended: the console was killed (recorded by gameday cleanup)",
        ]
    );
    assert!(entries.windows(2).all(|w| w[1].seq == w[0].seq + 1), "numbering continues");
    assert!(matches!(
        &entries[entries.len() - 6].kind,
        EntryKind::FaultEnding { reason: EndReason::Aborted { .. }, .. }
    ));
    let md = report::render(&entries);
    assert!(md.contains("aborted (gameday cleanup); revert confirmed after 1 failed attempt"), "{md}");
    // Once reverted, nothing is left.
    assert!(in_journals(dir.path(), &fake_info("c")).0.is_empty());
}

#[tokio::test]
async fn gameday_cleanup_lists_then_reverts_by_session() {
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("a.jsonl"), &session("a", "c", &[(1, true, false)]));
    write(&dir.path().join("b.jsonl"), &session("b", "c", &[(1, true, false), (2, true, false)]));
    let backend = Arc::new(FakeBackend::new("c"));
    assert!(cleanup::run(backend.clone(), dir.path(), Which::List, "gameday cleanup").await.unwrap());
    assert!(backend.reverted_ids().is_empty(), "listing changes nothing");
    assert!(cleanup::run(backend.clone(), dir.path(), Which::Session("b".into()), "gameday cleanup").await.unwrap());
    assert_eq!(backend.reverted_ids(), [1, 2]);
    let (left, _) = cleanup::find(backend.as_ref(), dir.path()).await.unwrap();
    assert_eq!(left.iter().map(|l| l.session.as_str()).collect::<Vec<_>>(), ["a"]);
    assert!(cleanup::run(backend.clone(), dir.path(), Which::All, "gameday cleanup").await.unwrap());
    assert!(cleanup::find(backend.as_ref(), dir.path()).await.unwrap().0.is_empty());
}

#[tokio::test]
async fn a_revert_that_never_succeeds_is_reported_not_confirmed() {
    tokio::time::pause();
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("a.jsonl"), &session("a", "c", &[(1, true, false)]));
    let backend = Arc::new(FakeBackend::new("c"));
    backend.fail_reverts.store(u32::MAX, Ordering::SeqCst);
    assert!(!cleanup::run(backend.clone(), dir.path(), Which::All, "gameday cleanup").await.unwrap());
    assert_eq!(cleanup::find(backend.as_ref(), dir.path()).await.unwrap().0.len(), 1, "still left over");
}

/// A console killed (kill -9) with a fault live, its journal as it left it: the harness's
/// timeline up to the kill, on a cluster the fake backend answers for.
fn killed_with_a_fault_live() -> Vec<Entry> {
    let mut h = common::Harness::demo();
    h.advance(5_000);
    let fx = h.command("inject container-pause sock-shop/carts-db duration=5m");
    h.run_effects(fx);
    h.advance(12_000);
    h.command("note carts answers 503 while its db is paused");
    h.advance(3_000);
    let mut entries = h.s.book.timeline.clone();
    if let EntryKind::SessionStart { backend, .. } = &mut entries[0].kind {
        *backend = fake_info("c");
    }
    entries
}

#[tokio::test]
async fn the_report_of_a_session_killed_with_a_fault_live_and_recovered_by_cleanup() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("20261122-100000-test.jsonl");
    write(&path, &killed_with_a_fault_live());
    let backend = Arc::new(FakeBackend::new("c"));
    assert!(cleanup::run(backend.clone(), dir.path(), Which::All, "gameday cleanup").await.unwrap());
    assert_eq!(backend.reverted_ids(), [1]);
    let entries = read(&path).unwrap();
    let md = report::render(&entries);
    // What cleanup wrote is on today's clock, long after the session: the snapshot keeps the
    // session's own times and names those as LATER (and the revert's own milliseconds as N).
    let later_at = entries.iter().find(|e| matches!(e.kind, EntryKind::ConsoleLost { .. })).unwrap();
    let offsets = regex::Regex::new(r"\+\d{3,}:\d\d:\d\d").unwrap();
    let snap = offsets.replace_all(&md, "+LATER");
    let snap = snap.replace(&later_at.wall.format("%H:%M:%S").to_string(), "LATER");
    let unix = (later_at.wall.timestamp_millis() / 100_000).to_string();
    let snap = regex::Regex::new(&format!(r"{unix}\d{{5}}")).unwrap().replace_all(&snap, "LATER_MS");
    let snap = regex::Regex::new(r"(?m)\b\d+ ms( \||$)").unwrap().replace_all(&snap, "N ms$1");
    let snap =
        regex::Regex::new(r"confirmed \d+ min \d\d s after it").unwrap().replace_all(&snap, "confirmed LATER after it");
    insta::assert_snapshot!(snap);
    assert!(md.contains("aborted (gameday cleanup)"), "{md}");
    assert!(!md.contains("in progress"), "its end is on record: {md}");
}
