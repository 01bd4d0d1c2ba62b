//! Ordinary accidents, end to end: the real binary in a pseudo-terminal, on the demo, driven the
//! way a person (or a terminal) would: pastes with and without bracketed paste, a stray `q`, a
//! held Space, signals, Ctrl-Z, a closed terminal, a killed console, no terminal at all, hostile
//! text, a slow disk and a full one.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::pty::{journal_entries, journal_kinds, Console};

const T: Duration = Duration::from_secs(15);

fn live(c: &mut Console, cmd: &str) {
    c.wait_for("carts-db", T);
    c.command(cmd);
    c.wait_for("FAULT LIVE #1", T);
}

fn count(kinds: &[String], kind: &str) -> usize {
    kinds.iter().filter(|k| *k == kind).count()
}

/// The paste of the report: two lines of notes and a stray `q`, newlines as a terminal sends
/// them (CR).
const PASTE: &str = "queue depth 42\rthen orders timed out\rq";

#[test]
fn a_paste_into_the_note_never_saves_it_quits_or_aborts_bracketed_or_not() {
    for bracketed in [true, false] {
        let mut c = Console::start(&["--demo"]);
        live(&mut c, "inject network-latency sock-shop/carts");
        c.send("n");
        c.wait_for("Note for the timeline", T);
        if bracketed {
            c.paste(PASTE);
        } else {
            // One write, as a terminal without bracketed paste sends it: newlines are Enter.
            c.send(PASTE);
        }
        c.wait_for("pasted 3 lines into the note", T);
        c.send("\r");
        c.wait_for("observation added to the timeline", T);
        c.wait_for("FAULT LIVE #1", T);
        c.send(" ");
        c.wait_reverted(1, T);
        c.send("q");
        assert_eq!(c.wait_exit(T), 0);
        let entries = journal_entries(&c.journal());
        let notes: Vec<&serde_json::Value> = entries.iter().filter(|e| e["kind"] == "note").collect();
        assert_eq!(notes.len(), 1, "bracketed {bracketed}: one note, whole");
        assert_eq!(notes[0]["text"], "queue depth 42\nthen orders timed out\nq");
        let ending = entries.iter().find(|e| e["kind"] == "fault_ending").unwrap();
        assert_eq!(ending["reason"]["aborted"]["by"], "Space", "bracketed {bracketed}: not aborted by the paste");
    }
}

#[test]
fn a_paste_outside_a_text_field_or_into_the_command_line_does_nothing_but_say_so() {
    let mut c = Console::start(&["--demo"]);
    live(&mut c, "inject network-latency sock-shop/carts");
    // Outside a text field: not a key of it acts (its spaces would abort, its q would quit).
    c.send(" then orders timed out\rq");
    c.wait_for("paste ignored: no text field has focus", T);
    c.paste("q q q");
    std::thread::sleep(Duration::from_millis(300));
    let screen = c.screen();
    assert!(screen.contains("FAULT LIVE #1") && !screen.contains("Quit?"), "{screen}");
    // Into the command line: joined, never run.
    c.send(":");
    std::thread::sleep(Duration::from_millis(100));
    c.paste("abort\rquit\r");
    c.wait_for("joined into one (a paste never presses Enter)", T);
    c.wait_for(":abort quit", T);
    assert!(c.screen().contains("FAULT LIVE #1"));
    c.send("\x1b");
    std::thread::sleep(Duration::from_millis(100));
    c.send("\x07"); // Ctrl-G aborts anywhere
    c.wait_reverted(1, T);
    let kinds = journal_kinds(&c.journal());
    assert!(!kinds.contains(&"session_end".to_string()), "{kinds:?}");
    assert_eq!(count(&kinds, "fault_ending"), 1);
}

