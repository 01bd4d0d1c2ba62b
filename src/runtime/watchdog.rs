//! `gameday watchdog`: a long-running headless process that ends every fault on the system at
//! its deadline with no console alive. It watches the cluster lock: a holder whose renewals
//! stopped for longer than its lease (a dead laptop), or whose fault is past its deadline (after
//! a grace for its own console), is taken over and its fault reverted by its markers, exactly as
//! a console on the cluster would (`reaper`). It also keeps the marked faults in view (watched on
//! Kubernetes, searched every few seconds on Docker) and checks their deadlines every second: a
//! marked fault past its deadline that no live holder owns (a console killed between its revert
//! and its release, a Docker engine without a lock) is reverted too. It renews its own
//! heartbeat on the lock, so consoles say truthfully that a fault ends at its deadline, logs
//! each action as a line, and stops cleanly on SIGTERM or Ctrl-C (an action under way is
//! finished first; its heartbeat is taken away).
//!
//! What it decides is a pure function of what it saw and when (`Watch`), tested without a
//! cluster; `run` feeds it.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::app::cluster::{Seen, OVERDUE_GRACE_S, TRY_AGAIN_MS};
use crate::backend::lock::ClusterLock;
use crate::backend::Backend;
use crate::model::{Holder, RENEW_EVERY};
use crate::model::{Leftover, TopologyDelta};

/// How often the markers are searched for overdue faults.
pub const SCAN_EVERY: Duration = Duration::from_secs(5);
/// How often drill channels past their expiry (their console died) are looked for.
pub const EXPIRE_EVERY: Duration = Duration::from_secs(300);

/// What the watchdog has seen, on its own clock (milliseconds since it started).
#[derive(Debug, Default)]
pub struct Watch {
    holder: Option<Seen>,
    /// (session, fault) → when it may be tried again, after a try.
    tried: BTreeMap<(String, u64), u64>,
}

impl Watch {
    /// The lock's watch saw it change (`None`: free). A holder is timed from when it was last
    /// seen changing, never by comparing its clock with ours.
    pub fn on_holder(&mut self, holder: Option<Holder>, now_ms: u64) {
        self.holder = holder.map(|h| Seen::after(self.holder.take(), h, now_ms));
    }

    fn may_try(&self, key: &(String, u64), now_ms: u64) -> bool {
        self.tried.get(key).is_none_or(|next| now_ms >= *next)
    }

    fn mark_tried(&mut self, key: (String, u64), now_ms: u64) {
        self.tried.insert(key, now_ms + TRY_AGAIN_MS);
    }

    /// The holder to take over now, and why: silent past its lease, or past its deadline and
    /// its grace. Once said, it is not said again before `TRY_AGAIN_MS`.
    pub fn take_over_due(&mut self, now_ms: u64, now_unix: i64) -> Option<(Holder, String)> {
        let seen = self.holder.as_ref()?;
        let key = (seen.holder.session.clone(), seen.holder.fault);
        if !self.may_try(&key, now_ms) {
            return None;
        }
        // Fault 0 is someone reverting another's fault: it gives the lock back when done, and
        // is taken over only if it goes silent.
        let why = seen.due(now_ms, now_unix).filter(|_| seen.holder.fault != 0 || seen.lapsed(now_ms))?;
        let holder = seen.holder.clone();
        self.mark_tried(key, now_ms);
        Some((holder, why))
    }

    /// The faults found by their markers that are past their deadline and its grace, that no
    /// holder of the lock owns (a holder's fault is the lock's business: `take_over_due`), each
    /// once per `TRY_AGAIN_MS`, with why.
    pub fn overdue_markers(&mut self, found: &[Leftover], now_ms: u64, now_unix: i64) -> Vec<(Leftover, String)> {
        let mut out = Vec::new();
        for l in found {
            let key = (l.session.clone(), l.fault_id);
            let held =
                self.holder.as_ref().is_some_and(|s| s.holder.session == l.session && s.holder.fault == l.fault_id);
            let Some(deadline) = l.deadline else { continue };
            if held || now_unix <= deadline + OVERDUE_GRACE_S || !self.may_try(&key, now_ms) {
                continue;
            }
            let late = now_unix - deadline;
            let why = match &l.ended {
                Some(how) => format!("it ended by itself ({how}); tidying up what is left of it"),
                None => format!("its deadline passed {late} s ago and no console owns it"),
            };
            self.mark_tried(key, now_ms);
            out.push((l.clone(), why));
        }
        out
    }
}

