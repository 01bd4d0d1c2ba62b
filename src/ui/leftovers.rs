//! The list of faults left behind by earlier sessions, with "Revert all" preselected.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};
use ratatui::Frame;

use super::{labelled, popup};
use crate::app::cleanup::CleanupStatus;
use crate::app::state::AppState;
use crate::config::theme::Theme;

pub fn draw(frame: &mut Frame, area: Rect, s: &AppState, t: &Theme, revert: bool) {
    let r = popup(area, 110, s.cleanup.items.len() as u16 * 3 + 8);
    super::clear(frame, r, t);
    let danger = Style::new().fg(t.fault.active);
    let block = Block::bordered()
        .title(Span::styled(" Faults left behind by earlier gameday sessions ", danger.add_modifier(Modifier::BOLD)))
        .border_style(danger);
    let inner = block.inner(r);
    frame.render_widget(block, r);
    let mut lines = vec![Line::from(Span::styled(
        "An earlier console injected these and never confirmed their revert. They may still be in the system.",
        t.text(),
    ))];
    for item in &s.cleanup.items {
        let l = &item.leftover;
        let (status, style) = match &item.status {
            CleanupStatus::Found => ("not reverted".to_string(), danger),
            CleanupStatus::Reverting { attempt } => {
                (format!("reverting (attempt {attempt})"), Style::new().fg(t.fault.reverting))
            }
            CleanupStatus::Failed { attempt, error } => (format!("revert failed (attempt {attempt}): {error}"), danger),
            CleanupStatus::Reverted => ("reverted (confirmed)".to_string(), Style::new().fg(t.health.healthy)),
            CleanupStatus::Kept => ("left in place".to_string(), Style::new().fg(t.fault.armed)),
        };
        lines.extend(labelled(
            &format!("#{} {}", l.fault_id, l.session),
            30,
            &format!("{} · found in its {} · {status}", l.what, l.found_by),
            inner.width,
            t.muted(),
            style,
        ));
    }
    let [body, buttons] = Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(inner);
    frame.render_widget(Paragraph::new(lines), body);
    let style = |on: bool| if on { t.selected().add_modifier(Modifier::BOLD) } else { t.muted() };
    let line = Line::from(vec![
        Span::styled("[ Revert all ]", style(revert)),
        Span::raw("   "),
        Span::styled("[ Leave them ]", style(!revert)),
        Span::styled("   Tab switches · Enter presses · Esc decides later · Space reverts", t.muted()),
    ])
    .centered();
    frame.render_widget(Paragraph::new(line), buttons);
}