#[test]
fn a_stray_q_with_a_fault_live_asks_first_and_popups_close_on_q() {
    let mut c = Console::start(&["--demo"]);
    live(&mut c, "inject network-latency sock-shop/carts");
    c.send("i");
    c.wait_for("Pick a fault", T);
    c.send("q");
    c.wait_gone("Pick a fault", T);
    c.send("q");
    c.wait_for("abort fault #1 (network-latency → sock-shop/carts) and quit? y/N", T);
    c.send("n");
    c.wait_for("not quitting", T);
    assert!(c.screen().contains("FAULT LIVE #1"));
    c.quit_answering("and quit? y/N");
    let entries = journal_entries(&c.journal());
    let ending = entries.iter().find(|e| e["kind"] == "fault_ending").unwrap();
    assert_eq!(ending["reason"]["aborted"]["by"], "q");
    assert_eq!(entries.last().unwrap()["reason"], "quit (q)");
}

#[test]
fn holding_space_sends_one_revert_and_records_the_repeat_once() {
    // Every API call of the demo takes 1 s, so the revert is in flight while the key repeats.
    let mut c = Console::start(&["--demo", "--demo-api-latency", "1s"]);
    live(&mut c, "inject network-latency sock-shop/carts");
    for _ in 0..100 {
        c.send(" ");
        std::thread::sleep(Duration::from_millis(8));
    }
    c.wait_gone("FAULT LIVE", T);
    let deadline = Instant::now() + T;
    while !journal_kinds(&c.journal()).contains(&"revert_confirmed".to_string()) {
        assert!(Instant::now() < deadline, "{:?}", journal_kinds(&c.journal()));
        std::thread::sleep(Duration::from_millis(50));
    }
    let kinds = journal_kinds(&c.journal());
    assert_eq!(count(&kinds, "revert_started"), 1, "{kinds:?}");
    assert_eq!(count(&kinds, "abort_repeated"), 1, "{kinds:?}");
    assert_eq!(count(&kinds, "fault_ending"), 1, "{kinds:?}");
}

#[test]
fn every_ending_signal_reverts_and_records_the_fault_like_sigterm() {
    for sig in ["QUIT", "USR1", "USR2", "ALRM", "PIPE"] {
        let mut c = Console::start(&["--demo"]);
        live(&mut c, "inject network-latency sock-shop/carts");
        c.signal(sig);
        assert_eq!(c.wait_exit(T), 0, "SIG{sig}: reverted, so a clean exit");
        assert!(!c.alternate_screen(), "SIG{sig}: the terminal is restored");
        let entries = journal_entries(&c.journal());
        let ending = entries.iter().find(|e| e["kind"] == "fault_ending").unwrap();
        assert_eq!(ending["reason"]["aborted"]["by"], format!("SIG{sig}"));
        assert!(entries.iter().any(|e| e["kind"] == "revert_confirmed"), "SIG{sig}");
        assert_eq!(entries.last().unwrap()["reason"], format!("quit (SIG{sig})"));
    }
}

fn process_state(pid: i32) -> char {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    stat.rsplit(')').next().unwrap().trim().chars().next().unwrap()
}

fn wait_state(pid: i32, want: char) {
    let deadline = Instant::now() + T;
    while process_state(pid) != want {
        assert!(Instant::now() < deadline, "process {pid} never reached state {want}");
        std::thread::sleep(Duration::from_millis(25));
    }
}

#[test]
fn ctrl_z_is_refused_while_a_fault_is_live_and_the_console_comes_back_whole_after_sigcont() {
    let mut c = Console::start(&["--demo"]);
    live(&mut c, "inject network-latency sock-shop/carts");
    c.signal("TSTP");
    c.wait_for("not suspended (SIGTSTP): fault #1 is live", T);
    c.send("\x1a"); // Ctrl-Z, as a key in raw mode
    c.wait_for("not suspended (Ctrl-Z): fault #1 is live", T);
    assert_eq!(process_state(c.pid()), 'S');
    c.send(" ");
    c.wait_reverted(1, T);
    // Nothing live: Ctrl-Z stops the console and gives the terminal back.
    c.send("\x1a");
    wait_state(c.pid(), 'T');
    assert!(!c.alternate_screen(), "the terminal is given back while stopped");
    c.signal("CONT");
    c.wait_for("running again (SIGCONT)", T);
    assert!(c.alternate_screen(), "and taken again, whole");
    c.wait_for("Service health", T);
    c.send("q");
    assert_eq!(c.wait_exit(T), 0);
}

