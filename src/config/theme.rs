//! Themes: themes/*.toml with semantic colour slots, embedded in the binary; user themes in
//! the config dir's `themes/` add to or replace them. A malformed theme names file and line.

use std::collections::BTreeMap;
use std::path::Path;
use std::str::FromStr;

use include_dir::{include_dir, Dir};
use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;
use toml::Spanned;

use crate::config::{load_toml_dir, ConfigError};

static BUILTIN: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/themes");

type C = Spanned<String>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ThemeFile {
    name: Spanned<String>,
    health: HealthSlots<C>,
    fault: FaultSlots<C>,
    abort_bar: BarSlots<C>,
    ui: UiSlots<C>,
    timeline: TimelineSlots<C>,
}

#[derive(Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct HealthSlots<T> {
    pub healthy: T,
    pub degraded: T,
    pub down: T,
    pub unknown: T,
}

#[derive(Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FaultSlots<T> {
    /// Confirmation pending.
    pub armed: T,
    pub active: T,
    pub reverting: T,
}

#[derive(Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BarSlots<T> {
    pub fg: T,
    pub bg: T,
}

#[derive(Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct UiSlots<T> {
    pub text: T,
    pub muted: T,
    pub border: T,
    pub border_focus: T,
    pub title: T,
    pub selected_fg: T,
    pub selected_bg: T,
    pub disabled: T,
    pub info: T,
    pub warning: T,
    pub error: T,
    /// Painted behind everything (a theme made for one kind of terminal stays readable on the
    /// other); none leaves the terminal's own.
    #[serde(default = "none")]
    pub background: Option<T>,
}

fn none<T>() -> Option<T> {
    None
}

#[derive(Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TimelineSlots<T> {
    pub session: T,
    pub fault: T,
    pub abort: T,
    pub revert: T,
    pub health: T,
    pub cluster: T,
    pub note: T,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Theme {
    pub name: String,
    pub health: HealthSlots<Color>,
    pub fault: FaultSlots<Color>,
    pub abort_bar: BarSlots<Color>,
    pub ui: UiSlots<Color>,
    pub timeline: TimelineSlots<Color>,
    pub source: String,
}

/// The least contrast the abort bar's colours may have (WCAG's for large, bold text).
pub const MIN_ABORT_CONTRAST: f64 = 3.0;

impl Theme {
    pub fn parse(file: &str, text: &str) -> Result<Theme, ConfigError> {
        let raw: ThemeFile = toml::from_str(text).map_err(|e| ConfigError::from_toml(file, text, &e))?;
        let c = |s: &C| -> Result<Color, ConfigError> {
            Color::from_str(s.get_ref()).map_err(|_| {
                let msg =
                    format!("'{}' is not a colour (use a name like red or light-blue, #rrggbb, or 0-255)", s.get_ref());
                ConfigError::at(file, text, s.span().start, msg)
            })
        };
        crate::config::check_name("theme name", raw.name.get_ref())
            .map_err(|m| ConfigError::at(file, text, raw.name.span().start, m))?;
        // The abort bar is what people look for in a hurry: it must be readable, by the colours'
        // values (black and 0 are one colour), in the terminal's palette as xterm has it.
        let (fg, bg) = (c(&raw.abort_bar.fg)?, c(&raw.abort_bar.bg)?);
        let bar_err = |msg: String| ConfigError::at(file, text, raw.abort_bar.bg.span().start, msg);
        let (f, b) = match (super::contrast::rgb(fg), super::contrast::rgb(bg)) {
            (Some(f), Some(b)) => (f, b),
            _ => {
                return Err(bar_err(
                    "abort_bar: fg and bg need colours of their own, not the terminal's default (reset): \
                     the abort bar must be readable on every terminal"
                        .into(),
                ))
            }
        };
        if f == b {
            return Err(bar_err(format!(
                "abort_bar: fg '{}' and bg '{}' are the same colour: the abort bar would be unreadable",
                raw.abort_bar.fg.get_ref(),
                raw.abort_bar.bg.get_ref()
            )));
        }
        let ratio = super::contrast::ratio(f, b);
        if ratio < MIN_ABORT_CONTRAST {
            return Err(bar_err(format!(
                "abort_bar: fg '{}' on bg '{}' has a contrast of {ratio:.1}:1, under {MIN_ABORT_CONTRAST}:1: \
                 the abort bar must be readable at a glance",
                raw.abort_bar.fg.get_ref(),
                raw.abort_bar.bg.get_ref()
            )));
        }
        let h = &raw.health;
        let f = &raw.fault;
        let u = &raw.ui;
        let t = &raw.timeline;
        Ok(Theme {
            name: raw.name.into_inner(),
            health: HealthSlots {
                healthy: c(&h.healthy)?,
                degraded: c(&h.degraded)?,
                down: c(&h.down)?,
                unknown: c(&h.unknown)?,
            },
            fault: FaultSlots { armed: c(&f.armed)?, active: c(&f.active)?, reverting: c(&f.reverting)? },
            abort_bar: BarSlots { fg, bg },
            ui: UiSlots {
                text: c(&u.text)?,
                muted: c(&u.muted)?,
                border: c(&u.border)?,
                border_focus: c(&u.border_focus)?,
                title: c(&u.title)?,
                selected_fg: c(&u.selected_fg)?,
                selected_bg: c(&u.selected_bg)?,
                disabled: c(&u.disabled)?,
                info: c(&u.info)?,
                warning: c(&u.warning)?,
                error: c(&u.error)?,
                background: u.background.as_ref().map(c).transpose()?,
            },
            timeline: TimelineSlots {
                session: c(&t.session)?,
                fault: c(&t.fault)?,
                abort: c(&t.abort)?,
                revert: c(&t.revert)?,
                health: c(&t.health)?,
                cluster: c(&t.cluster)?,
                note: c(&t.note)?,
            },
            source: file.to_string(),
        })
    }