/// Runs the watchdog until `stop` resolves; `log` takes each line it has to say.
pub async fn run(
    backend: Arc<dyn Backend>,
    who: &str,
    stop: impl Future<Output = String>,
    log: impl Fn(&str),
) -> Result<(), String> {
    let info = backend.info();
    let lock = backend.lock();
    let started = tokio::time::Instant::now();
    let now_ms = || started.elapsed().as_millis() as u64;
    let (tx, mut rx) = mpsc::unbounded_channel::<TopologyDelta>();
    match &lock {
        Some(l) => {
            l.watch(tx);
            log(&format!(
                "watching {} ({}): faults whose console went silent, and faults past their deadline, are reverted",
                info.cluster,
                l.describe()
            ));
        }
        None => log(&format!(
            "watching {}: faults past their deadline are reverted (this backend has no cluster lock: no heartbeat)",
            info.cluster
        )),
    }
    let heartbeat = lock.clone().map(|l| tokio::spawn(heartbeat(l, who.to_string())));
    let me = |from: &Holder| crate::runtime::revert::reaper(who, "watchdog", from);
    let mut watch = Watch::default();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut scan = tokio::time::interval(SCAN_EVERY);
    let mut said_scan_error = None::<String>;
    let channel = backend.drill_channel();
    let mut expire = tokio::time::interval(EXPIRE_EVERY);
    // The marked faults, kept current by watching where the backend can (no LIST every few
    // seconds), else by searching every `SCAN_EVERY`.
    let (marked_tx, mut marked) = mpsc::unbounded_channel::<crate::backend::Search>();
    let watching = backend.watch_markers(marked_tx);
    let mut found: Option<Vec<Leftover>> = None;
    tokio::pin!(stop);
    let why = loop {
        tokio::select! {
            why = &mut stop => break why,
            Some(delta) = rx.recv() => match delta {
                TopologyDelta::Holder(h) => {
                    if let Some(h) = &h {
                        if watch.holder.as_ref().is_none_or(|s| (s.holder.session.as_str(), s.holder.fault) != (h.session.as_str(), h.fault)) {
                            log(&format!("{} (deadline {})", h.describe(), unix(h.deadline)));
                        }
                    }
                    watch.on_holder(h, now_ms());
                }
                TopologyDelta::ClusterEvent { message, .. } => log(&message),
                _ => {}
            },
            _ = tick.tick() => {
                if let Some(l) = &lock {
                    if let Some((from, why)) = watch.take_over_due(now_ms(), chrono::Utc::now().timestamp()) {
                        log(&format!("taking over {}: {why}", from.describe()));
                        match crate::runtime::revert::take_over(backend.as_ref(), l.as_ref(), &me(&from), &from).await {
                            Ok(done) if done.is_empty() => log(&format!("took over session {} fault #{}: no marker of it was left", from.session, from.fault)),
                            Ok(done) => for d in done { log(&format!("reverted {d}")) },
                            Err(e) => log(&format!("could not take over session {} fault #{}: {e}; trying again", from.session, from.fault)),
                        }
                    }
                }
                // The deadlines of what the markers hold, against this second: no request.
                let Some(held) = &found else { continue };
                for (l, why) in watch.overdue_markers(held, now_ms(), chrono::Utc::now().timestamp()) {
                    log(&format!("reverting session {} fault #{} ({}): {why}", l.session, l.fault_id, l.what));
                    let by = format!("{who} (gameday watchdog: {why})");
                    match crate::runtime::revert::revert_markers(backend.as_ref(), &l.session, l.fault_id, &by, None).await {
                        Ok(done) => for d in done { log(&format!("reverted {d}")) },
                        Err(e) => log(&format!("could not revert session {} fault #{}: {e}; trying again", l.session, l.fault_id)),
                    }
                }
            }
            _ = expire.tick(), if channel.is_some() => {
                let Some(c) = &channel else { continue };
                match c.expired(None, true).await {
                    Ok(gone) => for g in gone { log(&format!("deleted a drill channel past its expiry: {g}")) },
                    Err(e) => log(&format!("could not look for expired drill channels: {e}")),
                }
            }
            Some(search) = marked.recv(), if watching => {
                for skipped in &search.skipped {
                    if said_scan_error.as_deref() != Some(skipped.as_str()) {
                        log(&format!("warning: {skipped}"));
                        said_scan_error = Some(skipped.clone());
                    }
                }
                found = Some(search.found);
            }
            _ = scan.tick(), if !watching => {
                match backend.search().await {
                    Ok(s) => {
                        for skipped in &s.skipped {
                            if said_scan_error.as_deref() != Some(skipped.as_str()) {
                                log(&format!("warning: {skipped}"));
                                said_scan_error = Some(skipped.clone());
                            }
                        }
                        found = Some(s.found);
                    }
                    Err(e) => {
                        let e = format!("could not search for markers: {e}");
                        if said_scan_error.as_deref() != Some(e.as_str()) {
                            log(&e);
                            said_scan_error = Some(e);
                        }
                    }
                }
            }
        }
    };
    log(&format!("stopping ({why})"));
    if let Some(h) = heartbeat {
        h.abort();
    }
    if let Some(l) = &lock {
        if let Err(e) = l.watchdog_gone(who).await {
            log(&format!("could not take the watchdog's heartbeat away: {e} (it lapses by itself)"));
        }
    }
    Ok(())
}

/// Renews the watchdog's heartbeat on the lock every `RENEW_EVERY` (its own task: a revert
/// under way never lets it lapse).
async fn heartbeat(lock: Arc<dyn ClusterLock>, who: String) {
    let mut said = None::<String>;
    loop {
        match lock.watchdog_heartbeat(&who).await {
            Ok(()) => said = None,
            Err(e) => {
                let e = e.to_string();
                if said.as_deref() != Some(e.as_str()) {
                    crate::errln!("{} watchdog: its heartbeat could not be renewed: {e}", stamp());
                    said = Some(e);
                }
            }
        }
        tokio::time::sleep(RENEW_EVERY).await;
    }
}

fn unix(t: i64) -> String {
    match chrono::DateTime::from_timestamp(t, 0) {
        Some(t) if t.timestamp() > 0 => t.format("%H:%M:%S UTC").to_string(),
        _ => "unknown".into(),
    }
}

/// The time a log line starts with.
pub fn stamp() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Resolves on SIGTERM, SIGINT or SIGHUP, saying which.
pub async fn signalled() -> String {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int), Ok(mut hup)) =
        (signal(SignalKind::terminate()), signal(SignalKind::interrupt()), signal(SignalKind::hangup()))
    else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => "SIGTERM".into(),
        _ = int.recv() => "SIGINT".into(),
        _ = hup.recv() => "SIGHUP".into(),
    }
}
