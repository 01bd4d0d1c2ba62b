//! The cluster as other consoles use it: who holds its one-fault lock (as its watch sees it),
//! whether a watchdog runs on it. A fault held elsewhere refuses this console's injects and is
//! shown as live elsewhere; Space asks its owner to stop it; an owner that stopped renewing
//! (a dead laptop) or whose fault is past its deadline is taken over and its fault reverted by
//! its markers. A stop asked of this console's own fault is an abort (`ClusterNews::stop`), which
//! `super::update::react` carries out through the abort path.
//!
//! Liveness is timed as Kubernetes' leader election times it: from when this console last saw
//! the lock change, on its own clock (never by comparing another machine's clock with ours).

use super::book::{Book, Level};
use super::event::Effect;
use crate::model::Holder;
use crate::timeline::EntryKind;

/// A holder as this console saw it.
#[derive(Clone, Debug, PartialEq)]
pub struct Seen {
    pub holder: Holder,
    /// When this console last saw it change (console ms).
    pub since_ms: u64,
    /// This console asked it to stop.
    pub stop_sent: bool,
    /// This console is taking it over (reverting its fault).
    pub taking_over: bool,
    /// A take-over that failed is tried again from then (console ms).
    pub next_try_ms: u64,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct ClusterView {
    pub holder: Option<Seen>,
    /// The watchdog's last heartbeat as seen: (its renew time, when it was seen changing).
    pub watchdog: Option<(String, u64)>,
    /// The stop asked of this console's fault that was honoured: (session, fault).
    pub honoured: Option<(String, u64)>,
    /// The drill this console serves to responders on other machines (the demo, Docker).
    pub served: Option<super::event::Served>,
}

/// Why a holder known to be gone is taken over.
pub const GONE: &str = "its console is gone (its journal on this machine is no longer held)";

/// Why a fault of this very session, from before its console was restarted, is taken over.
pub const RESUMED: &str = "it is this session's fault from before its console was restarted";

/// A fault past its deadline is given this long (seconds) for its own console to revert it
/// before others do.
pub const OVERDUE_GRACE_S: i64 = 15;
/// A take-over that failed (another console won it, the API server did not answer) is tried
/// again after this long, if the fault is still held the same way.
pub const TRY_AGAIN_MS: u64 = 5_000;

impl Seen {
    /// The owner has not been heard of for longer than its lease, or is known to be gone.
    pub fn lapsed(&self, now_ms: u64) -> bool {
        self.holder.gone
            || self.holder.lease_seconds > 0
                && now_ms.saturating_sub(self.since_ms) > u64::from(self.holder.lease_seconds) * 1000
    }

    /// Its fault is past its deadline, and its own console had time to revert it.
    pub fn overdue(&self, now_unix: i64) -> bool {
        self.holder.deadline > 0 && now_unix > self.holder.deadline + OVERDUE_GRACE_S
    }

    /// `h` as seen at `now_ms` after `old`: the same hold, renewed or not, is timed from its
    /// last change; another hold from now.
    pub fn after(old: Option<Seen>, h: Holder, now_ms: u64) -> Seen {
        match old {
            Some(old) if old.holder.session == h.session && old.holder.fault == h.fault => Seen {
                since_ms: if old.holder.renewed != h.renewed || old.holder.version != h.version {
                    now_ms
                } else {
                    old.since_ms
                },
                holder: h,
                ..old
            },
            _ => Seen { holder: h, since_ms: now_ms, stop_sent: false, taking_over: false, next_try_ms: 0 },
        }
    }

    /// Why its fault is to be taken over now, if it is: its console is gone, silent past its
    /// lease, or past its deadline and grace.
    pub fn due(&self, now_ms: u64, now_unix: i64) -> Option<String> {
        if self.holder.gone {
            Some(GONE.to_string())
        } else if self.lapsed(now_ms) {
            Some(format!("its console stopped renewing the cluster lock {} s ago", self.silent_s(now_ms)))
        } else if self.overdue(now_unix) {
            Some("its deadline passed and its console did not revert it".to_string())
        } else {
            None
        }
    }

