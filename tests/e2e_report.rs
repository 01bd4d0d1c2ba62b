//! The report is written the moment a session ends, however it ends, next to its journal; an
//! export during the session says it is still in progress.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::pty::Console;

const T: Duration = Duration::from_secs(15);

fn live(c: &mut Console) {
    c.wait_for("carts-db", T);
    c.command("inject network-latency sock-shop/carts");
    c.wait_for("FAULT LIVE #1", T);
}

/// The final report next to the journal, once it is there.
fn final_report(c: &Console) -> String {
    let path = c.journal().with_extension("md");
    let deadline = Instant::now() + T;
    loop {
        if let Ok(md) = std::fs::read_to_string(&path) {
            return md;
        }
        assert!(Instant::now() < deadline, "no report at {}", path.display());
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn an_export_says_in_progress_and_the_final_report_is_written_at_the_end() {
    let mut c = Console::start(&["--demo"]);
    live(&mut c);
    c.send(" ");
    c.wait_reverted(1, T);
    c.command("export report.md");
    c.wait_exported("report.md", T);
    let exported = std::fs::read_to_string(c.dir.path().join("report.md")).unwrap();
    assert!(exported.contains("| Ended | not yet: the session is in progress (exported at +00:"), "{exported}");
    c.press("q");
    assert_eq!(c.wait_exit(T), 0);
    let md = final_report(&c);
    assert!(md.contains("| Ended | quit (q) |"), "{md}");
    assert!(md.contains("| 1 | network-latency | sock-shop/carts |"), "{md}");
    let path = c.journal().with_extension("md");
    c.wait_for(&format!("Report:          {}", path.display()), T);
}

#[test]
fn a_signal_a_crash_and_a_headless_run_each_leave_their_final_report() {
    let mut c = Console::start(&["--demo"]);
    live(&mut c);
    c.signal("TERM");
    assert_eq!(c.wait_exit(T), 0);
    assert!(final_report(&c).contains("| Ended | quit (SIGTERM) |"));

    let mut c = Console::start(&["--demo", "--demo-crash-after", "3s"]);
    live(&mut c);
    assert_eq!(c.wait_exit(T), 3);
    let md = final_report(&c);
    assert!(md.contains("| Ended | panic: rehearsed crash"), "{md}");
    assert!(md.contains("aborted (panic: rehearsed crash"), "the fault was still reverted: {md}");

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("plan.toml"),
        "title = \"t\"\n[[step]]\nname = \"s\"\npreset = \"pod-delete\"\ntarget = \"sock-shop/carts\"\nduration = \"2s\"\nobserve = \"1s\"\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_gameday"))
        .args(["run", "plan.toml", "--demo", "--demo-tick-ms", "100"])
        .current_dir(dir.path())
        .env("GAMEDAY_DATA_DIR", dir.path().join("data"))
        .env("GAMEDAY_CONFIG_DIR", dir.path().join("config"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout.lines().find(|l| l.starts_with("Report:")).unwrap_or_else(|| panic!("{stdout}"));
    let path = line.trim_start_matches("Report:").trim();
    let md = std::fs::read_to_string(path).unwrap();
    assert!(md.contains("| Ended | quit (run-sheet finished) |"), "{md}");
}

#[test]
fn a_killed_session_gets_its_final_report_when_it_is_found() {
    let mut c = Console::start(&["--demo"]);
    live(&mut c);
    c.signal("KILL");
    c.wait_exit(T);
    let journal = c.journal();
    assert!(!journal.with_extension("md").exists());
    let dir = c.into_dir();
    let out = Command::new(env!("CARGO_BIN_EXE_gameday"))
        .args(["cleanup", "--demo"])
        .env("GAMEDAY_DATA_DIR", dir.path().join("data"))
        .env("GAMEDAY_CONFIG_DIR", dir.path().join("config"))
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("report written to"), "{said}");
    let md = std::fs::read_to_string(journal.with_extension("md")).unwrap();
    assert!(md.contains("| Ended | the console was killed (recorded by gameday cleanup) |"), "{md}");
    assert!(md.contains("the simulated cluster died with it"), "{md}");
}
