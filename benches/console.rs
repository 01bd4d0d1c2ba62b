//! The real binary in a pseudo-terminal (like a person at a terminal): time to the first
//! frame, CPU while the demo runs with nothing happening, and the time from pressing Space
//! to the revert being confirmed on screen. Prints the figures; run with
//! `cargo bench --bench console`.

mod common;
#[path = "../tests/common/pty.rs"]
#[allow(dead_code)]
mod pty;

use std::time::{Duration, Instant};

use pty::Console;

/// utime + stime of a process, in clock ticks.
fn cpu_ticks(pid: i32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    f.get(11).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
        + f.get(12).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
}

fn rss_kib(pid: i32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let runs = 5;
    let mut first_frame = Vec::new();
    let mut abort_ms = Vec::new();
    let mut idle_cpu = Vec::new();
    let mut rss = Vec::new();
    for _ in 0..runs {
        let started = Instant::now();
        let mut c = Console::start(&["--demo"]);
        c.wait_for("Topology", Duration::from_secs(10));
        first_frame.push(started.elapsed().as_secs_f64() * 1000.0);

        // Idle: the demo cluster ticks once a second; nobody touches a key.
        c.wait_for("carts-db", Duration::from_secs(10));
        let pid = c.pid();
        let (t0, w0) = (cpu_ticks(pid), Instant::now());
        std::thread::sleep(Duration::from_secs(10));
        let ticks_per_s = 100.0;
        idle_cpu.push((cpu_ticks(pid) - t0) as f64 / ticks_per_s / w0.elapsed().as_secs_f64() * 100.0);
        rss.push(rss_kib(pid) as f64 / 1024.0);

        c.command("inject container-pause sock-shop/carts-db");
        c.wait_for("FAULT LIVE #1", Duration::from_secs(10));
        let pressed = Instant::now();
        c.send(" ");
        c.wait_for("fault #1 reverted (confirmed)", Duration::from_secs(10));
        abort_ms.push(pressed.elapsed().as_secs_f64() * 1000.0);
        c.send("q");
        c.wait_exit(Duration::from_secs(10));
    }
    println!("gameday console, {runs} runs, median:");
    println!("  first frame after start:         {:>7.1} ms (target < 150 ms)", common::median(first_frame));
    println!("  CPU while idle on the demo:      {:>7.2} % of a core (target ~0)", common::median(idle_cpu));
    println!("  resident memory on the demo:     {:>7.1} MiB", common::median(rss));
    println!("  Space -> revert confirmed shown: {:>7.1} ms (pty round trip included)", common::median(abort_ms));
}
