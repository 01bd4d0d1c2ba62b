//! A drill across machines on Kubernetes: two real consoles in pseudo-terminals, each with its
//! own HOME and data directory (two laptops that share only the kubeconfig), against one test
//! API server. The responder joins by the session's ID alone, sees no trace of the fault, and
//! their marks and emergency stop reach the facilitator through ConfigMaps in the lock
//! namespace.

mod common;

use std::path::Path;
use std::time::Duration;

use common::laptops;
use common::pty::{journal_entries, Console};

const T: Duration = Duration::from_secs(20);

fn facilitator(kubeconfig: &Path) -> Console {
    let c = laptops::kube_console(kubeconfig, &["-n", "shop", "--new", "--user", "alice"]);
    c.wait_for("carts          3/3", T);
    c
}

fn responder(kubeconfig: &Path, session: &str, name: &str) -> Console {
    laptops::kube_console(kubeconfig, &["-n", "shop", "--drill", session, "--responder", name, "--user", name])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_responder_on_another_machine_sees_no_fault_and_their_marks_reach_the_facilitator() {
    let (server, kdir) = laptops::cluster(&[("shop", true)], true).await;
    let kubeconfig = kdir.path().join("kubeconfig");
    let mut a = facilitator(&kubeconfig);
    let session = a.journal().file_stem().unwrap().to_str().unwrap().to_string();
    a.command("inject scale shop/carts replicas=1 duration=5m");
    a.wait_for("FAULT LIVE #1 scale → shop/carts", T);

    // Bob's laptop has no journal of Alice's: he joins by the ID alone.
    let mut b = responder(&kubeconfig, &session, "bob");
    b.wait_for("DRILL · responder bob", T);
    assert!(!b.data_dir().join("sessions").join(format!("{session}.jsonl")).exists());
    a.wait_for("responder bob joined the drill", T);
    // He sees the effect (carts at 1), and nothing that names the fault: no fault panel, no
    // holder of the cluster lock, no marker.
    let screen = b.wait_for("carts          1/1", T);
    for hidden in ["FAULT", "LIVE ELSEWHERE", "alice", "holds the cluster", "scale", "gameday.dev", "fault #1"] {
        assert!(!screen.contains(hidden), "the responder's console shows {hidden:?}:\n{screen}");
    }

    // His detect key: the facilitator's timeline has it, attributed to fault #1.
    b.press("d");
    let mark = a.wait_mark("bob", "detected", T);
    assert_eq!(mark["fault"], 1, "{mark}");
    assert_eq!(mark["mark"], "detected", "{mark}");

    // His emergency stop: Alice's console reverts through its abort path.
    b.press(" ");
    a.wait_reverted(1, T);
    assert_eq!(laptops::replicas(&server, "shop", "carts"), 3);
    let ending = journal_entries(&a.journal()).into_iter().find(|e| e["kind"] == "fault_ending").unwrap();
    assert_eq!(ending["reason"]["aborted"]["by"], "responder bob", "{ending}");
    let screen = b.screen();
    assert!(!screen.contains("LIVE ELSEWHERE") && !screen.contains("alice"), "{screen}");
    // The cluster's own Events name the fault: the facilitator's console shows the abort's,
    // the responder's (watching the same Events) does not.
    let said_in = |path: &Path, what: &str| {
        journal_entries(path)
            .iter()
            .any(|e| e["kind"] == "cluster" && e["message"].as_str().unwrap_or("").contains(what))
    };
    server
        .wait_until(T, "alice's console shows her abort's Event", |_| said_in(&a.journal(), "GamedayFaultAborted"))
        .await;
    std::thread::sleep(Duration::from_millis(500));
    let bobs = b.data_dir().join("sessions").join("drills").join(format!("{session}.bob.jsonl"));
    let text = std::fs::read_to_string(&bobs).unwrap();
    assert!(!text.contains("Gameday") && !text.contains("alice"), "{text}");

    // Bob goes on from another laptop (a fresh data directory): what he marked before is taken
    // from the channel, so his next mark is numbered after it and reaches Alice.
    b.send("q");
    assert_eq!(b.wait_exit(T), 0);
    let mut b = responder(&kubeconfig, &session, "bob");
    b.wait_for("DRILL · responder bob", T);
    b.press("m");
    a.wait_mark("bob", "mitigated", T);
    let marks: Vec<String> = journal_entries(&a.journal())
        .into_iter()
        .filter(|e| e["kind"] == "drill_mark" && e["responder"] == "bob")
        .map(|e| e["mark"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(marks, ["detected", "stop", "mitigated"]);

    // The reveal reaches him the same way.
    a.command("reveal");
    b.wait_for("REVEALED: 1 fault(s)", T);
    // The channel: one ConfigMap per writer, in the lock namespace.
    let names = |s: &common::apiserver::ApiServer| -> Vec<String> {
        s.list("configmaps", Some("gameday"))
            .iter()
            .map(|c| c["metadata"]["name"].as_str().unwrap_or_default().to_string())
            .collect()
    };
    let during = names(&server);
    assert_eq!(during.len(), 2, "{during:?}");
    assert!(during.contains(&format!("gameday-drill-{session}-f")), "{during:?}");
    assert!(during.contains(&format!("gameday-drill-{session}-r-bob")), "{during:?}");
    a.quit_answering("1 responder joined the drill: end the session and quit? y/N");
    b.wait_for("the facilitator's session has ended", T);
    b.send("q");
    assert_eq!(b.wait_exit(T), 0);
    // The drill ended with the facilitator's session: its channels are gone with it.
    assert!(names(&server).is_empty(), "{:?}", names(&server));
    common::rbac::assert_allowed(&server.requests());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn joining_a_session_the_cluster_does_not_know_says_so() {
    let (_server, kdir) = laptops::cluster(&[("shop", true)], true).await;
    let mut b = responder(&kdir.path().join("kubeconfig"), "20260101-101500-1a2b", "bob");
    let code = b.wait_exit(T);
    assert_ne!(code, 0);
    let out = String::from_utf8_lossy(&b.raw()).to_string();
    assert!(
        out.contains("no session 20260101-101500-1a2b on this cluster")
            && out.contains("ConfigMaps in namespace gameday"),
        "{out}"
    );
}
