//! End to end: the real binary on the embedded demo cluster, in a pseudo-terminal, driven
//! like a person would drive it.

mod common;

use std::time::Duration;

use common::pty::{journal_entries, journal_kinds, Console};

const T: Duration = Duration::from_secs(15);

fn row_with(c: &Console, text: &str) -> u16 {
    c.screen().lines().position(|l| l.contains(text)).unwrap_or_else(|| panic!("no row shows {text:?}")) as u16
}

/// `want` appears in `all` in this order (not necessarily back to back).
fn in_order(all: &[String], want: &[&str]) -> bool {
    let mut it = all.iter();
    want.iter().all(|w| it.any(|a| a == w))
}

#[test]
fn a_gameday_on_the_demo_from_inject_to_abort_to_report() {
    let mut c = Console::start(&["--demo"]);
    c.wait_for("carts-db", T);
    c.wait_for("front-end", T);
    c.command("inject pod-delete sock-shop/carts");
    c.wait_for("FAULT LIVE #1 pod-delete → sock-shop/carts", T);
    // The bar is red across the screen and names the abort key.
    let bar = row_with(&c, "FAULT LIVE #1");
    let line = c.screen().lines().nth(bar as usize).unwrap().to_string();
    assert!(line.starts_with(" ■ SPACE aborts · 0") && line.contains(" left of "), "{line}");
    assert_eq!(c.bg(bar, 0), vt100::Color::Idx(1), "red bar");
    assert_eq!(c.bg(bar, 150), vt100::Color::Idx(1), "across the screen");
    c.wait_for("deletes 1 of 3 pods of sock-shop/carts", T);

    c.send(" ");
    c.wait_reverted(1, T);
    c.wait_gone("FAULT LIVE", T);

    let report = c.exported_report();
    assert!(report.starts_with("# Gameday report: sock-shop (simulated, 3 nodes) (demo)"), "{report}");
    assert!(report.contains("| 1 | pod-delete | sock-shop/carts |"), "{report}");
    assert!(report.contains("| aborted (Space) | "), "{report}");
    assert!(report.contains(" ms | deletes 1 of 3 pods of sock-shop/carts"), "the abort to revert time: {report}");
    assert!(report.contains("ABORT fault #1 (Space)"), "{report}");
    assert!(report.contains("fault #1 revert confirmed (attempt 1)"), "{report}");

    c.send("q");
    assert_eq!(c.wait_exit(T), 0);
    assert!(!c.alternate_screen(), "the terminal is restored");
    let kinds = journal_kinds(&c.journal());
    assert!(
        in_order(
            &kinds,
            &[
                "session_start",
                "inject_requested",
                "inject_started",
                "inject_confirmed",
                "fault_ending",
                "revert_started",
                "revert_confirmed",
                "report_exported",
                "session_end"
            ]
        ),
        "{kinds:?}"
    );
}

#[test]
fn sigterm_and_sighup_revert_the_active_fault_and_record_it_before_exit() {
    for sig in ["TERM", "HUP"] {
        let mut c = Console::start(&["--demo"]);
        c.wait_for("carts-db", T);
        c.command("inject network-latency sock-shop/carts");
        c.wait_for("FAULT LIVE #1", T);
        c.signal(sig);
        assert_eq!(c.wait_exit(T), 0, "SIG{sig}: reverted, so a clean exit");
        assert!(!c.alternate_screen(), "SIG{sig}: the terminal is restored");
        let entries = journal_entries(&c.journal());
        let kinds: Vec<String> = entries.iter().map(|e| e["kind"].as_str().unwrap().to_string()).collect();
        assert!(
            in_order(&kinds, &["inject_confirmed", "fault_ending", "revert_confirmed", "session_end"]),
            "{kinds:?}"
        );
        let ending = entries.iter().find(|e| e["kind"] == "fault_ending").unwrap();
        assert_eq!(ending["reason"]["aborted"]["by"], format!("SIG{sig}"), "{ending}");
        assert_eq!(entries.last().unwrap()["reason"], format!("quit (SIG{sig})"));
    }
}

