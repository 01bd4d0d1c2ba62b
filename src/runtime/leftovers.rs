//! Looking for faults earlier sessions left, in the background: their journals on this machine
//! and the backend's markers, reported as one event. Earlier consoles that were killed get the
//! end they never wrote first.

use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::mpsc;

use crate::app::Event;
use crate::backend::Backend;
use crate::timeline::leftovers;

/// Looks for faults earlier sessions left (their journals, the backend's markers) in the
/// background, and reports them as one event.
pub fn search(
    backend: Arc<dyn Backend>,
    dir: PathBuf,
    own: Vec<crate::model::Leftover>,
    session: String,
    tx: mpsc::UnboundedSender<Event>,
) {
    tokio::spawn(async move {
        let info = backend.info();
        let died = !backend.faults_outlive_process();
        // Earlier consoles that were killed: their journals get the end they never wrote.
        let closing = {
            let (dir, info) = (dir.clone(), info.clone());
            let why = format!("found by session {session}");
            tokio::task::spawn_blocking(move || crate::store::leftovers::close_dead_sessions(&dir, &info, died, &why))
        };
        let _ = closing.await;
        if died {
            return;
        }
        let search = backend.search().await.unwrap_or_default();
        let markers = search.found;
        let (in_journals, markers) = tokio::task::spawn_blocking(move || {
            let (found, _unreadable) = crate::store::leftovers::in_journals(&dir, &info);
            (found, crate::store::leftovers::not_open_here(&dir, markers))
        })
        .await
        .unwrap_or_default();
        let mut all = leftovers::merge(own.into_iter().chain(in_journals).collect(), markers);
        // The fault that holds the cluster lock has an owner: it is not left behind. (If its
        // owner is dead, its lease lapses and the console takes it over.)
        if let Some(lock) = backend.lock() {
            if let Ok(Some(h)) = lock.current().await {
                all.retain(|l| !(l.session == h.session && l.fault_id == h.fault));
            }
        }
        if !all.is_empty() || !search.skipped.is_empty() {
            let _ = tx.send(Event::Leftovers { found: all, skipped: search.skipped });
        }
    });
}
