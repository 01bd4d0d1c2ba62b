//! What `gameday run` prints for a CI log: one line per timeline entry with the time since the
//! start (`+5.012s`), and one closing summary line. Pure: the runtime prints what these return.

use super::entry::{Entry, EntryKind};
use super::faults::{planned_steps, step_tally};

/// The time since the session's start, to the millisecond: `+5.012s`.
pub fn elapsed(t_ms: u64) -> String {
    format!("+{}.{:03}s", t_ms / 1000, t_ms % 1000)
}

/// One entry as a CI log line: the elapsed time, padded so the texts line up, then what happened,
/// on that one line whatever text it holds (`text::flat`).
pub fn line(e: &Entry) -> String {
    format!("{:>9} {}", elapsed(e.t_ms), crate::text::flat(&e.kind.describe()))
}

/// The CI log's lines of these entries (those a person reads on the timeline).
pub fn lines(entries: &[Entry]) -> Vec<String> {
    entries.iter().filter(|e| e.kind.on_timeline()).map(line).collect()
}

/// The closing line: how many steps held, broke, failed, were skipped or never ran, whether
/// every fault was confirmed reverted, the run's length and its exit code.
pub fn summary(entries: &[Entry], left_behind: usize, took_ms: u64, code: u8) -> String {
    let t = step_tally(entries);
    let planned = planned_steps(entries).unwrap_or(0);
    let faults = entries.iter().filter(|e| matches!(e.kind, EntryKind::InjectRequested { .. })).count();
    let reverted = match left_behind {
        0 => "none left behind".to_string(),
        n => format!("{n} NOT confirmed reverted"),
    };
    format!(
        "gameday run: {planned} step(s): {} held, {} partially held, {} broken, {} failed, {} skipped, {} not run; \
         {faults} fault(s), {reverted}; {} s; exit {code}",
        t.held,
        t.partial,
        t.broken,
        t.failed,
        t.skipped,
        planned.saturating_sub(t.total()),
        format_args!("{}.{:02}", took_ms / 1000, took_ms % 1000 / 10),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elapsed_time_is_to_the_millisecond() {
        assert_eq!(elapsed(0), "+0.000s");
        assert_eq!(elapsed(5012), "+5.012s");
        assert_eq!(elapsed(3_725_004), "+3725.004s");
    }
}