#[test]
fn a_crash_still_reverts_the_active_fault_and_restores_the_terminal() {
    let mut c = Console::start(&["--demo", "--demo-crash-after", "4s"]);
    c.wait_for("carts-db", T);
    c.command("inject container-pause sock-shop/carts-db");
    c.wait_for("FAULT LIVE #1", T);
    assert_eq!(c.wait_exit(T), 3, "a crash exits non-zero");
    assert!(!c.alternate_screen(), "the terminal is restored");
    let entries = journal_entries(&c.journal());
    let kinds: Vec<String> = entries.iter().map(|e| e["kind"].as_str().unwrap().to_string()).collect();
    assert!(in_order(&kinds, &["inject_confirmed", "fault_ending", "revert_confirmed", "session_end"]), "{kinds:?}");
    let ending = entries.iter().find(|e| e["kind"] == "fault_ending").unwrap();
    let by = ending["reason"]["aborted"]["by"].as_str().unwrap();
    assert!(by.contains("panic: rehearsed crash"), "{by}");
}

#[test]
fn a_failing_revert_is_retried_loudly_until_it_is_confirmed() {
    let mut c = Console::start(&["--demo", "--demo-fail-reverts", "4"]);
    c.wait_for("carts-db", T);
    c.command("inject network-loss sock-shop/carts");
    c.wait_for("FAULT LIVE #1", T);
    c.send(" ");
    c.wait_for("REVERT FAILING #1", T);
    c.wait_for("STILL RETRYING", T);
    c.wait_for("simulated API error: 503 Service Unavailable", T);
    c.wait_reverted(1, T);
    c.wait_gone("REVERT FAILING", T);
    let kinds = journal_kinds(&c.journal());
    assert_eq!(kinds.iter().filter(|k| *k == "revert_failed").count(), 4, "{kinds:?}");
    c.send("q");
    assert_eq!(c.wait_exit(T), 0);
}

#[test]
fn one_fault_at_a_time_and_the_chord_aborts_while_typing() {
    let mut c = Console::start(&["--demo"]);
    c.wait_for("carts-db", T);
    c.command("inject cpu-stress sock-shop/orders");
    c.wait_for("FAULT LIVE #1", T);
    c.command("inject pod-kill sock-shop/catalogue");
    c.wait_for("refused: fault #1 (cpu-stress on sock-shop/orders) is still active; one fault at a time", T);
    // Space typed into the command line is text, not an abort; Ctrl-G aborts from there.
    c.press(":");
    c.send("note a b");
    std::thread::sleep(Duration::from_millis(300));
    assert!(c.screen().contains("FAULT LIVE #1"));
    c.send("\x07"); // Ctrl-G
    c.wait_reverted(1, T);
    assert!(c.screen().contains(":note a b"), "what was typed is still there");
    c.send("\x1b");
    c.wait_gone(":note a b", T);
    c.send("q");
    assert_eq!(c.wait_exit(T), 0);
    let kinds = journal_kinds(&c.journal());
    assert!(kinds.contains(&"inject_refused".to_string()), "{kinds:?}");
    assert!(!kinds.contains(&"note".to_string()), "the half-typed command was dropped: {kinds:?}");
}

#[test]
fn notes_help_and_the_picker_work_from_the_keyboard() {
    let mut c = Console::start(&["--demo"]);
    c.wait_for("carts-db", T);
    c.send("?");
    c.wait_for("ABORT the active fault (works while typing)", T);
    c.wait_for(":inject <preset> <target>", T);
    c.send("\x1b");
    c.wait_gone("works while typing", T);

    c.send("n");
    c.wait_for("Note for the timeline", T);
    c.send("pager fired | <b>loud</b>");
    c.press("\r");
    c.wait_for("note (tester): pager fired | <b>loud</b>", T);

    // Pick carts in the tree, then node-drain is disabled for it with the reason.
    c.press("j");
    c.press("\r");
    c.wait_for("Pick a fault for sock-shop/carts", T);
    c.wait_for("unavailable: targets nodes, not a workload", T);
    c.send("\x1b");
    c.wait_gone("Pick a fault for", T);
    c.send("q");
    assert_eq!(c.wait_exit(T), 0);
}

