//! A check over a probe's recent readings: `success >= 99%`, `p95 <= 300ms`, `value < 1`,
//! `latency <= 200ms`; its verdict is held, broken or unknown (never healthy by default).

use serde::{Deserialize, Serialize};

use super::probe::Reading;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Mean success over the window (checks count 1 or 0; the backend's rates as they are).
    Success,
    /// 95th percentile of the latencies in the window, ms.
    P95,
    /// The last latency, ms.
    Latency,
    /// The last value read (PromQL, ready replicas).
    Value,
    /// Requests per second, the last reading (a service's signals).
    Rps,
    /// CPU of a workload's pods, millicores, the last reading.
    Cpu,
    /// Memory of a workload's pods, bytes, the last reading.
    Memory,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    #[serde(rename = ">=")]
    Ge,
    #[serde(rename = "<=")]
    Le,
    #[serde(rename = ">")]
    Gt,
    #[serde(rename = "<")]
    Lt,
}

impl Op {
    fn holds(self, x: f64, t: f64) -> bool {
        match self {
            Op::Ge => x >= t,
            Op::Le => x <= t,
            Op::Gt => x > t,
            Op::Lt => x < t,
        }
    }

    fn symbol(self) -> &'static str {
        match self {
            Op::Ge => ">=",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Lt => "<",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Check {
    pub probe: String,
    pub metric: Metric,
    pub op: Op,
    /// Success as a fraction (99% is 0.99), latencies in ms.
    pub threshold: f64,
    /// The readings of the last `window_ms` count.
    pub window_ms: u64,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Verdict {
    Holds { reading: String },
    Broken { reading: String },
    Unknown { why: String },
}

impl Verdict {
    pub fn holds(&self) -> bool {
        matches!(self, Verdict::Holds { .. })
    }

    pub fn broken(&self) -> bool {
        matches!(self, Verdict::Broken { .. })
    }

    pub fn word(&self) -> &'static str {
        match self {
            Verdict::Holds { .. } => "holds",
            Verdict::Broken { .. } => "broken",
            Verdict::Unknown { .. } => "unknown",
        }
    }
}

impl Metric {
    fn name(self) -> &'static str {
        match self {
            Metric::Success => "success",
            Metric::P95 => "p95",
            Metric::Latency => "latency",
            Metric::Value => "value",
            Metric::Rps => "rps",
            Metric::Cpu => "cpu",
            Metric::Memory => "memory",
        }
    }

    fn show(self, x: f64) -> String {
        match self {
            Metric::Success => format!("{:.1}%", x * 100.0),
            Metric::P95 | Metric::Latency => format!("{x:.0} ms"),
            Metric::Value => format!("{x}"),
            Metric::Rps => format!("{x:.1}/s"),
            Metric::Cpu => format!("{x:.0}m"),
            Metric::Memory => bytes(x),
        }
    }
}

/// "500m" (millicores), "1.5" or "2 cores" (cores): millicores.
fn parse_cpu(s: &str) -> Option<f64> {
    let s = s.trim();
    if let Some(m) = s.strip_suffix('m') {
        return m.parse().ok();
    }
    let cores = s.strip_suffix("cores").or_else(|| s.strip_suffix("core")).unwrap_or(s);
    cores.trim().parse::<f64>().ok().map(|c| c * 1000.0)
}

/// "256Mi", "1Gi", "300MB", "512k", "1048576": bytes.
fn parse_bytes(s: &str) -> Option<f64> {
    let s = s.trim();
    let units: [(&str, f64); 10] = [
        ("Ki", 1024.0),
        ("Mi", 1024.0 * 1024.0),
        ("Gi", 1024.0 * 1024.0 * 1024.0),
        ("KB", 1e3),
        ("MB", 1e6),
        ("GB", 1e9),
        ("k", 1e3),
        ("K", 1e3),
        ("M", 1e6),
        ("G", 1e9),
    ];
    for (u, f) in units {
        if let Some(n) = s.strip_suffix(u) {
            return n.trim().parse::<f64>().ok().map(|n| n * f);
        }
    }
    s.strip_suffix('B').unwrap_or(s).trim().parse().ok()
}

/// Bytes as people read them: "312Mi", "1.5Gi".
pub fn bytes(x: f64) -> String {
    let units = [("Gi", 1024.0 * 1024.0 * 1024.0), ("Mi", 1024.0 * 1024.0), ("Ki", 1024.0)];
    for (u, f) in units {
        if x >= f {
            let v = x / f;
            return if v < 10.0 { format!("{v:.1}{u}") } else { format!("{v:.0}{u}") };
        }
    }
    format!("{x:.0}B")
}

impl std::fmt::Display for Check {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} {} {}", self.probe, self.metric.name(), self.op.symbol(), self.metric.show(self.threshold))
    }
}

