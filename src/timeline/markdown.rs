//! Markdown for text that came from outside: escaped so it cannot break the report, and no more.

/// Escapes text from people or the cluster so it cannot break a table, open HTML, a link, a
/// code span or emphasis, and nothing more: `->`, `~/path`, `a < b`, `R&D` stay as they are.
/// Line breaks become `<br>` so no text ever starts a Markdown line; control characters and
/// escape sequences are dropped.
pub fn escape(text: &str) -> String {
    let text = crate::text::clean(text);
    let chars: Vec<char> = text.chars().collect();
    let at = |i: usize| chars.get(i).copied();
    let word = |i: Option<usize>| i.and_then(at).is_some_and(|c| c.is_alphanumeric());
    let tildes = chars.iter().filter(|c| **c == '~').count();
    let mut out = String::with_capacity(text.len());
    for (i, &ch) in chars.iter().enumerate() {
        match ch {
            // An entity (`&copy;`, `&#60;`) would be read as another character.
            '&' if entity_at(&chars[i + 1..]) => out.push_str("&amp;"),
            // A tag, a comment or an autolink; `a < b` is no HTML.
            '<' if at(i + 1).is_some_and(|c| c.is_ascii_alphabetic() || matches!(c, '/' | '!' | '?')) => {
                out.push_str("&lt;")
            }
            '\n' => out.push_str("<br>"),
            '\t' => out.push(' '),
            '|' | '`' | '*' | '[' | ']' => {
                out.push('\\');
                out.push(ch);
            }
            // A backslash escapes the punctuation after it: doubled only there.
            '\\' if at(i + 1).is_some_and(|c| c.is_ascii_punctuation()) => out.push_str("\\\\"),
            // One tilde strikes nothing through; two can.
            '~' if tildes > 1 => out.push_str("\\~"),
            // Inside a word (snake_case) an underscore is not emphasis; at its edges it can be.
            '_' if word(i.checked_sub(1)) && word(Some(i + 1)) => out.push('_'),
            '_' => out.push_str("\\_"),
            c => out.push(c),
        }
    }
    out
}

/// Whether `rest` (what follows an `&`) reads as an HTML entity: `name;`, `#123;`, `#x1F;`.
fn entity_at(rest: &[char]) -> bool {
    let Some(end) = rest.iter().take(33).position(|c| *c == ';') else { return false };
    let body = &rest[..end];
    match body {
        ['#', 'x' | 'X', hex @ ..] => !hex.is_empty() && hex.iter().all(|c| c.is_ascii_hexdigit()),
        ['#', dec @ ..] => !dec.is_empty() && dec.iter().all(|c| c.is_ascii_digit()),
        [first, ..] => first.is_ascii_alphabetic() && body.iter().all(|c| c.is_ascii_alphanumeric()),
        [] => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_defuses_tables_html_links_and_emphasis() {
        let e = escape("a | b <script>alert(1)</script>\nnext *x* ![img](http://x) _y_ snake_case \\|");
        assert_eq!(
            e,
            "a \\| b &lt;script>alert(1)&lt;/script><br>next \\*x\\* !\\[img\\](http://x) \\_y\\_ snake_case \\\\\\|"
        );
        // Ordinary text is not over-escaped.
        for plain in ["fault #1 healthy > degraded", "carts -> orders", "~/reports/x.md", "a < b", "R&D", "C:\\temp"] {
            assert_eq!(escape(plain), plain);
        }
        assert_eq!(escape("&copy; &#60;b&#62; ~~gone~~"), "&amp;copy; &amp;#60;b&amp;#62; \\~\\~gone\\~\\~");
        assert_eq!(escape("a\u{1b}]52;c;x\u{7}b\rc"), "abc");
    }
}