#[test]
fn a_stop_condition_from_the_session_file_aborts_the_fault_by_itself() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("session.toml");
    std::fs::write(
        &file,
        "[[probe]]\nname = \"front\"\nservice = \"sock-shop/front-end\"\n\
         [hypothesis]\nname = \"the shop serves\"\nchecks = [{ probe = \"front\", check = \"p95 <= 300ms\", over = \"10s\" }]\n\
         [[stop]]\nprobe = \"front\"\ncheck = \"p95 <= 800ms\"\nover = \"3s\"\nfor = \"2s\"\n",
    )
    .unwrap();
    let mut c = Console::start_in(dir, &["--demo", "--session-file", "session.toml"], &[]);
    c.wait_for("Probes", T);
    c.wait_for("steady state \"the shop serves\": HOLDS", T);
    c.command("inject network-latency sock-shop/carts latency_ms=1500");
    c.wait_for("FAULT LIVE #1", T);
    // Nobody presses anything: the stop condition aborts it.
    c.wait_for("STOP CONDITION", Duration::from_secs(30));
    c.wait_reverted(1, T);
    c.wait_gone("FAULT LIVE", T);
    let report = c.exported_report();
    assert!(report.contains("## Steady state"), "{report}");
    assert!(report.contains("| 1 | network-latency on sock-shop/carts | holds ("), "{report}");
    assert!(report.contains("front p95"), "{report}");
    c.send("q");
    assert_eq!(c.wait_exit(T), 0);
    let entries = journal_entries(&c.journal());
    let stop = entries.iter().find(|e| e["kind"] == "stop_condition").expect("journaled");
    assert!(stop["reading"].as_str().unwrap().starts_with("front p95"), "{stop}");
    assert_eq!(stop["threshold"], "<= 800 ms");
    let ending = entries.iter().find(|e| e["kind"] == "fault_ending").unwrap();
    assert!(ending["reason"]["aborted"]["by"].as_str().unwrap().starts_with("stop condition: front p95"), "{ending}");
}

#[test]
fn a_malformed_session_file_is_an_error_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bad.toml"), "[[probe]]\nname = \"x\"\nhttp = \"http://a\"\ninterval = \"often\"\n")
        .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gameday"))
        .args(["--demo", "--session-file", "bad.toml"])
        .current_dir(dir.path())
        .env("GAMEDAY_DATA_DIR", dir.path().join("data"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.toml:4:12: 'often' is not a duration"), "{err}");
}

#[test]
fn a_facilitator_walks_a_run_sheet_step_by_step() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("plan.toml"),
        r#"title = "Thursday Gameday"
facilitator = "Ana"
[[participant]]
name = "Ben"
role = "operator"
[[probe]]
name = "front"
service = "sock-shop/front-end"
[[step]]
name = "carts loses a pod"
preset = "pod-delete"
target = "sock-shop/carts"
duration = "3s"
hypothesis = "Nobody notices."
checks = ["front success >= 90%"]
observe = "2s"
[[step]]
name = "payment goes away"
preset = "scale-to-zero"
target = "sock-shop/payment"
"#,
    )
    .unwrap();
    let mut c = Console::start_in(dir, &["--demo", "--plan", "plan.toml"], &[]);
    c.wait_for("Run-sheet: Thursday Gameday", T);
    c.wait_for(":next starts step 1", T);
    c.command("next");
    c.wait_for("Inject this fault?", T);
    c.wait_for("Hypothesis    Nobody notices.", T);
    // What the backend's prepare found, before anyone can confirm.
    c.wait_for("Prepare found will delete carts-", T);
    c.press("\t");
    c.press("\r");
    c.wait_for("FAULT LIVE #1 pod-delete", T);
    c.wait_outcome_asked(Duration::from_secs(30));
    c.command("outcome partial carts came back, orders logged errors");
    // The run-sheet's panel keeps it (the status line saying so is replaced by the next message).
    c.wait_for("✗ partially held  1. carts loses a pod", T);
    c.command("skip payment team is on call elsewhere");
    c.wait_for("- skipped         2. payment goes away", T);
    c.wait_for("done: :export writes the report", T);
    let report = c.exported_report();
    assert!(
        report.contains("| Facilitator | Ana |") && report.contains("| Participants | Ben (operator) |"),
        "{report}"
    );
    assert!(
        report.contains("2 steps: 0 held, 1 partially held, 0 broken, 0 failed, 1 skipped, 0 not run."),
        "{report}"
    );
    assert!(
        report.contains("carts came back, orders logged errors; the checks said held | **partially held** |"),
        "{report}"
    );
    assert!(
        report.contains("| 2. payment goes away | - |  |  | payment team is on call elsewhere | **skipped** |"),
        "{report}"
    );
    c.send("q");
    assert_eq!(c.wait_exit(T), 0);
}

