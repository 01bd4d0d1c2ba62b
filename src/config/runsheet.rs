//! The run-sheet (plan file, TOML): who, where, and an ordered list of steps, each a preset on
//! a target with the hypothesis written before the run (text, expected alerts, and checks over
//! the probes) and optional stop conditions. Probes, a session-wide hypothesis and stop
//! conditions are declared as in a session file. Errors name file, line and column.

use serde::Deserialize;
use toml::Spanned;

use crate::config::session_file::{SessionConfig, Stop};
use crate::config::ConfigError;
use crate::model::check::Check;

#[derive(Clone, Debug, PartialEq)]
pub struct Participant {
    pub name: String,
    pub role: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    pub name: String,
    pub preset: String,
    pub target: String,
    /// `name=value` overrides, `duration` included.
    pub params: Vec<(String, String)>,
    /// What is expected, in words.
    pub hypothesis: String,
    pub expected_alerts: Vec<String>,
    /// The hypothesis as checks over the probes, judged while the fault is live.
    pub checks: Vec<Check>,
    pub stops: Vec<Stop>,
    /// How long to watch after the revert for recovery.
    pub observe_ms: u64,
    /// Where its target is written (`plans/x.toml:14:10`), for messages about it.
    pub at: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct RunSheet {
    pub title: String,
    pub facilitator: String,
    pub environment: String,
    pub participants: Vec<Participant>,
    pub steps: Vec<Step>,
    pub steady: SessionConfig,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPlan {
    title: String,
    #[serde(default)]
    facilitator: String,
    #[serde(default)]
    environment: String,
    #[serde(default)]
    participant: Vec<RawParticipant>,
    step: Vec<RawStep>,
    // Read by `SessionConfig::parse`.
    probe: Option<toml::Value>,
    hypothesis: Option<toml::Value>,
    stop: Option<toml::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawParticipant {
    name: String,
    role: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    name: String,
    preset: Spanned<String>,
    target: Spanned<String>,
    params: Option<Spanned<toml::Table>>,
    duration: Option<Spanned<String>>,
    #[serde(default)]
    hypothesis: String,
    #[serde(default)]
    expected_alerts: Vec<String>,
    #[serde(default)]
    checks: Vec<Spanned<String>>,
    #[serde(default)]
    stop: Vec<Spanned<String>>,
    observe: Option<Spanned<String>>,
}

pub const ROLES: &[&str] = &["facilitator", "operator", "observer", "scribe", "responder"];

impl RunSheet {
    /// Parses a run-sheet on its own (its steps' presets are not checked: see `parse_for`).
    pub fn parse(file: &str, text: &str) -> Result<RunSheet, ConfigError> {
        RunSheet::parse_inner(file, text, None)
    }

    /// Parses a run-sheet and checks every step against the presets at load, not at `:next`:
    /// the preset exists, each parameter is one of its own and its value is valid (a finite
    /// number within bounds), and the target is written as a target.
    pub fn parse_for(
        file: &str,
        text: &str,
        presets: &[crate::config::preset::Preset],
    ) -> Result<RunSheet, ConfigError> {
        RunSheet::parse_inner(file, text, Some(presets))
    }

    fn parse_inner(
        file: &str,
        text: &str,
        presets: Option<&[crate::config::preset::Preset]>,
    ) -> Result<RunSheet, ConfigError> {
        let steady = SessionConfig::parse(file, text)?;
        let raw: RawPlan = toml::from_str(text).map_err(|e| ConfigError::from_toml(file, text, &e))?;
        let _ = (&raw.probe, &raw.hypothesis, &raw.stop);
        let at = |span: std::ops::Range<usize>, msg: String| ConfigError::at(file, text, span.start, msg);
        let ms = |s: &Spanned<String>| {
            crate::config::parse_duration(s.get_ref()).map(|d| d.as_millis() as u64).map_err(|e| at(s.span(), e))
        };
        let probes: Vec<&str> = steady.probes.iter().map(|p| p.name.as_str()).collect();
        // "front-end p95 <= 300ms [over 30s] [for 3s]"
        let check = |s: &Spanned<String>, window: u64| -> Result<(Check, u64), ConfigError> {
            let text = s.get_ref();
            let (probe, rest) = text.split_once(char::is_whitespace).unwrap_or((text, ""));
            if !probes.contains(&probe) {
                return Err(at(s.span(), format!("no probe named '{probe}' (declared: {})", probes.join(", "))));
            }
            let mut words: Vec<&str> = rest.split_whitespace().collect();
            let mut take = |key: &str| -> Result<Option<u64>, ConfigError> {
                match words.iter().position(|w| *w == key) {
                    Some(i) if i + 1 < words.len() => {
                        let d = words[i + 1].to_string();
                        words.drain(i..=i + 1);
                        crate::config::parse_duration(&d)
                            .map(|d| Some(d.as_millis() as u64))
                            .map_err(|e| at(s.span(), e))
                    }
                    Some(_) => Err(at(s.span(), format!("'{key}' needs a duration after it"))),
                    None => Ok(None),
                }
            };
            let window = take("over")?.unwrap_or(window);
            let hold = take("for")?.unwrap_or(0);
            let c = Check::parse(probe, &words.join(" "), window).map_err(|e| at(s.span(), e))?;
            Ok((c, hold))
        };
        let mut participants = Vec::new();
        for p in raw.participant {
            if !ROLES.contains(&p.role.get_ref().as_str()) {
                return Err(at(
                    p.role.span(),
                    format!("role '{}' is not one of {}", p.role.get_ref(), ROLES.join(", ")),
                ));
            }
            participants.push(Participant { name: one_line(&p.name), role: p.role.into_inner() });
        }
        let mut steps = Vec::new();
        for s in raw.step {
            let mut params: Vec<(String, String)> = s
                .params
                .iter()
                .flat_map(|t| t.get_ref().iter())
                .map(|(k, v)| (k.clone(), v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string())))
                .collect();
            s.target
                .get_ref()
                .parse::<crate::model::Target>()
                .map_err(|e| at(s.target.span(), format!("step '{}': {e}", one_line(&s.name))))?;
            if let Some(presets) = presets {
                check_step(&s, &params, presets).map_err(|(span, m)| at(span, m))?;
            }
            let mut window = 30_000;
            if let Some(d) = &s.duration {
                window = ms(d)?;
                params.push(("duration".into(), d.get_ref().clone()));
            }
            let checks = s.checks.iter().map(|c| check(c, window).map(|c| c.0)).collect::<Result<Vec<_>, _>>()?;
            let stops = s
                .stop
                .iter()
                .map(|c| check(c, 10_000).map(|(check, hold_ms)| Stop { check, hold_ms }))
                .collect::<Result<Vec<_>, _>>()?;
            let observe_ms = s.observe.as_ref().map(ms).transpose()?.unwrap_or(30_000);
            let (line, col) = crate::config::position(text, s.target.span().start);
            steps.push(Step {
                at: format!("{file}:{line}:{col}"),
                name: one_line(&s.name),
                preset: s.preset.into_inner(),
                target: s.target.into_inner(),
                params,
                hypothesis: clean(&s.hypothesis),
                expected_alerts: s.expected_alerts.iter().map(|a| one_line(a)).collect(),
                checks,
                stops,
                observe_ms,
            });
        }
        Ok(RunSheet {
            title: one_line(&raw.title),
            facilitator: one_line(&raw.facilitator),
            environment: one_line(&raw.environment),
            participants,
            steps,
            steady,
        })
    }

    /// Reads a run-sheet and checks its steps against the presets (`parse_for`).
    pub fn load(path: &std::path::Path, presets: &[crate::config::preset::Preset]) -> Result<RunSheet, ConfigError> {
        let (file, text) = crate::config::read_text(path)?;
        RunSheet::parse_for(&file, &text, presets)
    }
}

fn one_line(s: &str) -> String {
    crate::text::one_line(s).into_owned()
}

fn clean(s: &str) -> String {
    crate::text::clean(s).into_owned()
}

/// A step's preset and parameters against the presets; the error's span and message.
fn check_step(
    s: &RawStep,
    params: &[(String, String)],
    presets: &[crate::config::preset::Preset],
) -> Result<(), (std::ops::Range<usize>, String)> {
    let step = one_line(&s.name);
    let id = s.preset.get_ref();
    let Some(p) = presets.iter().find(|p| p.id == *id) else {
        let known: Vec<&str> = presets.iter().map(|p| p.id.as_str()).collect();
        let hint = known
            .iter()
            .map(|k| (strsim::jaro_winkler(id, k), *k))
            .filter(|(score, _)| *score > 0.85)
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(_, k)| format!(" (did you mean {k}?)"))
            .unwrap_or_default();
        return Err((s.preset.span(), format!("step '{step}': unknown preset {id:?}{hint}")));
    };
    for (name, raw) in params {
        let checked = match name.as_str() {
            "mode" if p.mode.is_some() => raw.parse::<crate::model::Mode>().map(|_| ()),
            "mode" => Err(format!("{} acts on a whole {}, it has no mode", p.id, p.targets_text())),
            _ => match p.params.get(name) {
                Some(def) => def.parse(name, raw).map(|_| ()),
                None => {
                    let names: Vec<&str> = p.params.keys().map(String::as_str).collect();
                    Err(format!("{} has no parameter '{name}' (it has: {})", p.id, names.join(", ")))
                }
            },
        };
        let span = s.params.as_ref().map(|t| t.span()).unwrap_or(s.preset.span());
        checked.map_err(|m| (span, format!("step '{step}': {m}")))?;
    }
    // A step may not run its fault longer than its preset allows.
    if let Some(d) = &s.duration {
        if let Ok(d) = crate::config::parse_duration(d.get_ref()) {
            if d > p.max_duration {
                let most = humantime::format_duration(p.max_duration);
                return Err((
                    s.duration.as_ref().map(|d| d.span()).unwrap_or(s.preset.span()),
                    format!(
                        "step '{step}': duration {} is over {}'s maximum of {most}",
                        humantime::format_duration(d),
                        p.id
                    ),
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_checked_against_the_presets_at_load() {
        let presets = crate::config::preset::load_presets(None).unwrap();
        let err = |step: &str| {
            let t = format!("title = \"t\"\n[[step]]\nname = \"s\"\n{step}");
            RunSheet::parse_for("p.toml", &t, &presets).unwrap_err().to_string()
        };
        assert_eq!(
            err("preset = \"pod-delet\"\ntarget = \"a/b\"\n"),
            "p.toml:4:10: step 's': unknown preset \"pod-delet\" (did you mean pod-delete?)"
        );
        assert_eq!(
            err("preset = \"network-latency\"\ntarget = \"a/b\"\nparams = { latency_ms = nan }\n"),
            "p.toml:6:10: step 's': latency_ms takes a whole number, not 'nan'"
        );
        assert_eq!(
            err("preset = \"network-latency\"\ntarget = \"a/b\"\nparams = { colour = 1 }\n"),
            "p.toml:6:10: step 's': network-latency has no parameter 'colour' (it has: jitter_ms, latency_ms)"
        );
        assert!(err("preset = \"pod-delete\"\ntarget = \"\"\n").starts_with("p.toml:5:10: step 's': "));
        let ok = "title = \"t\"\n[[step]]\nname = \"s\"\npreset = \"pod-delete\"\ntarget = \"a/b\"\n";
        assert!(RunSheet::parse_for("p.toml", ok, &presets).is_ok());
    }

    #[test]
    fn the_example_plan_parses() {
        let p = RunSheet::parse("plans/demo.toml", include_str!("../../plans/demo.toml")).unwrap();
        assert_eq!(p.steps.len(), 2);
        assert!(!p.steps[0].checks.is_empty());
        assert_eq!(p.participants[0].role, "facilitator");
    }

    #[test]
    fn errors_name_file_and_line() {
        let err = |t: &str| RunSheet::parse("p.toml", t).unwrap_err().to_string();
        let base = "title = \"t\"\n[[probe]]\nname = \"front\"\nservice = \"a/b\"\n";
        let step =
            |extra: &str| format!("{base}[[step]]\nname = \"s\"\npreset = \"pod-delete\"\ntarget = \"a/b\"\n{extra}");
        assert_eq!(
            err(&step("checks = [\"back p95 < 1s\"]\n")),
            "p.toml:9:11: no probe named 'back' (declared: front)"
        );
        assert!(err(&step("checks = [\"front p99 < 1s\"]\n")).starts_with("p.toml:9:11: unknown metric 'p99'"));
        assert!(err(&step("duration = \"soon\"\n")).starts_with("p.toml:9:12: 'soon' is not a duration"));
        assert!(err(&step("colour = 1\n")).starts_with("p.toml:9:1: unknown field `colour`"));
        let role = format!("{base}[[participant]]\nname = \"a\"\nrole = \"boss\"\n[[step]]\nname = \"s\"\npreset = \"p\"\ntarget = \"t\"\n");
        assert!(err(&role).starts_with("p.toml:7:8: role 'boss' is not one of facilitator"), "{}", err(&role));
        let stop = step("stop = [\"front success >= 80% over 5s for 3s\"]\n");
        let p = RunSheet::parse("p.toml", &stop).unwrap();
        assert_eq!((p.steps[0].stops[0].hold_ms, p.steps[0].stops[0].check.window_ms), (3000, 5000));
    }
}
