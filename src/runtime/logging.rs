//! Logs (`tracing`): the runtime and the backends say what they do (every request that changes
//! something, every retry, every error); the pure core says nothing. They go to a log file in
//! the data directory (`<data>/logs/gameday.log.YYYY-MM-DD`, a new file each day, the last
//! `KEEP_FILES` kept), written by a background thread so no loop ever waits on the disk, and,
//! for commands without a screen (`gameday run`, `gameday cleanup`), to stderr. The console
//! never writes a log line on the screen it draws.
//!
//! The level: `GAMEDAY_LOG` (tracing's filter syntax: `debug`, `gameday=trace,kube=debug`), else
//! `-v` (debug), `-vv` (trace); by default info in the file and warnings on stderr.

use std::path::Path;

use tracing_subscriber::filter::EnvFilter;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::Layer as _;

/// Daily files kept in the log directory.
pub const KEEP_FILES: usize = 7;

/// Keeps the log file's writer thread alive; dropping it flushes what is queued.
pub struct Guard(#[allow(dead_code)] Option<tracing_appender::non_blocking::WorkerGuard>);

/// The filter of one destination: `GAMEDAY_LOG` if set, else the `-v` count over `default`.
fn filter(env: Option<&str>, verbose: u8, default: &str) -> EnvFilter {
    let directives = match (env, verbose) {
        (Some(e), _) if !e.trim().is_empty() => e.to_string(),
        (_, 0) => default.to_string(),
        (_, 1) => "gameday=debug,kube=info,warn".to_string(),
        _ => "gameday=trace,kube=debug,info".to_string(),
    };
    EnvFilter::try_new(&directives).unwrap_or_else(|_| EnvFilter::new(default))
}

/// Starts logging to `<data_dir>/logs/` and, if `stderr`, to stderr. A log directory that
/// cannot be made is said once on stderr and the file is left out: logs never stop a Gameday.
pub fn init(data_dir: &Path, stderr: bool, verbose: u8) -> Guard {
    let env = std::env::var("GAMEDAY_LOG").ok();
    if let Some(e) = env.as_deref().filter(|e| EnvFilter::try_new(e).is_err()) {
        crate::errln!(
            "warning: GAMEDAY_LOG={e} is not a log filter (like info, debug or gameday=trace); using the default"
        );
    }
    let dir = data_dir.join("logs");
    let appender = std::fs::create_dir_all(&dir).map_err(|e| e.to_string()).and_then(|_| {
        tracing_appender::rolling::Builder::new()
            .rotation(tracing_appender::rolling::Rotation::DAILY)
            .filename_prefix("gameday.log")
            .max_log_files(KEEP_FILES)
            .build(&dir)
            .map_err(|e| e.to_string())
    });
    let (file, guard) = match appender {
        Ok(a) => {
            let (writer, guard) = tracing_appender::non_blocking(a);
            let layer = tracing_subscriber::fmt::layer().with_writer(writer).with_ansi(false).with_filter(filter(
                env.as_deref(),
                verbose,
                "gameday=info,warn",
            ));
            (Some(layer), Some(guard))
        }
        Err(e) => {
            crate::errln!("warning: no log file in {}: {e}", dir.display());
            (None, None)
        }
    };
    let err = stderr.then(|| {
        tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            // Colours only for a person at a terminal: never escapes in a CI log.
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .with_target(false)
            .with_filter(filter(env.as_deref(), verbose, "warn"))
    });
    let _ = tracing_subscriber::registry().with(file).with(err).try_init();
    Guard(guard)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_level_comes_from_gameday_log_else_from_v() {
        assert_eq!(filter(None, 0, "warn").to_string(), "warn");
        assert_eq!(filter(None, 1, "warn").to_string(), "gameday=debug,kube=info,warn");
        assert_eq!(filter(Some("gameday=trace"), 0, "warn").to_string(), "gameday=trace");
        assert_eq!(filter(Some(" "), 2, "warn").to_string(), "gameday=trace,kube=debug,info");
        assert_eq!(filter(Some("=[="), 0, "warn").to_string(), "warn", "a broken filter: the default");
    }
}
