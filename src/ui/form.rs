//! The parameter form: each value with its default, bounds, unit and help; a refused value is
//! said in place; the blast radius as the values stand.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};
use ratatui::Frame;

use super::{labelled, popup};
use crate::app::form::ParamForm;
use crate::config::theme::Theme;

pub fn draw(frame: &mut Frame, area: Rect, t: &Theme, form: &ParamForm) {
    let width = 96u16.min(area.width.saturating_sub(2));
    let inner_w = width.saturating_sub(2);
    let mut lines: Vec<Line> = Vec::new();
    let focus_style = t.selected().add_modifier(Modifier::BOLD);
    let error = Style::new().fg(t.ui.error).add_modifier(Modifier::BOLD);
    for (i, f) in form.fields.iter().enumerate() {
        let focused = i == form.focus;
        // A selected value (the first key replaces it) is shown reversed, without a cursor.
        let value = if focused && !form.selected { format!("{}▏", f.value) } else { f.value.clone() };
        let mark = if focused { "▶ " } else { "  " };
        let mut spans = vec![
            Span::styled(format!("{mark}{:<16}", f.name), if focused { t.title() } else { t.text() }),
            Span::styled(
                format!(" {value:<12} "),
                match (focused, form.selected) {
                    (true, true) => focus_style.add_modifier(Modifier::REVERSED),
                    (true, false) => focus_style,
                    _ => t.text(),
                },
            ),
        ];
        if f.value != f.default {
            spans.push(Span::styled(format!(" default {}", f.default), t.muted()));
        }
        lines.push(Line::from(spans));
        if !f.about.is_empty() {
            lines.extend(labelled("", 19, &f.about, inner_w, t.muted(), t.muted()));
        }
        if let Some(e) = &f.error {
            lines.extend(labelled("", 19, &format!("✖ {e}"), inner_w, t.muted(), error));
        }
    }
    lines.push(Line::from(""));
    match &form.plan {
        Ok(plan) => lines.extend(labelled("Blast radius", 14, &plan.blast_radius, inner_w, t.muted(), t.text())),
        Err(e) if !e.is_empty() && form.fields.iter().all(|f| f.error.is_none()) => {
            lines.extend(labelled("Not yet", 14, e, inner_w, t.muted(), error))
        }
        Err(_) => {}
    }
    let r = popup(area, width, lines.len() as u16 + 3);
    super::clear(frame, r, t);
    let armed = Style::new().fg(t.fault.armed);
    let block = Block::bordered()
        .title(Span::styled(
            format!(" {} on {}: its values ", form.preset, form.target),
            armed.add_modifier(Modifier::BOLD),
        ))
        .border_style(armed);
    let inner = block.inner(r);
    frame.render_widget(block, r);
    let [body, keys] = Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(inner);
    // Scrolled to keep the focused field in view on a small screen.
    let focus_row = lines.iter().position(|l| l.spans.first().is_some_and(|s| s.content.starts_with('▶'))).unwrap_or(0);
    let top = focus_row.saturating_sub(body.height.saturating_sub(2) as usize) as u16;
    frame.render_widget(Paragraph::new(lines).scroll((top, 0)), body);
    let ok = form.plan.is_ok();
    let hint = if ok {
        "type to replace · Enter reviews (nothing is injected yet) · Tab/↓ next · Esc cancels"
    } else {
        "a value is refused: mend it to go on · Tab/↓ next · ↑ previous · Esc cancels"
    };
    frame.render_widget(Paragraph::new(Line::styled(hint, if ok { t.muted() } else { error })).centered(), keys);
}
