//! The cluster as other consoles use it: who holds its one-fault lock (as its watch sees it),
//! whether a watchdog runs on it. A fault held elsewhere refuses this console's injects and is
//! shown as live elsewhere; Space asks its owner to stop it; an owner that stopped renewing
//! (a dead laptop) or whose fault is past its deadline is taken over and its fault reverted by
//! its markers. A stop asked of this console's own fault aborts it through the abort path.
//!
//! Liveness is timed as Kubernetes' leader election times it: from when this console last saw
//! the lock change, on its own clock (never by comparing another machine's clock with ours).

use super::event::Effect;
use super::fault::{self, FaultPhase};
use super::state::{AppState, Level};
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

/// The lock's holder, if it is not this console's own live fault.
pub fn elsewhere(s: &AppState) -> Option<&Seen> {
    let seen = s.cluster.holder.as_ref()?;
    (!is_own(s, &seen.holder)).then_some(seen)
}

/// Whether `h` is this session's fault (live, or about to be).
fn is_own(s: &AppState, h: &Holder) -> bool {
    h.session == s.session.id && s.fault.live().is_some_and(|f| f.id == h.fault)
}

/// "1:12 left", "past its deadline", or nothing when the deadline is unknown.
pub fn time_left(h: &Holder, now_unix: i64) -> Option<String> {
    if h.deadline <= 0 {
        return None;
    }
    let left = h.deadline - now_unix;
    Some(if left > 0 { format!("{}:{:02} left", left / 60, left % 60) } else { "past its deadline".into() })
}

/// Why this console may not inject now, if a fault is held elsewhere.
pub fn refusal(s: &AppState) -> Option<String> {
    let seen = elsewhere(s)?;
    let h = &seen.holder;
    let left = time_left(h, s.now.wall.timestamp()).map(|t| format!(", {t}")).unwrap_or_default();
    Some(format!("{} holds the cluster: {}{left}; one fault at a time across the cluster", h.who, h.what))
}

/// The lock's watch saw it change.
pub fn on_holder(s: &mut AppState, holder: Option<Holder>, fx: &mut Vec<Effect>) {
    let now_ms = s.now.t_ms;
    let Some(h) = holder else {
        s.cluster.holder = None;
        return;
    };
    // A stop asked of this console's own fault: aborted through the abort path, once.
    if let Some(by) = h.stop.clone() {
        let key = (h.session.clone(), h.fault);
        if is_own(s, &h) && s.cluster.honoured.as_ref() != Some(&key) {
            s.cluster.honoured = Some(key);
            s.say(Level::Warning, format!("{by} asked for an emergency stop: aborting fault #{}", h.fault));
            fault::abort(s, &format!("emergency stop asked by {by}"), fx);
        }
    }
    let seen = Seen::after(s.cluster.holder.take(), h, now_ms);
    // A fault that holds the lock is no leftover: its live owner reverts it, or, once it is
    // silent or gone, the take-over does (one path, never two at once).
    let owner = (seen.holder.session.clone(), seen.holder.fault);
    s.leftovers.retain(|l| (l.leftover.session.as_str(), l.leftover.fault_id) != (owner.0.as_str(), owner.1));
    s.cluster.holder = Some(seen);
}

/// A watchdog's heartbeat changed (or it is gone).
pub fn on_watchdog(s: &mut AppState, renewed: Option<String>) {
    s.cluster.watchdog = renewed.map(|r| (r, s.now.t_ms));
}

/// Whether a watchdog is alive on the cluster (seen renewing within two leases).
pub fn watchdog_alive(s: &AppState) -> bool {
    s.cluster
        .watchdog
        .as_ref()
        .is_some_and(|(_, seen)| s.now.t_ms.saturating_sub(*seen) <= 2 * u64::from(crate::model::LEASE_SECONDS) * 1000)
}

/// Every second: a fault held elsewhere whose owner went silent, or that is overdue, is taken
/// over and reverted by its markers.
pub fn on_tick(s: &mut AppState, fx: &mut Vec<Effect>) {
    let (now_ms, now_unix) = (s.now.t_ms, s.now.wall.timestamp());
    let Some(seen) = s.cluster.holder.as_ref() else { return };
    if is_own(s, &seen.holder) || seen.taking_over || now_ms < seen.next_try_ms {
        return;
    }
    let why = if seen.holder.session == s.session.id {
        // This very session's fault from before its console was restarted (it is resumed
        // here, so that console is gone): nobody else will revert it.
        RESUMED.to_string()
    } else {
        let Some(why) = seen.due(now_ms, now_unix) else { return };
        why
    };
    // Our own session's fault from before a restart, or anyone else's.
    let holder = seen.holder.clone();
    if let Some(seen) = s.cluster.holder.as_mut() {
        seen.taking_over = true;
    }
    s.say(Level::Warning, format!("{} ({}): {why}; reverting it by its markers", holder.what, holder.who));
    fx.push(Effect::TakeOver { holder, why });
}

/// Space with no fault of this console's live: the fault held elsewhere is asked to stop.
/// Returns whether there was one.
pub fn ask_stop(s: &mut AppState, fx: &mut Vec<Effect>) -> bool {
    let Some(seen) = elsewhere(s) else { return false };
    let h = seen.holder.clone();
    let already = seen.stop_sent;
    if let Some(seen) = s.cluster.holder.as_mut() {
        seen.stop_sent = true;
    }
    let lease = h.lease_seconds;
    s.say(
        Level::Warning,
        format!(
            "asking {} to stop {}{}; if their console does not answer within {lease} s, this one reverts it by its markers",
            h.who,
            h.what,
            if already { " (again)" } else { "" }
        ),
    );
    fx.push(Effect::RequestStop);
    true
}

/// The lock says whether the stop reached it.
pub fn on_stop_asked(s: &mut AppState, result: Result<(Holder, String), String>, fx: &mut Vec<Effect>) {
    match result {
        Ok((h, by)) => {
            s.record(EntryKind::StopAsked { of: h.who, session: h.session, fault: h.fault, what: h.what, by }, fx)
        }
        Err(e) => s.say(Level::Error, format!("the emergency stop could not be asked: {e}")),
    }
}

/// A take-over ended: what of the other console's fault was reverted, or why not.
pub fn on_took_over(
    s: &mut AppState,
    holder: Holder,
    why: String,
    result: Result<Vec<String>, String>,
    fx: &mut Vec<Effect>,
) {
    let failed = result.is_err();
    let now_ms = s.now.t_ms;
    if let Some(seen) = s.cluster.holder.as_mut() {
        if seen.holder.session == holder.session && seen.holder.fault == holder.fault {
            seen.taking_over = false;
            if failed {
                seen.next_try_ms = now_ms + TRY_AGAIN_MS;
            }
        }
    }
    match result {
        Ok(reverted) => {
            s.say(
                Level::Info,
                format!("{}'s fault #{} ({}) reverted by this console", holder.who, holder.fault, holder.what),
            );
            s.record(
                EntryKind::TookOver {
                    who: holder.who,
                    session: holder.session,
                    fault: holder.fault,
                    what: holder.what,
                    why,
                    reverted,
                },
                fx,
            );
        }
        Err(e) => s.say(Level::Warning, format!("could not take over {}'s fault: {e}", holder.who)),
    }
}

/// Whether this console's phase has nothing in the cluster (for the header).
pub fn idle(s: &AppState) -> bool {
    matches!(s.fault, FaultPhase::Idle | FaultPhase::Armed { .. })
}