    /// Seconds since the owner was last heard of.
    pub fn silent_s(&self, now_ms: u64) -> u64 {
        now_ms.saturating_sub(self.since_ms) / 1000
    }
}

/// What the lock's watch tells the others.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClusterNews {
    /// Another console asked this one to stop its fault (who asked): abort it.
    pub stop: Option<String>,
    /// The fault that holds the lock (session, fault): it is not a leftover.
    pub owner: Option<(String, u64)>,
}

impl ClusterView {
    /// The lock's holder, if it is not this console's own live fault (`own`: this session and
    /// its live fault, if any).
    pub fn elsewhere(&self, own: (&str, Option<u64>)) -> Option<&Seen> {
        let seen = self.holder.as_ref()?;
        (!is_own(own, &seen.holder)).then_some(seen)
    }

    /// Why this console may not inject now, if a fault is held elsewhere.
    pub fn refusal(&self, own: (&str, Option<u64>), now_unix: i64) -> Option<String> {
        let seen = self.elsewhere(own)?;
        let h = &seen.holder;
        let left = time_left(h, now_unix).map(|t| format!(", {t}")).unwrap_or_default();
        Some(format!("{} holds the cluster: {}{left}; one fault at a time across the cluster", h.who, h.what))
    }

    /// The lock's watch saw it change.
    pub fn on_holder(&mut self, holder: Option<Holder>, own: (&str, Option<u64>), book: &mut Book) -> ClusterNews {
        let now_ms = book.t_ms();
        let Some(h) = holder else {
            self.holder = None;
            return ClusterNews::default();
        };
        let mut news = ClusterNews::default();
        // A stop asked of this console's own fault: aborted through the abort path, once.
        if let Some(by) = h.stop.clone() {
            let key = (h.session.clone(), h.fault);
            if is_own(own, &h) && self.honoured.as_ref() != Some(&key) {
                self.honoured = Some(key);
                book.say(Level::Warning, format!("{by} asked for an emergency stop: aborting fault #{}", h.fault));
                news.stop = Some(format!("emergency stop asked by {by}"));
            }
        }
        let seen = Seen::after(self.holder.take(), h, now_ms);
        news.owner = Some((seen.holder.session.clone(), seen.holder.fault));
        self.holder = Some(seen);
        news
    }

    /// A responder injects nothing and takes no lock, and must not learn of a fault through
    /// it: who holds the cluster, with what, is not for their console.
    pub fn forget_holder(&mut self) {
        self.holder = None;
    }

    /// A watchdog's heartbeat changed (or it is gone).
    pub fn on_watchdog(&mut self, renewed: Option<String>, now_ms: u64) {
        self.watchdog = renewed.map(|r| (r, now_ms));
    }

    /// Whether a watchdog is alive on the cluster (seen renewing within two leases).
    pub fn watchdog_alive(&self, now_ms: u64) -> bool {
        self.watchdog
            .as_ref()
            .is_some_and(|(_, seen)| now_ms.saturating_sub(*seen) <= 2 * u64::from(crate::model::LEASE_SECONDS) * 1000)
    }

    /// Every second: a fault held elsewhere whose owner went silent, or that is overdue, is
    /// taken over and reverted by its markers.
    pub fn on_tick(&mut self, own: (&str, Option<u64>), book: &mut Book) {
        let (now_ms, now_unix) = (book.t_ms(), book.now.wall.timestamp());
        let Some(seen) = self.holder.as_ref() else { return };
        if is_own(own, &seen.holder) || seen.taking_over || now_ms < seen.next_try_ms {
            return;
        }
        let why = if seen.holder.session == own.0 {
            // This very session's fault from before its console was restarted (it is resumed
            // here, so that console is gone): nobody else will revert it.
            RESUMED.to_string()
        } else {
            let Some(why) = seen.due(now_ms, now_unix) else { return };
            why
        };
        let holder = seen.holder.clone();
        if let Some(seen) = self.holder.as_mut() {
            seen.taking_over = true;
        }
        book.say(Level::Warning, format!("{} ({}): {why}; reverting it by its markers", holder.what, holder.who));
        book.effect(Effect::TakeOver { holder, why });
    }

