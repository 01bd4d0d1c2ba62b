//! The help overlay, generated from the key table.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};
use ratatui::Frame;

use super::popup;
use crate::app::command::USAGE;
use crate::app::keymap;
use crate::app::state::AppState;
use crate::theme::Theme;

pub fn draw(frame: &mut Frame, area: Rect, _s: &AppState, t: &Theme) {
    let mut lines = Vec::new();
    for (title, rows) in keymap::help_sections() {
        lines.push(Line::from(Span::styled(title, t.title())));
        for (keys, what) in rows {
            lines
                .push(Line::from(vec![Span::styled(format!("  {keys:<22}"), t.text()), Span::styled(what, t.muted())]));
        }
    }
    lines.push(Line::from(Span::styled("Commands", t.title())));
    for c in USAGE.split(" · ") {
        lines.push(Line::from(Span::styled(format!("  {c}"), t.text())));
    }
    lines.push(Line::from(Span::styled(
        "  targets: <namespace>/<workload> · <namespace>/pod/<name> · node/<name>",
        t.muted(),
    )));
    let h = lines.len() as u16 + 2;
    let r = popup(area, 90, h);
    frame.render_widget(Clear, r);
    let block = Block::bordered().title(Span::styled(" Help · Esc closes ", t.title())).border_style(t.border(true));
    frame.render_widget(Paragraph::new(lines).block(block), r);
}
