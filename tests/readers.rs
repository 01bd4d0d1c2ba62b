//! Readers that never hang: what is named like a journal or a config file but is a FIFO, a
//! device or a directory is passed over (said), never opened to wait on; what is far larger than
//! gameday writes is refused, said; and a huge journal is read in time linear in its faults.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Runs `gameday args` with its own config and data directories; a hang (over 20 s) fails.
fn gameday(home: &Path, args: &[&str]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_gameday"))
        .args(args)
        .current_dir(home)
        .env("GAMEDAY_CONFIG_DIR", home.join("config"))
        .env("GAMEDAY_DATA_DIR", home.join("data"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "gameday {args:?} hung:\n{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

fn mkfifo(path: &Path) {
    assert!(Command::new("mkfifo").arg(path).status().unwrap().success());
}

const PLAN: &str = "title = \"t\"\n[[step]]\nname = \"one\"\npreset = \"pod-delete\"\ntarget = \"sock-shop/carts\"\nduration = \"1s\"\nobserve = \"1s\"\n";

#[test]
fn a_fifo_or_device_named_like_a_journal_is_listed_unreadable_never_waited_on() {
    let home = tempfile::tempdir().unwrap();
    let sessions = home.path().join("data/sessions");
    std::fs::create_dir_all(&sessions).unwrap();
    mkfifo(&sessions.join("20261201-000000-fifo.jsonl"));
    std::os::unix::fs::symlink("/dev/zero", sessions.join("20261201-000000-zero.jsonl")).unwrap();
    std::fs::create_dir(sessions.join("20261201-000000-dir.jsonl")).unwrap();
    let out = gameday(home.path(), &["sessions"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    for (id, what) in [("fifo", "a FIFO"), ("zero", "a device"), ("dir", "a directory")] {
        let line =
            stdout.lines().find(|l| l.contains(&format!("20261201-000000-{id}"))).unwrap_or_else(|| panic!("{stdout}"));
        assert!(line.contains(what), "{line}");
    }
    // `gameday report` on them: said at once.
    let out = gameday(home.path(), &["report", sessions.join("20261201-000000-zero.jsonl").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("a device, not a regular file"), "{out:?}");
    let out = gameday(home.path(), &["report", sessions.join("20261201-000000-fifo.jsonl").to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("a FIFO, not a regular file"), "{out:?}");
    // A headless run beside them finds no leftovers in them, and runs.
    std::fs::write(home.path().join("plan.toml"), PLAN).unwrap();
    let out = gameday(home.path(), &["run", "plan.toml", "--demo", "-q"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn a_config_toml_that_is_a_fifo_or_a_directory_is_passed_over_with_a_warning() {
    for make in [mkfifo as fn(&Path), |p: &Path| std::fs::create_dir(p).unwrap()] {
        let home = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(home.path().join("config")).unwrap();
        make(&home.path().join("config/config.toml"));
        std::fs::write(home.path().join("plan.toml"), PLAN).unwrap();
        let out = gameday(home.path(), &["run", "plan.toml", "--demo"]);
        let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert_eq!(out.status.code(), Some(0), "{stderr}");
        // On the timeline (the CI log's lines), as every passed-over file is.
        assert!(stdout.contains("config.toml: not a regular file, passed over"), "{stdout}");
    }
}

#[test]
fn a_journal_line_beyond_any_entry_gameday_writes_is_passed_over_and_said() {
    let home = tempfile::tempdir().unwrap();
    let journal = home.path().join("s.jsonl");
    let first = r#"{"seq":1,"wall":"2026-12-01T10:00:00Z","t_ms":0,"kind":"session_start","session":"s","backend":{"kind":"demo","cluster":"c","pod_word":"pod"},"version":"t"}"#;
    let huge = format!(
        "{{\"seq\":2,\"wall\":\"2026-12-01T10:00:01Z\",\"t_ms\":1000,\"kind\":\"note\",\"text\":\"{}\"}}",
        "x".repeat(2 << 20)
    );
    std::fs::write(&journal, format!("{first}\n{huge}\n")).unwrap();
    let out = gameday(home.path(), &["report", journal.to_str().unwrap()]);
    assert!(out.status.success(), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("s.jsonl:2: skipped: a line longer than 1 MiB"), "{stderr}");
}
