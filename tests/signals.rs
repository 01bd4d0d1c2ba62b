//! Golden signals from a real system's sources, in the pure core: a Prometheus batch becomes
//! each workload's success, p95 and rps (keys mapped through the picture, the most telling
//! family per workload, p95 as `histogram_quantile` computes it), CPU and memory sum per
//! workload, a source that fails turns its rows unknown (never healthy: the steady state is
//! unknown and a stop condition never fires on it, and the confirmation says so), a workload
//! with no requests is judged by readiness, and stop conditions on rps, cpu and memory work.

mod common;

use common::{compose_topology, Harness};
use gameday::app::fault::FaultPhase;
use gameday::app::{Effect, Event};
use gameday::config::session_file::SessionConfig;
use gameday::model::check::Verdict;
use gameday::model::{PodUsage, Rates, SignalBatch, SignalKey, SourceKind, SourceState, TopologyDelta};
use gameday::timeline::{EntryKind, Health};

const INF: f64 = f64::INFINITY;
const SOURCE: &str = "Prometheus monitoring/prometheus-k8s (through the API server)";

/// The demo's console, on a compose-like picture (shop/web x2, shop/db) with no traffic yet.
fn shop() -> Harness {
    let mut h = Harness::demo();
    h.send(Event::Backend(TopologyDelta::Snapshot(compose_topology())));
    h.send(Event::Backend(TopologyDelta::Source {
        kind: SourceKind::Requests,
        name: SOURCE.into(),
        state: SourceState::Up { families: vec!["Istio".into(), "HTTP server".into()] },
    }));
    h
}

fn rates(family: &str, key: SignalKey, rps: f64, errors: f64, buckets: &[(f64, f64)]) -> Rates {
    Rates { family: family.into(), key, rps, errors_rps: errors, buckets: buckets.to_vec() }
}

fn workload(name: &str) -> SignalKey {
    SignalKey::Workload { namespace: "shop".into(), name: name.into() }
}

fn batch(rates: Vec<Rates>) -> Event {
    Event::Backend(TopologyDelta::Signals(SignalBatch {
        source: SOURCE.into(),
        window_ms: 15_000,
        rates,
        gone: Vec::new(),
    }))
}

#[test]
fn a_batch_becomes_success_p95_and_rps_per_workload() {
    let mut h = shop();
    // web: Istio by workload; db: only an app histogram, by pod; an unknown workload is left out.
    h.send(batch(vec![
        rates("Istio", workload("web"), 20.0, 1.0, &[(10.0, 10.0), (100.0, 19.0), (1000.0, 20.0), (INF, 20.0)]),
        rates(
            "HTTP server",
            SignalKey::Pod { namespace: "shop".into(), name: "shop-db-1".into() },
            4.0,
            0.0,
            &[(5.0, 4.0), (INF, 4.0)],
        ),
        rates("HTTP server", SignalKey::Pod { namespace: "shop".into(), name: "shop-web-1".into() }, 99.0, 99.0, &[]),
        rates("Istio", workload("gone"), 5.0, 0.0, &[]),
    ]));
    let web = h.s.picture.health["shop/web"].last.clone().unwrap();
    assert_eq!(web.success, 0.95);
    // Rank 19 of 20 is the top of the (10, 100] bucket.
    assert_eq!(web.p95_ms, Some(100.0));
    assert_eq!(web.rps, 20.0);
    assert_eq!(web.source, format!("Istio via {SOURCE}"), "the mesh wins over the app's own histogram");
    let db = h.s.picture.health["shop/db"].last.clone().unwrap();
    assert_eq!((db.success, db.p95_ms, db.rps), (1.0, Some(4.75), 4.0));
    assert!(!h.s.picture.health.contains_key("shop/gone"));
    // 95% success is degraded once it holds for two samples.
    let fx = h.send(batch(vec![rates("Istio", workload("web"), 20.0, 1.0, &[(100.0, 20.0), (INF, 20.0)])]));
    let changed = fx.iter().any(|e| {
        matches!(e, Effect::Record(r) if matches!(&r.kind, EntryKind::HealthChanged { service, to: Health::Degraded, .. } if service == "shop/web"))
    });
    assert!(changed, "{fx:?}");
}

