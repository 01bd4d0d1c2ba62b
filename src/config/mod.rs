//! What the console is configured with: presets, run-sheets, themes and session files (TOML,
//! each error naming its file and line), where files live (config and data directories), and
//! who is at this console.

pub mod contrast;
pub mod preset;
pub mod runsheet;
pub mod session_file;
pub mod theme;

use std::path::{Path, PathBuf};

use directories::ProjectDirs;

#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum ConfigError {
    #[error("{file}:{line}:{col}: {msg}")]
    At { file: String, line: usize, col: usize, msg: String },
    #[error("{0}")]
    Io(String),
}

impl ConfigError {
    /// An error at a byte offset of a file's text, said as `file:line:col: msg`.
    pub fn at(file: &str, text: &str, offset: usize, msg: impl Into<String>) -> Self {
        let (line, col) = position(text, offset);
        ConfigError::At { file: file.to_string(), line, col, msg: msg.into() }
    }

    pub fn from_toml(file: &str, text: &str, e: &toml::de::Error) -> Self {
        ConfigError::at(file, text, e.span().map(|s| s.start).unwrap_or(0), e.message().trim())
    }
}

/// 1-based line and column of a byte offset.
pub fn position(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map(|l| l.chars().count()).unwrap_or(0) + 1;
    (line, col)
}

/// A file's text and its name for error messages. Only a regular file is read (a FIFO or a
/// device would block or never end); text that is not UTF-8 is an error naming its line.
/// The longest duration a config file may give (a fault, a window, an interval): a day.
pub const MAX_DURATION: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// A duration as config files write it (`30s`, `2m`, `1h 30m`), at most `MAX_DURATION`; else
/// what is wrong with it.
pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let d = humantime::parse_duration(s).map_err(|e| format!("'{s}' is not a duration like 30s or 2m: {e}"))?;
    if d > MAX_DURATION {
        return Err(format!(
            "'{s}' is longer than the most gameday takes ({})",
            humantime::format_duration(MAX_DURATION)
        ));
    }
    Ok(d)
}

/// The most a config file (a preset, theme, run-sheet, session file, config.toml) may hold.
pub const CONFIG_LIMIT: u64 = 4 * 1024 * 1024;

pub fn read_text(path: &Path) -> Result<(String, String), ConfigError> {
    let name = path.display().to_string();
    let bytes = crate::files::read_regular(path, CONFIG_LIMIT).map_err(|e| ConfigError::Io(format!("{name}: {e}")))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        let good = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = good.iter().filter(|b| **b == b'\n').count() + 1;
        let col =
            good.rsplit(|b| *b == b'\n').next().map(|l| String::from_utf8_lossy(l).chars().count()).unwrap_or(0) + 1;
        ConfigError::At { file: name.clone(), line, col, msg: "not UTF-8 text".into() }
    })?;
    Ok((name, text))
}

/// What loading passed over, one line each, naming the file.
pub type Warnings = Vec<String>;

/// Every `*.toml` in `dir` (sorted), or nothing if the directory does not exist. A name that
/// is not a regular file (a FIFO, a device, a directory) is passed over, with a warning in the
/// second list, and never opened.
pub fn load_toml_dir(dir: &Path) -> Result<(Vec<(PathBuf, String)>, Warnings), ConfigError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), Vec::new())),
        Err(e) => return Err(ConfigError::Io(format!("{}: {e}", dir.display()))),
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    paths.sort();
    let mut files = Vec::new();
    let mut warnings = Vec::new();
    for p in paths {
        if !std::fs::metadata(&p).is_ok_and(|m| m.is_file()) {
            warnings.push(format!("{}: not a regular file, passed over", p.display()));
            continue;
        }
        let (_, text) = read_text(&p)?;
        files.push((p, text));
    }
    Ok((files, warnings))
}

/// An id or name from a config file (a preset id, a parameter, a theme): letters, digits, `-`,
/// `_` and `.`, so that it can be typed on the command line and never carries control
/// characters or escape sequences. The message says what is wrong (`what` names it).
pub fn check_name(what: &str, name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err(format!("{what} is empty"));
    }
    match name.chars().find(|c| !(c.is_alphanumeric() || matches!(c, '-' | '_' | '.'))) {
        Some(c) => Err(format!("{what} {name:?} has {c:?} in it: use letters, digits, '-', '_' and '.'")),
        None => Ok(()),
    }
}

/// `<config>/config.toml`: settings of the person at this console.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Who is at this console.
    pub user: Option<String>,
    /// The Prometheus to read golden signals from (a URL).
    pub prometheus: Option<String>,
}

/// `<config>/config.toml`, or the defaults when there is none; an error names the file and line.
pub fn settings(config_dir: &Path) -> Result<Settings, ConfigError> {
    settings_warning(config_dir).map(|(s, _)| s)
}

