//! The simulated cluster behaves like the Sock Shop on Kubernetes: controllers replace pods,
//! faults propagate along the call graph and nowhere else, drained nodes empty, and it is
//! deterministic for a seed.

use std::collections::BTreeMap;

use gameday::backend::sim::SimCluster;
use gameday::model::ParamValue;
use gameday::model::{FaultSpec, Mode, PodRef, RevertHandle, Target};
use gameday::model::{PodPhase, TopologyDelta};

/// Prepares and applies a fault the way the console does: pods selected from the topology
/// (pod-delete hits one, the other pod faults all), chosen by `prepare`, applied by `inject`.
fn inject(c: &mut SimCluster, action: &str, target: &str, params: &[(&str, i64)]) -> RevertHandle {
    let target: Target = target.parse().unwrap();
    let mode = match action {
        "pod-delete" => Some(Mode::One),
        "network-latency" | "network-loss" | "cpu-stress" | "container-pause" => Some(Mode::All),
        _ => None,
    };
    let topo = c.topology();
    let pods = match mode {
        Some(_) => topo
            .select(&target)
            .iter()
            .map(|p| PodRef { namespace: p.namespace.clone(), name: p.name.clone() })
            .collect(),
        None => Vec::new(),
    };
    let spec = FaultSpec {
        fault_id: 1,
        session: "test".into(),
        preset: action.into(),
        action: action.into(),
        target,
        params: params.iter().map(|(k, v)| (k.to_string(), ParamValue::Int(*v))).collect(),
        duration_ms: 60_000,
        pods,
        mode,
    };
    let prepared = c.prepare(&spec).unwrap();
    c.inject(&spec, &prepared).unwrap()
}

/// Mean success and p95 per service over `steps` one-second steps.
fn measure(c: &mut SimCluster, steps: u32) -> BTreeMap<String, (f64, f64)> {
    let mut sum: BTreeMap<String, (f64, f64)> = BTreeMap::new();
    for _ in 0..steps {
        c.step(1000);
        for d in c.drain() {
            if let TopologyDelta::Samples(samples) = d {
                for s in samples {
                    let name = s.service.trim_start_matches("sock-shop/").to_string();
                    let e = sum.entry(name).or_default();
                    e.0 += s.success / steps as f64;
                    e.1 += s.p95_ms.unwrap_or_default() / steps as f64;
                }
            }
        }
    }
    sum
}

fn ready(c: &SimCluster, workload: &str) -> (u32, u32) {
    let t = c.topology();
    let w = t.workload("sock-shop", workload).unwrap();
    (w.ready, w.desired)
}

#[test]
fn the_same_seed_gives_the_same_cluster_and_traffic() {
    let run = |seed| {
        let mut c = SimCluster::new(seed);
        inject(&mut c, "pod-delete", "sock-shop/carts", &[]);
        let m = measure(&mut c, 5);
        (c.topology(), format!("{m:?}"))
    };
    assert_eq!(run(7), run(7));
    assert_ne!(run(7).1, run(8).1);
}

#[test]
fn a_deleted_pod_is_recreated_by_its_controller_and_becomes_ready_later() {
    let mut c = SimCluster::new(42);
    let h = inject(&mut c, "pod-delete", "sock-shop/carts", &[("grace_seconds", 0)]);
    let killed = h.data["pods"][0].as_str().unwrap().to_string();
    assert!(c.topology().pod("sock-shop", &killed).is_none(), "grace 0: gone at once");
    assert_eq!(ready(&c, "carts"), (2, 3));
    c.step(1000);
    assert_eq!(c.topology().pods_of("sock-shop", "carts").count(), 2, "the controller waits a little");
    c.step(1000);
    c.step(1000);
    let t = c.topology();
    let new: Vec<_> = t.pods_of("sock-shop", "carts").filter(|p| !p.ready).collect();
    assert_eq!(new.len(), 1, "a replacement exists");
    assert_ne!(new[0].name, killed);
    assert_eq!(ready(&c, "carts"), (2, 3), "but is not ready yet");
    for _ in 0..6 {
        c.step(1000);
    }
    assert_eq!(ready(&c, "carts"), (3, 3));
}

#[test]
fn latency_on_carts_slows_its_callers_but_not_catalogue() {
    let mut c = SimCluster::new(42);
    let before = measure(&mut c, 10);
    inject(&mut c, "network-latency", "sock-shop/carts", &[("latency_ms", 90), ("jitter_ms", 0)]);
    let after = measure(&mut c, 10);
    let grew = |s: &str| after[s].1 - before[s].1;
    assert!(grew("carts") > 80.0, "carts itself: {}", grew("carts"));
    assert!(grew("orders") > 60.0, "orders calls carts on every request: {}", grew("orders"));
    assert!(grew("front-end") > 30.0, "front-end calls carts on some requests: {}", grew("front-end"));
    for untouched in ["catalogue", "payment", "user", "carts-db"] {
        assert!(grew(untouched).abs() < 5.0, "{untouched} must not change: {}", grew(untouched));
    }
}

