//! Time as the timeline says it: a stamp (the wall clock, and milliseconds since the session
//! started), durations in words, and when something happened in the session.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The moment an event reached the core: milliseconds since the session started, and wall time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stamp {
    pub t_ms: u64,
    pub wall: DateTime<Utc>,
}

impl Stamp {
    pub fn at(start: DateTime<Utc>, t_ms: u64) -> Stamp {
        Stamp { t_ms, wall: start + chrono::Duration::milliseconds(t_ms as i64) }
    }
}

/// The median of some durations, "-" for none.
pub fn median(mut ms: Vec<u64>) -> String {
    ms.sort_unstable();
    match ms.len() {
        0 => "-".to_string(),
        n if n % 2 == 1 => seconds(ms[n / 2]),
        n => seconds((ms[n / 2 - 1] + ms[n / 2]) / 2),
    }
}

/// A duration, said the same way everywhere (the timeline, the report, the console): to the
/// hundredth of a second under a minute ("1.84 s", "12.5 s", "3 s"), then minutes and whole
/// seconds ("2 min 05 s").
pub fn seconds(ms: u64) -> String {
    if ms < 60_000 {
        let centis = (ms + 5) / 10;
        let text = format!("{}.{:02}", centis / 100, centis % 100);
        format!("{} s", text.trim_end_matches('0').trim_end_matches('.'))
    } else {
        let s = (ms + 500) / 1000;
        format!("{} min {:02} s", s / 60, s % 60)
    }
}

/// `+mm:ss` (or `+h:mm:ss`) since the session start.
pub fn since(t_ms: u64) -> String {
    let s = t_ms / 1000;
    if s >= 3600 {
        format!("+{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("+{:02}:{:02}", s / 60, s % 60)
    }
}
