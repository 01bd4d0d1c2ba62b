//! Planning a fault: a preset, a written target and `name=value` overrides made into a
//! `FaultPlan` against the cluster's picture now (the pods it selects, its blast radius), with a
//! clear message for anything unknown, off-limits or out of bounds. Pure reads.

use std::collections::BTreeMap;
use std::time::Duration;

use super::blast;
use super::fault::FaultPlan;
use crate::config::preset::Preset;
use crate::config::runsheet::Step;
use crate::model::{PodRef, Support, Target, TargetKind, Topology};

#[derive(Clone, Debug)]
pub struct PresetEntry {
    pub preset: Preset,
    /// Whether the backend can run it, and if not, why.
    pub support: Support,
}

/// What a plan is made against: the presets (and whether this backend runs each), the
/// picture, and what this backend calls its pods.
#[derive(Clone, Copy)]
pub struct Planner<'a> {
    pub presets: &'a [PresetEntry],
    pub topology: &'a Topology,
    pub pod_word: &'a str,
}

impl<'a> Planner<'a> {
    pub fn preset(&self, id: &str) -> Option<&'a PresetEntry> {
        self.presets.iter().find(|p| p.preset.id == id)
    }

    /// The presets in the order the picker lists them: those that can run (on the chosen
    /// target, if any) first, then the disabled ones, each by id.
    pub fn picker_order(&self, target: Option<&Target>) -> Vec<&'a PresetEntry> {
        let (mut ok, mut no): (Vec<&PresetEntry>, Vec<&PresetEntry>) =
            self.presets.iter().partition(|p| self.preset_available(p, target).is_ok());
        ok.sort_by(|a, b| a.preset.id.cmp(&b.preset.id));
        no.sort_by(|a, b| a.preset.id.cmp(&b.preset.id));
        ok.extend(no);
        ok
    }

    /// Targets offered for a preset in the target list, filtered (case-insensitively).
    pub fn target_choices(&self, preset: &str, filter: &str) -> Vec<Target> {
        let Some(p) = self.preset(preset) else {
            return Vec::new();
        };
        let f = filter.to_lowercase();
        p.preset
            .targets
            .iter()
            .flat_map(|k| self.topology.targets(*k))
            .filter(|t| f.is_empty() || t.to_string().to_lowercase().contains(&f))
            .collect()
    }

    /// Whether a preset can be picked (for a target, if one is chosen); if not, why.
    pub fn preset_available(&self, p: &PresetEntry, target: Option<&Target>) -> Result<(), String> {
        if let Support::No(why) = &p.support {
            return Err(why.clone());
        }
        match target {
            Some(t) if !p.preset.targets.contains(&t.kind()) => {
                Err(format!("targets {}, not a {}", p.preset.targets_text(), t.kind()))
            }
            _ => Ok(()),
        }
    }

    /// A run-sheet step's fault, with the expectation the step wrote (not the preset's default).
    pub fn step_plan(&self, step: &Step) -> Result<FaultPlan, String> {
        let mut p = self.plan(&step.preset, &step.target, &step.params)?;
        if !step.hypothesis.is_empty() {
            p.hypothesis = step.hypothesis.clone();
        }
        Ok(p)
    }

    /// Whether a written target is in the cluster's picture now; if not, what to say ("no workload
    /// sock-shop/cartz in the cluster (did you mean sock-shop/carts?)").
    pub fn target_problem(&self, target: &str) -> Option<String> {
        match target.parse::<Target>().and_then(|t| self.resolve(t)) {
            Ok(t) => self.absent(&t),
            Err(e) => Some(e),
        }
    }

    /// Builds a fault plan from a preset id, a written target and `name=value` overrides, with
    /// a clear message for anything unknown or out of bounds.
    pub fn plan(&self, preset_id: &str, target: &str, overrides: &[(String, String)]) -> Result<FaultPlan, String> {
        let entry = self.preset(preset_id).ok_or_else(|| {
            let known: Vec<&str> = self.presets.iter().map(|p| p.preset.id.as_str()).collect();
            let hint =
                suggest(preset_id, known.iter().copied()).map(|h| format!("did you mean {h}? ")).unwrap_or_default();
            format!("unknown preset '{preset_id}' ({hint}known: {})", known.join(", "))
        })?;
        let target = self.resolve(target.parse()?)?;
        self.preset_available(entry, Some(&target))
            .map_err(|why| format!("{preset_id} cannot run on {target}: {why}"))?;
        let p = &entry.preset;
        let word = self.pod_word;
        if let Some(ns) = target_namespace(&target) {
            if let Some(why) = self.topology.lock_reason(ns) {
                return Err(format!("{target} is off-limits: {why}"));
            }
        }
        if let Some(missing) = self.absent(&target) {
            return Err(missing);
        }
        let mut params: BTreeMap<_, _> = p.default_params();
        let mut duration = p.duration;
        let mut mode = p.mode;
        for (name, raw) in overrides {
            match name.as_str() {
                "duration" => {
                    duration = humantime::parse_duration(raw).map_err(|e| format!("duration '{raw}': {e}"))?;
                    if duration.is_zero() || duration > p.max_duration {
                        return Err(format!(
                            "duration must be above 0 and at most {}",
                            humantime::format_duration(p.max_duration)
                        ));
                    }
                }
                "mode" if mode.is_some() => mode = Some(raw.parse()?),
                "mode" => return Err(format!("{} acts on a whole {}, it has no mode", p.id, p.targets_text())),
                _ => {
                    let def = p.params.get(name).ok_or_else(|| {
                        let mut names: Vec<&str> = p.params.keys().map(String::as_str).collect();
                        names.push("duration");
                        if p.mode.is_some() {
                            names.push("mode");
                        }
                        format!("{} has no parameter '{name}' (it has: {})", p.id, names.join(", "))
                    })?;
                    params.insert(name.clone(), def.parse(name, raw)?);
                }
            }
        }
        // Faults on pods act on the live pods the target selects now; the backend picks among them.
        let pods: Vec<PodRef> = match mode {
            Some(_) => self.topology.live_pods(&target),
            None => Vec::new(),
        };
        if mode.is_some() && pods.is_empty() {
            if let Some(own) = self.topology.select(&target).into_iter().find_map(|p| p.caveats.protected.as_deref()) {
                return Err(format!("{target} selects only {own}, which no fault may touch"));
            }
            return Err(format!("{target} has no running {word}"));
        }
        if let Some(why) = blast::refusal(self.topology, &p.action, &pods) {
            return Err(format!("{} cannot run on {target}: {why}", p.id));
        }
        // A selector or a node may reach into namespaces faults may not touch.
        if let Some(why) = pods.iter().find_map(|p| self.topology.lock_reason(&p.namespace).map(|w| (p, w))) {
            return Err(format!("{target} reaches {}, which is off-limits: {}", why.0, why.1));
        }
        let blast_radius = blast::describe(
            self.topology,
            &blast::Blast { preset: p, target: &target, params: &params, mode, pods: &pods, word },
        );
        Ok(FaultPlan {
            preset: p.id.clone(),
            action: p.action.clone(),
            blast_radius,
            target,
            params,
            duration_ms: duration_ms(duration),
            pods,
            mode,
            hypothesis: p.hypothesis.clone(),
        })
    }

    /// `pod/<name>` and `container/<name>` name one pod in any namespace: find it.
    fn resolve(&self, target: Target) -> Result<Target, String> {
        let Target::Pod { namespace, name } = &target else { return Ok(target) };
        if !namespace.is_empty() {
            return Ok(target);
        }
        let word = self.pod_word;
        let found = self.topology.select(&target);
        match found.as_slice() {
            [p] => Ok(Target::pod(&p.namespace, &p.name)),
            [] => {
                // A workload of that name is the likelier meaning of a bare word.
                let workload = self.topology.workloads().find(|w| w.name == *name);
                let all: Vec<String> = self.topology.pods().map(|p| p.name.clone()).collect();
                let hint = match workload {
                    Some(w) => format!(" (did you mean the workload {}/{}?)", w.namespace, w.name),
                    None => suggest(name, all.iter().map(String::as_str))
                        .map(|h| format!(" (did you mean {h}?)"))
                        .unwrap_or_default(),
                };
                Err(format!("no {word} named {name}{hint}"))
            }
            many => {
                let names: Vec<String> = many.iter().map(|p| format!("{}/pod/{}", p.namespace, p.name)).collect();
                Err(format!("{word}/{name} is ambiguous: {}", names.join(", ")))
            }
        }
    }

    fn absent(&self, target: &Target) -> Option<String> {
        if self.topology.contains(target) {
            return None;
        }
        let word = self.pod_word;
        if target.kind() == TargetKind::Selector {
            return Some(format!("{target} selects no {word}"));
        }
        let candidates: Vec<String> = self.topology.targets(target.kind()).iter().map(|t| t.to_string()).collect();
        let hint = suggest(&target.to_string(), candidates.iter().map(String::as_str))
            .map(|h| format!(" (did you mean {h}?)"))
            .unwrap_or_default();
        Some(format!("no {} {target} in the cluster{hint}", target.kind()))
    }
}

fn target_namespace(t: &Target) -> Option<&str> {
    match t {
        Target::Workload { namespace, .. } | Target::Pod { namespace, .. } if !namespace.is_empty() => Some(namespace),
        _ => None,
    }
}

fn duration_ms(d: Duration) -> u64 {
    d.as_millis().min(u64::MAX as u128) as u64
}

fn suggest<'a>(word: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .map(|c| (strsim::jaro_winkler(word, c), c))
        .filter(|(score, _)| *score > 0.85)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}
