//! The responder's drill panel: what to do, their marks, and once the facilitator reveals
//! them, the faults with the time each was detected and mitigated.

use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};
use ratatui::Frame;

use super::clock;
use crate::app::drill::Responder;
use crate::app::state::AppState;
use crate::config::theme::Theme;
use crate::timeline::entry::seconds;
use crate::timeline::{drill, EntryKind, Mark};

pub fn height(s: &AppState) -> u16 {
    match &s.drill {
        Some(r) if r.revealed() => (r.revealed_faults().len() as u16 * 2 + 4).min(14),
        Some(_) => 5,
        None => 0,
    }
}

pub fn draw(frame: &mut Frame, area: Rect, s: &AppState, t: &Theme) {
    let Some(r) = &s.drill else { return };
    let summary = format!("Drill: {} · d detected · m mitigated · Space stop", r.name);
    if super::summary_only(frame, area, t, summary) {
        return;
    }
    let state = if r.ended() { " the facilitator's session has ended " } else { " session live " };
    let block = Block::bordered()
        .title(Span::styled(format!(" Drill: {} responds to session {} ", r.name, r.session), t.title()))
        .title(Span::styled(state, t.muted()))
        .border_style(t.border(false));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let lines = if r.revealed() { revealed(r, t) } else { hidden(s, t) };
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}

fn hidden(s: &AppState, t: &Theme) -> Vec<Line<'static>> {
    let key = |k: &str| Span::styled(format!(" {k} "), Style::new().fg(t.ui.warning).add_modifier(Modifier::BOLD));
    let marks: Vec<String> = s
        .book
        .timeline
        .iter()
        .filter_map(|e| match &e.kind {
            EntryKind::DrillMark { mark: m @ (Mark::Detected | Mark::Mitigated | Mark::Stop), .. } => {
                Some(format!("{m} +{}", clock(e.t_ms)))
            }
            _ => None,
        })
        .collect();
    vec![
        Line::styled("Something may break: the faults are hidden until the facilitator reveals them.", t.text()),
        Line::from(vec![
            key("d"),
            Span::styled("detected  ", t.text()),
            key("m"),
            Span::styled("mitigated  ", t.text()),
            key("n"),
            Span::styled("note to the facilitator  ", t.text()),
            key("Space"),
            Span::styled("emergency stop", t.text()),
        ]),
        Line::styled(
            format!("Your marks: {}", if marks.is_empty() { "none yet".to_string() } else { marks.join(" · ") }),
            t.muted(),
        ),
    ]
}

fn revealed(r: &Responder, t: &Theme) -> Vec<Line<'static>> {
    let d = drill::read(&r.seen);
    let shown = r.revealed_faults();
    let mut lines = vec![Line::styled(
        format!(
            "REVEALED: {} fault(s) were injected so far (a later one stays hidden until the next reveal)",
            shown.len()
        ),
        t.title(),
    )];
    for f in d.faults.iter().filter(|f| shown.contains(&f.fault)) {
        let step = f.step.as_ref().map(|s| format!("step {} \"{}\": ", s.step, s.name)).unwrap_or_default();
        lines.push(Line::from(vec![
            Span::styled(format!("#{} ", f.fault), t.title()),
            Span::styled(format!("{step}{} on {}", f.preset, f.target), t.text()),
            Span::styled(
                format!(" · injected +{} · {}", clock(f.injected_ms), f.ended.as_deref().unwrap_or("live")),
                t.muted(),
            ),
        ]));
        let mark = |m: &Option<drill::MarkAt>, what: &str| match m {
            Some(m) => format!("{what} after {} ({})", seconds(m.after_ms), m.responder),
            None => format!("not {what}"),
        };
        let color = if f.detected.is_some() { t.health.healthy } else { t.health.down };
        lines.push(Line::styled(
            format!("    {} · {}", mark(&f.detected, "detected"), mark(&f.mitigated, "mitigated")),
            Style::new().fg(color),
        ));
    }
    if !d.false_alarms.is_empty() {
        lines
            .push(Line::styled(format!("{} mark(s) before any fault (false alarms)", d.false_alarms.len()), t.muted()));
    }
    lines
}
