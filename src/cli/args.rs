//! The command line, defined once (`--help`, the completions and the man page all come from it).

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

/// A terminal console for chaos-engineering Gamedays.
#[derive(Parser)]
#[command(version, about, long_about = None)]
pub struct Cli {
    #[command(flatten)]
    pub backend: BackendArgs,
    /// Colour theme: default, light, high-contrast, or one in the config dir's themes/.
    #[arg(long, default_value = "default")]
    pub theme: String,
    /// Probes, the steady-state hypothesis and stop conditions (TOML; see sessions/demo.toml);
    /// with --plan or `gameday run`, under the run-sheet's own.
    #[arg(long, value_name = "FILE")]
    pub session_file: Option<PathBuf>,
    /// A run-sheet to walk in the console, step by step (:next, :outcome, :skip; see plans/).
    #[arg(long, value_name = "FILE")]
    pub plan: Option<PathBuf>,
    /// Resume a session (its ID, see `gameday sessions`): the timeline goes on in its journal.
    #[arg(long, value_name = "ID", conflicts_with = "drill")]
    pub resume: Option<String>,
    /// Join a live session as a drill's responder: the topology and health, not the faults; d
    /// marks detected, m mitigated. Its ID on the same machine (or any machine on a Kubernetes
    /// cluster); ID:TOKEN@HOST:PORT, as the facilitator's :drill prints it, from another machine
    /// on the demo or Docker.
    #[arg(long, value_name = "ID", conflicts_with = "plan")]
    pub drill: Option<String>,
    /// Where this console serves its session's drill to responders on other machines (the demo,
    /// Docker), e.g. 0.0.0.0:7420 (default: loopback, any free port: this machine only).
    #[arg(long, value_name = "HOST:PORT")]
    pub drill_listen: Option<std::net::SocketAddr>,
    /// Start a new session at once, without the start screen (which offers to resume earlier
    /// sessions, walk a run-sheet or join a live one).
    #[arg(long)]
    pub new: bool,
    /// The responder's name in a drill (default: $USER).
    #[arg(long, value_name = "NAME")]
    pub responder: Option<String>,
    /// Who is at this console: the notes they write carry it (default: `user` in the config
    /// dir's config.toml, else the login name).
    #[arg(long, value_name = "NAME")]
    pub user: Option<String>,
    /// Serve Prometheus metrics at http://HOST:PORT/metrics (gameday_fault_active and more).
    #[arg(long, value_name = "HOST:PORT")]
    pub metrics_addr: Option<std::net::SocketAddr>,
    /// More detail in the log (-v debug, -vv trace): the log file in the data directory's logs/,
    /// and stderr for commands without a screen. GAMEDAY_LOG (e.g. gameday=debug) wins.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Option<Cmd>,
}

/// Which system to hold the Gameday on.
#[derive(Args, Clone)]
pub struct BackendArgs {
    /// Run against the embedded simulated cluster (Sock Shop on 3 nodes), instead of the
    /// Kubernetes cluster of the kubeconfig.
    #[arg(long, conflicts_with = "docker")]
    pub demo: bool,
    /// Run against a Docker engine (DOCKER_HOST, or the default socket), like the docker CLI.
    #[arg(long)]
    pub docker: bool,
    /// Docker: the image of the helper that runs tc in a target's network namespace (it needs
    /// a shell and iproute2's tc).
    #[arg(long, default_value = crate::backend::docker::DEFAULT_NETEM_IMAGE)]
    pub netem_image: String,
    /// Kubernetes (the default backend): the kubeconfig file (default: KUBECONFIG, then
    /// ~/.kube/config, then the in-cluster service account).
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,
    /// Kubernetes: the kubeconfig context (default: its current context).
    #[arg(long)]
    pub context: Option<String>,
    /// Kubernetes: watch and act in this namespace only (default: all namespaces).
    #[arg(short = 'n', long)]
    pub namespace: Option<String>,
    /// Kubernetes: open this namespace to faults without its gameday.dev/allow=true label (the
    /// only way to open kube-system). Repeatable.
    #[arg(long = "allow-namespace")]
    pub allow_namespace: Vec<String>,
    /// Kubernetes: the namespace of the cluster lock (a Lease every console takes before a
    /// fault, so that the whole cluster has one fault at a time).
    #[arg(long, default_value = "gameday")]
    pub lock_namespace: String,
    /// The Prometheus to read golden signals from (success, p95, rps of every service), e.g.
    /// http://prometheus.example:9090; a bearer token from GAMEDAY_PROMETHEUS_TOKEN, or basic
    /// auth from GAMEDAY_PROMETHEUS_USER and _PASSWORD. Default: `prometheus` in config.toml;
    /// on Kubernetes the cluster's own, found by itself and read through the API server; on
    /// Docker a compose service named prometheus that publishes its port.
    #[arg(long, value_name = "URL")]
    pub prometheus: Option<String>,
    /// Seed of the simulated cluster.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Simulated cluster: milliseconds between clock steps (each step is that much cluster time).
    #[arg(long, default_value_t = 1000, hide = true)]
    pub demo_tick_ms: u64,
    /// Simulated cluster: make the first N reverts fail, to rehearse an API outage.
    #[arg(long, default_value_t = 0, hide = true)]
    pub demo_fail_reverts: u32,
    /// Simulated cluster: every API call (prepare, inject, revert) takes this long, e.g. 1s, to
    /// rehearse a slow API.
    #[arg(long, value_parser = humantime::parse_duration, hide = true)]
    pub demo_api_latency: Option<Duration>,
    /// Simulated cluster: log every API call as it arrives to this file (for benchmarks).
    #[arg(long, hide = true)]
    pub demo_call_log: Option<PathBuf>,
    /// Make the console itself crash (panic) after this long, e.g. 30s, to rehearse a crash:
    /// the active fault is still reverted and the terminal restored.
    #[arg(long, value_parser = humantime::parse_duration, hide = true, requires = "demo")]
    pub demo_crash_after: Option<Duration>,
}

impl BackendArgs {
    /// The kind of system these flags name, as sessions record it (`BackendInfo::kind`).
    pub fn kind(&self) -> &'static str {
        if self.demo {
            "demo"
        } else if self.docker {
            "docker"
        } else {
            "kubernetes"
        }
    }
}

impl BackendArgs {
    /// The flags that chose this backend, to repeat in a command the user is told to run.
    pub fn flags(&self) -> String {
        let quote = |s: &str| shlex::try_quote(s).map(|q| q.into_owned()).unwrap_or_else(|_| s.to_string());
        let mut out = Vec::new();
        if self.demo {
            out.push("--demo".to_string());
        }
        if self.docker {
            out.push("--docker".to_string());
            if self.netem_image != crate::backend::docker::DEFAULT_NETEM_IMAGE {
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
pub enum Cmd {
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
pub enum CompletionShell {
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
