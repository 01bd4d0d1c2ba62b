//! Network faults through a helper container that shares the target's network namespace with
//! NET_ADMIN and runs iproute2's `tc`. The helper removes its qdisc by itself when the fault's
//! time is up (or when it is asked to stop), so the fault ends even if the console dies. These
//! are the command lines, as data; `faults.rs` runs them.

use crate::model::FaultSpec;

/// The network actions a helper carries out, and whether they need the netem qdisc (which not
/// every kernel has; `tbf` rate limiting is in every kernel).
pub const ACTIONS: &[(&str, bool)] = &[
    ("network-latency", true),
    ("network-loss", true),
    ("network-duplicate", true),
    ("network-corrupt", true),
    ("network-rate", false),
];

pub fn needs_netem(action: &str) -> bool {
    ACTIONS.iter().any(|(a, netem)| *a == action && *netem)
}

/// The qdisc a network fault installs on every interface of the target, e.g.
/// `netem delay 300ms 30ms` or `tbf rate 1000kbit burst 32kbit latency 400ms`.
pub fn qdisc(spec: &FaultSpec) -> Result<String, String> {
    let int = |n: &str, d: i64| spec.int(n).unwrap_or(d);
    Ok(match spec.action.as_str() {
        "network-latency" => match int("jitter_ms", 0) {
            0 => format!("netem delay {}ms", int("latency_ms", 300)),
            j => format!("netem delay {}ms {j}ms", int("latency_ms", 300)),
        },
        "network-loss" => format!("netem loss {}%", int("loss_percent", 30)),
        "network-duplicate" => format!("netem duplicate {}%", int("duplicate_percent", 20)),
        "network-corrupt" => format!("netem corrupt {}%", int("corrupt_percent", 5)),
        "network-rate" => {
            let rate = int("rate_kbit", 1000).max(8);
            // A bucket of at least one MTU-sized packet, and ~10 ms worth of the rate.
            let burst = (rate / 100).max(16);
            format!("tbf rate {rate}kbit burst {burst}kbit latency {}ms", int("queue_ms", 400))
        }
        other => return Err(format!("'{other}' is not a network fault")),
    })
}

/// Finds iproute2's `tc` by path: busybox's `sh` prefers its own `tc` applet, which can only show
/// qdiscs. Then lists the interfaces of the shared namespace (all but lo).
const PRELUDE: &str = r#"TC=
for t in /sbin/tc /usr/sbin/tc /bin/tc /usr/bin/tc; do
  [ -x "$t" ] && "$t" -V 2>/dev/null | grep -q iproute2 && TC=$t && break
done
[ -n "$TC" ] || { echo "gameday-netem: no iproute2 tc in this image" >&2; exit 3; }
IFACES=$(ls /sys/class/net | grep -v '^lo$')
clean() { for i in $IFACES; do "$TC" qdisc del dev "$i" root 2>/dev/null; done; }
"#;

/// What the helper prints once the qdisc is on every interface.
pub const APPLIED: &str = "gameday-netem: applied";

/// The helper's script: install `qdisc` on every interface, keep it for `seconds`, then remove
/// it; a TERM (revert) removes it at once. An interface that refuses the qdisc undoes the
/// others and fails with tc's message.
pub fn script(qdisc: &str, seconds: u64) -> String {
    format!(
        r#"{PRELUDE}for i in $IFACES; do
  "$TC" qdisc add dev "$i" root {qdisc} || {{ clean; exit 2; }}
done
echo "{APPLIED}"
trap 'clean; echo "gameday-netem: removed"; exit 0' TERM INT
sleep {seconds} &
wait $!
clean
echo "gameday-netem: expired, removed"
"#
    )
}

/// A one-shot script that removes whatever qdisc is on the target's interfaces (a revert when
/// the helper is gone, e.g. it was killed).
pub fn clean_script() -> String {
    format!("{PRELUDE}clean\necho \"gameday-netem: removed\"\n")
}

/// What the probe prints once the image's tc has answered.
pub const TC_OK: &str = "tc: ok";

/// A one-shot script (run with no network) that tells whether the image has an iproute2 `tc`
/// that runs, and whether this kernel has the netem qdisc.
pub const PROBE: &str = r#"TC=
for t in /sbin/tc /usr/sbin/tc /bin/tc /usr/bin/tc; do
  [ -x "$t" ] && "$t" -V 2>/dev/null | grep -q iproute2 && TC=$t && break
