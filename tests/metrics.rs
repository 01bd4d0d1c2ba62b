//! Prometheus metrics (`--metrics-addr`): what the console's state says, in the text format, and
//! Debian's real `prometheus` scraping `gameday run` on loopback while its fault is live (the red
//! band: `gameday_fault_active == 1`), then seeing it end.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::Harness;
use gameday::app::fault::FaultPhase;
use gameday::runtime::metrics::Metrics;
use ratatui::crossterm::event::KeyCode;

/// The metrics after the harness's latest entries.
fn observe(m: &Metrics, h: &Harness, seen: &mut usize) -> String {
    m.observe(&h.s, &h.s.book.timeline[*seen..]);
    *seen = h.s.book.timeline.len();
    m.render()
}

fn line<'a>(text: &'a str, starts: &str) -> Option<&'a str> {
    text.lines().find(|l| l.starts_with(starts))
}

#[test]
fn the_fault_gauge_follows_the_fault_and_an_abort_is_counted_with_its_time_to_revert() {
    let m = Metrics::new();
    let mut h = Harness::demo();
    let mut seen = 0;
    let text = observe(&m, &h, &mut seen);
    assert_eq!(
        line(&text, "gameday_fault_active{"),
        Some("gameday_fault_active{session=\"20261122-100000-test\",preset=\"\",target=\"\",backend=\"demo\"} 0"),
        "no fault yet, the gauge is there at 0:\n{text}"
    );
    let fx = h.command("inject network-latency sock-shop/carts");
    h.run_effects(fx);
    assert!(matches!(h.s.fault.phase, FaultPhase::Active { .. }));
    let text = observe(&m, &h, &mut seen);
    let labels =
        "session=\"20261122-100000-test\",preset=\"network-latency\",target=\"sock-shop/carts\",backend=\"demo\"";
    let live = format!("gameday_fault_active{{{labels}}} 1");
    assert!(text.lines().any(|l| l == live), "{text}");

    h.advance(1000);
    let fx = h.key(KeyCode::Char(' '));
    h.run_effects(fx);
    assert_eq!(h.s.fault.phase, FaultPhase::Idle);
    let text = observe(&m, &h, &mut seen);
    let over = format!("gameday_fault_active{{{labels}}} 0");
    assert!(text.lines().any(|l| l == over), "{text}");
    assert!(!text.lines().any(|l| l.starts_with("gameday_fault_active{") && l.ends_with(" 1")), "{text}");
    assert_eq!(line(&text, "gameday_faults_total{"), Some("gameday_faults_total{outcome=\"aborted\"} 1"));
    assert_eq!(line(&text, "gameday_abort_to_revert_seconds_count"), Some("gameday_abort_to_revert_seconds_count 1"));
    // Without a session file the steady state is the backend's own view: it holds on the demo.
    assert_eq!(line(&text, "gameday_steady_state_holds "), Some("gameday_steady_state_holds 1"), "{text}");
}

#[test]
fn a_window_that_runs_out_counts_as_expired_and_probe_readings_are_exported() {
    let m = Metrics::new();
    let mut h = Harness::demo();
    let file = "[[probe]]\nname = \"front\"\nservice = \"sock-shop/front-end\"\n";
    let fx = h.s.configure_steady(gameday::config::session_file::SessionConfig::parse("s.toml", file).unwrap());
    h.run_effects(fx);
    let mut seen = 0;
    let fx = h.command("inject pod-delete sock-shop/carts duration=2s");
    h.run_effects(fx);
    h.advance(5000);
    assert_eq!(h.s.fault.phase, FaultPhase::Idle);
    let text = observe(&m, &h, &mut seen);
    assert_eq!(line(&text, "gameday_faults_total{"), Some("gameday_faults_total{outcome=\"expired\"} 1"), "{text}");
    assert_eq!(line(&text, "gameday_probe_success{"), Some("gameday_probe_success{probe=\"front\"} 1"), "{text}");
    let count = line(&text, "gameday_probe_latency_seconds_count{probe=\"front\"}").expect(&text);
    let n: u64 = count.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(n >= 4, "one latency per reading: {count}");
    assert!(line(&text, "gameday_abort_to_revert_seconds_count").is_some_and(|l| l.ends_with(" 0")), "{text}");
}

