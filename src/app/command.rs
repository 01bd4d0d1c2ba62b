//! The `:` command line: parsing typed commands into data.

use std::path::PathBuf;

use crate::config::session_file::Stop;
use crate::model::check::Check;
use crate::model::probe::{ProbeKind, ProbeSpec};

#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    /// `:inject <preset-id> <target> [name=value ...]` (`duration=90s` sets the duration)
    Inject {
        preset: String,
        target: String,
        params: Vec<(String, String)>,
    },
    Abort,
    Note(String),
    Export(Option<PathBuf>),
    Theme(String),
    Quit,
    Help,
    /// `:probe <name> http <url> [status] | tcp <host:port> | promql <prometheus-url> <query>
    /// | service <ns/name> | ready <ns/name>`
    Probe(ProbeSpec),
    /// `:stop <probe> <metric> <op> <threshold> [for <duration>] [over <duration>]`
    Stop(Stop),
    /// `:expect <probe> <metric> <op> <threshold> [over <duration>]`: a check of the hypothesis
    Expect(Check),
    /// `:next`: the run-sheet's next step
    Next,
    /// `:outcome held|broken|partial [note]`
    Outcome {
        verdict: String,
        note: String,
    },
    /// `:skip <reason>`
    Skip(String),
    /// A drill responder's `:detected [note]`, `:mitigated [note]`.
    Mark(crate::timeline::Mark, String),
    /// `:reveal`: the facilitator shows the drill's responders the faults.
    Reveal,
    /// `:drill`: how a responder joins this session, on this machine and on another.
    Drill,
    /// `:title <text>`: the session's title (a plain session; a run-sheet has its own).
    Title(String),
    /// `:who <name> [role], ...`: who takes part, e.g. `:who Ana facilitator, Ben operator`.
    Who(Vec<(String, String)>),
    /// `:alert <name> fired|silent [note]`: an alert ticked as fired or not, now.
    Alert {
        name: String,
        fired: bool,
        note: String,
    },
    /// `:action [@owner] [due:YYYY-MM-DD] <text>`: an action item.
    Action(crate::timeline::ActionItem),
    /// `:extend <duration>` (> 0) or `:shorten <duration>` (< 0) the live fault, in ms.
    Resize(i64),
}

pub const USAGE: &str = ":inject <preset> <target> [name=value...] · :abort · :note <text> · :export [path] · \
     :probe <name> <kind> <what> · :expect <probe> <check> · :stop <probe> <check> [for <d>] · :next · \
     :outcome held|broken|partial [note] · :skip <reason> · :reveal · :detected [note] · :mitigated [note] · \
     :title <text> · :who <name> [role], ... · :alert <name> fired|silent [note] · \
     :action [@owner] [due:YYYY-MM-DD] <text> · :extend <duration> · :shorten <duration> · :theme <name> · :quit";

const PROBE_USAGE: &str =
    "usage: :probe <name> http <url> [status] | tcp <host:port> | service-http <ns/service:port/path> [status] \
     | promql <prometheus-url> <query> | service <ns/name> | ready <ns/name>";
const STOP_USAGE: &str = "usage: :stop <probe> <metric> <op> <threshold> [for <duration>] [over <duration>], \
     e.g. :stop front p95 <= 300ms for 10s";

fn probe(args: &[&str], rest: &str) -> Result<Command, String> {
    let kind = match args {
        [_, "http", url] | [_, "http", url, _] => {
            crate::model::probe::check_url(url).map_err(|e| format!("'{url}' {e}"))?;
            let expect_status = match args.get(3) {
                Some(s) => s.parse().map_err(|_| format!("'{s}' is not an HTTP status"))?,
                None => 200,
            };
            ProbeKind::Http { url: url.to_string(), expect_status }
        }
        [_, "tcp", addr] if addr.rsplit_once(':').is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok()) => {
            ProbeKind::Tcp { addr: addr.to_string() }
        }
        [_, "promql", url, _, ..] => {
            crate::model::probe::check_url(url).map_err(|e| format!("'{url}' {e}"))?;
            let query = rest.splitn(4, char::is_whitespace).nth(3).unwrap_or_default().trim().to_string();
            ProbeKind::Promql { prometheus: url.to_string(), query }
        }
        [_, "service-http", target] | [_, "service-http", target, _] => {
            let (service, port, path) = crate::model::probe::parse_service_http(target)?;
            let expect_status = match args.get(3) {
                Some(s) => s.parse().map_err(|_| format!("'{s}' is not an HTTP status"))?,
                None => 200,
            };
            ProbeKind::ServiceHttp { service, port, path, expect_status }
        }
        [_, "service", svc] if svc.contains('/') => ProbeKind::Service { service: svc.to_string() },
        [_, "ready", w] if w.contains('/') => ProbeKind::Ready { workload: w.to_string() },
        _ => return Err(PROBE_USAGE.into()),
    };
    Ok(Command::Probe(ProbeSpec { name: args[0].to_string(), kind, interval_ms: 1000, timeout_ms: 2000 }))
}

