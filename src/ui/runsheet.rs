//! The run-sheet panel: every step with where it stands, and what to do next.

use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};
use ratatui::Frame;

use crate::app::sheet::Phase;
use crate::app::state::AppState;
use crate::config::theme::Theme;
use crate::model::StepVerdict;
use crate::timeline::EntryKind;

pub fn height(s: &AppState) -> u16 {
    s.sheet.as_ref().map(|r| (r.plan.steps.len() as u16 + 2).min(9)).unwrap_or(0)
}

pub fn draw(frame: &mut Frame, area: Rect, s: &AppState, t: &Theme) {
    let Some(sheet) = &s.sheet else { return };
    let done = s.book.timeline.iter().filter(|e| matches!(e.kind, EntryKind::StepOutcome { .. })).count();
    let summary = format!("Run-sheet {}: {done} of {} steps done", sheet.plan.title, sheet.plan.steps.len());
    if super::summary_only(frame, area, t, summary) {
        return;
    }
    let hint = match &sheet.phase {
        _ if sheet.auto => " running by itself ".to_string(),
        Phase::Ready { next } if *next < sheet.plan.steps.len() => format!(" :next starts step {} ", next + 1),
        Phase::Waiting { .. } => " confirm the step's fault ".into(),
        Phase::Running { .. } | Phase::Observing { .. } => " observing ".into(),
        Phase::Outcome { suggested, .. } => format!(" :outcome held|broken|partial (checks: {suggested}) "),
        _ => " done: :export writes the report ".into(),
    };
    let block = Block::bordered()
        .title(Span::styled(format!(" Run-sheet: {} ", sheet.plan.title), t.title()))
        .title(Span::styled(hint, Style::new().fg(t.ui.warning).add_modifier(Modifier::BOLD)))
        .border_style(t.border(false));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let outcome = |i: usize| {
        s.book.timeline.iter().rev().find_map(|e| match &e.kind {
            EntryKind::StepOutcome { step, verdict, .. } if *step == i + 1 => Some(*verdict),
            _ => None,
        })
    };
    let current = match &sheet.phase {
        Phase::Waiting { step, .. }
        | Phase::Running { step, .. }
        | Phase::Observing { step, .. }
        | Phase::Outcome { step, .. } => Some(*step),
        _ => None,
    };
    // The steps around the one under way (or the next), and how many above and below.
    let n = sheet.plan.steps.len();
    let rows = inner.height as usize;
    let focus = current.unwrap_or(match sheet.phase {
        Phase::Ready { next } => next.min(n.saturating_sub(1)),
        _ => 0,
    });
    let (first, last) = if n <= rows {
        (0, n)
    } else {
        let room = rows.saturating_sub(2).max(1);
        let first = focus.saturating_sub(room / 2).min(n - room);
        (first, first + room)
    };
    let mut lines: Vec<Line> = Vec::new();
    if first > 0 {
        lines.push(Line::styled(format!("+{first} step(s) above"), t.muted()));
    }
    lines.extend(sheet.plan.steps.iter().enumerate().skip(first).take(last - first).map(|(i, step)| {
        let (mark, color) = match (outcome(i), current == Some(i)) {
            (_, true) => ("▶ now".to_string(), t.fault.active),
            (Some(StepVerdict::Held), _) => ("✓ held".into(), t.health.healthy),
            (Some(StepVerdict::Skipped), _) => ("- skipped".into(), t.ui.muted),
            (Some(v), _) => (format!("✗ {v}"), t.health.down),
            (None, _) => ("  to do".into(), t.ui.muted),
        };
        Line::from(vec![
            Span::styled(format!("{:<18}", mark), Style::new().fg(color)),
            Span::styled(format!("{}. {} ", i + 1, step.name), t.text()),
            Span::styled(format!("{} on {}", step.preset, step.target), t.muted()),
        ])
    }));
    if last < n {
        lines.push(Line::styled(format!("+{} more step(s)", n - last), t.muted()));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}