    pub fn text(&self) -> Style {
        Style::new().fg(self.ui.text)
    }
    pub fn muted(&self) -> Style {
        Style::new().fg(self.ui.muted)
    }
    pub fn border(&self, focused: bool) -> Style {
        Style::new().fg(if focused { self.ui.border_focus } else { self.ui.border })
    }
    pub fn title(&self) -> Style {
        Style::new().fg(self.ui.title).add_modifier(Modifier::BOLD)
    }
    pub fn selected(&self) -> Style {
        Style::new().fg(self.ui.selected_fg).bg(self.ui.selected_bg)
    }
    /// The background the theme paints, if any.
    pub fn background(&self) -> Style {
        match self.ui.background {
            Some(bg) => Style::new().bg(bg),
            None => Style::new(),
        }
    }
    pub fn abort_bar(&self) -> Style {
        Style::new().fg(self.abort_bar.fg).bg(self.abort_bar.bg).add_modifier(Modifier::BOLD)
    }
}

/// Built-in themes plus the user's, by name.
pub fn load_themes(user_dir: Option<&Path>) -> Result<BTreeMap<String, Theme>, ConfigError> {
    load_themes_warning(user_dir).map(|(t, _)| t)
}

/// `load_themes`, with the files of the user's directory that were passed over (not regular
/// files) as warnings. Two user files with one theme name are an error.
pub fn load_themes_warning(user_dir: Option<&Path>) -> Result<(BTreeMap<String, Theme>, Vec<String>), ConfigError> {
    let mut out = BTreeMap::new();
    let mut warnings = Vec::new();
    let mut files: Vec<_> = BUILTIN.files().collect();
    files.sort_by_key(|f| f.path());
    for f in files {
        let name = format!("themes/{} (built in)", f.path().display());
        let text = f.contents_utf8().ok_or_else(|| ConfigError::Io(format!("{name}: not UTF-8")))?;
        let t = Theme::parse(&name, text)?;
        out.insert(t.name.clone(), t);
    }
    if let Some(dir) = user_dir {
        let (files, passed_over) = load_toml_dir(dir)?;
        warnings.extend(passed_over);
        let mut user: BTreeMap<String, String> = BTreeMap::new();
        for (path, text) in files {
            let file = path.display().to_string();
            let t = Theme::parse(&file, &text)?;
            if let Some(first) = user.insert(t.name.clone(), file.clone()) {
                return Err(ConfigError::Io(format!("{first} and {file} both define theme '{}'", t.name)));
            }
            out.insert(t.name.clone(), t);
        }
    }
    Ok((out, warnings))
}

/// The built-in default theme (used by tests and as the fallback).
pub fn default_theme() -> Theme {
    load_themes(None)
        .ok()
        .and_then(|mut t| t.remove("default"))
        .expect("the built-in default theme parses (checked by tests)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_themes_parse() {
        let themes = load_themes(None).unwrap();
        for name in ["default", "light", "high-contrast"] {
            assert!(themes.contains_key(name), "missing theme {name}");
        }
        assert_eq!(default_theme().abort_bar.bg, Color::Red);
    }

    #[test]
    fn an_abort_bar_no_one_could_read_is_refused_naming_the_file_and_line() {
        let builtin = include_str!("../../themes/default.toml");
        let with_bar = |fg: &str, bg: &str| {
            let at = builtin.find("[abort_bar]").unwrap();
            let rest = &builtin[at..];
            let end = rest.find("\n\n").map(|e| at + e).unwrap_or(builtin.len());
            let text = format!("{}[abort_bar]\nfg = \"{fg}\"\nbg = \"{bg}\"{}", &builtin[..at], &builtin[end..]);
            let line = text[..text.find("\nbg = ").unwrap()].lines().count() + 1;
            (Theme::parse("mine.toml", &text).map(|_| ()).map_err(|e| e.to_string()), line)
        };
        for (fg, bg, why) in [
            ("black", "0", "are the same colour"),
            ("white", "#ffffff", "are the same colour"),
            ("15", "white", "are the same colour"),
            ("yellow", "white", "contrast of"),
            ("#777777", "#888888", "contrast of"),
            ("white", "reset", "not the terminal's default"),
        ] {
            let (r, line) = with_bar(fg, bg);
            let e = r.expect_err(&format!("{fg} on {bg}"));
            assert!(e.starts_with(&format!("mine.toml:{line}:")) && e.contains(why), "{fg} on {bg}: {e}");
        }
        assert!(with_bar("white", "red").0.is_ok());
        assert!(with_bar("black", "light-yellow").0.is_ok());
    }
}
