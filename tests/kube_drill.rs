//! A drill's channel on Kubernetes through the real kube client against the test API server:
//! ConfigMaps in the lock namespace, one per writer per session, appended (only the new entries,
//! by a merge patch with the version seen as its precondition: a concurrent write is read
//! again, never overwritten), followed by watch (each entry once, in order), full at 1 MiB
//! (said, never half-written), taken away when the drill ends or past its expiry, and clear
//! words when the namespace is missing or RBAC refuses it.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::apiserver::ApiServer;
use gameday::backend::drill::{ChannelError, DrillChannel, Heard, Side};
use gameday::backend::kube::{KubeBackend, KubeOptions};
use gameday::backend::Backend;
use gameday::timeline::{Entry, EntryKind, Mark};
use serde_json::json;
use tokio::sync::mpsc;

const SESSION: &str = "20261206-101500-1a2b";

async fn laptop(server: &ApiServer, dir: &std::path::Path, name: &str) -> Arc<dyn DrillChannel> {
    let kubeconfig = dir.join(format!("kubeconfig-{name}"));
    server.write_kubeconfig(&kubeconfig);
    let b = KubeBackend::connect(&KubeOptions { kubeconfig: Some(kubeconfig), ..Default::default() })
        .await
        .expect("connect");
    b.drill_channel().expect("Kubernetes carries a drill channel")
}

/// When entry `seq` was recorded: the same entry given again is the same.
fn wall(seq: u64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(1_765_000_000 + seq as i64, 0).unwrap()
}

fn mark(seq: u64, note: &str) -> Entry {
    Entry {
        seq,
        wall: wall(seq),
        t_ms: seq * 1000,
        kind: EntryKind::DrillMark {
            responder: "bob".into(),
            their_seq: None,
            mark: Mark::Note,
            note: note.into(),
            fault: None,
            after_ms: None,
        },
    }
}

fn start(seq: u64) -> Entry {
    Entry {
        seq,
        wall: wall(seq),
        t_ms: 0,
        kind: EntryKind::DrillJoined { session: SESSION.into(), responder: "bob".into() },
    }
}

fn seqs(h: &Heard) -> (String, Vec<u64>) {
    match h {
        Heard::Entries { from, entries } => (from.clone(), entries.iter().map(|e| e.seq).collect()),
        Heard::Trouble(t) | Heard::Restored(t) => panic!("trouble: {t}"),
    }
}

async fn next(rx: &mut mpsc::UnboundedReceiver<Heard>) -> Heard {
    tokio::time::timeout(Duration::from_secs(10), rx.recv()).await.expect("heard in time").expect("open")
}

/// The entries' JSON an object holds, in order (one key each).
fn held(cm: &serde_json::Value) -> Vec<String> {
    let data = cm["data"].as_object().expect("data");
    let mut keys: Vec<&String> = data.keys().filter(|k| k.ends_with(".json")).collect();
    keys.sort();
    keys.into_iter().map(|k| data[k].as_str().unwrap().to_string()).collect()
}