struct Prometheus {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Prometheus {
    fn start(target: &str) -> Prometheus {
        let dir = tempfile::tempdir().unwrap();
        let config = format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: gameday\n    static_configs:\n      - targets: ['{target}']\n"
        );
        std::fs::write(dir.path().join("prometheus.yml"), config).unwrap();
        let port = free_port();
        let child = Command::new("prometheus")
            .arg(format!("--config.file={}", dir.path().join("prometheus.yml").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg(format!("--storage.tsdb.path={}", dir.path().join("data").display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("Debian's prometheus package (apt-get install prometheus; .ci/run installs it)");
        Prometheus { child, url: format!("http://127.0.0.1:{port}"), _dir: dir }
    }

    /// The instant query's result vector (empty if no series matches, or Prometheus is not up).
    fn query(&self, q: &str) -> Vec<serde_json::Value> {
        let url = format!("{}/api/v1/query", self.url);
        let body: Option<serde_json::Value> = reqwest::blocking_get(&url, q);
        body.and_then(|b| b["data"]["result"].as_array().cloned()).unwrap_or_default()
    }

    fn wait(&self, q: &str, within: Duration, ok: impl Fn(&[serde_json::Value]) -> bool) -> Vec<serde_json::Value> {
        let deadline = Instant::now() + within;
        loop {
            let r = self.query(q);
            if ok(&r) {
                return r;
            }
            assert!(Instant::now() < deadline, "{q}: never as wanted within {within:?}; last {r:?}");
            std::thread::sleep(Duration::from_millis(250));
        }
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A tiny blocking GET for the test (the crate's reqwest is async only).
mod reqwest {
    pub fn blocking_get(url: &str, query: &str) -> Option<serde_json::Value> {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
        rt.block_on(async {
            let client = ::reqwest::Client::new();
            let r = client.get(url).query(&[("query", query)]).send().await.ok()?;
            r.json().await.ok()
        })
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

const PLAN: &str = r#"
title = "metrics"

[[probe]]
name = "front-end"
service = "sock-shop/front-end"

[[step]]
name = "carts gets slow"
preset = "network-latency"
target = "sock-shop/carts"
params = { latency_ms = 100 }
duration = "12s"
observe = "10s"
"#;

#[test]
#[ignore = "needs Debian's prometheus package (.ci/run installs it)"]
fn a_real_prometheus_sees_the_fault_live_then_over_through_the_grafana_annotation_query() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("plan.toml"), PLAN).unwrap();
    let addr = format!("127.0.0.1:{}", free_port());
    let prom = Prometheus::start(&addr);
    let mut run = Running(Some(
        Command::new(env!("CARGO_BIN_EXE_gameday"))
            .args(["run", "plan.toml", "--demo", "--quiet", "--metrics-addr", &addr])
            .current_dir(dir.path())
            .env("GAMEDAY_DATA_DIR", dir.path().join("data"))
            .env("GAMEDAY_CONFIG_DIR", dir.path().join("config"))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    ));
    // The annotation query of the README: one series while the fault is live, with its labels.
    let live = prom.wait("gameday_fault_active == 1", Duration::from_secs(14), |r| !r.is_empty());
    let m = &live[0]["metric"];
    assert_eq!(m["preset"], "network-latency", "{live:?}");
    assert_eq!(m["target"], "sock-shop/carts", "{live:?}");
    assert_eq!(m["backend"], "demo", "{live:?}");
    assert!(m["session"].as_str().is_some_and(|s| !s.is_empty()), "{live:?}");
    assert_eq!(m["job"], "gameday", "{live:?}");
    // The probe is exported while it runs.
    prom.wait("gameday_probe_success{probe=\"front-end\"}", Duration::from_secs(5), |r| !r.is_empty());
    // Its window over and reverted (the run observes 10 s more): 0, and counted as expired.
    prom.wait("gameday_fault_active{preset=\"network-latency\"} == 0", Duration::from_secs(15), |r| !r.is_empty());
    assert!(prom.query("gameday_fault_active == 1").is_empty());
    prom.wait("gameday_faults_total{outcome=\"expired\"} == 1", Duration::from_secs(5), |r| r.len() == 1);
    let out = run.0.take().unwrap().wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.starts_with("gameday run: 1 step(s): 1 held"), "--quiet: the summary only: {stdout}");
}

/// The run is stopped if the test fails before it ends.
struct Running(Option<Child>);

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

#[test]
#[ignore = "needs Debian's prometheus package (.ci/run installs it)"]
fn a_real_prometheus_scrapes_the_console_during_a_fault_and_after_its_abort() {
    use common::pty::Console;
    let addr = format!("127.0.0.1:{}", free_port());
    let prom = Prometheus::start(&addr);
    let t = Duration::from_secs(20);
    let mut c = Console::start(&["--demo", "--new", "--metrics-addr", &addr]);
    c.wait_for("carts-db", t);
    // Before any fault: the gauge is there, at 0.
    prom.wait("gameday_fault_active{backend=\"demo\",preset=\"\"} == 0", Duration::from_secs(15), |r| r.len() == 1);
    c.command("inject network-latency sock-shop/carts duration=60s");
    c.wait_for("FAULT LIVE #1", t);
    let live = prom.wait("gameday_fault_active == 1", Duration::from_secs(10), |r| !r.is_empty());
    assert_eq!(live[0]["metric"]["preset"], "network-latency", "{live:?}");
    assert_eq!(live[0]["metric"]["target"], "sock-shop/carts", "{live:?}");
    c.send(" ");
    c.wait_reverted(1, t);
    prom.wait("gameday_fault_active{preset=\"network-latency\"} == 0", Duration::from_secs(10), |r| r.len() == 1);
    assert!(prom.query("gameday_fault_active == 1").is_empty());
    prom.wait("gameday_faults_total{outcome=\"aborted\"} == 1", Duration::from_secs(5), |r| r.len() == 1);
    prom.wait("gameday_abort_to_revert_seconds_count == 1", Duration::from_secs(5), |r| r.len() == 1);
    // The console's screen carries no log line (the log goes to its file).
    assert!(!c.screen().contains(" INFO "), "{}", c.screen());
    c.send("q");
    assert_eq!(c.wait_exit(t), 0);
}
