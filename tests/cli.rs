//! The command line as users meet it: `--help`, the shell completions and the man page, all
//! generated from the one CLI definition (snapshots), and a completion that really completes in
//! bash.

use std::process::Command;

fn gameday(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_gameday"))
        .args(args)
        .env_remove("GAMEDAY_LOG")
        .env("GAMEDAY_DATA_DIR", std::env::temp_dir().join("gameday-cli-test-data"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn help() {
    insta::assert_snapshot!("help", gameday(&["--help"]));
    insta::assert_snapshot!("run_help", gameday(&["run", "--help"]));
}

#[test]
fn completions() {
    for shell in ["bash", "zsh", "fish"] {
        insta::assert_snapshot!(format!("completions_{shell}"), gameday(&["completions", shell]));
    }
}

#[test]
fn man_page() {
    let page = gameday(&["man"]);
    assert!(page.starts_with(".ie \\n(.g .ds Aq"), "roff: {}", &page[..80]);
    insta::assert_snapshot!("man", page);
}

#[test]
fn an_unknown_shell_is_refused_naming_the_ones_there_are() {
    let out = Command::new(env!("CARGO_BIN_EXE_gameday")).args(["completions", "powershell"]).output().unwrap();
    // A usage error: 64, never 2 (which says a fault was left behind).
    assert_eq!(out.status.code(), Some(64));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("[possible values: bash, zsh, fish]"), "{stderr}");
}

/// Sources the bash script and asks it to complete `line` (the cursor at its end).
fn bash_complete(script: &str, words: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gameday.bash");
    std::fs::write(&path, script).unwrap();
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let line = words.join(" ");
    let cmd = format!(
        "source '{}'; COMP_WORDS=({}); COMP_CWORD={}; COMP_LINE='{line}'; COMP_POINT={}; \
         _gameday gameday '{}' '{}'; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        path.display(),
        quoted.join(" "),
        words.len() - 1,
        line.len(),
        words[words.len() - 1],
        words[words.len() - 2],
    );
    let out = Command::new("bash").args(["--norc", "-c", &cmd]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn the_bash_completion_completes_subcommands_and_run_flags() {
    let script = gameday(&["completions", "bash"]);
    let got = bash_complete(&script, &["gameday", "ru"]);
    assert_eq!(got.trim(), "run", "{got}");
    let got = bash_complete(&script, &["gameday", "run", "plan.toml", "--dr"]);
    assert_eq!(got.trim(), "--dry-run", "{got}");
    let got = bash_complete(&script, &["gameday", "completions", ""]);
    let words: Vec<&str> = got.split_whitespace().collect();
    for shell in ["bash", "zsh", "fish"] {
        assert!(words.contains(&shell), "{got}");
    }
    assert!(!words.contains(&"powershell"), "{got}");
}

#[test]
fn a_usage_error_is_never_read_as_a_fault_left_behind_and_help_is_no_error() {
    for args in [&["--bogus"][..], &["run"][..], &["run", "plan.toml", "--demo", "--report"][..]] {
        let out = Command::new(env!("CARGO_BIN_EXE_gameday")).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(64), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
    for args in [&["--help"][..], &["--version"][..], &["run", "--help"][..]] {
        let out = Command::new(env!("CARGO_BIN_EXE_gameday")).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}");
    }
}