#[test]
fn a_session_is_resumed_and_its_timeline_goes_on_in_the_same_file() {
    let mut c = Console::start(&["--demo"]);
    c.wait_for("carts-db", T);
    c.command("note first words");
    c.command("inject pod-delete sock-shop/carts");
    c.wait_for("FAULT LIVE #1", T);
    c.send(" ");
    c.wait_reverted(1, T);
    c.send("q");
    assert_eq!(c.wait_exit(T), 0);
    let journal = c.journal();
    let id = journal.file_stem().unwrap().to_str().unwrap().to_string();

    let dir = c.into_dir();
    let listed = std::process::Command::new(env!("CARGO_BIN_EXE_gameday"))
        .arg("sessions")
        .env("GAMEDAY_DATA_DIR", dir.path().join("data"))
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&listed.stdout).contains(&format!("{id}  ")), "listed");

    let mut again = Console::start_in(dir, &["--demo", "--resume", &id], &[]);
    again.wait_for("session resumed", T);
    again.wait_for("note (tester): first words", T);
    again.wait_for(&format!("session {id}"), T);
    again.command("inject pod-delete sock-shop/carts");
    again.wait_for("FAULT LIVE #2", T);
    again.send(" ");
    again.wait_reverted(2, T);
    again.send("q");
    assert_eq!(again.wait_exit(T), 0);
    assert_eq!(again.journal(), journal, "the same file");
    let kinds = journal_kinds(&journal);
    assert!(
        in_order(
            &kinds,
            &[
                "session_start",
                "note",
                "inject_requested",
                "session_end",
                "session_resumed",
                "inject_requested",
                "session_end"
            ]
        ),
        "{kinds:?}"
    );
    let entries = journal_entries(&journal);
    let seqs: Vec<u64> = entries.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "one sequence: {seqs:?}");
    let times: Vec<u64> = entries.iter().map(|e| e["t_ms"].as_u64().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[1] >= w[0]), "one clock: {times:?}");
}

#[test]
fn a_drill_with_a_facilitator_and_a_responder_in_two_terminals_on_one_session() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("plan.toml"),
        r#"title = "On-call drill"
