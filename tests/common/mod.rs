//! Helpers shared by the integration tests: a demo state built without any I/O.
#![allow(dead_code)]

pub mod apiserver;
pub mod docker;
pub mod fake;
pub mod http_service;
pub mod kube;
pub mod laptops;
pub mod mesh;
pub mod prometheus;
pub mod pty;
pub mod rbac;

use std::path::PathBuf;

use chrono::{DateTime, TimeZone, Utc};
use gameday::app::state::{PresetEntry, Session};
use gameday::app::{update, AppState, Effect, Event};
use gameday::backend::sim::SimCluster;
use gameday::backend::Backend;
use gameday::model::{BackendInfo, Support, TopologyDelta};
use gameday::timeline::Stamp;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

pub fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 10, 0, 0).unwrap()
}

pub fn at(ms: u64) -> Stamp {
    Stamp::at(start(), ms)
}

pub struct Harness {
    pub s: AppState,
    pub t: u64,
    pub sim: SimCluster,
    /// Delayed effects (revert retries with backoff), due at console time `.0`.
    pub pending: Vec<(u64, Effect)>,
    /// A confirmation's preview is answered at once by the simulated cluster, as the demo's
    /// backend does in a few microseconds (false: the test answers it, or leaves it reading).
    pub instant_previews: bool,
    /// What the backend says ends a prepared fault at its duration (as Docker's or a chaos
    /// engine's would): `None`, as the demo's, lets the console extend it.
    pub fixed_end: Option<String>,
}

pub fn session() -> Session {
    Session {
        id: "20261122-100000-test".into(),
        backend: BackendInfo {
            kind: "demo".into(),
            cluster: "sock-shop (simulated, 3 nodes)".into(),
            pod_word: "pod".into(),
        },
        journal: PathBuf::from("/tmp/gameday-test/session.jsonl"),
        report: PathBuf::from("/tmp/gameday-test/session.md"),
        version: "test".into(),
        home: None,
        user: "ana".into(),
        host: "laptop-a".into(),
    }
}

impl Harness {
    /// A session on the demo cluster, every preset supported, with one traffic sample in.
    pub fn demo() -> Harness {
        Self::with_support(|_| Support::Yes)
    }

    pub fn with_support(support: impl Fn(&str) -> Support) -> Harness {
        let presets = gameday::config::preset::load_presets(None)
            .unwrap()
            .into_iter()
            .map(|p| PresetEntry { support: support(&p.action), preset: p })
            .collect();
        let themes = gameday::config::theme::load_themes(None).unwrap();
        let theme = themes["default"].clone();
        let (s, _) = AppState::new(session(), presets, themes, theme, at(0));
        let sim = SimCluster::new(42);
        let snapshot = sim.topology();
        let mut h = Harness { s, t: 0, sim, pending: Vec::new(), instant_previews: true, fixed_end: None };
        h.send(Event::Backend(TopologyDelta::Snapshot(snapshot)));
        h.pump();
        h
    }

    pub fn send(&mut self, ev: Event) -> Vec<Effect> {
        let fx = update(&mut self.s, ev, at(self.t));
        if !self.instant_previews {
            return fx;
        }
        let mut all = fx.clone();
        for e in fx {
            if let Effect::Preview(spec) = e {
                all.extend(self.preview(&spec));
            }
        }
        all
    }

    /// The simulated cluster's prepare answers the confirmation's preview.
    pub fn preview(&mut self, spec: &gameday::model::FaultSpec) -> Vec<Effect> {
        let result = self
            .sim
            .prepare(spec)
            .map(|handle| gameday::model::Prepared {
                handle,
                found: Vec::new(),
                ends_by_itself: Some(gameday::backend::sim::ENDS.into()),
                fixed_end: self.fixed_end.clone(),
            })
            .map_err(|e| e.to_string());
        update(&mut self.s, Event::Previewed { spec: Box::new(spec.clone()), result }, at(self.t))
    }

    /// Forwards whatever the simulated cluster produced since last time.
    pub fn pump(&mut self) -> Vec<Effect> {
        let mut fx = Vec::new();
        for d in self.sim.drain() {
            fx.extend(self.send(Event::Backend(d)));
        }
        fx
    }

    /// Advances cluster and console clocks by `ms` in one-second steps (or up to the next
    /// delayed effect), with ticks, running every effect like the runtime would. Returns every
    /// effect seen.
    pub fn advance(&mut self, ms: u64) -> Vec<Effect> {
        let mut fx = Vec::new();
        let end = self.t + ms;
        while self.t < end {
            let next_due = self.pending.iter().map(|(due, _)| *due).filter(|d| *d > self.t).min();
            // To the next whole second (a tick), or sooner to an effect due or the end: ticks stay
            // on whole seconds even after an effect at an odd time.
            let step_to = ((self.t / 1000 + 1) * 1000).min(end).min(next_due.unwrap_or(u64::MAX));
            let dt = step_to - self.t;
            self.t = step_to;
            self.sim.step(dt);
            let mut now = self.pump();
            if self.t.is_multiple_of(1000) {
                now.extend(self.send(Event::Tick));
            }
            let (due, later): (Vec<_>, Vec<_>) =
                std::mem::take(&mut self.pending).into_iter().partition(|(d, _)| *d <= self.t);
            self.pending = later;
            for (_, e) in due {
                now.extend(self.execute(&e));
            }
            fx.extend(self.run_effects(now));
        }
        fx
    }

    pub fn key(&mut self, code: KeyCode) -> Vec<Effect> {
        self.send(Event::Key(KeyEvent::new(code, KeyModifiers::NONE)))
    }

