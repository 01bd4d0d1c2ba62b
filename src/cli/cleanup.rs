//! `gameday cleanup`: finds the faults earlier sessions left behind (their journals and the
//! backend's markers) and, when asked, reverts them, retrying each until it is confirmed or
//! its time is up, and writes that into the journal of the session that left it.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use crate::app::fault::backoff_ms;
use crate::backend::Backend;
use crate::model::Leftover;
use crate::runtime::revert::{reaper, revert_and_record};
use crate::timeline::leftovers;

/// Which leftovers to revert.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Which {
    /// Only list them.
    List,
    All,
    Session(String),
}

/// How long each fault's revert is retried.
pub const PER_FAULT: Duration = Duration::from_secs(30);

/// The leftovers in the journals of `dir` and by the backend's markers, and what could not be
/// read or searched, a sentence each.
pub async fn find(backend: &dyn Backend, dir: &Path) -> anyhow::Result<(Vec<Leftover>, Vec<String>)> {
    if !backend.faults_outlive_process() {
        return Ok((Vec::new(), Vec::new()));
    }
    let info = backend.info();
    let (journal, unreadable) = crate::store::leftovers::in_journals(dir, &info);
    let mut problems: Vec<String> =
        unreadable.into_iter().map(|p| format!("skipped an unreadable journal: {p}")).collect();
    let search = backend.search().await.map_err(|e| anyhow::anyhow!("cannot look for markers: {e}"))?;
    problems.extend(search.skipped);
    let markers = crate::store::leftovers::not_open_here(dir, search.found);
    Ok((leftovers::merge(journal, markers), problems))
}

/// Runs the command, printing as it goes; returns whether everything selected was confirmed
/// reverted.
/// `again` is the command that was run (with its backend flags), for the hint to repeat it.
pub async fn run(backend: Arc<dyn Backend>, dir: &Path, which: Which, again: &str) -> anyhow::Result<bool> {
    // Sessions whose console was killed get their end recorded (a fault still being prepared
    // was never applied; on the demo, what was applied died with the console).
    let info = backend.info();
    let died = !backend.faults_outlive_process();
    for said in crate::store::leftovers::close_dead_sessions(dir, &info, died, "recorded by gameday cleanup") {
        crate::outln!("Recorded in the journal of {said}");
    }
    if died {
        crate::outln!("{} lives inside the console: nothing can be left behind.", info.cluster);
        return Ok(true);
    }
    expired_channels(backend.as_ref(), &which).await;
    let (found, problems) = find(backend.as_ref(), dir).await?;
    for p in &problems {
        crate::errln!("warning: {p}");
    }
    let (ended, selected): (Vec<&Leftover>, Vec<&Leftover>) = found
        .iter()
        .filter(|l| match &which {
            Which::List | Which::All => true,
            Which::Session(id) => l.session == *id,
        })
        .partition(|l| l.ended.is_some());
    // Ended by themselves while no console ran: recorded as expired, not reverted.
    for l in &ended {
        let how = l.ended.as_deref().unwrap_or_default();
        crate::outln!("Session {} fault #{} ({}) ended by itself: {how}.", l.session, l.fault_id, l.what);
        if which != Which::List {
            match revert_and_record(backend.as_ref(), l, 1, "gameday cleanup").await {
                Ok(_) => crate::outln!("  recorded as expired; its helper and marker are removed"),
                Err(e) => crate::errln!("  could not remove its helper and marker: {e}"),
            }
        }
    }
    if selected.is_empty() {
        // Never "nothing" when part of the cluster could not be searched.
        let partly = match problems.len() {
            0 => String::new(),
            n => format!(" in what could be searched ({n} warning(s) above: a fault may hide there)"),
        };
        match &which {
            Which::Session(id) => {
                crate::outln!("Session {id} left no fault behind on {}{partly}.", backend.info().cluster)
            }
            _ => crate::outln!("No fault was left behind on {}{partly}.", backend.info().cluster),
        }
        return Ok(true);
    }
    crate::outln!("Faults left behind on {}:", backend.info().cluster);
    for l in &selected {
        crate::outln!("  session {} fault #{}: {} (found in its {})", l.session, l.fault_id, l.what, l.found_by);
    }
    if which == Which::List {
        let mut sessions: Vec<&str> = selected.iter().map(|l| l.session.as_str()).collect();
        sessions.dedup();
        match sessions.as_slice() {
            [one] => crate::outln!("Revert them with `{again} --session {one}`."),
            many => crate::outln!(
                "Revert them with `{again} --all`, or one session's with `{again} --session {}`.",
                many.first().copied().unwrap_or_default()
            ),
        }
        return Ok(true);
    }
    let mut all_ok = true;
    let lock = backend.lock();
    for l in selected {
        // The fault that holds the cluster lock has an owner: touched only once it is seen to
        // be gone (its renewals stopped for longer than its lease), and then taken over first.
        let mut took = None;
        if let Some(lock) = &lock {
            match owner(lock.as_ref(), l).await {
                Owner::None => {}
                Owner::Alive(h, how) => {
                    crate::outln!(
                        "  NOT touched: session {} fault #{} is held by {}, whose console is alive ({how}). Space in any console asks it to stop.",
                        l.session,
                        l.fault_id,
                        h.who
                    );
                    all_ok = false;
                    continue;
                }
                Owner::Lapsed(h) => {
                    let me = reaper(&format!("gameday-cleanup@{}", crate::store::machine::host_name()), "cleanup", &h);
                    match lock.take_over(&me, &h).await {
                        Ok(()) => {
                            let why = if h.gone { "its console is gone" } else { "its console is silent" };
                            crate::outln!("  took the cluster lock over from {} ({why})", h.who);
                            took = Some(me);
                        }
                        Err(e) => {
                            crate::errln!("  NOT touched: session {} fault #{}: {e}", l.session, l.fault_id);
                            all_ok = false;
                            continue;
                        }
                    }
                }
            }
        }
        let started = Instant::now();
        let mut attempt = 1;
        loop {
            match revert_and_record(backend.as_ref(), l, attempt, "gameday cleanup").await {
                Ok(kept) => {
                    crate::outln!(
                        "  reverted session {} fault #{} (confirmed, attempt {attempt})",
                        l.session,
                        l.fault_id
                    );
                    // The system's own record, as the console and the watchdog keep it; the
                    // revert is done either way.
                    let what = crate::model::Happening {
                        reason: "GamedayFaultReverted",
                        action: "Revert",
                        note: format!(
                            "gameday session {} fault #{} ({}): reverted by gameday-cleanup@{}",
                            l.session,
                            l.fault_id,
                            l.what,
                            crate::store::machine::host_name()
                        ),
                        warning: false,
                    };
                    if let Err(e) = backend.announce(&l.handle, &what).await {
                        crate::errln!("  warning: {e}");
                    }
                    for k in kept {
                        crate::outln!("    {k}");
                    }
                    break;
                }
                Err(e) if started.elapsed() < PER_FAULT => {
                    crate::errln!("  attempt {attempt} failed: {e}; retrying");
                    tokio::time::sleep(Duration::from_millis(backoff_ms(attempt + 1))).await;
                    attempt += 1;
                }
                Err(e) => {
                    crate::errln!("  NOT reverted: session {} fault #{}: {e}", l.session, l.fault_id);
                    all_ok = false;
                    break;
                }
            }
        }
        if let (Some(lock), Some(me)) = (&lock, took) {
            let _ = lock.release(&me.session, me.fault).await;
        }
    }
    Ok(all_ok)
}