facilitator = "Ana"
[[participant]]
name = "Cy"
role = "operator"
[[step]]
name = "carts gets slow"
preset = "network-latency"
target = "sock-shop/carts"
params = { latency_ms = 800 }
duration = "6s"
hypothesis = "The responder sees the front door slow down."
observe = "2s"
"#,
    )
    .unwrap();
    let mut f = Console::start_in(dir, &["--demo", "--plan", "plan.toml"], &[]);
    f.wait_for(":next starts step 1", T);
    let session = f.journal().file_stem().unwrap().to_str().unwrap().to_string();
    let data = f.data_dir();
    let data = data.to_str().unwrap();
    let mut r = Console::start_in(
        tempfile::tempdir().unwrap(),
        &["--demo", "--drill", &session, "--responder", "cy"],
        &[("GAMEDAY_DATA_DIR", data)],
    );
    r.wait_for("DRILL · responder cy", T);
    r.wait_for("the faults are hidden until the facilitator reveals them", T);
    f.wait_for("responder cy joined the drill", T);

    f.command("next");
    f.wait_for("Inject this fault?", T);
    f.wait_for("Prepare found will add 800ms latency to carts-", T);
    f.press("\t");
    f.press("\r");
    f.wait_for("FAULT LIVE #1 network-latency", T);
    // The responder's console shows no fault: no bar, no preset, no target in the timeline.
    std::thread::sleep(Duration::from_millis(1500));
    let screen = r.screen();
    assert!(!screen.contains("network-latency") && !screen.contains("FAULT LIVE"), "{screen}");
    assert!(!screen.contains("ms latency"), "the replay says nothing of what it does to the pods: {screen}");
    assert!(!screen.contains("[+") && !screen.contains("◀ FAULT"), "no pod or workload carries the fault: {screen}");
    r.send("d");
    r.wait_for("marked DETECTED", T);
    f.wait_mark("cy", "detected", T);
    r.command("mitigated bumped the carts timeout");
    f.wait_mark("cy", "mitigated", T);
    f.wait_outcome_asked(Duration::from_secs(30));
    f.command("outcome held");
    f.command("reveal");
    r.wait_for("REVEALED: 1 fault(s) were injected so far", T);
    let screen = r.wait_for("network-latency on sock-shop/carts", T);
    assert!(screen.contains("detected after"), "{screen}");
    r.send("q");
    assert_eq!(r.wait_exit(T), 0);
    let report = f.exported_report();
    assert!(report.contains("## Drill"), "{report}");
    assert!(report.contains("Responders: cy. Faults were revealed to them once (#1 at +0"), "{report}");
    assert!(report.contains("responder cy marked MITIGATED"), "{report}");
    assert!(report.contains("bumped the carts timeout"), "{report}");
    let marks: Vec<serde_json::Value> =
        journal_entries(&f.journal()).into_iter().filter(|e| e["kind"] == "drill_mark").collect();
    assert_eq!(marks.len(), 2, "{marks:?}");
    assert!(marks.iter().all(|m| m["fault"] == 1 && m["after_ms"].as_u64().is_some()), "{marks:?}");
    // A responder joined: a stray q asks first.
    f.quit_answering("1 responder joined the drill: end the session and quit? y/N");
}

#[test]
fn the_start_screen_creates_resumes_or_joins_a_session() {
    // The first time there is nothing to choose: straight into a new session.
    let mut first = Console::start(&["--demo"]);
    first.wait_for("carts-db", T);
    let old = first.journal().file_stem().unwrap().to_str().unwrap().to_string();
    first.send("q");
    assert_eq!(first.wait_exit(T), 0);
    let data = first.data_dir();
    let data = data.to_str().unwrap().to_string();
    let env = [("GAMEDAY_DATA_DIR", data.as_str())];

    // Then the start screen offers a new session (preselected) or the earlier one to resume.
    let mut c = Console::start_in(tempfile::tempdir().unwrap(), &["--demo"], &env);
    c.wait_for("New, resume or join", T);
    c.wait_for(&format!("Resume {old}"), T);
    c.press("j");
    c.press("\r");
    c.wait_for(&format!("session {old}"), T);
    c.wait_for("session resumed", T);

    // While it is open, the next console offers to join it as a drill responder.
    let mut r = Console::start_in(tempfile::tempdir().unwrap(), &["--demo", "--responder", "eve"], &env);
    let screen = r.wait_for(&format!("Join {old} as a drill responder"), T);
    assert!(!screen.contains(&format!("Resume {old}")), "an open session is not offered to resume: {screen}");
    r.send("j");
    r.send("\r");
    r.wait_for("DRILL · responder eve", T);
    c.wait_for("responder eve joined the drill", T);
    r.send("q");
    assert_eq!(r.wait_exit(T), 0);
    c.quit_answering("1 responder joined the drill: end the session and quit? y/N");

    // q on the start screen leaves without a session.
    let mut q = Console::start_in(tempfile::tempdir().unwrap(), &["--demo"], &env);
    q.wait_for("New, resume or join", T);
    q.send("q");
    assert_eq!(q.wait_exit(T), 0);
    let sessions = std::fs::read_dir(first.data_dir().join("sessions")).unwrap();
    let journals = sessions.filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "jsonl")).count();
    assert_eq!(journals, 1, "resuming and joining opened no new session");
}
