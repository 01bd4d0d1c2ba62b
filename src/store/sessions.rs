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
