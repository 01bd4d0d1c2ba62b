//! Golden signals at scale: 2,500 services and 10,000 pods on the test API server, a real
//! Prometheus (Debian's) scraping every second an exporter of Istio's metrics for every
//! workload (10 requests a second each, ~20 ms), reached as gameday reaches it: found by its
//! Service, read through the API server's service proxy. Prints the refresh's cost (queries per
//! refresh, the query's round trip, the core's update with the batch), the console's CPU at idle
//! with signals on, and the time from a latency fault on one workload to its p95 on the screen,
//! against the time Prometheus has it. Run with `cargo bench --bench signals` (needs
//! `prometheus` on the PATH: apt-get install prometheus).

#[path = "../tests/common/apiserver/mod.rs"]
#[allow(dead_code)]
mod apiserver;
mod common;
#[path = "../tests/common/prometheus.rs"]
#[allow(dead_code)]
mod prometheus;
#[path = "../tests/common/pty.rs"]
#[allow(dead_code)]
mod pty;

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use common::scale::{objects, DEPLOYMENTS_PER_NS, NAMESPACES, PODS};
use gameday::app::{update, Event};
use gameday::backend::signals::{families, Prometheus};
use gameday::model::{SignalBatch, TopologyDelta};
use gameday::timeline::Stamp;

const SERVICES: usize = NAMESPACES * DEPLOYMENTS_PER_NS;
/// Istio's buckets up to 1 s (a subset of its defaults), ms.
const BUCKETS: [f64; 8] = [5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0];
const RPS: f64 = 10.0;

/// Every workload's counters, advanced at each scrape by the time since the last one.
struct Exporter {
    last: Instant,
    /// (requests, per-bucket cumulative counts, sum of ms) per workload.
    counts: Vec<(f64, [f64; BUCKETS.len()], f64)>,
    /// From when team-00/svc-00 answers in ~400 ms.
    slow_since: Option<Instant>,
}

impl Exporter {
    fn scrape(&mut self) -> String {
        let now = Instant::now();
        let dt = now.duration_since(self.last).as_secs_f64();
        self.last = now;
        let slow = self.slow_since.is_some();
        let mut out = String::with_capacity(SERVICES * 1600);
        out.push_str("# TYPE istio_requests_total counter\n# TYPE istio_request_duration_milliseconds histogram\n");
        for (i, (n, buckets, sum)) in self.counts.iter_mut().enumerate() {
            let latency = if i == 0 && slow { 400.0 } else { 20.0 };
            let add = RPS * dt;
            *n += add;
            *sum += add * latency;
            for (b, le) in buckets.iter_mut().zip(BUCKETS) {
                if latency <= le {
                    *b += add;
                }
            }
            let labels = format!(
                "reporter=\"source\",destination_workload=\"svc-{:02}\",destination_workload_namespace=\"team-{:02}\"",
                i % DEPLOYMENTS_PER_NS,
                i / DEPLOYMENTS_PER_NS
            );
            let _ = writeln!(out, "istio_requests_total{{{labels},response_code=\"200\"}} {n:.3}");
            for (b, le) in buckets.iter().zip(BUCKETS) {
                let _ = writeln!(out, "istio_request_duration_milliseconds_bucket{{{labels},le=\"{le}\"}} {b:.3}");
            }
            let _ = writeln!(out, "istio_request_duration_milliseconds_bucket{{{labels},le=\"+Inf\"}} {n:.3}");
            let _ = writeln!(out, "istio_request_duration_milliseconds_sum{{{labels}}} {sum:.3}");
            let _ = writeln!(out, "istio_request_duration_milliseconds_count{{{labels}}} {n:.3}");
        }
        out
    }
}

fn at(ms: u64) -> Stamp {
    Stamp::at(Utc.with_ymd_and_hms(2026, 12, 7, 10, 0, 0).unwrap(), ms)
}

/// CPU time of a process, in clock ticks.
fn cpu_ticks(pid: i32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    f.get(11).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
        + f.get(12).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
}

