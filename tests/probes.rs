//! The probe engine against real services on loopback: HTTP answering, slow, failing and down;
//! TCP; a probe that was never reachable; the engine's interval; and a stop condition that aborts
//! a fault on the demo when the real service starts failing.

mod common;

use std::time::Duration;

use common::http_service::{Mode, Service};
use common::Harness;
use gameday::app::fault::FaultPhase;
use gameday::app::{steady, Effect, Event};
use gameday::config::session_file::SessionConfig;
use gameday::model::probe::{ProbeKind, ProbeSpec};
use gameday::runtime::probes::{run_once, spawn};
use gameday::timeline::EntryKind;

fn http(name: &str, url: &str, timeout_ms: u64) -> ProbeSpec {
    ProbeSpec {
        name: name.into(),
        kind: ProbeKind::Http { url: url.into(), expect_status: 200 },
        interval_ms: 1000,
        timeout_ms,
    }
}

fn tcp(name: &str, addr: &str) -> ProbeSpec {
    ProbeSpec { name: name.into(), kind: ProbeKind::Tcp { addr: addr.into() }, interval_ms: 1000, timeout_ms: 1000 }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_and_tcp_probes_see_a_service_answer_slow_down_fail_and_go() {
    let mut svc = Service::start().await;
    let probe = http("shop", &svc.url(), 500);
    let o = run_once(&probe).await;
    assert_eq!((o.ok, o.reached, o.success), (Some(true), true, Some(1.0)), "{o:?}");
    assert!(o.detail.starts_with("200 in "), "{}", o.detail);
    let t = run_once(&tcp("port", &svc.addr.to_string())).await;
    assert_eq!((t.ok, t.reached), (Some(true), true), "{t:?}");

    svc.set(Mode::Slow(Duration::from_millis(300)));
    let o = run_once(&probe).await;
    assert_eq!(o.ok, Some(true));
    assert!(o.latency_ms.unwrap() >= 300.0, "{o:?}");

    svc.set(Mode::Slow(Duration::from_millis(2000)));
    let o = run_once(&probe).await;
    assert_eq!((o.ok, o.reached), (Some(false), true), "slower than the timeout is a failure: {o:?}");
    assert_eq!(o.detail, "no answer within 500 ms");

    svc.set(Mode::Failing);
    let o = run_once(&probe).await;
    assert_eq!((o.ok, o.success), (Some(false), Some(0.0)));
    assert!(o.detail.starts_with("500 Internal Server Error in") && o.detail.ends_with("wanted 200"), "{}", o.detail);

    svc.stop().await;
    let o = run_once(&probe).await;
    assert_eq!((o.ok, o.reached), (Some(false), false), "{o:?}");
    assert!(o.detail.to_lowercase().contains("connection refused"), "{}", o.detail);
    let t = run_once(&tcp("port", &svc.addr.to_string())).await;
    assert_eq!((t.ok, t.reached), (Some(false), false), "{t:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_engine_reports_each_probe_at_its_interval_through_the_event_channel() {
    let svc = Service::start().await;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    spawn(ProbeSpec { interval_ms: 200, ..http("shop", &svc.url(), 500) }, None, tx);
    let mut n = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_millis(1100);
    while let Ok(Some(ev)) = tokio::time::timeout_at(deadline, rx.recv()).await {
        assert!(matches!(ev, Event::Probe(ref o) if o.probe == "shop" && o.ok == Some(true)), "{ev:?}");
        n += 1;
    }
    assert!((5..=7).contains(&n), "{n} readings in 1.1 s at a 200 ms interval");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_condition_on_a_real_service_aborts_the_fault_when_the_service_fails() {
    let svc = Service::start().await;
    let file = format!(
        "[[probe]]\nname = \"shop\"\nhttp = \"{}\"\n[[stop]]\nprobe = \"shop\"\ncheck = \"success >= 50%\"\nover = \"2s\"\nfor = \"1s\"\n",
        svc.url()
    );
    let mut h = Harness::demo();
    let fx = h.s.configure_steady(SessionConfig::parse("t.toml", &file).unwrap());
    let spec = fx
        .iter()
        .find_map(|e| match e {
            Effect::StartProbe(p) => Some(p.clone()),
            _ => None,
        })
        .expect("the probe is started");
    // A first reading: a stop condition that cannot be read yet would make the inject ask first.
    let first = run_once(&spec).await;
    h.send(Event::Probe(first));
    let fx = h.command("inject network-latency sock-shop/carts");
    h.run_effects(fx);
    assert!(matches!(h.s.fault.phase, FaultPhase::Active { .. }), "{:?}", h.s.fault.phase);
    let mut records = Vec::new();
    for second in 0..10 {
        if second == 3 {
            svc.set(Mode::Failing);
        }
        let mut fx = h.advance(1000);
        let o = run_once(&spec).await;
        let more = h.send(Event::Probe(o));
        fx.extend(h.run_effects(more));
        for e in fx {
            if let Effect::Record(r) = e {
                records.push((second, r.kind));
            }
        }
        if matches!(h.s.fault.phase, FaultPhase::Idle) {
            break;
        }
    }
    let (at, stop) = records
        .iter()
        .find(|(_, k)| matches!(k, EntryKind::StopCondition { .. }))
        .unwrap_or_else(|| panic!("not aborted: {records:#?}"));
    assert!(
        matches!(stop, EntryKind::StopCondition { reading, .. } if reading.starts_with("shop success")),
        "{stop:?}"
    );
    assert!((4..=7).contains(at), "failing from second 3: breached within the window, held 1 s: {at}");
    assert!(matches!(h.s.fault.phase, FaultPhase::Idle), "reverted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_probe_nobody_answers_from_the_start_stays_unknown_in_the_console() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let file = format!("[[probe]]\nname = \"gone\"\nhttp = \"http://{addr}/\"\n");
    let mut h = Harness::demo();
    let fx = h.s.configure_steady(SessionConfig::parse("t.toml", &file).unwrap());
    let Some(Effect::StartProbe(spec)) = fx.into_iter().find(|e| matches!(e, Effect::StartProbe(_))) else {
        panic!("no probe started")
    };
    for _ in 0..3 {
        h.advance(1000);
        let o = run_once(&spec).await;
        h.send(Event::Probe(o));
    }
    assert_eq!(steady::probe_state(h.s.steady.readings.get("gone")), "unknown");
}
