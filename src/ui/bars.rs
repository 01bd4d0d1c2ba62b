//! The header, the red abort bar, the status line and the footer of keys (generated from the
//! key table).

use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::clock;
use crate::app::cluster;
use crate::app::fault::{FaultPhase, LOUD_AFTER_ATTEMPTS};
use crate::app::keymap::{self, ABORT_CHORD};
use crate::app::state::{AppState, Level, TextInput};
use crate::config::theme::Theme;

pub fn header(frame: &mut Frame, area: Rect, s: &AppState, t: &Theme) {
    if let Some(c) = s.picture.connection.as_ref().filter(|c| !c.connected) {
        let line = Line::from(vec![
            Span::styled(" gameday ", t.title()),
            Span::styled(
                format!(
                    " ✖ DISCONNECTED from {} for {}: {} · showing the last picture (stale) · reconnecting… ",
                    s.session.backend.cluster,
                    clock(s.book.now.t_ms.saturating_sub(c.since_ms)),
                    c.detail
                ),
                Style::new().fg(t.ui.error).add_modifier(Modifier::BOLD),
            ),
        ]);
        frame.render_widget(Paragraph::new(line), area);
        return;
    }
    let drill = s.drill.as_ref().map(|r| {
        Span::styled(
            format!(" DRILL · responder {} ", r.name),
            Style::new().fg(t.ui.warning).add_modifier(Modifier::BOLD),
        )
    });
    let line = Line::from_iter(
        [
            Some(Span::styled(" gameday ", t.title())),
            drill,
            Some(Span::styled(format!("· {} · {} ", s.session.backend.kind, s.session.backend.cluster), t.text())),
            Some(Span::styled(
                format!(
                    "· session {} · {} UTC · elapsed {} ",
                    s.session.id,
                    s.book.now.wall.format("%H:%M:%S"),
                    clock(s.book.now.t_ms)
                ),
                t.muted(),
            )),
        ]
        .into_iter()
        .flatten(),
    );
    frame.render_widget(Paragraph::new(line), area);
}

/// The line for a fault another console holds, when this one has none in the cluster.
fn held_elsewhere(s: &AppState) -> Option<String> {
    if !s.fault.idle() {
        return None;
    }
    let seen = s.cluster.elsewhere(s.own())?;
    let h = &seen.holder;
    let left = cluster::time_left(h, s.book.now.wall.timestamp()).map(|t| format!(" · {t}")).unwrap_or_default();
    let action = if seen.taking_over {
        format!("its console is silent ({} s): REVERTING IT BY ITS MARKERS", seen.silent_s(s.book.now.t_ms))
    } else if seen.stop_sent || h.stop.is_some() {
        format!("STOP ASKED{}", h.stop.as_deref().map(|b| format!(" by {b}")).unwrap_or_default())
    } else {
        "SPACE asks them to stop".to_string()
    };
    Some(format!(" ■ {action} · LIVE ELSEWHERE: {} · {}{left}", h.who, h.what))
}

