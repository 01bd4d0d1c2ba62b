//! The timeline pane: the newest entries of the journal, coloured by kind.

use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};
use ratatui::Frame;

use crate::app::state::AppState;
use crate::theme::Theme;
use crate::timeline::{since, EntryKind};

pub fn kind_color(t: &Theme, k: &EntryKind) -> Color {
    use EntryKind::*;
    match k {
        SessionStart { .. } | SessionEnd { .. } | ReportExported { .. } => t.timeline.session,
        InjectRequested { .. }
        | InjectStarted { .. }
        | InjectConfirmed { .. }
        | InjectFailed { .. }
        | InjectRefused { .. } => t.timeline.fault,
        FaultEnding { .. } => t.timeline.abort,
        RevertStarted { .. } | RevertConfirmed { .. } | RevertFailed { .. } => t.timeline.revert,
        HealthChanged { .. } => t.timeline.health,
        Cluster { .. } => t.timeline.cluster,
        Note { .. } => t.timeline.note,
    }
}

pub fn draw(frame: &mut Frame, area: Rect, s: &AppState, t: &Theme) {
    let block = Block::bordered()
        .title(Span::styled(format!(" Timeline · {} entries ", s.timeline.len()), t.title()))
        .border_style(t.border(false));
    let inner = block.inner(area);
    let n = inner.height as usize;
    let lines: Vec<Line> = s.timeline[s.timeline.len().saturating_sub(n)..]
        .iter()
        .map(|e| {
            Line::from(vec![
                Span::styled(format!("{} ", since(e.t_ms)), t.muted()),
                Span::styled(e.kind.describe().replace('\n', " ⏎ "), Style::new().fg(kind_color(t, &e.kind))),
            ])
        })
        .collect();
    frame.render_widget(Paragraph::new(lines).block(block), area);
}
