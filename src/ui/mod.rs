//! Rendering: a pure function of the state and its theme. One file per panel.

mod bars;
mod confirm;
mod drill;
mod fault;
mod form;
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
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use crate::app::fault::FaultPhase;
use crate::app::state::{AppState, Overlay};

pub fn draw(frame: &mut Frame, s: &AppState) {
    let t = &s.theme;
    let area = frame.area();
    frame.render_widget(ratatui::widgets::Block::new().style(t.background()), area);
    let live = s.fault.live().is_some();
    let bar_rows = s.abort_bar_rows();
    let bar = bar_rows > 0;
    let journal = s.journal.error.is_some();
    let [header, abort_bar, journal_bar, body, status, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(bar_rows),
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
    // A narrow terminal gives the tree less of its width.
    let tree = if body.width < 120 { 36 } else { 42 };
    let [left, right] =
        Layout::horizontal([Constraint::Percentage(tree), Constraint::Percentage(100 - tree)]).areas(body);
    topology::draw(frame, left, s, t);
    // The right column, by priority: the live fault, health, the run-sheet, probes, the drill,
    // then the timeline. Each gets what it needs while there is room; a panel with too little
    // room counts what it cannot show ("+2 more"), and one with none is a one-line summary.
    let fault_need = if live { fault::height(s, right.width) } else { 0 };
    let needs = [
        // The live fault's panel is what matters most: all of it, up to half the column.
        (fault_need, fault_need.min(right.height / 2)),
        (s.picture.health.len() as u16 + 3, 5),
        (runsheet::height(s), 3),
        (probes::height(s), 3),
        (drill::height(s), 3),
    ];
    let [fault_h, health_h, sheet_h, probes_h, drill_h] = allot(right.height, &needs, 3);
    let [drill_area, sheet_area, health_area, probes_area, fault_area, timeline_area] = Layout::vertical([
        Constraint::Length(drill_h),
        Constraint::Length(sheet_h),
        Constraint::Length(health_h),
        Constraint::Length(probes_h),
        Constraint::Length(fault_h),
        Constraint::Min(1),
    ])
    .areas(right);
    if drill_h > 0 {
        drill::draw(frame, drill_area, s, t);
    }
    if sheet_h > 0 {
        runsheet::draw(frame, sheet_area, s, t);
    }
    health::draw(frame, health_area, s, t);
    if probes_h > 0 {
        probes::draw(frame, probes_area, s, t);
    }
    if live {
        fault::draw(frame, fault_area, s, t);
    }
    timeline::draw(frame, timeline_area, s, t);
    bars::status(frame, status, s, t);
    bars::footer(frame, footer, s, t);

    // Popups take the body and the status line, never the header, the abort bar, the journal's
    // warning or the footer: the way to abort stays in sight whatever is open.
    let area = Rect { y: body.y, height: body.height + status.height, ..area };
    match &s.ui.overlay {
        Overlay::Help { scroll } => help::draw(frame, area, t, *scroll),
        Overlay::Picker { cursor, target } => picker::draw_presets(frame, area, s, t, *cursor, target.as_ref()),
        Overlay::Targets { preset, cursor } => picker::draw_targets(frame, area, s, t, preset, *cursor),
        Overlay::Note(text) => note::draw(frame, area, t, text, s.ui.note_tag),
        Overlay::Leftovers { revert } => leftovers::draw(frame, area, s, t, *revert),
        Overlay::QuitConfirm { question } => confirm::quit(frame, area, t, question),
        Overlay::Form(form) => form::draw(frame, area, t, form),
        Overlay::None => {}
    }
    if let FaultPhase::Armed { plan, button, preview } = &s.fault.phase {
        let blind = s.steady.blind_stops(s.book.t_ms());
        let shown = confirm::Shown {
            plan,
            button: *button,
            preview,
            steady: &s.steady.hypothesis(&s.steady_view()),
            ending: crate::app::fault::preview::ending(preview, s.watchdog_alive()),
        };
        confirm::draw(frame, area, t, &shown, &blind);
    }
}

/// Clears a popup's area, painting the theme's background.
pub(crate) fn clear(frame: &mut Frame, r: Rect, t: &crate::config::theme::Theme) {
    frame.render_widget(ratatui::widgets::Clear, r);
    frame.render_widget(ratatui::widgets::Block::new().style(t.background()), r);
}

/// Rows for panels in priority order, each `(need, least)`, with `keep` rows left for the
/// timeline: first each gets its least while there is room (a panel that needs nothing gets
/// nothing), then each left out gets one row for its summary, then the rest goes to their needs
/// in order.
fn allot<const N: usize>(height: u16, needs: &[(u16, u16); N], keep: u16) -> [u16; N] {
    let mut out = [0u16; N];
    let mut room = height.saturating_sub(keep);
    for (i, (need, least)) in needs.iter().enumerate() {
        let least = (*least).min(*need);
        if least > 0 && room >= least {
            out[i] = least;
            room -= least;
        }
    }
    for (i, (need, _)) in needs.iter().enumerate() {
        if out[i] == 0 && *need > 0 && room > 0 {
            out[i] = 1;
            room -= 1;
        }
    }
    for (i, (need, _)) in needs.iter().enumerate() {
        if out[i] > 1 {
            let more = need.saturating_sub(out[i]).min(room);
            out[i] += more;
            room -= more;
        }
    }
    out
}

/// A panel with no room for its borders says what it holds on one line; true if it did.
pub(crate) fn summary_only(frame: &mut Frame, area: Rect, t: &crate::config::theme::Theme, text: String) -> bool {
    if area.height >= 3 {
        return false;
    }
    let line = Line::from(vec![Span::styled(format!(" {text}"), t.muted())]);
    frame.render_widget(Paragraph::new(line), Rect { height: area.height.min(1), ..area });
    true
}

/// What fits in `rows` rows of a list of `n`: how many to show, and how many are left over
/// (then the last row says "+N more").
pub(crate) fn fit(n: usize, rows: usize) -> (usize, usize) {
    if n <= rows {
        (n, 0)
    } else {
        let shown = rows.saturating_sub(1);
        (shown, n - shown)
    }
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
