//! Fault presets: presets/*.toml embedded in the binary, overridden by files with the same id
//! in the user's config dir. A malformed file is an error naming the file and line.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use include_dir::{include_dir, Dir};
use serde::Deserialize;
use toml::Spanned;

use crate::config::{load_toml_dir, ConfigError};
use crate::model::{Mode, ParamDef, ParamValue, TargetKind};

static BUILTIN: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/presets");

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PresetFile {
    id: Spanned<String>,
    name: String,
    description: String,
    action: String,
    targets: Spanned<Vec<TargetKind>>,
    mode: Option<Spanned<String>>,
    duration: Spanned<String>,
    max_duration: Option<Spanned<String>>,
    hypothesis: String,
    #[serde(default)]
    params: BTreeMap<String, Spanned<ParamDef>>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Preset {
    pub id: String,
    pub name: String,
    pub description: String,
    /// The fault family a backend implements.
    pub action: String,
    pub targets: Vec<TargetKind>,
    /// For faults on pods (containers): how many of the selected pods it hits by default.
    /// `None` for faults on a whole workload or node.
    pub mode: Option<Mode>,
    pub duration: Duration,
    pub max_duration: Duration,
    pub hypothesis: String,
    pub params: BTreeMap<String, ParamDef>,
    /// Where it came from: "presets/pod-delete.toml (built in)" or a user path.
    pub source: String,
}

impl Preset {
    pub fn default_params(&self) -> BTreeMap<String, ParamValue> {
        self.params.iter().map(|(k, d)| (k.clone(), d.default.clone())).collect()
    }

    /// "workloads", "workloads or pods", "workloads, pods or selectors".
    pub fn targets_text(&self) -> String {
        let kinds: Vec<String> = self.targets.iter().map(|k| format!("{k}s")).collect();
        match kinds.split_last() {
            Some((last, [])) => last.clone(),
            Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
            None => String::new(),
        }
    }

    /// Parses one preset file; errors carry `file:line:col`.
    pub fn parse(file: &str, text: &str) -> Result<Preset, ConfigError> {
        let raw: PresetFile = toml::from_str(text).map_err(|e| ConfigError::from_toml(file, text, &e))?;
        let at = |span: std::ops::Range<usize>, msg: String| ConfigError::at(file, text, span.start, msg);
        crate::config::check_name("preset id", raw.id.get_ref()).map_err(|m| at(raw.id.span(), m))?;
        let dur = |s: &Spanned<String>| {
            crate::config::parse_duration(s.get_ref()).map_err(|e| at(s.span(), format!("duration {e}")))
        };
        let duration = dur(&raw.duration)?;
        let max_duration = match &raw.max_duration {
            Some(m) => dur(m)?,
            None => Duration::from_secs(3600),
        };
        if duration.is_zero() || duration > max_duration {
            return Err(at(
                raw.duration.span(),
                format!("duration must be above 0 and at most {}", humantime::format_duration(max_duration)),
            ));
        }
        let targets = raw.targets.get_ref();
        if targets.is_empty() {
            return Err(at(
                raw.targets.span(),
                "targets must name at least one of workload, pod, node, selector".into(),
            ));
        }
        let mode = match &raw.mode {
            Some(m) => Some(m.get_ref().parse::<Mode>().map_err(|e| at(m.span(), e))?),
            None if targets.contains(&TargetKind::Selector) => {
                return Err(at(
                    raw.targets.span(),
                    "a preset that targets a selector acts on pods: give it a mode (one, all, 2, 50%)".into(),
                ))
            }
            None => None,
        };
        if let (Some(m), true) = (&raw.mode, targets.iter().all(|t| *t == TargetKind::Node)) {
            return Err(at(m.span(), "mode is for faults on pods; this preset targets nodes only".into()));
        }
        let mut params = BTreeMap::new();
        for (name, def) in raw.params {
            let span = def.span();
            let mut def = def.into_inner();
            let name_err = |m: String| at(span.clone(), m);
            crate::config::check_name("parameter", &name).map_err(name_err)?;
            // The journal holds every value, and JSON has no NaN or infinity: refused here.
            let finite = |x: Option<f64>| x.is_none_or(f64::is_finite);
            if !finite(def.min) || !finite(def.max) || !finite(def.default.as_f64()) {
                return Err(at(span, format!("parameter {name}: default, min and max must be finite numbers")));
            }
            def.unit = crate::text::one_line(&def.unit).into_owned();
            def.help = crate::text::clean(&def.help).into_owned();
            for c in &mut def.choices {
                *c = crate::text::one_line(c).into_owned();
            }
            // Whole numbers are used in arithmetic (ms, bytes): their bounds, given or not, stay
            // where every value is exact and nothing overflows.
            if matches!(def.default, ParamValue::Int(_)) {
                let limit = crate::model::params::INT_LIMIT as f64;
                for b in [def.min, def.max].into_iter().flatten() {
                    if b.fract() != 0.0 || b.abs() > limit {
                        return Err(at(
                            span,
                            format!("parameter {name}: bounds of a whole number must be whole numbers within ±{limit}"),
                        ));
                    }
                }
            }
            if let (Some(min), Some(max)) = (def.min, def.max) {
                if min > max {
                    return Err(at(span, format!("parameter {name}: min {min} is above max {max}")));
                }
            }
            def.check(&name, &def.default).map_err(|m| at(span.clone(), format!("parameter {name}: default: {m}")))?;
            params.insert(name, def);
        }
        Ok(Preset {
            id: raw.id.into_inner(),
            // Free text from the file: no escape sequence reaches a terminal or a report.
            name: crate::text::one_line(&raw.name).into_owned(),
            description: crate::text::clean(&raw.description).into_owned(),
            action: raw.action,
            targets: raw.targets.into_inner(),
            mode,
            duration,
            max_duration,
            hypothesis: crate::text::clean(&raw.hypothesis).into_owned(),
            params,
            source: file.to_string(),
        })
    }
}

/// The built-in presets, then the user's (same id replaces, new id adds), sorted by id.
pub fn load_presets(user_dir: Option<&Path>) -> Result<Vec<Preset>, ConfigError> {
    load_presets_warning(user_dir).map(|(p, _)| p)
}

/// `load_presets`, with the files of the user's directory that were passed over (not regular
/// files) as warnings.
pub fn load_presets_warning(user_dir: Option<&Path>) -> Result<(Vec<Preset>, Vec<String>), ConfigError> {
    let mut warnings = Vec::new();
    let mut by_id: BTreeMap<String, Preset> = BTreeMap::new();
    let mut files: Vec<_> = BUILTIN.files().collect();
    files.sort_by_key(|f| f.path());
    for f in files {
        let name = format!("presets/{}", f.path().display());
        let text = f.contents_utf8().ok_or_else(|| ConfigError::Io(format!("{name}: not UTF-8")))?;
        let p = Preset::parse(&format!("{name} (built in)"), text)?;
        by_id.insert(p.id.clone(), p);
    }
    if let Some(dir) = user_dir {
        let mut user: BTreeMap<String, String> = BTreeMap::new();
        let (files, passed_over) = load_toml_dir(dir)?;
        warnings.extend(passed_over);
        for (path, text) in files {
            let file = path.display().to_string();
            let p = Preset::parse(&file, &text)?;
            if let Some(first) = user.insert(p.id.clone(), file.clone()) {
                return Err(ConfigError::Io(format!("{first} and {file} both define preset id '{}'", p.id)));
            }
            by_id.insert(p.id.clone(), p);
        }
    }
    Ok((by_id.into_values().collect(), warnings))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_preset_parses_and_the_required_ones_exist() {
        let presets = load_presets(None).unwrap();
        let ids: Vec<_> = presets.iter().map(|p| p.id.as_str()).collect();
        for want in [
            "pod-delete",
            "pod-kill",
            "scale-to-zero",
            "network-latency",
            "network-loss",
            "cpu-stress",
            "container-pause",
            "node-drain",
            "config-corrupt",
        ] {
            assert!(ids.contains(&want), "missing preset {want}: {ids:?}");
        }
        for p in &presets {
            assert!(!p.hypothesis.is_empty() && !p.description.is_empty(), "{}", p.id);
            assert!(p.source.ends_with(".toml (built in)"), "{}", p.source);
        }
        let kill = presets.iter().find(|p| p.id == "pod-kill").unwrap();
        assert_eq!(kill.params["grace_seconds"].default, ParamValue::Int(0));
        assert_eq!(kill.mode, Some(Mode::One));
        let drain = presets.iter().find(|p| p.id == "node-drain").unwrap();
        assert_eq!(drain.mode, None);
    }

    #[test]
    fn parameters_are_checked_against_bounds_and_types() {
        let p = load_presets(None).unwrap().into_iter().find(|p| p.id == "network-latency").unwrap();
        let d = &p.params["latency_ms"];
        assert_eq!(d.parse("latency_ms", "90").unwrap(), ParamValue::Int(90));
        assert!(d.parse("latency_ms", "ninety").unwrap_err().contains("whole number"));
        assert!(d.parse("latency_ms", "999999").unwrap_err().contains("above its maximum"));
    }
}
