//! `update(state, event, now) -> effects`: the one place state changes. Pure: no I/O, no
//! clock reads (time comes in as `now`), no async.
//!
//! Each event goes to the machine it is for (`route`); a machine's transition returns an
//! outcome, and `react` passes it to the machines that care. This is the only place machines
//! meet: none of them calls another. Keys and commands are routed in `keys` and `commands`.

mod commands;
mod keys;

use super::book::Level;
use super::cluster::ClusterNews;
use super::drill::{self, DrillOutcome};
use super::event::{Effect, Event};
use super::fault::{FaultOutcome, FaultPlan};
use super::picture::PictureNews;
use super::quit::QuitOutcome;
use super::screen::Overlay;
use super::sheet::{SheetOutcome, SheetView};
use super::state::AppState;
use super::steady::SteadyOutcome;
use crate::model::TopologyDelta;
use crate::timeline::{EntryKind, Stamp};

/// The steady state's view of the picture and the fault, borrowing only those fields.
macro_rules! steady_view {
    ($s:expr) => {
        crate::app::steady::SteadyView::of(&$s.picture, &$s.fault, $s.book.t_ms())
    };
}
pub(crate) use steady_view;

/// The planner, borrowing only the presets, the picture and the session.
macro_rules! planner {
    ($s:expr) => {
        crate::app::planning::Planner {
            presets: &$s.presets,
            topology: &$s.picture.topology,
            pod_word: &$s.session.backend.pod_word,
        }
    };
}

pub fn update(s: &mut AppState, event: Event, now: Stamp) -> Vec<Effect> {
    s.book.now = now;
    if !s.quit.exited {
        route(s, event);
    }
    s.book.take_effects()
}

/// What one machine's transition means to the others.
#[derive(Debug)]
pub(crate) enum Outcome {
    Fault(FaultOutcome),
    Steady(Option<SteadyOutcome>),
    Sheet(Vec<SheetOutcome>),
    Drill(Option<DrillOutcome>),
    Cluster(ClusterNews),
    Picture(PictureNews),
    Quit(QuitOutcome),
}

