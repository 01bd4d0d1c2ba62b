//! Terminal set-up and restore, input and signals as events on the one channel.

use std::io::Write as _;

use ratatui::crossterm::event::{
    DisableBracketedPaste, EnableBracketedPaste, Event as TermEvent, KeyCode, KeyEvent, KeyEventKind, KeyModifiers,
};
use ratatui::crossterm::terminal::{disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen};
use ratatui::crossterm::{cursor, execute};
use ratatui::prelude::CrosstermBackend;
use tokio::sync::mpsc::UnboundedSender;

use crate::app::Event;

pub type Term = ratatui::Terminal<CrosstermBackend<std::io::Stdout>>;

/// Raw mode, the alternate screen and bracketed paste (so a paste arrives as one text, never
/// as keys); a panic restores the terminal before its message is printed.
pub fn enter() -> std::io::Result<Term> {
    install_panic_hook();
    reenter()?;
    ratatui::Terminal::new(CrosstermBackend::new(std::io::stdout()))
}

/// Sets the terminal up again (after SIGCONT: the shell may have changed its modes).
pub fn reenter() -> std::io::Result<()> {
    enable_raw_mode()?;
    execute!(std::io::stdout(), EnterAlternateScreen, EnableBracketedPaste, cursor::Hide)
}

/// Gives the terminal back as it was. Errors are ignored: the terminal may be gone already
/// (SIGHUP), and nothing here may panic.
pub fn leave() {
    let mut out = std::io::stdout();
    let _ = execute!(out, DisableBracketedPaste, LeaveAlternateScreen, cursor::Show);
    let _ = disable_raw_mode();
    let _ = out.flush();
}

fn install_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            leave();
            hook(info);
        }));
    });
}

/// Reads keys (presses only), pastes and resizes on a thread of its own; when the terminal
/// goes away, says so.
///
/// A terminal without bracketed paste (or a paste while the mode is off) sends a paste as keys,
/// a newline as Enter. Such a paste arrives as a burst: keys that are all there at once, which
/// no person types. A burst of two or more text keys (characters, Tab, Enter; one character at
/// least) that are not one key repeated is taken as a paste, so that a pasted newline never
/// presses Enter and a pasted `q` or space never acts.
pub fn spawn_input(tx: UnboundedSender<Event>) {
    use ratatui::crossterm::event::{poll, read};
    let run = move || loop {
        let mut burst = Vec::new();
        let mut others = Vec::new();
        let mut closed = false;
        let mut next = read();
        loop {
            match next {
                Ok(TermEvent::Key(k)) if k.kind == KeyEventKind::Press => burst.push(k),
                Ok(TermEvent::Key(_)) => {}
                Ok(TermEvent::Paste(text)) => others.push(Event::Paste(text)),
                Ok(TermEvent::Resize(width, height)) => others.push(Event::Resize { width, height }),
                Ok(_) => {}
                Err(_) => {
                    closed = true;
                    break;
                }
            }
            // Whatever else is already there, without waiting.
            match poll(std::time::Duration::ZERO) {
                Ok(true) => next = read(),
                Ok(false) => break,
                Err(_) => {
                    closed = true;
                    break;
                }
            }
        }
        let mut events = burst_events(burst);
        events.extend(others);
        if closed {
            events.push(Event::Signal("terminal closed".into()));
        }
        for ev in events {
            if tx.send(ev).is_err() {
                return;
            }
        }
        if closed {
            return;
        }
    };
    let _ = std::thread::Builder::new().name("input".into()).spawn(run);
}

/// The keys of one burst, as keys or as one paste.
pub fn burst_events(burst: Vec<KeyEvent>) -> Vec<Event> {
    let text_key = |k: &KeyEvent| {
        !k.modifiers.intersects(KeyModifiers::CONTROL | KeyModifiers::ALT)
            && matches!(k.code, KeyCode::Char(_) | KeyCode::Enter | KeyCode::Tab)
    };
    let repeated = burst.windows(2).all(|w| w[0] == w[1]);
    let printable = burst.iter().any(|k| matches!(k.code, KeyCode::Char(_)));
    if burst.len() < 2 || repeated || !printable || !burst.iter().all(text_key) {
        return burst.into_iter().map(Event::Key).collect();
    }
    let text = burst
        .iter()
        .map(|k| match k.code {
            KeyCode::Char(c) => c,
            KeyCode::Tab => '\t',
            _ => '\n',
        })
        .collect();
    vec![Event::Paste(text)]
}

/// The signals that end a session (the core reverts, then exits): SIGTERM, SIGHUP (terminal
/// closed), SIGINT, SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM and SIGPIPE. SIGTSTP asks to suspend
/// (refused while a fault is live); SIGCONT says the process runs again.
pub fn spawn_signals(tx: UnboundedSender<Event>) -> std::io::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let quit = |name: &str| Event::Signal(name.to_string());
    let kinds: [(SignalKind, Event); 10] = [
        (SignalKind::terminate(), quit("SIGTERM")),
        (SignalKind::hangup(), quit("SIGHUP")),
        (SignalKind::interrupt(), quit("SIGINT")),
        (SignalKind::quit(), quit("SIGQUIT")),
        (SignalKind::user_defined1(), quit("SIGUSR1")),
        (SignalKind::user_defined2(), quit("SIGUSR2")),
        (SignalKind::alarm(), quit("SIGALRM")),
        (SignalKind::pipe(), quit("SIGPIPE")),
        (SignalKind::from_raw(libc::SIGTSTP), Event::Suspend),
        (SignalKind::from_raw(libc::SIGCONT), Event::Continued),
    ];
    for (kind, event) in kinds {
        let mut s = signal(kind)?;
        let tx = tx.clone();
        tokio::spawn(async move {
            while s.recv().await.is_some() {
                if tx.send(event.clone()).is_err() {
                    break;
                }
            }
        });
    }
    Ok(())
}

/// Stops this process (Ctrl-Z, once the core agreed): the terminal is given back first and
/// set up again by the SIGCONT that continues it.
pub fn stop_self() {
    leave();
    // SIGSTOP cannot be caught: the process stops here until SIGCONT.
    unsafe {
        libc::raise(libc::SIGSTOP);
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(text: &str) -> Vec<KeyEvent> {
        text.chars()
            .map(|c| match c {
                '\r' => KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE),
                '\t' => KeyEvent::new(KeyCode::Tab, KeyModifiers::NONE),
                c => KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE),
            })
            .collect()
    }

    #[test]
    fn a_burst_of_text_is_a_paste_and_keys_a_person_presses_stay_keys() {
        assert_eq!(burst_events(keys("ab c\rq")), [Event::Paste("ab c\nq".into())]);
        assert_eq!(burst_events(keys("x\r")), [Event::Paste("x\n".into())]);
        // One key; a held key's repeats; Tab then Enter (no text at all).
        for k in ["q", " ", "   ", "jjjj", "\t\r", "\r\r"] {
            let got = burst_events(keys(k));
            assert!(got.iter().all(|e| matches!(e, Event::Key(_))), "{k:?}: {got:?}");
            assert_eq!(got.len(), k.chars().count());
        }
        // A chord is never part of a paste: Ctrl-G aborts even inside a burst.
        let mut burst = keys("ab");
        burst.push(KeyEvent::new(KeyCode::Char('g'), KeyModifiers::CONTROL));
        assert_eq!(burst_events(burst).len(), 3);
    }
}
