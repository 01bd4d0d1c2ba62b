//! What a fault is aimed at and how many of the pods it selects it hits, as the command line,
//! run-sheets and the README write them.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// What a fault is aimed at, written the way the command line and the README spell it:
/// `<namespace>/<workload>`, `<namespace>/pod/<name>`, `node/<name>`, `label:<key>=<value>`
/// (the pods or containers with that label) or `re2:<regex>` (those whose name matches).
/// `pod/<name>`, `container/<name>` and a bare `<name>` name one pod or container in any
/// namespace; the console resolves them to `<namespace>/pod/<name>` (an empty namespace until
/// then).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Target {
    Workload { namespace: String, name: String },
    Pod { namespace: String, name: String },
    Node { name: String },
    Label { key: String, value: String },
    Regex { pattern: String },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TargetKind {
    Workload,
    Pod,
    Node,
    /// A label or name pattern: a set of pods.
    Selector,
}

impl fmt::Display for TargetKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TargetKind::Workload => "workload",
            TargetKind::Pod => "pod",
            TargetKind::Node => "node",
            TargetKind::Selector => "selector",
        })
    }
}

impl Target {
    pub fn kind(&self) -> TargetKind {
        match self {
            Target::Workload { .. } => TargetKind::Workload,
            Target::Pod { .. } => TargetKind::Pod,
            Target::Node { .. } => TargetKind::Node,
            Target::Label { .. } | Target::Regex { .. } => TargetKind::Selector,
        }
    }
    pub fn workload(namespace: &str, name: &str) -> Self {
        Target::Workload { namespace: namespace.into(), name: name.into() }
    }
    pub fn pod(namespace: &str, name: &str) -> Self {
        Target::Pod { namespace: namespace.into(), name: name.into() }
    }
    pub fn node(name: &str) -> Self {
        Target::Node { name: name.into() }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Workload { namespace, name } => write!(f, "{namespace}/{name}"),
            Target::Pod { namespace, name } if namespace.is_empty() => write!(f, "pod/{name}"),
            Target::Pod { namespace, name } => write!(f, "{namespace}/pod/{name}"),
            Target::Node { name } => write!(f, "node/{name}"),
            Target::Label { key, value } => write!(f, "label:{key}={value}"),
            Target::Regex { pattern } => write!(f, "re2:{pattern}"),
        }
    }
}

pub const TARGET_SYNTAX: &str = "write <namespace>/<workload>, <namespace>/pod/<name>, <name> (a pod or container), \
     node/<name>, label:<key>=<value> or re2:<regex>";

impl FromStr for Target {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("'{s}' is not a target: {TARGET_SYNTAX}");
        if let Some(sel) = s.strip_prefix("label:") {
            return match sel.split_once('=') {
                Some((k, v)) if !k.is_empty() && !k.contains(char::is_whitespace) => {
                    Ok(Target::Label { key: k.into(), value: v.into() })
                }
                _ => Err(bad()),
            };
        }
        if let Some(pattern) = s.strip_prefix("re2:") {
            return match regex::Regex::new(pattern) {
                Ok(_) if !pattern.is_empty() => Ok(Target::Regex { pattern: pattern.into() }),
                Ok(_) => Err(bad()),
                Err(e) => Err(format!("'{pattern}' is not a regular expression: {e}")),
            };
        }
        let parts: Vec<&str> = s.split('/').collect();
        let ok = |p: &str| !p.is_empty() && !p.chars().any(char::is_whitespace);
        match parts.as_slice() {
            ["node", name] if ok(name) => Ok(Target::node(name)),
            ["pod" | "container", name] if ok(name) => Ok(Target::pod("", name)),
            [name] if ok(name) => Ok(Target::pod("", name)),
            [ns, "pod", name] if ok(ns) && ok(name) => Ok(Target::pod(ns, name)),
            [ns, name] if ok(ns) && ok(name) => Ok(Target::workload(ns, name)),
            _ => Err(bad()),
        }
    }
}

impl TryFrom<String> for Target {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        s.parse()
    }
}

impl From<Target> for String {
    fn from(t: Target) -> String {
        t.to_string()
    }
}

/// How many of the pods a target selects a fault hits: `one`, `all`, `N` or `N%`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Mode {
    One,
    Fixed(u32),
    Percent(u32),
    All,
}

impl Mode {
    /// How many of `total` pods are hit (at least one when there is any).
    pub fn count(self, total: usize) -> usize {
        let n = match self {
            Mode::One => 1,
            Mode::Fixed(n) => n as usize,
            Mode::Percent(p) => (total * p as usize).div_ceil(100),
            Mode::All => total,
        };
        n.clamp(total.min(1), total)
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mode::One => f.write_str("one"),
            Mode::All => f.write_str("all"),
            Mode::Fixed(n) => write!(f, "{n}"),
            Mode::Percent(p) => write!(f, "{p}%"),
        }
    }
}

impl FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("mode '{s}' is not one, all, a count like 2 or a percentage like 50%");
        match s {
            "one" => Ok(Mode::One),
            "all" => Ok(Mode::All),
            _ => match s.strip_suffix('%') {
                Some(p) => match p.parse::<u32>() {
                    Ok(p) if (1..=100).contains(&p) => Ok(Mode::Percent(p)),
                    _ => Err(bad()),
                },
                None => match s.parse::<u32>() {
                    Ok(n) if n >= 1 => Ok(Mode::Fixed(n)),
                    _ => Err(bad()),
                },
            },
        }
    }
}

impl TryFrom<String> for Mode {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        s.parse()
    }
}

impl From<Mode> for String {
    fn from(m: Mode) -> String {
        m.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_round_trip_through_their_written_form() {
        for s in ["sock-shop/carts", "sock-shop/pod/carts-abc-123", "node/worker-1"] {
            let t: Target = s.parse().unwrap();
            assert_eq!(t.to_string(), s);
        }
        assert_eq!("node/worker-1".parse::<Target>().unwrap().kind(), TargetKind::Node);
        assert_eq!("a/pod/b".parse::<Target>().unwrap().kind(), TargetKind::Pod);
    }
    #[test]
    fn modes_count_what_they_hit() {
        let m = |s: &str| s.parse::<Mode>().unwrap();
        assert_eq!(m("one").count(3), 1);
        assert_eq!(m("all").count(3), 3);
        assert_eq!(m("2").count(3), 2);
        assert_eq!(m("5").count(3), 3);
        assert_eq!(m("50%").count(3), 2);
        assert_eq!(m("10%").count(3), 1, "a percentage hits at least one");
        assert_eq!(m("one").count(0), 0);
        for bad in ["0", "none", "101%", "0%", "-1"] {
            assert!(bad.parse::<Mode>().is_err(), "{bad}");
        }
        assert_eq!(m("25%").to_string(), "25%");
    }

    #[test]
    fn malformed_targets_explain_the_syntax() {
        assert_eq!("shop-web-1".parse::<Target>().unwrap(), Target::pod("", "shop-web-1"));
        for s in ["", "a/b/c", "ns/", "/x", "a/pod/", "a b/c", "label:", "re2:", "a b"] {
            let err = s.parse::<Target>().unwrap_err();
            assert!(err.contains("<namespace>/<workload>"), "{s}: {err}");
        }
    }
}
