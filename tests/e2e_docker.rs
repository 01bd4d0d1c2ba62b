//! End to end on a real Docker engine: the console in a pseudo-terminal, driven like a person
//! would; and what happens when the console is killed -9 with a fault live (the container stays
//! paused, the helper keeps shaping traffic) until `gameday cleanup` or the next console undoes it.

mod common;

use std::process::Command;
use std::time::Duration;

use common::docker::{Shop, NETEM_IMAGE};
use common::laptops;
use common::pty::{journal_entries, Console};

const T: Duration = Duration::from_secs(20);

/// These tests run one at a time: some kill a console with a fault live, and any console finds
/// the faults left behind by their markers on the engine, whichever test left them.
static KILLED: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn console(dir: tempfile::TempDir) -> Console {
    Console::start_in(dir, &["--docker", "--netem-image", NETEM_IMAGE], &[])
}

fn cleanup(c_dir: &std::path::Path, args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_gameday"))
        .args(["cleanup", "--docker", "--netem-image", NETEM_IMAGE])
        .args(args)
        .env("GAMEDAY_DATA_DIR", c_dir.join("data"))
        .env("GAMEDAY_CONFIG_DIR", c_dir.join("config"))
        .output()
        .expect("gameday cleanup");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.code().unwrap_or(-1), text)
}

