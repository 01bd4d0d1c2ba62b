//! A real Prometheus (Debian's `prometheus` package) on a loopback port, scraping loopback
//! targets every second, its data in a temporary directory; killed (by its PID) when dropped.
//! It is ready in ~0.3 s (`wait_ready`; before that it refuses connections, then answers 503);
//! a target's first sample lands after ~5 s.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub struct Prometheus {
    child: Child,
    addr: SocketAddr,
    url: String,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl Prometheus {
    /// Starts scraping each `(job, address)` every second (`/metrics`, one job per name).
    pub fn start(targets: &[(&str, SocketAddr)]) -> Prometheus {
        let dir = tempfile::tempdir().unwrap();
        let mut jobs: Vec<(&str, Vec<String>)> = Vec::new();
        for (job, addr) in targets {
            match jobs.iter_mut().find(|(j, _)| j == job) {
                Some((_, addrs)) => addrs.push(format!("'{addr}'")),
                None => jobs.push((job, vec![format!("'{addr}'")])),
            }
        }
        let mut config = "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n".to_string();
        for (job, addrs) in &jobs {
            config.push_str(&format!(
                "  - job_name: {job}\n    static_configs:\n      - targets: [{}]\n",
                addrs.join(", ")
            ));
        }
        std::fs::write(dir.path().join("prometheus.yml"), config).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new("prometheus")
            .arg(format!("--config.file={}", dir.path().join("prometheus.yml").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg(format!("--storage.tsdb.path={}", dir.path().join("data").display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("Debian's prometheus package (apt-get install prometheus; .ci/run installs it)");
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let http = reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(5)).build().unwrap();
        Prometheus { child, addr, url: format!("http://{addr}"), http, _dir: dir }
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Where it listens (what a Service's endpoint would be).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Waits until it says it is ready (`/-/ready`: its storage is open, it answers queries);
    /// panics after `timeout`. Until then, connections are refused, then answered 503.
    pub async fn wait_ready(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            let last = match self.http.get(format!("{}/-/ready", self.url)).send().await {
                Ok(r) if r.status().is_success() => return,
                Ok(r) => r.status().to_string(),
                Err(e) => e.to_string(),
            };
            assert!(Instant::now() < deadline, "Prometheus not ready within {timeout:?}: {last}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The result of an instant query (`data.result`), or why there is none (not up yet, a bad
    /// query).
    pub async fn query(&self, query: &str) -> Result<Vec<Value>, String> {
        let resp = self
            .http
            .get(format!("{}/api/v1/query", self.url))
            .query(&[("query", query)])
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let body: Value = resp.json().await.map_err(|e| e.to_string())?;
        if body["status"] != "success" {
            return Err(format!("{}: {}", body["errorType"], body["error"]));
        }
        Ok(body["data"]["result"].as_array().cloned().unwrap_or_default())
    }

    /// Polls the query (every 250 ms) until it returns a non-empty result, and returns that;
    /// panics after `timeout`.
    pub async fn wait_for_series(&self, query: &str, timeout: Duration) -> Vec<Value> {
        let deadline = Instant::now() + timeout;
        loop {
            let last = match self.query(query).await {
                Ok(r) if !r.is_empty() => return r,
                Ok(_) => "no series".to_string(),
                Err(e) => e,
            };
            assert!(Instant::now() < deadline, "`{query}` returned no series within {timeout:?}: {last}");
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

/// The value of a sample of an instant vector (`{"metric": .., "value": [t, "1.5"]}`).
pub fn value(sample: &Value) -> f64 {
    sample["value"][1].as_str().and_then(|v| v.parse().ok()).unwrap_or(f64::NAN)
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
