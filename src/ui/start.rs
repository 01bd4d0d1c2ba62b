//! The start screen: the choices, the highlighted one, and the keys.

use ratatui::layout::{Constraint, Layout};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, List, ListItem, ListState, Paragraph};
use ratatui::Frame;

use crate::app::keymap::Context;
use crate::app::start::{Choice, StartScreen};
use crate::config::theme::Theme;

pub fn draw(frame: &mut Frame, s: &StartScreen, t: &Theme, where_: &str) {
    frame.render_widget(ratatui::widgets::Block::new().style(t.background()), frame.area());
    let [header, body, footer] =
        Layout::vertical([Constraint::Length(2), Constraint::Min(3), Constraint::Length(1)]).areas(frame.area());
    let title = Line::from(vec![
        Span::styled(" gameday ", t.title()),
        Span::styled(format!("· start a session on {where_}"), t.text()),
    ]);
    frame.render_widget(Paragraph::new(title), header);
    let items: Vec<ListItem> = s
        .choices
        .iter()
        .map(|c| {
            let style = match c {
                Choice::New | Choice::RunSheet { .. } => t.text(),
                Choice::Resume { .. } => t.muted(),
                Choice::Join { .. } => ratatui::style::Style::new().fg(t.ui.warning),
            };
            let mut lines = vec![Line::styled(c.label(), style)];
            // How a responder on another machine joins it: the command alone on its line, to
            // pass on (it fits 80 columns).
            if let Choice::Join { remote: Some(r), .. } = c {
                lines.push(Line::styled(r.clone(), t.muted()));
            }
            ListItem::new(lines)
        })
        .collect();
    let list = List::new(items)
        .block(Block::bordered().title(Span::styled(" New, resume or join ", t.title())).border_style(t.border(true)))
        .highlight_symbol("▶ ")
        .highlight_style(t.selected());
    let mut state = ListState::default().with_selected(Some(s.cursor));
    frame.render_stateful_widget(list, body, &mut state);
    super::bars::keys(frame, footer, Context::Start, t);
}
