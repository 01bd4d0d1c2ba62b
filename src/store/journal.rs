//! The timeline writer: one JSONL file per session, every entry appended and flushed to disk
//! before the action it describes starts (write-ahead). The process that writes a session holds
//! an exclusive lock on its journal, so another process can tell a live session from one whose
//! process died, and append to the latter (a cleanup) without racing the former.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use crate::timeline::{Entry, EntryKind};

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
        let mut file = OpenOptions::new().create(true).append(true).read(true).open(path)?;
        match file.try_lock() {
            Ok(()) => {
                terminate_torn_line(&mut file)?;
                Ok(Journal { path: path.to_path_buf(), file })
            }
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
        self.append_all(std::slice::from_ref(entry))
    }

    /// Appends entries as lines and makes them durable with one sync. If anything fails (a full
    /// disk), the file is cut back to where it was, so no torn line is left in its middle and the
    /// same entries can be written again later.
    pub fn append_all(&mut self, entries: &[Entry]) -> std::io::Result<()> {
        let mut lines = Vec::new();
        for e in entries {
            serde_json::to_writer(&mut lines, e).map_err(std::io::Error::other)?;
            lines.push(b'\n');
        }
        let before = self.file.metadata()?.len();
        let written = self.file.write_all(&lines).and_then(|()| self.file.flush()).and_then(|()| self.file.sync_data());
        if written.is_err() {
            let _ = self.file.set_len(before);
        }
        written
    }
}

/// A file whose last line was torn (the process died mid-write) gets its newline first, so
/// what is appended starts a line of its own.
fn terminate_torn_line(file: &mut File) -> std::io::Result<()> {
    use std::io::{Read, Seek, SeekFrom};
    let len = file.metadata()?.len();
    if len == 0 {
        return Ok(());
    }
    let mut last = [0u8; 1];
    file.seek(SeekFrom::Start(len - 1))?;
    file.read_exact(&mut last)?;
    if last[0] != b'\n' {
        file.write_all(b"\n")?;
        file.sync_data()?;
    }
    Ok(())
}

/// Whether a live process holds this session's journal.
pub fn in_use(path: &Path) -> bool {
    let Ok(file) = crate::files::open_regular(path) else { return false };
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
    let file = crate::files::open_regular(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let mut line = Vec::new();
    BufReader::new(std::io::Read::take(file, LINE_LIMIT as u64))
        .read_until(b'\n', &mut line)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    if !line.ends_with(b"\n") {
        return Ok(None);
    }
    parse_line(&line).map(Some).map_err(|e| anyhow::anyhow!("{}:1: {e}", path.display()))
}

/// One line of a journal. Text in it is cleaned of escape sequences and control characters (it
/// may come from another console, another version or a hand edit). A line that is an entry of
/// a kind or shape this version does not know is kept as `Unknown`; only a line that is not an
/// entry at all is an error.
pub fn parse_line(line: &[u8]) -> Result<Entry, String> {
    let mut v: serde_json::Value = serde_json::from_slice(line).map_err(|e| format!("not a timeline entry: {e}"))?;
    crate::text::clean_json(&mut v);
    match serde_json::from_value::<Entry>(v.clone()) {
        Ok(e) => Ok(e),
        Err(e) => {
            let (Some(seq), Some(t_ms)) = (v["seq"].as_u64(), v["t_ms"].as_u64()) else {
                return Err(format!("not a timeline entry: {e}"));
            };
            let wall = serde_json::from_value(v["wall"].clone()).map_err(|_| format!("not a timeline entry: {e}"))?;
            let name = v["kind"].as_str().unwrap_or("?").to_string();
            let mut fields = v;
            if let Some(map) = fields.as_object_mut() {
                for k in ["seq", "wall", "t_ms", "kind"] {
                    map.remove(k);
                }
            }
            Ok(Entry { seq, wall, t_ms, kind: EntryKind::Unknown { name, fields } })
        }
    }
}

/// A journal read back: its entries, and what had to be passed over (each naming file:line).
#[derive(Debug, Default)]
pub struct Read {
    pub entries: Vec<Entry>,
    pub warnings: Vec<String>,
}

/// The most a journal is read of: far more than a day of faults writes.
pub const JOURNAL_LIMIT: u64 = 512 * 1024 * 1024;
/// The longest entry read; gameday's are a few KiB.
pub const LINE_LIMIT: usize = 1024 * 1024;

/// Reads a journal back, tolerating what crashes and upgrades leave: a torn last line (the
/// process died mid-write) and a line that is not an entry are passed over with a warning that
/// names file and line; entries of unknown kinds are kept as such. A journal is a record, read
/// as one: a line whose number was read before (a copy, a bad merge) is passed over, and lines
/// out of order (a revert before its inject) are read in the order they were written, each said
/// with file:line, so no fault is invented or ends before it began. A file whose first line is
/// not an entry is not a journal: that is an error; so is what is no regular file (a FIFO, a
/// device) or larger than `JOURNAL_LIMIT`, never waited on nor read to its end.
pub fn read_all(path: &Path) -> anyhow::Result<Read> {
    let bytes =
        crate::files::read_regular(path, JOURNAL_LIMIT).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let mut out = Read::default();
    // Each entry's number, and the line it was read on.
    let mut seen: std::collections::HashMap<u64, usize> = std::collections::HashMap::new();
    let mut highest: Option<(u64, usize)> = None;
    let mut reordered = false;
    let mut lines = bytes.split_inclusive(|b| *b == b'\n').enumerate().peekable();
    while let Some((i, line)) = lines.next() {
        let at = format!("{}:{}", path.display(), i + 1);
        if !line.ends_with(b"\n") && lines.peek().is_none() {
            out.warnings.push(format!("{at}: a torn last line (the console died while writing it) was skipped"));
            break;
        }
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        if line.len() > LINE_LIMIT {
            let mib = LINE_LIMIT / (1024 * 1024);
            match out.entries.is_empty() {
                true => anyhow::bail!("{at}: a line longer than {mib} MiB: not a journal gameday wrote"),
                false => out.warnings.push(format!("{at}: skipped: a line longer than {mib} MiB")),
            }
            continue;
        }
        match parse_line(line) {
            Ok(e) => {
                if let Some(first) = seen.get(&e.seq) {
                    out.warnings.push(format!(
                        "{at}: entry {} again (first on line {first}): passed over, the first one is read",
                        e.seq
                    ));
                    continue;
                }
                if let Some((top, top_line)) = highest.filter(|(top, _)| e.seq < *top) {
                    out.warnings.push(format!(
                        "{at}: entry {} comes after entry {top} (line {top_line}): out of order, read in the order \
                         they were written",
                        e.seq
                    ));
                    reordered = true;
                }
                if let EntryKind::Unknown { name, .. } = &e.kind {
                    out.warnings
                        .push(format!("{at}: an entry of a kind this version does not know ({name}) is kept as it is"));
                }
                seen.insert(e.seq, i + 1);
                if highest.is_none_or(|(top, _)| e.seq > top) {
                    highest = Some((e.seq, i + 1));
                }
                out.entries.push(e)
            }
            Err(e) if out.entries.is_empty() => anyhow::bail!("{at}: {e}"),
            Err(e) => out.warnings.push(format!("{at}: skipped: {e}")),
        }
    }
    if reordered {
        out.entries.sort_by_key(|e| e.seq);
    }
    Ok(out)
}

/// The entries of a journal (see `read_all`; its warnings are dropped).
pub fn read(path: &Path) -> anyhow::Result<Vec<Entry>> {
    read_all(path).map(|r| r.entries)
}
