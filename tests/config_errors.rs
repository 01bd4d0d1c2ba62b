//! Bad input gets a clear error naming the file and line: every file in tests/invalid_presets
//! and tests/invalid_themes states (first line, `# expect: ...`) the error it must produce.

use std::path::Path;
use std::process::Command;

use gameday::config::preset::{load_presets, Preset};
use gameday::config::theme::Theme;
use gameday::config::ConfigError;

fn check_dir<T: std::fmt::Debug>(dir: &str, parse: impl Fn(&str, &str) -> Result<T, ConfigError>) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        let text = std::fs::read_to_string(&path).unwrap();
        let want = text.lines().next().and_then(|l| l.strip_prefix("# expect: ")).unwrap_or_else(|| {
            panic!("{name}: the first line must be `# expect: <error>`");
        });
        let err = parse(&name, &text).expect_err(&name).to_string();
        assert!(err.starts_with(want), "{name}:\n  want: {want}\n  got:  {err}");
        n += 1;
    }
    assert!(n >= 4, "{}: only {n} cases", dir.display());
}

#[test]
fn every_broken_preset_is_an_error_naming_file_line_and_problem() {
    check_dir("tests/invalid_presets", Preset::parse);
}

#[test]
fn every_broken_theme_is_an_error_naming_file_line_and_problem() {
    check_dir("tests/invalid_themes", Theme::parse);
}

#[test]
fn every_broken_run_sheet_is_an_error_at_load_naming_file_line_and_problem() {
    let presets = load_presets(None).unwrap();
    check_dir("tests/invalid_plans", |file, text| gameday::config::runsheet::RunSheet::parse_for(file, text, &presets));
}

#[test]
fn every_broken_session_file_is_an_error_naming_file_line_and_problem() {
    check_dir("tests/invalid_sessions", gameday::config::session_file::SessionConfig::parse);
}

#[test]
fn two_user_themes_with_one_name_are_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let theme = include_str!("../themes/default.toml").replace("name = \"default\"", "name = \"mine\"");
    std::fs::write(dir.path().join("a.toml"), &theme).unwrap();
    std::fs::write(dir.path().join("b.toml"), &theme).unwrap();
    let err = gameday::config::theme::load_themes(Some(dir.path())).unwrap_err().to_string();
    assert!(err.contains("a.toml") && err.contains("b.toml") && err.contains("theme 'mine'"), "{err}");
}

#[test]
fn a_fifo_or_a_directory_named_like_a_config_file_is_passed_over_with_a_warning_and_never_opened() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("blocked.toml");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    std::fs::create_dir(dir.path().join("folder.toml")).unwrap();
    std::fs::write(dir.path().join("mine.toml"), USER_PRESET).unwrap();
    // Opening the FIFO would block for ever: a hang here is the failure.
    let (presets, warnings) = gameday::config::preset::load_presets_warning(Some(dir.path())).unwrap();
    assert!(presets.iter().any(|p| p.name == "Pod delete (ours)"));
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(warnings[0].ends_with("blocked.toml: not a regular file, passed over"), "{warnings:?}");
}

const USER_PRESET: &str = r#"
id = "pod-delete"
name = "Pod delete (ours)"
description = "Our own pod-delete: two pods, shorter."
action = "pod-delete"
targets = ["workload"]
duration = "20s"
hypothesis = "Two replicas can go at once."

[params.count]
default = 2
min = 1
max = 5
"#;

#[test]
fn user_presets_override_built_ins_by_id_and_add_new_ones() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("mine.toml"), USER_PRESET).unwrap();
    std::fs::write(dir.path().join("extra.toml"), USER_PRESET.replace("\"pod-delete\"\nname", "\"carts-drill\"\nname"))
        .unwrap();
    let presets = load_presets(Some(dir.path())).unwrap();
    let ours = presets.iter().find(|p| p.id == "pod-delete").unwrap();
    assert_eq!(ours.name, "Pod delete (ours)");
    assert!(ours.source.ends_with("mine.toml"), "{}", ours.source);
    assert!(presets.iter().any(|p| p.id == "carts-drill"));
    assert!(presets.iter().any(|p| p.id == "pod-kill"), "the other built-ins stay");
}

#[test]
fn two_user_files_with_one_id_are_an_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.toml"), USER_PRESET).unwrap();
    std::fs::write(dir.path().join("b.toml"), USER_PRESET).unwrap();
    let err = load_presets(Some(dir.path())).unwrap_err().to_string();
    assert!(err.contains("a.toml") && err.contains("b.toml") && err.contains("'pod-delete'"), "{err}");
}

fn gameday(config: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_gameday"))
        .args(args)
        .env("GAMEDAY_CONFIG_DIR", config)
        .env("GAMEDAY_DATA_DIR", config.join("data"))
        .output()
        .unwrap()
}

#[test]
fn the_console_refuses_to_start_on_a_broken_preset_or_theme_and_says_where() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("presets")).unwrap();
    let broken = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/invalid_presets/bad-duration.toml");
    std::fs::copy(&broken, dir.path().join("presets/bad-duration.toml")).unwrap();
    let out = gameday(dir.path(), &["--demo"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("presets/bad-duration.toml:7:12: duration 'soon' is not a duration"), "{err}");
    assert!(!dir.path().join("data/sessions").exists(), "no session was started (the log may be written)");

    std::fs::remove_dir_all(dir.path().join("presets")).unwrap();
    std::fs::create_dir_all(dir.path().join("themes")).unwrap();
    let broken = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/invalid_themes/bad-colour.toml");
    std::fs::copy(&broken, dir.path().join("themes/bad-colour.toml")).unwrap();
    let err = String::from_utf8_lossy(&gameday(dir.path(), &["--demo"]).stderr).to_string();
    assert!(err.contains("themes/bad-colour.toml:6:11: 'greenish' is not a colour"), "{err}");

    std::fs::remove_dir_all(dir.path().join("themes")).unwrap();
    let out = gameday(dir.path(), &["--demo", "--theme", "neon"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unknown theme 'neon' (available: default, high-contrast, light)"), "{err}");
}
