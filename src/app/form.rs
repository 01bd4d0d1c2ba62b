//! The parameter form: after a preset and a target are picked, each of the preset's parameters
//! and the duration, with its default, bounds, unit and help, to change before the
//! confirmation. The fault's plan (its blast radius) is made again at every change, so what the
//! form shows is what would be injected; a value that is not valid is refused in place and the
//! form does not go on until it is mended.

use super::fault::FaultPlan;
use super::planning::Planner;
use crate::model::ParamValue;

#[derive(Clone, Debug, PartialEq)]
pub struct Field {
    pub name: String,
    pub value: String,
    pub default: String,
    /// Bounds, unit, choices and help, in words.
    pub about: String,
    /// Why the value is refused, if it is.
    pub error: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ParamForm {
    pub preset: String,
    pub target: String,
    pub fields: Vec<Field>,
    pub focus: usize,
    /// The focused value is selected whole (as it is when the focus arrives): the first
    /// character typed or pasted replaces it; Backspace or an arrow keeps it to edit.
    pub selected: bool,
    /// The fault as the values stand, or why it cannot be made.
    pub plan: Result<FaultPlan, String>,
}

fn show(v: &ParamValue) -> String {
    v.to_string()
}

/// A key or a paste on the form.
pub enum Edit {
    Type(char),
    Erase,
    Paste(String),
    Next,
    Previous,
}

impl ParamForm {
    /// The form for a preset on a target (already checked to make a plan with the defaults).
    pub fn open(planner: &Planner, preset: &str, target: &str) -> Option<ParamForm> {
        let p = planner.preset(preset).map(|e| e.preset.clone())?;
        let mut fields: Vec<Field> = p
            .params
            .iter()
            .map(|(name, def)| {
                let mut about = Vec::new();
                match (def.min, def.max) {
                    (Some(lo), Some(hi)) => about.push(format!("{lo} to {hi}{}", def.unit)),
                    (Some(lo), None) => about.push(format!("at least {lo}{}", def.unit)),
                    (None, Some(hi)) => about.push(format!("at most {hi}{}", def.unit)),
                    (None, None) if !def.unit.is_empty() => about.push(def.unit.clone()),
                    _ => {}
                }
                if !def.choices.is_empty() {
                    about.push(format!("one of {}", def.choices.join(", ")));
                }
                if !def.help.is_empty() {
                    about.push(def.help.clone());
                }
                Field {
                    name: name.clone(),
                    value: show(&def.default),
                    default: show(&def.default),
                    about: about.join(" · "),
                    error: None,
                }
            })
            .collect();
        let dur = humantime::format_duration(p.duration).to_string();
        fields.push(Field {
            name: "duration".into(),
            value: dur.clone(),
            default: dur,
            about: format!("how long it stays in, at most {}", humantime::format_duration(p.max_duration)),
            error: None,
        });
        if let Some(mode) = p.mode {
            let m = mode.to_string();
            fields.push(Field {
                name: "mode".into(),
                value: m.clone(),
                default: m,
                about: "which of the selected pods: one, all, a count (2) or a share (50%)".into(),
                error: None,
            });
        }
        let mut form = ParamForm {
            preset: preset.to_string(),
            target: target.to_string(),
            fields,
            focus: 0,
            selected: true,
            plan: Err(String::new()),
        };
        form.replan(planner);
        Some(form)
    }

    /// The plan as the values stand now; a refusal is shown on the field it names.
    fn replan(&mut self, planner: &Planner) {
        let form = self;
        let overrides: Vec<(String, String)> = form
            .fields
            .iter()
            .filter(|f| f.value != f.default)
            .map(|f| (f.name.clone(), f.value.trim().to_string()))
            .collect();
        for f in &mut form.fields {
            f.error = None;
        }
        if let Some(f) = form.fields.iter_mut().find(|f| f.value.trim().is_empty() && !f.default.is_empty()) {
            f.error = Some("give a value (its default is ".to_string() + &f.default + ")");
            form.plan = Err(format!("{} has no value", f.name));
            return;
        }
        form.plan = planner.plan(&form.preset, &form.target, &overrides);
        if let Err(e) = &form.plan {
            // The message names the field it is about ("latency_ms = 99999 is above ...").
            let named =
                form.fields.iter_mut().find(|f| e.starts_with(&f.name) || e.contains(&format!("'{}'", f.value)));
            if let Some(f) = named {
                f.error = Some(e.clone());
            }
        }
    }

    /// A key or a paste on the form: the focused field changes (and the plan with it), or the
    /// focus moves.
    pub fn edit(&mut self, edit: Edit, planner: &Planner) {
        let form = self;
        let n = form.fields.len();
        let focus = form.focus.min(n.saturating_sub(1));
        match edit {
            Edit::Next => {
                form.focus = (focus + 1) % n.max(1);
                form.selected = true;
            }
            Edit::Previous => {
                form.focus = (focus + n.max(1) - 1) % n.max(1);
                form.selected = true;
            }
            Edit::Type(c) => {
                if std::mem::take(&mut form.selected) {
                    form.fields[focus].value.clear();
                }
                form.fields[focus].value.push(c);
                form.replan(planner);
            }
            Edit::Erase => {
                form.selected = false;
                form.fields[focus].value.pop();
                form.replan(planner);
            }
            Edit::Paste(text) => {
                let one = crate::text::one_line(&text).trim().to_string();
                if std::mem::take(&mut form.selected) {
                    form.fields[focus].value.clear();
                }
                form.fields[focus].value.push_str(&one);
                form.replan(planner);
            }
        }
    }

    /// A form kept from before, shown again: its values checked against the cluster as it is now.
    pub fn revalidate(&mut self, planner: &Planner) {
        self.replan(planner);
        self.selected = true;
    }

    /// Enter: the plan to confirm, if every value is valid; else why not (the form stays).
    pub fn submit(&mut self, planner: &Planner) -> Result<FaultPlan, String> {
        // Made again from the cluster as it is now: the pods may have changed since the last key.
        self.replan(planner);
        self.plan.clone()
    }
}