#[test]
fn a_fault_whose_deadline_passed_while_the_console_was_stopped_is_reverted_on_sigcont() {
    let mut c = Console::start(&["--demo"]);
    live(&mut c, "inject network-latency sock-shop/carts duration=2s");
    c.signal("STOP");
    wait_state(c.pid(), 'T');
    std::thread::sleep(Duration::from_secs(6));
    c.signal("CONT");
    c.wait_reverted(1, T);
    let entries = journal_entries(&c.journal());
    let ending = entries.iter().find(|e| e["kind"] == "fault_ending").unwrap();
    assert_eq!(ending["reason"], "expired");
    assert!(ending["t_ms"].as_u64().unwrap() >= 4000, "the deadline passed while it was stopped");
    // Recorded as such: how long the console did not run, and the end it made late.
    let stopped = entries.iter().find(|e| e["kind"] == "console_stopped").expect("the stop is recorded");
    assert!(stopped["for_ms"].as_u64().unwrap() >= 5_500, "{stopped}");
    assert_eq!(stopped["fault"], 1);
    assert!(stopped["seq"].as_u64() < ending["seq"].as_u64(), "said before the end it made late");
    c.command("export");
    let report = c.journal().with_extension("md");
    let deadline = Instant::now() + T;
    while !report.exists() {
        assert!(Instant::now() < deadline, "no report at {}", report.display());
        std::thread::sleep(Duration::from_millis(50));
    }
    let md = std::fs::read_to_string(&report).unwrap();
    assert!(md.contains("while the console did not run ("), "{md}");
}

#[test]
fn closing_the_terminal_reverts_and_exits_without_a_panic() {
    let mut c = Console::start(&["--demo"]);
    live(&mut c, "inject network-latency sock-shop/carts");
    c.close_terminal();
    let code = c.wait_exit(T);
    assert_ne!(code, 101, "no panic");
    assert_eq!(code, 0);
    let kinds = journal_kinds(&c.journal());
    assert!(kinds.ends_with(&["revert_started".into(), "revert_confirmed".into(), "session_end".into()]), "{kinds:?}");
    let entries = journal_entries(&c.journal());
    let by = entries.iter().find(|e| e["kind"] == "fault_ending").unwrap()["reason"]["aborted"]["by"].clone();
    assert!(by == "SIGHUP" || by == "terminal closed" || by == "terminal lost", "{by}");
}

#[test]
fn without_a_terminal_the_console_says_so_and_leaves_no_session() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_gameday"))
        .arg("--demo")
        .env("HOME", dir.path())
        .env("GAMEDAY_DATA_DIR", dir.path().join("data"))
        .env("GAMEDAY_CONFIG_DIR", dir.path().join("config"))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&out.stderr), "gameday needs a terminal (use `gameday run` for headless)\n");
    assert!(!dir.path().join("data/sessions").exists(), "no session was created (the log may be written)");
}

