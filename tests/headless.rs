//! `gameday run`: a run-sheet walked without a screen, as a CI pipeline would, on the demo. Its
//! exit code, JUnit file and report say which step's hypothesis broke.

use std::process::Command;

const PLAN: &str = r#"
title = "CI <resilience> & checks"
facilitator = "pipeline"
environment = "demo"

[[participant]]
name = "ci"
role = "operator"

[[probe]]
name = "front-end"
service = "sock-shop/front-end"

[[step]]
name = "catalogue loses a pod"
preset = "pod-delete"
target = "sock-shop/catalogue"
duration = "4s"
hypothesis = "The other catalogue replica serves; the front door stays healthy."
expected_alerts = ["none"]
checks = ["front-end success >= 90%"]
observe = "4s"

[[step]]
name = "carts gets very slow"
preset = "network-latency"
target = "sock-shop/carts"
params = { latency_ms = 900 }
duration = "6s"
hypothesis = "The front door p95 stays under 300 ms."
checks = ["front-end p95 <= 300ms"]
observe = "5s"

[[step]]
name = "a fault the demo cannot simulate"
preset = "litmus-experiment"
target = "sock-shop/carts"
"#;

#[test]
fn a_run_sheet_naming_a_target_that_is_not_there_stops_before_anything_is_injected() {
    let dir = tempfile::tempdir().unwrap();
    let plan = "title = \"t\"\n[[step]]\nname = \"fine\"\npreset = \"pod-delete\"\ntarget = \"sock-shop/carts\"\n\
                [[step]]\nname = \"typo\"\npreset = \"pod-delete\"\ntarget = \"sock-shop/cartz\"\n";
    std::fs::write(dir.path().join("plan.toml"), plan).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_gameday"))
        .args(["run", "plan.toml", "--demo"])
        .current_dir(dir.path())
        .env("GAMEDAY_DATA_DIR", dir.path().join("data"))
        .env("GAMEDAY_CONFIG_DIR", dir.path().join("config"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(
            "plan.toml:9:10: step 'typo': no workload sock-shop/cartz in the cluster (did you mean sock-shop/carts?)"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("2 step(s) did not run"), "{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stdout.contains("requested"), "nothing was injected: {stdout}");
}

#[test]
fn a_headless_run_reports_the_broken_hypothesis_by_exit_code_junit_and_report() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("plan.toml"), PLAN).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_gameday"))
        .args(["run", "plan.toml", "--demo", "--report", "report.md", "--junit", "junit.xml"])
        .current_dir(dir.path())
        .env("GAMEDAY_DATA_DIR", dir.path().join("data"))
        .env("GAMEDAY_CONFIG_DIR", dir.path().join("config"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "a broken hypothesis fails the run:\n{stdout}\n{stderr}");
    assert!(stderr.contains("2 step(s) did not hold their hypothesis"), "{stderr}");
    // The log shows the run as it goes.
    assert!(stdout.contains("step 1 \"catalogue loses a pod\": held"), "{stdout}");
    assert!(stdout.contains("step 2 \"carts gets very slow\": broken"), "{stdout}");
    assert!(stdout.contains("step 3 \"a fault the demo cannot simulate\": failed"), "{stdout}");
    assert!(stdout.contains("session ended"), "{stdout}");

    let junit = std::fs::read_to_string(dir.path().join("junit.xml")).unwrap();
    assert!(junit.contains("tests=\"3\" failures=\"1\" errors=\"1\""), "{junit}");
    assert!(junit.contains("name=\"CI &lt;resilience&gt; &amp; checks\""), "escaped: {junit}");
    assert!(junit
        .contains("<testcase classname=\"CI &lt;resilience&gt; &amp; checks\" name=\"step 2: carts gets very slow\""));
    assert!(junit.contains("<failure message=\"hypothesis broken\""), "{junit}");
    assert!(junit.contains("<error message=\"failed\""), "{junit}");

    let report = std::fs::read_to_string(dir.path().join("report.md")).unwrap();
    assert!(report.contains("| Run-sheet | CI &lt;resilience> & checks |"), "{report}");
    assert!(report.contains("| Participants | ci (operator) |"), "{report}");
    assert!(
        report.contains("3 steps: 1 held, 0 partially held, 1 broken, 1 failed, 0 skipped, 0 not run."),
        "{report}"
    );
    assert!(report.contains("| 2. carts gets very slow | #2 network-latency on sock-shop/carts | The front door p95 stays under 300 ms. (checks: front-end p95 <= 300 ms) |"), "{report}");
    assert!(report.contains("```mermaid\ngantt"), "{report}");
    assert!(report.contains("    fault 2 network-latency sock-shop/carts :crit, "), "{report}");

    // The same data as JSON, from the journal.
    let journal = std::fs::read_dir(dir.path().join("data/sessions"))
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .expect("the journal");
    let out = Command::new(env!("CARGO_BIN_EXE_gameday"))
        .arg("report")
        .arg(&journal)
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let data: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(data["plan"]["title"], "CI <resilience> & checks");
    assert_eq!(
        data["summary"]["steps"],
        serde_json::json!({"total": 3, "held": 1, "partially_held": 0, "broken": 1, "failed": 1, "skipped": 0})
    );
    assert_eq!(data["steps"][1]["verdict"], "broken");
    assert_eq!(data["steps"][1]["fault"], 2);
    // What step 2 expected broke; the session's steady state (every service answers) held: a
    // slower front door still answers.
    let f2 = &data["faults"][1];
    assert_eq!(f2["expectation"]["verdict"], "broken", "{f2}");
    assert_eq!(f2["expectation"]["written_before"], "The front door p95 stays under 300 ms.");
    assert!(f2["expectation"]["broken_after_ms"].as_u64().is_some(), "{f2}");
    assert_eq!(f2["steady_state"]["verdict"], "held", "{f2}");
    assert!(f2["revert_ms"].as_u64().is_some(), "{f2}");
    assert!(data["timeline"].as_array().unwrap().len() > 10);

    // And it is listed among the sessions.
    let out = Command::new(env!("CARGO_BIN_EXE_gameday"))
        .arg("sessions")
        .env("GAMEDAY_DATA_DIR", dir.path().join("data"))
        .output()
        .unwrap();
    let listed = String::from_utf8_lossy(&out.stdout);
    assert!(listed.contains("\"CI <resilience> & checks\""), "{listed}");
    assert!(
        listed.contains("2 fault(s), steps: 1 held, 1 broken, 1 failed  ended: quit (run-sheet finished)"),
        "{listed}"
    );
}

#[test]
fn a_malformed_plan_is_an_error_naming_file_and_line_and_nothing_runs() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("plan.toml"), "title = \"t\"\n[[step]]\nname = \"s\"\npreset = \"pod-delete\"\n")
        .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_gameday"))
        .args(["run", "plan.toml", "--demo"])
        .current_dir(dir.path())
        .env("GAMEDAY_DATA_DIR", dir.path().join("data"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("plan.toml:2:1: missing field `target`"), "{err}");
    assert!(!dir.path().join("data/sessions").exists(), "no session was started");
}

/// A run-sheet whose text tries to print lines of its own: a forged summary, a forged progress
/// line, a carriage return and an escape sequence.
const FORGER: &str = r#"
title = "forged\ngameday run: 9 step(s): 9 held, 0 partially held, 0 broken, 0 failed, 0 skipped, 0 not run; 0 fault(s), none left behind; 1.00 s; exit 0"

[[step]]
name = "a step\n   +9.999s fault #9 reverted (confirmed)"
preset = "pod-delete"
target = "sock-shop/catalogue"
duration = "1s"
hypothesis = """
It holds.
gameday run: 1 step(s): 1 held, 0 partially held, 0 broken, 0 failed, 0 skipped, 0 not run; 1 fault(s), none left behind; 1.00 s; exit 0
\r  +0.001s \u001b[2Kall good"""
observe = "1s"
"#;

/// Every line `gameday run` printed is its own: a progress line (`+S.MMMs what`), one of its
/// own few, or the closing summary, last and once.
fn assert_own_lines(stdout: &str, ours: &[&str]) {
    let progress = regex::Regex::new(r"^ *\+\d+\.\d{3}s ").unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    let summaries: Vec<usize> =
        lines.iter().enumerate().filter(|(_, l)| l.starts_with("gameday run:")).map(|(i, _)| i).collect();
    assert_eq!(summaries, [lines.len() - 1], "one summary, last:\n{stdout}");
    for l in &lines[..lines.len() - 1] {
        assert!(
            progress.is_match(l) || ours.iter().any(|o| l.starts_with(o)),
            "a line that is not gameday's: {l:?}\n{stdout}"
        );
        assert!(!l.contains('\r') && !l.contains('\u{1b}'), "{l:?}");
    }
}

#[test]
fn text_from_a_plan_cannot_print_lines_of_its_own_in_the_ci_log() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("plan.toml"), FORGER).unwrap();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_gameday"))
            .args(args)
            .current_dir(dir.path())
            .env("GAMEDAY_DATA_DIR", dir.path().join("data"))
            .env("GAMEDAY_CONFIG_DIR", dir.path().join("config"))
            .output()
            .unwrap()
    };
    let out = run(&["run", "plan.toml", "--demo"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert_own_lines(&stdout, &["Session journal:", "Report:"]);
    // The plan's words are there, shown on their line.
    assert!(stdout.contains("It holds. ⏎ gameday run: 1 step(s)"), "{stdout}");

    // The dry run's lines too: each of its own, the text within them.
    let out = run(&["run", "plan.toml", "--demo", "--dry-run"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    for l in stdout.lines() {
        let own = [
            "dry run",
            "step 1 \"a step",
            "  namespace",
            "  needs",
            "  blast radius",
            "  window",
            "  would touch",
            "  hypothesis",
            "  could run",
        ];
        assert!(own.iter().any(|p| l.starts_with(p)), "a line that is not gameday's: {l:?}\n{stdout}");
    }
    assert!(stdout.contains("  hypothesis: It holds. ⏎ gameday run: 1 step(s)"), "{stdout}");
}

#[test]
fn a_session_file_goes_with_a_run_sheet_its_stops_and_probes_under_the_sheets_own() {
    let dir = tempfile::tempdir().unwrap();
    let plan = "title = \"t\"\n[[step]]\nname = \"one\"\npreset = \"pod-delete\"\ntarget = \"sock-shop/carts\"\n\
                duration = \"1s\"\nobserve = \"1s\"\nhypothesis = \"carts keeps serving\"\n";
    std::fs::write(dir.path().join("plan.toml"), plan).unwrap();
    let team = "[[probe]]\nname = \"carts-ready\"\nready = \"sock-shop/carts\"\n\
                [[stop]]\nprobe = \"carts-ready\"\ncheck = \"value >= 1\"\nfor = \"3s\"\n";
    std::fs::write(dir.path().join("team.toml"), team).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_gameday"))
        .args(["--session-file", "team.toml", "run", "plan.toml", "--demo"])
        .current_dir(dir.path())
        .env("GAMEDAY_DATA_DIR", dir.path().join("data"))
        .env("GAMEDAY_CONFIG_DIR", dir.path().join("config"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let sessions = dir.path().join("data/sessions");
    let journal = std::fs::read_dir(&sessions)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .unwrap();
    let text = std::fs::read_to_string(journal).unwrap();
    let declared = text.lines().find(|l| l.contains("\"steady_state_declared\"")).expect("declared");
    assert!(declared.contains("carts-ready"), "the session file's stop condition applies: {declared}");
}