fn route(s: &mut AppState, event: Event) {
    match event {
        Event::Key(key) => keys::on_key(s, key),
        Event::Paste(text) => keys::on_paste(s, &text),
        Event::Resize { width, height } => s.ui.size = (width, height),
        Event::Tick => tick(s),
        Event::Backend(delta) => on_delta(s, delta),
        Event::Prepared { fault, result, fixed_end } => {
            let o = s.fault.on_prepared(fault, result.map(|h| (h, fixed_end)), &mut s.book);
            react(s, Outcome::Fault(o));
        }
        Event::Previewed { spec, result } => s.fault.on_previewed(&spec, result, s.book.t_ms()),
        Event::Injected { fault, result } => {
            let o = s.fault.on_injected(fault, result, &mut s.book);
            react(s, Outcome::Fault(o));
        }
        Event::Reverted { fault, attempt, result } => {
            let give_up = s.quit.past_deadline(s.book.t_ms());
            let o = s.fault.on_reverted(fault, attempt, result, give_up, &mut s.book);
            if give_up && matches!(o, FaultOutcome::Settled { reverted: false, .. }) {
                let reason = format!("{}; revert of fault #{fault} NOT confirmed", s.quit.reason());
                return s.quit.finish(reason, &mut s.book);
            }
            react(s, Outcome::Fault(o));
        }
        Event::NotApplied { fault, why } => {
            let o = s.fault.on_not_applied(fault, why, &mut s.book);
            react(s, Outcome::Fault(o));
        }
        Event::Exported { path, result } => match result {
            Ok(()) => {
                s.book.record(EntryKind::ReportExported { path: path.display().to_string() });
                s.book.say(Level::Info, format!("report written to {}", path.display()));
            }
            Err(e) => s.book.say(Level::Error, format!("report NOT written to {}: {e}", path.display())),
        },
        Event::Signal(name) => quit(s, &name),
        Event::Suspend => keys::suspend(s, "SIGTSTP"),
        Event::Continued => {
            // Running again after a stop (Ctrl-Z, SIGSTOP; a closed terminal sends it too):
            // whatever came due meanwhile is due now.
            if std::mem::take(&mut s.ui.suspended) {
                s.book.record(EntryKind::Console { message: "running again (SIGCONT)".into(), warning: false });
            }
            tick(s);
        }
        Event::Journal { durable_seq, error } => on_journal(s, durable_seq, error),
        Event::Leftovers { found, skipped } => {
            for why in skipped {
                let message = format!("{why}: a fault left there by an earlier session would not be found");
                s.book.record(EntryKind::Cluster { object: "leftover search".into(), message, warning: true });
            }
            let held = s.cluster.holder.as_ref().map(|h| (h.holder.session.clone(), h.holder.fault));
            let held = held.as_ref().map(|(session, fault)| (session.as_str(), *fault));
            if s.cleanup.on_found(found, held, &mut s.book) > 0 {
                s.ui.overlay = Overlay::Leftovers { revert: true };
            }
        }
        Event::CleanedUp { index, attempt, result } => s.cleanup.on_cleaned(index, attempt, result, &mut s.book),
        Event::Probe(outcome) => {
            let view = steady_view!(s);
            let o = s.steady.on_outcome(outcome, &view, &mut s.book);
            react(s, Outcome::Steady(o));
            steady_changed(s);
        }
        Event::DrillServed(served) => {
            drill::served(&served, &mut s.book);
            s.cluster.served = Some(served);
        }
        Event::Peer { from, entries } => match s.drill.as_mut() {
            Some(r) => r.on_facilitator(entries, &s.picture.topology, &s.session.id, &mut s.book),
            None => {
                for e in entries {
                    let live = s.fault.live().is_some();
                    let o = drill::import(&from, e, &s.session.id, live, &mut s.book);
                    react(s, Outcome::Drill(o));
                }
            }
        },
        Event::StopAsked { result } => s.cluster.on_stop_asked(result, &mut s.book),
        Event::TookOver { holder, why, result } => s.cluster.on_took_over(holder, why, result, &mut s.book),
        Event::LockLost { by } => s.cluster.on_lock_lost(&by, &mut s.book),
        Event::Channel { message, warning } => {
            s.book.record(EntryKind::Cluster { object: "drill channel".into(), message, warning })
        }
        Event::NotAnnounced { fault, error } => {
            s.book.record(EntryKind::Cluster { object: format!("fault #{fault}"), message: error, warning: true })
        }
    }
}

/// A tick (or SIGCONT) long after the last one: the console did not run in between (SIGSTOP,
/// Ctrl-Z, a laptop asleep). Said once, before whatever came due meanwhile is done.
const STOPPED_AFTER_MS: u64 = 3_000;

fn noticed_stop(s: &mut AppState) {
    let now = s.book.t_ms();
    let last = s.ui.last_tick_ms.replace(now);
    let Some(from_ms) = last.filter(|last| now > last + STOPPED_AFTER_MS) else { return };
    // The active fault whose deadline passed meanwhile (its revert comes late).
    let (fault, due_ms) = match &s.fault.phase {
        super::fault::FaultPhase::Active { fault } if fault.deadline_ms.is_some_and(|d| d < now) => {
            (Some(fault.id), fault.deadline_ms)
        }
        _ => (None, None),
    };
    s.book.record(EntryKind::ConsoleStopped { from_ms, for_ms: now - from_ms, fault, due_ms });
}

/// The clock: windows that end, deadlines that pass, readings of the probes derived from the
/// picture, owners of the cluster lock gone silent.
fn tick(s: &mut AppState) {
    noticed_stop(s);
    s.fault.on_tick(&mut s.book);
    let o = s.quit.on_tick(s.fault.live().is_some(), s.book.t_ms());
    react(s, Outcome::Quit(o));
    if s.quit.exited {
        return;
    }
    let view = steady_view!(s);
    let o = s.steady.on_tick(&view, &mut s.book);
    react(s, Outcome::Steady(o));
    let view = sheet_view(s);
    if let Some(sheet) = s.sheet.as_mut() {
        let o = sheet.on_tick(&view, &mut s.book);
        react(s, Outcome::Sheet(o));
    }
    let own = (s.session.id.clone(), s.fault.live().map(|f| f.id));
    s.cluster.on_tick((&own.0, own.1), &mut s.book);
}