#[test]
fn a_lost_source_makes_its_rows_unknown_never_healthy_and_says_so_once() {
    let mut h = shop();
    h.send(batch(vec![rates("Istio", workload("web"), 10.0, 0.0, &[(50.0, 10.0), (INF, 10.0)])]));
    assert_eq!(h.s.picture.health["shop/web"].state(), Health::Healthy);
    let down = || {
        Event::Backend(TopologyDelta::Source {
            kind: SourceKind::Requests,
            name: SOURCE.into(),
            state: SourceState::Down { why: "forbidden (403): this account may not get services/proxy".into() },
        })
    };
    let before = h.s.book.timeline.len();
    h.send(down());
    h.send(down());
    let said: Vec<String> = h.s.book.timeline[before..].iter().map(|e| e.kind.describe()).collect();
    assert_eq!(said.len(), 1, "said once: {said:?}");
    assert!(said[0].contains("LOST: forbidden (403)"), "{said:?}");
    assert_eq!(h.s.picture.health["shop/web"].state(), Health::Unknown);
    // The default steady state is unknown, not "every service answers".
    let v = h.s.steady.hypothesis(&h.s.steady_view());
    assert!(matches!(&v, Verdict::Unknown { why } if why.contains("unknown: forbidden")), "{v:?}");
    // Back: readings again, and said so.
    h.send(Event::Backend(TopologyDelta::Source {
        kind: SourceKind::Requests,
        name: SOURCE.into(),
        state: SourceState::Up { families: vec!["Istio".into()] },
    }));
    h.send(batch(vec![rates("Istio", workload("web"), 10.0, 0.0, &[(50.0, 10.0), (INF, 10.0)])]));
    assert_eq!(h.s.picture.health["shop/web"].state(), Health::Healthy);
    assert!(h.s.book.timeline.iter().rev().take(3).any(|e| e.kind.describe().contains(" again (Istio)")));
}

#[test]
fn a_workload_with_no_requests_is_judged_by_readiness() {
    let mut h = shop();
    h.send(batch(vec![rates("Istio", workload("db"), 3.0, 0.0, &[(5.0, 3.0), (INF, 3.0)])]));
    assert!(h.s.picture.health["shop/db"].last.is_some());
    // No requests to db this window: idle, judged by readiness (ready 1/1: healthy).
    h.send(batch(vec![]));
    let db = &h.s.picture.health["shop/db"];
    assert!(db.last.is_none() && db.idle.is_some());
    assert_eq!(db.state(), Health::Healthy);
}

/// `:inject container-pause shop/web`, the backend's answers given by hand (the simulated
/// cluster behind the harness is the demo's, not this picture).
fn live(h: &mut Harness) {
    let handle =
        |id| gameday::model::RevertHandle { fault_id: id, summary: "paused".into(), data: serde_json::Value::Null };
    let fx = h.command("inject container-pause shop/web duration=5m");
    assert!(fx.iter().any(|e| matches!(e, Effect::Prepare(_))), "{fx:?} {:?}", h.s.book.status);
    h.send(Event::Prepared { fault: 1, result: Ok(handle(1)), fixed_end: None });
    h.send(Event::Injected { fault: 1, result: Ok(handle(1)) });
    assert!(matches!(h.s.fault.phase, FaultPhase::Active { .. }), "{:?}", h.s.fault.phase);
}

