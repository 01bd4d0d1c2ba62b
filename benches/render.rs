//! Frame render and core costs on the demo (criterion): one full frame with a live fault,
//! one watch event through `update`, and the Space key to its revert effect.

mod common;

use chrono::{TimeZone, Utc};
use criterion::{criterion_group, criterion_main, Criterion};
use gameday::app::{update, AppState, Effect, Event};
use gameday::backend::sim::SimCluster;
use gameday::model::TopologyDelta;
use gameday::timeline::Stamp;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;

fn at(ms: u64) -> Stamp {
    Stamp::at(Utc.with_ymd_and_hms(2026, 11, 22, 10, 0, 0).unwrap(), ms)
}

/// The demo after 30 s of traffic with a fault live, as the console would hold it.
fn demo() -> (AppState, SimCluster) {
    let mut s = common::state("demo", "sock-shop", at(0));
    let mut sim = SimCluster::new(42);
    update(&mut s, Event::Backend(TopologyDelta::Snapshot(sim.topology())), at(0));
    let mut t = 0;
    let step = |s: &mut AppState, sim: &mut SimCluster, t: &mut u64| {
        *t += 1000;
        sim.step(1000);
        for d in sim.drain() {
            update(s, Event::Backend(d), at(*t));
        }
    };
    for _ in 0..20 {
        step(&mut s, &mut sim, &mut t);
    }
    for c in ":inject network-latency sock-shop/carts".chars() {
        let code = if c == ':' { KeyCode::Char(':') } else { KeyCode::Char(c) };
        update(&mut s, Event::Key(KeyEvent::new(code, KeyModifiers::NONE)), at(t));
    }
    let mut fx = update(&mut s, Event::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)), at(t));
    while let Some(e) = fx.pop() {
        match e {
            Effect::Prepare(spec) => {
                let r = sim.prepare(&spec).map_err(|e| e.to_string());
                fx.extend(update(&mut s, Event::Prepared { fault: spec.fault_id, result: r, fixed_end: None }, at(t)));
            }
            Effect::Inject { spec, handle } => {
                let r = sim.inject(&spec, &handle).map_err(|e| e.to_string());
                fx.extend(update(&mut s, Event::Injected { fault: spec.fault_id, result: r }, at(t)));
            }
            _ => {}
        }
    }
    for _ in 0..10 {
        step(&mut s, &mut sim, &mut t);
    }
    (s, sim)
}

fn benches(c: &mut Criterion) {
    let (s, mut sim) = demo();
    let mut term = Terminal::new(TestBackend::new(160, 45)).unwrap();
    c.bench_function("render one demo frame (160x45, fault live)", |b| {
        b.iter(|| {
            term.draw(|f| gameday::ui::draw(f, &s)).unwrap();
        });
    });

    let (mut s2, _) = demo();
    sim.step(1000);
    let deltas = sim.drain();
    let pod = deltas.iter().find(|d| matches!(d, TopologyDelta::Samples(_))).cloned().unwrap();
    c.bench_function("update: one traffic sample batch (14 services)", |b| {
        b.iter(|| update(&mut s2, Event::Backend(pod.clone()), at(40_000)));
    });

    c.bench_function("update: Space with a fault live -> revert effect", |b| {
        b.iter_batched(
            || demo().0,
            |mut s| {
                let fx = update(&mut s, Event::Key(KeyEvent::new(KeyCode::Char(' '), KeyModifiers::NONE)), at(40_000));
                assert!(fx.iter().any(|e| matches!(e, Effect::Revert { delay_ms: 0, .. })));
                (s, fx) // dropped outside the timing
            },
            criterion::BatchSize::LargeInput,
        );
    });
}

criterion_group!(render, benches);
criterion_main!(render);
