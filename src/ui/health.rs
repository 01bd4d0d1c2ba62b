//! The service health panel: success %, p95 latency, requests/s and a latency sparkline each.

use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Sparkline};
use ratatui::Frame;

use super::topology::health_color;
use crate::app::health::ServiceHealth;
use crate::app::state::AppState;
use crate::config::theme::Theme;

/// The smallest top of a sparkline's scale, in ms.
const MIN_SCALE_MS: u64 = 10;

pub fn draw(frame: &mut Frame, area: Rect, s: &AppState, t: &Theme) {
    let unwell: Vec<String> = s
        .picture
        .health
        .iter()
        .filter(|(_, h)| h.state() != crate::timeline::Health::Healthy)
        .map(|(n, h)| format!("{} {}", n.rsplit('/').next().unwrap_or(n), h.state()))
        .collect();
    let summary =
        format!("Health: {} services, {} not healthy {}", s.picture.health.len(), unwell.len(), unwell.join(", "));
    if super::summary_only(frame, area, t, summary) {
        return;
    }
    let (title, hint) = sources(s);
    let mut block = Block::bordered()
        .title(Span::styled(title, t.title()))
        .title_bottom(Span::styled(hint, t.muted()))
        .border_style(t.border(false));
    if s.steady.config.probes.is_empty() {
        // Without probes the hypothesis is about these services: its verdict goes here.
        block = block.title_bottom(super::probes::verdict_span(s, t).into_right_aligned_line());
    }
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.height == 0 {
        return;
    }
    // CPU and memory columns where a source measures them.
    let usage = s.picture.health.values().any(|h| h.usage.is_some());
    let cols = if usage { format!("{:>7}{:>8}", "cpu", "mem") } else { String::new() };
    let head = Line::from(Span::styled(
        format!("{:<16}{:>8}{:>9}{:>7}{cols}  trend", "service", "ok / up", "p95", "rps"),
        t.muted(),
    ));
    frame.render_widget(Paragraph::new(head), Rect { height: 1, ..inner });
    if s.picture.health.is_empty() {
        let wait = Paragraph::new(Span::styled("waiting for the first traffic sample…", t.muted()));
        frame.render_widget(wait, Rect { y: inner.y + 1, height: 1, ..inner });
    }
    let text_w: u16 = 16 + 8 + 9 + 7 + 2 + if usage { 15 } else { 0 };
    // When not every service fits, the worst come first.
    let rows = (inner.height as usize).saturating_sub(1);
    let mut services: Vec<(&String, &ServiceHealth)> = s.picture.health.iter().collect();
    if services.len() > rows {
        services.sort_by_key(|(name, h)| (std::cmp::Reverse(h.state().severity()), name.to_string()));
    }
    // Short names unless two namespaces hold a service of the same name.
    let short_of = |name: &str| name.rsplit('/').next().unwrap_or(name).to_string();
    let mut seen = std::collections::HashMap::new();
    for name in s.picture.health.keys() {
        *seen.entry(short_of(name)).or_insert(0usize) += 1;
    }
    let (shown, more) = super::fit(services.len(), rows);
    if more > 0 {
        let hidden: Vec<String> =
            services[shown..].iter().map(|(n, h)| format!("{} {}", short_of(n), h.state())).collect();
        let line = Span::styled(format!("+{more} more: {}", hidden.join(", ")), t.muted());
        frame.render_widget(Paragraph::new(line), Rect { y: inner.y + 1 + shown as u16, height: 1, ..inner });
    }
    for (i, (name, h)) in services.into_iter().take(shown).enumerate() {
        let y = inner.y + 1 + i as u16;
        let color = health_color(t, h.state());
        let short = short_of(name);
        let shown = if seen.get(&short).copied().unwrap_or(0) > 1 { name.as_str() } else { short.as_str() };
        let shown: String = shown.chars().take(14).collect();
        let (succ, p95, rps) = match (&h.last, h.ready, &h.lost) {
            // Its source cannot be read: unknown, never shown as the last good reading.
            (_, _, Some(_)) => ("?".into(), "?".into(), "?".into()),
            (Some(x), _, None) => {
                let p95 = x.p95_ms.map(|p| format!("{p:.0}ms")).unwrap_or_else(|| "-".into());
                (format!("{:.1}%", x.success * 100.0), p95, rps_text(x.rps))
            }
            (None, Some((r, d)), None) if h.idle.is_some() => (format!("{r}/{d} up"), "idle".into(), "0".into()),
            (None, Some((r, d)), None) => (format!("{r}/{d} up"), "-".into(), "-".into()),
            (None, None, None) => ("-".into(), "-".into(), "-".into()),
        };
        let cpu_mem = match (&h.usage, usage) {
            (Some(u), _) => {
                format!("{:>7}{:>8}", format!("{:.0}m", u.cpu_m), crate::model::check::bytes(u.memory_bytes))
            }
            (None, true) => format!("{:>7}{:>8}", "-", "-"),
            (None, false) => String::new(),
        };
        let line = Line::from(vec![
            Span::styled("● ", Style::new().fg(color)),
            Span::styled(format!("{shown:<14}"), t.text()),
            Span::styled(format!("{succ:>8}{p95:>9}{rps:>7}{cpu_mem}"), Style::new().fg(color)),
        ]);
        frame.render_widget(Paragraph::new(line), Rect { y, height: 1, ..inner });
        if inner.width > text_w + 4 && !h.p95_hist.is_empty() {
            let w = inner.width - text_w;
            let data: Vec<u64> = h.p95_hist.iter().rev().take(w as usize).rev().copied().collect();
            // Each service on its own scale (a fast database and a slow front door both show
            // their trend), but never so tight that noise looks like a spike.
            let lo = data.iter().copied().min().unwrap_or(0);
            let hi = data.iter().copied().max().unwrap_or(0);
            let max = hi.max(2 * lo).max(MIN_SCALE_MS);
            let spark = Sparkline::default().data(&data).max(max).style(Style::new().fg(color));
            frame.render_widget(spark, Rect { x: inner.x + text_w, y, width: w, height: 1 });
        }
    }
}

