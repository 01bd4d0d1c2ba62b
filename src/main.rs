use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, CommandFactory as _, Parser, Subcommand};

use gameday::backend::docker::DockerBackend;
use gameday::backend::kube::{KubeBackend, KubeOptions};
use gameday::backend::sim::SimBackend;
use gameday::backend::Backend;
use gameday::config::Dirs;
use gameday::config::{preset, theme};
use gameday::runtime::cleanup::Which;
use gameday::runtime::{self, Options};
use gameday::store::journal;
use gameday::timeline::report;

/// A terminal console for chaos-engineering Gamedays.
#[derive(Parser)]
#[command(version, about, long_about = None)]
struct Cli {
    #[command(flatten)]
    backend: BackendArgs,
    /// Colour theme: default, light, high-contrast, or one in the config dir's themes/.
    #[arg(long, default_value = "default")]
    theme: String,
    /// Probes, the steady-state hypothesis and stop conditions (TOML; see sessions/demo.toml).
    #[arg(long, value_name = "FILE", conflicts_with = "plan")]
    session_file: Option<PathBuf>,
    /// A run-sheet to walk in the console, step by step (:next, :outcome, :skip; see plans/).
    #[arg(long, value_name = "FILE")]
    plan: Option<PathBuf>,
    /// Resume a session (its ID, see `gameday sessions`): the timeline goes on in its journal.
    #[arg(long, value_name = "ID", conflicts_with = "drill")]
    resume: Option<String>,
    /// Join a live session (its ID) as a drill's responder: the topology and health, not the
    /// faults; d marks detected, m mitigated. Run it in a second terminal on the same machine.
    #[arg(long, value_name = "ID", conflicts_with = "plan")]
    drill: Option<String>,
    /// Start a new session at once, without the start screen (which offers to resume earlier
    /// sessions, walk a run-sheet or join a live one).
    #[arg(long)]
    new: bool,
    /// The responder's name in a drill (default: $USER).
    #[arg(long, value_name = "NAME")]
    responder: Option<String>,
    /// Who is at this console: the notes they write carry it (default: `user` in the config
    /// dir's config.toml, else the login name).
    #[arg(long, value_name = "NAME")]
    user: Option<String>,
    /// Serve Prometheus metrics at http://HOST:PORT/metrics (gameday_fault_active and more).
    #[arg(long, value_name = "HOST:PORT")]
    metrics_addr: Option<std::net::SocketAddr>,
    /// More detail in the log (-v debug, -vv trace): the log file in the data directory's logs/,
    /// and stderr for commands without a screen. GAMEDAY_LOG (e.g. gameday=debug) wins.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    #[command(subcommand)]
    command: Option<Cmd>,
}

/// Which system to hold the Gameday on.
#[derive(Args, Clone)]
struct BackendArgs {
    /// Run against the embedded simulated cluster (Sock Shop on 3 nodes), instead of the
    /// Kubernetes cluster of the kubeconfig.
    #[arg(long, conflicts_with = "docker")]
    demo: bool,
    /// Run against a Docker engine (DOCKER_HOST, or the default socket), like the docker CLI.
    #[arg(long)]
    docker: bool,
    /// Docker: the image of the helper that runs tc in a target's network namespace (it needs
    /// a shell and iproute2's tc).
    #[arg(long, default_value = gameday::backend::docker::DEFAULT_NETEM_IMAGE)]
    netem_image: String,
    /// Kubernetes (the default backend): the kubeconfig file (default: KUBECONFIG, then
    /// ~/.kube/config, then the in-cluster service account).
    #[arg(long)]
    kubeconfig: Option<PathBuf>,
    /// Kubernetes: the kubeconfig context (default: its current context).
    #[arg(long)]
    context: Option<String>,
    /// Kubernetes: watch and act in this namespace only (default: all namespaces).
    #[arg(short = 'n', long)]
    namespace: Option<String>,
    /// Kubernetes: open this namespace to faults without its gameday.dev/allow=true label (the
    /// only way to open kube-system). Repeatable.
    #[arg(long = "allow-namespace")]
    allow_namespace: Vec<String>,
    /// Kubernetes: the namespace of the cluster lock (a Lease every console takes before a
    /// fault, so that the whole cluster has one fault at a time).
    #[arg(long, default_value = "gameday")]
    lock_namespace: String,
    /// Seed of the simulated cluster.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Simulated cluster: milliseconds between clock steps (each step is that much cluster time).
    #[arg(long, default_value_t = 1000, hide = true)]
    demo_tick_ms: u64,
    /// Simulated cluster: make the first N reverts fail, to rehearse an API outage.
    #[arg(long, default_value_t = 0, hide = true)]
    demo_fail_reverts: u32,
    /// Simulated cluster: every API call (prepare, inject, revert) takes this long, e.g. 1s, to
    /// rehearse a slow API.
    #[arg(long, value_parser = humantime::parse_duration, hide = true)]
    demo_api_latency: Option<Duration>,
    /// Simulated cluster: log every API call as it arrives to this file (for benchmarks).
    #[arg(long, hide = true)]
    demo_call_log: Option<PathBuf>,
    /// Make the console itself crash (panic) after this long, e.g. 30s, to rehearse a crash:
    /// the active fault is still reverted and the terminal restored.
    #[arg(long, value_parser = humantime::parse_duration, hide = true, requires = "demo")]
    demo_crash_after: Option<Duration>,
}