const EXPECT_USAGE: &str = "usage: :expect <probe> <metric> <op> <threshold> [over <duration>], \
     e.g. :expect front success >= 99% over 30s";

fn expect(args: &[&str]) -> Result<Command, String> {
    if args.contains(&"for") {
        return Err(format!("a check of the hypothesis has no hold time ('for'): {EXPECT_USAGE}"));
    }
    match stop(args, 30_000, EXPECT_USAGE)? {
        Command::Stop(st) => Ok(Command::Expect(st.check)),
        other => Ok(other),
    }
}

fn stop(args: &[&str], default_window_ms: u64, usage: &str) -> Result<Command, String> {
    let (probe, rest) = args.split_first().ok_or(usage)?;
    let mut check = Vec::new();
    let (mut hold_ms, mut window_ms) = (0, default_window_ms);
    let mut it = rest.iter();
    while let Some(w) = it.next() {
        match *w {
            "for" | "over" => {
                let d = it.next().ok_or(usage)?;
                let ms = humantime::parse_duration(d).map_err(|e| format!("'{d}' is not a duration: {e}"))?.as_millis()
                    as u64;
                if *w == "for" {
                    hold_ms = ms;
                } else {
                    window_ms = ms;
                }
            }
            other => check.push(other),
        }
    }
    if check.is_empty() {
        return Err(usage.into());
    }
    let check = Check::parse(probe, &check.join(" "), window_ms)?;
    Ok(Command::Stop(Stop { check, hold_ms }))
}

const WHO_USAGE: &str = "usage: :who <name> [role], ..., e.g. :who Ana facilitator, Ben operator, Cy";

/// `Ana facilitator, Ben operator, Cy`: names, each with a role (a participant by default).
fn who(rest: &str) -> Result<Command, String> {
    let mut people = Vec::new();
    for part in rest.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, role) = match part.rsplit_once(char::is_whitespace) {
            Some((name, role)) if crate::config::runsheet::ROLES.contains(&role) => (name.trim(), role),
            _ => (part, "participant"),
        };
        people.push((name.to_string(), role.to_string()));
    }
    if people.is_empty() {
        return Err(WHO_USAGE.into());
    }
    Ok(Command::Who(people))
}