fn session_of(journal: &std::path::Path) -> String {
    journal.file_stem().unwrap().to_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a Docker engine (.ci/run runs it)"]
async fn pause_a_service_press_space_and_see_it_running() {
    let _one_at_a_time = KILLED.lock().await;
    let shop = Shop::start("ep").await;
    let mut c = console(tempfile::tempdir().unwrap());
    c.wait_for(&format!("▾ {}", shop.name), T);
    c.wait_for("web            2/2", T);
    c.command(&format!("inject container-pause {}/web", shop.name));
    c.wait_for("FAULT LIVE #1 container-pause", T);
    c.wait_for("web            0/2", T);
    for i in [1, 2] {
        assert_eq!(shop.status(&shop.container("web", i)).await, "paused");
    }
    c.send(" ");
    c.wait_reverted(1, T);
    c.wait_for("web            2/2", T);
    for i in [1, 2] {
        assert_eq!(shop.status(&shop.container("web", i)).await, "running");
    }
    c.send("q");
    assert_eq!(c.wait_exit(T), 0);
    shop.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a Docker engine (.ci/run runs it)"]
async fn a_console_killed_during_a_pause_is_cleaned_up_by_gameday_cleanup() {
    let _one_at_a_time = KILLED.lock().await;
    let shop = Shop::start("kp").await;
    let web1 = shop.container("web", 1);
    let mut c = console(tempfile::tempdir().unwrap());
    c.wait_for(&format!("▾ {}", shop.name), T);
    c.command(&format!("inject container-pause container/{web1}"));
    c.wait_for("FAULT LIVE #1", T);
    c.signal("KILL");
    c.wait_exit(T);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(shop.status(&web1).await, "paused", "nothing undid it: the process died at once");
    let journal = c.journal();
    let session = session_of(&journal);

    let (code, listed) = cleanup(c.dir.path(), &[]);
    assert_eq!(code, 0, "{listed}");
    assert!(
        listed.contains(&format!("session {session} fault #1: container-pause on {}/pod/{web1}", shop.name)),
        "{listed}"
    );
    assert_eq!(shop.status(&web1).await, "paused", "listing changes nothing");
    // The hint is a command to copy: this session's ID and the backend flags given.
    assert!(
        listed.contains(&format!(
            "Revert them with `gameday cleanup --docker --netem-image {NETEM_IMAGE} --session {session}`."
        )),
        "{listed}"
    );

    let (code, done) = cleanup(c.dir.path(), &["--session", &session]);
    assert_eq!(code, 0, "{done}");
    assert!(done.contains(&format!("reverted session {session} fault #1 (confirmed")), "{done}");
    assert_eq!(shop.status(&web1).await, "running");
    let entries = journal_entries(&journal);
    let tail: Vec<&str> = entries.iter().rev().take(4).map(|e| e["kind"].as_str().unwrap()).collect();
    // Written into the dead session's journal; its last fault reverted, the session is closed and
    // its final report written beside the journal.
    assert_eq!(tail, ["session_end", "revert_confirmed", "revert_started", "fault_ending"], "{entries:#?}");
    assert!(journal.with_extension("md").exists(), "the dead session's report");
    // Markers are engine-wide (another test's helper may be listed): ask about this session.
    let (_, again) = cleanup(c.dir.path(), &["--session", &session]);
    assert!(again.contains(&format!("Session {session} left no fault behind")), "{again}");
    shop.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a Docker engine (.ci/run runs it)"]
async fn a_console_killed_during_a_rate_limit_leaves_a_fault_the_next_console_reverts() {
    let _one_at_a_time = KILLED.lock().await;
    let shop = Shop::start("kn").await;
    let web2 = shop.container("web", 2);
    let mut c = console(tempfile::tempdir().unwrap());
    c.wait_for(&format!("▾ {}", shop.name), T);
    c.command(&format!("inject network-rate container/{web2} rate_kbit=200"));
    c.wait_for("FAULT LIVE #1 network-rate", T);
    c.signal("KILL");
    c.wait_exit(T);
    assert!(shop.qdiscs(&web2).await.contains("tbf"), "the helper keeps shaping after the console died");
    let journal = c.journal();
    let session = session_of(&journal);

    // The next console, on the same data directory, starts a new session from the start screen:
    // the engine's lock names the killed console, gone (its journal is no longer held), and its
    // fault is taken over and reverted at once, recorded in the killed session's journal.
    let mut next = console(c.into_dir());
    next.wait_for(&format!("Resume {session}"), T);
    next.wait_for("killed (no end recorded)", T);
    next.send("\r"); // New session is preselected
    next.wait_for("fault #1 (network-rate on", T);
    next.wait_for("reverted by this console", T);
    assert!(!shop.qdiscs(&web2).await.contains("tbf"), "{}", shop.qdiscs(&web2).await);
    next.send("q");
    assert_eq!(next.wait_exit(T), 0);
    let old = journal_entries(&journal);
    let tail: Vec<&str> = old.iter().rev().take(2).map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(tail, ["session_end", "revert_confirmed"], "the dead session is closed: {old:#?}");
    shop.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a Docker engine (.ci/run runs it)"]
async fn a_killed_session_resumed_from_the_start_screen_takes_its_own_fault_over_and_reverts_it() {
    let _one_at_a_time = KILLED.lock().await;
    let shop = Shop::start("rs").await;
    let db = shop.container("db", 1);
    let mut c = console(tempfile::tempdir().unwrap());
    c.wait_for(&format!("▾ {}", shop.name), T);
    c.command(&format!("inject container-pause container/{db}"));
    c.wait_for("FAULT LIVE #1 container-pause", T);
    c.signal("KILL");
    c.wait_exit(T);
    let journal = c.journal();
    let session = session_of(&journal);
    assert_eq!(shop.status(&db).await, "paused", "the fault outlived the console");

    let mut again = console(c.into_dir());
    again.wait_for(&format!("Resume {session}"), T);
    again.send("\x1b[B"); // Down: the killed session
    again.send("\r");
    again.wait_for(&format!("session {session}"), T);
    // The engine's lock still names the killed console, whose journal on this machine nobody
    // holds any more: it is gone, and its fault is taken over at once (never offered twice).
    again.wait_for("fault #1 (container-pause on", T);
    again.wait_for("reverted by this console", T);
    assert_eq!(shop.status(&db).await, "running", "reverted by the resumed session");
    assert!(!again.screen().contains("Faults left behind"), "{}", again.screen());
    again.send("q");
    assert_eq!(again.wait_exit(T), 0);
    let entries = journal_entries(&journal);
    let kinds: Vec<&str> = entries.iter().map(|e| e["kind"].as_str().unwrap_or("?")).collect();
    assert!(kinds.contains(&"session_resumed") && kinds.contains(&"took_over"), "{kinds:?}");
    let took = entries.iter().find(|e| e["kind"] == "took_over").unwrap();
    assert_eq!(took["why"], "it is this session's fault from before its console was restarted", "{took}");
    // Its end is on this session's record: the report does not call it still active, and
    // cleanup neither reverts it again nor claims it.
    let closed = entries.iter().find(|e| e["kind"] == "fault_closed" && e["fault"] == 1);
    assert!(closed.is_some_and(|e| e["how"].as_str().unwrap_or("").contains("resumed")), "{entries:#?}");
    let report = std::fs::read_to_string(journal.with_extension("md")).unwrap();
    assert!(!report.contains("still active at session end"), "{report}");
    let (code, listed) = cleanup(again.dir.path(), &["--session", &session]);
    assert_eq!(code, 0, "{listed}");
    assert!(listed.contains(&format!("Session {session} left no fault behind")), "{listed}");
    let lock = Command::new("docker").args(["ps", "-aq", "--filter", "name=^/gameday-lock$"]).output().unwrap();
    assert!(lock.stdout.is_empty(), "the engine's lock is given back");
    shop.stop().await;
}

/// `gameday cleanup --docker` with a data directory of its own (another laptop, say).
fn cleanup_elsewhere(dir: &std::path::Path, args: &[&str]) -> (i32, String) {
    std::fs::create_dir_all(dir).unwrap();
    cleanup(dir, args)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a Docker engine (.ci/run runs it)"]
async fn a_pause_left_by_a_killed_console_is_found_and_reverted_from_another_data_directory() {
    let _one_at_a_time = KILLED.lock().await;
    let shop = Shop::start("kx").await;
    let web1 = shop.container("web", 1);
    let mut c = console(tempfile::tempdir().unwrap());
    c.wait_for(&format!("▾ {}", shop.name), T);
    c.command(&format!("inject container-pause container/{web1}"));
    c.wait_for("FAULT LIVE #1", T);
    c.signal("KILL");
    c.wait_exit(T);
    let session = session_of(&c.journal());
    assert_eq!(shop.status(&web1).await, "paused");

    // No journal here: only the engine knows, through the fault's marker.
    let elsewhere = tempfile::tempdir().unwrap();
    let (code, listed) = cleanup_elsewhere(elsewhere.path(), &[]);
    assert_eq!(code, 0, "{listed}");
    let marker = format!("gameday-{session}-f1-marker");
    assert!(
        listed.contains(&format!("session {session} fault #1: container-pause on {}/pod/{web1}", shop.name))
            && listed.contains(&format!("(found in its marker container {marker} on the engine)")),
        "{listed}"
    );
    assert_eq!(shop.status(&web1).await, "paused", "listing changes nothing");
    let (code, done) = cleanup_elsewhere(elsewhere.path(), &["--session", &session]);
    assert_eq!(code, 0, "{done}");
    assert!(done.contains(&format!("reverted session {session} fault #1 (confirmed")), "{done}");
    assert_eq!(shop.status(&web1).await, "running");
    let markers = Command::new("docker").args(["ps", "-aq", "--filter", &format!("name={marker}")]).output().unwrap();
    assert!(markers.stdout.is_empty(), "the marker is gone with the fault");
    let (_, again) = cleanup_elsewhere(elsewhere.path(), &["--session", &session]);
    assert!(again.contains(&format!("Session {session} left no fault behind")), "{again}");
    shop.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a Docker engine (.ci/run runs it)"]
async fn a_helper_image_without_tc_disables_the_network_presets_and_quits_at_once() {
    let _one_at_a_time = KILLED.lock().await;
    let shop = Shop::start("nt").await;
    let web1 = shop.container("web", 1);
    let mut c = Console::start_in(
        tempfile::tempdir().unwrap(),
        &["--docker", "--netem-image", common::docker::NOTC_IMAGE],
        &[],
    );
    c.wait_for(&format!("▾ {}", shop.name), T);
    // The check is once, in the background: wait until the presets say so.
    let deadline = std::time::Instant::now() + T;
    loop {
        c.command(&format!("inject network-rate container/{web1}"));
        let screen = c.wait_for("network-rate", T);
        if screen.contains("has no iproute2 tc") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "never disabled: {screen}");
        std::thread::sleep(Duration::from_millis(300));
        c.send(" "); // abort whatever went in meanwhile
        c.wait_gone("FAULT LIVE", T);
    }
    assert!(!shop.qdiscs(&web1).await.contains("tbf"));
    let started = std::time::Instant::now();
    c.send("q");
    assert_eq!(c.wait_exit(T), 0, "nothing to revert: a clean exit");
    assert!(started.elapsed() < Duration::from_secs(5), "quit took {:?}", started.elapsed());
    let kinds = common::pty::journal_kinds(&c.journal());
    assert!(!kinds.iter().any(|k| k == "revert_failed"), "{kinds:?}");
    shop.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a Docker engine (.ci/run runs it)"]
async fn a_rate_limit_that_expired_after_its_console_died_is_recorded_as_expired() {
    let _one_at_a_time = KILLED.lock().await;
    let shop = Shop::start("ke").await;
    let web2 = shop.container("web", 2);
    let mut c = console(tempfile::tempdir().unwrap());
    c.wait_for(&format!("▾ {}", shop.name), T);
    c.command(&format!("inject network-rate container/{web2} rate_kbit=200 duration=3s"));
    c.wait_for("FAULT LIVE #1 network-rate", T);
    c.signal("KILL");
    c.wait_exit(T);
    let journal = c.journal();
    let session = session_of(&journal);
    tokio::time::sleep(Duration::from_secs(5)).await; // its helper's time runs out; no console runs
    assert!(!shop.qdiscs(&web2).await.contains("tbf"));

    let (code, listed) = cleanup(c.dir.path(), &[]);
    assert_eq!(code, 0, "{listed}");
    assert!(
        listed.contains(&format!("Session {session} fault #1 (")) && listed.contains("ended by itself"),
        "{listed}"
    );
    assert!(!listed.contains(&format!("session {session} fault #1: ")), "not listed as a leftover: {listed}");
    // The next console takes the gone console's hold over, and the killed session's journal
    // records the fault as expired, not as aborted.
    let mut next = console(c.into_dir());
    next.wait_for(&format!("Resume {session}"), T);
    next.send("\r");
    next.wait_for("reverted by this console", T);
    assert!(!next.screen().contains("LEFT BY EARLIER SESSIONS"), "{}", next.screen());
    next.send("q");
    assert_eq!(next.wait_exit(T), 0);
    let entries = journal_entries(&journal);
    let ending = entries.iter().rev().find(|e| e["kind"] == "fault_ending").expect("an ending");
    assert_eq!(ending["reason"], "expired", "{ending}");
    let tail: Vec<&str> = entries.iter().rev().take(2).map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(tail, ["session_end", "revert_confirmed"], "the dead session is closed: {entries:#?}");
    let (_, again) = cleanup(next.dir.path(), &["--session", &session]);
    assert!(again.contains(&format!("Session {session} left no fault behind")), "{again}");
    shop.stop().await;
}

/// A console with a data directory and HOME of its own (another laptop on the same engine).
fn laptop(user: &str) -> Console {
    laptops::docker_console(&["--new", "--user", user])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a Docker engine (.ci/run runs it)"]
async fn two_consoles_on_one_engine_share_one_fault_and_either_space_stops_it() {
    let _one_at_a_time = KILLED.lock().await;
    let shop = Shop::start("tc").await;
    let web1 = shop.container("web", 1);
    let mut a = laptop("alice");
    let mut b = laptop("bob");
    a.wait_for(&format!("▾ {}", shop.name), T);
    b.wait_for(&format!("▾ {}", shop.name), T);
    a.command(&format!("inject container-pause container/{web1} duration=5m"));
    a.wait_for("FAULT LIVE #1 container-pause", T);
    b.wait_for("LIVE ELSEWHERE: alice@", T);
    b.command(&format!("inject container-stop container/{}", shop.container("db", 1)));
    let screen = b.wait_for("refused: alice@", T);
    assert!(screen.contains("holds the cluster: container-pause on"), "{screen}");
    assert_eq!(shop.status(&shop.container("db", 1)).await, "running", "nothing injected");
    // Bob's Space asks alice's console to stop; it aborts through its abort path.
    let pressed = std::time::Instant::now();
    b.send(" ");
    a.wait_for("(emergency stop asked by bob@", T);
    // The revert confirmed in the journal, not the bar gone (it goes as the revert starts).
    a.wait_reverted(1, T);
    eprintln!("bob's Space to alice's pause reverted: {:?}", pressed.elapsed());
    assert_eq!(shop.status(&web1).await, "running");
    a.wait_gone("FAULT LIVE", T);
    b.wait_gone("LIVE ELSEWHERE", T);
    assert!(!a.screen().contains("container none"), "gameday's own lock containers are not news: {}", a.screen());
    let ending = journal_entries(&a.journal()).into_iter().find(|e| e["kind"] == "fault_ending").unwrap();
    assert!(ending["reason"].to_string().contains("emergency stop asked by bob@"), "{ending}");
    // Given back after the revert is confirmed: waited for, not raced.
    let given_back = std::time::Instant::now() + T;
    loop {
        let lock = Command::new("docker").args(["ps", "-aq", "--filter", "name=^/gameday-lock"]).output().unwrap();
        if lock.stdout.is_empty() {
            break;
        }
        assert!(std::time::Instant::now() < given_back, "the lock and the stop are given back");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    for c in [&mut a, &mut b] {
        c.send("q");
        assert_eq!(c.wait_exit(T), 0);
    }
    shop.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a Docker engine (.ci/run runs it)"]
async fn gameday_watchdog_docker_reverts_a_killed_consoles_pause() {
    let _one_at_a_time = KILLED.lock().await;
    let shop = Shop::start("wd").await;
    let web1 = shop.container("web", 1);
    let mut a = laptop("alice");
    a.wait_for(&format!("▾ {}", shop.name), T);
    a.command(&format!("inject container-pause container/{web1} duration=5m"));
    a.wait_for("FAULT LIVE #1 container-pause", T);
    a.signal("KILL");
    a.wait_exit(T);
    assert_eq!(shop.status(&web1).await, "paused");
    let mut dog = laptops::Watchdog::start(&["--docker", "--netem-image", NETEM_IMAGE]);
    let started = std::time::Instant::now();
    while shop.status(&web1).await != "running" {
        assert!(started.elapsed() < T, "{}", dog.log());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!("watchdog start to the dead console's pause reverted: {:?}", started.elapsed());
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(dog.terminate(), 0);
    let said = dog.log();
    assert!(said.contains("taking over alice@") && said.contains("its console is gone"), "{said}");
    assert!(said.contains("reverted ") && said.contains("stopping (SIGTERM)"), "{said}");
    // Recorded in the dead session's journal, which is on this machine.
    let kinds: Vec<String> =
        journal_entries(&a.journal()).iter().map(|e| e["kind"].as_str().unwrap_or("?").to_string()).collect();
    assert!(kinds.ends_with(&["revert_confirmed".to_string(), "session_end".to_string()]), "{kinds:?}");
    shop.stop().await;
}
