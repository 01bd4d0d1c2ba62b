//! The report of a long session: 1,000 to 16,000 faults, each with its health changes and a
//! reading a second through its window, rendered from the entries (`gameday report`'s work
//! after the journal is read). Prints the time per size and per fault: it must grow linearly.
//! Run with `cargo bench --bench report`.

use std::time::Instant;

use chrono::{TimeZone, Utc};
use gameday::model::{RevertHandle, Target};
use gameday::timeline::entry::{EndReason, Entry, EntryKind, Health};
use gameday::timeline::ServiceReading;

fn session(faults: u64) -> Vec<Entry> {
    let start = Utc.with_ymd_and_hms(2026, 12, 7, 10, 0, 0).unwrap();
    let mut out = Vec::new();
    let mut push = |t_ms: u64, kind: EntryKind| {
        let seq = out.len() as u64 + 1;
        out.push(Entry { seq, wall: start + chrono::Duration::milliseconds(t_ms as i64), t_ms, kind });
    };
    push(
        0,
        EntryKind::SessionStart {
            session: "bench".into(),
            backend: gameday::model::BackendInfo { kind: "demo".into(), cluster: "c".into(), pod_word: "pod".into() },
            version: "bench".into(),
        },
    );
    let handle =
        |id: u64| RevertHandle { fault_id: id, summary: "paused carts-db".into(), data: serde_json::Value::Null };
    for id in 1..=faults {
        let t = id * 60_000;
        push(
            t,
            EntryKind::InjectRequested {
                fault: id,
                preset: "container-pause".into(),
                action: "container-pause".into(),
                target: Target::Workload { namespace: "sock-shop".into(), name: "carts-db".into() },
                params: Default::default(),
                mode: None,
                duration_ms: 20_000,
                blast_radius: "pauses carts-db".into(),
                hypothesis: "callers fail fast".into(),
            },
        );
        push(t, EntryKind::InjectStarted { fault: id, handle: handle(id) });
        push(t + 1, EntryKind::InjectConfirmed { fault: id, handle: handle(id) });
        push(
            t + 2000,
            EntryKind::HealthChanged {
                service: "sock-shop/carts".into(),
                from: Health::Healthy,
                to: Health::Down,
                reading: "success 0.0%".into(),
            },
        );
        for s in 0..50 {
            let down = s < 20;
            let reading = |service: &str| ServiceReading {
                service: service.into(),
                success: Some(if down { 0.0 } else { 1.0 }),
                p95_ms: Some(if down { 1000.0 } else { 20.0 }),
                rps: Some(50.0),
                ..Default::default()
            };
            let services = vec![reading("sock-shop/carts-db"), reading("sock-shop/carts")];
            push(t + 1 + s * 1000, EntryKind::Readings { fault: id, services });
        }
        push(t + 20_001, EntryKind::FaultEnding { fault: id, reason: EndReason::Expired });
        push(t + 20_001, EntryKind::RevertStarted { fault: id, attempt: 1 });
        push(t + 20_010, EntryKind::RevertConfirmed { fault: id, attempt: 1, kept: Vec::new() });
        push(
            t + 22_000,
            EntryKind::HealthChanged {
                service: "sock-shop/carts".into(),
                from: Health::Down,
                to: Health::Healthy,
                reading: "success 100.0%".into(),
            },
        );
    }
    out
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    println!("The report of a long session (render only, the entries in memory):");
    for faults in [1_000u64, 4_000, 16_000] {
        let entries = session(faults);
        let t0 = Instant::now();
        let md = gameday::timeline::report::render(&entries);
        let took = t0.elapsed().as_secs_f64();
        println!(
            "  {faults:>6} faults ({:>7} entries, {:>5.1} MB of Markdown)   {:>7.2} s   {:>6.1} µs a fault",
            entries.len(),
            md.len() as f64 / 1e6,
            took,
            took * 1e6 / faults as f64
        );
    }
}
