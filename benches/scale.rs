//! The console at scale against kubectl, in the same run on the same test API server (real
//! HTTP): 10,000 pods / 2,500 services / 500 nodes, and 50,000 pods / 10,000 services / 2,000
//! nodes. Prints the time from start to the complete topology on the console's screen (a pty),
//! its resident memory then and at its peak, `kubectl get pods -A`'s time beside it, and
//! `gameday watchdog`'s requests a minute at rest besides its heartbeat.
//! Run with `cargo bench --bench scale` (`-- 10k` for the smaller cluster alone).

#[path = "../tests/common/apiserver/mod.rs"]
#[allow(dead_code)]
mod apiserver;
mod common;
#[path = "../tests/common/pty.rs"]
#[allow(dead_code)]
mod pty;

use std::time::{Duration, Instant};

use common::scale::{objects_at, Scale};

struct Figures {
    on_screen: Vec<f64>,
    rss: Vec<f64>,
    peak: Vec<f64>,
    kubectl: Vec<f64>,
}

fn measure(rt: &tokio::runtime::Runtime, scale: Scale, runs: usize, watchdog: bool) -> (Figures, Option<f64>) {
    let server = rt.block_on(apiserver::ApiServer::start());
    server.freeze(true);
    let seeded = Instant::now();
    let objs = objects_at(scale);
    for (plural, o) in objs {
        server.apply(plural, o);
    }
    server.install_gameday();
    eprintln!("seeded {} pods in {:.1} s", scale.pods(), seeded.elapsed().as_secs_f64());
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    server.write_kubeconfig(&kubeconfig);
    let kc = kubeconfig.to_str().unwrap();
    let mut f = Figures { on_screen: Vec::new(), rss: Vec::new(), peak: Vec::new(), kubectl: Vec::new() };
    let limit = Duration::from_secs(300);
    for _ in 0..runs {
        // kubectl first and the console after, in turn: the same server, the same machine.
        let t0 = Instant::now();
        let out = std::process::Command::new("kubectl").args(["--kubeconfig", kc, "get", "pods", "-A"]).output();
        match out {
            Ok(o) if o.status.success() => f.kubectl.push(t0.elapsed().as_secs_f64() * 1000.0),
            Ok(o) => eprintln!("kubectl failed: {}", String::from_utf8_lossy(&o.stderr)),
            Err(e) => eprintln!("kubectl not run: {e}"),
        }
        let started = Instant::now();
        let mut c = pty::Console::start(&["--kubeconfig", kc, "--new"]);
        c.wait_for(&format!("Topology · {} pods", scale.pods()), limit);
        f.on_screen.push(started.elapsed().as_secs_f64() * 1000.0);
        // The console gives back what building the picture freed 2 s after it is in.
        std::thread::sleep(Duration::from_secs(4));
        let pid = c.pid().to_string();
        f.rss.push(common::rss_mib(&pid));
        f.peak.push(common::peak_rss_mib(&pid));
        c.send("q");
        c.wait_exit(Duration::from_secs(30));
    }
    let per_minute = watchdog.then(|| {
        let home = tempfile::tempdir().unwrap();
        let mut dog = std::process::Command::new(env!("CARGO_BIN_EXE_gameday"))
            .args(["watchdog", "--kubeconfig", kc])
            .env("HOME", home.path())
            .env("GAMEDAY_DATA_DIR", home.path().join("data"))
            .env("GAMEDAY_CONFIG_DIR", home.path().join("config"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("gameday watchdog");
        // Its watches started (their lists are done); from then on it is at rest.
        std::thread::sleep(Duration::from_secs(10));
        let before = server.requests().len();
        let window = Duration::from_secs(60);
        std::thread::sleep(window);
        let at_rest = server.requests()[before..].iter().filter(|r| !r.contains("/leases")).count();
        let _ = dog.kill();
        let _ = dog.wait();
        at_rest as f64 * 60.0 / window.as_secs_f64()
    });
    (f, per_minute)
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    // `-- serve 50k`: the cluster alone, for a profiler run by hand (its kubeconfig is printed).
    if std::env::args().any(|a| a == "serve") {
        let scale = if std::env::args().any(|a| a == "50k") { Scale::FIFTY_K } else { Scale::TEN_K };
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let server = rt.block_on(apiserver::ApiServer::start());
        server.freeze(true);
        for (plural, o) in objects_at(scale) {
            server.apply(plural, o);
        }
        server.install_gameday();
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = dir.path().join("kubeconfig");
        server.write_kubeconfig(&kubeconfig);
        println!("serving {} pods; kubeconfig {}", scale.pods(), kubeconfig.display());
        loop {
            std::thread::sleep(Duration::from_secs(3600));
        }
    }
    let small_only = std::env::args().any(|a| a == "10k");
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let mut scales = vec![(Scale::TEN_K, 3, true)];
    if !small_only {
        scales.push((Scale::FIFTY_K, 3, false));
    }
    let mut lines = Vec::new();
    let mut watchdog = None;
    for (scale, runs, dog) in scales {
        let (f, w) = measure(&rt, scale, runs, dog);
        watchdog = watchdog.or(w);
        let (c, k) = (common::median(f.on_screen.clone()), common::median(f.kubectl.clone()));
        lines.push(format!(
            "  {:>6} pods / {:>6} services / {:>5} nodes: on screen {c:>7.0} ms, kubectl get pods -A {k:>7.0} ms \
             ({:.2} x kubectl; aim <= 0.25), resident {:>6.1} MiB (peak {:>6.1}; aim < 300 MB)",
            scale.pods(),
            scale.services(),
            scale.nodes,
            c / k,
            common::median(f.rss),
            common::median(f.peak),
        ));
    }
    println!("The console at scale, on the test API server, medians (same server and run as kubectl):");
    for l in lines {
        println!("{l}");
    }
    if let Some(w) = watchdog {
        println!("  gameday watchdog at rest, requests a minute besides its heartbeat: {w:.1} (aim < 12)");
    }
}