fn follower(c: &Arc<dyn DrillChannel>, me: Side) -> mpsc::UnboundedReceiver<Heard> {
    let (tx, rx) = mpsc::unbounded_channel();
    c.follow(SESSION, &me, Box::new(move |h| tx.send(h).is_ok()));
    rx
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_side_hears_the_other_by_watch_once_each_in_order() {
    let server = ApiServer::start().await;
    server.install_gameday();
    let dir = tempfile::tempdir().unwrap();
    let (alice, bob) = (laptop(&server, dir.path(), "a").await, laptop(&server, dir.path(), "b").await);
    assert_eq!(alice.describe(), "ConfigMaps in namespace gameday");
    assert_eq!(bob.facilitator(SESSION).await.unwrap(), None, "no such session yet");
    alice.publish(SESSION, &Side::Facilitator, &[start(1)]).await.unwrap();
    assert_eq!(bob.facilitator(SESSION).await.unwrap().map(|e| e.len()), Some(1));

    let mut heard_by_alice = follower(&alice, Side::Facilitator);
    let mut heard_by_bob = follower(&bob, Side::Responder("bob".into()));
    assert_eq!(seqs(&next(&mut heard_by_bob).await), ("facilitator".into(), vec![1]));

    let bob_side = Side::Responder("bob".into());
    bob.publish(SESSION, &bob_side, &[start(1), mark(2, "one")]).await.unwrap();
    assert_eq!(seqs(&next(&mut heard_by_alice).await), ("bob".into(), vec![1, 2]));
    // Published again with one more: only the new one is added and heard.
    bob.publish(SESSION, &bob_side, &[start(1), mark(2, "one"), mark(3, "two")]).await.unwrap();
    assert_eq!(seqs(&next(&mut heard_by_alice).await), ("bob".into(), vec![3]));
    // Nothing new: nothing written.
    let writes = |s: &ApiServer| s.requests().iter().filter(|r| !r.starts_with("GET ")).count();
    let before = writes(&server);
    bob.publish(SESSION, &bob_side, &[mark(3, "two")]).await.unwrap();
    assert_eq!(writes(&server), before);
    // Appended, never rewritten: a create, then patches; no object is ever sent whole again.
    assert!(
        !server.requests().iter().any(|r| r.starts_with("PUT ") && r.contains("/configmaps/")),
        "{:?}",
        server.requests()
    );
    // A second responder, whose name is no DNS name, is heard under their own name.
    let carol = Side::Responder("Carol Ann".into());
    bob.publish(SESSION, &carol, &[mark(1, "hi")]).await.unwrap();
    assert_eq!(seqs(&next(&mut heard_by_alice).await), ("Carol Ann".into(), vec![1]));
    // The facilitator's own object and a responder's are not heard by their own side.
    alice.publish(SESSION, &Side::Facilitator, &[start(1), mark(2, "x")]).await.unwrap();
    assert_eq!(seqs(&next(&mut heard_by_bob).await), ("facilitator".into(), vec![2]));
    assert!(heard_by_alice.try_recv().is_err(), "alice does not hear herself");

    let cm = server.get("configmaps", "gameday", &format!("gameday-drill-{SESSION}-r-bob")).unwrap();
    assert_eq!(cm["metadata"]["labels"]["app.kubernetes.io/managed-by"], "gameday");
    assert_eq!(cm["metadata"]["labels"]["gameday.dev/drill"], SESSION);
    assert_eq!(cm["metadata"]["labels"]["gameday.dev/drill-side"], "responder");
    assert_eq!(held(&cm).len(), 3);
    assert!(cm["metadata"]["annotations"]["gameday.dev/expires"].is_string(), "{cm}");
    common::rbac::assert_allowed(&server.requests());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_in_between_is_read_again_and_kept_never_overwritten() {
    let server = ApiServer::start().await;
    server.install_gameday();
    let dir = tempfile::tempdir().unwrap();
    let bob = laptop(&server, dir.path(), "b").await;
    let side = Side::Responder("bob".into());
    bob.publish(SESSION, &side, &[start(1)]).await.unwrap();
    // Someone writes between bob's read and his write: a label, and an entry (bob's console on
    // another terminal, say).
    let theirs = serde_json::to_string(&mark(2, "from elsewhere")).unwrap();
    server.on_next_write("configmaps", move |cm| {
        cm["metadata"]["labels"]["team"] = json!("sre");
        cm["data"]["0000000002.json"] = json!(theirs);
    });
    bob.publish(SESSION, &side, &[start(1), mark(2, "mine"), mark(3, "three")]).await.unwrap();
    assert_eq!(server.conflicts().len(), 1, "the first write was refused: {:?}", server.conflicts());
    let cm = server.get("configmaps", "gameday", &format!("gameday-drill-{SESSION}-r-bob")).unwrap();
    assert_eq!(cm["metadata"]["labels"]["team"], "sre", "their label stays");
    let text = held(&cm).join("\n");
    assert!(text.contains("from elsewhere") && !text.contains("\"mine\""), "{text}");
    assert!(text.contains("three"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_past_one_mebibyte_is_said_full_and_nothing_is_half_written() {
    let server = ApiServer::start().await;
    server.install_gameday();
    let dir = tempfile::tempdir().unwrap();
    let bob = laptop(&server, dir.path(), "b").await;
    let side = Side::Responder("bob".into());
    let big = "x".repeat(100 * 1024);
    let mut entries = Vec::new();
    let mut full = None;
    for seq in 1..=20 {
        entries.push(mark(seq, &big));
        match bob.publish(SESSION, &side, &entries).await {
            Ok(()) => {}
            Err(e) => {
                full = Some((seq, e));
                break;
            }
        }
    }
    let (seq, e) = full.expect("full before 2 MiB");
    assert!(matches!(e, ChannelError::Full(_)), "{e:?}");
    assert_eq!(seq, 11, "ten notes of 100 KiB fit, the eleventh does not");
    let said = e.to_string();
    assert!(said.contains(&format!("ConfigMap gameday/gameday-drill-{SESSION}-r-bob holds at most 1 MiB")), "{said}");
    assert!(said.contains("its own journal keeps it all"), "{said}");
    let cm = server.get("configmaps", "gameday", &format!("gameday-drill-{SESSION}-r-bob")).unwrap();
    assert_eq!(held(&cm).len(), 10);
    // The API server refuses more than 1 MiB anyway, and that is said the same way.
    let over = json!({"metadata": {"name": "x", "namespace": "gameday"}, "data": {"k": "y".repeat(1024 * 1024 + 1)}});
    let client = create_raw(&server, &over).await;
    assert_eq!(client, 422);
}

/// Creates a ConfigMap through the kube client's raw API, returning the status code.
async fn create_raw(server: &ApiServer, obj: &serde_json::Value) -> u16 {
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    server.write_kubeconfig(&kubeconfig);
    let b = KubeBackend::connect(&KubeOptions { kubeconfig: Some(kubeconfig), ..Default::default() }).await.unwrap();
    let api: kube::Api<k8s_openapi::api::core::v1::ConfigMap> = kube::Api::namespaced(b.client().clone(), "gameday");
    let cm: k8s_openapi::api::core::v1::ConfigMap = serde_json::from_value(obj.clone()).unwrap();
    match api.create(&Default::default(), &cm).await {
        Ok(_) => 201,
        Err(kube::Error::Api(s)) => s.code,
        Err(e) => panic!("{e}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_namespace_or_a_refusal_says_how_to_fix_it() {
    let server = ApiServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let bob = laptop(&server, dir.path(), "b").await;
    let side = Side::Responder("bob".into());
    let e = bob.publish(SESSION, &side, &[start(1)]).await.unwrap_err();
    assert!(matches!(e, ChannelError::Unavailable(_)), "{e:?}");
    assert!(e.to_string().contains("its namespace 'gameday' does not exist"), "{e}");
    assert!(e.to_string().contains("kubectl apply -f deploy/rbac.yaml"), "{e}");
    server.install_gameday();
    server.forbid("configmaps", "create");
    let e = bob.publish(SESSION, &side, &[start(1)]).await.unwrap_err();
    assert!(matches!(e, ChannelError::Unavailable(_)), "{e:?}");
    assert!(e.to_string().contains("deploy/rbac.yaml grants get, list, watch, create, patch and delete"), "{e}");
    let e = bob.facilitator("not/an-id").await.unwrap_err();
    assert!(e.to_string().contains("'not/an-id' is not a session ID"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_consoles_writing_as_one_responder_are_told_apart_never_mixed() {
    let server = ApiServer::start().await;
    server.install_gameday();
    let dir = tempfile::tempdir().unwrap();
    let (one, two) = (laptop(&server, dir.path(), "1").await, laptop(&server, dir.path(), "2").await);
    let side = Side::Responder("bob".into());
    let first = vec![start(1), mark(2, "from laptop one")];
    one.publish(SESSION, &side, &first).await.unwrap();
    // Bob rejoins elsewhere: what he published before is given back, and is his own.
    let mut again = first.clone();
    again.push(mark(3, "after the rejoin"));
    two.publish(SESSION, &side, &again).await.unwrap();
    // A second console calling itself bob, numbering its own entries from 1 (recorded at
    // other times).
    let mut other = vec![start(1), mark(2, "someone else")];
    for e in &mut other {
        e.wall += chrono::Duration::milliseconds(1500);
    }
    let e = two.publish(SESSION, &side, &other).await.unwrap_err();
    assert!(matches!(e, ChannelError::Unavailable(_)), "{e:?}");
    assert!(e.to_string().contains("another console publishes as bob"), "{e}");
    let cm = server.get("configmaps", "gameday", &format!("gameday-drill-{SESSION}-r-bob")).unwrap();
    let text = held(&cm).join("\n");
    assert!(!text.contains("someone else") && text.contains("after the rejoin"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_drills_end_takes_its_channels_away_and_a_dead_ones_expire() {
    let server = ApiServer::start().await;
    server.install_gameday();
    let dir = tempfile::tempdir().unwrap();
    let (alice, bob) = (laptop(&server, dir.path(), "a").await, laptop(&server, dir.path(), "b").await);
    let bob_side = Side::Responder("bob".into());
    alice.publish(SESSION, &Side::Facilitator, &[start(1)]).await.unwrap();
    bob.publish(SESSION, &bob_side, &[start(1), mark(2, "one")]).await.unwrap();
    // Another session's, whose facilitator died a day ago; and one written by an earlier
    // version (no expiry), two days old.
    let other = "20261205-090000-dead";
    alice.publish(other, &Side::Facilitator, &[start(1)]).await.unwrap();
    server.apply(
        "configmaps",
        json!({"metadata": {"name": format!("gameday-drill-{other}-f"), "namespace": "gameday",
            "annotations": {"gameday.dev/expires": "2026-01-01T00:00:00Z"}}}),
    );
    let drills = |s: &ApiServer| -> Vec<String> {
        let mut n: Vec<String> = s
            .list("configmaps", Some("gameday"))
            .iter()
            .filter(|c| !c["metadata"]["labels"]["gameday.dev/drill"].is_null())
            .map(|c| c["metadata"]["name"].as_str().unwrap_or_default().to_string())
            .collect();
        n.sort();
        n
    };
    assert_eq!(drills(&server).len(), 3);

    // A responder who quits may rejoin: theirs stays.
    bob.close(SESSION, &bob_side).await.unwrap();
    assert_eq!(drills(&server).len(), 3);
    // Expired ones are listed, and deleted only when asked; a live session's never.
    let listed = bob.expired(None, false).await.unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert!(
        listed[0].contains(&format!("gameday-drill-{other}-f")) && listed[0].contains("expired 2026-01-01"),
        "{listed:?}"
    );
    assert_eq!(drills(&server).len(), 3);
    assert!(bob.expired(Some(SESSION), true).await.unwrap().is_empty(), "not that session's");
    assert_eq!(bob.expired(None, true).await.unwrap().len(), 1);
    assert_eq!(drills(&server), [format!("gameday-drill-{SESSION}-f"), format!("gameday-drill-{SESSION}-r-bob")]);
    // The facilitator's end is the drill's: every channel of it goes.
    alice.close(SESSION, &Side::Facilitator).await.unwrap();
    assert!(drills(&server).is_empty(), "{:?}", drills(&server));
    assert_eq!(bob.facilitator(SESSION).await.unwrap(), None, "ended: nobody joins it any more");
    common::rbac::assert_allowed(&server.requests());
}
