//! The timeline writer: one JSONL file per session, every entry appended and flushed to disk
//! before the action it describes starts (write-ahead). The process that writes a session holds
//! an exclusive lock on its journal, so another process can tell a live session from one whose
//! process died, and append to the latter (a cleanup) without racing the former.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use super::entry::{Entry, EntryKind};

pub struct Journal {
    path: PathBuf,
    file: File,
}

impl Journal {
    /// Opens (creating if needed) the journal for appending, and locks it. Fails if another
    /// live process writes this session.
    pub fn open(path: &Path) -> std::io::Result<Journal> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        match file.try_lock() {
            Ok(()) => Ok(Journal { path: path.to_path_buf(), file }),
            Err(TryLockError::WouldBlock) => Err(std::io::Error::new(
                std::io::ErrorKind::WouldBlock,
                format!("{} is in use by another gameday process", path.display()),
            )),
            Err(TryLockError::Error(e)) => Err(e),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one entry as a line and makes it durable (flush + fdatasync).
    pub fn append(&mut self, entry: &Entry) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(entry).map_err(std::io::Error::other)?;
        line.push(b'\n');
        self.file.write_all(&line)?;
        self.file.flush()?;
        self.file.sync_data()
    }
}

/// Whether a live process holds this session's journal.
pub fn in_use(path: &Path) -> bool {
    let Ok(file) = File::open(path) else { return false };
    matches!(file.try_lock(), Err(TryLockError::WouldBlock))
}

/// An existing session's journal, reopened to append to it: entries continue its numbering
/// and its clock (time since that session started).
pub struct Reopened {
    journal: Journal,
    seq: u64,
    start: DateTime<Utc>,
}

impl Reopened {
    /// `Ok(None)` if a live process still writes it.
    pub fn open(path: &Path) -> anyhow::Result<Option<Reopened>> {
        if in_use(path) {
            return Ok(None);
        }
        let entries = read(path)?;
        let start =
            entries.first().map(|e| e.wall - chrono::Duration::milliseconds(e.t_ms as i64)).unwrap_or_else(Utc::now);
        let seq = entries.last().map(|e| e.seq).unwrap_or(0);
        match Journal::open(path) {
            Ok(journal) => Ok(Some(Reopened { journal, seq, start })),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Ok(None),
            Err(e) => Err(anyhow::anyhow!("{}: {e}", path.display())),
        }
    }

    pub fn record(&mut self, kind: EntryKind, now: DateTime<Utc>) -> std::io::Result<()> {
        self.seq += 1;
        let t_ms = (now - self.start).num_milliseconds().max(0) as u64;
        self.journal.append(&Entry { seq: self.seq, wall: now, t_ms, kind })
    }
}

/// A journal's first entry (its session start), without reading the rest; `None` if it has
/// no complete line yet.
pub fn first(path: &Path) -> anyhow::Result<Option<Entry>> {
    let file = File::open(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let mut line = String::new();
    BufReader::new(file).read_line(&mut line).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    if !line.ends_with('\n') {
        return Ok(None);
    }
    serde_json::from_str(&line)
        .map(Some)
        .map_err(|e| anyhow::anyhow!("{}:1: not a timeline entry: {e}", path.display()))
}

/// Reads a journal back. A line that is not an entry is an error naming file and line; a torn
/// last line (the process died mid-write) is skipped.
pub fn read(path: &Path) -> anyhow::Result<Vec<Entry>> {
    let file = File::open(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let lines: Vec<String> = BufReader::new(file)
        .lines()
        .collect::<Result<_, _>>()
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let mut out = Vec::with_capacity(lines.len());
    for (i, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Entry>(line) {
            Ok(e) => out.push(e),
            Err(_) if i + 1 == lines.len() && !line.ends_with('}') => break,
            Err(e) => anyhow::bail!("{}:{}: not a timeline entry: {e}", path.display(), i + 1),
        }
    }
    Ok(out)
}