#[test]
fn a_service_with_no_ready_pod_fails_its_callers() {
    let mut c = SimCluster::new(42);
    inject(&mut c, "scale", "sock-shop/carts-db", &[("replicas", 0)]);
    for _ in 0..35 {
        c.step(1000); // the scaled-down pod terminates after its grace period
    }
    let m = measure(&mut c, 5);
    assert_eq!(ready(&c, "carts-db"), (0, 0));
    assert!(m["carts-db"].0 < 0.01, "{:?}", m["carts-db"]);
    assert!(m["carts"].0 < 0.01, "carts calls carts-db on every request: {:?}", m["carts"]);
    assert!(m["front-end"].0 < 0.8, "front-end calls carts on some requests: {:?}", m["front-end"]);
    assert!(m["catalogue"].0 > 0.99, "{:?}", m["catalogue"]);
}

#[test]
fn a_paused_database_makes_its_caller_time_out() {
    let mut c = SimCluster::new(42);
    inject(&mut c, "container-pause", "sock-shop/orders-db", &[]);
    let m = measure(&mut c, 5);
    assert!(m["orders"].0 < 0.05, "{:?}", m["orders"]);
    assert!(m["orders"].1 >= 1000.0, "callers wait for the call timeout: {:?}", m["orders"]);
    assert!(m["catalogue"].0 > 0.99);
}

#[test]
fn a_drained_node_moves_its_pods_and_uncordon_lets_it_schedule_again() {
    let mut c = SimCluster::new(42);
    let on =
        |c: &SimCluster, node: &str| c.topology().pods_on(node).filter(|p| p.phase != PodPhase::Terminating).count();
    let before = on(&c, "worker-1");
    assert!(before > 0);
    let h = inject(&mut c, "node-drain", "node/worker-1", &[("grace_seconds", 5)]);
    assert!(c.topology().node("worker-1").unwrap().unschedulable);
    for _ in 0..15 {
        c.step(1000);
    }
    let t = c.topology();
    assert_eq!(t.pods_on("worker-1").count(), 0, "evicted pods are gone");
    for w in t.workloads() {
        assert_eq!((w.ready, w.desired), (w.desired, w.desired), "{} runs elsewhere", w.name);
    }
    c.revert(&h).unwrap();
    assert!(!c.topology().node("worker-1").unwrap().unschedulable);
    assert_eq!(Target::node("worker-1").to_string(), "node/worker-1");
}

#[test]
fn reverts_undo_every_kind_of_fault() {
    for (action, target, params) in [
        ("network-latency", "sock-shop/carts", vec![("latency_ms", 300)]),
        ("network-loss", "sock-shop/carts", vec![("loss_percent", 50)]),
        ("cpu-stress", "sock-shop/carts", vec![("load_percent", 95), ("workers", 1)]),
        ("container-pause", "sock-shop/carts", vec![]),
        ("config-corrupt", "sock-shop/carts", vec![]),
        ("scale", "sock-shop/carts", vec![("replicas", 0)]),
    ] {
        let mut c = SimCluster::new(42);
        let h = inject(&mut c, action, target, &params);
        measure(&mut c, 2);
        c.revert(&h).unwrap();
        c.revert(&h).unwrap(); // idempotent
        measure(&mut c, 35); // replacements start and become ready
        let m = measure(&mut c, 5);
        assert_eq!(ready(&c, "carts"), (3, 3), "{action}");
        assert!(c.topology().pods_of("sock-shop", "carts").all(|p| p.note.is_none()), "{action}");
        assert!(m["carts"].0 > 0.9, "{action}: {:?}", m["carts"]);
    }
}

#[test]
fn a_drill_responders_replay_says_nothing_of_what_a_fault_does_to_a_pod() {
    let fault_lines = |c: &mut SimCluster| {
        c.drain()
            .into_iter()
            .filter(|d| matches!(d, TopologyDelta::ClusterEvent { message, .. } if message.contains("latency") || message == "fault removed"))
            .count()
    };
    let mut told = SimCluster::new(42);
    let h = inject(&mut told, "network-latency", "sock-shop/carts", &[("latency_ms", 400)]);
    told.revert(&h).unwrap();
    assert_eq!(fault_lines(&mut told), 6, "the facilitator's demo says it: 3 pods, on and off");

    let mut quiet = SimCluster::new(42);
    quiet.hide_fault_events();
    let before = measure(&mut quiet, 5);
    let h = inject(&mut quiet, "network-latency", "sock-shop/carts", &[("latency_ms", 400)]);
    assert_eq!(fault_lines(&mut quiet), 0);
    let during = measure(&mut quiet, 5);
    assert!(during["carts"].1 - before["carts"].1 > 300.0, "the effect is there to be found");
    quiet.revert(&h).unwrap();
    assert_eq!(fault_lines(&mut quiet), 0);
}
