//! The drill a facilitator's console serves (the demo, Docker), in one process: what goes on
//! the wire and what does not, a responder who joins late, one who posts what is not theirs,
//! and one whose connection breaks and comes back (through a proxy cut and restored).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use gameday::backend::drill::{DrillChannel, Heard, Side};
use gameday::backend::relay::{self, JoinAddress};
use gameday::backend::sim::SimBackend;
use gameday::backend::Backend;
use gameday::model::{BackendInfo, FaultSpec, Holder, Mode, ParamValue, PodRef, Target, TopologyDelta};
use gameday::timeline::{Entry, EntryKind, Mark};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

const T: Duration = Duration::from_secs(10);

fn demo() -> BackendInfo {
    BackendInfo { kind: "demo".into(), cluster: "sock-shop".into(), pod_word: "pod".into() }
}

fn entry(seq: u64, kind: EntryKind) -> Entry {
    Entry { seq, wall: chrono::Utc::now(), t_ms: seq * 10, kind }
}

fn mark(seq: u64, responder: &str, mark: Mark) -> Entry {
    entry(
        seq,
        EntryKind::DrillMark {
            responder: responder.into(),
            their_seq: None,
            mark,
            note: String::new(),
            fault: None,
            after_ms: None,
        },
    )
}

async fn served(session: &str) -> Arc<relay::Served> {
    let s = relay::serve("127.0.0.1:0".parse().unwrap(), demo(), None).await.unwrap();
    s.begin(session);
    s
}

/// The next delta that `keep` keeps, within `T`.
async fn next_of(
    rx: &mut mpsc::UnboundedReceiver<TopologyDelta>,
    keep: impl Fn(&TopologyDelta) -> bool,
) -> TopologyDelta {
    loop {
        let d = tokio::time::timeout(T, rx.recv()).await.expect("in time").expect("open");
        if keep(&d) {
            return d;
        }
    }
}

