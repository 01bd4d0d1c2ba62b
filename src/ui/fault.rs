//! The active-fault panel: what is injected, where, the hypothesis, and a countdown.

use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, LineGauge, Paragraph, Wrap};
use ratatui::Frame;

use super::clock;
use crate::app::fault::FaultPhase;
use crate::app::state::AppState;
use crate::theme::Theme;

pub fn draw(frame: &mut Frame, area: Rect, s: &AppState, t: &Theme) {
    let Some(f) = s.fault.live() else { return };
    let (phase, color) = match &s.fault {
        FaultPhase::Injecting { .. } => ("INJECTING", t.fault.active),
        FaultPhase::Active { .. } => ("ACTIVE", t.fault.active),
        _ => ("REVERTING", t.fault.reverting),
    };
    let block = Block::bordered()
        .title(Span::styled(
            format!(" Fault #{} · {phase} ", f.id),
            Style::new().fg(color).add_modifier(Modifier::BOLD),
        ))
        .border_style(Style::new().fg(color));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let params: Vec<String> = f.plan.params.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let text = vec![
        Line::from(vec![
            Span::styled(format!("{} → {}", f.plan.preset, f.plan.target), t.text().add_modifier(Modifier::BOLD)),
            Span::styled(format!("  {}", params.join(" ")), t.muted()),
        ]),
        Line::from(Span::styled(f.plan.blast_radius.clone(), t.text())),
        Line::from(vec![Span::styled("hypothesis: ", t.muted()), Span::styled(f.plan.hypothesis.clone(), t.text())]),
    ];
    let [body, gauge] = ratatui::layout::Layout::vertical([
        ratatui::layout::Constraint::Min(1),
        ratatui::layout::Constraint::Length(1),
    ])
    .areas(inner);
    frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }), body);
    if let (FaultPhase::Active { .. }, Some(deadline)) = (&s.fault, f.deadline_ms) {
        let total = f.plan.duration_ms.max(1);
        let left = deadline.saturating_sub(s.now.t_ms);
        let ratio = (left as f64 / total as f64).clamp(0.0, 1.0);
        let g = LineGauge::default()
            .ratio(ratio)
            .label(format!("{} left of {}", clock(left + 999), clock(total)))
            .filled_style(Style::new().fg(color))
            .unfilled_style(t.muted());
        frame.render_widget(g, gauge);
    }
}
