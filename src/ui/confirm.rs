//! The confirmation before an inject: everything that will happen, with Cancel preselected.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};
use ratatui::Frame;

use super::{labelled, popup};
use crate::app::fault::{Button, FaultPlan};
use crate::probe::Verdict;
use crate::theme::Theme;

pub fn draw(
    frame: &mut Frame,
    area: Rect,
    t: &Theme,
    plan: &FaultPlan,
    button: Button,
    steady: &Verdict,
    blind_stops: &[String],
) {
    let r = popup(area, 84, 18 + 2 * blind_stops.len().min(3) as u16);
    super::clear(frame, r, t);
    let armed = Style::new().fg(t.fault.armed);
    let block = Block::bordered()
        .title(Span::styled(" Inject this fault? ", armed.add_modifier(Modifier::BOLD)))
        .border_style(armed);
    let inner = block.inner(r);
    frame.render_widget(block, r);
    let params: Vec<String> = plan.params.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let duration = format!(
        "{} (reverts by itself)",
        humantime::format_duration(std::time::Duration::from_millis(plan.duration_ms))
    );
    let bold = t.text().add_modifier(Modifier::BOLD);
    let mut rows = vec![
        ("Preset", plan.preset.clone(), bold),
        ("Target", plan.target.to_string(), bold),
        ("Blast radius", plan.blast_radius.clone(), armed),
        ("Parameters", if params.is_empty() { "none".into() } else { params.join(" ") }, t.text()),
        ("Duration", duration, t.text()),
        ("Hypothesis", plan.hypothesis.clone(), t.text()),
        match steady {
            Verdict::Holds { reading } => {
                ("Steady state", format!("holds: {reading}"), Style::new().fg(t.health.healthy))
            }
            Verdict::Broken { reading } => (
                "Steady state",
                format!("NOT in steady state: {reading}. Inject anyway?"),
                Style::new().fg(t.ui.error).add_modifier(Modifier::BOLD),
            ),
            Verdict::Unknown { why } => ("Steady state", format!("unknown: {why}"), Style::new().fg(t.health.unknown)),
        },
    ];
    if !blind_stops.is_empty() {
        rows.push((
            "Stop cond.",
            format!("CANNOT BE EVALUATED (they would not stop this fault): {}. Inject anyway?", blind_stops.join("; ")),
            Style::new().fg(t.ui.error).add_modifier(Modifier::BOLD),
        ));
    }
    let ask = steady.broken() || !blind_stops.is_empty();
    let lines: Vec<Line> =
        rows.iter().flat_map(|(k, v, style)| labelled(k, 14, v, inner.width, t.muted(), *style)).collect();
    let [body, buttons] = Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(inner);
    frame.render_widget(Paragraph::new(lines), body);
    let style = |b: Button| {
        if b == button {
            t.selected().add_modifier(Modifier::BOLD)
        } else {
            t.muted()
        }
    };
    let line = Line::from(vec![
        Span::styled("[ Cancel ]", style(Button::Cancel)),
        Span::raw("   "),
        Span::styled(if ask { "[ Inject anyway ]" } else { "[ Inject ]" }, style(Button::Inject)),
        Span::styled("   Tab switches · Enter presses · Esc cancels", t.muted()),
    ])
    .centered();
    frame.render_widget(Paragraph::new(line), buttons);
}

/// "abort fault #1 and quit? y/N": a stray `q` never ends a Gameday.
pub fn quit(frame: &mut Frame, area: Rect, t: &Theme, question: &str) {
    let r = popup(area, (question.chars().count() as u16 + 6).max(40), 5);
    super::clear(frame, r, t);
    let danger = Style::new().fg(t.fault.active);
    let block =
        Block::bordered().title(Span::styled(" Quit? ", danger.add_modifier(Modifier::BOLD))).border_style(danger);
    let inner = block.inner(r);
    frame.render_widget(block, r);
    let lines = vec![
        Line::from(Span::styled(question.to_string(), t.text().add_modifier(Modifier::BOLD))),
        Line::from(Span::styled("y quits (reverting first) · any other key stays · Space aborts", t.muted())),
    ];
    frame.render_widget(Paragraph::new(lines).centered(), inner);
}
