//! The active-fault panel: what is injected, where, the blast radius, what it is expected to do
//! and how that goes (apart from the session's steady state), and a countdown.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, LineGauge, Paragraph};
use ratatui::Frame;

use super::{clock, labelled};
use crate::app::fault::{FaultPhase, LiveFault};
use crate::app::state::AppState;
use crate::config::theme::Theme;
use crate::model::check::Verdict;

const LABEL: usize = 13;

fn lines(s: &AppState, f: &LiveFault, t: &Theme, width: u16) -> Vec<Line<'static>> {
    let params: Vec<String> = f.plan.params.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let mut out = labelled(
        "fault",
        LABEL,
        &format!("{} → {}   {}", f.plan.preset, f.plan.target, params.join(" ")),
        width,
        t.muted(),
        t.text().add_modifier(Modifier::BOLD),
    );
    out.extend(labelled("blast radius", LABEL, &f.plan.blast_radius, width, t.muted(), t.text()));
    out.extend(labelled("expected", LABEL, &f.plan.hypothesis, width, t.muted(), t.text()));
    // Its expectation, judged by its checks (a run-sheet step's), apart from steady state.
    let broke = s.book.timeline.iter().rev().find_map(|e| match &e.kind {
        crate::timeline::EntryKind::ExpectationBroken { fault, after_ms, detail } if *fault == f.id => {
            Some((*after_ms, detail.clone()))
        }
        _ => None,
    });
    let (verdict, style) = match (broke, s.steady.expectation_now(s.book.t_ms())) {
        (Some((ms, detail)), _) => (
            format!("BROKEN {} after the inject: {detail}", crate::timeline::entry::seconds(ms)),
            Style::new().fg(t.health.down).add_modifier(Modifier::BOLD),
        ),
        (None, Some(Verdict::Unknown { why })) => (format!("unknown: {why}"), Style::new().fg(t.health.unknown)),
        (None, Some(_)) => ("held so far (its checks hold)".to_string(), Style::new().fg(t.health.healthy)),
        (None, None) => ("not judged: no check was written for it".to_string(), t.muted()),
    };
    out.extend(labelled("expectation", LABEL, &verdict, width, t.muted(), style));
    let (verdict, style) = match s.steady.hypothesis(&s.steady_view()) {
        Verdict::Holds { .. } => ("holds".to_string(), Style::new().fg(t.health.healthy)),
        Verdict::Broken { reading } => {
            (format!("BROKEN: {reading}"), Style::new().fg(t.health.down).add_modifier(Modifier::BOLD))
        }
        Verdict::Unknown { why } => (format!("unknown: {why}"), Style::new().fg(t.health.unknown)),
    };
    out.extend(labelled("steady state", LABEL, &verdict, width, t.muted(), style));
    out
}

/// Rows the panel needs at this width (borders and countdown included).
pub fn height(s: &AppState, width: u16) -> u16 {
    let theme = &s.theme;
    s.fault.live().map(|f| lines(s, f, theme, width.saturating_sub(2)).len() as u16 + 3).unwrap_or(0)
}

pub fn draw(frame: &mut Frame, area: Rect, s: &AppState, t: &Theme) {
    let Some(f) = s.fault.live() else { return };
    let summary =
        format!("Fault #{} {} → {} (more rows show what it was expected to do)", f.id, f.plan.preset, f.plan.target);
    if super::summary_only(frame, area, t, summary) {
        return;
    }
    let (phase, color) = match &s.fault.phase {
        FaultPhase::Preparing { .. } => ("PREPARING", t.fault.armed),
        FaultPhase::Applying { .. } => ("INJECTING", t.fault.active),
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
    let [body, gauge] = Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(inner);
    let mut lines = lines(s, f, t, body.width);
    let (shown, more) = super::fit(lines.len(), body.height as usize);
    if more > 0 {
        lines.truncate(shown);
        lines.push(Line::styled(format!("+{more} more row(s): a taller terminal shows them"), t.muted()));
    }
    frame.render_widget(Paragraph::new(lines), body);
    if let (FaultPhase::Active { .. }, Some(deadline)) = (&s.fault.phase, f.deadline_ms) {
        let total = crate::app::fault::span_ms(f).max(1);
        let left = deadline.saturating_sub(s.book.now.t_ms);
        let ratio = (left as f64 / total as f64).clamp(0.0, 1.0);
        let g = LineGauge::default()
            .ratio(ratio)
            .label(format!("{} left of {}", clock(left + 999), clock(total)))
            .filled_style(Style::new().fg(color))
            .unfilled_style(t.muted());
        frame.render_widget(g, gauge);
    }
}
