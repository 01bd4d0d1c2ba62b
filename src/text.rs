//! Text that came from outside the binary (config files, the cluster, probes, people, other
//! consoles' journals), made safe before it reaches a terminal, a CI log or a file: escape
//! sequences (CSI, OSC such as the clipboard's OSC 52, DCS, ...) are removed whole by a real
//! terminal parser (vte, Alacritty's), then every remaining control character and the Unicode
//! bidirectional overrides are dropped. Ordinary text, `->` and `~` included, is left as it is.

use std::borrow::Cow;

/// Keeps line breaks and tabs (notes, hypotheses); drops everything else that is not text.
pub fn clean(s: &str) -> Cow<'_, str> {
    scrub(s, false)
}

/// One line: line breaks and tabs become spaces (names, titles, messages).
pub fn one_line(s: &str) -> Cow<'_, str> {
    scrub(s, true)
}

/// One line of output, whatever text from outside it holds: cleaned as `clean` does, and every
/// line break shown as ` ⏎ ` (tabs as spaces), so no text can start a line of its own on a
/// terminal or in a CI log (a forged progress or summary line).
pub fn flat(s: &str) -> Cow<'_, str> {
    let cleaned = clean(s);
    if !cleaned.contains(['\n', '\t', '\r']) {
        return cleaned;
    }
    let mut out = String::with_capacity(cleaned.len() + 8);
    for (i, line) in cleaned.trim_end_matches(['\n', '\r']).split('\n').enumerate() {
        if i > 0 {
            out.push_str(" ⏎ ");
        }
        out.push_str(&line.trim_end_matches('\r').replace('\t', " "));
    }
    Cow::Owned(out)
}

/// Whether `s` holds nothing `clean` would remove.
pub fn is_clean(s: &str) -> bool {
    !s.chars().any(|c| unsafe_char(c) && c != '\n' && c != '\t')
}

/// Control characters (C0, DEL, C1, and the Unicode line and paragraph separators), the
/// bidirectional formatting characters that can make text read differently from what it is
/// ("Trojan source"), and the invisible ones that make two
/// names look alike (zero-width space, non-joiner and joiner, word joiner, byte-order mark).
fn unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}'
                | '\u{200B}'..='\u{200F}'
                | '\u{2028}'..='\u{202E}'
                | '\u{2060}'
                | '\u{2066}'..='\u{2069}'
                | '\u{FEFF}'
        )
}

fn scrub(s: &str, single_line: bool) -> Cow<'_, str> {
    let safe = |c: char| !unsafe_char(c) || (!single_line && (c == '\n' || c == '\t'));
    if s.chars().all(safe) {
        return Cow::Borrowed(s);
    }
    struct Out {
        text: String,
        single_line: bool,
    }
    impl vte::Perform for Out {
        fn print(&mut self, c: char) {
            if !unsafe_char(c) {
                self.text.push(c);
            }
        }
        fn execute(&mut self, byte: u8) {
            match byte {
                b'\n' | b'\t' if self.single_line && self.text.ends_with(' ') => {}
                b'\n' | b'\t' if self.single_line => self.text.push(' '),
                b'\n' | b'\t' => self.text.push(byte as char),
                _ => {}
            }
        }
    }
    let mut out = Out { text: String::with_capacity(s.len()), single_line };
    let mut parser = vte::Parser::new();
    for b in s.bytes() {
        parser.advance(&mut out, b);
    }
    let text = if single_line { out.text.trim_end().to_string() } else { out.text };
    Cow::Owned(text)
}

/// Cleans every string in a JSON value, in place; true if anything changed.
pub fn clean_json(v: &mut serde_json::Value) -> bool {
    match v {
        serde_json::Value::String(s) => match clean(s) {
            Cow::Borrowed(_) => false,
            Cow::Owned(c) => {
                *s = c;
                true
            }
        },
        serde_json::Value::Array(a) => a.iter_mut().fold(false, |acc, x| clean_json(x) | acc),
        serde_json::Value::Object(o) => o.values_mut().fold(false, |acc, x| clean_json(x) | acc),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_go_whole_and_text_stays() {
        // OSC 52 (clipboard), terminated by BEL and by ST; a title; a clear screen; colours.
        assert_eq!(clean("a\u{1b}]52;c;aGVsbG8=\u{7}b"), "ab");
        assert_eq!(clean("a\u{1b}]52;c;aGVsbG8=\u{1b}\\b"), "ab");
        assert_eq!(clean("\u{1b}]0;pwned\u{7}title"), "title");
        assert_eq!(clean("x\u{1b}[2Jy\u{1b}[0;31mred\u{1b}[0m"), "xyred");
        // 8-bit CSI and other C1 controls, DEL, NUL, bell, carriage return.
        assert_eq!(clean("a\u{9b}31mb\u{7f}c\0d\u{7}e\rf"), "a31mbcdef");
        // Bidirectional overrides, and the invisible characters that make two names look alike.
        assert_eq!(clean("abc\u{202e}fed"), "abcfed");
        assert_eq!(clean("sock\u{200b}-shop/\u{feff}carts\u{200d}\u{2060}"), "sock-shop/carts");
        // Ordinary text is untouched, and not copied.
        for ok in ["carts -> orders ~ 90 ms", "ünïcödé 漢字 ✓", "a | b <c> [d](e) `f`"] {
            assert!(matches!(clean(ok), Cow::Borrowed(_)), "{ok}");
        }
        assert_eq!(clean("line one\nline two\tx"), "line one\nline two\tx");
        assert_eq!(one_line("line one\nline two\tx\n"), "line one line two x");
    }

    #[test]
    fn a_flat_line_shows_its_breaks_and_can_start_no_line_of_its_own() {
        assert_eq!(flat("held"), "held");
        assert_eq!(flat("a\ngameday run: exit 0\r\n\tb\n"), "a ⏎ gameday run: exit 0 ⏎  b");
        assert_eq!(flat("x\r  +0.001s \u{1b}[2Kok"), "x  +0.001s ok");
        assert_eq!(flat("1\n2\r3\u{85}4\u{2028}5\u{2029}6"), "1 ⏎ 23456");
    }

    #[test]
    fn json_strings_are_cleaned_in_place() {
        let mut v = serde_json::json!({"a": "x\u{1b}[31my", "b": [1, "ok", {"c": "\u{7}"}]});
        assert!(clean_json(&mut v));
        assert_eq!(v, serde_json::json!({"a": "xy", "b": [1, "ok", {"c": ""}]}));
        assert!(!clean_json(&mut v));
    }
}
