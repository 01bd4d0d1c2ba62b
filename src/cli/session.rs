//! The console, and `gameday run` (a run-sheet walked without a screen, or `--dry-run`): the
//! config loaded (every error naming its file and line), the session run, and what is said
//! after it (the journal, the report, faults left behind) with the exit code that goes with it.

use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::sync::Arc;

use super::args::{Cli, Cmd};
use super::connect::connect;
use super::exit::Exit;
use super::start_log;
use crate::config::preset;
use crate::config::theme::{self, Theme};
use crate::config::Dirs;
use crate::runtime::{self, Options};
use crate::store::journal;
use crate::timeline::report;

/// The console (no command) or `gameday run`.
pub(super) fn run(mut cli: Cli, dirs: &Dirs) -> anyhow::Result<Exit> {
    let started = std::time::Instant::now();
    let (themes, mut warnings) = theme::load_themes_warning(Some(&dirs.config.join("themes")))?;
    let theme = themes.get(&cli.theme).cloned().ok_or_else(|| {
        anyhow::anyhow!(
            "unknown theme '{}' (available: {})",
            cli.theme,
            themes.keys().cloned().collect::<Vec<_>>().join(", ")
        )
    })?;
    let (presets, passed_over) = preset::load_presets_warning(Some(&dirs.config.join("presets")))?;
    warnings.extend(passed_over);
    let (settings, passed_over) = crate::config::settings_warning(&dirs.config)?;
    warnings.extend(passed_over);
    let steady = match &cli.session_file {
        Some(path) => crate::config::session_file::SessionConfig::load(path)?,
        None => Default::default(),
    };
    let load_plan = |p: &std::path::Path| crate::config::runsheet::RunSheet::load(p, &presets);
    let (mut plan, headless, report_to, junit_to) = match &cli.command {
        Some(Cmd::Run { plan, report, junit, .. }) => (Some(load_plan(plan)?), true, report.clone(), junit.clone()),
        _ => (cli.plan.as_deref().map(load_plan).transpose()?, false, None, None),
    };
    if let Some(Cmd::Run { dry_run: true, backend, .. }) = &cli.command {
        let plan = plan.ok_or_else(|| anyhow::anyhow!("no run-sheet"))?;
        let _log = start_log(dirs, true, cli.verbose);
        let ok = super::runtime()?.block_on(async {
            let backend = connect(backend, false, None).await?;
            runtime::dry_run::run(backend, plan, presets, themes, theme).await
        })?;
        return Ok(Exit::unless(ok, Exit::Failed));
    }
    // The console draws on a terminal and reads keys from one: without it, say so before any
    // session is created (broken config files are said first: they are what to fix).
    if cli.command.is_none() && (!std::io::stdin().is_terminal() || !std::io::stdout().is_terminal()) {
        crate::errln!("gameday needs a terminal (use `gameday run` for headless)");
        return Ok(Exit::Failed);
    }
    let chosen = cli.plan.is_some() || cli.resume.is_some() || cli.drill.is_some() || cli.session_file.is_some();
    let ask = cli.command.is_none() && !cli.new && !chosen;
    if ask {
        if !start_screen(&mut cli, dirs, &theme)? {
            return Ok(Exit::Clean);
        }
        // The start screen may have picked a run-sheet.
        plan = cli.plan.as_deref().map(load_plan).transpose()?;
    }
    // A team's usual probes and stop conditions (--session-file) go with any run-sheet.
    let steady = match (plan.as_mut(), cli.session_file.is_some()) {
        (Some(plan), true) => {
            let (merged, said) = steady.under(std::mem::take(&mut plan.steady));
            plan.steady = merged;
            warnings.extend(said);
            Default::default()
        }
        _ => steady,
    };
    let user = crate::config::user(cli.user.as_deref(), &dirs.config)?;
    let _log = start_log(dirs, headless, cli.verbose);
    let rt = super::runtime()?;
    // `gameday run` takes its own backend flags (after its plan); the console takes them at the top.
    let backend_args = match &cli.command {
        Some(Cmd::Run { backend, .. }) => backend.clone(),
        _ => cli.backend.clone(),
    };
    let prometheus = super::connect::prometheus(&backend_args, &settings)?;
    // A drill served by the facilitator's console (`ID:TOKEN@HOST:PORT`): this console shows
    // its picture; a bare ID is joined on this machine's files or the cluster's channel.
    let served = cli
        .drill
        .as_deref()
        .and_then(crate::backend::relay::JoinAddress::parse)
        .transpose()
        .map_err(|e| anyhow::anyhow!(e))?;
    let backend: Arc<dyn crate::backend::Backend> = match &served {
        Some(address) => {
            let relay =
                rt.block_on(crate::backend::relay::join(address, &responder_name(cli.responder.as_deref())?))?;
            let theirs = relay.facilitator_kind().to_string();
            // No backend flag: whatever the facilitator's console runs on.
            let mine = backend_args.kind();
            if mine != "kubernetes" && mine != theirs {
                anyhow::bail!(
                    "the facilitator's console runs on {theirs}, not {mine}: join with {}",
                    crate::backend::relay::join_command(&theirs, address)
                );
            }
            Arc::new(relay)
        }
        None => rt.block_on(connect(&backend_args, cli.drill.is_some(), prometheus))?,
    };
    let quiet = matches!(&cli.command, Some(Cmd::Run { quiet: true, .. }));
    let metrics_addr = match &cli.command {
        Some(Cmd::Run { metrics_addr, .. }) => *metrics_addr,
        _ => cli.metrics_addr,
    };
    let metrics = match metrics_addr {
        Some(addr) => {
            let m = Arc::new(runtime::metrics::Metrics::new());
            let bound = rt.block_on(runtime::metrics::serve(addr, m.clone()))?;
            if headless && !quiet {
                crate::outln!("Metrics at http://{bound}/metrics");
            }
            Some(m)
        }
        None => None,
    };
    let outcome = rt.block_on(runtime::run(Options {
        steady,
        plan,
        headless,
        quiet,
        metrics,
        resume: cli.resume.clone(),
        drill: match (&served, &cli.drill) {
            (Some(address), _) => Some((address.session.clone(), responder_name(cli.responder.as_deref())?)),
            (None, Some(id)) => Some((id.clone(), responder_name(cli.responder.as_deref())?)),
            (None, None) => None,
        },
        drill_listen: cli.drill_listen,
        backend,
        presets,
        themes,
        theme,
        sessions_dir: dirs.sessions(),
        crash_after: backend_args.demo_crash_after,
        warnings,
        user,
    }))?;
    // What `gameday run` says besides its closing summary line (`--quiet`: nothing).
    let say = |text: String| {
        if !quiet {
            crate::outln!("{text}");
        }
    };
    say(format!("Session journal: {}", outcome.journal.display()));
    match &outcome.report {
        Some(Ok(path)) => say(format!("Report:          {}", path.display())),
        Some(Err(e)) => crate::errln!("The report could not be written: {e}"),
        None => {}
    }
    let session = outcome.journal.file_stem().and_then(|s| s.to_str()).unwrap_or("?").to_string();
    let mut steps_failed = false;
    let mut entries = Vec::new();
    if headless {
        entries = journal::read(&outcome.journal)?;
        if let Some(out) = &report_to {
            crate::store::report::write(out, &report::render(&entries))
                .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", out.display()))?;
            say(format!("Report written:  {}", out.display()));
        }
        if let Some(out) = &junit_to {
            crate::store::report::write(out, &crate::timeline::junit::render(&entries))
                .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", out.display()))?;
            say(format!("JUnit written:   {}", out.display()));
        }
        let tally = crate::timeline::faults::step_tally(&entries);
        let not_held = tally.not_held();
        if not_held > 0 {
            crate::errln!("{not_held} step(s) did not hold their hypothesis");
            steps_failed = true;
        }
        let planned = crate::timeline::faults::planned_steps(&entries).unwrap_or(0);
        let not_run = planned.saturating_sub(tally.total());
        if not_run > 0 {
            for e in &entries {
                if let crate::timeline::EntryKind::Console { message, warning: true } = &e.kind {
                    crate::errln!("{message}");
                }
            }
            crate::errln!("{not_run} step(s) did not run");
            steps_failed = true;
        }
    }
    if let Some((n, error)) = &outcome.unsaved {
        crate::errln!(
            "WARNING: {n} timeline entr{} could not be written to the journal ({error}); the journal ends before them",
            if *n == 1 { "y" } else { "ies" }
        );
    }
    if !outcome.left_behind.is_empty() {
        crate::errln!("WARNING: these faults were NOT confirmed reverted and may still be active:");
        for f in &outcome.left_behind {
            crate::errln!("  {f}");
        }
        crate::errln!("Revert them with `gameday cleanup --session {session}` (same backend flags).");
    } else if let Some(crash) = &outcome.crash {
        crate::errln!("gameday crashed ({crash}); every fault it had injected was reverted (see the journal)");
    }
    let exit = Exit::of_session(!outcome.left_behind.is_empty(), outcome.crash.is_some(), steps_failed);
    if headless {
        let took = started.elapsed().as_millis() as u64;
        crate::outln!("{}", crate::timeline::ci::summary(&entries, outcome.left_behind.len(), took, exit as u8));
    }
    Ok(exit)
}

