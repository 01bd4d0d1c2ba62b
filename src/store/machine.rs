//! This machine: its name (for `user@host`), and whether a console that ran here is gone.

use crate::model::Holder;

/// This machine's name, for `user@host`.
pub fn host_name() -> String {
    hostname::get()
        .ok()
        .and_then(|h| h.into_string().ok())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

/// The holder's journal, if its console ran on this machine and no process holds that journal
/// any more: its console is gone.
pub fn dead_journal(h: &Holder) -> Option<std::path::PathBuf> {
    let here = h.who.rsplit_once('@').is_some_and(|(_, host)| host == host_name());
    let path = std::path::PathBuf::from(&h.journal);
    (here && !h.journal.is_empty() && !super::journal::in_use(&path)).then_some(path)
}