done
[ -n "$TC" ] || { echo "gameday-netem: no iproute2 tc in this image"; exit 3; }
"$TC" qdisc show dev lo >/dev/null 2>&1 || { "$TC" qdisc show dev lo 2>&1; exit 4; }
echo "tc: ok"
"$TC" qdisc add dev lo root netem delay 1ms 2>&1 && "$TC" qdisc del dev lo root && echo "netem: ok"
"#;

/// Turns tc's complaint into something a person can act on.
pub fn explain(output: &str, image: &str) -> String {
    let out = output.trim();
    if out.contains("Specified qdisc kind is unknown") {
        "this Docker host's kernel has no netem qdisc (CONFIG_NET_SCH_NETEM is not set): latency, loss, \
         duplicate and corrupt cannot be injected here; network-rate (tbf) works"
            .to_string()
    } else if out.contains("Operation not permitted") {
        "the helper was not allowed to change the network (NET_ADMIN refused by the engine)".to_string()
    } else if out.contains("no iproute2 tc") {
        format!("the helper image {image} has no iproute2 tc (pass --netem-image with one that has)")
    } else if out.is_empty() {
        "the helper exited without a word".to_string()
    } else {
        format!("tc said: {}", out.lines().last().unwrap_or(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ParamValue;

    fn spec(action: &str, params: &[(&str, i64)]) -> FaultSpec {
        FaultSpec {
            fault_id: 1,
            session: "s".into(),
            preset: action.into(),
            action: action.into(),
            target: "shop/web".parse().unwrap(),
            params: params.iter().map(|(k, v)| (k.to_string(), ParamValue::Int(*v))).collect(),
            duration_ms: 60_000,
            pods: Vec::new(),
            mode: None,
        }
    }

    #[test]
    fn each_network_fault_is_one_qdisc_line() {
        assert_eq!(
            qdisc(&spec("network-latency", &[("latency_ms", 90), ("jitter_ms", 10)])).unwrap(),
            "netem delay 90ms 10ms"
        );
        assert_eq!(
            qdisc(&spec("network-latency", &[("latency_ms", 90), ("jitter_ms", 0)])).unwrap(),
            "netem delay 90ms"
        );
        assert_eq!(qdisc(&spec("network-loss", &[("loss_percent", 30)])).unwrap(), "netem loss 30%");
        assert_eq!(qdisc(&spec("network-duplicate", &[("duplicate_percent", 5)])).unwrap(), "netem duplicate 5%");
        assert_eq!(qdisc(&spec("network-corrupt", &[("corrupt_percent", 2)])).unwrap(), "netem corrupt 2%");
        assert_eq!(
            qdisc(&spec("network-rate", &[("rate_kbit", 1000)])).unwrap(),
            "tbf rate 1000kbit burst 16kbit latency 400ms"
        );
        assert!(qdisc(&spec("container-kill", &[])).is_err());
        assert!(needs_netem("network-loss") && !needs_netem("network-rate"));
    }

    #[test]
    fn the_helper_cleans_up_on_expiry_and_on_term_and_undoes_a_partial_install() {
        let s = script("netem delay 90ms", 120);
        assert!(s.contains(r#""$TC" qdisc add dev "$i" root netem delay 90ms || { clean; exit 2; }"#), "{s}");
        assert!(s.contains("trap 'clean;"), "{s}");
        assert!(s.contains("sleep 120 &\nwait $!\nclean\n"), "{s}");
        let applied = s.find(APPLIED).unwrap();
        assert!(applied > s.find("qdisc add").unwrap() && applied < s.find("trap").unwrap());
        assert!(clean_script().ends_with("clean\necho \"gameday-netem: removed\"\n"));
    }

    #[test]
    fn tc_errors_become_reasons() {
        let e = explain("Error: Specified qdisc kind is unknown.\n", "img");
        assert!(e.contains("no netem qdisc") && e.contains("network-rate (tbf) works"), "{e}");
        assert!(explain("gameday-netem: no iproute2 tc in this image", "img:1").contains("img:1 has no iproute2 tc"));
        assert_eq!(explain("RTNETLINK answers: File exists\n", "i"), "tc said: RTNETLINK answers: File exists");
    }
}
