//! Rendering: a pure function of the state and its theme. One file per panel.

mod bars;
mod confirm;
mod drill;
mod fault;
mod health;
mod help;
mod leftovers;
mod note;
mod picker;
mod probes;
mod runsheet;
pub mod start;
mod timeline;
mod topology;

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::Frame;

use crate::app::fault::FaultPhase;
use crate::app::state::{AppState, Overlay};

pub fn draw(frame: &mut Frame, s: &AppState) {
    let t = &s.theme;
    let area = frame.area();
    frame.render_widget(ratatui::widgets::Block::new().style(t.background()), area);
    let live = s.fault.live().is_some();
    let bar = live || crate::app::cleanup::live(s) > 0;
    let journal = s.journal.error.is_some();
    let [header, abort_bar, journal_bar, body, status, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(if bar { bars::abort_bar_height(s) } else { 0 }),
        Constraint::Length(u16::from(journal)),
        Constraint::Min(5),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    bars::header(frame, header, s, t);
    if bar {
        bars::abort_bar(frame, abort_bar, s, t);
    }
    if journal {
        bars::journal_bar(frame, journal_bar, s, t);
    }
    let [left, right] = Layout::horizontal([Constraint::Percentage(42), Constraint::Percentage(58)]).areas(body);
    topology::draw(frame, left, s, t);
    let probes_height = probes::height(s);
    let share = if probes_height > 0 || runsheet::height(s) > 0 { 3 } else { 2 };
    let health_height = (s.health.len() as u16 + 3).min(right.height / share).max(5);
    let fault_height = if live { fault::height(s, right.width) } else { 0 };
    let sheet_height = runsheet::height(s);
    let drill_height = drill::height(s);
    let [drill_area, sheet_area, health_area, probes_area, fault_area, timeline_area] = Layout::vertical([
        Constraint::Length(drill_height),
        Constraint::Length(sheet_height),
        Constraint::Length(health_height),
        Constraint::Length(probes_height),
        Constraint::Length(fault_height),
        Constraint::Min(3),
    ])
    .areas(right);
    if drill_height > 0 {
        drill::draw(frame, drill_area, s, t);
    }
    if sheet_height > 0 {
        runsheet::draw(frame, sheet_area, s, t);
    }
    health::draw(frame, health_area, s, t);
    if probes_height > 0 {
        probes::draw(frame, probes_area, s, t);
    }
    if live {
        fault::draw(frame, fault_area, s, t);
    }
    timeline::draw(frame, timeline_area, s, t);
    bars::status(frame, status, s, t);
    bars::footer(frame, footer, s, t);

    match &s.ui.overlay {
        Overlay::Help => help::draw(frame, area, s, t),
        Overlay::Picker { cursor, target } => picker::draw_presets(frame, area, s, t, *cursor, target.as_ref()),
        Overlay::Targets { preset, cursor } => picker::draw_targets(frame, area, s, t, preset, *cursor),
        Overlay::Note(text) => note::draw(frame, area, t, text, s.ui.note_tag),
        Overlay::Leftovers { revert } => leftovers::draw(frame, area, s, t, *revert),
        Overlay::QuitConfirm { question } => confirm::quit(frame, area, t, question),
        Overlay::None => {}
    }
    if let FaultPhase::Armed { plan, button } = &s.fault {
        let blind = crate::app::steady::blind_stops(s);
        confirm::draw(frame, area, t, plan, *button, &crate::app::steady::hypothesis(s), &blind);
    }
}

/// Clears a popup's area, painting the theme's background.
pub(crate) fn clear(frame: &mut Frame, r: Rect, t: &crate::theme::Theme) {
    frame.render_widget(ratatui::widgets::Clear, r);
    frame.render_widget(ratatui::widgets::Block::new().style(t.background()), r);
}

/// A centred rectangle of at most `w` x `h` cells inside `area`.
pub(crate) fn popup(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width.saturating_sub(2));
    let h = h.min(area.height.saturating_sub(2));
    Rect { x: area.x + (area.width - w) / 2, y: area.y + (area.height - h) / 2, width: w, height: h }
}

/// `label` (padded to `label_width`) then `value` wrapped to `width`, continuation lines
/// indented under the value.
pub(crate) fn labelled(
    label: &str,
    label_width: usize,
    value: &str,
    width: u16,
    label_style: Style,
    value_style: Style,
) -> Vec<Line<'static>> {
    let avail = (width as usize).saturating_sub(label_width).max(10);
    textwrap::wrap(value, avail)
        .into_iter()
        .enumerate()
        .map(|(i, part)| {
            let head = if i == 0 { format!("{label:<label_width$}") } else { " ".repeat(label_width) };
            Line::from(vec![Span::styled(head, label_style), Span::styled(part.into_owned(), value_style)])
        })
        .collect()
}

/// `mm:ss` or `h:mm:ss`.
pub(crate) fn clock(ms: u64) -> String {
    let s = ms / 1000;
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{:02}:{:02}", s / 60, s % 60)
    }
}
