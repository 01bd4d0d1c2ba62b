//! The exit-code policy, in one place: what a process's end says to whoever started it.

use std::process::ExitCode;

/// How `gameday` ends. README's "Exit codes" lists these.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Exit {
    /// Everything as asked.
    Clean = 0,
    /// Bad input (a broken preset, theme, run-sheet or journal: the message names the file and
    /// line); a run-sheet step that did not hold or did not run; a dry run that found a step
    /// that could not run.
    Failed = 1,
    /// A fault could not be confirmed reverted (it is named on stderr).
    NotReverted = 2,
    /// The console crashed (its fault was still reverted).
    Crashed = 3,
    /// The command line itself was wrong (an unknown flag, a missing argument): nothing ran.
    /// BSD's EX_USAGE, apart from the codes above that a pipeline acts on.
    Usage = 64,
}

impl Exit {
    pub fn code(self) -> ExitCode {
        ExitCode::from(self as u8)
    }

    /// Clean when `ok`, else `otherwise`.
    pub fn unless(ok: bool, otherwise: Exit) -> Exit {
        if ok {
            Exit::Clean
        } else {
            otherwise
        }
    }

    /// How a session ended: a fault not confirmed reverted says more than a crash (whose fault
    /// was reverted), which says more than steps that did not hold.
    pub fn of_session(left_behind: bool, crashed: bool, steps_failed: bool) -> Exit {
        match (left_behind, crashed, steps_failed) {
            (true, _, _) => Exit::NotReverted,
            (false, true, _) => Exit::Crashed,
            (false, false, true) => Exit::Failed,
            _ => Exit::Clean,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fault_left_behind_says_most() {
        assert_eq!(Exit::of_session(true, true, true), Exit::NotReverted);
        assert_eq!(Exit::of_session(false, true, true), Exit::Crashed);
        assert_eq!(Exit::of_session(false, false, true), Exit::Failed);
        assert_eq!(Exit::of_session(false, false, false), Exit::Clean);
        assert_eq!(Exit::unless(false, Exit::NotReverted) as u8, 2);
    }
}