/// `settings`, with a warning when `config.toml` is there but no regular file (a FIFO, a
/// device, a directory): passed over, never opened, as presets and themes are.
pub fn settings_warning(config_dir: &Path) -> Result<(Settings, Warnings), ConfigError> {
    let path = config_dir.join("config.toml");
    match std::fs::metadata(&path) {
        Ok(m) if !m.is_file() => {
            Ok((Settings::default(), vec![format!("{}: not a regular file, passed over", path.display())]))
        }
        Ok(_) => {
            let (file, text) = read_text(&path)?;
            let settings: Settings = toml::from_str(&text).map_err(|e| ConfigError::from_toml(&file, &text, &e))?;
            if let Some(url) = &settings.prometheus {
                crate::model::probe::check_url(url).map_err(|e| {
                    let at = text.find("prometheus").unwrap_or(0);
                    ConfigError::at(&file, &text, at, format!("prometheus = \"{url}\" {e}"))
                })?;
            }
            Ok((settings, Vec::new()))
        }
        Err(_) => Ok((Settings::default(), Vec::new())),
    }
}

/// Who is at this console, for the notes they write: `--user`, else the config file's `user`,
/// else the login name ($USER, $LOGNAME); a word without control characters.
pub fn user(given: Option<&str>, config_dir: &Path) -> Result<String, ConfigError> {
    let from_file = settings(config_dir)?.user;
    let login = || std::env::var("USER").or_else(|_| std::env::var("LOGNAME")).ok().filter(|n| !n.trim().is_empty());
    // A console started with no $USER (a container, cron, `env -i`) still signs what it writes.
    let name = given.map(str::to_string).or(from_file).or_else(login).unwrap_or_else(account);
    let name = crate::text::one_line(&name).trim().to_string();
    Ok(name)
}

/// This process's account: its name in the password database, else `uid N`.
fn account() -> String {
    // SAFETY: getuid cannot fail; getpwuid_r writes only into the buffers given, and the name
    // is copied out before they go.
    let uid = unsafe { libc::getuid() };
    let mut pw: libc::passwd = unsafe { std::mem::zeroed() };
    let mut found: *mut libc::passwd = std::ptr::null_mut();
    let mut buf = vec![0 as libc::c_char; 4096];
    let rc = unsafe { libc::getpwuid_r(uid, &mut pw, buf.as_mut_ptr(), buf.len(), &mut found) };
    if rc == 0 && !found.is_null() && !pw.pw_name.is_null() {
        // SAFETY: pw_name points into `buf`, NUL-terminated, while `buf` lives.
        let name = unsafe { std::ffi::CStr::from_ptr(pw.pw_name) }.to_string_lossy().into_owned();
        if !name.is_empty() {
            return name;
        }
    }
    format!("uid {uid}")
}

/// The directories gameday reads and writes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dirs {
    /// User presets in `presets/`, user themes in `themes/`.
    pub config: PathBuf,
    /// Session journals and reports in `sessions/`.
    pub data: PathBuf,
}

impl Dirs {
    /// `GAMEDAY_CONFIG_DIR` / `GAMEDAY_DATA_DIR` when set, else the platform's directories
    /// (on Linux `~/.config/gameday` and `~/.local/share/gameday`).
    pub fn from_env() -> anyhow::Result<Dirs> {
        let project = ProjectDirs::from("dev", "gameday", "gameday");
        let pick = |var: &str, fallback: Option<PathBuf>| -> anyhow::Result<PathBuf> {
            match std::env::var_os(var) {
                Some(v) if !v.is_empty() => Ok(PathBuf::from(v)),
                _ => fallback.ok_or_else(|| anyhow::anyhow!("no home directory found; set {var}")),
            }
        };
        Ok(Dirs {
            config: pick("GAMEDAY_CONFIG_DIR", project.as_ref().map(|p| p.config_dir().to_path_buf()))?,
            data: pick("GAMEDAY_DATA_DIR", project.as_ref().map(|p| p.data_dir().to_path_buf()))?,
        })
    }

    pub fn sessions(&self) -> PathBuf {
        self.data.join("sessions")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_are_words_without_control_characters() {
        assert!(super::check_name("preset id", "pod-delete_2.v1").is_ok());
        assert_eq!(super::check_name("preset id", "").unwrap_err(), "preset id is empty");
        assert_eq!(
            super::check_name("preset id", "x\u{1b}]52").unwrap_err(),
            "preset id \"x\\u{1b}]52\" has '\\u{1b}' in it: use letters, digits, '-', '_' and '.'"
        );
    }

    #[test]
    fn invalid_utf8_is_an_error_naming_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.toml");
        std::fs::write(&p, b"a = 1\nb = \"\xff\"\n").unwrap();
        let e = super::read_text(&p).unwrap_err().to_string();
        assert!(e.ends_with("x.toml:2:6: not UTF-8 text"), "{e}");
    }

    #[test]
    fn the_account_has_a_name_without_any_environment() {
        let name = super::account();
        assert!(!name.is_empty() && !name.contains('\0'), "{name:?}");
        // As the password database has it (root on CI; whoever runs the tests elsewhere).
        if let Ok(out) = std::process::Command::new("id").arg("-un").output() {
            let id = String::from_utf8_lossy(&out.stdout).trim().to_string();
            if !id.is_empty() {
                assert_eq!(name, id);
            }
        }
    }

    #[test]
    fn positions_are_one_based() {
        assert_eq!(super::position("ab\ncd", 0), (1, 1));
        assert_eq!(super::position("ab\ncd", 4), (2, 2));
    }
}