/// svc-00's p95 as the health panel shows it, if its row is on the screen.
fn svc00_p95(screen: &str) -> Option<f64> {
    screen.lines().flat_map(|l| l.split('│')).find_map(|cell| {
        let w: Vec<&str> = cell.split_whitespace().collect();
        let i = w.iter().position(|x| x.ends_with("svc-00") && x.contains("team-00"))?;
        w.get(i + 2)?.strip_suffix("ms")?.parse().ok()
    })
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let server = rt.block_on(apiserver::ApiServer::start());
    server.freeze(true);
    for (plural, o) in objects() {
        server.apply(plural, o);
    }
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    server.write_kubeconfig(&kubeconfig);

    // The exporter and the Prometheus that scrapes it, found by its Service.
    let exporter = Arc::new(Mutex::new(Exporter {
        last: Instant::now(),
        counts: vec![(0.0, [0.0; BUCKETS.len()], 0.0); SERVICES],
        slow_since: None,
    }));
    let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let exporter_addr = listener.local_addr().unwrap();
    let e = exporter.clone();
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let e = e.clone();
            async move { e.lock().unwrap().scrape() }
        }),
    );
    rt.spawn(async move { axum::serve(listener, app).await.unwrap() });
    let prom = prometheus::Prometheus::start(&[("mesh", exporter_addr)]);
    rt.block_on(prom.wait_ready(Duration::from_secs(30)));
    server.seed_prometheus_service("monitoring", "prometheus-k8s", "web", 9090);
    server.proxy_service("monitoring", "prometheus-k8s", "web", &prom.addr().to_string());
    rt.block_on(prom.wait_for_series("istio_requests_total", Duration::from_secs(60)));
    // Rates need two scrapes in the window.
    std::thread::sleep(Duration::from_secs(4));

    // One refresh through the proxy, as the console makes it: the one query of the family.
    let client = rt.block_on(async {
        let kc = kube::config::Kubeconfig::read_from(&kubeconfig).unwrap();
        let cfg = kube::Config::from_custom_kubeconfig(kc, &Default::default()).await.unwrap();
        kube::Client::try_from(cfg).unwrap()
    });
    let proxied = Prometheus::proxied(client, "monitoring", "prometheus-k8s", "web");
    let istio = families::VARIANTS.iter().find(|v| v.family == "Istio").unwrap();
    let query = families::query(istio, "15s");
    let (mut round_trip, mut parse) = (Vec::new(), Vec::new());
    let mut batch = None;
    for _ in 0..10 {
        let t0 = Instant::now();
        let samples = rt.block_on(proxied.query(&query)).expect("the query");
        round_trip.push(t0.elapsed().as_secs_f64() * 1000.0);
        let t0 = Instant::now();
        let rates = families::rates(istio, &samples);
        parse.push(t0.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(rates.len(), SERVICES, "every workload's rates");
        batch = Some(SignalBatch { source: proxied.name.clone(), window_ms: 15_000, rates, gone: Vec::new() });
    }
    let batch = batch.unwrap();

    // The core's update with one batch of 2,500 workloads, on the full picture.
    let mut s = common::state("kubernetes", "bench", at(0));
    let topo = rt.block_on(async {
        let opts = gameday::backend::kube::KubeOptions { kubeconfig: Some(kubeconfig.clone()), ..Default::default() };
        let b = gameday::backend::kube::KubeBackend::connect(&opts).await.unwrap();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        gameday::backend::Backend::watch(&b, tx);
        loop {
            if let Some(TopologyDelta::Snapshot(t)) = rx.recv().await {
                break t;
            }
        }
    });
    update(&mut s, Event::Backend(TopologyDelta::Snapshot(topo)), at(0));
    let mut core = Vec::new();
    for i in 0..20 {
        let t0 = Instant::now();
        update(&mut s, Event::Backend(TopologyDelta::Signals(batch.clone())), at(1000 + i * 2000));
        core.push(t0.elapsed().as_secs_f64() * 1000.0);
    }
    assert_eq!(s.picture.health.values().filter(|h| h.last.is_some()).count(), SERVICES);

    // The real console at idle with signals on: its CPU, and the queries it sends per refresh.
    let kc = kubeconfig.to_str().unwrap();
    let mut c = pty::Console::start(&["--kubeconfig", kc]);
    c.wait_for(&format!("Topology · {PODS} pods"), Duration::from_secs(90));
    c.wait_for("Istio via Prometheus monitoring/prometheus-k8s", Duration::from_secs(60));
    let first = Instant::now();
    while svc00_p95(&c.screen()).is_none() {
        assert!(first.elapsed() < Duration::from_secs(60), "no p95 for svc-00:\n{}", c.screen());
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_secs(3));
    let requests = |s: &apiserver::ApiServer| s.requests().iter().filter(|r| r.contains("/proxy/api/v1/query")).count();
    let (q0, t0, w0) = (requests(&server), cpu_ticks(c.pid()), Instant::now());
    std::thread::sleep(Duration::from_secs(30));
    let secs = w0.elapsed().as_secs_f64();
    let idle_cpu = (cpu_ticks(c.pid()) - t0) as f64 / 100.0 / secs * 100.0;
    let queries_per_s = (requests(&server) - q0) as f64 / secs;
    let rss = common::rss_mib(&c.pid().to_string());

    // A latency fault on svc-00: when Prometheus has it (the console's own query over its
    // window says p95 > 300 ms), and when the screen shows it.
    let p95_query = "histogram_quantile(0.95, sum by (le) (rate(istio_request_duration_milliseconds_bucket{destination_workload=\"svc-00\",destination_workload_namespace=\"team-00\"}[15s])))";
    let mut lag = Vec::new();
    for round in 0..3 {
        exporter.lock().unwrap().slow_since = Some(Instant::now());
        let injected = Instant::now();
        let (mut prom_at, mut screen_at) = (None, None);
        while prom_at.is_none() || screen_at.is_none() {
            assert!(injected.elapsed() < Duration::from_secs(60), "round {round}: never seen:\n{}", c.screen());
            if prom_at.is_none() {
                let v = rt.block_on(prom.query(p95_query)).unwrap_or_default();
                if v.first().map(prometheus::value).is_some_and(|p| p > 300.0) {
                    prom_at = Some(injected.elapsed());
                }
            }
            if screen_at.is_none() && svc00_p95(&c.screen()).is_some_and(|p| p > 300.0) {
                screen_at = Some(injected.elapsed());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let (p, sc) = (prom_at.unwrap(), screen_at.unwrap());
        lag.push((p.as_secs_f64() * 1000.0, sc.as_secs_f64() * 1000.0));
        // Back to normal, and wait until the screen shows it.
        exporter.lock().unwrap().slow_since = None;
        let healed = Instant::now();
        while !svc00_p95(&c.screen()).is_some_and(|p| p < 100.0) {
            assert!(healed.elapsed() < Duration::from_secs(90), "svc-00 never healed:\n{}", c.screen());
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    c.send("q");
    c.wait_exit(Duration::from_secs(20));

    let prom_ms = common::median(lag.iter().map(|l| l.0).collect());
    let screen_ms = common::median(lag.iter().map(|l| l.1).collect());
    let behind = common::median(lag.iter().map(|l| l.1 - l.0).collect());
    println!("Golden signals, {SERVICES} services, {PODS} pods, Istio via a real Prometheus through the service proxy (median):");
    let refresh = gameday::backend::signals::pace(Some(Duration::from_secs(1))).0.as_secs_f64();
    println!(
        "  queries per refresh (every {refresh:.0} s)                {:>8.2}     (one per family present: 1)",
        queries_per_s * refresh
    );
    println!("  one refresh's query, round trip ({SERVICES} workloads) {:>8.1} ms", common::median(round_trip));
    println!("  its answer to rates                              {:>8.2} ms", common::median(parse));
    println!("  the core's update with the batch                 {:>8.2} ms", common::median(core));
    println!("  console CPU at idle, signals on                  {:>8.2} %    (aim < 5 % of a core)", idle_cpu);
    println!("  console resident memory                          {:>8.1} MiB", rss);
    println!("  latency fault to Prometheus having it            {:>8.0} ms", prom_ms);
    println!("  latency fault to its p95 on the screen           {:>8.0} ms", screen_ms);
    println!(
        "  screen behind Prometheus                         {:>8.0} ms   (aim: within one refresh, 2000 ms)",
        behind
    );
    for (i, (p, sc)) in lag.iter().enumerate() {
        println!("    round {i}: Prometheus {p:.0} ms, screen {sc:.0} ms");
    }
}
