//! Reports written to files: the Markdown report, its JSON and the JUnit file, never over a
//! file gameday did not write, and a finished session's report beside its journal.

/// Writes a report (Markdown, its JSON, or the JUnit file), never over a file that is not one
/// gameday wrote before (a journal, someone's notes, a FIFO): written beside it and renamed into
/// place, so a reader never sees half a report.
pub fn write(path: &std::path::Path, text: &str) -> Result<(), String> {
    match std::fs::metadata(path) {
        Ok(m) if !m.is_file() => return Err("it exists and is not a regular file; choose another path".into()),
        Ok(_) => {
            let earlier = crate::files::read_regular(path, super::journal::JOURNAL_LIMIT).map_err(|e| e.to_string())?;
            if !written_by_gameday(&earlier) {
                return Err("it exists and is not a gameday report (a journal or someone's file); \
                     refusing to overwrite it, choose another path"
                    .into());
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e.to_string()),
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    }
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("report");
    let tmp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    std::fs::write(&tmp, text).map_err(|e| e.to_string())?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        e.to_string()
    })
}

/// Whether a file is one gameday writes: a report (its heading), the report's JSON (a session,
/// its faults and its timeline) or a JUnit file of gameday's test suites.
fn written_by_gameday(bytes: &[u8]) -> bool {
    if bytes.starts_with(crate::timeline::report::HEADING.as_bytes())
        || bytes.starts_with(crate::timeline::junit::PROLOGUE.as_bytes())
    {
        return true;
    }
    serde_json::from_slice::<serde_json::Value>(bytes)
        .is_ok_and(|v| ["session", "faults", "timeline"].iter().all(|k| v.get(k).is_some()))
}

/// The report of a finished session, written next to its journal (`<session>.md`); its path.
pub fn write_beside(journal: &std::path::Path) -> Result<std::path::PathBuf, String> {
    let entries = super::journal::read(journal).map_err(|e| e.to_string())?;
    let path = journal.with_extension("md");
    write(&path, &crate::timeline::report::render(&entries)).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_is_never_written_over_anything_but_an_earlier_report() {
        let dir = tempfile::tempdir().unwrap();
        let report = "# Gameday report: demo\n\nnew\n";
        // New file, then over an earlier report: fine.
        let path = dir.path().join("reports/r.md");
        write(&path, "# Gameday report: old\n").unwrap();
        write(&path, report).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), report);
        // A journal, someone's notes, a directory, a FIFO: refused, and left as they were.
        let journal = dir.path().join("s.jsonl");
        std::fs::write(&journal, "{\"seq\":1}\n").unwrap();
        let err = write(&journal, report).unwrap_err();
        assert!(err.contains("is not a gameday report"), "{err}");
        assert_eq!(std::fs::read_to_string(&journal).unwrap(), "{\"seq\":1}\n");
        let notes = dir.path().join("notes.md");
        std::fs::write(&notes, "my notes\n").unwrap();
        assert!(write(&notes, report).is_err());
        assert!(write(dir.path(), report).unwrap_err().contains("not a regular file"));
        let fifo = dir.path().join("fifo.md");
        assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
        assert!(write(&fifo, report).unwrap_err().contains("not a regular file"));
        // Nothing half-written is left beside them.
        let stray: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(stray.is_empty(), "{stray:?}");
    }
}
