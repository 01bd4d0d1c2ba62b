//! The built-in themes are readable: every colour that draws text (health, faults, the
//! timeline, the countdown, messages, titles, the selection, the abort bar) has a contrast of at
//! least 4.5:1 (WCAG AA for text) on the background it is drawn on, measured from the colours'
//! values as xterm draws them. A theme with no background of its own is measured on black, the
//! dark terminal it is made for.

use gameday::config::contrast::{ratio, rgb};
use gameday::config::theme::{load_themes, Theme};
use ratatui::style::Color;

const MIN_TEXT: f64 = 4.5;

/// (slot, colour, background) for each text colour of a theme.
fn text_colours(t: &Theme) -> Vec<(&'static str, Color, Color)> {
    let bg = t.ui.background.unwrap_or(Color::Black);
    let on = |name, c| (name, c, bg);
    vec![
        on("health.healthy", t.health.healthy),
        on("health.degraded", t.health.degraded),
        on("health.down", t.health.down),
        on("health.unknown", t.health.unknown),
        on("fault.armed", t.fault.armed),
        on("fault.active", t.fault.active),
        on("fault.reverting", t.fault.reverting),
        on("ui.text", t.ui.text),
        on("ui.muted", t.ui.muted),
        on("ui.title", t.ui.title),
        on("ui.info", t.ui.info),
        on("ui.warning", t.ui.warning),
        on("ui.error", t.ui.error),
        on("timeline.session", t.timeline.session),
        on("timeline.fault", t.timeline.fault),
        on("timeline.abort", t.timeline.abort),
        on("timeline.revert", t.timeline.revert),
        on("timeline.health", t.timeline.health),
        on("timeline.cluster", t.timeline.cluster),
        on("timeline.note", t.timeline.note),
        ("ui.selected_fg on ui.selected_bg", t.ui.selected_fg, t.ui.selected_bg),
        ("abort_bar.fg on abort_bar.bg", t.abort_bar.fg, t.abort_bar.bg),
    ]
}

#[test]
fn every_text_colour_of_every_built_in_theme_has_a_contrast_of_at_least_4_5() {
    let themes = load_themes(None).unwrap();
    assert!(themes.len() >= 3);
    let mut low = Vec::new();
    for (name, t) in &themes {
        for (slot, fg, bg) in text_colours(t) {
            let (Some(f), Some(b)) = (rgb(fg), rgb(bg)) else { panic!("{name}: {slot} has no colour of its own") };
            let r = ratio(f, b);
            println!("{name:>14} {slot:<34} {r:>5.2}:1");
            if r < MIN_TEXT {
                low.push(format!("{name}: {slot} ({fg} on {bg}) {r:.2}:1"));
            }
        }
    }
    assert!(low.is_empty(), "under {MIN_TEXT}:1:\n{}", low.join("\n"));
}
