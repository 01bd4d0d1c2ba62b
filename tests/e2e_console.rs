//! The console in the hand, end to end in a pseudo-terminal: completion, the command history
//! across sessions, the parameter form.

mod common;

use std::time::Duration;

use common::pty::{journal_entries, Console};

const T: Duration = Duration::from_secs(15);

#[test]
fn tab_completes_and_the_history_outlives_the_session() {
    let mut c = Console::start(&["--demo"]);
    c.wait_for("carts-db", T);
    c.press(":");
    c.send("inject network-lat");
    c.press("\t");
    c.wait_for(":inject network-latency ", T);
    c.send("sock-shop/carts-");
    c.press("\t");
    c.wait_for(":inject network-latency sock-shop/carts-db ", T);
    c.send("latency_");
    c.press("\t");
    c.wait_for(":inject network-latency sock-shop/carts-db latency_ms=", T);
    c.send("120");
    c.press("\r");
    c.wait_for("FAULT LIVE #1 network-latency → sock-shop/carts-db", T);
    c.press(" ");
    c.wait_reverted(1, T);
    c.press("q");
    assert_eq!(c.wait_exit(T), 0);
    let entries = journal_entries(&c.journal());
    let injected = entries.iter().find(|e| e["kind"] == "inject_requested").unwrap();
    assert_eq!(injected["params"]["latency_ms"], 120);

    // The next session (same user, same data directory) has it under Up.
    let mut again = Console::start_in(c.into_dir(), &["--demo", "--new"], &[]);
    again.wait_for("carts-db", T);
    again.press(":");
    again.press("\x1b[A");
    again.wait_for(":inject network-latency sock-shop/carts-db latency_ms=120", T);
    again.press("\x1b");
    again.press("q");
    assert_eq!(again.wait_exit(T), 0);
}

#[test]
fn the_parameter_form_refuses_in_place_takes_a_paste_and_injects_what_it_shows() {
    let mut c = Console::start(&["--demo"]);
    c.wait_for("carts-db", T);
    c.press("j"); // carts
    c.press("\r");
    c.wait_for("Pick a fault for sock-shop/carts", T);
    for _ in 0..10 {
        if c.screen().contains("▶ network-latency") {
            break;
        }
        c.press("j");
    }
    c.wait_for("▶ network-latency", T);
    c.press("\r");
    c.wait_for("network-latency on sock-shop/carts: its values", T);
    c.wait_for("adds 300ms (±30ms) latency", T);
    c.press("\t"); // latency_ms
    for k in ["9", "9", "9", "9", "9"] {
        c.press(k);
    }
    c.wait_for("above its maximum 10000ms", T);
    c.press("\r");
    c.wait_for("not yet:", T);
    // A stray q is a character here: the session goes on.
    c.press("q");
    c.wait_for("not '99999q'", T);
    for _ in 0..6 {
        c.press("\x7f");
    }
    c.paste("450\n");
    c.wait_for("adds 450ms (±30ms) latency", T);
    c.press("\r");
    c.wait_for("[ Cancel ]", T);
    c.press("\t");
    c.press("\r");
    c.wait_for("FAULT LIVE #1 network-latency → sock-shop/carts", T);
    c.press(" ");
    c.wait_reverted(1, T);
    c.press("q");
    assert_eq!(c.wait_exit(T), 0);
    let entries = journal_entries(&c.journal());
    let injected = entries.iter().find(|e| e["kind"] == "inject_requested").unwrap();
    assert_eq!(injected["params"]["latency_ms"], 450);
    assert!(injected["blast_radius"].as_str().unwrap().contains("adds 450ms"), "{injected}");
}
