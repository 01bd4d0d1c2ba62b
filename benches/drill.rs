//! A drill across machines on Kubernetes: the facilitator's and a responder's real consoles in
//! pseudo-terminals, each with its own HOME and data directory, against the test API server.
//! Prints the time from the responder's key (Enter on a note, `d` for detected) to the mark on
//! the facilitator's screen, through the ConfigMaps in the lock namespace (a publish, a watch
//! event, a frame). Run with `cargo bench --bench drill`.

#[path = "../tests/common/apiserver/mod.rs"]
#[allow(dead_code)]
mod apiserver;
mod common;
#[path = "../tests/common/pty.rs"]
#[allow(dead_code)]
mod pty;

use std::time::{Duration, Instant};

use pty::Console;

const T: Duration = Duration::from_secs(20);
const ROUNDS: usize = 30;

/// Polls the facilitator's screen tightly (1 ms) until it shows `text`: the time it took.
fn until_shown(c: &Console, text: &str, from: Instant) -> Duration {
    loop {
        if c.screen().contains(text) {
            return from.elapsed();
        }
        if from.elapsed() > T {
            panic!("{text:?} never reached the facilitator's screen:\n{}", c.screen());
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let server = rt.block_on(apiserver::ApiServer::start());
    server.seed_shop("shop", true);
    server.install_gameday();
    rt.block_on(server.wait_shop_ready("shop"));
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    server.write_kubeconfig(&kubeconfig);
    let kc = kubeconfig.to_str().unwrap();

    let mut a = Console::start_in(
        tempfile::tempdir().unwrap(),
        &["--kubeconfig", kc, "-n", "shop", "--new", "--user", "alice"],
        &[],
    );
    a.wait_for("carts          3/3", T);
    let session = a.journal().file_stem().unwrap().to_str().unwrap().to_string();
    a.command("inject scale shop/carts replicas=2 duration=10m");
    a.wait_for("FAULT LIVE #1 scale → shop/carts", T);
    let mut b = Console::start_in(
        tempfile::tempdir().unwrap(),
        &["--kubeconfig", kc, "-n", "shop", "--drill", &session, "--responder", "bob", "--user", "bob"],
        &[],
    );
    b.wait_for("DRILL · responder bob", T);
    a.wait_for("responder bob joined the drill", T);

    // The detect key, once (the first mark of the drill).
    std::thread::sleep(Duration::from_millis(300));
    let pressed = Instant::now();
    b.send("d");
    let detect = until_shown(&a, "responder bob marked DETECTED", pressed);

    // Notes, each one distinct on the facilitator's screen.
    let mut took = Vec::new();
    for i in 0..ROUNDS {
        let text = format!("ping-{i:03}");
        b.send(":");
        std::thread::sleep(Duration::from_millis(50));
        b.send(&format!("note {text}"));
        std::thread::sleep(Duration::from_millis(80));
        let pressed = Instant::now();
        b.send("\r");
        took.push(until_shown(&a, &format!("responder bob: {text}"), pressed).as_secs_f64() * 1000.0);
        std::thread::sleep(Duration::from_millis(100));
    }
    let max = took.iter().cloned().fold(0.0, f64::max);
    let median = common::median(took);
    println!("responder's mark to the facilitator's screen, across two consoles on two data directories:");
    println!("  detect key (first mark): {:.1} ms", detect.as_secs_f64() * 1000.0);
    println!("  notes ({ROUNDS} rounds):       median {median:.1} ms, max {max:.1} ms (goal: under 1 s)");

    b.press(" ");
    a.wait_for("fault #1 reverted (confirmed)", T);
    for c in [&mut a, &mut b] {
        c.send("q");
        c.wait_exit(T);
    }
}
