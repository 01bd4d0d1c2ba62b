//! Golden signals from the Prometheus the team already runs, for any backend: which metric
//! families it has (asked again every minute: a family may come or go), one query per family
//! per refresh for every service at once, over a short window so a fault shows within seconds.
//! What it reads goes to the console as `TopologyDelta::Signals`; whether it can be read as
//! `TopologyDelta::Source` (said once per change: found, lost, back).

pub mod families;
pub mod prometheus;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use tokio::sync::mpsc::UnboundedSender;

use crate::model::{SignalBatch, SourceKind, SourceState, TopologyDelta};
pub use prometheus::{Auth, Prometheus, PrometheusConfig};

/// How often the families present are asked again.
pub const DETECT_EVERY: Duration = Duration::from_secs(60);

/// The refresh and the window for a Prometheus that scrapes every `interval`: a refresh at its
/// scrape interval (2 to 5 s), a window of four scrapes within 15 to 30 s so a fault shows
/// within seconds, yet never under two scrapes and a second (`rate` needs two samples).
pub fn pace(interval: Option<Duration>) -> (Duration, Duration) {
    let i = interval.unwrap_or(Duration::from_secs(15));
    let refresh = i.clamp(Duration::from_secs(2), Duration::from_secs(5));
    let window = (i * 4).clamp(Duration::from_secs(15), Duration::from_secs(30)).max(i * 2 + Duration::from_secs(1));
    (refresh, window)
}

/// "30s", as PromQL writes a range.
fn range(d: Duration) -> String {
    format!("{}s", d.as_secs().max(1))
}

/// Reads `prom` until the console goes away (its channel closes).
pub async fn read(prom: Prometheus, tx: UnboundedSender<TopologyDelta>) {
    let name = prom.name.clone();
    let say = |state: SourceState| {
        tx.send(TopologyDelta::Source { kind: SourceKind::Requests, name: name.clone(), state }).is_ok()
    };
    let (refresh, window) = pace(prom.scrape_interval().await);
    let mut variants = Vec::new();
    // The families that had series at the last refresh.
    let mut had: BTreeSet<String> = BTreeSet::new();
    let mut detected: Option<tokio::time::Instant> = None;
    let mut tick = tokio::time::interval(refresh);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if detected.is_none_or(|t| t.elapsed() >= DETECT_EVERY) {
            match prom.names(&families::names()).await {
                Ok(names) => {
                    variants = families::present(&names);
                    let mut fams: Vec<String> = variants.iter().map(|v| v.family.to_string()).collect();
                    fams.dedup();
                    if !say(SourceState::Up { families: fams }) {
                        return;
                    }
                    detected = Some(tokio::time::Instant::now());
                }
                Err(why) => {
                    if !say(SourceState::Down { why }) {
                        return;
                    }
                    continue;
                }
            }
        }
        let mut rates = Vec::new();
        let mut failed = None;
        let mut series: BTreeMap<&str, usize> = BTreeMap::new();
        for v in &variants {
            match prom.query(&families::query(v, &range(window))).await {
                Ok(samples) => {
                    *series.entry(v.family).or_default() += samples.len();
                    rates.extend(families::rates(v, &samples));
                }
                Err(why) => failed = Some(why),
            }
        }
        match failed {
            Some(why) => {
                // Known again at the next detection, which runs at once.
                detected = None;
                if !say(SourceState::Down { why }) {
                    return;
                }
            }
            None if !variants.is_empty() || !had.is_empty() => {
                // A family with no series at all now, that had some: gone (a family whose
                // services merely have no requests still has its series).
                let now: BTreeSet<String> =
                    series.iter().filter(|(_, n)| **n > 0).map(|(f, _)| f.to_string()).collect();
                let gone: Vec<String> = had.difference(&now).cloned().collect();
                if !gone.is_empty() {
                    // Asked again at the next refresh: it may have been uninstalled.
                    detected = None;
                }
                had = now;
                let batch = SignalBatch { source: name.clone(), window_ms: window.as_millis() as u64, rates, gone };
                if tx.send(TopologyDelta::Signals(batch)).is_err() {
                    return;
                }
            }
            None => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pace_follows_the_scrape_interval() {
        let s = Duration::from_secs;
        assert_eq!(pace(Some(s(1))), (s(2), s(15)));
        assert_eq!(pace(Some(s(5))), (s(5), s(20)));
        assert_eq!(pace(Some(s(15))), (s(5), s(31)));
        assert_eq!(pace(Some(s(30))), (s(5), s(61)));
        assert_eq!(pace(None), (s(5), s(31)));
        assert_eq!(range(s(15)), "15s");
    }
}
