//! Many consoles, one cluster, measured against the test API server (real HTTP, the real kube
//! client, real consoles in pseudo-terminals with their own data directories) and the Docker
//! engine: the cluster lock's take and release; console B's Space to console A's fault
//! reverted; a console killed with a fault live to its fault reverted by another console (its
//! lease lapsing plus the revert). Run with `cargo bench --bench consoles`.

#[path = "../tests/common/apiserver/mod.rs"]
#[allow(dead_code)]
mod apiserver;
#[path = "../tests/common/pty.rs"]
#[allow(dead_code)]
mod pty;

use std::path::Path;
use std::time::{Duration, Instant};

use gameday::backend::kube::{KubeBackend, KubeOptions};
use gameday::backend::lock::ClusterLock;
use gameday::backend::Backend;
use gameday::model::{Holder, LEASE_SECONDS};

const T: Duration = Duration::from_secs(30);

fn holder(session: &str, fault: u64) -> Holder {
    Holder {
        who: "bench@here".into(),
        session: session.into(),
        fault,
        what: "scale on shop/carts".into(),
        deadline: chrono::Utc::now().timestamp() + 60,
        lease_seconds: LEASE_SECONDS,
        renewed: String::new(),
        stop: None,
        version: String::new(),
        journal: String::new(),
        gone: false,
    }
}

fn figures(what: &str, mut ms: Vec<f64>) {
    ms.sort_by(f64::total_cmp);
    let at = |q: f64| ms[((ms.len() - 1) as f64 * q).round() as usize];
    println!("{what}: median {:.1} ms, p95 {:.1} ms, max {:.1} ms ({} runs)", at(0.5), at(0.95), at(1.0), ms.len());
}

async fn take_and_release(lock: &dyn ClusterLock, runs: u64) -> (Vec<f64>, Vec<f64>) {
    let (mut take, mut give) = (Vec::new(), Vec::new());
    for i in 0..runs {
        let me = holder("bench", i + 1);
        let t = Instant::now();
        lock.acquire(&me).await.expect("acquire");
        take.push(t.elapsed().as_secs_f64() * 1000.0);
        let t = Instant::now();
        lock.release("bench", i + 1).await.expect("release");
        give.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    (take, give)
}

fn laptop(kubeconfig: &Path, user: &str) -> pty::Console {
    let c = pty::Console::start_in(
        tempfile::tempdir().unwrap(),
        &["--kubeconfig", kubeconfig.to_str().unwrap(), "-n", "shop", "--new", "--user", user],
        &[],
    );
    c.wait_for("carts          3/3", T);
    c
}

fn replicas(server: &apiserver::ApiServer) -> i64 {
    server.get("deployments", "shop", "carts").unwrap()["spec"]["replicas"].as_i64().unwrap_or(-1)
}

async fn wait_replicas(server: &apiserver::ApiServer, n: i64, timeout: Duration) -> Instant {
    let deadline = Instant::now() + timeout;
    while replicas(server) != n {
        assert!(Instant::now() < deadline, "carts never reached {n} replicas");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    Instant::now()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let server = apiserver::ApiServer::start().await;
    server.seed_shop("shop", true);
    server.install_gameday();
    server.wait_shop_ready("shop").await;
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    server.write_kubeconfig(&kubeconfig);

    // The Lease: take and give back, each a read and a compare-and-swap write.
    let kube = KubeBackend::connect(&KubeOptions { kubeconfig: Some(kubeconfig.clone()), ..Default::default() })
        .await
        .expect("connect");
    let lease = kube.lock().expect("a lock");
    let (take, give) = take_and_release(lease.as_ref(), 200).await;
    figures("Kubernetes Lease: take", take);
    figures("Kubernetes Lease: give back", give);

    // The Docker engine's lock container, when an engine is here.
    match gameday::backend::docker::DockerBackend::connect(gameday::backend::docker::DEFAULT_NETEM_IMAGE).await {
        Ok(d) => {
            let lock = d.lock().expect("a lock");
            match lock.current().await {
                Ok(None) => {
                    let (take, give) = take_and_release(lock.as_ref(), 30).await;
                    figures("Docker lock container: take", take);
                    figures("Docker lock container: give back", give);
                }
                other => println!("Docker lock container: not measured (the engine's lock is held: {other:?})"),
            }
        }
        Err(e) => println!("Docker lock container: not measured ({e})"),
    }

    // B's Space to A's fault reverted, A alive: the stop is asked on the Lease, A's watch sees
    // it, A aborts through its abort path and reverts.
    let mut alice = laptop(&kubeconfig, "alice");
    let mut bob = laptop(&kubeconfig, "bob");
    let mut stops = Vec::new();
    for run in 1..=5 {
        alice.command("inject scale shop/carts replicas=1 duration=5m");
        wait_replicas(&server, 1, T).await;
        bob.wait_for("LIVE ELSEWHERE: alice@", T);
        tokio::time::sleep(Duration::from_millis(300)).await;
        let pressed = Instant::now();
        bob.send(" ");
        let reverted = wait_replicas(&server, 3, T).await;
        stops.push((reverted - pressed).as_secs_f64() * 1000.0);
        bob.wait_gone("LIVE ELSEWHERE", T);
        alice.wait_gone("FAULT LIVE", T);
        server.wait_shop_ready("shop").await;
        let _ = run;
    }
    figures("B's Space to A's fault reverted (A alive)", stops);

    // A killed -9 with its fault live: B reverts it once A's lease lapsed (15 s on B's clock).
    let mut lapses = Vec::new();
    for _ in 0..2 {
        alice.command("inject scale shop/carts replicas=1 duration=5m");
        wait_replicas(&server, 1, T).await;
        bob.wait_for("LIVE ELSEWHERE: alice@", T);
        let killed = Instant::now();
        alice.signal("KILL");
        alice.wait_exit(T);
        let reverted = wait_replicas(&server, 3, Duration::from_secs(60)).await;
        lapses.push((reverted - killed).as_secs_f64() * 1000.0);
        bob.wait_gone("LIVE ELSEWHERE", T);
        server.wait_shop_ready("shop").await;
        alice = laptop(&kubeconfig, "alice");
    }
    figures(&format!("A killed to its fault reverted by B (lease {LEASE_SECONDS} s + revert)"), lapses);
    bob.send("q");
    alice.send("q");
    bob.wait_exit(T);
    alice.wait_exit(T);
}
