//! The start screen: create a session (plain, or with a run-sheet), resume an earlier one, or
//! join a live one as a drill's responder. Shown before a session opens, so it holds no fault.
//! Pure: the choices come in, a key goes in, a decision comes out.

use std::path::PathBuf;

use ratatui::crossterm::event::{KeyEvent, KeyEventKind};

use super::keymap::{self, Action, Context};
use crate::timeline::listing::Summary;

#[derive(Clone, Debug, PartialEq)]
pub enum Choice {
    New,
    /// A new session walking this run-sheet: its path and title (or why it cannot be read).
    RunSheet {
        path: PathBuf,
        title: String,
    },
    /// Resume a session nobody has open.
    Resume {
        id: String,
        about: String,
    },
    /// A session open in another console: join it as a drill's responder (`remote`: the
    /// command that joins it from another machine, when its console serves one).
    Join {
        id: String,
        about: String,
        remote: Option<String>,
    },
}

impl Choice {
    pub fn label(&self) -> String {
        match self {
            Choice::New => "New session".into(),
            Choice::RunSheet { path, title } => format!("New session with run-sheet \"{title}\" ({})", path.display()),
            Choice::Resume { id, about } => format!("Resume {id}: {about}"),
            Choice::Join { id, about, remote: None } => format!("Join {id} as a drill responder: {about}"),
            Choice::Join { id, about, remote: Some(_) } => {
                format!("Join {id} as a drill responder (another machine: the command below): {about}")
            }
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct StartScreen {
    pub choices: Vec<Choice>,
    pub cursor: usize,
}

/// What the start screen decided.
#[derive(Clone, Debug, PartialEq)]
pub enum Decision {
    Start(Choice),
    Quit,
}

/// At most this many earlier sessions are offered (the newest).
pub const MAX_SESSIONS: usize = 8;

impl StartScreen {
    /// The choices: a new session, one per run-sheet, then the newest sessions (live ones to
    /// join, the others to resume).
    pub fn new(
        plans: Vec<(PathBuf, String)>,
        sessions: &[Summary],
        remote: impl Fn(&str) -> Option<String>,
    ) -> StartScreen {
        let mut choices = vec![Choice::New];
        choices.extend(plans.into_iter().map(|(path, title)| Choice::RunSheet { path, title }));
        for s in sessions.iter().take(MAX_SESSIONS) {
            let title = s.title.as_deref().map(|t| format!("\"{t}\" ")).unwrap_or_default();
            let about = format!("{title}{} on {}, {} fault(s), {}", s.started, s.target, s.faults, s.state);
            let id = s.id.clone();
            choices.push(match s.state == "running" {
                true => Choice::Join { remote: remote(&id), id, about },
                false => Choice::Resume { id, about },
            });
        }
        StartScreen { choices, cursor: 0 }
    }

    /// Worth showing: there is more to choose than a new session.
    pub fn worth_showing(&self) -> bool {
        self.choices.len() > 1
    }

    pub fn on_key(&mut self, key: &KeyEvent) -> Option<Decision> {
        if key.kind != KeyEventKind::Press {
            return None;
        }
        let last = self.choices.len().saturating_sub(1);
        match keymap::lookup(Context::Start, key)? {
            Action::Up => self.cursor = self.cursor.saturating_sub(1),
            Action::Down => self.cursor = (self.cursor + 1).min(last),
            Action::Select => return self.choices.get(self.cursor).cloned().map(Decision::Start),
            Action::Quit | Action::Back => return Some(Decision::Quit),
            _ => {}
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::crossterm::event::{KeyCode, KeyModifiers};

    fn summary(id: &str, state: &str) -> Summary {
        Summary {
            id: id.into(),
            journal: PathBuf::from(format!("{id}.jsonl")),
            started: "2026-11-24 10:00 UTC".into(),
            target: "sock-shop (demo)".into(),
            kind: "demo".into(),
            title: Some("Thursday".into()),
            faults: 2,
            steps: None,
            state: state.into(),
        }
    }

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn new_is_preselected_live_sessions_are_joined_the_others_resumed() {
        let plans = vec![(PathBuf::from("plans/a.toml"), "A".to_string())];
        let mut s = StartScreen::new(plans, &[summary("s2", "running"), summary("s1", "ended: quit (q)")], |_| None);
        assert!(s.worth_showing());
        assert!(matches!(s.choices[2], Choice::Join { ref id, .. } if id == "s2"));
        assert!(matches!(s.choices[3], Choice::Resume { ref id, .. } if id == "s1"));
        assert_eq!(s.on_key(&key(KeyCode::Enter)), Some(Decision::Start(Choice::New)));
        for _ in 0..10 {
            assert_eq!(s.on_key(&key(KeyCode::Down)), None);
        }
        assert_eq!(s.cursor, 3, "stops at the last choice");
        s.on_key(&key(KeyCode::Char('k')));
        assert!(matches!(s.on_key(&key(KeyCode::Enter)), Some(Decision::Start(Choice::Join { .. }))));
        assert_eq!(s.on_key(&key(KeyCode::Char(' '))), None, "nothing to abort before a session");
        assert_eq!(s.on_key(&key(KeyCode::Char('q'))), Some(Decision::Quit));
        assert_eq!(s.on_key(&key(KeyCode::Esc)), Some(Decision::Quit));
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(s.on_key(&ctrl_c), Some(Decision::Quit));
        assert!(!StartScreen::new(Vec::new(), &[], |_| None).worth_showing());
    }
}
