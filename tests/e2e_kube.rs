//! End to end on Kubernetes: the real binary in a pseudo-terminal against the test API server
//! (real HTTP, the real kube client), driven like a person would; and a console killed -9 with a
//! fault live, whose fault another machine's `gameday cleanup` finds by its markers alone.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::laptops;
use common::pty::{journal_kinds, Console};

const T: Duration = Duration::from_secs(20);

fn console(home: tempfile::TempDir, kubeconfig: &Path, extra: &[&str]) -> Console {
    let kc = kubeconfig.to_str().unwrap().to_string();
    let mut args = vec!["--kubeconfig", kc.as_str()];
    args.extend_from_slice(extra);
    Console::start_in(home, &args, &[])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scale_a_deployment_to_zero_press_space_and_see_it_back() {
    let (server, kdir) = laptops::cluster(&[("shop", true), ("locked", false)], true).await;
    let kubeconfig = kdir.path().join("kubeconfig");
    let mut c = console(tempfile::tempdir().unwrap(), &kubeconfig, &["-n", "shop"]);
    c.wait_for("gameday · kubernetes · test", T);
    c.wait_for("carts          3/3 [svc carts 3/3 endpoints]", T);
    assert!(!c.screen().contains("locked"), "-n shop narrows the picture:\n{}", c.screen());

    c.command("inject scale-to-zero shop/carts");
    c.wait_for("FAULT LIVE #1 scale-to-zero → shop/carts", T);
    c.wait_for("scaled Deployment shop/carts from 3 to 0", T);
    c.wait_for("carts          0/0 [svc carts 0/0 endpoints] ◀ FAULT", T);
    assert_eq!(laptops::replicas(&server, "shop", "carts"), 0);
    let d = server.get("deployments", "shop", "carts").unwrap();
    assert_eq!(d["metadata"]["labels"]["gameday.dev/fault"], "1", "marked with the fault's number: {d}");
    assert!(d["metadata"]["annotations"]["gameday.dev/revert"].as_str().unwrap().contains("\"from\":3"), "{d}");

    // One fault at a time.
    c.command("inject pod-delete shop/front");
    c.wait_for("refused", T);
    assert_eq!(server.ready_pods("shop", "front"), 2);

    c.send(" ");
    c.wait_reverted(1, T);
    c.wait_gone("FAULT LIVE", T);
    assert_eq!(laptops::replicas(&server, "shop", "carts"), 3);
    c.wait_for("carts          3/3 [svc carts 3/3 endpoints]", T);
    assert!(server.get("deployments", "shop", "carts").unwrap()["metadata"]["labels"]
        .get("gameday.dev/fault")
        .is_none());

    let report = c.exported_report();
    assert!(report.contains("| 1 | scale-to-zero | shop/carts |"), "{report}");
    assert!(report.contains("shop/carts healthy > down"), "{report}");
    c.send("q");
    assert_eq!(c.wait_exit(T), 0);
    let kinds = journal_kinds(&c.journal());
    assert!(kinds.contains(&"revert_confirmed".to_string()), "{kinds:?}");
    common::rbac::assert_allowed(&server.requests());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_namespace_that_is_not_opened_is_refused_on_screen_and_untouched() {
    let (server, kdir) = laptops::cluster(&[("shop", true), ("locked", false)], true).await;
    let kubeconfig = kdir.path().join("kubeconfig");
    let mut c = console(tempfile::tempdir().unwrap(), &kubeconfig, &[]);
    c.wait_for("locked (off-limits to faults)", T);
    c.command("inject scale-to-zero locked/carts");
    c.wait_for("locked/carts is off-limits", T);
    assert!(!c.screen().contains("FAULT LIVE"));
    assert_eq!(laptops::replicas(&server, "locked", "carts"), 3);
    c.send("q");
    assert_eq!(c.wait_exit(T), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_outage_shows_disconnected_and_the_console_reconnects_by_itself() {
    let (server, kdir) = laptops::cluster(&[("shop", true), ("locked", false)], true).await;
    let mut c = console(tempfile::tempdir().unwrap(), &kdir.path().join("kubeconfig"), &["-n", "shop"]);
    c.wait_for("carts          3/3", T);
    server.offline(true);
    c.wait_for("DISCONNECTED from test", T);
    c.wait_for("STALE", T);
    assert!(c.screen().contains("carts          3/3"), "the last picture stays");
    server.offline(false);
    c.wait_gone("DISCONNECTED", T);
    c.wait_for("API server answers again", T);
    // And changes show again.
    let pods = server.list("pods", Some("shop"));
    let db = pods.iter().find(|p| p["metadata"]["labels"]["app"] == "db").unwrap();
    server.delete_now("pods", "shop", db["metadata"]["name"].as_str().unwrap());
    c.wait_for("shop/db healthy > down", T);
    c.wait_for("shop/db down > healthy", T);
    c.send("q");
    assert_eq!(c.wait_exit(T), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_console_killed_during_a_fault_leaves_markers_that_cleanup_elsewhere_reverts() {
    let (server, kdir) = laptops::cluster(&[("shop", true), ("locked", false)], true).await;
    let kubeconfig = kdir.path().join("kubeconfig");
    let mut c = console(tempfile::tempdir().unwrap(), &kubeconfig, &["-n", "shop"]);
    c.wait_for("carts          3/3", T);
    c.command("inject scale shop/front replicas=1");
    c.wait_for("FAULT LIVE #1 scale", T);
    c.wait_for("scaled Deployment shop/front from 2 to 1", T);
    c.signal("KILL");
    c.wait_exit(T);
    assert_eq!(laptops::replicas(&server, "shop", "front"), 1, "killed -9: nothing reverted it");

    // Another laptop: no journal, only the cluster's markers.
    let elsewhere = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_gameday"))
            .arg("cleanup")
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .args(args)
            .env("GAMEDAY_DATA_DIR", elsewhere.path().join("data"))
            .env("GAMEDAY_CONFIG_DIR", elsewhere.path().join("config"))
            .output()
            .expect("gameday cleanup");
        (out.status.code(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
    };
    let (code, listed) = run(&[]);
    assert_eq!(code, Some(0), "{listed}");
    assert!(listed.contains("fault #1: scaled Deployment shop/front from 2 to 1"), "{listed}");
    assert!(listed.contains("found in its markers on Deployment shop/front"), "{listed}");
    assert_eq!(laptops::replicas(&server, "shop", "front"), 1, "listing changes nothing");

    let (code, done) = run(&["--all"]);
    assert_eq!(code, Some(0), "{done}");
    // The dead console still held the cluster lock: seen silent for its lease, then taken over.
    assert!(done.contains("holds the cluster lock ("), "{done}");
    assert!(done.contains("took the cluster lock over from "), "{done}");
    assert!(done.contains("(confirmed"), "{done}");
    let lease = server.get("leases", "gameday", "gameday").expect("the lock");
    assert!(lease["spec"]["holderIdentity"].is_null(), "given back: {lease}");
    assert_eq!(laptops::replicas(&server, "shop", "front"), 2, "the saved replica count is back");
    // The cluster's own record says who reverted it, as the console's and the watchdog's do.
    let events = server.list_in("events.k8s.io", "events", Some("shop"));
    assert!(
        events.iter().any(|e| e["reason"] == "GamedayFaultReverted"
            && e["regarding"]["name"] == "front"
            && e["note"].as_str().unwrap_or_default().contains("fault #1")
            && e["note"].as_str().unwrap_or_default().contains("reverted by gameday-cleanup@")),
        "{events:#?}"
    );
    let (_, again) = run(&[]);
    assert!(again.contains("No fault was left behind"), "{again}");
    common::rbac::assert_allowed(&server.requests());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_confirmation_shows_what_prepare_found_and_a_litmus_verdict_ends_the_fault() {
    let (server, kdir) = laptops::cluster(&[("shop", true), ("locked", false)], true).await;
    server.install_litmus_with_operator("shop");
    let kubeconfig = kdir.path().join("kubeconfig");
    let home = tempfile::tempdir().unwrap();
    std::fs::write(
        home.path().join("plan.toml"),
        r#"title = "Kubernetes previews"
[[step]]
name = "a bad config"
preset = "config-corrupt"
target = "shop/carts"
[[step]]
name = "drain the node of the database"
preset = "node-drain"
target = "node/n1"
[[step]]
name = "Litmus deletes front's pods"
preset = "litmus-experiment"
target = "shop/front"
duration = "3s"
"#,
    )
    .unwrap();
    let mut c = console(home, &kubeconfig, &["--plan", "plan.toml"]);
    c.wait_for(":next starts step 1", T);
    // What prepare read, before anyone can confirm; and it changes nothing.
    c.command("next");
    c.wait_for("Prepare found will set DB_HOST=nonexistent.invalid in ConfigMap shop/carts-config", T);
    c.wait_for(r#"ConfigMap shop/carts-config, key DB_HOST: "db" becomes"#, T);
    c.wait_for("Deployment shop/carts reads it: carts: envFrom", T);
    c.press("\u{1b}");
    c.wait_gone("Inject this fault?", T);
    assert_eq!(server.get("configmaps", "shop", "carts-config").unwrap()["data"]["DB_HOST"], "db");
    c.command("skip not today");
    // A drain that would evict pods of a namespace closed to faults is refused in its confirmation.
    c.command("next");
    c.wait_for("Prepare found REFUSED: draining n1 would evict pods of locked", T);
    c.wait_for("[ Refused ]", T);
    c.press("\t");
    c.press("\r");
    c.wait_for("inject node-drain on node/n1 refused: draining n1 would evict pods of locked", T);
    assert!(server.get("nodes", "", "n1").unwrap()["spec"]["unschedulable"].is_null(), "nothing cordoned");
    c.command("skip refused");
    // Litmus: checked before, run to its end, its verdict read into the timeline and the report.
    c.command("next");
    c.wait_for("the Litmus operator runs (litmus/chaos-operator-ce-", T);
    c.press("\t");
    c.press("\r");
    c.wait_for("FAULT LIVE #1 litmus-experiment", T);
    c.wait_for("fault #1 runs to its own end", T);
    c.wait_for("verdict Pass", Duration::from_secs(30));
    c.wait_for("fault #1 finished by itself: Litmus pod-delete verdict Pass", T);
    c.wait_for("fault #1 revert confirmed", T);
    c.wait_gone("FAULT LIVE", T);
    assert!(server.list("chaosengines", Some("shop")).is_empty(), "tidied up");
    // front was down for less than a second (its pods replaced at once): still seen down, so
    // its recovery after the revert is seen and ends the step's observation; only then is its
    // outcome asked for (not at the end of the 30 s window, which a wait of 30 s would race).
    c.wait_for_entry("the hypothesis broken", |e| e["kind"] == "hypothesis_broken", T);
    c.wait_for_entry("the recovery", |e| e["kind"] == "steady_state_recovered", T);
    c.wait_outcome_asked(T);
    c.command("outcome held");
    c.wait_for_entry("the step's outcome", |e| e["kind"] == "step_outcome", T);
    let report = c.exported_report();
    assert!(report.contains("finished by itself: Litmus pod-delete verdict Pass"), "{report}");
    c.send("q");
    assert_eq!(c.wait_exit(T), 0);
    common::rbac::assert_allowed(&server.requests());
}
