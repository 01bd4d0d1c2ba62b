//! The note editor (tui-textarea); a saved note lands in the timeline.

use ratatui::layout::Rect;
use ratatui::text::Span;
use ratatui::widgets::{Block, Clear};
use ratatui::Frame;
use tui_textarea::TextArea;

use super::popup;
use crate::theme::Theme;
use crate::timeline::NoteTag;

pub fn draw(frame: &mut Frame, area: Rect, t: &Theme, text: &TextArea<'static>, tag: NoteTag) {
    let r = popup(area, 80, 8);
    frame.render_widget(Clear, r);
    let block = Block::bordered()
        .title(Span::styled(format!(" Note for the timeline · {tag} (Tab changes) "), t.title()))
        .title_bottom(Span::styled(
            " Enter save · Alt-Enter new line · Tab tag · Esc discard · Ctrl-G ABORT ",
            t.muted(),
        ))
        .border_style(t.border(true));
    let inner = block.inner(r);
    frame.render_widget(block, r);
    frame.render_widget(text, inner);
}
