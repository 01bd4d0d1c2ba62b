//! A drill across machines on the demo and on Docker, as two people have it: the facilitator's
//! console serves the drill, `:drill` prints the command, and a responder with a HOME and a data
//! directory of their own joins by typing it. Both screens show the same pods under the same
//! names; the responder's emergency stop reverts the facilitator's fault and is scored.

mod common;

use std::time::Duration;

use common::docker::Shop;
use common::pty::Console;

const T: Duration = Duration::from_secs(30);

/// `:drill` on the facilitator's console: the command a responder on another machine types.
fn join_command(f: &mut Console) -> Vec<String> {
    f.wait_for("drill served at 127.0.0.1:", T);
    f.command("drill");
    let screen = f.wait_for("\n gameday --", T);
    let at = screen.find("\n gameday --").expect("said") + 2;
    let line = screen[at..].lines().next().unwrap_or_default();
    let words: Vec<String> = line.split_whitespace().take(4).map(str::to_string).collect();
    assert_eq!(words.first().map(String::as_str), Some("gameday"), "{line}");
    assert!(words[3].contains(':') && words[3].contains('@'), "ID:TOKEN@HOST:PORT: {line}");
    words[1..].to_vec()
}

/// A responder on a machine of their own.
fn responder(args: &[String], name: &str) -> Console {
    let mut all: Vec<&str> = args.iter().map(String::as_str).collect();
    all.extend(["--responder", name]);
    Console::start_in(tempfile::tempdir().unwrap(), &all, &[])
}

/// The name of the pod the facilitator's timeline says was created after `after`.
fn created_after(screen: &str, prefix: &str, gone: &str) -> Option<String> {
    screen.lines().find_map(|l| {
        let at = l.find(prefix)?;
        let name: String = l[at + "pod sock-shop/".len()..].chars().take_while(|c| *c != ':').collect();
        (l.contains(": created on") && name != gone).then_some(name)
    })
}

#[test]
fn a_demo_drill_is_joined_from_another_machine_by_the_command_drill_prints() {
    let mut f = Console::start(&["--demo", "--new", "--user", "ana"]);
    f.wait_for("▾ sock-shop", T);
    let args = join_command(&mut f);
    assert_eq!(&args[..2], ["--demo", "--drill"], "{args:?}");

    // A wrong token is refused, and nothing else is said to it.
    let (id_token, at) = args[2].split_once('@').unwrap();
    let id = id_token.split_once(':').unwrap().0;
    let mut wrong = Console::start_in(
        tempfile::tempdir().unwrap(),
        &["--demo", "--drill", &format!("{id}:0000000000000000@{at}")],
        &[],
    );
    wrong.wait_for("the join token is not this drill's", T);
    assert_ne!(wrong.wait_exit(T), 0);
    // On another kind of system than the facilitator's: refused, with the command that works.
    let mut docker =
        Console::start_in(tempfile::tempdir().unwrap(), &["--docker", "--drill", &args[2], "--responder", "bob"], &[]);
    docker.wait_for("the facilitator's console runs on demo, not docker: join with gameday --demo --drill", T);
    assert_ne!(docker.wait_exit(T), 0);

    let mut r = responder(&args, "bob");
    r.wait_for("DRILL · responder bob", T);
    r.wait_for("the faults are hidden until the facilitator reveals them", T);
    f.wait_for("responder bob joined the drill", T);

    // The same pods, under the same names, on both screens.
    let f_screen = f.screen();
    let carts: Vec<String> = f_screen
        .split_whitespace()
        .filter(|w| w.starts_with("carts-") && !w.starts_with("carts-db") && w.len() > "carts-".len() + 10)
        .map(str::to_string)
        .collect();
    assert_eq!(carts.len(), 3, "{f_screen}");
    // The responder's picture comes after its join is said: waited for, pod by pod.
    for c in &carts {
        r.wait_for(c, T);
    }

    f.command("inject pod-kill sock-shop/carts duration=5m");
    f.wait_for("FAULT LIVE #1 pod-kill", T);
    let screen = f.wait_for(": killed (grace period 0)", T);
    let gone = carts.iter().find(|c| screen.contains(&format!("pod sock-shop/{c}: killed"))).cloned();
    let gone = gone.expect("one of the three is killed");
    // The controller's replacement: its name on the facilitator's screen, then on the responder's.
    let deadline = std::time::Instant::now() + T;
    let replacement = loop {
        if let Some(n) = created_after(&f.screen(), "pod sock-shop/carts-", &gone) {
            break n;
        }
        assert!(std::time::Instant::now() < deadline, "no replacement on the facilitator's: {}", f.screen());
        std::thread::sleep(Duration::from_millis(200));
    };
    let screen = r.wait_for(&format!("pod sock-shop/{replacement}: created on"), T);
    assert!(screen.contains(&format!("pod sock-shop/{gone}: killed")), "the same pod fell: {screen}");
    assert!(!screen.contains("pod-kill") && !screen.contains("FAULT LIVE"), "no fault named: {screen}");

    // The responder pulls the emergency stop: the facilitator's console aborts its fault.
    r.send("d");
    f.wait_mark("bob", "detected", T);
    r.send(" ");
    f.wait_for("ABORT fault #1 (responder bob)", T);
    f.wait_reverted(1, T);
    f.command("reveal");
    r.wait_for("REVEALED: 1 fault(s) were injected so far", T);
    r.send("q");
    assert_eq!(r.wait_exit(T), 0);
    let report = f.exported_report();
    assert!(report.contains("Responders: bob."), "{report}");
    assert!(report.contains("(bob, emergency stop)"), "the stop is scored as bob's: {report}");
    f.quit_answering("end the session and quit? y/N");
    let served = f.data_dir().join("sessions").join(format!("{id}.join"));
    assert!(!served.exists(), "the drill is no longer served: {}", served.display());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a Docker engine (.ci/run runs it)"]
async fn a_docker_drill_is_joined_from_another_machine_and_its_stop_reverts_the_pause() {
    let shop = Shop::start("dn").await;
    let web1 = shop.container("web", 1);
    let mut f = common::laptops::docker_console(&["--new", "--user", "ana"]);
    f.wait_for(&format!("▾ {}", shop.name), T);
    let args = join_command(&mut f);
    assert_eq!(&args[..2], ["--docker", "--drill"], "{args:?}");
    let mut r = responder(&args, "bob");
    r.wait_for("DRILL · responder bob", T);
    f.wait_for("responder bob joined the drill", T);
    // The facilitator's engine's containers, on the responder's screen.
    r.wait_for(&web1, T);

    f.command(&format!("inject container-pause container/{web1} duration=5m"));
    f.wait_for("FAULT LIVE #1 container-pause", T);
    let screen = r.wait_for("Paused", T);
    assert!(!screen.contains("container-pause") && !screen.contains("FAULT LIVE"), "no fault named: {screen}");
    assert!(!screen.contains("LIVE ELSEWHERE"), "the lock's holder is the console's business: {screen}");
    r.send(" ");
    f.wait_for("ABORT fault #1 (responder bob)", T);
    f.wait_reverted(1, T);
    assert_eq!(shop.status(&web1).await, "running");
    r.wait_gone("Paused", T);
    r.send("q");
    assert_eq!(r.wait_exit(T), 0);
    f.quit_answering("end the session and quit? y/N");
    shop.stop().await;
}
