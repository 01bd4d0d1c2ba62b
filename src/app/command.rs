//! The `:` command line: parsing typed commands into data.

use std::path::PathBuf;

#[derive(Clone, Debug, PartialEq, Eq)]
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
}

pub const USAGE: &str =
    ":inject <preset> <target> [name=value...] · :abort · :note <text> · :export [path] · :theme <name> · :quit";

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
    }

    #[test]
    fn bad_commands_say_what_is_wrong() {
        assert!(parse("inject pod-delete").unwrap_err().contains("usage: :inject"));
        assert!(parse("inject a b c").unwrap_err().contains("'c' is not name=value"));
        assert!(parse("frobnicate").unwrap_err().contains("unknown command 'frobnicate'"));
        assert!(parse("note").unwrap_err().contains("usage: :note"));
    }
}
