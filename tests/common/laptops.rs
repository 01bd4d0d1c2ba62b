//! Two laptops (or more) on one cluster, as people have them: each console and each watchdog
//! with its own HOME, data and config directories, sharing nothing but the cluster (the test
//! API server through one kubeconfig) or the Docker engine. Written once here for every test.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::apiserver::ApiServer;
use super::pty::Console;

/// The test API server with these shops (`(namespace, open to faults)`), gameday's namespace
/// when `gameday` (the cluster lock's), and a kubeconfig for it in the returned directory.
pub async fn cluster(shops: &[(&str, bool)], gameday: bool) -> (ApiServer, tempfile::TempDir) {
    let server = ApiServer::start().await;
    for (ns, open) in shops {
        server.seed_shop(ns, *open);
    }
    if gameday {
        server.install_gameday();
    }
    if let Some((ns, _)) = shops.first() {
        server.wait_shop_ready(ns).await;
    }
    let dir = tempfile::tempdir().unwrap();
    server.write_kubeconfig(&dir.path().join("kubeconfig"));
    (server, dir)
}

/// A Deployment's replicas, as the API server has them.
pub fn replicas(server: &ApiServer, ns: &str, name: &str) -> i64 {
    let d = server.get("deployments", ns, name).expect("deployment");
    d["spec"]["replicas"].as_i64().expect("replicas")
}

/// A console on the cluster of `kubeconfig`, on a laptop of its own, with these flags.
pub fn kube_console(kubeconfig: &Path, flags: &[&str]) -> Console {
    let kc = kubeconfig.to_str().unwrap().to_string();
    let mut args = vec!["--kubeconfig", kc.as_str()];
    args.extend_from_slice(flags);
    Console::start_in(tempfile::tempdir().unwrap(), &args, &[])
}

/// A console on the Docker engine with the test helper image, on a laptop of its own.
pub fn docker_console(flags: &[&str]) -> Console {
    let mut args = vec!["--docker", "--netem-image", super::docker::NETEM_IMAGE];
    args.extend_from_slice(flags);
    Console::start_in(tempfile::tempdir().unwrap(), &args, &[])
}

/// `gameday watchdog` with these backend flags, on a machine of its own, its output in a log.
pub struct Watchdog {
    child: Child,
    log: PathBuf,
    _home: tempfile::TempDir,
}

impl Watchdog {
    pub fn start(flags: &[&str]) -> Watchdog {
        let home = tempfile::tempdir().unwrap();
        let log = home.path().join("watchdog.log");
        let out = std::fs::File::create(&log).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_gameday"))
            .arg("watchdog")
            .args(flags)
            .env("HOME", home.path())
            .env("GAMEDAY_DATA_DIR", home.path().join("data"))
            .env("GAMEDAY_CONFIG_DIR", home.path().join("config"))
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .expect("gameday watchdog");
        Watchdog { child, log, _home: home }
    }

    /// What it logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until its log says `what`; the log then.
    pub async fn wait_log(&self, what: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let log = self.log();
            if log.contains(what) {
                return log;
            }
            assert!(Instant::now() < deadline, "the watchdog never said '{what}':\n{log}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// SIGTERM; its exit code.
    pub fn terminate(&mut self) -> i32 {
        let pid = self.child.id().to_string();
        assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code().unwrap_or(-1);
            }
            assert!(Instant::now() < deadline, "the watchdog did not stop on SIGTERM:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