impl BackendArgs {
    /// The flags that chose this backend, to repeat in a command the user is told to run.
    fn flags(&self) -> String {
        let quote = |s: &str| shlex::try_quote(s).map(|q| q.into_owned()).unwrap_or_else(|_| s.to_string());
        let mut out = Vec::new();
        if self.demo {
            out.push("--demo".to_string());
        }
        if self.docker {
            out.push("--docker".to_string());
            if self.netem_image != gameday::backend::docker::DEFAULT_NETEM_IMAGE {
                out.push(format!("--netem-image {}", quote(&self.netem_image)));
            }
        }
        if let Some(k) = &self.kubeconfig {
            out.push(format!("--kubeconfig {}", quote(&k.to_string_lossy())));
        }
        if let Some(c) = &self.context {
            out.push(format!("--context {}", quote(c)));
        }
        if let Some(n) = &self.namespace {
            out.push(format!("-n {}", quote(n)));
        }
        out.join(" ")
    }
}

#[derive(Subcommand)]
enum Cmd {
    /// Write the Markdown report of a session journal.
    Report {
        /// The session's .jsonl journal.
        journal: PathBuf,
        /// Output file (default: standard output).
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// markdown (the report) or json (the same data, for tools).
        #[arg(long, default_value = "markdown", value_parser = ["markdown", "json"])]
        format: String,
    },
    /// Walk a run-sheet without a screen (for CI): each step's fault in turn, its hypothesis
    /// checked and its stop conditions applied. Exits 1 if a step's hypothesis did not hold,
    /// 2 if a fault could not be confirmed reverted.
    Run {
        /// The run-sheet (TOML; see plans/demo.toml).
        plan: PathBuf,
        /// Write the Markdown report here.
        #[arg(long)]
        report: Option<PathBuf>,
        /// Write a JUnit XML file here (one test case per step).
        #[arg(long)]
        junit: Option<PathBuf>,
        /// Print only the closing summary line (and errors), not one line per event.
        #[arg(short, long)]
        quiet: bool,
        /// Resolve every step against the live system and print what it would touch (targets,
        /// blast radius, whether the namespace is open and the engine there, the hypothesis),
        /// read-only: nothing is changed. Exits 0 if every step could run, 1 otherwise.
        #[arg(long, conflicts_with_all = ["report", "junit", "metrics_addr"])]
        dry_run: bool,
        /// Serve Prometheus metrics at http://HOST:PORT/metrics while the run goes.
        #[arg(long, value_name = "HOST:PORT")]
        metrics_addr: Option<std::net::SocketAddr>,
        #[command(flatten)]
        backend: BackendArgs,
    },
    /// List the sessions in the data directory, newest first.
    Sessions,
    /// Print the completion script for a shell (see README: Install).
    Completions {
        #[arg(value_enum)]
        shell: CompletionShell,
    },
    /// Print the manual page (roff), e.g. `gameday man > ~/.local/share/man/man1/gameday.1`.
    Man,
    /// Find faults that earlier sessions left behind (their journals and the markers on what
    /// they changed) and revert them.
    Cleanup {
        /// Revert every fault found.
        #[arg(long, conflicts_with = "session")]
        all: bool,
        /// Revert the faults of one session (its ID, as in its journal's name).
        #[arg(long)]
        session: Option<String>,
        #[command(flatten)]
        backend: BackendArgs,
    },
    /// End every fault at its deadline, with no console alive (headless, long-running).
    ///
    /// Every fault whose console went silent past its lease, or that is past its deadline, is
    /// reverted by its markers. Logs each action; stops on SIGTERM. deploy/watchdog.yaml runs it
    /// in the cluster.
    Watchdog {
        #[command(flatten)]
        backend: BackendArgs,
    },
}

