//! The probe engine at scale: 500 HTTP probes at a 1 s interval against a loopback service (a
//! child process, so its CPU is not counted), their results through the core as the console
//! would. Prints the engine's CPU share and memory, and the time from the service starting to
//! fail to the abort being dispatched by a stop condition (hold 2 s).
//! Run with `cargo bench --bench probes`.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use gameday::app::{update, AppState, Effect, Event};
use gameday::backend::sim::SimCluster;
use gameday::config::session_file::SessionConfig;
use gameday::model::TopologyDelta;
use gameday::timeline::Stamp;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

const PROBES: usize = 500;
const HOLD: &str = "2s";

fn ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or_default();
    let f: Vec<&str> = after.split_whitespace().collect();
    f.get(11).and_then(|u| u.parse::<u64>().ok()).unwrap_or(0)
        + f.get(12).and_then(|s| s.parse::<u64>().ok()).unwrap_or(0)
}

/// The child: a loopback HTTP service that answers 200 until /fail is requested.
fn serve(port_file: &str) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    rt.block_on(async {
        let failing = Arc::new(AtomicBool::new(false));
        let f = failing.clone();
        let health = move || {
            let f = f.clone();
            async move {
                if f.load(Ordering::Relaxed) {
                    axum::http::StatusCode::INTERNAL_SERVER_ERROR
                } else {
                    axum::http::StatusCode::OK
                }
            }
        };
        let f = failing.clone();
        let fail = move || {
            let f = f.clone();
            async move {
                f.store(true, Ordering::Relaxed);
                "failing now"
            }
        };
        let app = axum::Router::new()
            .route("/health/{n}", axum::routing::get(health))
            .route("/fail", axum::routing::get(fail));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        std::fs::write(port_file, listener.local_addr().unwrap().port().to_string()).unwrap();
        axum::serve(listener, app).await.unwrap();
    });
}

fn state(start: chrono::DateTime<Utc>) -> (AppState, SimCluster) {
    let mut s = common::state("demo", "sock-shop", Stamp::at(start, 0));
    let sim = SimCluster::new(42);
    update(&mut s, Event::Backend(TopologyDelta::Snapshot(sim.topology())), Stamp::at(start, 0));
    (s, sim)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--list") {
        return;
    }
    if let Some(i) = args.iter().position(|a| a == "--serve") {
        return serve(&args[i + 1]);
    }
    let dir = tempfile::tempdir().unwrap();
    let port_file = dir.path().join("port");
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .arg("--serve")
        .arg(&port_file)
        .spawn()
        .expect("the loopback service");
    let deadline = Instant::now() + Duration::from_secs(10);
    let port = loop {
        if let Ok(p) = std::fs::read_to_string(&port_file) {
            if let Ok(p) = p.trim().parse::<u16>() {
                break p;
            }
        }
        assert!(Instant::now() < deadline, "the service did not start");
        std::thread::sleep(Duration::from_millis(20));
    };

    let mut file = String::new();
    for n in 0..PROBES {
        file.push_str(&format!("[[probe]]\nname = \"p{n}\"\nhttp = \"http://127.0.0.1:{port}/health/{n}\"\n"));
    }
    file.push_str(&format!("[[stop]]\nprobe = \"p0\"\ncheck = \"success >= 99%\"\nover = \"1s\"\nfor = \"{HOLD}\"\n"));
    let config = SessionConfig::parse("bench.toml", &file).unwrap();

    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let start_wall = Utc::now();
    let start = Instant::now();
    let stamp = move || Stamp::at(start_wall, start.elapsed().as_millis() as u64);
    let (mut s, mut sim) = state(start_wall);
    let rss_before = common::rss_mib("self");
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Event>();
    let _guard = rt.enter();
    for e in s.configure_steady(config) {
        if let Effect::StartProbe(spec) = e {
            gameday::runtime::probes::spawn(spec, None, tx.clone());
        }
    }
    // A fault live, so the stop condition has something to abort.
    let mut fx = update(&mut s, Event::Key(KeyEvent::new(KeyCode::Char(':'), KeyModifiers::NONE)), stamp());
    for c in "inject network-latency sock-shop/carts duration=10m".chars() {
        fx.extend(update(&mut s, Event::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)), stamp()));
    }
    fx.extend(update(&mut s, Event::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)), stamp()));
    while let Some(e) = fx.pop() {
        match e {
            Effect::Prepare(spec) => {
                let r = sim.prepare(&spec).map_err(|e| e.to_string());
                fx.extend(update(
                    &mut s,
                    Event::Prepared { fault: spec.fault_id, result: r, fixed_end: None },
                    stamp(),
                ));
            }
            Effect::Inject { spec, handle } => {
                let r = sim.inject(&spec, &handle).map_err(|e| e.to_string());
                fx.extend(update(&mut s, Event::Injected { fault: spec.fault_id, result: r }, stamp()));
            }
            _ => {}
        }
    }

    // The console's loop, for probe events only: 5 s to settle, 20 s measured.
    let readings = std::cell::Cell::new(0u64);
    let mut run = |s: &mut AppState, until: Instant, stop_on_abort: bool| -> Option<Instant> {
        rt.block_on(async {
            loop {
                let ev = match tokio::time::timeout_at(until.into(), rx.recv()).await {
                    Ok(Some(ev)) => ev,
                    _ => return None,
                };
                readings.set(readings.get() + 1);
                let fx = update(s, ev, stamp());
                if stop_on_abort && fx.iter().any(|e| matches!(e, Effect::Revert { delay_ms: 0, .. })) {
                    return Some(Instant::now());
                }
            }
        })
    };
    run(&mut s, Instant::now() + Duration::from_secs(5), false);
    let (cpu0, t0, n0) = (ticks(), Instant::now(), readings.get());
    run(&mut s, Instant::now() + Duration::from_secs(20), false);
    let hz = 100.0; // USER_HZ
    let cpu = (ticks() - cpu0) as f64 / hz / t0.elapsed().as_secs_f64() * 100.0;
    let per_s = (readings.get() - n0) as f64 / t0.elapsed().as_secs_f64();
    let rss = common::rss_mib("self") - rss_before;

    // Breach to abort: the service starts failing now.
    let failed_at = Instant::now();
    rt.block_on(async {
        let _ = reqwest::get(format!("http://127.0.0.1:{port}/fail")).await;
    });
    let aborted = run(&mut s, Instant::now() + Duration::from_secs(15), true).expect("the stop condition aborted");
    let breach_to_abort = aborted.duration_since(failed_at).as_secs_f64();
    let _ = child.kill();
    let _ = child.wait();

    println!("Probe engine, {PROBES} HTTP probes at 1 s (results through the core):");
    println!("  readings per second                 {per_s:>8.0}");
    println!("  CPU                                 {cpu:>8.1} % of a core   (aim < 5 %)");
    println!("  memory (resident, added)            {rss:>8.1} MiB          (aim < 50 MB)");
    println!(
        "  service fails -> abort dispatched   {breach_to_abort:>8.2} s            (aim <= 1 s interval + {HOLD} hold)"
    );
}
