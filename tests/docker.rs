//! The Docker backend against the real engine: every fault is injected, its effect checked
//! through the Docker API (or measured from inside the network), reverted, and checked gone;
//! the topology follows the event stream; helpers expire by themselves and are found by their
//! labels; a lost engine is reported and reconnected. The images are built locally.
//!
//! These need a Docker engine: `#[ignore]` here, run by .ci/run (`--include-ignored`), and they
//! fail, not pass, when the engine cannot be reached.

mod common;

use std::time::Duration;

use common::docker::{EngineProxy, Shop};
use gameday::backend::docker::DockerBackend;
use gameday::backend::{Backend, BackendError};
use gameday::model::ParamValue;
use gameday::model::PodPhase;
use gameday::model::{FaultSpec, Mode, RevertHandle, Support, TopologyDelta};

async fn apply(b: &DockerBackend, spec: &FaultSpec) -> RevertHandle {
    let prepared = b.prepare(spec).await.unwrap_or_else(|e| panic!("prepare {}: {e}", spec.action));
    b.inject(spec, &prepared).await.unwrap_or_else(|e| panic!("inject {}: {e}", spec.action))
}

fn int(v: i64) -> ParamValue {
    ParamValue::Int(v)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a Docker engine (.ci/run runs it)"]
async fn pause_kill_stop_and_restart_are_undone() {
    let shop = Shop::start("lc").await;
    let b = shop.backend().await;
    let web1 = shop.container("web", 1);
    let web = vec![web1.clone(), shop.container("web", 2)];
    let target = format!("{}/web", shop.name);

    let spec = shop.spec("container-pause", &target, &web, &[], Mode::All);
    let h = apply(&b, &spec).await;
    assert_eq!(h.summary, format!("paused {}, {}", web[0], web[1]));
    for c in &web {
        assert_eq!(shop.status(c).await, "paused");
    }
    b.revert(&h).await.unwrap();
    b.revert(&h).await.unwrap(); // idempotent
    for c in &web {
        assert_eq!(shop.status(c).await, "running");
    }

    let spec = shop.spec("container-kill", &target, &web, &[("signal", ParamValue::Text("SIGKILL".into()))], Mode::One);
    let h = apply(&b, &spec).await;
    let killed: Vec<String> =
        h.data["targets"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap().to_string()).collect();
    assert_eq!(killed.len(), 1, "mode one");
    let i = shop.inspect(&killed[0]).await;
    assert_eq!(i.state.as_ref().and_then(|s| s.exit_code), Some(137));
    b.revert(&h).await.unwrap();
    assert_eq!(shop.status(&killed[0]).await, "running");

    let spec = shop.spec("container-stop", &target, &[&web1], &[("grace_seconds", int(5))], Mode::All);
    let h = apply(&b, &spec).await;
    assert_eq!(shop.status(&web1).await, "exited");
    let i = shop.inspect(&web1).await;
    assert_eq!(i.state.and_then(|s| s.exit_code), Some(0), "the test image handles SIGTERM");
    b.revert(&h).await.unwrap();
    assert_eq!(shop.status(&web1).await, "running");

    let before = shop.inspect(&web1).await.state.and_then(|s| s.started_at).unwrap();
    let spec = shop.spec("container-restart", &target, &[&web1], &[("grace_seconds", int(5))], Mode::All);
    let h = apply(&b, &spec).await;
    let after = shop.inspect(&web1).await.state.and_then(|s| s.started_at).unwrap();
    assert_ne!(before, after, "restarted");
    b.revert(&h).await.unwrap();
    assert_eq!(shop.status(&web1).await, "running");
    shop.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a Docker engine (.ci/run runs it)"]
async fn a_disconnected_container_comes_back_with_its_aliases() {
    let shop = Shop::start("nd").await;
    let b = shop.backend().await;
    let web1 = shop.container("web", 1);
    let db = shop.container("db", 1);
    let url = format!("http://{}:8080/", shop.ip(&web1).await);
    let (ok, _, _) = shop.exec(&db, &["timeout", "3", "wget", "-q", "-O", "-", &url]).await;
    assert_eq!(ok, 0, "web-1 answers before");
    let spec = shop.spec(
        "network-disconnect",
        &format!("container/{web1}"),
        &[&web1],
        &[("network", ParamValue::Text(String::new()))],
        Mode::All,
    );
    let h = apply(&b, &spec).await;
    let nets = shop.inspect(&web1).await.network_settings.and_then(|n| n.networks).unwrap_or_default();
    assert!(nets.is_empty(), "{nets:?}");
    let (code, _, _) = shop.exec(&db, &["timeout", "3", "wget", "-q", "-O", "-", &url]).await;
    assert_ne!(code, 0, "unreachable while disconnected");
    b.revert(&h).await.unwrap();
    let nets = shop.inspect(&web1).await.network_settings.and_then(|n| n.networks).unwrap_or_default();
    let ep = nets.get(&format!("{}_default", shop.name)).expect("reconnected");
    assert!(ep.aliases.clone().unwrap_or_default().contains(&"web".to_string()), "{:?}", ep.aliases);
    let url = format!("http://{}:8080/", shop.ip(&web1).await);
    let (code, _, _) = shop.exec(&db, &["timeout", "3", "wget", "-q", "-O", "-", &url]).await;
    assert_eq!(code, 0, "reachable again (at {url})");
    shop.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a Docker engine (.ci/run runs it)"]
async fn a_disconnected_container_comes_back_with_its_static_address_aliases_and_links() {
    let mut shop = Shop::start("ns").await;
    let b = shop.backend().await;
    let (net, prefix) = shop.subnet("static").await;
    let db = shop.container("db", 1);
    let ip = format!("{prefix}.100");
    let endpoint = bollard::models::EndpointSettings {
        ipam_config: Some(bollard::models::EndpointIpamConfig { ipv4_address: Some(ip.clone()), ..Default::default() }),
        aliases: Some(vec!["api".into(), "api-primary".into()]),
        links: Some(vec![format!("{db}:database")]),
        ..Default::default()
    };
    // On the static network only first (a link needs the linked container on the same network).
    shop.docker
        .connect_network(&net, bollard::models::NetworkConnectRequest { container: db.clone(), endpoint_config: None })
        .await
        .unwrap();
    let api = shop
        .extra(
            "api-1",
            bollard::models::ContainerCreateBody {
                host_config: Some(bollard::models::HostConfig {
                    network_mode: Some(net.clone()),
                    ..Default::default()
                }),
                networking_config: Some(bollard::models::NetworkingConfig {
                    endpoints_config: Some(std::collections::HashMap::from([(net.clone(), endpoint)])),
                }),
                ..Default::default()
            },
        )
        .await;
    let ep = |i: bollard::models::ContainerInspectResponse| {
        i.network_settings.and_then(|n| n.networks).unwrap_or_default().get(&net).cloned().expect("on the network")
    };
    let before = ep(shop.inspect(&api).await);
    assert_eq!(before.ip_address.as_deref(), Some(ip.as_str()));
    let spec = shop.spec(
        "network-disconnect",
        &format!("container/{api}"),
        &[&api],
        &[("network", ParamValue::Text(String::new()))],
        Mode::All,
    );
    let h = apply(&b, &spec).await;
    assert!(shop.inspect(&api).await.network_settings.and_then(|n| n.networks).unwrap_or_default().is_empty());
    // A reconnect without the IPAMConfig gets the next free address (.2), not .100.
    b.revert(&h).await.unwrap();
    let after = ep(shop.inspect(&api).await);
    assert_eq!(after.ip_address.as_deref(), Some(ip.as_str()), "the static address");
    assert_eq!(after.ipam_config.and_then(|c| c.ipv4_address), Some(ip.clone()));
    let mut aliases = after.aliases.unwrap_or_default();
    aliases.sort();
    assert!(aliases.contains(&"api".to_string()) && aliases.contains(&"api-primary".to_string()), "{aliases:?}");
    assert_eq!(after.links, before.links, "the same links");
    assert!(after.links.unwrap_or_default().iter().any(|l| l.contains("database")));
    shop.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a Docker engine (.ci/run runs it)"]
async fn cpu_and_memory_throttles_restore_the_original_limits() {
    let mut shop = Shop::start("th").await;
    let b = shop.backend().await;
    let web1 = shop.container("web", 1);
    let db = shop.container("db", 1);
    let hc = |i: bollard::models::ContainerInspectResponse| i.host_config.unwrap_or_default();

    let spec = shop.spec(
        "cpu-throttle",
        &format!("container/{web1}"),
        &[&web1],
        &[("cpus", ParamValue::Float(0.2))],
        Mode::All,
    );
    let h = apply(&b, &spec).await;
    let c = hc(shop.inspect(&web1).await);
    // Only the quota changes; the period stays unset (the kernel's 100 ms).
    assert_eq!((c.cpu_quota, c.cpu_period), (Some(20_000), Some(0)));
    assert_eq!(shop.exec(&web1, &["cat", "/sys/fs/cgroup/cpu/cpu.cfs_quota_us"]).await.1.trim(), "20000");
    b.revert(&h).await.unwrap();
    let c = hc(shop.inspect(&web1).await);
    // The Engine API takes a quota of 0 as "unchanged" and cannot write it back: -1 is its "no
    // limit", and the period is exactly as it was.
    assert_eq!((c.cpu_quota, c.cpu_period, c.nano_cpus), (Some(-1), Some(0), Some(0)), "no limit again");
    assert_eq!(shop.exec(&web1, &["cat", "/sys/fs/cgroup/cpu/cpu.cfs_quota_us"]).await.1.trim(), "-1");

    // Limits of its own come back exactly: a quota and period, or --cpus (NanoCpus).
    for (quota, period, nano) in [(50_000, 200_000, 0), (0, 0, 1_500_000_000)] {
        let body = bollard::models::ContainerUpdateBody {
            cpu_quota: (quota > 0).then_some(quota),
            cpu_period: (period > 0).then_some(period),
            nano_cpus: (nano > 0).then_some(nano),
            ..Default::default()
        };
        shop.docker.update_container(&web1, body).await.unwrap();
        let before = hc(shop.inspect(&web1).await);
        let h = apply(&b, &spec).await;
        let during = hc(shop.inspect(&web1).await);
        assert_ne!(
            (during.cpu_quota, during.nano_cpus),
            (before.cpu_quota, before.nano_cpus),
            "throttled from {quota}/{period}/{nano}"
        );
        b.revert(&h).await.unwrap();
        let after = hc(shop.inspect(&web1).await);
        assert_eq!(
            (after.cpu_quota, after.cpu_period, after.nano_cpus),
            (before.cpu_quota, before.cpu_period, before.nano_cpus),
            "exactly as before"
        );
        if nano == 0 {
            // The next round sets NanoCpus, which the engine refuses beside a quota.
            shop.docker.stop_container(&web1, None::<bollard::query_parameters::StopContainerOptions>).await.unwrap();
            shop.docker
                .remove_container(&web1, None::<bollard::query_parameters::RemoveContainerOptions>)
                .await
                .unwrap();
            shop.respawn("web", 1).await;
        }
    }

    let spec = shop.spec("memory-throttle", &format!("container/{db}"), &[&db], &[("memory_mb", int(64))], Mode::All);
    let h = apply(&b, &spec).await;
    assert_eq!(hc(shop.inspect(&db).await).memory, Some(64 * 1024 * 1024));
    b.revert(&h).await.unwrap();
    assert_eq!(hc(shop.inspect(&db).await).memory, Some(128 * 1024 * 1024), "the original limit");

    // A container with no memory limit: Docker could never remove the throttle. Refused.
    let spec =
        shop.spec("memory-throttle", &format!("container/{web1}"), &[&web1], &[("memory_mb", int(64))], Mode::All);
    let err = b.prepare(&spec).await.unwrap_err().to_string();
    assert!(err.contains("has no memory limit, and Docker cannot remove a limit once it is set"), "{err}");
    assert_eq!(hc(shop.inspect(&web1).await).memory, Some(0), "untouched");
    shop.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a Docker engine (.ci/run runs it)"]
async fn a_rate_limit_measurably_slows_a_fetch_and_is_removed_on_revert() {
    let shop = Shop::start("rt").await;
    let b = shop.backend().await;
    let web1 = shop.container("web", 1);
    let db = shop.container("db", 1);
    let url = format!("http://{}:8080/big", shop.ip(&web1).await);
    let fetch = || async { shop.exec(&db, &["timeout", "30", "wget", "-q", "-O", "/dev/null", &url]).await };
    let (code, _, before) = fetch().await;
    assert_eq!(code, 0);
    let spec = shop.spec(
        "network-rate",
        &format!("container/{web1}"),
        &[&web1],
        &[("rate_kbit", int(500)), ("queue_ms", int(2000))],
        Mode::All,
    );
    let h = apply(&b, &spec).await;
    assert!(shop.qdiscs(&web1).await.contains("qdisc tbf"), "{}", shop.qdiscs(&web1).await);
    let (code, _, during) = fetch().await;
    assert_eq!(code, 0);
    // 256 KiB at 500 kbit/s is about 4 s; unshaped it is milliseconds.
    assert!(during > Duration::from_secs(3), "shaped fetch took {during:?} (before: {before:?})");
    b.revert(&h).await.unwrap();
    assert!(!shop.qdiscs(&web1).await.contains("tbf"), "{}", shop.qdiscs(&web1).await);
    let (_, _, after) = fetch().await;
    assert!(after < Duration::from_secs(1), "fast again: {after:?}");
    let helpers = std::process::Command::new("docker")
        .args(["ps", "-aq", "--filter", &format!("label=gameday.session=test-{}", shop.name)])
        .output()
        .unwrap();
    assert!(helpers.stdout.is_empty(), "no helper is left");
    shop.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a Docker engine (.ci/run runs it)"]
async fn a_helper_removes_its_qdisc_by_itself_when_the_time_is_up_and_is_found_by_its_labels() {
    let shop = Shop::start("ex").await;
    let b = shop.backend().await;
    let web2 = shop.container("web", 2);
    let mut spec =
        shop.spec("network-rate", &format!("container/{web2}"), &[&web2], &[("rate_kbit", int(800))], Mode::All);
    spec.duration_ms = 4_000;
    spec.fault_id = 7;
    let _h = apply(&b, &spec).await;
    assert!(shop.qdiscs(&web2).await.contains("tbf"));
    // Any process can find it by its markers, and undo it from what they say.
    let found = b.leftovers().await.unwrap();
    let mine: Vec<_> = found.iter().filter(|l| l.session == spec.session).collect();
    assert_eq!(mine.len(), 1, "{found:?}");
    assert_eq!(mine[0].fault_id, 7);
    assert!(mine[0].what.contains("tbf rate 800kbit"), "{}", mine[0].what);
    // Nobody reverts it: it ends by itself.
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert!(!shop.qdiscs(&web2).await.contains("tbf"), "expired: {}", shop.qdiscs(&web2).await);
    let found = b.leftovers().await.unwrap();
    let mine: Vec<_> = found.iter().filter(|l| l.session == spec.session).collect();
    assert!(mine.len() == 1 && mine[0].ended.is_some(), "found as ended by itself, not in effect: {mine:?}");
    shop.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a Docker engine (.ci/run runs it)"]
async fn netem_says_clearly_when_the_kernel_lacks_it_and_leaves_nothing() {
    let shop = Shop::start("nm").await;
    let b = shop.backend().await;
    let web1 = shop.container("web", 1);
    let has_netem = gameday::backend::docker::faults::probe_netem(b.docker(), common::docker::NETEM_IMAGE).await;
    let spec = shop.spec(
        "network-latency",
        &format!("container/{web1}"),
        &[&web1],
        &[("latency_ms", int(200)), ("jitter_ms", int(0))],
        Mode::All,
    );
    let prepared = match (has_netem, b.prepare(&spec).await) {
        (Err(why), Err(e)) => {
            // Refused before anything happens, with the reason.
            assert!(why.contains("no netem qdisc"), "{why}");
            assert!(e.to_string().contains("no netem qdisc (CONFIG_NET_SCH_NETEM is not set)"), "{e}");
            // A netem fault prepared before the check said so is not applied, and says why.
            let rate = shop.spec("network-rate", &spec.target.to_string(), &[&web1], &[], Mode::All);
            let mut prepared = b.prepare(&rate).await.unwrap();
            prepared.data["qdisc"] = "netem delay 200ms".into();
            match b.inject(&spec, &prepared).await {
                Err(BackendError::NotApplied(e)) => assert!(e.contains("no netem qdisc"), "{e}"),
                other => panic!("not applied, expected: {other:?}"),
            }
            prepared
        }
        (Ok(()), Ok(prepared)) => {
            b.inject(&spec, &prepared).await.unwrap();
            assert!(shop.qdiscs(&web1).await.contains("netem"), "latency is on");
            let url = format!("http://{}:8080/", shop.ip(&web1).await);
            let (_, _, slow) = shop.exec(&shop.container("db", 1), &["wget", "-q", "-O", "/dev/null", &url]).await;
            assert!(slow >= Duration::from_millis(200), "{slow:?}");
            prepared
        }
        (probe, prepare) => panic!("the probe ({probe:?}) and prepare ({:?}) disagree", prepare.map(|h| h.summary)),
    };
    // A revert of the prepared handle is harmless, and clean.
    b.revert(&prepared).await.unwrap();
    assert!(!shop.qdiscs(&web1).await.contains("netem"));
    assert!(b.leftovers().await.unwrap().iter().all(|l| l.session != spec.session));
    shop.stop().await;
}

/// The deltas a watch sent, kept: a wait finds a delta that came before it asked, once.
struct Deltas {
    rx: tokio::sync::mpsc::UnboundedReceiver<TopologyDelta>,
    seen: Vec<TopologyDelta>,
}

impl Deltas {
    async fn wait(&mut self, secs: u64, what: &str, f: impl Fn(&TopologyDelta) -> bool) -> TopologyDelta {
        if let Some(i) = self.seen.iter().position(&f) {
            return self.seen.remove(i);
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
        loop {
            match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Ok(Some(d)) if f(&d) => return d,
                Ok(Some(d)) => self.seen.push(d),
                Ok(None) => panic!("the watch ended while waiting for {what}"),
                Err(_) => panic!("no {what} within {secs} s"),
            }
        }
    }
}

fn watch(b: &DockerBackend) -> Deltas {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    b.watch(tx);
    Deltas { rx, seen: Vec::new() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a Docker engine (.ci/run runs it)"]
async fn the_topology_follows_the_event_stream_and_capabilities_are_probed() {
    let shop = Shop::start("wa").await;
    let b = shop.backend().await;
    let mut rx = watch(&b);
    let TopologyDelta::Snapshot(t) =
        rx.wait(10, "the first picture", |d| matches!(d, TopologyDelta::Snapshot(_))).await
    else {
        unreachable!()
    };
    let web = t.workload(&shop.name, "web").expect("compose service web");
    assert_eq!((web.ready, web.desired, web.kind.as_str()), (2, 2, "compose service"));
    // web publishes a port: the console can reach it, and probes it by default.
    let service = format!("{}/web", shop.name);
    let TopologyDelta::Reachable { addr, .. } = rx
        .wait(10, "web reachable", |d| matches!(d, TopologyDelta::Reachable { service: s, .. } if *s == service))
        .await
    else {
        unreachable!()
    };
    assert!(addr.starts_with("127.0.0.1:"), "{addr}");
    let probe = gameday::model::probe::ProbeSpec {
        name: service.clone(),
        kind: gameday::model::probe::ProbeKind::Tcp { addr: addr.clone() },
        interval_ms: 1000,
        timeout_ms: 1000,
    };
    let o = gameday::runtime::probes::run_once(&probe).await;
    assert_eq!(o.ok, Some(true), "{o:?}");
    assert!(
        !rx.seen.iter().any(|d| matches!(d, TopologyDelta::Reachable { service: s, .. } if s.ends_with("/db"))),
        "db publishes nothing"
    );
    assert!(t.pod(&shop.name, &shop.container("db", 1)).is_some());
    let web1 = shop.container("web", 1);
    shop.docker.pause_container(&web1).await.unwrap();
    rx.wait(
        10,
        "web-1 paused",
        |d| matches!(d, TopologyDelta::UpsertPod(p) if p.name == web1 && p.phase == PodPhase::Paused),
    )
    .await;
    rx.wait(10, "web at 1/2", |d| matches!(d, TopologyDelta::UpsertWorkload(w) if w.name == "web" && w.ready == 1))
        .await;
    rx.wait(10, "a timeline line", |d| {
        matches!(d, TopologyDelta::ClusterEvent { object, message, .. } if object.ends_with(&web1) && message == "paused")
    })
    .await;
    shop.docker.unpause_container(&web1).await.unwrap();
    shop.docker.kill_container(&web1, None::<bollard::query_parameters::KillContainerOptions>).await.unwrap();
    rx.wait(
        10,
        "web-1 exited 137",
        |d| matches!(d, TopologyDelta::UpsertPod(p) if p.name == web1 && p.phase == PodPhase::Exited(137)),
    )
    .await;
    shop.docker
        .remove_container(
            &web1,
            Some(bollard::query_parameters::RemoveContainerOptionsBuilder::default().force(true).build()),
        )
        .await
        .unwrap();
    rx.wait(10, "web-1 removed", |d| matches!(d, TopologyDelta::RemovePod { name, .. } if *name == web1)).await;
    rx.wait(10, "web at 1/1", |d| matches!(d, TopologyDelta::UpsertWorkload(w) if w.name == "web" && w.desired == 1))
        .await;
    // This kernel may or may not have netem; either way the answer arrives as a capability.
    let probe = gameday::backend::docker::faults::probe_netem(b.docker(), common::docker::NETEM_IMAGE).await;
    if probe.is_err() {
        rx.wait(20, "netem disabled", |d| {
            matches!(d, TopologyDelta::Capability { action, support: Support::No(why) } if action == "network-latency" && why.contains("netem"))
        })
        .await;
    }
    shop.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a Docker engine (.ci/run runs it)"]
async fn a_lost_engine_is_reported_and_the_watch_reconnects_by_itself() {
    let shop = Shop::start("rc").await;
    let mut proxy = EngineProxy::start();
    let b = shop.backend_via(&proxy).await;
    let mut rx = watch(&b);
    rx.wait(10, "the first picture", |d| matches!(d, TopologyDelta::Snapshot(_))).await;
    proxy.down();
    let d = rx.wait(10, "disconnected", |d| matches!(d, TopologyDelta::Connection { connected: false, .. })).await;
    let TopologyDelta::Connection { detail, .. } = d else { unreachable!() };
    assert!(!detail.is_empty());
    // Meanwhile the shop changes; the fresh picture after the reconnect shows it.
    let web2 = shop.container("web", 2);
    shop.docker.pause_container(&web2).await.unwrap();
    proxy.up();
    let d = rx.wait(15, "a fresh picture", |d| matches!(d, TopologyDelta::Snapshot(_))).await;
    let TopologyDelta::Snapshot(t) = d else { unreachable!() };
    rx.wait(5, "reconnected", |d| matches!(d, TopologyDelta::Connection { connected: true, .. })).await;
    assert_eq!(t.pod(&shop.name, &web2).unwrap().phase, PodPhase::Paused);
    shop.docker.unpause_container(&web2).await.unwrap();
    shop.stop().await;
}

/// A container that sleeps (no server: on the host's network it must not bind a host port).
fn sleeper(network_mode: &str) -> bollard::models::ContainerCreateBody {
    bollard::models::ContainerCreateBody {
        cmd: Some(vec!["/bin/sh".into(), "-c".into(), "trap 'exit 0' TERM INT; sleep 600 & wait".into()]),
        host_config: Some(bollard::models::HostConfig {
            network_mode: Some(network_mode.into()),
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a Docker engine (.ci/run runs it)"]
async fn network_faults_refuse_the_host_network_and_know_a_shared_namespace() {
    let mut shop = Shop::start("hn").await;
    let b = shop.backend().await;
    let web1 = shop.container("web", 1);
    let on_host = shop.extra("hostnet-1", sleeper("host")).await;
    let guest = shop.extra("guest-1", sleeper(&format!("container:{web1}"))).await;

    // The host's network: every interface of this machine. Refused, with the reason.
    for action in ["network-rate", "network-latency", "network-disconnect"] {
        let spec =
            shop.spec(action, &format!("container/{on_host}"), &[&on_host], &[("rate_kbit", int(800))], Mode::All);
        let err = b.prepare(&spec).await.expect_err(action).to_string();
        assert!(err.contains(&format!("{on_host} uses the host's network (--network host)")), "{action}: {err}");
    }
    // A guest in web-1's namespace has no network of its own to disconnect.
    let spec = shop.spec("network-disconnect", &format!("container/{guest}"), &[&guest], &[], Mode::All);
    let err = b.prepare(&spec).await.unwrap_err().to_string();
    assert!(err.contains("shares the network namespace of container"), "{err}");

    // The picture says who shares what, for the preview.
    let mut rx = watch(&b);
    let TopologyDelta::Snapshot(t) =
        rx.wait(10, "the first picture", |d| matches!(d, TopologyDelta::Snapshot(_))).await
    else {
        unreachable!()
    };
    let pod = |n: &str| t.pods().find(|p| p.name == n).cloned().unwrap_or_else(|| panic!("{n} in the picture"));
    assert_eq!(pod(&on_host).caveats.netns.as_deref(), Some("host"));
    assert_eq!(pod(&guest).caveats.netns.as_deref(), Some(web1.as_str()), "named, not an id");
    assert!(pod(&guest).note.unwrap_or_default().ends_with(&format!("net of {web1}")), "its note says so");
    assert_eq!(pod(&web1).caveats.netns, None);

    // And it is true: shaping web-1 shapes its guest.
    let spec = shop.spec("network-rate", &format!("container/{web1}"), &[&web1], &[("rate_kbit", int(800))], Mode::All);
    let h = apply(&b, &spec).await;
    assert!(shop.qdiscs(&guest).await.contains("qdisc tbf"), "{}", shop.qdiscs(&guest).await);
    b.revert(&h).await.unwrap();
    assert!(!shop.qdiscs(&guest).await.contains("tbf"));
    shop.stop().await;
}

/// The markers on the engine (created, never-started containers), by name.
async fn markers_of(shop: &Shop) -> Vec<String> {
    let out = std::process::Command::new("docker")
        .args(["ps", "-a", "--format", "{{.Names}} {{.State}}"])
        .args(["--filter", "label=gameday.helper=marker"])
        .args(["--filter", &format!("label=gameday.session=test-{}", shop.name)])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).lines().map(String::from).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a Docker engine (.ci/run runs it)"]
async fn every_fault_leaves_a_marker_any_process_finds_and_the_revert_removes() {
    let shop = Shop::start("mk").await;
    let b = shop.backend().await;
    let web1 = shop.container("web", 1);
    let db = shop.container("db", 1);
    type Case<'a> = (&'a str, &'a str, Vec<(&'a str, ParamValue)>);
    let cases: Vec<Case> = vec![
        ("container-pause", &web1, vec![]),
        ("container-stop", &web1, vec![("grace_seconds", int(2))]),
        ("container-kill", &web1, vec![("signal", ParamValue::Text("SIGKILL".into()))]),
        ("cpu-throttle", &web1, vec![("cpus", ParamValue::Float(0.3))]),
        ("memory-throttle", &db, vec![("memory_mb", int(64))]),
        ("network-disconnect", &web1, vec![("network", ParamValue::Text(String::new()))]),
        ("network-rate", &web1, vec![("rate_kbit", int(800))]),
    ];
    for (i, (action, target, params)) in cases.into_iter().enumerate() {
        let mut spec = shop.spec(action, &format!("container/{target}"), &[target], &params, Mode::All);
        spec.fault_id = 10 + i as u64;
        let h = apply(&b, &spec).await;
        let marker = format!("gameday-test-{}-f{}-marker", shop.name, spec.fault_id);
        assert_eq!(markers_of(&shop).await, [format!("{marker} created")], "{action}: one marker, never started");
        // Another process (another data directory, another machine) finds it and its revert plan.
        let other = shop.backend().await;
        let found: Vec<_> =
            other.leftovers().await.unwrap().into_iter().filter(|l| l.session == spec.session).collect();
        assert_eq!(found.len(), 1, "{action}: {found:?}");
        assert_eq!(found[0].fault_id, spec.fault_id);
        assert_eq!(found[0].found_by, format!("marker container {marker} on the engine"));
        assert!(found[0].what.starts_with(&format!("{action} on pod/{target}")), "{}", found[0].what);
        assert_eq!(found[0].ended, None, "{action} is in effect");
        // Its plan undoes the fault, from that other process.
        other.revert(&found[0].handle).await.unwrap_or_else(|e| panic!("{action}: {e}"));
        assert!(markers_of(&shop).await.is_empty(), "{action}: the revert removes the marker");
        assert_eq!(shop.status(target).await, "running", "{action}");
        b.revert(&h).await.unwrap(); // and the first process's revert is harmless
    }
    shop.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a Docker engine (.ci/run runs it)"]
async fn a_helper_image_without_tc_disables_the_network_presets_and_nothing_is_left() {
    use common::docker::NOTC_IMAGE;
    let shop = Shop::start("tc").await;
    let web1 = shop.container("web", 1);
    let bad = shop.backend_with(NOTC_IMAGE).await;
    // Checked once: every network preset is disabled, with the reason.
    let mut rx = watch(&bad);
    for action in ["network-rate", "network-latency", "network-loss", "network-duplicate", "network-corrupt"] {
        let d = rx
            .wait(
                20,
                &format!("{action} disabled"),
                |d| matches!(d, TopologyDelta::Capability { action: a, support: Support::No(_) } if a == action),
            )
            .await;
        let TopologyDelta::Capability { support: Support::No(why), .. } = d else { unreachable!() };
        assert!(why.contains(&format!("the helper image {NOTC_IMAGE} has no iproute2 tc")), "{action}: {why}");
    }
    let spec = shop.spec("network-rate", &format!("container/{web1}"), &[&web1], &[("rate_kbit", int(800))], Mode::All);
    let err = bad.prepare(&spec).await.unwrap_err().to_string();
    assert!(err.contains("has no iproute2 tc"), "{err}");
    // A fault prepared elsewhere and applied with this image changes nothing, and says so.
    let good = shop.backend().await;
    let prepared = good.prepare(&spec).await.unwrap();
    match bad.inject(&spec, &prepared).await {
        Err(BackendError::NotApplied(why)) => assert!(why.contains("has no iproute2 tc"), "{why}"),
        other => panic!("not applied, expected: {other:?}"),
    }
    assert!(markers_of(&shop).await.is_empty(), "no marker");
    assert!(bad.leftovers().await.unwrap().iter().all(|l| l.session != spec.session), "no helper");
    assert!(!shop.qdiscs(&web1).await.contains("tbf"));

    // A fault whose saved helper image is broken is reverted with the image given to this
    // process (`gameday cleanup --netem-image`), not the saved one.
    let h = apply(&good, &spec).await;
    let helper = h.data["helpers"][0].as_str().unwrap().to_string();
    // The helper dies without cleaning up (SIGKILL): only a fresh helper can remove the qdisc.
    shop.docker
        .kill_container(
            &helper,
            Some(bollard::query_parameters::KillContainerOptionsBuilder::default().signal("SIGKILL").build()),
        )
        .await
        .unwrap();
    assert!(shop.qdiscs(&web1).await.contains("tbf"), "left behind by the killed helper");
    let mut saved_broken = h.clone();
    saved_broken.data["image"] = NOTC_IMAGE.into();
    let err = bad.revert(&saved_broken).await.unwrap_err().to_string();
    assert!(err.contains("has no iproute2 tc"), "neither image works: {err}");
    shop.backend().await.revert(&saved_broken).await.unwrap();
    assert!(!shop.qdiscs(&web1).await.contains("tbf"), "{}", shop.qdiscs(&web1).await);
    assert!(markers_of(&shop).await.is_empty());
    shop.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a Docker engine (.ci/run runs it)"]
async fn a_network_fault_whose_target_restarts_is_reported_no_longer_in_effect() {
    let shop = Shop::start("lp").await;
    let b = shop.backend().await;
    let web1 = shop.container("web", 1);
    let mut rx = watch(&b);
    rx.wait(10, "the first picture", |d| matches!(d, TopologyDelta::Snapshot(_))).await;
    let mut spec =
        shop.spec("network-rate", &format!("container/{web1}"), &[&web1], &[("rate_kbit", int(800))], Mode::All);
    spec.fault_id = 3;
    let h = apply(&b, &spec).await;
    assert!(shop.qdiscs(&web1).await.contains("tbf"));
    shop.docker
        .restart_container(
            &web1,
            Some(bollard::query_parameters::RestartContainerOptionsBuilder::default().t(2).build()),
        )
        .await
        .unwrap();
    let d = rx
        .wait(
            15,
            "the fault lapsed",
            |d| matches!(d, TopologyDelta::FaultLapsed { fault: 3, session, .. } if *session == spec.session),
        )
        .await;
    let TopologyDelta::FaultLapsed { why, .. } = d else { unreachable!() };
    assert!(why.contains(&web1) && why.contains("qdisc went with its network namespace"), "{why}");
    assert!(!shop.qdiscs(&web1).await.contains("tbf"), "true: the new namespace has no qdisc");
    // The console's revert cleans up the helper left in the old namespace, and the marker.
    b.revert(&h).await.unwrap();
    assert!(markers_of(&shop).await.is_empty());
    assert!(b.leftovers().await.unwrap().iter().all(|l| l.session != spec.session));
    shop.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a Docker engine (.ci/run runs it)"]
async fn a_network_fault_that_expired_with_no_console_is_found_ended_not_in_effect() {
    let shop = Shop::start("xp").await;
    let b = shop.backend().await;
    let web2 = shop.container("web", 2);
    let mut spec =
        shop.spec("network-rate", &format!("container/{web2}"), &[&web2], &[("rate_kbit", int(800))], Mode::All);
    spec.duration_ms = 3_000;
    let _h = apply(&b, &spec).await;
    let live: Vec<_> = b.leftovers().await.unwrap().into_iter().filter(|l| l.session == spec.session).collect();
    assert_eq!((live.len(), live[0].ended.clone()), (1, None), "in effect: a leftover");
    tokio::time::sleep(Duration::from_secs(5)).await; // nobody reverts it
    assert!(!shop.qdiscs(&web2).await.contains("tbf"));
    let found: Vec<_> = b.leftovers().await.unwrap().into_iter().filter(|l| l.session == spec.session).collect();
    assert_eq!(found.len(), 1, "{found:?}");
    let how = found[0].ended.clone().expect("ended by itself");
    assert!(how.starts_with("its time was up at ") && how.ends_with("its helper removed the qdisc"), "{how}");
    // Tidying up removes the exited helper and the marker.
    b.revert(&found[0].handle).await.unwrap();
    assert!(markers_of(&shop).await.is_empty());
    assert!(b.leftovers().await.unwrap().iter().all(|l| l.session != spec.session));
    shop.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a Docker engine (.ci/run runs it)"]
async fn a_removed_target_is_named_and_a_default_probe_follows_a_moved_port() {
    let shop = Shop::start("rm").await;
    let b = shop.backend().await;
    let mut rx = watch(&b);
    rx.wait(10, "the first picture", |d| matches!(d, TopologyDelta::Snapshot(_))).await;
    let service = format!("{}/web", shop.name);
    let TopologyDelta::Reachable { addr, .. } = rx
        .wait(10, "web reachable", |d| matches!(d, TopologyDelta::Reachable { service: s, .. } if *s == service))
        .await
    else {
        unreachable!()
    };
    // Which container's port it is: restart that one, and its port moves.
    let mut announced = None;
    for i in [1, 2] {
        let c = shop.container("web", i);
        let ports = shop.inspect(&c).await.network_settings.and_then(|n| n.ports).unwrap_or_default();
        let port = ports.get("8080/tcp").cloned().flatten().and_then(|b| b.first().cloned()).and_then(|b| b.host_port);
        if port.is_some_and(|p| addr.ends_with(&format!(":{p}"))) {
            announced = Some(c);
        }
    }
    let announced = announced.expect("a web container publishes the announced port");
    // Hold the old port, so the restarted container cannot get it back.
    let old_port: u16 = addr.rsplit(':').next().unwrap().parse().unwrap();
    shop.docker.stop_container(&announced, None::<bollard::query_parameters::StopContainerOptions>).await.unwrap();
    let hold = std::net::TcpListener::bind(("127.0.0.1", old_port)).ok();
    shop.docker.start_container(&announced, None::<bollard::query_parameters::StartContainerOptions>).await.unwrap();
    let TopologyDelta::Reachable { addr: moved, .. } = rx
        .wait(
            15,
            "web reachable at its new port",
            |d| matches!(d, TopologyDelta::Reachable { service: s, addr: a } if *s == service && *a != addr),
        )
        .await
    else {
        unreachable!()
    };
    drop(hold);
    assert!(moved.starts_with("127.0.0.1:"), "{moved}");

    // A target removed during a fault is named, with the fault.
    let web2 = shop.container("web", 2);
    let mut spec = shop.spec("container-pause", &format!("container/{web2}"), &[&web2], &[], Mode::All);
    spec.fault_id = 5;
    let h = apply(&b, &spec).await;
    shop.docker
        .remove_container(
            &web2,
            Some(bollard::query_parameters::RemoveContainerOptionsBuilder::default().force(true).build()),
        )
        .await
        .unwrap();
    let d = rx
        .wait(
            10,
            "the removal, named with the fault",
            |d| matches!(d, TopologyDelta::ClusterEvent { message, .. } if message.contains("removed while fault #5")),
        )
        .await;
    let TopologyDelta::ClusterEvent { object, message, warning } = d else { unreachable!() };
    assert!(object.ends_with(&web2) && warning, "{object}");
    assert!(message.contains(&format!("container-pause on pod/{web2}")), "{message}");
    b.revert(&h).await.unwrap();
    assert!(markers_of(&shop).await.is_empty(), "the marker outlives its target until the revert");
    shop.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a Docker engine (.ci/run runs it)"]
async fn a_restart_policy_ignores_an_api_kill_as_the_preview_says_and_acts_on_a_crash() {
    let mut shop = Shop::start("rp").await;
    let b = shop.backend().await;
    let body = bollard::models::ContainerCreateBody {
        host_config: Some(bollard::models::HostConfig {
            restart_policy: Some(bollard::models::RestartPolicy {
                name: Some(bollard::models::RestartPolicyNameEnum::ALWAYS),
                maximum_retry_count: None,
            }),
            ..Default::default()
        }),
        ..Default::default()
    };
    let always = shop.extra("always-1", body).await;
    let mut rx = watch(&b);
    rx.wait(15, "its restart policy in the picture", |d| {
        matches!(d, TopologyDelta::UpsertPod(p) if p.name == always && p.caveats.restart.as_deref() == Some("always"))
    })
    .await;
    // What the preview says is what Docker does: an API kill is a manual stop.
    let spec = shop.spec("container-kill", &format!("container/{always}"), &[&always], &[], Mode::All);
    let h = apply(&b, &spec).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let i = shop.inspect(&always).await;
    assert_eq!(
        (shop.status(&always).await.as_str(), i.restart_count),
        ("exited", Some(0)),
        "the policy did not restart it"
    );
    b.revert(&h).await.unwrap();
    assert_eq!(shop.status(&always).await, "running", "the revert did");

    // how=crash: the signal comes from outside Docker, which sees a crash and restarts it.
    let before = shop.inspect(&always).await.restart_count.unwrap_or(0);
    let pid = shop.inspect(&always).await.state.and_then(|s| s.pid);
    let spec = shop.spec(
        "container-kill",
        &format!("container/{always}"),
        &[&always],
        &[("how", ParamValue::Text("crash".into()))],
        Mode::All,
    );
    let h = apply(&b, &spec).await;
    assert!(h.summary.starts_with(&format!("crashed {always} (SIGKILL from outside Docker)")), "{}", h.summary);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let i = shop.inspect(&always).await;
        if i.restart_count.unwrap_or(0) > before && shop.status(&always).await == "running" {
            assert_ne!(i.state.and_then(|s| s.pid), pid, "a new process");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the policy never restarted it: {:?}", i.state);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    b.revert(&h).await.unwrap();
    assert_eq!(shop.status(&always).await, "running");
    assert!(markers_of(&shop).await.is_empty());
    // Only a container's own main process: a process that is not it is refused.
    assert!(gameday::backend::docker::helper::crash_script(1, "abc", "SIGKILL")
        .starts_with("grep -q \"abc\" /proc/1/cgroup"));
    shop.stop().await;
}

/// web-1's CPU (millicores) in the next Usage the watch sends that satisfies `f`.
async fn web_cpu(rx: &mut Deltas, web1: &str, what: &str, f: impl Fn(f64) -> bool) -> f64 {
    let d = rx
        .wait(
            30,
            what,
            |d| matches!(d, TopologyDelta::Usage { pods, .. } if pods.iter().any(|p| p.pod == web1 && f(p.cpu_m))),
        )
        .await;
    let TopologyDelta::Usage { source, pods } = d else { unreachable!() };
    assert_eq!(source, "Docker stats");
    pods.iter().find(|p| p.pod == web1).map(|p| p.cpu_m).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a Docker engine (.ci/run runs it)"]
async fn the_engines_stats_show_a_busy_container_and_a_cpu_throttle_moving_its_cpu() {
    let shop = Shop::start("st").await;
    let b = shop.backend().await;
    let web1 = shop.container("web", 1);
    let mut rx = watch(&b);
    rx.wait(10, "the CPU and memory source", |d| {
        matches!(d, TopologyDelta::Source { kind: gameday::model::SourceKind::Resources, name, .. } if name == "Docker stats")
    })
    .await;
    // Idle, web-1 uses next to no CPU, and some memory.
    let d = rx
        .wait(
            30,
            "web-1's usage",
            |d| matches!(d, TopologyDelta::Usage { pods, .. } if pods.iter().any(|p| p.pod == web1)),
        )
        .await;
    let TopologyDelta::Usage { pods, .. } = d else { unreachable!() };
    let idle = pods.iter().find(|p| p.pod == web1).unwrap();
    assert!(idle.cpu_m < 200.0 && idle.memory_bytes > 0.0, "{idle:?}");
    assert_eq!(idle.namespace, shop.name);

    // A busy loop in web-1: about a core.
    let (code, out, _) = shop.exec(&web1, &["sh", "-c", "(while :; do :; done) >/dev/null 2>&1 &"]).await;
    assert_eq!(code, 0, "{out}");
    let busy = web_cpu(&mut rx, &web1, "web-1 busy", |c| c > 500.0).await;
    // Throttled to 0.2 CPUs: its CPU falls to about 200m.
    let spec = shop.spec(
        "cpu-throttle",
        &format!("container/{web1}"),
        &[&web1],
        &[("cpus", ParamValue::Float(0.2))],
        Mode::All,
    );
    let h = apply(&b, &spec).await;
    let throttled = web_cpu(&mut rx, &web1, "web-1 throttled", |c| c < 300.0).await;
    // The next readings stay there: it is the throttle, not a lull. On a loaded machine the
    // engine's readings overshoot (it reads the container's and the host's CPU time at two
    // moments; under stress-ng --cpu 2 three in a row read 414-472m), so the middle of three
    // is held below 300m or, when busy read high, well below busy: an untouched loop stays busy.
    let mut next = Vec::new();
    for _ in 0..3 {
        next.push(web_cpu(&mut rx, &web1, "web-1 still throttled", |_| true).await);
    }
    next.sort_by(f64::total_cmp);
    let again = next[1];
    assert!(again < 300f64.max(0.6 * busy), "busy {busy:.0}m, then throttled {next:?}");
    b.revert(&h).await.unwrap();
    let freed = web_cpu(&mut rx, &web1, "web-1 busy again", |c| c > 500.0).await;
    eprintln!(
        "web-1: idle {:.0}m, busy {busy:.0}m, throttled {throttled:.0}m / {again:.0}m, freed {freed:.0}m",
        idle.cpu_m
    );
    shop.stop().await;
}