fn sheet_view(s: &AppState) -> SheetView {
    SheetView {
        fault_idle: matches!(s.fault.phase, super::fault::FaultPhase::Idle),
        quitting: s.quit.quitting.is_some(),
        unread: s.steady.unread(),
        unsteady: s.steady.unsteady(&s.steady_view()).is_some(),
    }
}

/// A service's health changed: the steady state is judged on it now, not at the next tick.
fn health_moved(s: &mut AppState) {
    let view = steady_view!(s);
    let o = s.steady.on_picture(&view, &mut s.book);
    react(s, Outcome::Steady(o));
}

/// Steady state may have changed: a sheet walked by itself may inject now.
fn steady_changed(s: &mut AppState) {
    if s.quit.exited {
        return;
    }
    let view = sheet_view(s);
    if let Some(sheet) = s.sheet.as_mut() {
        let o = sheet.on_steady(&view, &mut s.book);
        react(s, Outcome::Sheet(o));
    }
}

fn on_delta(s: &mut AppState, delta: TopologyDelta) {
    match delta {
        TopologyDelta::Reachable { service, addr } => s.steady.on_reachable(service, addr, &mut s.book),
        TopologyDelta::FaultLapsed { session, fault, why } => s.fault.on_lapsed(&session, fault, why, &mut s.book),
        TopologyDelta::FaultRunsOn { session, fault, within_ms, why } => {
            s.fault.on_runs_on(&session, fault, within_ms, why, &mut s.book)
        }
        TopologyDelta::FaultFinished { session, fault, how } => s.fault.on_finished(&session, fault, how, &mut s.book),
        // A responder injects nothing and takes no lock, and must not learn of a fault through
        // it: who holds the cluster, with what, is not for their console.
        TopologyDelta::Holder(_) if s.drill.is_some() => s.cluster.forget_holder(),
        TopologyDelta::Holder(holder) => {
            let own = (s.session.id.clone(), s.fault.live().map(|f| f.id));
            let news = s.cluster.on_holder(holder, (&own.0, own.1), &mut s.book);
            react(s, Outcome::Cluster(news));
        }
        TopologyDelta::Watchdog(renewed) => s.cluster.on_watchdog(renewed, s.book.t_ms()),
        TopologyDelta::Capability { action, support } => {
            for p in s.presets.iter_mut().filter(|p| p.preset.action == action) {
                p.support = support.clone();
            }
        }
        other => {
            let news = s.picture.on_delta(other, s.drill.is_some(), &mut s.book);
            react(s, Outcome::Picture(news));
            // The picture's health is the default steady state.
            steady_changed(s);
        }
    }
}

/// The journal writer's news: writes fail (say so for good, refuse new faults) or work again.
fn on_journal(s: &mut AppState, durable_seq: u64, error: Option<String>) {
    let was = s.journal.error.clone();
    s.journal.durable_seq = durable_seq;
    match (was, error) {
        (None, Some(e)) => {
            s.journal.since_ms = s.book.t_ms();
            s.journal.error = Some(e.clone());
            s.book.say(Level::Error, format!("JOURNAL NOT WRITABLE: {e}"));
            // Held in memory and written once the journal takes entries again.
            s.book.record(EntryKind::Console {
                message: format!("the journal could not be written: {e}"),
                warning: true,
            });
        }
        (Some(_), Some(e)) => s.journal.error = Some(e),
        (Some(_), None) => {
            s.journal.error = None;
            let held = crate::timeline::entry::seconds(s.book.t_ms().saturating_sub(s.journal.since_ms));
            let message = format!("the journal is written again; what happened in the {held} it failed is on disk now");
            s.book.say(Level::Info, message.clone());
            s.book.record(EntryKind::Console { message, warning: false });
        }
        (None, None) => {}
    }
}