/// The shells `gameday completions` writes for.
#[derive(Clone, Copy, clap::ValueEnum)]
enum CompletionShell {
    Bash,
    Zsh,
    Fish,
}

impl From<CompletionShell> for clap_complete::Shell {
    fn from(s: CompletionShell) -> Self {
        match s {
            CompletionShell::Bash => clap_complete::Shell::Bash,
            CompletionShell::Zsh => clap_complete::Shell::Zsh,
            CompletionShell::Fish => clap_complete::Shell::Fish,
        }
    }
}

/// Generated text, as it is (a closed stdout is no error).
fn raw_out(bytes: &[u8]) {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(bytes).and_then(|_| out.flush());
}

fn main() -> ExitCode {
    match real_main() {
        Ok(code) => code,
        Err(e) => {
            gameday::errln!("gameday: {e:#}");
            ExitCode::from(1)
        }
    }
}

/// The responder's name: given, or the user's; it names their file, so letters, digits, - and _.
fn responder_name(given: Option<&str>) -> anyhow::Result<String> {
    let name = given.map(str::to_string).or_else(|| std::env::var("USER").ok()).unwrap_or_else(|| "responder".into());
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        anyhow::bail!("responder name '{name}': use letters, digits, - and _ (--responder NAME)");
    }
    Ok(name)
}

