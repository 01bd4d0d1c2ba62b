//! The help overlay, generated from the key table, in two columns when there is room.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};
use ratatui::Frame;

use super::popup;
use crate::app::keymap;
use crate::config::theme::Theme;

/// The lines of one column of the help.
fn lines(sections: Vec<keymap::HelpSection>, t: &Theme) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    for sec in sections {
        let width = sec.key_width();
        out.push(Line::from(Span::styled(sec.title, t.title())));
        out.extend(sec.rows.into_iter().map(|(keys, what)| {
            Line::from(vec![Span::styled(format!("  {keys:<width$}"), t.text()), Span::styled(what, t.muted())])
        }));
    }
    out
}

/// The help, in two columns when there is room, scrolled by `scroll` rows when it is taller
/// than the screen (↑/↓/PgUp/PgDn scroll it).
pub fn draw(frame: &mut Frame, area: Rect, t: &Theme, scroll: usize) {
    let (left, right) = keymap::help_columns(area.width);
    let two = !right.is_empty();
    let (left, right) = (lines(left, t), lines(right, t));
    let rows = left.len().max(right.len());
    let r = popup(area, if two { keymap::help_two_column_width() } else { 76 }, rows as u16 + 2);
    super::clear(frame, r, t);
    let visible = r.height.saturating_sub(2) as usize;
    let scroll = scroll.min(rows.saturating_sub(visible));
    let title = if rows > visible {
        format!(" Help · rows {}-{} of {rows} · ↑/↓ PgUp/PgDn scroll · Esc closes ", scroll + 1, scroll + visible)
    } else {
        " Help · Esc closes ".to_string()
    };
    let block = Block::bordered().title(Span::styled(title, t.title())).border_style(t.border(true));
    let inner = block.inner(r);
    frame.render_widget(block, r);
    let offset = (scroll as u16, 0);
    if two {
        let [l, rr] = Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(inner);
        frame.render_widget(Paragraph::new(left).scroll(offset), l);
        frame.render_widget(Paragraph::new(right).scroll(offset), rr);
    } else {
        frame.render_widget(Paragraph::new(left).scroll(offset), inner);
    }
}
