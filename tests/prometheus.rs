//! The PromQL probe against a real Prometheus (Debian's package, started here on a loopback
//! port, scraping a loopback exporter every second): the reading follows `up`, and when the
//! exporter dies a stop condition on `up` aborts the live fault.

mod common;

use std::time::{Duration, Instant};

use common::http_service::Service;
use common::prometheus::Prometheus;
use common::Harness;
use gameday::app::fault::FaultPhase;
use gameday::app::{Effect, Event};
use gameday::config::session_file::SessionConfig;
use gameday::model::probe::{ProbeKind, ProbeSpec};
use gameday::runtime::probes::run_once;
use gameday::timeline::EntryKind;

fn promql(name: &str, url: &str, query: &str) -> ProbeSpec {
    ProbeSpec {
        name: name.into(),
        kind: ProbeKind::Promql { prometheus: url.into(), query: query.into() },
        interval_ms: 1000,
        timeout_ms: 2000,
    }
}

async fn wait_value(spec: &ProbeSpec, want: f64, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        let o = run_once(spec).await;
        if o.value == Some(want) {
            return;
        }
        assert!(Instant::now() < deadline, "{} never read {want}: last {o:?}", spec.name);
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Debian's prometheus package (.ci/run installs it)"]
async fn a_promql_stop_condition_aborts_the_fault_when_the_exporter_dies() {
    let mut exporter = Service::start().await;
    let prom = Prometheus::start(&[("shop", exporter.addr)]);
    let up = promql("up", prom.url(), "up{job=\"shop\"}");
    wait_value(&up, 1.0, Duration::from_secs(30)).await;
    wait_value(&promql("shop", prom.url(), "shop_up"), 1.0, Duration::from_secs(10)).await;
    let none = run_once(&promql("none", prom.url(), "no_such_metric")).await;
    assert_eq!(none.ok, None, "a query with no series is unknown: {none:?}");
    assert!(none.detail.contains("returned no series"), "{}", none.detail);
    let bad = run_once(&promql("bad", prom.url(), "up{")).await;
    assert_eq!(bad.ok, None, "{bad:?}");

    let file = format!(
        "[[probe]]\nname = \"up\"\npromql = 'up{{job=\"shop\"}}'\nprometheus = \"{}\"\n\
         [[stop]]\nprobe = \"up\"\ncheck = \"value >= 1\"\nover = \"3s\"\nfor = \"1s\"\n",
        prom.url()
    );
    let mut h = Harness::demo();
    let fx = h.s.configure_steady(SessionConfig::parse("t.toml", &file).unwrap());
    // A first reading: a stop condition that cannot be read yet would make the inject ask first.
    let spec = fx
        .iter()
        .find_map(|e| match e {
            Effect::StartProbe(p) => Some(p.clone()),
            _ => None,
        })
        .expect("the probe is started");
    let first = run_once(&spec).await;
    h.send(Event::Probe(first));
    let fx = h.command("inject network-latency sock-shop/carts");
    h.run_effects(fx);
    assert!(matches!(h.s.fault.phase, FaultPhase::Active { .. }));
    exporter.stop().await;
    let killed = Instant::now();
    let mut stop = None;
    while stop.is_none() && killed.elapsed() < Duration::from_secs(20) {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let mut fx = h.advance(1000);
        let o = run_once(&up).await;
        let more = h.send(Event::Probe(o));
        fx.extend(h.run_effects(more));
        stop = fx.into_iter().find_map(|e| match e {
            Effect::Record(r) => match r.kind {
                k @ EntryKind::StopCondition { .. } => Some(k),
                _ => None,
            },
            _ => None,
        });
    }
    let stop = stop.expect("the stop condition fired");
    assert!(
        matches!(&stop, EntryKind::StopCondition { reading, threshold, .. }
        if reading == "up value 0" && threshold == ">= 1"),
        "{stop:?}"
    );
    assert!(matches!(h.s.fault.phase, FaultPhase::Idle), "reverted");
    println!("exporter killed to abort: {:.1} s", killed.elapsed().as_secs_f64());
}
