//! The preset picker (disabled presets shown with the reason) and the target selection with
//! its blast-radius preview.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, List, ListItem, ListState, Paragraph, Wrap};
use ratatui::Frame;

use super::popup;
use crate::app::state::AppState;
use crate::config::preset::Preset;
use crate::config::theme::Theme;
use crate::model::Target;

fn details<'a>(p: &Preset, t: &Theme) -> Vec<Line<'a>> {
    let params: Vec<String> = p.params.iter().map(|(k, d)| format!("{k}={}{}", d.default, d.unit)).collect();
    vec![
        Line::from(Span::styled(p.description.clone(), t.text())),
        Line::from(Span::styled(
            format!(
                "targets {} · duration {} · {}",
                p.targets_text(),
                humantime::format_duration(p.duration),
                if params.is_empty() { "no parameters".to_string() } else { params.join(" ") }
            ),
            t.muted(),
        )),
    ]
}

pub fn draw_presets(frame: &mut Frame, area: Rect, s: &AppState, t: &Theme, cursor: usize, target: Option<&Target>) {
    let r = popup(area, 96, s.presets.len() as u16 + 7);
    super::clear(frame, r, t);
    let title = match target {
        Some(tg) => format!(" Pick a fault for {tg} "),
        None => " Pick a fault preset ".to_string(),
    };
    let block = Block::bordered().title(Span::styled(title, t.title())).border_style(t.border(true));
    let inner = block.inner(r);
    frame.render_widget(block, r);
    let [list_area, detail_area] = Layout::vertical([Constraint::Min(1), Constraint::Length(3)]).areas(inner);
    let w = s.presets.iter().map(|p| p.preset.id.chars().count()).max().unwrap_or(0) + 2;
    let order = s.picker_order(target);
    let items: Vec<ListItem> = order
        .iter()
        .map(|p| match s.preset_available(p, target) {
            Ok(()) => ListItem::new(Line::from(vec![
                Span::styled(format!("{:<w$}", p.preset.id), t.text()),
                Span::styled(p.preset.name.clone(), t.muted()),
            ])),
            Err(why) => ListItem::new(Line::from(vec![
                Span::styled(format!("{:<w$}", p.preset.id), Style::new().fg(t.ui.disabled)),
                Span::styled(format!("unavailable: {why}"), Style::new().fg(t.ui.disabled)),
            ])),
        })
        .collect();
    let mut state = ListState::default().with_selected(Some(cursor));
    frame.render_stateful_widget(
        List::new(items).highlight_style(t.selected()).highlight_symbol("▶ "),
        list_area,
        &mut state,
    );
    if let Some(p) = order.get(cursor) {
        frame.render_widget(Paragraph::new(details(&p.preset, t)).wrap(Wrap { trim: true }), detail_area);
    }
}

pub fn draw_targets(frame: &mut Frame, area: Rect, s: &AppState, t: &Theme, preset: &str, cursor: usize) {
    let Some(entry) = s.preset(preset) else {
        return;
    };
    let choices = s.target_choices(preset);
    let r = popup(area, 96, 24);
    super::clear(frame, r, t);
    let filter = if s.ui.filter.is_empty() { String::new() } else { format!(" · filter \"{}\"", s.ui.filter) };
    let block = Block::bordered()
        .title(Span::styled(format!(" Target for {} ({}){filter} ", preset, entry.preset.targets_text()), t.title()))
        .border_style(t.border(true));
    let inner = block.inner(r);
    frame.render_widget(block, r);
    let [list_area, preview] = Layout::vertical([Constraint::Min(1), Constraint::Length(4)]).areas(inner);
    let items: Vec<ListItem> = choices.iter().map(|c| ListItem::new(Span::styled(c.to_string(), t.text()))).collect();
    let mut state = ListState::default().with_selected((!choices.is_empty()).then_some(cursor));
    frame.render_stateful_widget(
        List::new(items).highlight_style(t.selected()).highlight_symbol("▶ "),
        list_area,
        &mut state,
    );
    let text = match choices.get(cursor) {
        Some(target) => match s.planner().plan(preset, &target.to_string(), &[]) {
            Ok(p) => vec![
                Line::from(Span::styled("Blast radius", t.title())),
                Line::from(Span::styled(p.blast_radius, Style::new().fg(t.fault.armed))),
            ],
            Err(e) => vec![Line::from(Span::styled(e, Style::new().fg(t.ui.error)))],
        },
        None => vec![Line::from(Span::styled("no target matches", t.muted()))],
    };
    let block = Block::default().borders(ratatui::widgets::Borders::TOP).border_style(t.border(false));
    frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }).block(block), preview);
}