/// "53", "0.4": a rate people read.
fn rps_text(x: f64) -> String {
    if x < 10.0 && x > 0.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.0}")
    }
}

/// The panel's title (where the signals come from) and its bottom line (what the trend is, and
/// why a row shows `-` where no source covers it).
fn sources(s: &AppState) -> (String, String) {
    use crate::model::{SourceKind, SourceState};
    let mut title = " Service health ".to_string();
    let mut hint = " trend: p95, last 2 min ".to_string();
    for ((kind, name), state) in &s.picture.sources {
        match (kind, state) {
            (SourceKind::Requests, SourceState::Up { families }) if !families.is_empty() => {
                title = format!(" Service health · {} via {name} ", families.join(", "));
            }
            (SourceKind::Requests, SourceState::Up { .. }) => {
                title = format!(" Service health · {name}: no known metric family ");
                hint =
                    " - : readiness only (no Istio, Linkerd, OpenTelemetry, ingress-nginx or HTTP histograms) ".into();
            }
            (SourceKind::Requests, SourceState::Down { .. }) => {
                title = format!(" Service health · {name} LOST: ? is unknown ");
            }
            (SourceKind::Requests, SourceState::Absent { .. }) => {
                title = " Service health · readiness only ".into();
                hint = " - : no Prometheus (--prometheus URL, or `prometheus` in config.toml) ".into();
            }
            (SourceKind::Resources, SourceState::Up { .. }) => {
                hint = format!("{}· cpu, mem: {name} ", hint.trim_end_matches(' ').to_string() + " ");
            }
            _ => {}
        }
    }
    (crate::text::one_line(&title).into_owned(), hint)
}
