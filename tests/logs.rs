//! Logs: `gameday run` writes what it does to a log file in the data directory (every request
//! that changes something, every retry, every error) and, at the level asked, to stderr; the
//! level comes from GAMEDAY_LOG or -v.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::apiserver::ApiServer;

const PLAN: &str = "title = \"logs\"\n[[step]]\nname = \"a pod goes\"\npreset = \"pod-delete\"\ntarget = \"TARGET\"\nduration = \"1s\"\nobserve = \"0s\"\n";

fn run(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_gameday"));
    c.args(["run", "plan.toml"]).args(args).current_dir(dir);
    c.env("GAMEDAY_DATA_DIR", dir.join("data")).env("GAMEDAY_CONFIG_DIR", dir.join("config")).env_remove("GAMEDAY_LOG");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

/// Everything in the data directory's log files.
fn log(dir: &Path) -> String {
    let logs = dir.join("data/logs");
    let mut out = String::new();
    for f in std::fs::read_dir(&logs).unwrap_or_else(|e| panic!("{}: {e}", logs.display())) {
        let f = f.unwrap().path();
        assert!(f.file_name().unwrap().to_string_lossy().starts_with("gameday.log"), "{}", f.display());
        out.push_str(&std::fs::read_to_string(f).unwrap());
    }
    out
}

#[test]
fn a_failed_revert_and_its_retry_are_in_the_log_file_and_warnings_on_stderr() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("plan.toml"), PLAN.replace("TARGET", "sock-shop/carts")).unwrap();
    let out = run(dir.path(), &["--demo", "--demo-fail-reverts", "1", "--quiet"], &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let log = log(dir.path());
    assert!(log.contains("gameday starts"), "{log}");
    assert!(log.contains(" INFO ") && log.contains("inject: "), "{log}");
    assert!(log.contains(" ERROR ") && log.contains("revert failed: "), "{log}");
    assert!(log.contains(" WARN ") && log.contains("revert retried: "), "{log}");
    assert!(log.contains("revert confirmed"), "{log}");
    assert!(!log.contains('\u{1b}'), "no colours in the file: {log}");
    // By default stderr has the warnings and errors only.
    assert!(stderr.contains("revert failed: "), "{stderr}");
    assert!(!stderr.contains('\u{1b}'), "no colours in a CI log: {stderr}");
    assert!(!stderr.contains("inject: "), "{stderr}");
    // -v: debug on stderr; GAMEDAY_LOG wins over it.
    let out = run(dir.path(), &["--demo", "--quiet", "-v"], &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("DEBUG") && stderr.contains("prepare"), "{stderr}");
    let out = run(dir.path(), &["--demo", "--quiet", "-v"], &[("GAMEDAY_LOG", "error")]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("DEBUG") && !stderr.contains("INFO"), "{stderr}");
    let out = run(dir.path(), &["--demo", "--quiet"], &[("GAMEDAY_LOG", "=[=")]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("GAMEDAY_LOG==[= is not a log filter"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_that_changes_the_cluster_is_in_the_log() {
    let server = ApiServer::start().await;
    server.seed_shop("shop", true);
    server.install_gameday();
    server.wait_shop_ready("shop").await;
    let dir = tempfile::tempdir().unwrap();
    server.write_kubeconfig(&dir.path().join("kubeconfig"));
    std::fs::write(dir.path().join("plan.toml"), PLAN.replace("TARGET", "shop/carts")).unwrap();
    let d = dir.path().to_path_buf();
    let out =
        tokio::task::spawn_blocking(move || run(&d, &["--kubeconfig", "kubeconfig", "--quiet"], &[])).await.unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let log = log(dir.path());
    let writes: Vec<String> = server.requests().into_iter().filter(|r| !r.starts_with("GET ")).collect();
    assert!(writes.iter().any(|w| w.starts_with("DELETE /api/v1/namespaces/shop/pods/carts-")), "{writes:?}");
    for w in &writes {
        assert!(log.contains(w.as_str()), "{w} is not in the log:\n{log}");
    }
}
