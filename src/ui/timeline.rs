//! The timeline pane: the newest entries of the journal, coloured by kind.

use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};
use ratatui::Frame;

use super::labelled;
use crate::app::state::AppState;
use crate::config::theme::Theme;
use crate::timeline::{since, EntryKind};

pub fn kind_color(t: &Theme, k: &EntryKind) -> Color {
    use EntryKind::*;
    match k {
        SessionStart { .. } | SessionEnd { .. } | SessionResumed { .. } | ReportExported { .. } => t.timeline.session,
        InjectRequested { .. }
        | InjectStarted { .. }
        | InjectCancelled { .. }
        | InjectConfirmed { .. }
        | InjectFailed { .. }
        | InjectRefused { .. } => t.timeline.fault,
        FaultEnding { .. } => t.timeline.abort,
        RevertStarted { .. } | RevertConfirmed { .. } | RevertFailed { .. } => t.timeline.revert,
        HealthChanged { .. } | Readings { .. } => t.timeline.health,
        Cluster { .. } => t.timeline.cluster,
        Note { .. } => t.timeline.note,
        AlertTicked { fired: true, .. } => t.ui.warning,
        AlertTicked { .. } => t.timeline.note,
        SessionDetails { .. } => t.timeline.session,
        LeftoverFound { .. } | LeftoverKept { .. } => t.timeline.fault,
        LeftoverReverted { .. } | LeftoverRevertFailed { .. } | LeftoverExpired { .. } => t.timeline.revert,
        SteadyStateDeclared { .. } | ProbeAdded { .. } => t.timeline.session,
        ProbeChanged { .. } | SteadyStateBefore { .. } | HypothesisBroken { .. } | SteadyStateRecovered { .. } => {
            t.timeline.health
        }
        StopCondition { .. } => t.timeline.abort,
        SteadyStateHeldAgain { .. } => t.timeline.health,
        ExpectationBroken { .. } => t.timeline.health,
        PlanLoaded { .. } | StepStarted { .. } | StepOutcome { .. } => t.timeline.session,
        DrillJoined { .. } | DrillRevealed { .. } => t.timeline.session,
        DrillMark { mark: crate::timeline::Mark::Stop, .. } => t.timeline.abort,
        DrillMark { .. } => t.timeline.note,
        AbortRepeated { .. } => t.timeline.abort,
        FaultResized { .. } => t.timeline.fault,
        ConsoleStopped { .. } => t.ui.warning,
        InjectNotApplied { .. } => t.timeline.fault,
        FaultClosed { .. } => t.timeline.revert,
        ConsoleLost { .. } => t.ui.warning,
        StopAsked { .. } => t.timeline.abort,
        TookOver { .. } => t.timeline.revert,
        Console { warning: true, .. } => t.ui.warning,
        Console { .. } | Unknown { .. } => t.timeline.session,
    }
}

pub fn draw(frame: &mut Frame, area: Rect, s: &AppState, t: &Theme) {
    let shown = s.timeline_shown();
    // Scrolled back: up to the entry kept at the bottom; else the newest.
    let end = match s.ui.timeline_at {
        Some(seq) => shown.iter().rposition(|e| e.seq <= seq).map(|i| i + 1).unwrap_or(shown.len()),
        None => shown.len(),
    };
    let focused = s.ui.focus == crate::app::state::Focus::Timeline;
    let entries = s.book.timeline.iter().filter(|e| e.kind.on_timeline()).count();
    let mut title = format!(" Timeline · {entries} entries ");
    if !s.ui.filter.is_empty() {
        title.push_str(&format!("· {} match /{} ", shown.len(), s.ui.filter));
    }
    if end < shown.len() {
        title.push_str(&format!("· {} newer below (End follows) ", shown.len() - end));
    } else if focused {
        title.push_str("· ↑ older ");
    }
    let block = Block::bordered().title(Span::styled(title, t.title())).border_style(t.border(focused));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    // The newest entries that fit, each wrapped under its timestamp.
    let mut lines: Vec<Line> = Vec::new();
    for e in shown[..end].iter().rev() {
        if lines.len() >= inner.height as usize {
            break;
        }
        let style = Style::new().fg(kind_color(t, &e.kind));
        // Held in memory while the journal cannot be written: said on the entry itself.
        let text = match s.journal.unsaved(e.seq) {
            true => format!("{} [NOT SAVED]", e.kind.describe()),
            false => e.kind.describe(),
        };
        let mut entry = labelled(&since(e.t_ms), 7, &text, inner.width, t.muted(), style);
        entry.reverse();
        lines.extend(entry);
    }
    lines.truncate(inner.height as usize);
    lines.reverse();
    frame.render_widget(Paragraph::new(lines), inner);
}
