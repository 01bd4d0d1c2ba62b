//! Fuzzing the parsers of everything gameday reads from outside (presets, themes, run-sheets,
//! session files, journal lines): whatever the text, each parser returns, never panics and never
//! hangs. Inputs are arbitrary text and the shipped files with random edits (control characters,
//! quotes, brackets, huge numbers, NaN, stray newlines). The number of cases is PROPTEST_CASES
//! (.ci/run runs a bounded, larger number).

use std::sync::mpsc;
use std::time::Duration;

use proptest::prelude::*;

/// Runs `parse` on its own thread: a hang is a failure, not a stuck test run.
fn returns<T: Send + 'static>(what: &str, parse: impl FnOnce() -> T + Send + 'static) {
    let (tx, rx) = mpsc::channel();
    let worker = std::thread::spawn(move || {
        let _ = parse();
        let _ = tx.send(());
    });
    match rx.recv_timeout(Duration::from_secs(5)) {
        Ok(()) => {}
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("{what}: the parser did not return within 5 s"),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            let why = worker.join().err().map(|p| gameday::runtime::calls::panic_message(p.as_ref()));
            panic!("{what}: the parser panicked: {why:?}");
        }
    }
}

/// Characters that break parsers: controls, escapes, TOML and JSON syntax, odd Unicode.
fn nasty_char() -> impl Strategy<Value = char> {
    prop_oneof![
        any::<char>(),
        prop::sample::select(vec![
            '\u{0}', '\u{7}', '\u{1b}', '\u{9b}', '\u{202e}', '\n', '\r', '\t', '"', '\'', '\\', '[', ']', '{', '}',
            '=', ',', '#', '.', '-', '%', ':', '<', '>', '~', '`', '|', 'e', '9', '0', 'n', 'a', 'i', 'f',
        ]),
    ]
}

/// A seed text with a few random edits: insertions, deletions and replacements.
fn mutated(seed: &'static str) -> impl Strategy<Value = String> {
    let edits = prop::collection::vec((any::<prop::sample::Index>(), nasty_char(), 0u8..3), 0..12);
    prop_oneof![
        1 => ".{0,400}".prop_map(|s: String| s),
        4 => edits.prop_map(move |edits| {
            let mut chars: Vec<char> = seed.chars().collect();
            for (at, c, how) in edits {
                if chars.is_empty() {
                    chars.push(c);
                    continue;
                }
                let i = at.index(chars.len());
                match how {
                    0 => chars.insert(i, c),
                    1 => {
                        chars.remove(i);
                    }
                    _ => chars[i] = c,
                }
            }
            chars.into_iter().collect()
        }),
    ]
}

const PRESET: &str = include_str!("../presets/network-latency.toml");
const THEME: &str = include_str!("../themes/default.toml");
const PLAN: &str = include_str!("../plans/demo.toml");
const SESSION: &str = include_str!("../sessions/demo.toml");
const LINE: &str = r#"{"seq":3,"wall":"2026-11-20T09:00:03Z","t_ms":3000,"kind":"inject_requested","fault":1,"preset":"network-latency","action":"network-latency","target":"sock-shop/carts","params":{"latency_ms":300,"jitter_ms":30},"mode":"all","duration_ms":60000,"blast_radius":"all 3 pods","hypothesis":"slow"}"#;

proptest! {
    #[test]
    fn the_preset_parser_always_returns(text in mutated(PRESET)) {
        returns("preset", move || gameday::config::preset::Preset::parse("p.toml", &text));
    }

    #[test]
    fn the_theme_parser_always_returns(text in mutated(THEME)) {
        returns("theme", move || gameday::config::theme::Theme::parse("t.toml", &text));
    }

    #[test]
    fn the_plan_parser_always_returns(text in mutated(PLAN)) {
        let presets = gameday::config::preset::load_presets(None).unwrap();
        returns("plan", move || gameday::config::runsheet::RunSheet::parse_for("plan.toml", &text, &presets));
    }

    #[test]
    fn the_session_file_parser_always_returns(text in mutated(SESSION)) {
        returns("session file", move || gameday::config::session_file::SessionConfig::parse("s.toml", &text));
    }

    #[test]
    fn the_journal_reader_always_returns(text in mutated(LINE), bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        returns("journal line", move || {
            let _ = gameday::store::journal::parse_line(text.as_bytes());
            gameday::store::journal::parse_line(&bytes)
        });
    }

    #[test]
    fn whatever_the_journal_reader_keeps_renders_as_a_report(text in mutated(LINE)) {
        returns("report", move || {
            let first = r#"{"seq":1,"wall":"2026-11-20T09:00:00Z","t_ms":0,"kind":"session_start","session":"s","backend":{"kind":"demo","cluster":"c","pod_word":"pod"},"version":"t"}"#;
            let entries: Vec<_> = [first.to_string(), text]
                .iter()
                .filter_map(|l| gameday::store::journal::parse_line(l.as_bytes()).ok())
                .collect();
            (gameday::timeline::report::render(&entries), gameday::timeline::junit::render(&entries))
        });
    }
}