/// The start screen, when there is something to choose: earlier sessions, or run-sheets in the
/// config directory's plans/ (those in ./plans/ are offered too). The choice fills in the flags;
/// false if the user left without starting a session.
fn start_screen(cli: &mut Cli, dirs: &Dirs, theme: &theme::Theme) -> anyhow::Result<bool> {
    use gameday::app::start::{Choice, Decision, StartScreen};
    let b = &cli.backend;
    let kind = if b.demo {
        "demo"
    } else if b.docker {
        "docker"
    } else {
        "kubernetes"
    };
    // Sessions go on on the kind of system they ran on.
    let sessions: Vec<_> =
        gameday::store::sessions::list(&dirs.sessions())?.into_iter().filter(|s| s.kind == kind).collect();
    let mut plans = Vec::new();
    for dir in [dirs.config.join("plans"), PathBuf::from("plans")] {
        for (path, text) in gameday::config::load_toml_dir(&dir)?.0 {
            let title = match gameday::config::runsheet::RunSheet::parse(&path.display().to_string(), &text) {
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
    match gameday::runtime::start::choose(StartScreen::new(plans, &sessions), theme, where_)? {
        Decision::Quit => return Ok(false),
        Decision::Start(Choice::New) => {}
        Decision::Start(Choice::RunSheet { path, .. }) => cli.plan = Some(path),
        Decision::Start(Choice::Resume { id, .. }) => cli.resume = Some(id),
        Decision::Start(Choice::Join { id, .. }) => cli.drill = Some(id),
    }
    Ok(true)
}

/// The backend of the flags; `responder`: a drill's responder, whose demo cluster replays the
/// facilitator's faults without saying what they do.
async fn connect(args: &BackendArgs, responder: bool) -> anyhow::Result<Arc<dyn Backend>> {
    if args.docker {
        return Ok(Arc::new(DockerBackend::connect(&args.netem_image).await?));
    }
    if !args.demo {
        let opts = KubeOptions {
            kubeconfig: args.kubeconfig.clone(),
            context: args.context.clone(),
            namespace: args.namespace.clone(),
            allow: args.allow_namespace.clone(),
            lock_namespace: args.lock_namespace.clone(),
        };
        return Ok(Arc::new(KubeBackend::connect(&opts).await?));
    }
    let sim = SimBackend::new(args.seed, Duration::from_millis(args.demo_tick_ms.max(10)))
        .with_api_latency(args.demo_api_latency.unwrap_or_default())
        .with_call_log(args.demo_call_log.clone());
    sim.fail_next_reverts(args.demo_fail_reverts);
    if responder {
        sim.hide_fault_events();
    }
    Ok(Arc::new(sim))
}

fn real_main() -> anyhow::Result<ExitCode> {
    let started = std::time::Instant::now();
    let mut cli = Cli::parse();
    // Generated from the same CLI definition, needing nothing else (no data directory).
    match cli.command {
        Some(Cmd::Completions { shell }) => {
            let mut out = Vec::new();
            clap_complete::generate(clap_complete::Shell::from(shell), &mut Cli::command(), "gameday", &mut out);
            raw_out(&out);
            return Ok(ExitCode::SUCCESS);
        }
        Some(Cmd::Man) => {
            let mut out = Vec::new();
            clap_mangen::Man::new(Cli::command()).render(&mut out)?;
            raw_out(&out);
            return Ok(ExitCode::SUCCESS);
        }
        _ => {}
    }
    let dirs = Dirs::from_env()?;
    // Logs start once there is something to log (the config is good): commands without a
    // screen log to stderr too, the console only to its file.
    let verbose = cli.verbose;
    let start_log = |stderr: bool| {
        let guard = runtime::logging::init(&dirs.data, stderr, verbose);
        tracing::info!(version = env!("CARGO_PKG_VERSION"), args = ?std::env::args().skip(1).collect::<Vec<_>>(), "gameday starts");
        guard
    };
    let rt = || tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build();
    match cli.command {
        Some(Cmd::Report { journal: path, output, format }) => {
            let read = journal::read_all(&path)?;
            for w in &read.warnings {
                gameday::errln!("warning: {w}");
            }
            let entries = read.entries;
            let md = match format.as_str() {
                "json" => format!("{:#}\n", gameday::timeline::json::render(&entries)),
                _ => report::render(&entries),
            };
            match output {
                Some(out) => gameday::store::report::write(&out, &md)
                    .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", out.display()))?,
                None => gameday::runtime::out::document(&md),
            }
            return Ok(ExitCode::SUCCESS);
        }
        Some(Cmd::Cleanup { all, session, backend }) => {
            let which = match (all, session) {
                (true, _) => Which::All,
                (false, Some(id)) => Which::Session(id),
                (false, None) => Which::List,
            };
            let _log = start_log(true);
            let rt = rt()?;
            let again = format!("gameday cleanup {}", backend.flags());
            let ok = rt.block_on(async {
                let backend = connect(&backend, false).await?;
                runtime::cleanup::run(backend, &dirs.sessions(), which, again.trim_end()).await
            })?;
            return Ok(if ok { ExitCode::SUCCESS } else { ExitCode::from(2) });
        }
        Some(Cmd::Watchdog { backend }) => {
            if backend.demo {
                anyhow::bail!("the demo cluster lives in its console: a watchdog is for Kubernetes or Docker");
            }
            let who = format!("gameday-watchdog@{}", gameday::store::machine::host_name());
            rt()?.block_on(async {
                let backend = connect(&backend, false).await?;
                let log = |line: &str| gameday::outln!("{} watchdog: {line}", runtime::watchdog::stamp());
                runtime::watchdog::run(backend, &who, runtime::watchdog::signalled(), log)
                    .await
                    .map_err(anyhow::Error::msg)
            })?;
            return Ok(ExitCode::SUCCESS);
        }
        Some(Cmd::Sessions) => {
            let all = gameday::store::sessions::list(&dirs.sessions())?;
            if all.is_empty() {
                gameday::outln!("No sessions yet in {}.", dirs.sessions().display());
            }
            for s in all {
                let about = s.title.as_deref().map(|t| format!(" \"{t}\"")).unwrap_or_default();
                let steps = s.steps.as_deref().map(|t| format!(", steps: {t}")).unwrap_or_default();
                gameday::outln!(
                    "{}{about}  {}  on {}  {} fault(s){steps}  {}",
                    s.id,
                    s.started,
                    s.target,
                    s.faults,
                    s.state
                );
                gameday::outln!("    {}", s.journal.display());
            }
            return Ok(ExitCode::SUCCESS);
        }
        Some(Cmd::Run { .. } | Cmd::Completions { .. } | Cmd::Man) | None => {}
    }
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
    let steady = match &cli.session_file {
        Some(path) => gameday::config::session_file::SessionConfig::load(path)?,
        None => Default::default(),
    };
    let load_plan = |p: &std::path::Path| gameday::config::runsheet::RunSheet::load(p, &presets);
    let (mut plan, headless, report_to, junit_to) = match &cli.command {
        Some(Cmd::Run { plan, report, junit, .. }) => (Some(load_plan(plan)?), true, report.clone(), junit.clone()),
        _ => (cli.plan.as_deref().map(load_plan).transpose()?, false, None, None),
    };
    if let Some(Cmd::Run { dry_run: true, backend, .. }) = &cli.command {
        let plan = plan.ok_or_else(|| anyhow::anyhow!("no run-sheet"))?;
        let _log = start_log(true);
        let rt = rt()?;
        let ok = rt.block_on(async {
            let backend = connect(backend, false).await?;
            runtime::dry_run::run(backend, plan, presets, themes, theme).await
        })?;
        return Ok(if ok { ExitCode::SUCCESS } else { ExitCode::from(1) });
    }
    // The console draws on a terminal and reads keys from one: without it, say so before any
    // session is created (broken config files are said first: they are what to fix).
    if cli.command.is_none() && (!std::io::stdin().is_terminal() || !std::io::stdout().is_terminal()) {
        gameday::errln!("gameday needs a terminal (use `gameday run` for headless)");
        return Ok(ExitCode::from(1));
    }
    let chosen = cli.plan.is_some() || cli.resume.is_some() || cli.drill.is_some() || cli.session_file.is_some();
    let ask = cli.command.is_none() && !cli.new && !chosen;
    if ask {
        if !start_screen(&mut cli, &dirs, &theme)? {
            return Ok(ExitCode::SUCCESS);
        }
        // The start screen may have picked a run-sheet.
        plan = cli.plan.as_deref().map(load_plan).transpose()?;
    }
    let user = gameday::config::user(cli.user.as_deref(), &dirs.config)?;
    let _log = start_log(headless);
    let rt = rt()?;
    // `gameday run` takes its own backend flags (after its plan); the console takes them at the top.
    let backend_args = match &cli.command {
        Some(Cmd::Run { backend, .. }) => backend.clone(),
        _ => cli.backend.clone(),
    };
    let backend = rt.block_on(connect(&backend_args, cli.drill.is_some()))?;
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
                gameday::outln!("Metrics at http://{bound}/metrics");
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
        drill: match &cli.drill {
            Some(id) => Some((id.clone(), responder_name(cli.responder.as_deref())?)),
            None => None,
        },
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
            gameday::outln!("{text}");
        }
    };
    say(format!("Session journal: {}", outcome.journal.display()));
    match &outcome.report {
        Some(Ok(path)) => say(format!("Report:          {}", path.display())),
        Some(Err(e)) => gameday::errln!("The report could not be written: {e}"),
        None => {}
    }
    let session = outcome.journal.file_stem().and_then(|s| s.to_str()).unwrap_or("?").to_string();
    let mut code = 0u8;
    let mut entries = Vec::new();
    if headless {
        entries = journal::read(&outcome.journal)?;
        if let Some(out) = &report_to {
            gameday::store::report::write(out, &report::render(&entries))
                .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", out.display()))?;
            say(format!("Report written:  {}", out.display()));
        }
        if let Some(out) = &junit_to {
            gameday::store::report::write(out, &gameday::timeline::junit::render(&entries))
                .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", out.display()))?;
            say(format!("JUnit written:   {}", out.display()));
        }
        let not_held = gameday::app::runsheet::not_held(&entries);
        if not_held > 0 {
            gameday::errln!("{not_held} step(s) did not hold their hypothesis");
            code = 1;
        }
        let not_run = gameday::app::runsheet::not_run(&entries);
        if not_run > 0 {
            for e in &entries {
                if let gameday::timeline::EntryKind::Console { message, warning: true } = &e.kind {
                    gameday::errln!("{message}");
                }
            }
            gameday::errln!("{not_run} step(s) did not run");
            code = 1;
        }
    }
    if let Some((n, error)) = &outcome.unsaved {
        gameday::errln!(
            "WARNING: {n} timeline entr{} could not be written to the journal ({error}); the journal ends before them",
            if *n == 1 { "y" } else { "ies" }
        );
    }
    if !outcome.left_behind.is_empty() {
        gameday::errln!("WARNING: these faults were NOT confirmed reverted and may still be active:");
        for f in &outcome.left_behind {
            gameday::errln!("  {f}");
        }
        gameday::errln!("Revert them with `gameday cleanup --session {session}` (same backend flags).");
        code = 2;
    } else if let Some(crash) = &outcome.crash {
        gameday::errln!("gameday crashed ({crash}); every fault it had injected was reverted (see the journal)");
        code = 3;
    }
    if headless {
        let took = started.elapsed().as_millis() as u64;
        gameday::outln!("{}", gameday::timeline::ci::summary(&entries, outcome.left_behind.len(), took, code));
    }
    Ok(ExitCode::from(code))
}