/// Drill channels whose console died before its session ended, past their expiry: listed, or
/// deleted when reverting (of the session asked about, or of any with `--all`).
async fn expired_channels(backend: &dyn Backend, which: &Which) {
    let Some(channel) = backend.drill_channel() else { return };
    let session = match which {
        Which::Session(id) => Some(id.as_str()),
        Which::List | Which::All => None,
    };
    let remove = *which != Which::List;
    match channel.expired(session, remove).await {
        Ok(found) if found.is_empty() => {}
        Ok(found) => {
            crate::outln!(
                "{} (their console ended without ending its session):",
                if remove { "Deleted drill channels past their expiry" } else { "Drill channels past their expiry" }
            );
            for f in found {
                crate::outln!("  {f}");
            }
        }
        Err(e) => crate::errln!("warning: could not look for expired drill channels: {e}"),
    }
}

enum Owner {
    /// The lock holds another fault, or none.
    None,
    /// With how that is known.
    Alive(crate::model::Holder, &'static str),
    /// Not renewed for longer than its lease: as it was last seen.
    Lapsed(crate::model::Holder),
}

/// Whether the leftover's fault holds the cluster lock, and if so whether its console is alive:
/// watched for up to its lease (on this machine's clock: another machine's is never trusted).
async fn owner(lock: &dyn crate::backend::lock::ClusterLock, l: &Leftover) -> Owner {
    let held = |h: &crate::model::Holder| h.session == l.session && h.fault == l.fault_id;
    let Ok(Some(first)) = lock.current().await else { return Owner::None };
    if !held(&first) {
        return Owner::None;
    }
    // A lock that is never renewed (Docker's): its owner is alive unless it is known to be gone
    // (its journal on this machine is no longer held) or its deadline and grace have passed.
    if first.lease_seconds == 0 {
        let overdue = first.deadline > 0
            && chrono::Utc::now().timestamp() > first.deadline + crate::app::cluster::OVERDUE_GRACE_S;
        return match first.gone || overdue {
            true => Owner::Lapsed(first),
            false => Owner::Alive(first, "its deadline has not passed, and it is not known to be gone"),
        };
    }
    crate::outln!(
        "  session {} fault #{} holds the cluster lock ({}): watching up to {} s whether its console is alive",
        l.session,
        l.fault_id,
        first.who,
        first.lease_seconds
    );
    let until = Instant::now() + Duration::from_secs(u64::from(first.lease_seconds) + 1);
    while Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(500)).await;
        match lock.current().await {
            Ok(Some(h)) if held(&h) && h.renewed != first.renewed => {
                return Owner::Alive(h, "it renewed the cluster lock just now")
            }
            Ok(Some(h)) if held(&h) => {}
            // Released, or taken by someone else meanwhile.
            Ok(_) => return Owner::None,
            Err(_) => {}
        }
    }
    Owner::Lapsed(first)
}