/// The responder's name: given, or the user's; it names their file, so letters, digits, - and _.
fn responder_name(given: Option<&str>) -> anyhow::Result<String> {
    let name = given.map(str::to_string).or_else(|| std::env::var("USER").ok()).unwrap_or_else(|| "responder".into());
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        anyhow::bail!("responder name '{name}': use letters, digits, - and _ (--responder NAME)");
    }
    // The facilitator's drill server takes no longer name (nor do file names much longer).
    if name.len() > crate::timeline::drill::NAME_LIMIT || name == "facilitator" {
        anyhow::bail!(
            "responder name '{name}': at most {} letters, and not 'facilitator' (--responder NAME)",
            crate::timeline::drill::NAME_LIMIT
        );
    }
    Ok(name)
}

/// The start screen, when there is something to choose: earlier sessions, or run-sheets in the
/// config directory's plans/ (those in ./plans/ are offered too). The choice fills in the flags;
/// false if the user left without starting a session.
fn start_screen(cli: &mut Cli, dirs: &Dirs, theme: &Theme) -> anyhow::Result<bool> {
    use crate::app::start::{Choice, Decision, StartScreen};
    let kind = cli.backend.kind();
    // Sessions go on on the kind of system they ran on.
    let sessions: Vec<_> =
        crate::store::sessions::list(&dirs.sessions())?.into_iter().filter(|s| s.kind == kind).collect();
    let mut plans = Vec::new();
    for dir in [dirs.config.join("plans"), PathBuf::from("plans")] {
        for (path, text) in crate::config::load_toml_dir(&dir)?.0 {
            let title = match crate::config::runsheet::RunSheet::parse(&path.display().to_string(), &text) {
                Ok(p) => p.title,
                Err(e) => format!("cannot be read: {e}"),
            };
            plans.push((path, title));
        }
    }
    let in_config = plans.iter().any(|(p, _)| p.starts_with(&dirs.config));
    if sessions.is_empty() && !in_config {
        return Ok(true);
    }
    let where_ = match kind {
        "demo" => "the demo cluster",
        "docker" => "Docker",
        _ => "Kubernetes",
    };
    let dir = dirs.sessions();
    let remote = |id: &str| crate::store::sessions::join_of(&dir, id);
    match crate::runtime::start::choose(StartScreen::new(plans, &sessions, remote), theme, where_)? {
        Decision::Quit => return Ok(false),
        Decision::Start(Choice::New) => {}
        Decision::Start(Choice::RunSheet { path, .. }) => cli.plan = Some(path),
        Decision::Start(Choice::Resume { id, .. }) => cli.resume = Some(id),
        Decision::Start(Choice::Join { id, .. }) => cli.drill = Some(id),
    }
    Ok(true)
}
