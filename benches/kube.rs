//! The Kubernetes backend at scale: 10,000 pods, 2,500 services and 500 nodes on the test API
//! server (real HTTP, the real kube client). Prints the time from start to the complete topology
//! (at the backend, and on the real console's screen in a pty), the console's resident memory,
//! the cost of one watch event (through the picture and the core `update`), and one frame.
//! Run with `cargo bench --bench kube`.

#[path = "../tests/common/apiserver/mod.rs"]
#[allow(dead_code)]
mod apiserver;
mod common;
#[path = "../tests/common/pty.rs"]
#[allow(dead_code)]
mod pty;

use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use gameday::app::{update, Event};
use gameday::backend::kube::cluster::{Change, Cluster, Obj, Policy, KINDS};
use gameday::backend::kube::{KubeBackend, KubeOptions};
use gameday::backend::Backend;
use gameday::model::{FaultSpec, Mode, PodRef, Target, TopologyDelta};
use gameday::timeline::Stamp;
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use serde_json::{json, Value};

use common::scale::{objects, DEPLOYMENTS_PER_NS, NAMESPACES, NODES, PODS, PODS_PER_DEPLOYMENT};

/// The same objects as watcher changes, kind by kind.
fn changes(objs: &[(&'static str, Value)]) -> Vec<Change> {
    let mut out: Vec<Change> = KINDS.iter().map(|k| Change::Init(*k)).collect();
    for (plural, o) in objs {
        let o = o.clone();
        let obj = match *plural {
            "nodes" => Obj::Node(serde_json::from_value(o).unwrap()),
            "namespaces" => Obj::Namespace(serde_json::from_value(o).unwrap()),
            "deployments" => Obj::Deployment(serde_json::from_value(o).unwrap()),
            "replicasets" => Obj::ReplicaSet(serde_json::from_value(o).unwrap()),
            "services" => Obj::Service(serde_json::from_value(o).unwrap()),
            "pods" => Obj::Pod(serde_json::from_value(o).unwrap()),
            "endpointslices" => Obj::EndpointSlice(serde_json::from_value(o).unwrap()),
            other => panic!("{other}"),
        };
        out.push(Change::Apply(obj));
    }
    out.extend(KINDS.iter().map(|k| Change::InitDone(*k)));
    out
}

fn at(ms: u64) -> Stamp {
    Stamp::at(Utc.with_ymd_and_hms(2026, 11, 24, 10, 0, 0).unwrap(), ms)
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let objs = objects();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let server = rt.block_on(apiserver::ApiServer::start());
    server.freeze(true);
    let seeded = Instant::now();
    for (plural, o) in &objs {
        server.apply(plural, o.clone());
    }
    println!("seeded {} objects ({PODS} pods) in {:.1} s", objs.len(), seeded.elapsed().as_secs_f64());
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    server.write_kubeconfig(&kubeconfig);

    // Connect to the complete picture, at the backend.
    let mut full = Vec::new();
    for _ in 0..3 {
        let t0 = Instant::now();
        let pods = rt.block_on(async {
            let opts = KubeOptions { kubeconfig: Some(kubeconfig.clone()), ..Default::default() };
            let b = KubeBackend::connect(&opts).await.expect("connect");
            let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
            b.watch(tx);
            loop {
                if let Some(TopologyDelta::Snapshot(t)) = rx.recv().await {
                    break t.pod_count();
                }
            }
        });
        assert_eq!(pods, PODS);
        full.push(t0.elapsed().as_secs_f64() * 1000.0);
    }

    // The confirmation's preview at that scale (read-only): what a drain of one node would evict,
    // its pods' namespaces and their budgets; and a pod-delete's pods with their containers.
    let (mut drain, mut delete) = (Vec::new(), Vec::new());
    rt.block_on(async {
        let opts = KubeOptions { kubeconfig: Some(kubeconfig.clone()), ..Default::default() };
        let b = KubeBackend::connect(&opts).await.expect("connect");
        let spec = |action: &str, target: Target, pods: Vec<PodRef>| FaultSpec {
            fault_id: 1,
            session: "bench".into(),
            preset: action.into(),
            action: action.into(),
            target,
            params: Default::default(),
            duration_ms: 60_000,
            mode: (!pods.is_empty()).then_some(Mode::All),
            pods,
        };
        let node = spec("node-drain", Target::Node { name: "node-007".into() }, Vec::new());
        let pods: Vec<PodRef> = (0..PODS_PER_DEPLOYMENT)
            .map(|p| PodRef { namespace: "team-03".into(), name: format!("svc-07-5f7c9d8b6-{p:05}") })
            .collect();
        let target = Target::Workload { namespace: "team-03".into(), name: "svc-07".into() };
        let pods = spec("pod-delete", target, pods);
        for _ in 0..10 {
            let t0 = Instant::now();
            let p = b.preview(&node).await.expect("drain preview");
            drain.push(t0.elapsed().as_secs_f64() * 1000.0);
            assert!(p.found[0].starts_with(&format!("evicts {} pods", PODS / NODES)), "{:?}", p.found);
            let t0 = Instant::now();
            b.preview(&pods).await.expect("pod-delete preview");
            delete.push(t0.elapsed().as_secs_f64() * 1000.0);
        }
    });

    // The real console: start to the complete topology on screen, then its memory.
    let (mut on_screen, mut rss, mut kubectl) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..3 {
        let started = Instant::now();
        let kc = kubeconfig.to_str().unwrap();
        let mut c = pty::Console::start(&["--kubeconfig", kc]);
        c.wait_for(&format!("Topology · {PODS} pods"), Duration::from_secs(60));
        on_screen.push(started.elapsed().as_secs_f64() * 1000.0);
        std::thread::sleep(Duration::from_secs(2));
        rss.push(common::rss_mib(&c.pid().to_string()));
        c.send("q");
        c.wait_exit(Duration::from_secs(20));
        // kubectl listing the same pods in the same run, beside it.
        let t0 = Instant::now();
        let out = std::process::Command::new("kubectl").args(["--kubeconfig", kc, "get", "pods", "-A"]).output();
        match out {
            Ok(o) if o.status.success() => kubectl.push(t0.elapsed().as_secs_f64() * 1000.0),
            Ok(o) => eprintln!("kubectl failed: {}", String::from_utf8_lossy(&o.stderr)),
            Err(e) => eprintln!("kubectl not run: {e}"),
        }
    }

    // One watch event: a pod's readiness flips (its workload and service change with it),
    // through the picture and the core.
    let mut cluster = Cluster::new(Policy::default());
    let mut s = common::state("kubernetes", "bench", at(0));
    for ch in changes(&objs) {
        for d in cluster.apply(ch) {
            update(&mut s, Event::Backend(d), at(0));
        }
    }
    assert_eq!(s.picture.topology.pod_count(), PODS);
    let pod = objs.iter().find(|(p, _)| *p == "pods").unwrap().1.clone();
    let mut flipped = pod.clone();
    flipped["status"]["conditions"][0]["status"] = json!("False");
    flipped["status"]["containerStatuses"][0]["ready"] = json!(false);
    let versions: [gameday::backend::kube::cluster::LeanPod; 2] =
        [serde_json::from_value(flipped).unwrap(), serde_json::from_value(pod).unwrap()];
    let n = 20_000u64;
    let t0 = Instant::now();
    let mut deltas = 0usize;
    for i in 0..n {
        let change = Change::Apply(Obj::Pod(versions[(i % 2) as usize].clone()));
        for d in cluster.apply(change) {
            deltas += 1;
            update(&mut s, Event::Backend(d), at(1000 + i));
        }
    }
    let per_event = t0.elapsed().as_secs_f64() * 1e6 / n as f64;

    // One frame of that picture.
    let mut term = Terminal::new(TestBackend::new(160, 45)).unwrap();
    let mut frames = Vec::new();
    for _ in 0..50 {
        let t0 = Instant::now();
        term.draw(|f| gameday::ui::draw(f, &s)).unwrap();
        frames.push(t0.elapsed().as_secs_f64() * 1000.0);
    }

    println!("Kubernetes backend, {PODS} pods, {} services, {NODES} nodes (median):", NAMESPACES * DEPLOYMENTS_PER_NS);
    println!("  connect to the complete topology (backend)       {:>8.0} ms", common::median(full));
    println!(
        "  start to the complete topology on screen (pty)   {:>8.0} ms   (aim < 2000 ms)",
        common::median(on_screen.clone())
    );
    if !kubectl.is_empty() {
        let (k, c) = (common::median(kubectl), common::median(on_screen.clone()));
        println!("  kubectl get pods -A, same server, same run       {k:>8.0} ms   (console {:.2} x kubectl)", c / k);
    }
    println!("  console resident memory                          {:>8.1} MiB  (aim < 200 MB)", common::median(rss));
    println!(
        "  one watch event (picture + update, {:.1} deltas)  {:>8.2} µs   (aim < 10 µs)",
        deltas as f64 / n as f64,
        per_event
    );
    println!("  one frame (160x45)                               {:>8.2} ms   (aim < 5 ms)", common::median(frames));
    println!("  preview of a node drain ({} pods on the node)     {:>8.1} ms", PODS / NODES, common::median(drain));
    println!(
        "  preview of a pod-delete ({PODS_PER_DEPLOYMENT} pods)                  {:>8.1} ms",
        common::median(delete)
    );
}
