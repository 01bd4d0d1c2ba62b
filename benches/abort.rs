//! The abort path on a slow disk: every fsync/fdatasync of the console delayed by 1 s (Debian's
//! strace injecting the delay into the running process), how long from pressing Space to the
//! revert request reaching the backend (the demo logs each call as it arrives), and to
//! "reverted (confirmed)" on screen. Also the same without the delay, for comparison. Prints the
//! figures; run with `cargo bench --bench abort` (needs strace).

mod common;
#[path = "../tests/common/pty.rs"]
#[allow(dead_code)]
mod pty;

use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use pty::Console;

fn unix_ms() -> u128 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_millis()
}

/// The time the revert of fault `id` reached the backend, from the demo's call log.
fn revert_arrived(log: &std::path::Path, id: u64) -> Option<u128> {
    let text = std::fs::read_to_string(log).ok()?;
    text.lines().find_map(|l| {
        let mut w = l.split_whitespace();
        let (t, call, fault) = (w.next()?, w.next()?, w.next()?);
        (call == "revert" && fault == id.to_string()).then(|| t.parse().ok()).flatten()
    })
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let runs = 5;
    for delay_ms in [0u64, 1000] {
        let (mut to_backend, mut to_screen) = (Vec::new(), Vec::new());
        for _ in 0..runs {
            let dir = tempfile::tempdir().expect("temp dir");
            let log = dir.path().join("calls.log");
            let log_arg = log.to_string_lossy().to_string();
            let mut c = Console::start_in(dir, &["--demo", "--demo-call-log", &log_arg], &[]);
            let t = Duration::from_secs(30);
            c.wait_for("carts-db", t);
            c.command("inject container-pause sock-shop/carts-db");
            c.wait_for("FAULT LIVE #1", t);
            let mut strace = (delay_ms > 0).then(|| {
                let us = delay_ms * 1000;
                let child = Command::new("strace")
                    .args(["-f", "-qq", "-e", "trace=fdatasync,fsync"])
                    .arg("-e")
                    .arg(format!("inject=fdatasync:delay_exit={us}"))
                    .arg("-e")
                    .arg(format!("inject=fsync:delay_exit={us}"))
                    .args(["-o", "/dev/null", "-p", &c.pid().to_string()])
                    .spawn()
                    .expect("strace (apt-get install strace)");
                std::thread::sleep(Duration::from_millis(800));
                child
            });
            // Something for the disk to chew on first, as in a live session: a note.
            c.command("note the disk is slow today");
            let pressed = (Instant::now(), unix_ms());
            c.send(" ");
            c.wait_for("fault #1 reverted (confirmed)", t);
            to_screen.push(pressed.0.elapsed().as_secs_f64() * 1000.0);
            let arrived = revert_arrived(&log, 1).expect("the revert reached the backend");
            to_backend.push(arrived.saturating_sub(pressed.1) as f64);
            if let Some(s) = strace.as_mut() {
                let _ = s.kill();
                let _ = s.wait();
            }
            c.send("q");
            c.wait_exit(t);
        }
        println!("abort with every sync delayed by {delay_ms} ms, {runs} runs, median:");
        println!("  Space -> revert request at the backend: {:>7.1} ms (target < 50 ms)", common::median(to_backend));
        println!(
            "  Space -> \"reverted (confirmed)\" shown: {:>7.1} ms (target < 1100 ms; pty round trip included)",
            common::median(to_screen)
        );
    }
}