#[tokio::test]
async fn a_late_responder_gets_the_picture_and_the_entries_and_the_console_keeps_its_own_business() {
    let s = served("s1").await;
    let sim = SimBackend::new(7, Duration::from_millis(50));
    let (tx, mut rx) = mpsc::unbounded_channel();
    sim.watch(tx);
    let TopologyDelta::Snapshot(t) = rx.recv().await.unwrap() else { panic!("a snapshot first") };
    s.feed(TopologyDelta::Snapshot(t.clone()));
    s.feed(TopologyDelta::Holder(Some(Holder {
        who: "ana@laptop".into(),
        session: "s1".into(),
        fault: 1,
        what: "network-latency on sock-shop/carts".into(),
        deadline: 0,
        lease_seconds: 0,
        renewed: String::new(),
        stop: None,
        version: String::new(),
        journal: String::new(),
        gone: false,
    })));
    let gone = t.pods().next().unwrap().clone();
    s.feed(TopologyDelta::RemovePod { namespace: gone.namespace.clone(), name: gone.name.clone() });
    let channel: Arc<dyn DrillChannel> = s.clone();
    channel
        .publish(
            "s1",
            &Side::Facilitator,
            &[entry(1, EntryKind::SessionStart { session: "s1".into(), backend: demo(), version: "x".into() })],
        )
        .await
        .unwrap();

    // Joined after all that: the picture as it is now, the entries so far.
    let backend = relay::join(&s.address(), "bob").await.unwrap();
    assert!(backend.info().cluster.contains("the facilitator's"), "{:?}", backend.info());
    let (tx, mut rx) = mpsc::unbounded_channel();
    backend.watch(tx);
    let TopologyDelta::Snapshot(seen) = next_of(&mut rx, |_| true).await else { panic!("a snapshot first") };
    assert_eq!(seen.pod_count(), t.pod_count() - 1);
    assert!(seen.pod(&gone.namespace, &gone.name).is_none());
    let mut names: Vec<&str> = t.pods().map(|p| p.name.as_str()).filter(|n| *n != gone.name).collect();
    let mut theirs: Vec<&str> = seen.pods().map(|p| p.name.as_str()).collect();
    names.sort();
    theirs.sort();
    assert_eq!(names, theirs, "the same pods under the same names");

    let heard = Arc::new(Mutex::new(Vec::<Entry>::new()));
    let h = heard.clone();
    let theirs = backend.drill_channel().unwrap();
    theirs.follow(
        "s1",
        &Side::Responder("bob".into()),
        Box::new(move |x| {
            if let Heard::Entries { entries, .. } = x {
                h.lock().unwrap().extend(entries);
            }
            true
        }),
    );
    channel
        .publish("s1", &Side::Facilitator, &[entry(2, EntryKind::DrillRevealed { faults: 0, new: Vec::new() })])
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + T;
    while heard.lock().unwrap().len() < 2 {
        assert!(tokio::time::Instant::now() < deadline, "heard {:?}", heard.lock().unwrap());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(heard.lock().unwrap().iter().map(|e| e.seq).collect::<Vec<_>>(), vec![1, 2], "each once, in order");
    // A second console under a name in use is refused; another name is not.
    let twice = relay::join(&s.address(), "bob").await.err().unwrap().to_string();
    assert!(twice.contains("responder bob is already in this drill in another console"), "{twice}");
    assert!(relay::join(&s.address(), "cy").await.is_ok());
    // The lock's holder (it names the fault) never went on the wire.
    s.feed(TopologyDelta::Watchdog(Some("x".into())));
    s.feed(TopologyDelta::UpsertPod(gone.clone()));
    let d = next_of(&mut rx, |_| true).await;
    assert_eq!(d, TopologyDelta::UpsertPod(gone), "nothing of the holder or the watchdog came before it");
}

#[tokio::test]
async fn a_responder_posts_only_its_own_marks_and_the_facilitator_hears_each_once() {
    let s = served("s2").await;
    let heard = Arc::new(Mutex::new(Vec::<(String, u64)>::new()));
    let h = heard.clone();
    let mine: Arc<dyn DrillChannel> = s.clone();
    mine.follow(
        "s2",
        &Side::Facilitator,
        Box::new(move |x| {
            if let Heard::Entries { from, entries } = x {
                h.lock().unwrap().extend(entries.into_iter().map(|e| (from.clone(), e.seq)));
            }
            true
        }),
    );
    let backend = relay::join(&s.address(), "bob").await.unwrap();
    let theirs = backend.drill_channel().unwrap();
    let bob = Side::Responder("bob".into());
    theirs.publish("s2", &bob, &[mark(1, "bob", Mark::Detected)]).await.unwrap();
    theirs.publish("s2", &bob, &[mark(1, "bob", Mark::Detected), mark(2, "bob", Mark::Stop)]).await.unwrap();
    assert_eq!(*heard.lock().unwrap(), vec![("bob".to_string(), 1), ("bob".to_string(), 2)]);
    // Someone else's mark, or anything that is not a mark, is refused and said so.
    let e = theirs.publish("s2", &bob, &[mark(3, "cy", Mark::Stop)]).await.unwrap_err();
    assert!(e.to_string().contains("not one of responder bob's"), "{e}");
    let abort = entry(4, EntryKind::Console { message: "x".into(), warning: false });
    assert!(theirs.publish("s2", &bob, &[abort]).await.is_err());
    assert_eq!(heard.lock().unwrap().len(), 2);
    assert_eq!(theirs.published("s2", &bob).await.unwrap().map(|v| v.len()), Some(2), "a rejoin goes on from there");
    assert_eq!(theirs.published("s2", &Side::Responder("cy".into())).await.unwrap(), None);

    // Another session's ID, with the right token: said which one this is.
    let mut other = s.address();
    other.session = "s9".into();
    let e = relay::join(&other, "bob").await.err().unwrap().to_string();
    assert!(e.contains("serves session s2, not s9"), "{e}");
}

/// A TCP proxy to `to` whose connections can be cut (and new ones refused) and restored.
struct Proxy {
    port: u16,
    up: Arc<std::sync::atomic::AtomicBool>,
    generation: Arc<std::sync::atomic::AtomicU64>,
}

impl Proxy {
    async fn start(to: String) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let up = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let generation = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let (u, g) = (up.clone(), generation.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else { return };
                if !u.load(std::sync::atomic::Ordering::SeqCst) {
                    continue;
                }
                let Ok(mut outbound) = TcpStream::connect(&to).await else { continue };
                let (mine, g) = (g.load(std::sync::atomic::Ordering::SeqCst), g.clone());
                tokio::spawn(async move {
                    let copy = tokio::io::copy_bidirectional(&mut inbound, &mut outbound);
                    let cut = async {
                        while g.load(std::sync::atomic::Ordering::SeqCst) == mine {
                            tokio::time::sleep(Duration::from_millis(20)).await;
                        }
                    };
                    tokio::select! { _ = copy => {}, _ = cut => {} }
                });
            }
        });
        Proxy { port, up, generation }
    }

    fn cut(&self) {
        self.up.store(false, std::sync::atomic::Ordering::SeqCst);
        self.generation.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }

    fn restore(&self) {
        self.up.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

#[tokio::test]
async fn a_responder_who_loses_the_server_says_so_and_rejoins_by_itself() {
    let s = served("s3").await;
    let sim = SimBackend::new(7, Duration::from_millis(50));
    s.feed(TopologyDelta::Snapshot({
        let (tx, mut rx) = mpsc::unbounded_channel();
        sim.watch(tx);
        match rx.recv().await.unwrap() {
            TopologyDelta::Snapshot(t) => t,
            _ => panic!("a snapshot first"),
        }
    }));
    let proxy = Proxy::start(s.address().authority()).await;
    let via = JoinAddress { port: proxy.port, ..s.address() };
    let backend = relay::join(&via, "bob").await.unwrap();
    let (tx, mut rx) = mpsc::unbounded_channel();
    backend.watch(tx);
    assert!(matches!(next_of(&mut rx, |_| true).await, TopologyDelta::Snapshot(_)));
    let said = Arc::new(Mutex::new(Vec::<String>::new()));
    let h = said.clone();
    backend.drill_channel().unwrap().follow(
        "s3",
        &Side::Responder("bob".into()),
        Box::new(move |x| {
            match x {
                Heard::Trouble(m) => h.lock().unwrap().push(format!("trouble: {m}")),
                Heard::Restored(m) => h.lock().unwrap().push(format!("restored: {m}")),
                Heard::Entries { .. } => {}
            }
            true
        }),
    );
    tokio::time::sleep(Duration::from_millis(300)).await;

    proxy.cut();
    let lost = next_of(&mut rx, |d| matches!(d, TopologyDelta::Connection { .. })).await;
    let TopologyDelta::Connection { connected: false, detail } = lost else { panic!("{lost:?}") };
    assert!(
        detail.contains("lost the facilitator's console at 127.0.0.1:") && detail.contains("rejoining"),
        "{detail}"
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    proxy.restore();
    let back = next_of(&mut rx, |d| matches!(d, TopologyDelta::Connection { .. })).await;
    assert!(
        matches!(&back, TopologyDelta::Connection { connected: true, detail } if detail.contains("rejoined")),
        "{back:?}"
    );
    assert!(matches!(next_of(&mut rx, |_| true).await, TopologyDelta::Snapshot(_)), "the whole picture again");
    let deadline = tokio::time::Instant::now() + T;
    while said.lock().unwrap().len() < 2 {
        assert!(tokio::time::Instant::now() < deadline, "{:?}", said.lock().unwrap());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let said = said.lock().unwrap().clone();
    assert!(
        said[0].starts_with("trouble: lost the facilitator's console") && said[1].starts_with("restored: rejoined"),
        "{said:?}"
    );
}

#[tokio::test]
async fn the_demo_tells_a_served_responder_nothing_a_real_cluster_would_not() {
    let sim = SimBackend::new(7, Duration::from_millis(50));
    let (tx, mut rx) = mpsc::unbounded_channel();
    sim.watch(tx);
    let TopologyDelta::Snapshot(t) = rx.recv().await.unwrap() else { panic!("a snapshot first") };
    let target: Target = "sock-shop/carts".parse().unwrap();
    let pods =
        t.select(&target).iter().map(|p| PodRef { namespace: p.namespace.clone(), name: p.name.clone() }).collect();
    let spec = FaultSpec {
        fault_id: 1,
        session: "s".into(),
        preset: "network-latency".into(),
        action: "network-latency".into(),
        target,
        params: [("latency_ms".to_string(), ParamValue::Int(400))].into_iter().collect(),
        duration_ms: 60_000,
        pods,
        mode: Some(Mode::All),
    };
    let handle = sim.prepare(&spec).await.unwrap();
    sim.inject(&spec, &handle).await.unwrap();
    // What a second of the cluster says (it ticks on: a window, not until it is quiet).
    let mut shown = Vec::new();
    let until = tokio::time::Instant::now() + Duration::from_secs(1);
    while let Ok(Some(d)) = tokio::time::timeout_at(until, rx.recv()).await {
        shown.push(d);
    }
    let told = |d: &TopologyDelta| match d {
        TopologyDelta::UpsertPod(p) => p.note.is_some(),
        TopologyDelta::ClusterEvent { message, .. } => message.contains("latency"),
        _ => false,
    };
    assert!(shown.iter().any(told), "the facilitator's console is told: {shown:?}");
    let seen: Vec<TopologyDelta> = shown.into_iter().filter_map(|d| sim.seen(d)).collect();
    assert!(!seen.iter().any(told), "a served responder is not: {seen:?}");
    assert!(
        seen.iter().any(|d| matches!(d, TopologyDelta::UpsertPod(p) if p.name.starts_with("carts-"))),
        "the pod itself is"
    );
}

#[tokio::test]
async fn a_picture_of_thousands_of_pods_arrives_whole_across_many_chunks() {
    let s = served("s4").await;
    let mut t = gameday::model::Topology::default();
    for i in 0..5_000 {
        t.upsert_pod(gameday::model::Pod {
            namespace: format!("team-{:02}", i % 50),
            name: format!("svc-{i:05}-5f7c9d8b6-abcde"),
            workload: Some(format!("svc-{i:05}")),
            node: Some(format!("node-{:03}", i % 500)),
            phase: gameday::model::PodPhase::Running,
            ready: true,
            restarts: 0,
            note: None,
            labels: [("app".to_string(), format!("svc-{i:05}"))].into_iter().collect(),
            caveats: Default::default(),
        });
    }
    s.feed(TopologyDelta::Snapshot(t.clone()));
    let backend = relay::join(&s.address(), "bob").await.unwrap();
    let (tx, mut rx) = mpsc::unbounded_channel();
    backend.watch(tx);
    let TopologyDelta::Snapshot(seen) = next_of(&mut rx, |_| true).await else { panic!("a snapshot first") };
    assert_eq!(seen, t, "the same picture, a megabyte and more in one line");
}

/// A server that answers every request with this `Hello` body, as an older or newer gameday's
/// drill server would.
async fn hello_server(body: String) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let at = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf).await;
            let reply = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = s.write_all(reply.as_bytes()).await;
        }
    });
    format!("20261207-000000-abcd:0123456789abcdef@{at}")
}

#[tokio::test]
async fn a_facilitator_on_another_version_is_refused_at_the_join_with_both_versions_said() {
    let backend = r#""backend":{"kind":"demo","cluster":"sock-shop","pod_word":"pod"}"#;
    let newer = format!(r#"{{"session":"20261207-000000-abcd",{backend},"version":"99.0.0"}}"#);
    let older = format!(r#"{{"session":"20261207-000000-abcd",{backend}}}"#);
    let mine = env!("CARGO_PKG_VERSION");
    for (body, theirs) in [(newer, "gameday 99.0.0".to_string()), (older, "an older gameday".to_string())] {
        let address = JoinAddress::parse(&hello_server(body).await).unwrap().unwrap();
        let Err(e) = relay::join(&address, "bob").await else { panic!("joined a console of another version") };
        let said = e.to_string();
        assert!(said.contains(&format!("runs {theirs}, this is gameday {mine}: join with the same version")), "{said}");
    }
    // The same version joins.
    let s = served("20261207-000000-abcd").await;
    assert!(relay::join(&s.address(), "bob").await.is_ok());
}
