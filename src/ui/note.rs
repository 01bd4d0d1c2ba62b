//! The note editor: tui-textarea edits the text; it is drawn here, wrapped to the popup's width
//! (a long line is shown whole, on as many rows as it needs), scrolled to the cursor.

use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};
use ratatui::Frame;
use tui_textarea::TextArea;

use super::popup;
use crate::config::theme::Theme;
use crate::timeline::NoteTag;

pub fn draw(frame: &mut Frame, area: Rect, t: &Theme, text: &TextArea<'static>, tag: NoteTag) {
    let r = popup(area, 80, 10);
    super::clear(frame, r, t);
    let block = Block::bordered()
        .title(Span::styled(format!(" Note for the timeline · {tag} (Tab changes) "), t.title()))
        .title_bottom(Span::styled(
            " Enter save · Alt-Enter new line · Tab tag · Esc discard · Ctrl-G ABORT ",
            t.muted(),
        ))
        .border_style(t.border(true));
    let inner = block.inner(r);
    frame.render_widget(block, r);
    if inner.width == 0 || inner.height == 0 {
        return;
    }
    let empty = text.lines().iter().all(|l| l.is_empty());
    let (rows, (row, col)) = wrap(text.lines(), text.cursor(), inner.width as usize);
    let cursor = Style::new().add_modifier(Modifier::REVERSED);
    if empty {
        let hint = text.placeholder_text();
        let line = Line::from(vec![Span::styled(" ", cursor), Span::styled(hint.to_string(), t.muted())]);
        frame.render_widget(Paragraph::new(line), inner);
        return;
    }
    let top = row.saturating_sub(inner.height as usize - 1);
    let lines: Vec<Line> = rows
        .into_iter()
        .enumerate()
        .skip(top)
        .take(inner.height as usize)
        .map(|(i, text)| {
            if i != row {
                return Line::styled(text, t.text());
            }
            // The cursor: the character under it, reversed (a space at the end of the text).
            let chars: Vec<char> = text.chars().collect();
            let before: String = chars[..col.min(chars.len())].iter().collect();
            let at: String = chars.get(col).map(char::to_string).unwrap_or_else(|| " ".into());
            let after: String = chars.get(col + 1..).map(|c| c.iter().collect()).unwrap_or_default();
            Line::from(vec![Span::styled(before, t.text()), Span::styled(at, cursor), Span::styled(after, t.text())])
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}

/// The text's lines cut into rows of `width` characters, and where the cursor (line, column)
/// falls in them (row, column).
pub fn wrap(lines: &[String], (line, col): (usize, usize), width: usize) -> (Vec<String>, (usize, usize)) {
    let width = width.max(1);
    let mut rows = Vec::new();
    let mut at = (0, 0);
    for (i, l) in lines.iter().enumerate() {
        let chars: Vec<char> = l.chars().collect();
        let first = rows.len();
        if chars.is_empty() {
            rows.push(String::new());
        }
        for chunk in chars.chunks(width) {
            rows.push(chunk.iter().collect());
        }
        if i == line {
            // At the very end of a full row, the cursor starts the next one.
            if col > 0 && col % width == 0 && col == chars.len() {
                rows.push(String::new());
            }
            at = (first + col / width, col % width);
        }
    }
    (rows, at)
}

#[cfg(test)]
mod tests {
    use super::wrap;

    #[test]
    fn long_lines_wrap_and_the_cursor_follows() {
        let lines = vec!["abcdefgh".to_string(), String::new(), "xy".to_string()];
        let (rows, at) = wrap(&lines, (0, 5), 3);
        assert_eq!(rows, ["abc", "def", "gh", "", "xy"]);
        assert_eq!(at, (1, 2));
        assert_eq!(wrap(&lines, (2, 1), 3).1, (4, 1));
        // At the end of a row that is full, on the next row.
        let (rows, at) = wrap(&["abcdef".to_string()], (0, 6), 3);
        assert_eq!((rows.len(), at), (3, (2, 0)));
    }
}