    pub fn ctrl(&mut self, c: char) -> Vec<Effect> {
        self.send(Event::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)))
    }

    pub fn typed(&mut self, text: &str) -> Vec<Effect> {
        let mut fx = Vec::new();
        for c in text.chars() {
            fx.extend(self.key(KeyCode::Char(c)));
        }
        fx
    }

    /// In the open preset picker, moves to preset `id` (in the order the picker lists them)
    /// and presses Enter.
    pub fn pick(&mut self, id: &str) -> Vec<Effect> {
        let target = match &self.s.ui.overlay {
            gameday::app::state::Overlay::Picker { target, .. } => target.clone(),
            other => panic!("the picker is not open: {other:?}"),
        };
        let idx = self.s.picker_order(target.as_ref()).iter().position(|p| p.preset.id == id).expect("a preset");
        for _ in 0..idx {
            self.key(KeyCode::Down);
        }
        self.key(KeyCode::Enter)
    }

    /// Types `:cmd` and Enter.
    pub fn command(&mut self, cmd: &str) -> Vec<Effect> {
        let mut fx = self.key(KeyCode::Char(':'));
        fx.extend(self.typed(cmd));
        fx.extend(self.key(KeyCode::Enter));
        fx
    }

    /// Walks the run-sheet `toml` as a facilitator would (each step started with `:next`).
    pub fn walk_sheet(&mut self, toml: &str) {
        let plan = gameday::config::runsheet::RunSheet::parse("plan.toml", toml).expect("a good run-sheet");
        let fx = self.s.load_sheet(plan, false);
        self.run_effects(fx);
    }

    /// Runs the backend effects against the simulated cluster, like the runtime would, and
    /// feeds the results back. A revert with a delay waits in `pending` until `advance` gets
    /// there. Returns every effect seen, each once.
    pub fn run_effects(&mut self, fx: Vec<Effect>) -> Vec<Effect> {
        let mut all = Vec::new();
        let mut queue = fx;
        while !queue.is_empty() {
            let mut next = Vec::new();
            for e in queue {
                match &e {
                    Effect::Revert { delay_ms, .. } if *delay_ms > 0 => {
                        self.pending.push((self.t + delay_ms, e.clone()))
                    }
                    _ => next.extend(self.execute(&e)),
                }
                all.push(e);
            }
            queue = next;
        }
        all
    }

    /// Carries out one backend effect now; returns what the core said to the result.
    fn execute(&mut self, e: &Effect) -> Vec<Effect> {
        let mut next = Vec::new();
        match e {
            Effect::Prepare(spec) => {
                let r = self.sim.prepare(spec).map_err(|e| e.to_string());
                next.extend(self.send(Event::Prepared {
                    fault: spec.fault_id,
                    result: r,
                    fixed_end: self.fixed_end.clone(),
                }));
            }
            Effect::Inject { spec, handle } => {
                let r = self.sim.inject(spec, handle).map_err(|e| e.to_string());
                next.extend(self.pump());
                next.extend(self.send(Event::Injected { fault: spec.fault_id, result: r }));
            }
            Effect::Revert { handle, attempt, .. } => {
                let r = self.sim.revert(handle).map(|()| Vec::new()).map_err(|e| e.to_string());
                next.extend(self.pump());
                next.extend(self.send(Event::Reverted { fault: handle.fault_id, attempt: *attempt, result: r }));
            }
            _ => {}
        }
        next
    }
}

/// A backend that supports only some actions, to show disabled presets.
pub fn support_only(actions: &'static [&'static str]) -> impl Fn(&str) -> Support {
    move |a| {
        if actions.contains(&a) {
            Support::Yes
        } else {
            Support::No(format!("this backend cannot run '{a}'"))
        }
    }
}

pub fn _assert_backend<B: Backend>() {}

/// A small compose-like topology with no traffic samples (as the Docker and Kubernetes
/// backends report it): project `shop`, services web (2) and db (1), on host `docker`.
pub fn compose_topology() -> gameday::model::Topology {
    use gameday::model::{Node, Pod, PodPhase, Workload};
    let mut t = gameday::model::Topology::default();
    for (svc, n) in [("web", 2u32), ("db", 1)] {
        t.upsert_workload(Workload {
            namespace: "shop".into(),
            name: svc.into(),
            kind: "compose service".into(),
            desired: n,
            ready: n,
            note: None,
        });
        for i in 1..=n {
            t.upsert_pod(Pod {
                namespace: "shop".into(),
                name: format!("shop-{svc}-{i}"),
                workload: Some(svc.into()),
                node: Some("docker".into()),
                phase: PodPhase::Running,
                ready: true,
                restarts: 0,
                note: None,
                labels: [("com.docker.compose.service".to_string(), svc.to_string())].into_iter().collect(),
                caveats: Default::default(),
            });
        }
    }
    t.upsert_node(Node { name: "docker".into(), ready: true, unschedulable: false, note: None });
    t
}

/// Two faults an earlier session left, as the journal scan reports them.
pub fn two_leftovers() -> Vec<gameday::model::Leftover> {
    (1..=2)
        .map(|id| gameday::model::Leftover {
            session: "20261120-090000-dead".into(),
            fault_id: id,
            what: format!("container-pause on shop/web (paused shop-web-{id})"),
            handle: gameday::model::RevertHandle {
                fault_id: id,
                summary: format!("paused shop-web-{id}"),
                data: serde_json::Value::Null,
            },
            journal: None,
            found_by: "journal".into(),
            ended: None,
            deadline: None,
        })
        .collect()
}
