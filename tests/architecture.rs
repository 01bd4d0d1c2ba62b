//! The dependency direction stays visible: the pure core (src/app) does no I/O, reads no clock
//! and knows no backend's implementation or the runtime; the timeline (data and formats) never
//! calls the runtime or a backend; presets do not depend on backends. Checked on the source, so
//! a `use` that crosses a line fails here with the file and line.

use std::path::{Path, PathBuf};

fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    out
}

/// Lines of `files` (outside `#[cfg(test)]` modules and comments) that contain any of `banned`.
fn offences(files: &[PathBuf], banned: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(f).unwrap();
        for (n, line) in text.lines().enumerate() {
            if line.trim_start().starts_with("#[cfg(test)]") {
                break; // test modules come last and may build real backends
            }
            let code = line.split("//").next().unwrap_or("");
            for b in banned {
                if code.contains(b) {
                    out.push(format!("{}:{}: {b}: {}", f.display(), n + 1, line.trim()));
                }
            }
        }
    }
    out
}

fn src(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src").join(rel)
}

/// A backend's implementation (the types and data it shares, model and target, are fine).
const BACKEND_IMPLS: &[&str] = &["backend::sim", "backend::kube", "backend::docker", "dyn Backend", "backend::Backend"];

#[test]
fn the_core_is_pure() {
    let mut banned = vec![
        "crate::runtime",
        "crate::ui",
        "tokio",
        "std::fs",
        "std::net",
        "std::process",
        "std::thread",
        "Utc::now",
        "Local::now",
        "Instant::now",
        "SystemTime",
        "std::env",
    ];
    banned.extend(BACKEND_IMPLS);
    let found = offences(&sources(&src("app")), &banned);
    assert!(found.is_empty(), "src/app must stay pure:\n{}", found.join("\n"));
}

#[test]
fn the_timeline_never_calls_the_runtime_or_a_backend() {
    let mut banned = vec!["crate::runtime", "crate::ui", "crate::app", "tokio"];
    banned.extend(BACKEND_IMPLS);
    let found = offences(&sources(&src("timeline")), &banned);
    assert!(found.is_empty(), "src/timeline is data and formats:\n{}", found.join("\n"));
}

#[test]
fn presets_do_not_depend_on_backends() {
    let mut banned = vec!["crate::runtime", "crate::ui", "crate::app", "tokio"];
    banned.extend(BACKEND_IMPLS);
    let found = offences(&[src("config/preset.rs"), src("config/runsheet.rs")], &banned);
    assert!(found.is_empty(), "presets and run-sheets are data:\n{}", found.join("\n"));
}
