//! The probes panel: each probe's state, last reading and latency trend, under the verdict of
//! the steady-state hypothesis.

use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Sparkline};
use ratatui::Frame;

use crate::app::state::AppState;
use crate::app::steady;
use crate::config::theme::Theme;
use crate::model::check::Verdict;

/// Rows wanted: one per probe, plus the borders.
pub fn height(s: &AppState) -> u16 {
    if s.steady.config.probes.is_empty() {
        0
    } else {
        (s.steady.config.probes.len() as u16 + 2).min(10)
    }
}

/// "hypothesis HOLDS", coloured, for panel titles.
pub fn verdict_span(s: &AppState, t: &Theme) -> Span<'static> {
    let name = s.steady.config.hypothesis.as_ref().map(|h| h.name.as_str()).unwrap_or(steady::DEFAULT);
    let (word, color) = match s.steady.hypothesis(&s.steady_view()) {
        Verdict::Holds { .. } => ("HOLDS", t.health.healthy),
        Verdict::Broken { .. } => ("BROKEN", t.health.down),
        Verdict::Unknown { .. } => ("UNKNOWN", t.health.unknown),
    };
    Span::styled(format!(" steady state \"{name}\": {word} "), Style::new().fg(color).add_modifier(Modifier::BOLD))
}

pub fn draw(frame: &mut Frame, area: Rect, s: &AppState, t: &Theme) {
    let failing = s
        .steady
        .config
        .probes
        .iter()
        .filter(|p| steady::probe_state(s.steady.readings.get(&p.name)) == "failing")
        .count();
    let summary =
        format!("Probes: {} ({failing} failing) ·{}", s.steady.config.probes.len(), verdict_span(s, t).content);
    if super::summary_only(frame, area, t, summary) {
        return;
    }
    let block = Block::bordered()
        .title(Span::styled(" Probes ", t.title()))
        .title(verdict_span(s, t))
        .title_bottom(Span::styled(" trends: success | latency ", t.muted()))
        .border_style(t.border(false));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    const NAME: usize = 14;
    const TEXT: u16 = 2 + NAME as u16 + 9 + 30;
    let (shown, more) = super::fit(s.steady.config.probes.len(), inner.height as usize);
    if more > 0 {
        let line = Span::styled(format!("+{more} more probe(s)"), t.muted());
        frame.render_widget(Paragraph::new(line), Rect { y: inner.y + shown as u16, height: 1, ..inner });
    }
    for (i, p) in s.steady.config.probes.iter().take(shown).enumerate() {
        let y = inner.y + i as u16;
        let readings = s.steady.readings.get(&p.name);
        let state = steady::probe_state(readings);
        let color = match state {
            "ok" => t.health.healthy,
            "failing" => t.health.down,
            _ => t.health.unknown,
        };
        let detail = readings.and_then(|r| r.back()).map(|r| r.outcome.detail.as_str()).unwrap_or("no reading yet");
        let name: String = p.name.chars().take(NAME).collect();
        let detail: String = detail.chars().take(29).collect();
        let line = Line::from(vec![
            Span::styled("● ", Style::new().fg(color)),
            Span::styled(format!("{name:<NAME$}"), t.text()),
            Span::styled(format!("{state:<9}"), Style::new().fg(color)),
            Span::styled(format!("{detail:<30}"), t.muted()),
        ]);
        frame.render_widget(Paragraph::new(line), Rect { y, height: 1, ..inner });
        if inner.width > TEXT + 9 {
            // Success (full bars when it succeeded), then latency; newest on the right.
            let w = (inner.width - TEXT - 1) as usize / 2;
            let recent = |f: &dyn Fn(&crate::model::probe::Reading) -> u64| -> Vec<u64> {
                readings.map(|r| r.iter().rev().take(w).rev().map(f).collect()).unwrap_or_default()
            };
            let success = recent(&|x| (x.outcome.success.unwrap_or(0.0) * 100.0).round() as u64);
            let latency = recent(&|x| x.outcome.latency_ms.unwrap_or(0.0).round() as u64);
            let max = latency.iter().copied().max().unwrap_or(0).max(10);
            let x0 = inner.x + TEXT;
            let ok = Sparkline::default().data(&success).max(100).style(Style::new().fg(t.health.healthy));
            frame.render_widget(ok, Rect { x: x0, y, width: w as u16, height: 1 });
            let slow = Sparkline::default().data(&latency).max(max).style(Style::new().fg(color));
            frame.render_widget(slow, Rect { x: x0 + w as u16 + 1, y, width: w as u16, height: 1 });
        }
    }
}