proptest! {
    #[test]
    fn the_junit_file_is_well_formed_xml_whatever_the_text(name in ".{0,60}", detail in ".{0,60}") {
        use gameday::timeline::{Entry, EntryKind};
        let at = |seq: u64, kind: EntryKind| Entry { seq, wall: chrono::Utc::now(), t_ms: seq * 1000, kind };
        let entries = vec![
            at(1, EntryKind::PlanLoaded { title: name.clone(), facilitator: detail.clone(), environment: String::new(), participants: vec![], steps: 1, names: vec![] }),
            at(2, EntryKind::StepStarted { step: 1, name: name.clone(), preset: "p".into(), target: "t".into(), hypothesis: detail.clone(), expected_alerts: vec![], checks: vec![] }),
            at(3, EntryKind::StepOutcome { step: 1, name: name.clone(), fault: None, verdict: gameday::model::StepVerdict::Broken, detail: detail.clone() }),
        ];
        let xml = gameday::timeline::junit::render(&entries);
        let mut reader = quick_xml::Reader::from_str(&xml);
        loop {
            match reader.read_event() {
                Ok(quick_xml::events::Event::Eof) => break,
                Ok(quick_xml::events::Event::Text(t)) => { t.unescape().expect("text unescapes"); }
                Ok(_) => {}
                Err(e) => panic!("not well-formed: {e}: {xml}"),
            }
        }
        prop_assert!(!xml.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\t' | '\r')), "{xml:?}");
    }
}

/// Text that tries to break Markdown: fences, HTML, tables, Mermaid lines, line breaks.
fn hostile_text() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            Just("```".to_string()),
            Just("\n".to_string()),
            Just("\r".to_string()),
            Just("<script>".to_string()),
            Just("</details>".to_string()),
            Just("|".to_string()),
            Just("section x".to_string()),
            Just(":crit, 0, 99".to_string()),
            Just("%%{init}%%".to_string()),
            Just("->".to_string()),
            "[a-z ]{0,8}".prop_map(|s: String| s),
            any::<char>().prop_map(|c| c.to_string()),
        ],
        0..8,
    )
    .prop_map(|parts| parts.concat())
}

proptest! {
    #[test]
    fn no_text_breaks_the_markdown_report(preset in hostile_text(), target in hostile_text(), note in hostile_text(), service in hostile_text()) {
        use gameday::timeline::{Entry, EntryKind, Health};
        let at = |seq: u64, kind: EntryKind| Entry { seq, wall: chrono::Utc::now(), t_ms: seq * 1000, kind };
        let handle = gameday::model::RevertHandle { fault_id: 1, summary: note.clone(), data: serde_json::Value::Null };
        let target_t = gameday::model::Target::Pod { namespace: target.clone(), name: target.clone() };
        let entries = vec![
            at(1, EntryKind::SessionStart { session: "s".into(), backend: gameday::model::BackendInfo { kind: "demo".into(), cluster: note.clone(), pod_word: "pod".into() }, version: "t".into() }),
            at(2, EntryKind::InjectRequested { fault: 1, preset: preset.clone(), action: "a".into(), target: target_t, params: Default::default(), mode: None, duration_ms: 1000, blast_radius: note.clone(), hypothesis: note.clone() }),
            at(3, EntryKind::InjectConfirmed { fault: 1, handle }),
            at(4, EntryKind::HealthChanged { service: service.clone(), from: Health::Healthy, to: Health::Down, reading: note.clone() }),
            at(5, EntryKind::Note { text: note.clone(), tag: Default::default(), author: note.clone(), fault: Some(1), owner: String::new(), due: None }),
            at(6, EntryKind::FaultEnding { fault: 1, reason: gameday::timeline::EndReason::Expired }),
            at(7, EntryKind::RevertConfirmed { fault: 1, attempt: 1, kept: Vec::new() }),
            at(8, EntryKind::HealthChanged { service, from: Health::Down, to: Health::Healthy, reading: note }),
        ];
        let md = gameday::timeline::report::render(&entries);
        // Exactly the one chart: its opening and its closing fence, and nothing else starts a fence.
        let fences: Vec<&str> = md.lines().filter(|l| l.trim_start().starts_with("```") || l.trim_start().starts_with("~~~")).collect();
        prop_assert_eq!(&fences, &["```mermaid", "```"], "{}", md);
        // Inside it, only the lines the report writes.
        let chart: Vec<&str> = md.lines().skip_while(|l| *l != "```mermaid").skip(1).take_while(|l| *l != "```").collect();
        for l in &chart {
            let known = ["gantt", "dateFormat ", "axisFormat ", "section Faults", "section Health", "fault ", "degraded ", "down "];
            prop_assert!(known.iter().any(|k| l.trim_start().starts_with(k)), "{:?} in {}", l, md);
        }
        // No HTML but the report's own line breaks.
        let html = md.replace("<br>", " ");
        prop_assert!(!html.as_bytes().windows(2).any(|w| w[0] == b'<' && (w[1].is_ascii_alphabetic() || w[1] == b'/' || w[1] == b'!')), "{}", md);
        // No carriage return or other control character.
        prop_assert!(!md.chars().any(|c| c.is_control() && c != '\n'), "{:?}", md);
    }
}
