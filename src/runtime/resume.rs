//! Which journal a console goes on in when it does not start a session of its own: a resumed
//! session's (it exists, no console has it, and it ran on this system), or the one a drill's
//! responder joins on this machine.

use std::path::PathBuf;

use crate::timeline::EntryKind;

/// The journal and entries of a session that can be resumed (it exists and no console has it),
/// read as `gameday report` reads it: what was passed over or reordered, said (file:line).
pub fn resumable(
    dir: &std::path::Path,
    id: &str,
    backend: &crate::model::BackendInfo,
) -> anyhow::Result<(PathBuf, crate::store::journal::Read)> {
    let path = existing(dir, id, backend)?;
    if crate::store::journal::in_use(&path) {
        anyhow::bail!("session {id} is open in another console");
    }
    let read = crate::store::journal::read_all(&path)?;
    Ok((path, read))
}

/// An existing session's journal, to resume or to join: it must have run on this system.
pub fn existing(dir: &std::path::Path, id: &str, backend: &crate::model::BackendInfo) -> anyhow::Result<PathBuf> {
    let path = dir.join(format!("{id}.jsonl"));
    if !path.exists() {
        anyhow::bail!("no session {id} in {} (gameday sessions lists them)", dir.display());
    }
    same_system(id, crate::store::journal::first(&path)?.as_ref(), backend)?;
    Ok(path)
}

/// A session goes on (or is joined) on the system it ran on, never on another one.
fn same_system(
    id: &str,
    first: Option<&crate::timeline::Entry>,
    backend: &crate::model::BackendInfo,
) -> anyhow::Result<()> {
    let ran_on = first.and_then(|e| match &e.kind {
        EntryKind::SessionStart { backend, .. } => Some(backend),
        _ => None,
    });
    match ran_on {
        Some(b) if b.kind != backend.kind || b.cluster != backend.cluster => anyhow::bail!(
            "session {id} ran on {} ({}), not on {} ({}): use the backend flags it had",
            b.cluster,
            b.kind,
            backend.cluster,
            backend.kind
        ),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::BackendInfo;
    use crate::timeline::Entry;
    use chrono::Utc;

    fn info(kind: &str, cluster: &str) -> BackendInfo {
        BackendInfo { kind: kind.into(), cluster: cluster.into(), pod_word: "pod".into() }
    }

    #[test]
    fn a_session_goes_on_only_on_the_system_it_ran_on() {
        let start = Entry {
            seq: 1,
            wall: Utc::now(),
            t_ms: 0,
            kind: EntryKind::SessionStart {
                session: "s".into(),
                backend: info("docker", "docker on vm"),
                version: "t".into(),
            },
        };
        assert!(same_system("s", Some(&start), &info("docker", "docker on vm")).is_ok());
        let err = same_system("s", Some(&start), &info("demo", "sock-shop")).unwrap_err().to_string();
        assert_eq!(
            err,
            "session s ran on docker on vm (docker), not on sock-shop (demo): use the backend flags it had"
        );
    }
}