/// The services a fault's plan touches (`namespace/workload`): its workload, or the workloads
/// of the pods it hits.
fn touched(plan: &crate::app::fault::FaultPlan, topology: &crate::model::Topology) -> Vec<String> {
    if let crate::model::Target::Workload { namespace, name } = &plan.target {
        return vec![format!("{namespace}/{name}")];
    }
    let mut services: Vec<String> = plan
        .pods
        .iter()
        .filter_map(|p| {
            let w = topology.pod(&p.namespace, &p.name)?.workload.clone()?;
            Some(format!("{}/{w}", p.namespace))
        })
        .collect();
    services.sort();
    services.dedup();
    services
}

/// Passes an outcome to the machines that care: the only place machines meet.
pub(crate) fn react(s: &mut AppState, outcome: Outcome) {
    match outcome {
        Outcome::Fault(o) => match o {
            FaultOutcome::Nothing | FaultOutcome::Refused | FaultOutcome::NothingToAbort => {}
            FaultOutcome::Armed => s.ui.overlay = Overlay::None,
            FaultOutcome::Requested { id } => {
                s.steady.follow(id);
                if let Some(sheet) = s.sheet.as_mut() {
                    sheet.on_requested(id);
                }
            }
            FaultOutcome::Active { id } => {
                s.steady.on_active(id, s.book.t_ms());
                let services = s.fault.live().map(|f| touched(&f.plan, &s.picture.topology)).unwrap_or_default();
                s.picture.start_chart(id, services, &mut s.book);
            }
            FaultOutcome::Settled { id, reverted } => {
                s.picture.settle_chart(id, s.book.t_ms());
                if reverted {
                    s.steady.on_reverted(id, s.book.t_ms());
                }
                s.quit.finish_if_asked(s.fault.live().is_some(), &mut s.book);
                if s.quit.exited {
                    return;
                }
                if let Some(sheet) = s.sheet.as_mut() {
                    let o = sheet.on_settled(id, &mut s.book);
                    react(s, Outcome::Sheet(o));
                }
                steady_changed(s);
            }
        },
        Outcome::Steady(None) => {}
        Outcome::Steady(Some(SteadyOutcome::StopTripped { by, message })) => {
            abort(s, &by);
            s.book.say(Level::Error, message);
        }
        Outcome::Steady(Some(SteadyOutcome::Recovered { fault })) => {
            if let Some(sheet) = s.sheet.as_mut() {
                let o = sheet.on_recovered(fault, &mut s.book);
                react(s, Outcome::Sheet(o));
            }
        }
        Outcome::Sheet(outcomes) => {
            for o in outcomes {
                if s.quit.exited {
                    return;
                }
                sheet_asks(s, o);
            }
        }
        Outcome::Drill(None) => {}
        Outcome::Drill(Some(DrillOutcome::EmergencyStop { responder })) => {
            abort(s, &format!("responder {responder}"));
            s.book.say(Level::Warning, format!("responder {responder} pulled the EMERGENCY STOP"));
        }
        Outcome::Cluster(news) => {
            if let Some(by) = news.stop {
                abort(s, &by);
            }
            if let Some((session, fault)) = news.owner {
                s.cleanup.forget(&session, fault);
            }
        }
        Outcome::Picture(PictureNews::Nothing) => {}
        Outcome::Picture(PictureNews::Pictured) => {
            check_targets(s);
            health_moved(s);
        }
        Outcome::Picture(PictureNews::HealthChanged) => health_moved(s),
        Outcome::Quit(QuitOutcome::Nothing) => {}
        Outcome::Quit(QuitOutcome::AbortFirst { by }) => {
            abort(s, &by);
            s.book.say(Level::Warning, format!("quitting ({by}): reverting the active fault first…"));
        }
        Outcome::Quit(QuitOutcome::GiveUp) => {
            if let Some(id) = s.fault.give_up(&mut s.book) {
                let reason = format!("{}; revert of fault #{id} NOT confirmed", s.quit.reason());
                s.quit.finish(reason, &mut s.book);
            }
        }
    }
}

