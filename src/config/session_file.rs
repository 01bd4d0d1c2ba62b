//! The session file (`--session-file`, TOML): probes, the steady-state hypothesis and the stop
//! conditions. Every error names the file, line and column. See sessions/demo.toml.

use std::collections::BTreeSet;

use serde::Deserialize;
use toml::Spanned;

use crate::config::ConfigError;
use crate::model::check::Check;
use crate::model::probe::{ProbeKind, ProbeSpec};

/// A stop condition: when `check` is broken for `hold_ms` while a fault is live, the fault is
/// aborted through the same path as the abort key.
#[derive(Clone, Debug, PartialEq)]
pub struct Stop {
    pub check: Check,
    pub hold_ms: u64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Hypothesis {
    pub name: String,
    pub checks: Vec<Check>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct SessionConfig {
    pub probes: Vec<ProbeSpec>,
    pub hypothesis: Option<Hypothesis>,
    pub stops: Vec<Stop>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    probe: Vec<RawProbe>,
    hypothesis: Option<RawHypothesis>,
    #[serde(default)]
    stop: Vec<RawCheck>,
    // A run-sheet (plan file) is a session file with these too, read by `crate::config::runsheet`.
    #[allow(dead_code)]
    title: Option<toml::Value>,
    #[allow(dead_code)]
    facilitator: Option<toml::Value>,
    #[allow(dead_code)]
    environment: Option<toml::Value>,
    #[allow(dead_code)]
    participant: Option<toml::Value>,
    #[allow(dead_code)]
    step: Option<toml::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProbe {
    name: Spanned<String>,
    http: Option<String>,
    expect_status: Option<u16>,
    tcp: Option<String>,
    service_http: Option<String>,
    promql: Option<String>,
    prometheus: Option<String>,
    service: Option<String>,
    ready: Option<String>,
    interval: Option<Spanned<String>>,
    timeout: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHypothesis {
    name: String,
    checks: Vec<RawCheck>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCheck {
    probe: Spanned<String>,
    check: Spanned<String>,
    over: Option<Spanned<String>>,
    #[serde(rename = "for")]
    hold: Option<Spanned<String>>,
}

/// Default window of a check, and of a stop condition.
const HYPOTHESIS_WINDOW_MS: u64 = 30_000;
const STOP_WINDOW_MS: u64 = 10_000;

impl SessionConfig {
    /// A session file's steady state under a run-sheet's own: the run-sheet's hypothesis wins
    /// (the session file's stands where the sheet writes none), the probes and stop conditions
    /// of both apply, and a probe both name is the run-sheet's (said, a line each).
    pub fn under(self, sheet: SessionConfig) -> (SessionConfig, Vec<String>) {
        let mut said = Vec::new();
        let mut probes = sheet.probes;
        for p in self.probes {
            if probes.iter().any(|q| q.name == p.name) {
                said.push(format!(
                    "probe {} is defined by both the session file and the run-sheet: the run-sheet's is used",
                    p.name
                ));
            } else {
                probes.push(p);
            }
        }
        let mut stops = self.stops;
        stops.extend(sheet.stops);
        (SessionConfig { probes, hypothesis: sheet.hypothesis.or(self.hypothesis), stops }, said)
    }

    pub fn parse(file: &str, text: &str) -> Result<SessionConfig, ConfigError> {
        let raw: RawFile = toml::from_str(text).map_err(|e| ConfigError::from_toml(file, text, &e))?;
        let at = |span: std::ops::Range<usize>, msg: String| ConfigError::at(file, text, span.start, msg);
        let ms = |s: &Spanned<String>| {
            crate::config::parse_duration(s.get_ref()).map(|d| d.as_millis() as u64).map_err(|e| at(s.span(), e))
        };
        let mut probes = Vec::new();
        let mut names = BTreeSet::new();
        for p in &raw.probe {
            let name = p.name.get_ref().trim().to_string();
            crate::config::check_name("probe name", &name).map_err(|m| at(p.name.span(), m))?;
            if !names.insert(name.clone()) {
                return Err(at(p.name.span(), format!("probe '{name}' is declared twice")));
            }
            let mut kinds = Vec::new();
            if let Some(url) = &p.http {
                crate::model::probe::check_url(url)
                    .map_err(|e| at(p.name.span(), format!("probe '{name}': http = '{url}' {e}")))?;
                kinds.push(ProbeKind::Http { url: url.clone(), expect_status: p.expect_status.unwrap_or(200) });
            }
            if let Some(addr) = &p.tcp {
                if !addr.rsplit_once(':').is_some_and(|(h, port)| !h.is_empty() && port.parse::<u16>().is_ok()) {
                    return Err(at(p.name.span(), format!("probe '{name}': tcp = '{addr}' is not host:port")));
                }
                kinds.push(ProbeKind::Tcp { addr: addr.clone() });
            }
            if let Some(target) = &p.service_http {
                let (service, port, path) = crate::model::probe::parse_service_http(target)
                    .map_err(|e| at(p.name.span(), format!("probe '{name}': service_http = {e}")))?;
                kinds.push(ProbeKind::ServiceHttp {
                    service,
                    port,
                    path,
                    expect_status: p.expect_status.unwrap_or(200),
                });
            }
            if let Some(query) = &p.promql {
                let Some(prometheus) = p.prometheus.clone() else {
                    return Err(at(
                        p.name.span(),
                        format!("probe '{name}': a promql probe needs prometheus = \"http://host:9090\""),
                    ));
                };
                crate::model::probe::check_url(&prometheus)
                    .map_err(|e| at(p.name.span(), format!("probe '{name}': prometheus = '{prometheus}' {e}")))?;
                kinds.push(ProbeKind::Promql { prometheus, query: query.clone() });
            }
            if let Some(service) = &p.service {
                kinds.push(ProbeKind::Service { service: service.clone() });
            }
            if let Some(workload) = &p.ready {
                kinds.push(ProbeKind::Ready { workload: workload.clone() });
            }
            if kinds.len() != 1 {
                return Err(at(
                    p.name.span(),
                    format!("probe '{name}' needs exactly one of http, tcp, service_http, promql, service or ready"),
                ));
            }
            let interval_ms = p.interval.as_ref().map(ms).transpose()?.unwrap_or(1000);
            if interval_ms < 100 {
                let span = p.interval.as_ref().map(|s| s.span()).unwrap_or(p.name.span());
                return Err(at(span, format!("probe '{name}': an interval under 100ms would hammer the target")));
            }
            let timeout_ms = p.timeout.as_ref().map(ms).transpose()?.unwrap_or(interval_ms.max(2000));
            if timeout_ms == 0 {
                let span = p.timeout.as_ref().map(|s| s.span()).unwrap_or(p.name.span());
                return Err(at(
                    span,
                    format!("probe '{name}': a timeout of 0 would fail every check before it starts"),
                ));
            }
            probes.push(ProbeSpec { name, kind: kinds.remove(0), interval_ms, timeout_ms });
        }
        let check = |c: &RawCheck, window: u64| -> Result<Check, ConfigError> {
            let probe = c.probe.get_ref();
            if !names.contains(probe) {
                let known = names.iter().cloned().collect::<Vec<_>>().join(", ");
                return Err(at(c.probe.span(), format!("no probe named '{probe}' (declared: {known})")));
            }
            let window = c.over.as_ref().map(ms).transpose()?.unwrap_or(window);
            Check::parse(probe, c.check.get_ref(), window).map_err(|e| at(c.check.span(), e))
        };
        let hypothesis = match &raw.hypothesis {
            Some(h) => Some(Hypothesis {
                name: h.name.clone(),
                checks: h.checks.iter().map(|c| check(c, HYPOTHESIS_WINDOW_MS)).collect::<Result<_, _>>()?,
            }),
            None => None,
        };
        let mut stops = Vec::new();
        for c in &raw.stop {
            let hold_ms = c.hold.as_ref().map(ms).transpose()?.unwrap_or(0);
            stops.push(Stop { check: check(c, STOP_WINDOW_MS)?, hold_ms });
        }
        Ok(SessionConfig { probes, hypothesis, stops })
    }

    pub fn load(path: &std::path::Path) -> Result<SessionConfig, ConfigError> {
        let (file, text) = crate::config::read_text(path)?;
        SessionConfig::parse(&file, &text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_session_file_parses() {
        let text = include_str!("../../sessions/demo.toml");
        let c = SessionConfig::parse("sessions/demo.toml", text).unwrap();
        assert!(c.hypothesis.is_some());
        assert!(!c.stops.is_empty());
        assert!(c.probes.iter().any(|p| matches!(p.kind, ProbeKind::Service { .. })));
    }

    #[test]
    fn errors_name_file_line_and_what_is_wrong() {
        let err = |t: &str| SessionConfig::parse("s.toml", t).unwrap_err().to_string();
        assert_eq!(
            err("[[probe]]\nname = \"a\"\n"),
            "s.toml:2:8: probe 'a' needs exactly one of http, tcp, service_http, promql, service or ready"
        );
        assert!(
            err("[[probe]]\nname = \"a\"\nhttp = \"ftp://x\"\n").starts_with("s.toml:2:8: probe 'a': http = 'ftp://x'")
        );
        assert!(err("[[probe]]\nname = \"a\"\ntcp = \"x\"\n").contains("is not host:port"));
        assert!(err("[[probe]]\nname = \"a\"\nservice_http = \"front:80\"\n")
            .starts_with("s.toml:2:8: probe 'a': service_http = 'front:80' is not namespace/service:port/path"));
        let c = SessionConfig::parse(
            "s.toml",
            "[[probe]]\nname = \"front\"\nservice_http = \"sock-shop/front-end:80/health\"\nexpect_status = 204\n",
        )
        .unwrap();
        assert_eq!(
            c.probes[0].kind,
            ProbeKind::ServiceHttp {
                service: "sock-shop/front-end".into(),
                port: "80".into(),
                path: "/health".into(),
                expect_status: 204
            }
        );
        assert!(err("[[probe]]\nname = \"a\"\npromql = \"up\"\n").contains("needs prometheus ="));
        assert!(err("[[probe]]\nname = \"a\"\ntcp = \"h:1\"\ninterval = \"soon\"\n")
            .starts_with("s.toml:4:12: 'soon' is not a duration"));
        let stop = "[[probe]]\nname = \"a\"\ntcp = \"h:1\"\n[[stop]]\nprobe = \"b\"\ncheck = \"p95 < 1ms\"\n";
        assert_eq!(err(stop), "s.toml:5:9: no probe named 'b' (declared: a)");
        let bad = "[[probe]]\nname = \"a\"\ntcp = \"h:1\"\n[[stop]]\nprobe = \"a\"\ncheck = \"p99 < 1ms\"\n";
        assert!(err(bad).starts_with("s.toml:6:9: unknown metric 'p99'"));
        assert!(
            err("[[probe]]\nname = \"a\"\ntcp = \"h:1\"\nurl = \"x\"\n").starts_with("s.toml:4:1: unknown field `url`")
        );
        let twice = "[[probe]]\nname = \"a\"\ntcp = \"h:1\"\n[[probe]]\nname = \"a\"\ntcp = \"h:1\"\n";
        assert_eq!(err(twice), "s.toml:5:8: probe 'a' is declared twice");
    }
}