pub fn parse(line: &str) -> Result<Command, String> {
    let line = line.trim().trim_start_matches(':').trim_start();
    let (word, rest) = match line.split_once(char::is_whitespace) {
        Some((w, r)) => (w, r.trim()),
        None => (line, ""),
    };
    let args: Vec<&str> = rest.split_whitespace().collect();
    match word {
        "" => Err(format!("type a command: {USAGE}")),
        "inject" | "i" => match args.as_slice() {
            [preset, target, params @ ..] => {
                let params = params
                    .iter()
                    .map(|p| {
                        p.split_once('=')
                            .filter(|(k, v)| !k.is_empty() && !v.is_empty())
                            .map(|(k, v)| (k.to_string(), v.to_string()))
                            .ok_or_else(|| format!("'{p}' is not name=value"))
                    })
                    .collect::<Result<_, _>>()?;
                Ok(Command::Inject { preset: preset.to_string(), target: target.to_string(), params })
            }
            _ => {
                Err("usage: :inject <preset-id> <target> [name=value ...], e.g. :inject pod-delete sock-shop/carts"
                    .into())
            }
        },
        "abort" => Ok(Command::Abort),
        "note" if rest.is_empty() => Err("usage: :note <text>".into()),
        "note" => Ok(Command::Note(rest.to_string())),
        "export" => Ok(Command::Export((!rest.is_empty()).then(|| PathBuf::from(rest)))),
        "theme" if args.len() == 1 => Ok(Command::Theme(args[0].to_string())),
        "theme" => Err("usage: :theme <name>".into()),
        "quit" | "q" => Ok(Command::Quit),
        "help" => Ok(Command::Help),
        "probe" => probe(&args, rest),
        "stop" => stop(&args, 10_000, STOP_USAGE),
        "expect" => expect(&args),
        "next" => Ok(Command::Next),
        "outcome" => match args.first() {
            Some(v) => Ok(Command::Outcome {
                verdict: v.to_string(),
                note: rest.split_once(char::is_whitespace).map(|(_, n)| n.trim().to_string()).unwrap_or_default(),
            }),
            None => Err("usage: :outcome held|broken|partial [note]".into()),
        },
        "skip" if rest.is_empty() => Err("usage: :skip <reason>".into()),
        "skip" => Ok(Command::Skip(rest.to_string())),
        "detected" => Ok(Command::Mark(crate::timeline::Mark::Detected, rest.to_string())),
        "mitigated" => Ok(Command::Mark(crate::timeline::Mark::Mitigated, rest.to_string())),
        "reveal" => Ok(Command::Reveal),
        "drill" => Ok(Command::Drill),
        "title" if rest.is_empty() => Err("usage: :title <text>".into()),
        "title" => Ok(Command::Title(rest.to_string())),
        "who" => who(rest),
        "alert" => {
            match args.as_slice() {
                [name, word, ..] if matches!(*word, "fired" | "silent") => Ok(Command::Alert {
                    name: name.to_string(),
                    fired: *word == "fired",
                    note: rest.splitn(3, char::is_whitespace).nth(2).unwrap_or_default().trim().to_string(),
                }),
                _ => Err("usage: :alert <name> fired|silent [note], e.g. :alert CartsHighLatency fired paged at 10:42"
                    .into()),
            }
        }
        "extend" | "shorten" => {
            let usage = || format!("usage: :{word} <duration>, e.g. :{word} 2m");
            let [d] = args.as_slice() else { return Err(usage()) };
            let ms = humantime::parse_duration(d).map_err(|e| format!("'{d}' is not a duration: {e}"))?.as_millis();
            let ms = i64::try_from(ms).ok().filter(|ms| *ms > 0 && *ms <= 24 * 3_600_000).ok_or_else(usage)?;
            Ok(Command::Resize(if word == "extend" { ms } else { -ms }))
        }
        "action" => {
            let item = crate::timeline::ActionItem::parse(rest)?;
            match item.text.is_empty() {
                true => Err("usage: :action [@owner] [due:YYYY-MM-DD] <text>, e.g. :action @ben due:2026-12-14 alert on carts' p95".into()),
                false => Ok(Command::Action(item)),
            }
        }
        other => Err(format!("unknown command '{other}': {USAGE}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_commands() {
        assert_eq!(
            parse(":inject pod-delete sock-shop/carts count=2").unwrap(),
            Command::Inject {
                preset: "pod-delete".into(),
                target: "sock-shop/carts".into(),
                params: vec![("count".into(), "2".into())]
            }
        );
        assert_eq!(parse("abort").unwrap(), Command::Abort);
        assert_eq!(parse("note  the pager  fired ").unwrap(), Command::Note("the pager  fired".into()));
        assert_eq!(parse("export").unwrap(), Command::Export(None));
        assert_eq!(parse("export /tmp/r.md").unwrap(), Command::Export(Some("/tmp/r.md".into())));
        assert_eq!(parse("theme light").unwrap(), Command::Theme("light".into()));
        assert_eq!(parse("quit").unwrap(), Command::Quit);
        assert_eq!(parse("title Thursday: carts").unwrap(), Command::Title("Thursday: carts".into()));
        assert_eq!(
            parse("who Ana Lima facilitator, Ben operator, Cy").unwrap(),
            Command::Who(vec![
                ("Ana Lima".into(), "facilitator".into()),
                ("Ben".into(), "operator".into()),
                ("Cy".into(), "participant".into())
            ])
        );
        assert!(parse("who").unwrap_err().starts_with("usage: :who"));
        assert_eq!(
            parse("alert CartsHighLatency fired paged at  10:42").unwrap(),
            Command::Alert { name: "CartsHighLatency".into(), fired: true, note: "paged at  10:42".into() }
        );
        assert_eq!(
            parse("alert CartsErrors silent").unwrap(),
            Command::Alert { name: "CartsErrors".into(), fired: false, note: String::new() }
        );
        assert!(parse("alert CartsErrors maybe").unwrap_err().starts_with("usage: :alert"));
        assert!(parse("alert").unwrap_err().starts_with("usage: :alert"));
        let item = |owner: &str, due: Option<&str>, text: &str| {
            Command::Action(crate::timeline::ActionItem {
                owner: owner.into(),
                due: due.map(str::to_string),
                text: text.into(),
            })
        };
        assert_eq!(
            parse("action @ben due:2026-12-14 alert on carts' p95").unwrap(),
            item("ben", Some("2026-12-14"), "alert on carts' p95")
        );
        assert_eq!(parse("action due:2026-1-5 @ana  fix it").unwrap(), item("ana", Some("2026-01-05"), "fix it"));
        // Only the leading words are the owner and the date; the item may name others.
        assert_eq!(parse("action ask @cy about due:soon").unwrap(), item("", None, "ask @cy about due:soon"));
        assert!(parse("action @ben due:friday x").unwrap_err().contains("due:friday is not a date"));
        assert!(parse("action @ben due:2026-12-14").unwrap_err().starts_with("usage: :action"));
        assert!(parse("action").unwrap_err().starts_with("usage: :action"));
        assert_eq!(parse("extend 2m").unwrap(), Command::Resize(120_000));
        assert_eq!(parse("shorten 1m 30s").unwrap_err(), "usage: :shorten <duration>, e.g. :shorten 2m");
        assert_eq!(parse("shorten 90s").unwrap(), Command::Resize(-90_000));
        assert!(parse("extend soon").unwrap_err().contains("'soon' is not a duration"));
        assert!(parse("extend 0s").unwrap_err().starts_with("usage: :extend"));
        assert!(parse("extend").unwrap_err().starts_with("usage: :extend"));
    }

    #[test]
    fn bad_commands_say_what_is_wrong() {
        assert!(parse("inject pod-delete").unwrap_err().contains("usage: :inject"));
        assert!(parse("inject a b c").unwrap_err().contains("'c' is not name=value"));
        assert!(parse("frobnicate").unwrap_err().contains("unknown command 'frobnicate'"));
        assert!(parse("note").unwrap_err().contains("usage: :note"));
        assert_eq!(parse("probe x http ftp://a").unwrap_err(), "'ftp://a' is not an http(s):// URL");
        assert!(parse("probe x http http://host:99999/").unwrap_err().contains("invalid port number"));
        assert!(parse("probe x http notaurl").unwrap_err().contains("is not a URL"));
        assert!(parse("probe x tcp host").unwrap_err().contains("usage: :probe"));
        assert!(parse("stop front p95 <= fast").unwrap_err().contains("not a latency"));
        assert!(parse("stop front").unwrap_err().contains("usage: :stop"));
    }

    #[test]
    fn probes_and_stop_conditions_from_the_command_line() {
        let Command::Probe(p) = parse("probe shop http http://127.0.0.1:8080/health 204").unwrap() else { panic!() };
        assert_eq!(p.kind, ProbeKind::Http { url: "http://127.0.0.1:8080/health".into(), expect_status: 204 });
        let Command::Probe(p) = parse("probe up promql http://127.0.0.1:9090 min(up{job=\"a b\"})").unwrap() else {
            panic!()
        };
        assert_eq!(
            p.kind,
            ProbeKind::Promql { prometheus: "http://127.0.0.1:9090".into(), query: "min(up{job=\"a b\"})".into() }
        );
        let Command::Probe(p) = parse("probe front service-http sock-shop/front-end:http/health?deep=1 204").unwrap()
        else {
            panic!()
        };
        assert_eq!(
            p.kind,
            ProbeKind::ServiceHttp {
                service: "sock-shop/front-end".into(),
                port: "http".into(),
                path: "/health?deep=1".into(),
                expect_status: 204
            }
        );
        assert!(parse("probe front service-http front-end:80/health").unwrap_err().contains("namespace/service:port"));
        assert!(parse("probe front service-http shop/front/health").unwrap_err().contains("namespace/service:port"));
        let Command::Stop(st) = parse("stop front p95 <= 300ms for 10s over 5s").unwrap() else { panic!() };
        assert_eq!((st.hold_ms, st.check.window_ms, st.check.threshold), (10_000, 5_000, 300.0));
        let Command::Expect(c) = parse("expect front success >= 99% over 1m").unwrap() else { panic!() };
        assert_eq!((c.window_ms, c.threshold), (60_000, 0.99));
        assert!(parse("expect front p95 < 1s for 3s").unwrap_err().contains("no hold time"));
    }
}
