//! The Docker backend at scale, on the real engine: 200 containers. Prints the time from
//! connecting to the full topology, the console's memory with them on screen, and the time from
//! Space to a confirmed unpause (at the backend, and through the real console in a pty).
//! Run with `cargo bench --bench docker` (needs a Docker engine; builds its images locally).

mod common;
#[path = "../tests/common/pty.rs"]
#[allow(dead_code)]
mod pty;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bollard::models::{ContainerCreateBody, HealthConfig, HostConfig};
use bollard::query_parameters::{CreateContainerOptionsBuilder, RemoveContainerOptionsBuilder};
use bollard::Docker;
use futures::StreamExt;
use gameday::backend::docker::DockerBackend;
use gameday::backend::Backend;
use gameday::model::{FaultSpec, Mode, PodRef, TopologyDelta};

const N: usize = 200;
const PROJECT: &str = "gdbench";
const IMAGE: &str = "gameday-test-web:latest";
const NETEM: &str = "gameday-test-netem:latest";

async fn remove_all(d: &Docker) {
    let filters = HashMap::from([("label", vec![format!("com.docker.compose.project={PROJECT}")])]);
    let opts = bollard::query_parameters::ListContainersOptionsBuilder::default().all(true).filters(&filters).build();
    let ids: Vec<String> =
        d.list_containers(Some(opts)).await.unwrap_or_default().into_iter().filter_map(|c| c.id).collect();
    futures::stream::iter(ids)
        .for_each_concurrent(16, |id| async move {
            let _ = d.remove_container(&id, Some(RemoveContainerOptionsBuilder::default().force(true).build())).await;
        })
        .await;
}

async fn create_all(d: &Docker) {
    futures::stream::iter(0..N)
        .for_each_concurrent(8, |i| async move {
            let name = format!("{PROJECT}-svc{:02}-{}", i / 10, i % 10 + 1);
            let labels = HashMap::from([
                ("com.docker.compose.project".to_string(), PROJECT.to_string()),
                ("com.docker.compose.service".to_string(), format!("svc{:02}", i / 10)),
            ]);
            let body = ContainerCreateBody {
                image: Some(IMAGE.into()),
                labels: Some(labels),
                healthcheck: Some(HealthConfig { test: Some(vec!["NONE".into()]), ..Default::default() }),
                host_config: Some(HostConfig { memory: Some(16 * 1024 * 1024), ..Default::default() }),
                ..Default::default()
            };
            let opts = CreateContainerOptionsBuilder::default().name(&name).build();
            d.create_container(Some(opts), body).await.expect("create");
            d.start_container(&name, None::<bollard::query_parameters::StartContainerOptions>).await.expect("start");
        })
        .await;
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/docker/build-images.sh");
    assert!(std::process::Command::new(script).status().expect("build images").success());
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        let d = Docker::connect_with_defaults().unwrap().negotiate_version().await.expect("a Docker engine");
        remove_all(&d).await;
        let made = Instant::now();
        create_all(&d).await;
        println!("created {N} containers in {:.1} s", made.elapsed().as_secs_f64());

        // Connect to the full topology, at the backend.
        let mut full = Vec::new();
        for _ in 0..5 {
            let t0 = Instant::now();
            let b = DockerBackend::connect(NETEM).await.unwrap();
            let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
            b.watch(tx);
            loop {
                if let Some(TopologyDelta::Snapshot(t)) = rx.recv().await {
                    assert!(t.pods().filter(|p| p.namespace == PROJECT).count() >= N);
                    break;
                }
            }
            full.push(t0.elapsed().as_secs_f64() * 1000.0);
        }

        // Space to a confirmed unpause, at the backend: the revert call only.
        let b = DockerBackend::connect(NETEM).await.unwrap();
        let mut unpause = Vec::new();
        for i in 0..10 {
            let name = format!("{PROJECT}-svc00-{}", i % 10 + 1);
            let spec = FaultSpec {
                fault_id: i as u64,
                session: "bench".into(),
                preset: "container-pause".into(),
                action: "container-pause".into(),
                target: format!("container/{name}").parse().unwrap(),
                params: Default::default(),
                duration_ms: 60_000,
                pods: vec![PodRef { namespace: PROJECT.into(), name: name.clone() }],
                mode: Some(Mode::All),
            };
            let h = b.prepare(&spec).await.unwrap();
            let h = b.inject(&spec, &h).await.unwrap();
            let t0 = Instant::now();
            b.revert(&h).await.unwrap();
            unpause.push(t0.elapsed().as_secs_f64() * 1000.0);
        }

        // The real console in a pty: first screen with every container, memory, Space.
        let (mut on_screen, mut rss, mut space) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..3 {
            let started = Instant::now();
            let mut c = pty::Console::start(&["--docker", "--netem-image", NETEM]);
            c.wait_for(&format!("Topology · {} containers", N), Duration::from_secs(20));
            on_screen.push(started.elapsed().as_secs_f64() * 1000.0);
            tokio::time::sleep(Duration::from_secs(2)).await;
            rss.push(common::rss_mib(&c.pid().to_string()));
            c.command(&format!("inject container-pause container/{PROJECT}-svc01-1"));
            c.wait_for("FAULT LIVE #1", Duration::from_secs(20));
            let pressed = Instant::now();
            c.send(" ");
            let deadline = Instant::now() + Duration::from_secs(10);
            while !c.screen().contains("fault #1 reverted (confirmed)") && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(2));
            }
            space.push(pressed.elapsed().as_secs_f64() * 1000.0);
            c.send("q");
            c.wait_exit(Duration::from_secs(20));
        }
        remove_all(&d).await;
        println!("Docker backend, {N} containers, median:");
        println!("  connect to full topology (backend):    {:>7.1} ms (target < 300 ms)", common::median(full));
        println!("  start to all {N} on screen (console):  {:>7.1} ms", common::median(on_screen));
        println!("  console resident memory:               {:>7.1} MiB", common::median(rss));
        println!("  revert of a pause (unpause confirmed): {:>7.1} ms (target < 50 ms)", common::median(unpause));
        println!(
            "  Space to 'reverted (confirmed)' shown: {:>7.1} ms (pty round trip included)",
            common::median(space)
        );
    });
}
