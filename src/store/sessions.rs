//! `gameday sessions`: the sessions in the data directory, newest first, each with what it was
//! about and how it ended (`crate::timeline::listing`).

use std::path::{Path, PathBuf};

use super::journal;
pub use crate::timeline::listing::Summary;

pub fn list(dir: &Path) -> anyhow::Result<Vec<Summary>> {
    let mut paths: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(rd) => rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => anyhow::bail!("{}: {e}", dir.display()),
    };
    paths.sort();
    paths.reverse();
    let mut out = Vec::new();
    for path in paths {
        let id = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_string();
        out.push(match journal::read(&path) {
            Ok(entries) => {
                let running = journal::in_use(&path);
                Summary::of(id, path, &entries, running)
            }
            Err(e) => Summary::unreadable(id, path, e.to_string()),
        });
    }
    Ok(out)
}

/// Where a live session's console writes the command that joins its drill from another machine
/// (it holds the join token: this user's only).
fn join_file(dir: &Path, id: &str) -> PathBuf {
    dir.join(format!("{id}.join"))
}

/// Keeps the command that joins session `id`'s drill from another machine, for the start screen
/// of a second console on this machine to list (best effort: the console says it on `:drill`),
/// and where it was served with which token, for the session's console resumed after a crash
/// to serve it there again (its responders rejoin by themselves).
pub fn write_join(dir: &Path, id: &str, command: &str, listen: std::net::SocketAddr, token: &str) {
    use std::io::Write as _;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut open = std::fs::OpenOptions::new();
    open.write(true).create(true).truncate(true);
    #[cfg(unix)]
    open.mode(0o600);
    let written = open.open(join_file(dir, id)).and_then(|mut f| writeln!(f, "{command}\nlisten {listen} {token}"));
    if let Err(e) = written {
        tracing::warn!("cannot keep the drill's join command in {}: {e}", dir.display());
    }
}

/// The command that joins live session `id`'s drill from another machine, if its console
/// serves one.
pub fn join_of(dir: &Path, id: &str) -> Option<String> {
    let text = read_join(dir, id)?;
    let line = text.lines().next()?.trim();
    (line.starts_with("gameday ") && crate::text::is_clean(line)).then(|| line.to_string())
}

/// Where session `id`'s drill was served, and with which token, when its console did not end
/// (it was killed): its resumed console serves it there again.
pub fn served_before(dir: &Path, id: &str) -> Option<(std::net::SocketAddr, String)> {
    let text = read_join(dir, id)?;
    let rest = text.lines().find_map(|l| l.strip_prefix("listen "))?;
    let (listen, token) = rest.trim().split_once(' ')?;
    let token = token.trim();
    (!token.is_empty() && token.chars().all(|c| c.is_ascii_alphanumeric()))
        .then_some((listen.parse().ok()?, token.to_string()))
}

/// What `write_join` kept for session `id` (a regular file, and small).
fn read_join(dir: &Path, id: &str) -> Option<String> {
    String::from_utf8(crate::files::read_regular(&join_file(dir, id), 4096).ok()?).ok()
}

/// The session's console has ended: its drill is no longer served.
pub fn remove_join(dir: &Path, id: &str) {
    let _ = std::fs::remove_file(join_file(dir, id));
}
