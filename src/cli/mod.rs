//! The command line: its definition (`args`), what each command does, and the exit-code policy
//! (`exit`). `main.rs` only calls `main` here.

pub mod args;
pub mod cleanup;
pub mod connect;
pub mod exit;
mod session;

use std::process::ExitCode;

use clap::{CommandFactory as _, Parser};

use crate::config::Dirs;
use crate::runtime;
pub use args::{BackendArgs, Cli, Cmd};
pub use exit::Exit;

/// Parses the command line and runs it; a failure is said on stderr and ends with `Exit::Failed`.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // --help and --version are answers; anything else is a usage error, whose code must
        // never read as "a fault was left behind" (clap's own is 2).
        Err(e) => {
            let _ = e.print();
            return match e.use_stderr() {
                true => Exit::Usage.code(),
                false => Exit::Clean.code(),
            };
        }
    };
    match dispatch(cli) {
        Ok(exit) => exit.code(),
        Err(e) => {
            crate::errln!("gameday: {e:#}");
            Exit::Failed.code()
        }
    }
}

/// Generated text, as it is (a closed stdout is no error).
fn raw_out(bytes: &[u8]) {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(bytes).and_then(|_| out.flush());
}

fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()
}

/// Logs start once there is something to log (the config is good): commands without a screen
/// log to stderr too, the console only to its file.
fn start_log(dirs: &Dirs, stderr: bool, verbose: u8) -> runtime::logging::Guard {
    let guard = runtime::logging::init(&dirs.data, stderr, verbose);
    tracing::info!(version = env!("CARGO_PKG_VERSION"), args = ?std::env::args().skip(1).collect::<Vec<_>>(), "gameday starts");
    guard
}

fn dispatch(cli: Cli) -> anyhow::Result<Exit> {
    // Generated from the same CLI definition, needing nothing else (no data directory).
    match &cli.command {
        Some(Cmd::Completions { shell }) => {
            let mut out = Vec::new();
            clap_complete::generate(clap_complete::Shell::from(*shell), &mut Cli::command(), "gameday", &mut out);
            raw_out(&out);
            return Ok(Exit::Clean);
        }
        Some(Cmd::Man) => {
            let mut out = Vec::new();
            clap_mangen::Man::new(Cli::command()).render(&mut out)?;
            raw_out(&out);
            return Ok(Exit::Clean);
        }
        _ => {}
    }
    let dirs = Dirs::from_env()?;
    match &cli.command {
        Some(Cmd::Report { journal, output, format }) => report(journal, output.as_deref(), format),
        Some(Cmd::Cleanup { all, session, backend }) => {
            let which = match (all, session) {
                (true, _) => cleanup::Which::All,
                (false, Some(id)) => cleanup::Which::Session(id.clone()),
                (false, None) => cleanup::Which::List,
            };
            let _log = start_log(&dirs, true, cli.verbose);
            let again = format!("gameday cleanup {}", backend.flags());
            let ok = runtime()?.block_on(async {
                let backend = connect::connect(backend, false, None).await?;
                cleanup::run(backend, &dirs.sessions(), which, again.trim_end()).await
            })?;
            Ok(Exit::unless(ok, Exit::NotReverted))
        }
        Some(Cmd::Watchdog { backend }) => {
            if backend.demo {
                anyhow::bail!("the demo cluster lives in its console: a watchdog is for Kubernetes or Docker");
            }
            let who = format!("gameday-watchdog@{}", crate::store::machine::host_name());
            runtime()?.block_on(async {
                let backend = connect::connect(backend, false, None).await?;
                let log = |line: &str| crate::outln!("{} watchdog: {line}", runtime::watchdog::stamp());
                runtime::watchdog::run(backend, &who, runtime::watchdog::signalled(), log)
                    .await
                    .map_err(anyhow::Error::msg)
            })?;
            Ok(Exit::Clean)
        }
        Some(Cmd::Sessions) => sessions(&dirs),
        Some(Cmd::Run { .. }) | None => session::run(cli, &dirs),
        Some(Cmd::Completions { .. } | Cmd::Man) => Ok(Exit::Clean),
    }
}

/// `gameday report`: a journal's report, Markdown or JSON.
fn report(path: &std::path::Path, output: Option<&std::path::Path>, format: &str) -> anyhow::Result<Exit> {
    let read = crate::store::journal::read_all(path)?;
    for w in &read.warnings {
        crate::errln!("warning: {w}");
    }
    let mut entries = read.entries;
    // No console has it open and its end is not on record: its console was killed. Read as
    // gameday cleanup would close it (a demo's faults died with the simulated cluster; a
    // fault still in a real system stays open), without writing to it.
    if !crate::store::journal::in_use(path) {
        let demo = entries.first().is_some_and(
            |e| matches!(&e.kind, crate::timeline::EntryKind::SessionStart { backend, .. } if backend.kind == "demo"),
        );
        let why = "no end on record and no console has its journal open";
        let closing = crate::timeline::leftovers::closing_entries(&entries, demo, why);
        if let (false, Some(last)) = (closing.is_empty(), entries.last().cloned()) {
            crate::errln!(
                "note: {}: {why}: read as ended where its console was lost (the journal is not changed)",
                path.display()
            );
            for (i, kind) in closing.into_iter().enumerate() {
                entries.push(crate::timeline::Entry {
                    seq: last.seq + 1 + i as u64,
                    wall: last.wall,
                    t_ms: last.t_ms,
                    kind,
                });
            }
        }
    }
    let md = match format {
        "json" => format!("{:#}\n", crate::timeline::json::render(&entries)),
        _ => crate::timeline::report::render(&entries),
    };
    match output {
        Some(out) => {
            crate::store::report::write(out, &md).map_err(|e| anyhow::anyhow!("cannot write {}: {e}", out.display()))?
        }
        None => runtime::out::document(&md),
    }
    Ok(Exit::Clean)
}

/// `gameday sessions`: the sessions in the data directory, newest first.
fn sessions(dirs: &Dirs) -> anyhow::Result<Exit> {
    let all = crate::store::sessions::list(&dirs.sessions())?;
    if all.is_empty() {
        crate::outln!("No sessions yet in {}.", dirs.sessions().display());
    }
    for s in all {
        let about = s.title.as_deref().map(|t| format!(" \"{t}\"")).unwrap_or_default();
        let steps = s.steps.as_deref().map(|t| format!(", steps: {t}")).unwrap_or_default();
        crate::outln!("{}{about}  {}  on {}  {} fault(s){steps}  {}", s.id, s.started, s.target, s.faults, s.state);
        crate::outln!("    {}", s.journal.display());
    }
    Ok(Exit::Clean)
}