/// What the run-sheet asks of the others.
fn sheet_asks(s: &mut AppState, o: SheetOutcome) {
    match o {
        SheetOutcome::StepStarted { expectation, stops } => {
            s.steady.set_expectation(Some(expectation));
            s.steady.set_stops(stops, &mut s.book);
            // Steady state is judged on readings: the probes derived from the picture are read
            // now; one that reaches out is waited for (its reading is an event).
            if s.steady.unread() {
                let view = steady_view!(s);
                let o = s.steady.on_tick(&view, &mut s.book);
                react(s, Outcome::Steady(o));
            }
            steady_changed(s);
        }
        SheetOutcome::StepEnded { stops } => {
            s.steady.set_expectation(None);
            s.steady.set_stops(stops, &mut s.book);
        }
        SheetOutcome::Inject { step } => {
            let planned = sheet_plan(s, step);
            let o = match planned {
                Ok(plan) => {
                    let before = s.steady.before(&s.steady_view());
                    let gate = s.gate();
                    let o = s.fault.inject(plan, &gate, before, &mut s.book);
                    let id = match &o {
                        FaultOutcome::Requested { id } => Some(*id),
                        _ => None,
                    };
                    react(s, Outcome::Fault(o));
                    s.sheet.as_mut().map(|sheet| sheet.injected(step, id, &mut s.book))
                }
                Err(e) => s.sheet.as_mut().map(|sheet| sheet.failed(step, e, &mut s.book)),
            };
            react(s, Outcome::Sheet(o.unwrap_or_default()));
        }
        SheetOutcome::Arm { step } => match sheet_plan(s, step) {
            Ok(plan) => arm(s, plan),
            Err(e) => {
                let o = s.sheet.as_mut().map(|sheet| sheet.failed(step, e, &mut s.book)).unwrap_or_default();
                react(s, Outcome::Sheet(o));
            }
        },
        SheetOutcome::DropConfirmation => s.fault.drop_confirmation(),
        SheetOutcome::Quit { reason } => quit(s, &reason),
    }
}

/// Step `step`'s fault, planned against the picture now.
fn sheet_plan(s: &AppState, step: usize) -> Result<FaultPlan, String> {
    let sheet = s.sheet.as_ref().ok_or("no run-sheet")?;
    s.planner().step_plan(&sheet.plan.steps[step])
}

/// The first picture of the cluster is in: the run-sheet's targets are checked against it.
pub(crate) fn check_targets(s: &mut AppState) {
    let planner = planner!(s);
    let Some(sheet) = s.sheet.as_mut() else { return };
    let problem = |t: &str| planner.target_problem(t);
    let o = sheet.check_targets(problem, &mut s.book);
    react(s, Outcome::Sheet(o));
}

/// This console's abort, from a key, `:abort`, a stop condition, a responder's emergency stop
/// or another console's. Faults left by earlier sessions are live faults too; with nothing of
/// this console's live, a fault held elsewhere is asked to stop. A drill's responder has no
/// fault of their own: theirs is an emergency stop, which the facilitator's console carries out.
pub(crate) fn abort(s: &mut AppState, by: &str) {
    if let Some(r) = &s.drill {
        return r.mark(crate::timeline::Mark::Stop, &format!("by {by}"), s.picture.lost(), &mut s.book);
    }
    s.ui.clear_for_abort();
    let leftovers = s.cleanup.live() > 0;
    if leftovers {
        s.cleanup.revert_all(&mut s.book);
    }
    match s.fault.abort(by, &mut s.book) {
        FaultOutcome::NothingToAbort if leftovers => {}
        FaultOutcome::NothingToAbort => {
            let own = (s.session.id.clone(), None);
            if !s.cluster.ask_stop((&own.0, own.1), &mut s.book) {
                s.book.say(Level::Info, "nothing to abort: no fault is active");
            }
        }
        o => react(s, Outcome::Fault(o)),
    }
}

/// Shows the confirmation for a plan.
pub(crate) fn arm(s: &mut AppState, plan: FaultPlan) {
    let gate = s.gate();
    let o = s.fault.arm(plan, &gate, &mut s.book);
    if o == FaultOutcome::Refused {
        s.ui.overlay = Overlay::None;
    }
    react(s, Outcome::Fault(o));
}

/// `q`, `:quit`, Ctrl-C and signals: revert the active fault, then leave.
pub(crate) fn quit(s: &mut AppState, by: &str) {
    s.fault.drop_confirmation();
    let o = s.quit.ask(by, s.fault.live().is_some(), &mut s.book);
    react(s, Outcome::Quit(o));
}
