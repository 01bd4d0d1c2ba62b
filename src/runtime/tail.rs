//! Reads other consoles' journals as they grow (`tail -f`), for drills on one machine (the demo,
//! Docker; on Kubernetes the drill channel carries them instead): the responder follows the
//! facilitator's session, the facilitator follows each responder's marks. Polls every
//! `POLL`; only complete lines are read, so a line being written is picked up next time.

use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::sync::mpsc::UnboundedSender;

use crate::app::Event;
use crate::timeline::Entry;

pub const POLL: Duration = Duration::from_millis(250);

/// Where a responder writes their marks: `<sessions>/drills/<session>.<responder>.jsonl`.
pub fn responder_file(sessions: &Path, session: &str, responder: &str) -> PathBuf {
    sessions.join("drills").join(format!("{session}.{responder}.jsonl"))
}

/// Follows the files of `dir` that `name_of` names (their peer's name), from their start, and
/// sends their new entries as `Event::Peer`. Runs on its own thread until the UI loop is gone.
pub fn spawn(dir: PathBuf, name_of: impl Fn(&Path) -> Option<String> + Send + 'static, tx: UnboundedSender<Event>) {
    std::thread::spawn(move || {
        let mut files: BTreeMap<PathBuf, Follow> = BTreeMap::new();
        loop {
            if let Ok(list) = std::fs::read_dir(&dir) {
                for path in list.filter_map(|e| e.ok().map(|e| e.path())) {
                    if let Some(name) = name_of(&path) {
                        files.entry(path).or_insert_with(|| Follow { name, offset: 0, partial: Vec::new() });
                    }
                }
            }
            for (path, f) in files.iter_mut() {
                let entries = f.read_new(path);
                if !entries.is_empty() && tx.send(Event::Peer { from: f.name.clone(), entries }).is_err() {
                    return;
                }
            }
            if tx.is_closed() {
                return;
            }
            std::thread::sleep(POLL);
        }
    });
}

struct Follow {
    name: String,
    offset: u64,
    /// The start of a line not yet complete.
    partial: Vec<u8>,
}

impl Follow {
    fn read_new(&mut self, path: &Path) -> Vec<Entry> {
        // A FIFO or device under a journal's name is never waited on; a read takes what a few
        // polls could hold, and a line that never ends is let go.
        let Ok(file) = crate::files::open_regular(path) else { return Vec::new() };
        let mut file = file.take(crate::store::journal::LINE_LIMIT as u64 * 16);
        let mut buf = Vec::new();
        if file.get_mut().seek(SeekFrom::Start(self.offset)).is_err() || file.read_to_end(&mut buf).is_err() {
            return Vec::new();
        }
        self.offset += buf.len() as u64;
        self.partial.extend_from_slice(&buf);
        if !self.partial.contains(&b'\n') && self.partial.len() > crate::store::journal::LINE_LIMIT {
            self.partial.clear();
        }
        let Some(end) = self.partial.iter().rposition(|b| *b == b'\n') else { return Vec::new() };
        let complete: Vec<u8> = self.partial.drain(..=end).collect();
        // A line that is not an entry (another version's kind) is passed over.
        complete
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .filter_map(|l| serde_json::from_slice::<Entry>(l).ok())
            .collect()
    }
}
