//! Truthful previews (pure: no engine): what a fault's confirmation says about the containers
//! it hits beyond the target: a shared network namespace, the host's network (refused), a
//! restart policy that will not act on an API kill, and the console's own container.

mod common;

use common::Harness;
use gameday::app::Event;
use gameday::model::TopologyDelta;
use gameday::model::{Caveats, Topology};

/// `shop` (web-1, web-2, db-1) with the caveats of `edit` applied.
fn docker_state(edit: impl FnOnce(&mut Topology)) -> Harness {
    let mut h = Harness::demo();
    h.s.session.backend.pod_word = "container".into();
    let mut t = common::compose_topology();
    edit(&mut t);
    h.send(Event::Backend(TopologyDelta::Snapshot(t)));
    h
}

fn set(t: &mut Topology, name: &str, caveats: Caveats) {
    let mut p = t.pod("shop", name).unwrap().clone();
    p.caveats = caveats;
    t.upsert_pod(p);
}

#[test]
fn a_network_fault_on_a_host_network_container_is_refused_with_the_reason() {
    let h = docker_state(|t| set(t, "shop-db-1", Caveats { netns: Some("host".into()), ..Default::default() }));
    let err = h.s.planner().plan("network-latency", "shop/db", &[]).unwrap_err();
    assert!(
        err.contains("shop-db-1 uses the host's network (--network host)")
            && err.contains("every interface of the host, not one container"),
        "{err}"
    );
    // A fault that does not touch the network is still fine.
    assert!(h.s.planner().plan("container-pause", "shop/db", &[]).is_ok());
}

#[test]
fn a_network_fault_names_the_containers_that_share_the_namespace() {
    let h = docker_state(|t| set(t, "shop-db-1", Caveats { netns: Some("shop-web-1".into()), ..Default::default() }));
    // db-1 joined web-1's namespace: shaping web-1 shapes db-1 too, and the other way round.
    let p = h.s.planner().plan("network-latency", "container/shop-web-1", &[]).unwrap();
    assert!(p.blast_radius.contains("also hits shop-db-1 (they share a network namespace"), "{}", p.blast_radius);
    let p = h.s.planner().plan("network-loss", "container/shop-db-1", &[]).unwrap();
    assert!(p.blast_radius.contains("also hits shop-web-1"), "{}", p.blast_radius);
    // web-2 has a namespace of its own.
    let p = h.s.planner().plan("network-latency", "container/shop-web-2", &[]).unwrap();
    assert!(!p.blast_radius.contains("also hits"), "{}", p.blast_radius);
    // Not a network fault: nothing shared to say.
    let p = h.s.planner().plan("container-pause", "container/shop-web-1", &[]).unwrap();
    assert!(!p.blast_radius.contains("share"), "{}", p.blast_radius);
}

#[test]
fn a_kill_says_the_restart_policy_will_not_restart_the_container() {
    let h = docker_state(|t| {
        set(t, "shop-db-1", Caveats { restart: Some("always".into()), ..Default::default() });
        set(
            t,
            "shop-web-1",
            Caveats { restart: Some("on-failure".into()), stop_signal: Some("SIGQUIT".into()), ..Default::default() },
        );
    });
    let p = h.s.planner().plan("container-kill", "shop/db", &[]).unwrap();
    assert!(
        p.blast_radius.contains(
            "Docker takes a kill through its API as a manual stop: the restart policy of shop-db-1 (always) will NOT restart it"
        ),
        "{}",
        p.blast_radius
    );
    // A signal that is not SIGKILL nor the container's stop signal is not a manual stop.
    let p =
        h.s.planner().plan("container-kill", "container/shop-web-1", &[("signal".into(), "SIGHUP".into())]).unwrap();
    assert!(!p.blast_radius.contains("manual stop"), "{}", p.blast_radius);
    let p =
        h.s.planner().plan("container-kill", "container/shop-web-1", &[("signal".into(), "SIGQUIT".into())]).unwrap();
    assert!(p.blast_radius.contains("shop-web-1 (on-failure) will NOT restart"), "{}", p.blast_radius);
    // A crash, which the policy acts on, says so instead.
    let p = h.s.planner().plan("container-kill", "shop/db", &[("how".into(), "crash".into())]).unwrap();
    assert!(p.blast_radius.starts_with("crashes (a signal from outside Docker"), "{}", p.blast_radius);
    assert!(
        p.blast_radius.contains("Docker sees a crash: the restart policy of shop-db-1 (always) restarts it")
            && !p.blast_radius.contains("manual stop"),
        "{}",
        p.blast_radius
    );
    assert!(h.s.planner().plan("container-kill", "shop/db", &[("how".into(), "later".into())]).is_err());
    // Without a restart policy there is nothing to warn about.
    let p = h.s.planner().plan("container-kill", "container/shop-web-2", &[]).unwrap();
    assert!(!p.blast_radius.contains("restart policy"), "{}", p.blast_radius);
}

#[test]
fn the_console_s_own_container_is_never_counted() {
    let own = Caveats { protected: Some("the console's own container".into()), ..Default::default() };
    let h = docker_state(|t| set(t, "shop-web-2", own.clone()));
    let p = h.s.planner().plan("container-pause", "shop/web", &[("mode".into(), "all".into())]).unwrap();
    assert_eq!(p.pods.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(), ["shop-web-1"]);
    assert!(p.blast_radius.starts_with("pauses container shop/shop-web-1"), "{}", p.blast_radius);
    assert!(p.blast_radius.contains("shop-web-2 is left alone (the console's own container)"), "{}", p.blast_radius);
    let err = h.s.planner().plan("container-pause", "container/shop-web-2", &[]).unwrap_err();
    assert_eq!(err, "shop/pod/shop-web-2 selects only the console's own container, which no fault may touch");
}
