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
    drill(runs);
}

/// A drill: the facilitator's console and a responder's, on one session. How long a mark
/// takes to reach the facilitator's screen, how long the responder's emergency stop takes to
/// revert the facilitator's fault, and what following each other's journal costs at idle.
fn drill(runs: usize) {
    let (mut mark_ms, mut stop_ms, mut idle_f, mut idle_r) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let t = Duration::from_secs(10);
    for _ in 0..runs {
        let f = Console::start(&["--demo"]);
        f.wait_for("carts-db", t);
        let session = f.journal().file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_string();
        let data = f.data_dir().to_string_lossy().to_string();
        let dir = tempfile::tempdir().expect("temp dir");
        let mut r = Console::start_in(
            dir,
            &["--demo", "--drill", &session, "--responder", "bench"],
            &[("GAMEDAY_DATA_DIR", &data)],
        );
        f.wait_for("responder bench joined", t);
        let (f0, r0, w0) = (cpu_ticks(f.pid()), cpu_ticks(r.pid()), Instant::now());
        std::thread::sleep(Duration::from_secs(10));
        let secs = w0.elapsed().as_secs_f64();
        idle_f.push((cpu_ticks(f.pid()) - f0) as f64 / 100.0 / secs * 100.0);
        idle_r.push((cpu_ticks(r.pid()) - r0) as f64 / 100.0 / secs * 100.0);

        let pressed = Instant::now();
        r.send("d");
        f.wait_for("responder bench marked DETECTED", t);
        mark_ms.push(pressed.elapsed().as_secs_f64() * 1000.0);

        let mut f = f;
        f.command("inject container-pause sock-shop/carts-db");
        f.wait_for("FAULT LIVE #1", t);
        let pressed = Instant::now();
        r.send(" ");
        f.wait_for("fault #1 reverted (confirmed)", t);
        stop_ms.push(pressed.elapsed().as_secs_f64() * 1000.0);
        r.send("q");
        r.wait_exit(t);
        f.send("q");
        f.wait_exit(t);
    }
    println!("drill (facilitator + responder on one session), {runs} runs, median:");
    println!(
        "  responder's mark -> facilitator's screen:   {:>7.1} ms (journal polled every 250 ms)",
        common::median(mark_ms)
    );
    println!("  responder's Space -> fault reverted, shown: {:>7.1} ms", common::median(stop_ms));
    println!(
        "  CPU while idle, facilitator / responder:    {:>5.2} % / {:.2} % of a core",
        common::median(idle_f),
        common::median(idle_r)
    );
}
