//! The topology tree: namespace > workload > pods, then nodes, with health colours and
//! ready/desired counts.

use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, List, ListItem, ListState};
use ratatui::Frame;

use crate::app::state::AppState;
use crate::app::tree::Row;
use crate::backend::model::PodPhase;
use crate::backend::Target;
use crate::theme::Theme;
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
    let target = s.fault.live().map(|f| &f.plan.target);
    let items: Vec<ListItem> = rows.iter().map(|r| ListItem::new(row_line(s, t, r, target))).collect();
    let title = if s.ui.filter.is_empty() {
        format!(" Topology · {} pods ", s.topology.pods.len())
    } else {
        format!(" Topology · filter \"{}\" ", s.ui.filter)
    };
    let list = List::new(items)
        .block(Block::bordered().title(Span::styled(title, t.title())).border_style(t.border(true)))
        .highlight_style(t.selected());
    let mut state = ListState::default().with_selected((!rows.is_empty()).then_some(s.ui.cursor));
    frame.render_stateful_widget(list, area, &mut state);
}

fn row_line<'a>(s: &'a AppState, t: &Theme, row: &'a Row, fault_target: Option<&Target>) -> Line<'a> {
    let targeted = |tg: &Target| fault_target == Some(tg);
    let mark = |tg: &Target| {
        if targeted(tg) {
            Span::styled(" ◀ FAULT", Style::new().fg(t.fault.active))
        } else {
            Span::raw("")
        }
    };
    match row {
        Row::Namespace(ns) => Line::from(Span::styled(format!("▾ {ns}"), t.title())),
        Row::Workload(tg @ Target::Workload { namespace, name }) => {
            let w = s.topology.workloads.get(&(namespace.clone(), name.clone()));
            let (ready, desired) = w.map(|w| (w.ready, w.desired)).unwrap_or((0, 0));
            let health = s.health.get(&format!("{namespace}/{name}")).map(|h| h.state()).unwrap_or(Health::Unknown);
            let count_color = if ready < desired { t.health.degraded } else { t.ui.text };
            let count_color = if ready == 0 && desired > 0 { t.health.down } else { count_color };
            Line::from(vec![
                Span::styled("  ● ", Style::new().fg(health_color(t, health))),
                Span::styled(format!("{name:<14}"), t.text()),
                Span::styled(format!(" {ready}/{desired}"), Style::new().fg(count_color)),
                mark(tg),
            ])
        }
        Row::Pod(tg @ Target::Pod { namespace, name }) => {
            let p = s.topology.pods.get(&(namespace.clone(), name.clone()));
            let (color, phase, extra) = match p {
                Some(p) => {
                    let color = match (p.phase, p.ready) {
                        (PodPhase::Running, true) => t.health.healthy,
                        (PodPhase::Terminating | PodPhase::CrashLoopBackOff, _) => t.health.down,
                        _ => t.health.degraded,
                    };
                    let phase = if p.phase == PodPhase::Running && !p.ready {
                        "NotReady".to_string()
                    } else {
                        p.phase.to_string()
                    };
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
                    (color, phase, extra)
                }
                None => (t.health.unknown, "?".into(), String::new()),
            };
            Line::from(vec![
                Span::styled("      ◦ ", Style::new().fg(color)),
                Span::styled(name.as_str(), t.muted()),
                Span::styled(format!(" {phase}"), Style::new().fg(color)),
                Span::styled(extra, t.muted()),
                mark(tg),
            ])
        }
        Row::NodesHeader => Line::from(Span::styled("▾ nodes", t.title())),
        Row::Node(tg @ Target::Node { name }) => {
            let n = s.topology.nodes.get(name);
            let pods = s.topology.pods_on(name).filter(|p| p.phase != PodPhase::Terminating).count();
            let (color, state) = match n {
                Some(n) if !n.ready => (t.health.down, "NotReady"),
                Some(n) if n.unschedulable => (t.health.degraded, "Ready,SchedulingDisabled"),
                Some(_) => (t.health.healthy, "Ready"),
                None => (t.health.unknown, "?"),
            };
            Line::from(vec![
                Span::styled("  ● ", Style::new().fg(color)),
                Span::styled(format!("{name:<14}"), t.text()),
                Span::styled(format!(" {state} · {pods} pods"), Style::new().fg(color)),
                mark(tg),
            ])
        }
        _ => Line::from(""),
    }
}
