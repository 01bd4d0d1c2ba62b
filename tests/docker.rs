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
use gameday::backend::model::PodPhase;
use gameday::backend::{Backend, FaultSpec, Mode, RevertHandle, Support, TopologyDelta};
use gameday::preset::ParamValue;

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
    assert!(b.leftovers().await.unwrap().iter().all(|l| l.session != spec.session), "the helper is gone");
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
    let prepared = b.prepare(&spec).await.unwrap();
    match (has_netem, b.inject(&spec, &prepared).await) {
        (Err(why), Err(e)) => {
            assert!(why.contains("no netem qdisc"), "{why}");
            assert!(e.to_string().contains("no netem qdisc (CONFIG_NET_SCH_NETEM is not set)"), "{e}");
        }
        (Ok(()), Ok(_)) => {
            assert!(shop.qdiscs(&web1).await.contains("netem"), "latency is on");
            let url = format!("http://{}:8080/", shop.ip(&web1).await);
            let (_, _, slow) = shop.exec(&shop.container("db", 1), &["wget", "-q", "-O", "/dev/null", &url]).await;
            assert!(slow >= Duration::from_millis(200), "{slow:?}");
        }
        (probe, inject) => panic!("the probe ({probe:?}) and the inject ({:?}) disagree", inject.map(|h| h.summary)),
    }
    // The console reverts the prepared handle after a failed inject: harmless, and clean.
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
    let probe = gameday::probe::ProbeSpec {
        name: service.clone(),
        kind: gameday::probe::ProbeKind::Tcp { addr: addr.clone() },
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