impl Check {
    /// Parses "success >= 99%", "p95 <= 300ms", "latency < 1s", "value >= 1".
    pub fn parse(probe: &str, text: &str, window_ms: u64) -> Result<Check, String> {
        let words: Vec<&str> = text.split_whitespace().collect();
        let (metric, op, number) = match words.as_slice() {
            [m, o, n] => (*m, *o, n.to_string()),
            [m, o, n, unit] => (*m, *o, format!("{n}{unit}")),
            _ => {
                return Err(format!(
                    "'{text}' is not a check: write it as '<metric> <op> <threshold>', e.g. 'p95 <= 300ms'"
                ))
            }
        };
        let metric = match metric {
            "success" => Metric::Success,
            "p95" => Metric::P95,
            "latency" => Metric::Latency,
            "value" => Metric::Value,
            "rps" => Metric::Rps,
            "cpu" => Metric::Cpu,
            "memory" | "mem" => Metric::Memory,
            other => {
                return Err(format!("unknown metric '{other}' (success, p95, latency, value, rps, cpu or memory)"))
            }
        };
        let op = match op {
            ">=" => Op::Ge,
            "<=" => Op::Le,
            ">" => Op::Gt,
            "<" => Op::Lt,
            other => return Err(format!("unknown comparison '{other}' (>=, <=, > or <)")),
        };
        // A threshold no reading can meet (or always meets) protects nobody: refused, as are
        // NaN and infinity (the journal could not hold them).
        let finite = |x: f64| x.is_finite().then_some(x);
        let threshold = match metric {
            Metric::Success => match number.strip_suffix('%') {
                Some(p) => p.parse::<f64>().ok().and_then(finite).map(|p| p / 100.0),
                None => number.parse::<f64>().ok().and_then(finite),
            }
            .filter(|f| (0.0..=1.0).contains(f))
            .ok_or_else(|| format!("'{number}' is not a success rate between 0% and 100% (e.g. 99% or 0.99)"))?,
            Metric::P95 | Metric::Latency => {
                let ms = number.strip_suffix("ms").and_then(|n| n.parse::<f64>().ok());
                let s = || number.strip_suffix('s').and_then(|n| n.parse::<f64>().ok()).map(|s| s * 1000.0);
                ms.or_else(s)
                    .and_then(finite)
                    .filter(|ms| *ms >= 0.0)
                    .ok_or_else(|| format!("'{number}' is not a latency (e.g. 300ms or 1.5s)"))?
            }
            Metric::Value => number
                .parse::<f64>()
                .ok()
                .and_then(finite)
                .ok_or_else(|| format!("'{number}' is not a finite number"))?,
            Metric::Rps => number
                .trim_end_matches("/s")
                .parse::<f64>()
                .ok()
                .and_then(finite)
                .filter(|x| *x >= 0.0)
                .ok_or_else(|| format!("'{number}' is not a rate of requests (e.g. 10 or 10/s)"))?,
            Metric::Cpu => parse_cpu(&number)
                .and_then(finite)
                .filter(|x| *x >= 0.0)
                .ok_or_else(|| format!("'{number}' is not CPU (e.g. 500m or 1.5 cores)"))?,
            Metric::Memory => parse_bytes(&number)
                .and_then(finite)
                .filter(|x| *x >= 0.0)
                .ok_or_else(|| format!("'{number}' is not memory (e.g. 256Mi, 1Gi or 300MB)"))?,
        };
        Ok(Check { probe: probe.into(), metric, op, threshold, window_ms })
    }

    /// The verdict over `readings` (oldest first) at `now_ms`.
    pub fn verdict(&self, readings: &[Reading], now_ms: u64) -> Verdict {
        self.verdict_from(readings, now_ms, 0)
    }