    /// Space with no fault of this console's live: the fault held elsewhere is asked to stop.
    /// Returns whether there was one.
    pub fn ask_stop(&mut self, own: (&str, Option<u64>), book: &mut Book) -> bool {
        let Some(seen) = self.elsewhere(own) else { return false };
        let h = seen.holder.clone();
        let already = seen.stop_sent;
        if let Some(seen) = self.holder.as_mut() {
            seen.stop_sent = true;
        }
        let lease = h.lease_seconds;
        book.say(
            Level::Warning,
            format!(
                "asking {} to stop {}{}; if their console does not answer within {lease} s, this one reverts it by its markers",
                h.who,
                h.what,
                if already { " (again)" } else { "" }
            ),
        );
        book.effect(Effect::RequestStop);
        true
    }

    /// The lock says whether the stop reached it.
    pub fn on_stop_asked(&mut self, result: Result<(Holder, String), String>, book: &mut Book) {
        match result {
            Ok((h, by)) => {
                book.record(EntryKind::StopAsked { of: h.who, session: h.session, fault: h.fault, what: h.what, by })
            }
            Err(e) => book.say(Level::Error, format!("the emergency stop could not be asked: {e}")),
        }
    }

    /// A take-over ended: what of the other console's fault was reverted, or why not.
    pub fn on_took_over(&mut self, holder: Holder, why: String, result: Result<Vec<String>, String>, book: &mut Book) {
        let failed = result.is_err();
        let now_ms = book.t_ms();
        if let Some(seen) = self.holder.as_mut() {
            if seen.holder.session == holder.session && seen.holder.fault == holder.fault {
                seen.taking_over = false;
                if failed {
                    seen.next_try_ms = now_ms + TRY_AGAIN_MS;
                }
            }
        }
        match result {
            Ok(reverted) => {
                book.say(
                    Level::Info,
                    format!("{}'s fault #{} ({}) reverted by this console", holder.who, holder.fault, holder.what),
                );
                // This session's own fault from before its console was restarted: its end is
                // this session's to record, or the report calls it still active and cleanup
                // would revert (and claim) it again.
                let own = why == RESUMED;
                let (fault, count) = (holder.fault, reverted.len());
                book.record(EntryKind::TookOver {
                    who: holder.who,
                    session: holder.session,
                    fault: holder.fault,
                    what: holder.what,
                    why,
                    reverted,
                });
                if own {
                    book.record(EntryKind::FaultClosed {
                        fault,
                        how: match count {
                            0 => "found already undone when its session was resumed".into(),
                            _ => "reverted by this console when its session was resumed".into(),
                        },
                    });
                }
            }
            Err(e) => book.say(Level::Warning, format!("could not take over {}'s fault: {e}", holder.who)),
        }
    }

    /// This console's hold was taken from it (it went silent for longer than its lease).
    pub fn on_lock_lost(&mut self, by: &Holder, book: &mut Book) {
        book.record(EntryKind::Cluster {
            object: "cluster lock".into(),
            message: format!(
                "this console's hold on the cluster was taken over by {} (this console went silent for longer than its lease): its fault may have been reverted by them",
                by.who
            ),
            warning: true,
        });
    }
}

/// Whether `h` is this session's fault (live, or about to be).
fn is_own(own: (&str, Option<u64>), h: &Holder) -> bool {
    h.session == own.0 && own.1 == Some(h.fault)
}

/// "1:12 left", "past its deadline", or nothing when the deadline is unknown.
pub fn time_left(h: &Holder, now_unix: i64) -> Option<String> {
    if h.deadline <= 0 {
        return None;
    }
    let left = h.deadline - now_unix;
    Some(if left > 0 { format!("{}:{:02} left", left / 60, left % 60) } else { "past its deadline".into() })
}
