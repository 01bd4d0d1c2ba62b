//! Shows the start screen until a choice is made. Nothing is live yet, so waiting on the
//! keyboard here blocks nothing.

use ratatui::crossterm::event::{self, Event};

use crate::app::start::{Decision, StartScreen};
use crate::config::theme::Theme;

pub fn choose(mut screen: StartScreen, theme: &Theme, where_: &str) -> anyhow::Result<Decision> {
    let mut term = super::terminal::enter()?;
    let decision = loop {
        if let Err(e) = term.draw(|f| crate::ui::start::draw(f, &screen, theme, where_)) {
            break Err(e.into());
        }
        match event::read() {
            Ok(Event::Key(key)) => {
                if let Some(d) = screen.on_key(&key) {
                    break Ok(d);
                }
            }
            // A paste chooses nothing.
            Ok(_) => {}
            Err(e) => break Err(e.into()),
        }
    };
    super::terminal::leave();
    // Its drop would show the cursor and panic if the terminal is gone; `leave` did that.
    std::mem::forget(term);
    decision
}
