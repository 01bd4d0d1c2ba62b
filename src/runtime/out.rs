//! What the command line prints. Text from outside (journals, the cluster, plans) is cleaned of
//! escape sequences and control characters before it reaches a terminal or a CI log, each line
//! printed is one line whatever it holds (so a plan cannot print a forged summary), and a
//! closed stdout or stderr (SIGHUP, a pipe whose reader left) never ends in a panic, as
//! `println!` would.

use std::io::Write as _;

/// Writes `text` as one line to stdout (or stderr), cleaned and flattened (`text::flat`: a
/// line break inside it is shown, never written); errors are ignored.
pub fn line(stderr: bool, text: &str) {
    let text = crate::text::flat(text);
    let _ = if stderr {
        writeln!(std::io::stderr().lock(), "{text}")
    } else {
        writeln!(std::io::stdout().lock(), "{text}")
    };
}

/// Writes a whole document (a report) to stdout, cleaned; errors are ignored.
pub fn document(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(crate::text::clean(text).as_bytes());
    let _ = out.flush();
}

/// `println!`, cleaned and never panicking.
#[macro_export]
macro_rules! outln {
    ($($arg:tt)*) => { $crate::runtime::out::line(false, &format!($($arg)*)) };
}

/// `eprintln!`, cleaned and never panicking.
#[macro_export]
macro_rules! errln {
    ($($arg:tt)*) => { $crate::runtime::out::line(true, &format!($($arg)*)) };
}