#[test]
fn a_demo_killed_with_a_fault_live_gets_a_truthful_end_from_cleanup_and_from_the_next_start() {
    let mut c = Console::start(&["--demo"]);
    live(&mut c, "inject network-latency sock-shop/carts");
    c.signal("KILL");
    c.wait_exit(T);
    let journal = c.journal();
    let dir = c.into_dir();
    // Before anything closes it, its report is already true: the fault died with the simulated
    // cluster, where the console was lost; the journal is not changed by reading it.
    let before = std::fs::read(&journal).unwrap();
    let report = Command::new(env!("CARGO_BIN_EXE_gameday")).arg("report").arg(&journal).output().unwrap();
    let md = String::from_utf8_lossy(&report.stdout);
    assert!(md.contains("the simulated cluster died with it"), "{md}");
    assert!(!md.contains("still active") && !md.contains("no end is recorded"), "{md}");
    assert!(String::from_utf8_lossy(&report.stderr).contains("no end on record and no console has its journal open"));
    assert_eq!(std::fs::read(&journal).unwrap(), before);
    let out = Command::new(env!("CARGO_BIN_EXE_gameday"))
        .args(["cleanup", "--demo"])
        .env("HOME", dir.path())
        .env("GAMEDAY_DATA_DIR", dir.path().join("data"))
        .env("GAMEDAY_CONFIG_DIR", dir.path().join("config"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("the simulated cluster died with it, so nothing is left"), "{said}");
    let kinds = journal_kinds(&journal);
    assert!(kinds.ends_with(&["fault_closed".into(), "session_end".into()]), "{kinds:?}");
    let report = Command::new(env!("CARGO_BIN_EXE_gameday")).arg("report").arg(&journal).output().unwrap();
    let md = String::from_utf8_lossy(&report.stdout);
    assert!(!md.contains("still active") && !md.contains("by hand"), "{md}");

    // Killed again, and this time the next console finds it.
    let mut c = Console::start_in(dir, &["--demo", "--new"], &[]);
    live(&mut c, "inject container-pause sock-shop/carts-db");
    c.signal("KILL");
    c.wait_exit(T);
    let dir = c.into_dir();
    let sessions = dir.path().join("data/sessions");
    let second = std::fs::read_dir(&sessions)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "jsonl") && *p != journal)
        .unwrap();
    let c = Console::start_in(dir, &["--demo", "--new"], &[]);
    c.wait_for("carts-db", T);
    let deadline = Instant::now() + T;
    while !journal_kinds(&second).ends_with(&["fault_closed".into(), "session_end".into()]) {
        assert!(Instant::now() < deadline, "{:?}", journal_kinds(&second));
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn hostile_text_in_a_run_sheet_never_reaches_the_terminal_or_the_ci_log() {
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("hostile.toml");
    std::fs::write(
        &plan,
        "title = \"Gameday\\u001b]52;c;cHduZWQ=\\u0007 \\u001b]0;owned\\u0007\\u001b[2J\"\n\
         [[step]]\nname = \"carts \\u009b31m\\u001b[5mslow\"\npreset = \"pod-delete\"\ntarget = \"sock-shop/carts\"\n\
         duration = \"2s\"\nobserve = \"1s\"\nhypothesis = \"nothing <b>breaks</b> ```\\n```mermaid\"\n",
    )
    .unwrap();
    let plan_arg = plan.to_str().unwrap();
    let mut c = Console::start_in(dir, &["--demo", "--plan", plan_arg], &[]);
    c.wait_for("carts-db", T);
    c.wait_for("Gameday", T);
    c.send("?");
    c.send("\x1b");
    std::thread::sleep(Duration::from_millis(300));
    let raw = c.raw();
    let has = |needle: &[u8]| raw.windows(needle.len()).any(|w| w == needle);
    assert!(!has(b"\x1b]52"), "OSC 52 (clipboard) reached the terminal");
    assert!(!has(b"\x1b]0;"), "OSC 0 (title) reached the terminal");
    assert!(!has("\u{9b}".as_bytes()), "8-bit CSI reached the terminal");
    c.send("q");
    c.wait_for("1 run-sheet step is not finished: end the session and quit? y/N", T);
    c.send("y");
    c.wait_exit(T);

    // Headless: the CI log is clean too.
    let out = Command::new(env!("CARGO_BIN_EXE_gameday"))
        .args(["run", plan_arg, "--demo", "--demo-tick-ms", "100"])
        .env("GAMEDAY_DATA_DIR", c.dir.path().join("data2"))
        .env("GAMEDAY_CONFIG_DIR", c.dir.path().join("config"))
        .output()
        .unwrap();
    let log = [out.stdout, out.stderr].concat();
    assert!(!log.contains(&0x1b), "an escape reached the CI log: {}", String::from_utf8_lossy(&log));
    assert!(String::from_utf8_lossy(&log).contains("Gameday"), "{}", String::from_utf8_lossy(&log));
}

/// Makes every fsync/fdatasync of `pid` take `ms`, with Debian's strace (a slow disk).
struct SlowDisk(std::process::Child);

impl SlowDisk {
    fn attach(pid: i32, ms: u64) -> SlowDisk {
        let us = ms * 1000;
        let child = Command::new("strace")
            .args(["-f", "-qq", "-e", "trace=fdatasync,fsync"])
            .arg("-e")
            .arg(format!("inject=fdatasync:delay_exit={us}"))
            .arg("-e")
            .arg(format!("inject=fsync:delay_exit={us}"))
            .args(["-o", "/dev/null", "-p", &pid.to_string()])
            .spawn()
            .expect("strace (apt-get install strace)");
        std::thread::sleep(Duration::from_millis(500)); // attached to every thread
        SlowDisk(child)
    }
}

impl Drop for SlowDisk {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
#[ignore = "needs strace and ptrace: CI installs strace"]
fn the_abort_never_waits_on_a_slow_disk() {
    let mut c = Console::start(&["--demo"]);
    live(&mut c, "inject network-latency sock-shop/carts");
    let slow = SlowDisk::attach(c.pid(), 4000);
    let pressed = Instant::now();
    c.send(" ");
    c.wait_for("fault #1 reverted (confirmed)", T);
    // Confirmed on screen before the disk took even the abort's first entries.
    let on_screen = pressed.elapsed();
    let kinds = journal_kinds(&c.journal());
    assert!(!kinds.contains(&"revert_confirmed".to_string()), "{kinds:?}");
    assert!(on_screen < Duration::from_secs(4), "{on_screen:?}");
    drop(slow);
    c.send("q");
    assert_eq!(c.wait_exit(T), 0);
    let kinds = journal_kinds(&c.journal());
    assert!(kinds.contains(&"revert_confirmed".to_string()), "then all of it is written: {kinds:?}");
    assert_eq!(kinds.last().map(String::as_str), Some("session_end"));
}

/// Waits until the journal has an entry of this kind (what lasts, not a status line); the kinds.
fn wait_journal(c: &Console, kind: &str, timeout: Duration) -> Vec<String> {
    let deadline = Instant::now() + timeout;
    loop {
        let kinds = journal_kinds(&c.journal());
        if kinds.iter().any(|k| k == kind) {
            return kinds;
        }
        assert!(Instant::now() < deadline, "the journal never got {kind}: {kinds:?}\n{}", c.screen());
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
#[ignore = "needs strace and ptrace: CI installs strace"]
fn an_abort_during_the_injects_durable_write_means_the_inject_is_never_sent() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("calls.log");
    let log_arg = log.to_string_lossy().to_string();
    let mut c = Console::start_in(dir, &["--demo", "--demo-call-log", &log_arg], &[]);
    c.wait_for("carts-db", T);
    // Every sync takes a second: the entry that says how to undo the fault is slow to be durable.
    let slow = SlowDisk::attach(c.pid(), 1000);
    c.command("inject pod-delete sock-shop/carts");
    std::thread::sleep(Duration::from_millis(300));
    c.send(" ");
    let kinds = wait_journal(&c, "inject_not_applied", Duration::from_secs(30));
    drop(slow);
    // Give a late inject every chance to show up: it must not.
    std::thread::sleep(Duration::from_millis(1500));
    let calls = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(calls.contains("prepare 1"), "prepare is read-only and may run: {calls}");
    assert!(!calls.contains("inject 1"), "the inject was sent after the abort:\n{calls}");
    let kinds_now = journal_kinds(&c.journal());
    assert!(!kinds_now.contains(&"inject_confirmed".to_string()), "{kinds_now:?}");
    assert!(!kinds_now.contains(&"revert_started".to_string()), "nothing to revert: {kinds_now:?}");
    let ending = kinds.iter().position(|k| k == "fault_ending").expect("the abort is recorded");
    let not_applied = kinds.iter().position(|k| k == "inject_not_applied").unwrap();
    assert!(ending < not_applied, "{kinds:?}");
    c.send("q");
    assert_eq!(c.wait_exit(T), 0);
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout == b"0\n")
}

/// A tiny tmpfs as the data directory (a full disk), unmounted when dropped.
struct TinyDisk(std::path::PathBuf);

impl TinyDisk {
    fn mount(at: &std::path::Path) -> TinyDisk {
        std::fs::create_dir_all(at).unwrap();
        let ok = Command::new("mount").args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"]).arg(at).status().unwrap();
        assert!(ok.success(), "mount tmpfs (needs root)");
        TinyDisk(at.to_path_buf())
    }
}

impl Drop for TinyDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

#[test]
#[ignore = "needs root: mounts a 64 KiB tmpfs as the data directory (CI runs as root)"]
fn a_full_disk_is_said_for_good_refuses_new_faults_keeps_abort_and_loses_nothing_acknowledged() {
    assert!(is_root(), "this test mounts a tmpfs: run it as root");
    let dir = tempfile::tempdir().unwrap();
    let disk = TinyDisk::mount(&dir.path().join("data"));
    let mut c = Console::start_in(dir, &["--demo"], &[]);
    live(&mut c, "inject network-latency sock-shop/carts");
    // Fill what is left of the disk.
    let filler = disk.0.join("filler");
    let _ = Command::new("dd").arg("if=/dev/zero").arg(format!("of={}", filler.display())).args(["bs=1k"]).output();
    // The journal's last page may still have room: notes until it has none.
    // (Under 1 KiB each: longer, a terminal without bracketed paste would deliver its tail with
    // the Enter after it, and the Enter would go into the paste.)
    let long = "x".repeat(600);
    let mut sent = 0;
    for i in 0..40 {
        c.command(&format!("note written while the disk is full {i} {long}"));
        sent += 1;
        std::thread::sleep(Duration::from_millis(200));
        if c.screen().contains("JOURNAL NOT WRITABLE") {
            break;
        }
    }
    c.wait_for("JOURNAL NOT WRITABLE", T);
    c.command("note typed after the red line came");
    sent += 1;
    c.wait_for("NOT saved yet", T);
    c.wait_for("[NOT SAVED]", T);
    // A new fault is refused, the abort works.
    c.send(" ");
    c.wait_for("fault #1 reverted (confirmed)", T);
    c.command("inject pod-delete sock-shop/carts");
    c.wait_for("the journal cannot be written", T);
    assert!(c.screen().contains("JOURNAL NOT WRITABLE"), "still said, not overwritten by the next message");
    // Room again: the journal catches up and the red line goes.
    std::fs::remove_file(&filler).unwrap();
    c.wait_gone("JOURNAL NOT WRITABLE", T);
    c.send("q");
    assert_eq!(c.wait_exit(T), 0);
    let entries = journal_entries(&c.journal());
    let kinds: Vec<&str> = entries.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    let notes = entries.iter().filter(|e| e["kind"] == "note").count();
    assert_eq!(notes, sent, "every note, those typed while the disk was full included: {kinds:?}");
    assert!(kinds.contains(&"revert_confirmed"), "{kinds:?}");
    assert!(entries
        .iter()
        .any(|e| e["kind"] == "console" && e["message"].as_str().unwrap().starts_with("the journal is written again")));
    // In order, whole lines, no gap.
    let seqs: Vec<u64> = entries.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "{seqs:?}");
    drop(c);
    drop(disk);
}

#[test]
fn resuming_a_killed_demo_session_records_that_its_fault_died_with_the_console() {
    let mut c = Console::start(&["--demo"]);
    live(&mut c, "inject network-latency sock-shop/carts");
    c.signal("KILL");
    c.wait_exit(T);
    let journal = c.journal();
    let id = journal.file_stem().unwrap().to_str().unwrap().to_string();
    let mut again = Console::start_in(c.into_dir(), &["--demo", "--resume", &id], &[]);
    again.wait_for("session resumed", T);
    again.wait_for("the simulated cluster died with it", T);
    assert!(!again.screen().contains("FAULT LIVE"), "nothing is live: {}", again.screen());
    again.send("q");
    assert_eq!(again.wait_exit(T), 0);
    let kinds = journal_kinds(&journal);
    // What happened to the console that died is told first, then the resume.
    let resumed = kinds.iter().position(|k| k == "session_resumed").unwrap();
    assert_eq!(kinds[resumed - 2..resumed], ["console_lost", "fault_closed"], "{kinds:?}");
}
