//! The topology tree: namespace > workload > pods, then nodes, with health colours and
//! ready/desired counts.

use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, List, ListItem, ListState, Paragraph};
use ratatui::Frame;

use crate::app::state::AppState;
use crate::app::tree::Row;
use crate::config::theme::Theme;
use crate::model::PodPhase;
use crate::model::Target;
use crate::timeline::Health;

pub fn health_color(t: &Theme, h: Health) -> Color {
    match h {
        Health::Healthy => t.health.healthy,
        Health::Degraded => t.health.degraded,
        Health::Down => t.health.down,
        Health::Unknown => t.health.unknown,
    }
}

pub fn draw(frame: &mut Frame, area: Rect, s: &AppState, t: &Theme) {
    let rows = s.rows();
    let filter = if s.ui.filter.is_empty() { String::new() } else { format!(" · filter \"{}\"", s.ui.filter) };
    let stale = if s.picture.connection.as_ref().is_some_and(|c| !c.connected) { " · STALE" } else { "" };
    let word = &s.session.backend.pod_word;
    let mut title = format!(" Topology · {} {word}s{filter}{stale} ", s.picture.topology.pod_count());
    let block = Block::bordered().border_style(t.border(true));
    let inner = block.inner(area);
    let height = inner.height as usize;
    if rows.is_empty() || height == 0 {
        let empty = if s.picture.topology.pod_count() == 0 && s.picture.topology.nodes().is_empty() {
            "waiting for the cluster…"
        } else {
            "nothing matches the filter (Esc clears it)"
        };
        frame.render_widget(block.title(Span::styled(title, t.title())), area);
        frame.render_widget(Paragraph::new(Span::styled(empty, t.muted())), inner);
        return;
    }
    // Only the page holding the cursor is built and drawn, however large the cluster.
    let cursor = s.ui.cursor.min(rows.len() - 1);
    let offset = cursor / height * height;
    let page = &rows[offset..(offset + height).min(rows.len())];
    if rows.len() > height {
        title.push_str(&format!("· {}/{} ", cursor + 1, rows.len()));
    }
    let target = s.fault.live().map(|f| &f.plan.target);
    let items: Vec<ListItem> = page.iter().map(|r| ListItem::new(row_line(s, t, r, target))).collect();
    frame.render_widget(block.title(Span::styled(title, t.title())), area);
    let mut state = ListState::default().with_selected(Some(cursor - offset));
    frame.render_stateful_widget(List::new(items).highlight_style(t.selected()), inner, &mut state);
}

fn row_line<'a>(s: &AppState, t: &Theme, row: &Row<'a>, fault_target: Option<&Target>) -> Line<'a> {
    let mark = |row: &Row| {
        if fault_target.is_some() && row.target().as_ref() == fault_target {
            Span::styled(" ◀ FAULT", Style::new().fg(t.fault.active))
        } else {
            Span::raw("")
        }
    };
    match row {
        Row::Namespace(ns) => match s.picture.topology.lock_reason(ns) {
            Some(_) => Line::from(vec![
                Span::styled(format!("▾ {ns}"), t.title()),
                Span::styled(" (off-limits to faults)", t.muted()),
            ]),
            None => Line::from(Span::styled(format!("▾ {ns}"), t.title())),
        },
        Row::Workload(w) => {
            let health = s
                .picture
                .health
                .get(&format!("{}/{}", w.namespace, w.name))
                .map(|h| h.state())
                .unwrap_or(Health::Unknown);
            let count_color = if w.ready == 0 && w.desired > 0 {
                t.health.down
            } else if w.ready < w.desired {
                t.health.degraded
            } else {
                t.ui.text
            };
            Line::from(vec![
                Span::styled("  ● ", Style::new().fg(health_color(t, health))),
                Span::styled(format!("{:<14}", w.name), t.text()),
                Span::styled(format!(" {}/{}", w.ready, w.desired), Style::new().fg(count_color)),
                Span::styled(w.note.as_ref().map(|n| format!(" [{n}]")).unwrap_or_default(), t.muted()),
                mark(row),
            ])
        }
        Row::Pod(p) => {
            let color = match (p.phase, p.ready) {
                (PodPhase::Running, true) => t.health.healthy,
                (
                    PodPhase::Terminating
                    | PodPhase::CrashLoopBackOff
                    | PodPhase::Exited(_)
                    | PodPhase::Paused
                    | PodPhase::Restarting,
                    _,
                ) => t.health.down,
                _ => t.health.degraded,
            };
            let phase =
                if p.phase == PodPhase::Running && !p.ready { "NotReady".to_string() } else { p.phase.to_string() };
            let mut extra = String::new();
            if p.restarts > 0 {
                extra.push_str(&format!(" ↻{}", p.restarts));
            }
            if let Some(n) = &p.note {
                extra.push_str(&format!(" [{n}]"));
            }
            if let Some(node) = &p.node {
                extra.push_str(&format!(" {node}"));
            }
            Line::from(vec![
                Span::styled("      ◦ ", Style::new().fg(color)),
                Span::styled(p.name.clone(), t.muted()),
                Span::styled(format!(" {phase}"), Style::new().fg(color)),
                Span::styled(extra, t.muted()),
                mark(row),
            ])
        }
        Row::NodesHeader => Line::from(Span::styled("▾ nodes", t.title())),
        Row::Node(n) => {
            let pods = s.picture.topology.pods_on(&n.name).filter(|p| !p.phase.is_down()).count();
            let (color, state) = if !n.ready {
                (t.health.down, "NotReady")
            } else if n.unschedulable {
                (t.health.degraded, "Ready,SchedulingDisabled")
            } else {
                (t.health.healthy, "Ready")
            };
            Line::from(vec![
                Span::styled("  ● ", Style::new().fg(color)),
                Span::styled(format!("{:<14}", n.name), t.text()),
                Span::styled(format!(" {state} · {pods} {}s", s.session.backend.pod_word), Style::new().fg(color)),
                Span::styled(n.note.as_ref().map(|n| format!(" [{n}]")).unwrap_or_default(), t.muted()),
                mark(row),
            ])
        }
    }
}
