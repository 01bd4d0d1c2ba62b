//! Terminal set-up and restore, input and signals as events on the one channel.

use futures::StreamExt;
use ratatui::crossterm::event::{Event as TermEvent, EventStream, KeyEventKind};
use tokio::sync::mpsc::UnboundedSender;

use crate::app::Event;

/// Reads keys (presses only) and resizes; when the terminal goes away, says so.
pub fn spawn_input(tx: UnboundedSender<Event>) {
    tokio::spawn(async move {
        let mut stream = EventStream::new();
        loop {
            let ev = match stream.next().await {
                Some(Ok(TermEvent::Key(k))) if k.kind == KeyEventKind::Press => Event::Key(k),
                Some(Ok(TermEvent::Resize(..))) => Event::Resize,
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => Event::Signal("terminal closed".into()),
            };
            let closed = matches!(ev, Event::Signal(_));
            if tx.send(ev).is_err() || closed {
                break;
            }
        }
    });
}

/// SIGTERM, SIGHUP (terminal closed) and SIGINT become events: the core reverts, then exits.
pub fn spawn_signals(tx: UnboundedSender<Event>) -> std::io::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    for (kind, name) in
        [(SignalKind::terminate(), "SIGTERM"), (SignalKind::hangup(), "SIGHUP"), (SignalKind::interrupt(), "SIGINT")]
    {
        let mut s = signal(kind)?;
        let tx = tx.clone();
        tokio::spawn(async move {
            while s.recv().await.is_some() {
                if tx.send(Event::Signal(name.into())).is_err() {
                    break;
                }
            }
        });
    }
    Ok(())
}

/// One tick a second, for countdowns, expiry and deadlines.
pub fn spawn_ticker(tx: UnboundedSender<Event>) {
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(std::time::Duration::from_secs(1));
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            interval.tick().await;
            if tx.send(Event::Tick).is_err() {
                break;
            }
        }
    });
}