#[test]
fn a_stop_condition_on_cpu_reads_the_workloads_pods_summed_and_aborts_the_fault() {
    let mut h = shop();
    let file = "[[probe]]\nname = \"web\"\nservice = \"shop/web\"\n\n\
        [[stop]]\nprobe = \"web\"\ncheck = \"cpu <= 500m\"\nfor = \"0s\"\n";
    let fx = h.s.configure_steady(SessionConfig::parse("s.toml", file).unwrap());
    h.run_effects(fx);
    let usage = |cpu: f64| {
        let pod = |n: &str| PodUsage {
            namespace: "shop".into(),
            pod: n.into(),
            cpu_m: cpu,
            memory_bytes: 64.0 * 1048576.0,
            ..Default::default()
        };
        Event::Backend(TopologyDelta::Usage {
            source: "metrics.k8s.io".into(),
            pods: vec![pod("shop-web-1"), pod("shop-web-2")],
        })
    };
    h.send(usage(100.0));
    h.send(batch(vec![rates("Istio", workload("web"), 10.0, 0.0, &[(50.0, 10.0), (INF, 10.0)])]));
    let web = &h.s.picture.health["shop/web"];
    assert_eq!(web.usage.as_ref().map(|u| (u.cpu_m, u.pods)), Some((200.0, 2)));
    h.t = 1000;
    h.send(Event::Tick);
    live(&mut h);
    // CPU rises past 500m: the fault is aborted by the stop condition.
    h.send(usage(400.0));
    h.t = 2000;
    let fx = h.send(Event::Tick);
    assert!(matches!(h.s.fault.phase, FaultPhase::Reverting { .. }), "{:?}", h.s.fault.phase);
    assert!(
        h.s.book
            .timeline
            .iter()
            .any(|e| matches!(&e.kind, EntryKind::StopCondition { reading, .. } if reading.contains("cpu 800m"))),
        "{fx:?}"
    );
}

#[test]
fn a_stop_condition_on_unknown_signals_never_fires_and_the_confirmation_says_so() {
    let mut h = shop();
    let file = "[[probe]]\nname = \"web\"\nservice = \"shop/web\"\n\n\
        [[stop]]\nprobe = \"web\"\ncheck = \"success >= 99%\"\nfor = \"0s\"\n";
    let fx = h.s.configure_steady(SessionConfig::parse("s.toml", file).unwrap());
    h.run_effects(fx);
    h.send(Event::Backend(TopologyDelta::Source {
        kind: SourceKind::Requests,
        name: SOURCE.into(),
        state: SourceState::Down { why: "no answer within 5 s".into() },
    }));
    h.advance(1000);
    let blind = h.s.steady.blind_stops(h.s.book.t_ms());
    assert_eq!(blind.len(), 1);
    assert!(blind[0].starts_with("web success >= 99.0%"), "{blind:?}");
    let fx = h.command("inject container-pause shop/web duration=5m");
    h.run_effects(fx);
    assert!(matches!(h.s.fault.phase, FaultPhase::Armed { .. }), "the confirmation asks first: {:?}", h.s.fault.phase);
    assert!(h.s.book.status.as_ref().is_some_and(|s| s.text.contains("stop conditions cannot be evaluated")));
}

#[test]
fn a_family_that_vanishes_makes_what_it_measured_unknown_until_it_comes_back() {
    let mut h = shop();
    let web = || rates("Istio", workload("web"), 10.0, 0.0, &[(50.0, 10.0), (INF, 10.0)]);
    h.send(batch(vec![web()]));
    assert_eq!(h.s.picture.health["shop/web"].state(), Health::Healthy);
    let gone = || {
        Event::Backend(TopologyDelta::Signals(SignalBatch {
            source: SOURCE.into(),
            window_ms: 15_000,
            rates: vec![],
            gone: vec!["Istio".into()],
        }))
    };
    let before = h.s.book.timeline.len();
    h.send(gone());
    // The next refreshes have no Istio series either (and say nothing is gone any more):
    // still unknown, never taken for idle and judged healthy by readiness.
    h.send(batch(vec![]));
    h.send(batch(vec![]));
    let said: Vec<String> = h.s.book.timeline[before..].iter().map(|e| e.kind.describe()).collect();
    assert_eq!(said.len(), 1, "said once: {said:?}");
    assert!(said[0].contains("Istio metrics are gone from Prometheus") && said[0].contains("1 service(s)"), "{said:?}");
    assert_eq!(h.s.picture.health["shop/web"].state(), Health::Unknown);
    let v = h.s.steady.hypothesis(&h.s.steady_view());
    assert!(matches!(&v, Verdict::Unknown { why } if why.contains("Istio metrics are gone")), "{v:?}");
    // Back.
    h.send(batch(vec![web()]));
    assert_eq!(h.s.picture.health["shop/web"].state(), Health::Healthy);
    assert!(
        h.s.book.timeline.last().unwrap().kind.describe().contains("Istio via Prometheus"),
        "{:?}",
        h.s.book.timeline.last()
    );
}
