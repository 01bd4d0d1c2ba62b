//! The command-line history, per user (one file in the data directory), across sessions: read
//! at start (cleaned: it is text from outside), one line appended per command run.

use std::io::Write as _;
use std::path::Path;

use crate::app::input::HISTORY;

/// The commands kept, oldest first (the newest `HISTORY`). A file grown to twice that is cut
/// back to them.
pub fn load(path: &Path) -> Vec<String> {
    let Ok(bytes) = crate::files::read_regular(path, 1024 * 1024) else { return Vec::new() };
    let text = String::from_utf8_lossy(&bytes);
    let lines: Vec<String> =
        text.lines().map(|l| crate::text::one_line(l).trim().to_string()).filter(|l| !l.is_empty()).collect();
    let keep = lines[lines.len().saturating_sub(HISTORY)..].to_vec();
    if lines.len() > 2 * HISTORY {
        let _ = std::fs::write(path, keep.iter().map(|l| format!("{l}\n")).collect::<String>());
    }
    keep
}

pub fn append(path: &Path, line: &str) {
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    if let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(path) {
        let _ = writeln!(f, "{line}");
    }
}
