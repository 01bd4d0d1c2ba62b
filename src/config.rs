//! Where files live (config and data directories) and the shared TOML error type.

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

/// A file's text and its name for error messages.
pub fn read_text(path: &Path) -> Result<(String, String), ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Io(format!("{}: {e}", path.display())))?;
    Ok((path.display().to_string(), text))
}

/// Every `*.toml` in `dir` (sorted), or nothing if the directory does not exist.
pub fn load_toml_dir(dir: &Path) -> Result<Vec<(PathBuf, String)>, ConfigError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(ConfigError::Io(format!("{}: {e}", dir.display()))),
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            std::fs::read_to_string(&p)
                .map(|t| (p.clone(), t))
                .map_err(|e| ConfigError::Io(format!("{}: {e}", p.display())))
        })
        .collect()
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
    fn positions_are_one_based() {
        assert_eq!(super::position("ab\ncd", 0), (1, 1));
        assert_eq!(super::position("ab\ncd", 4), (2, 2));
    }
}