    /// The verdict counting only readings from `floor_ms` on (e.g. since a revert).
    pub fn verdict_from(&self, readings: &[Reading], now_ms: u64, floor_ms: u64) -> Verdict {
        let from = now_ms.saturating_sub(self.window_ms).max(floor_ms);
        let recent: Vec<&Reading> = readings.iter().filter(|r| r.at_ms >= from && r.outcome.ok.is_some()).collect();
        let x = match self.metric {
            Metric::Success => {
                let v: Vec<f64> = recent.iter().filter_map(|r| r.outcome.success).collect();
                (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
            }
            Metric::P95 => {
                let mut v: Vec<f64> = recent.iter().filter_map(|r| r.outcome.latency_ms).collect();
                v.sort_by(f64::total_cmp);
                (!v.is_empty()).then(|| v[((v.len() as f64 * 0.95).ceil() as usize).clamp(1, v.len()) - 1])
            }
            Metric::Latency => recent.iter().rev().find_map(|r| r.outcome.latency_ms),
            Metric::Value => recent.iter().rev().find_map(|r| r.outcome.value),
            Metric::Rps => recent.iter().rev().find_map(|r| r.outcome.rps),
            Metric::Cpu => recent.iter().rev().find_map(|r| r.outcome.cpu_m),
            Metric::Memory => recent.iter().rev().find_map(|r| r.outcome.memory_bytes),
        };
        let Some(x) = x else {
            let why = match readings.iter().rev().find(|r| r.at_ms >= from) {
                Some(r) => format!("{}: {}", self.probe, r.outcome.detail),
                None => format!("{}: no reading yet", self.probe),
            };
            return Verdict::Unknown { why };
        };
        let reading = format!("{} {} {}", self.probe, self.metric.name(), self.metric.show(x));
        if self.op.holds(x, self.threshold) {
            Verdict::Holds { reading }
        } else {
            Verdict::Broken { reading }
        }
    }

    /// "<= 300 ms": the threshold as people write it.
    pub fn threshold_text(&self) -> String {
        format!("{} {}", self.op.symbol(), self.metric.show(self.threshold))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::probe::Outcome;

    fn r(at_ms: u64, ok: Option<bool>, latency: f64) -> Reading {
        Reading {
            at_ms,
            outcome: Outcome {
                probe: "front".into(),
                ok,
                success: ok.map(|o| if o { 1.0 } else { 0.0 }),
                latency_ms: ok.map(|_| latency),
                value: None,
                detail: "x".into(),
                reached: ok.is_some(),
                ..Default::default()
            },
        }
    }

    #[test]
    fn parses_what_people_write_and_names_what_is_wrong() {
        let c = Check::parse("front", "success >= 99%", 30_000).unwrap();
        assert_eq!((c.metric, c.op, c.threshold), (Metric::Success, Op::Ge, 0.99));
        assert_eq!(Check::parse("f", "p95 <= 300ms", 0).unwrap().threshold, 300.0);
        assert_eq!(Check::parse("f", "latency < 1.5s", 0).unwrap().threshold, 1500.0);
        assert_eq!(Check::parse("f", "p95 <= 300 ms", 0).unwrap().threshold, 300.0);
        assert_eq!(Check::parse("f", "value >= 1", 0).unwrap().op, Op::Ge);
        assert!(Check::parse("f", "errors < 3", 0).unwrap_err().contains("unknown metric 'errors'"));
        assert_eq!(Check::parse("f", "rps >= 10/s", 0).unwrap().threshold, 10.0);
        assert_eq!(Check::parse("f", "cpu <= 500m", 0).unwrap().threshold, 500.0);
        assert_eq!(Check::parse("f", "cpu <= 1.5", 0).unwrap().threshold, 1500.0);
        assert_eq!(Check::parse("f", "memory <= 256Mi", 0).unwrap().threshold, 256.0 * 1048576.0);
        assert_eq!(Check::parse("f", "mem < 1 GB", 0).unwrap().threshold, 1e9);
        assert!(Check::parse("f", "memory <= lots", 0).unwrap_err().contains("is not memory"));
        assert_eq!(Check::parse("f", "memory <= 256Mi", 0).unwrap().to_string(), "f memory <= 256Mi");
        assert!(Check::parse("f", "p95 == 3ms", 0).unwrap_err().contains("unknown comparison '=='"));
        assert!(Check::parse("f", "p95 <= fast", 0).unwrap_err().contains("not a latency"));
        assert!(Check::parse("f", "p95", 0).unwrap_err().contains("e.g. 'p95 <= 300ms'"));
        assert_eq!(c.to_string(), "front success >= 99.0%");
    }

    #[test]
    fn verdicts_over_the_window_and_unknown_without_readings() {
        let c = Check::parse("front", "success >= 90%", 10_000).unwrap();
        assert!(matches!(c.verdict(&[], 0), Verdict::Unknown { ref why } if why == "front: no reading yet"));
        let mut rs: Vec<Reading> = (0..10).map(|i| r(i * 1000, Some(true), 10.0)).collect();
        assert!(c.verdict(&rs, 9_000).holds());
        rs.push(r(10_000, Some(false), 10.0));
        rs.push(r(11_000, Some(false), 10.0));
        assert_eq!(c.verdict(&rs, 11_000), Verdict::Broken { reading: "front success 81.8%".into() });
        // Old readings leave the window.
        assert!(c.verdict(&rs, 40_000).word() == "unknown");
        // Readings that could not run are not counted as success.
        let unknown: Vec<Reading> = (0..5).map(|i| r(i * 1000, None, 0.0)).collect();
        assert!(matches!(c.verdict(&unknown, 4_000), Verdict::Unknown { ref why } if why == "front: x"));
        let p95 = Check::parse("front", "p95 <= 100ms", 10_000).unwrap();
        let mut slow: Vec<Reading> = (0..19).map(|i| r(i * 100, Some(true), 50.0)).collect();
        slow.push(r(1900, Some(true), 500.0));
        assert!(p95.verdict(&slow, 2000).holds(), "one slow reading in 20 is above the 95th percentile");
        slow.push(r(2000, Some(true), 500.0));
        assert!(p95.verdict(&slow, 2000).broken());
    }
}
