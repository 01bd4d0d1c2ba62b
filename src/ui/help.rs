//! The help overlay, generated from the key table, in two columns when there is room.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};
use ratatui::Frame;

use super::popup;
use crate::app::command::USAGE;
use crate::app::keymap;
use crate::app::state::AppState;
use crate::theme::Theme;

/// One line per binding, grouped under where it applies; sections are kept whole.
fn sections(t: &Theme) -> Vec<Vec<Line<'static>>> {
    let mut out: Vec<Vec<Line>> = keymap::help_sections()
        .into_iter()
        .map(|(title, rows)| {
            let mut lines = vec![Line::from(Span::styled(title, t.title()))];
            lines.extend(rows.into_iter().map(|(keys, what)| {
                Line::from(vec![Span::styled(format!("  {keys:<14}"), t.text()), Span::styled(what, t.muted())])
            }));
            lines
        })
        .collect();
    let mut commands = vec![Line::from(Span::styled("Commands (after :)", t.title()))];
    commands.extend(USAGE.split(" · ").map(|c| Line::from(Span::styled(format!("  {c}"), t.text()))));
    commands.push(Line::from(Span::styled("Targets", t.title())));
    for (form, example) in [
        ("<namespace>/<workload>", "sock-shop/carts"),
        ("<namespace>/pod/<name>", "sock-shop/pod/carts-7d4f-x2k4p"),
        ("node/<name>", "node/worker-1"),
    ] {
        commands
            .push(Line::from(vec![Span::styled(format!("  {form:<24}"), t.text()), Span::styled(example, t.muted())]));
    }
    out.push(commands);
    out
}

pub fn draw(frame: &mut Frame, area: Rect, _s: &AppState, t: &Theme) {
    let sections = sections(t);
    let total: usize = sections.iter().map(Vec::len).sum();
    let two = area.width >= 124;
    // Split where the left column reaches half, keeping sections whole.
    let mut left: Vec<Line> = Vec::new();
    let mut right: Vec<Line> = Vec::new();
    for sec in sections {
        if two && left.len() >= total.div_ceil(2) {
            right.extend(sec);
        } else {
            left.extend(sec);
        }
    }
    let h = left.len().max(right.len()) as u16 + 2;
    let r = popup(area, if two { 136 } else { 76 }, h);
    super::clear(frame, r, t);
    let block = Block::bordered().title(Span::styled(" Help · Esc closes ", t.title())).border_style(t.border(true));
    let inner = block.inner(r);
    frame.render_widget(block, r);
    if two {
        let [l, rr] = Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(inner);
        frame.render_widget(Paragraph::new(left), l);
        frame.render_widget(Paragraph::new(right), rr);
    } else {
        frame.render_widget(Paragraph::new(left), inner);
    }
}
