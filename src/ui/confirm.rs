//! The confirmation before an inject: everything that will happen, with Cancel preselected.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};
use ratatui::Frame;

use super::{labelled, popup};
use crate::app::fault::preview::Preview;
use crate::app::fault::{Button, FaultPlan};
use crate::config::theme::Theme;
use crate::model::check::Verdict;

/// What the confirmation shows: the plan, the button chosen, what prepare found, and the
/// steady state now.
pub struct Shown<'a> {
    pub plan: &'a FaultPlan,
    pub button: Button,
    pub preview: &'a Preview,
    pub steady: &'a Verdict,
    /// What ends it with no console alive, and whether only a person can (`preview::ending`).
    pub ending: (String, bool),
}

pub fn draw(frame: &mut Frame, area: Rect, t: &Theme, shown: &Shown, blind_stops: &[String]) {
    let Shown { plan, button, preview, steady, ref ending } = *shown;
    let width = 84u16.min(area.width.saturating_sub(2));
    let armed = Style::new().fg(t.fault.armed);
    let params: Vec<String> = plan.params.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let duration = humantime::format_duration(std::time::Duration::from_millis(plan.duration_ms)).to_string();
    let duration = format!("{duration}, then this console reverts it");
    let bold = t.text().add_modifier(Modifier::BOLD);
    let error = Style::new().fg(t.ui.error).add_modifier(Modifier::BOLD);
    let mut rows = vec![
        ("Preset", plan.preset.clone(), bold),
        ("Target", plan.target.to_string(), bold),
        ("Blast radius", plan.blast_radius.clone(), armed),
    ];
    // What the backend's prepare found, read-only, before anyone confirms.
    match preview {
        Preview::Reading { .. } => rows.push(("Prepare found", "reading what the fault will touch…".into(), t.muted())),
        Preview::Refused { why } => rows.push(("Prepare found", format!("REFUSED: {why}"), error)),
        Preview::Found { prepared, .. } => {
            rows.push(("Prepare found", format!("will {}", prepared.handle.summary), armed));
            rows.extend(prepared.found.iter().map(|f| ("", f.clone(), t.text())));
        }
    }
    rows.extend([
        ("Parameters", if params.is_empty() { "none".into() } else { params.join(" ") }, t.text()),
        ("Duration", duration, t.text()),
    ]);
    // Who ends it if this console dies: said once prepare has answered.
    if !ending.0.is_empty() {
        rows.push(("If it dies", ending.0.clone(), if ending.1 { Style::new().fg(t.ui.warning) } else { t.text() }));
    }
    rows.extend([
        ("Hypothesis", plan.hypothesis.clone(), t.text()),
        match steady {
            Verdict::Holds { reading } => {
                ("Steady state", format!("holds: {reading}"), Style::new().fg(t.health.healthy))
            }
            Verdict::Broken { reading } => {
                ("Steady state", format!("NOT in steady state: {reading}. Inject anyway?"), error)
            }
            Verdict::Unknown { why } => ("Steady state", format!("unknown: {why}"), Style::new().fg(t.health.unknown)),
        },
    ]);
    if !blind_stops.is_empty() {
        rows.push((
            "Stop cond.",
            format!("CANNOT BE EVALUATED (they would not stop this fault): {}. Inject anyway?", blind_stops.join("; ")),
            error,
        ));
    }
    let lines: Vec<Line> =
        rows.iter().flat_map(|(k, v, style)| labelled(k, 14, v, width.saturating_sub(2), t.muted(), *style)).collect();
    let r = popup(area, width, (18 + 2 * blind_stops.len().min(3) as u16).max(lines.len() as u16 + 4));
    super::clear(frame, r, t);
    let block = Block::bordered()
        .title(Span::styled(" Inject this fault? ", armed.add_modifier(Modifier::BOLD)))
        .border_style(armed);
    let inner = block.inner(r);
    frame.render_widget(block, r);
    let ask = steady.broken() || !blind_stops.is_empty();
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
        Span::styled(
            match preview {
                Preview::Reading { .. } => "[ Inject (reading…) ]",
                Preview::Refused { .. } => "[ Refused ]",
                Preview::Found { .. } if ask => "[ Inject anyway ]",
                Preview::Found { .. } => "[ Inject ]",
            },
            style(Button::Inject),
        ),
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
