//! `gameday`: parses the command line and runs it (`gameday::cli`).

fn main() -> std::process::ExitCode {
    gameday::cli::main()
}
