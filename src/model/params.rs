//! A preset's parameters: their values and their definitions (default, bounds, choices, unit).

use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ParamValue {
    Int(i64),
    Float(f64),
    Text(String),
}

impl ParamValue {
    pub fn as_int(&self) -> Option<i64> {
        match self {
            ParamValue::Int(i) => Some(*i),
            ParamValue::Float(f) if f.fract() == 0.0 => Some(*f as i64),
            _ => None,
        }
    }
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            ParamValue::Int(i) => Some(*i as f64),
            ParamValue::Float(f) => Some(*f),
            ParamValue::Text(_) => None,
        }
    }
}

impl fmt::Display for ParamValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamValue::Int(i) => write!(f, "{i}"),
            ParamValue::Float(x) => write!(f, "{x}"),
            ParamValue::Text(s) => f.write_str(s),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParamDef {
    pub default: ParamValue,
    pub min: Option<f64>,
    pub max: Option<f64>,
    #[serde(default)]
    pub choices: Vec<String>,
    #[serde(default)]
    pub unit: String,
    #[serde(default)]
    pub help: String,
}

/// The largest whole number a parameter takes (2^53 - 1: exact as JSON's numbers, and far
/// from overflowing when scaled to ms or bytes).
pub const INT_LIMIT: i64 = (1 << 53) - 1;

impl ParamDef {
    /// Checks a value against the bounds or choices; the message names the parameter.
    pub fn check(&self, name: &str, value: &ParamValue) -> Result<(), String> {
        match (&self.default, value) {
            (ParamValue::Text(_), ParamValue::Text(v)) => {
                if !self.choices.is_empty() && !self.choices.contains(v) {
                    return Err(format!("{name} must be one of {}, not '{v}'", self.choices.join(", ")));
                }
                Ok(())
            }
            (ParamValue::Text(_), v) => Err(format!("{name} takes text, not {v}")),
            (_, ParamValue::Text(v)) => Err(format!("{name} takes a number, not '{v}'")),
            (ParamValue::Int(_), v) if v.as_int().is_none() => Err(format!("{name} takes a whole number, not {v}")),
            (ParamValue::Int(_), v) if v.as_int().is_some_and(|i| i.abs() > INT_LIMIT) => {
                Err(format!("{name} = {v} is beyond the largest whole number gameday takes ({INT_LIMIT})"))
            }
            (_, v) => {
                let x = v.as_f64().unwrap_or(f64::NAN);
                if let Some(min) = self.min.filter(|m| x < *m) {
                    return Err(format!("{name} = {v} is below its minimum {min}{}", self.unit));
                }
                if let Some(max) = self.max.filter(|m| x > *m) {
                    return Err(format!("{name} = {v} is above its maximum {max}{}", self.unit));
                }
                Ok(())
            }
        }
    }

    /// Parses a value typed on the command line into this parameter's type.
    pub fn parse(&self, name: &str, raw: &str) -> Result<ParamValue, String> {
        let v = match self.default {
            ParamValue::Text(_) => ParamValue::Text(raw.to_string()),
            ParamValue::Int(_) => {
                ParamValue::Int(raw.parse().map_err(|_| format!("{name} takes a whole number, not '{raw}'"))?)
            }
            ParamValue::Float(_) => match raw.parse::<f64>() {
                Ok(x) if x.is_finite() => ParamValue::Float(x),
                _ => return Err(format!("{name} takes a finite number, not '{raw}'")),
            },
        };
        self.check(name, &v)?;
        Ok(v)
    }
}