pub fn abort_bar(frame: &mut Frame, area: Rect, s: &AppState, t: &Theme) {
    // The abort key comes first: on a narrow terminal the end of the line is what is cut.
    // In a text field Space is a space: the bar then leads with the chord that aborts there.
    let (key, typing) = match s.context().is_text() {
        true => (format!("{} aborts (typing)", ABORT_CHORD.label().to_uppercase()), "Space outside text".to_string()),
        false => ("SPACE aborts".to_string(), format!("{} while typing", ABORT_CHORD.label())),
    };
    let lines: Vec<Line> = match &s.fault.phase {
        FaultPhase::Preparing { fault, abort: None } => vec![Line::from(format!(
            " ■ {key} · PREPARING #{} {} → {} … · {typing}",
            fault.id, fault.plan.preset, fault.plan.target
        ))],
        FaultPhase::Preparing { fault, abort: Some(_) } => vec![Line::from(format!(
            " ■ ABORTED: nothing will be applied · PREPARING #{} {} → {}",
            fault.id, fault.plan.preset, fault.plan.target
        ))],
        FaultPhase::Applying { fault, abort: None } => vec![Line::from(format!(
            " ■ {key} · INJECTING #{} {} → {} … · {typing}",
            fault.id, fault.plan.preset, fault.plan.target
        ))],
        FaultPhase::Applying { fault, abort: Some(_) } => vec![Line::from(format!(
            " ■ ABORT PENDING: reverting as soon as the inject returns · INJECTING #{} {} → {}",
            fault.id, fault.plan.preset, fault.plan.target
        ))],
        FaultPhase::Active { fault } => {
            let left = fault.deadline_ms.map(|d| d.saturating_sub(s.book.now.t_ms)).unwrap_or(0);
            // The time left before what it is: on a narrow terminal the end is what is cut.
            vec![Line::from(format!(
                " ■ {key} · {} left of {} · FAULT LIVE #{} {} → {} · {typing}",
                clock(left + 999),
                clock(crate::app::fault::span_ms(fault)),
                fault.id,
                fault.plan.preset,
                fault.plan.target,
            ))]
        }
        FaultPhase::Reverting { fault, attempt, last_error, .. } if *attempt > LOUD_AFTER_ATTEMPTS => vec![
            Line::from(format!(
                " ✖ SPACE retries now · REVERT FAILING #{} {} → {} · attempt {attempt} · STILL RETRYING",
                fault.id, fault.plan.preset, fault.plan.target
            )),
            Line::from(format!("   last error: {}", last_error.as_deref().unwrap_or("-"))),
            Line::from("   the fault may still be in the cluster · check the cluster by hand"),
        ],
        FaultPhase::Reverting { fault, attempt, .. } => vec![Line::from(format!(
            " ⟳ REVERTING #{} {} → {} · attempt {attempt} · waiting for confirmation",
            fault.id, fault.plan.preset, fault.plan.target
        ))],
        _ => vec![],
    };
    let mut lines = lines;
    lines.extend(held_elsewhere(s).map(Line::from));
    let left = s.cleanup.live();
    let lines = if left > 0 {
        let mut l = lines;
        let pending = s.cleanup.unresolved();
        l.push(Line::from(format!(
            " ■ SPACE reverts them · {left} FAULT(S) LEFT BY EARLIER SESSIONS{}",
            if pending < left { " (left in place by choice)" } else { "" }
        )));
        l
    } else {
        lines
    };
    let style = t.abort_bar();
    let style = if matches!(&s.fault.phase, FaultPhase::Reverting { attempt, .. } if *attempt > LOUD_AFTER_ATTEMPTS) {
        style.add_modifier(Modifier::SLOW_BLINK)
    } else {
        style
    };
    frame.render_widget(Paragraph::new(lines).style(style), area);
}

/// The journal cannot be written: a red line that stays until it can, saying what that means.
pub fn journal_bar(frame: &mut Frame, area: Rect, s: &AppState, t: &Theme) {
    let Some(error) = &s.journal.error else { return };
    let unsaved = s.book.timeline.iter().filter(|e| s.journal.unsaved(e.seq)).count();
    let line = format!(
        " ✖ JOURNAL NOT WRITABLE for {}: {error} · {unsaved} entr{} NOT SAVED · new faults refused · abort works · retrying",
        clock(s.book.now.t_ms.saturating_sub(s.journal.since_ms)),
        if unsaved == 1 { "y" } else { "ies" },
    );
    frame.render_widget(Paragraph::new(line).style(t.abort_bar().add_modifier(Modifier::BOLD)), area);
}

pub fn status(frame: &mut Frame, area: Rect, s: &AppState, t: &Theme) {
    let Some(st) = s.book.status.as_ref().filter(|st| st.shown(s.book.now.t_ms)) else { return };
    let color = match st.level {
        Level::Info => t.ui.info,
        Level::Warning => t.ui.warning,
        Level::Error => t.ui.error,
    };
    let style = Style::new().fg(color);
    let style = if st.level == Level::Info { style } else { style.add_modifier(Modifier::BOLD) };
    frame.render_widget(Paragraph::new(Line::from(format!(" {}", st.text))).style(style), area);
}

pub fn footer(frame: &mut Frame, area: Rect, s: &AppState, t: &Theme) {
    match &s.ui.input {
        Some(TextInput::Command(text)) | Some(TextInput::Filter(text)) => {
            let prompt = if matches!(s.ui.input, Some(TextInput::Command(_))) { ":" } else { "/" };
            frame.render_widget(Paragraph::new(prompt).style(t.title()), Rect { width: 1, ..area });
            // The way to abort stays on this row too, at its end, where there is room.
            let hint = format!(" {} abort · Esc close ", ABORT_CHORD.label());
            let hint_w = hint.chars().count() as u16;
            let room = if area.width >= 60 { hint_w } else { 0 };
            let rest = Rect { x: area.x + 1, width: area.width.saturating_sub(1 + room), ..area };
            frame.render_widget(&**text, rest);
            if room > 0 {
                let at = Rect { x: area.x + area.width - room, width: room, ..area };
                frame.render_widget(Paragraph::new(hint).style(t.muted()), at);
            }
        }
        None => keys(frame, area, s.context(), t),
    }
}

/// The keys of a context, from the key table.
pub fn keys(frame: &mut Frame, area: Rect, ctx: keymap::Context, t: &Theme) {
    let mut spans = Vec::new();
    for (keys, what) in keymap::footer(ctx) {
        spans.push(Span::styled(format!(" {keys}"), t.title()));
        spans.push(Span::styled(format!(" {what} "), t.muted()));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}
