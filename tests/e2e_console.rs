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
    c.wait_for("fault #1 reverted (confirmed)", T);
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
