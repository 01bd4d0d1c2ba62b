//! Why the API server could not be reached, told apart as kubectl does: the connection refused,
//! a host name that does not resolve, TLS spoken to a plain-HTTP server (or plain HTTP to a TLS
//! one), a certificate that is not trusted, a credential plugin (`users[].user.exec`) that fails
//! or cannot be started, and otherwise what the API server said. Never a debug dump.

use std::error::Error as StdError;

use kube::client::AuthError;

/// What is known of the connection, to say which server and which plugin.
#[derive(Clone, Debug, Default)]
pub struct Explain {
    /// The server's URL, as the kubeconfig gives it.
    pub server: String,
    /// The credential plugin's command, when the kubeconfig's user has one.
    pub exec: Option<String>,
}

/// Every error in the chain, outermost first.
fn chain<'a>(e: &'a (dyn StdError + 'static)) -> Vec<&'a (dyn StdError + 'static)> {
    let mut out = vec![e];
    let mut cur = e.source();
    while let Some(s) = cur {
        out.push(s);
        cur = s.source();
    }
    out
}

/// The first lines a plugin wrote on stderr (or stdout), trimmed.
fn said(out: &std::process::Output) -> String {
    let text = if out.stderr.iter().any(|b| !b.is_ascii_whitespace()) { &out.stderr } else { &out.stdout };
    let text = crate::text::clean(&String::from_utf8_lossy(text)).into_owned();
    let lines: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty()).take(3).collect();
    let mut s = lines.join(" / ");
    if s.chars().count() > 300 {
        s = s.chars().take(300).collect::<String>() + "…";
    }
    s
}

impl Explain {
    /// "127.0.0.1:6443", from the server's URL.
    fn host_port(&self) -> String {
        let s = self.server.split("://").nth(1).unwrap_or(&self.server);
        s.split('/').next().unwrap_or(s).to_string()
    }

    fn host(&self) -> String {
        let hp = self.host_port();
        match hp.rsplit_once(':') {
            Some((h, p)) if p.chars().all(|c| c.is_ascii_digit()) => h.to_string(),
            _ => hp,
        }
    }

    fn plugin(&self) -> String {
        match &self.exec {
            Some(cmd) => format!("the kubeconfig's credential plugin `{cmd}`"),
            None => "the kubeconfig's credential plugin".into(),
        }
    }

    fn the_server(&self) -> String {
        if self.server.is_empty() {
            "the API server".into()
        } else {
            format!("the server {}", self.host_port())
        }
    }

    /// One line that says what went wrong and what to look at.
    pub fn explain(&self, e: &kube::Error) -> String {
        if let kube::Error::Api(s) = e {
            return match s.code {
                401 => "unauthorized (401): the kubeconfig's credentials were refused".into(),
                403 => format!("forbidden (403): {}", s.message),
                400 if s.message.contains("HTTP request to an HTTPS server") => format!(
                    "{} speaks HTTPS, and the kubeconfig asks it in plain HTTP ({}): use https:// there",
                    self.the_server(),
                    self.server
                ),
                _ => format!("{} ({})", s.message, s.code),
            };
        }
        self.explain_error(e)
    }

    /// Any error of the connection (a kube error, or one building the client) in words.
    pub fn explain_error(&self, e: &(dyn StdError + 'static)) -> String {
        let links = chain(e);
        for link in &links {
            if let Some(a) = link.downcast_ref::<AuthError>() {
                return self.auth(a);
            }
        }
        let text: Vec<String> = links.iter().map(|l| l.to_string()).collect();
        let any = |needle: &str| text.iter().any(|t| t.contains(needle));
        let kind = links.iter().find_map(|l| l.downcast_ref::<std::io::Error>()).map(|io| io.kind());
        if kind == Some(std::io::ErrorKind::ConnectionRefused) || any("Connection refused") {
            return format!(
                "the connection to {} was refused: is the API server running, and are the host and port right?",
                self.the_server()
            );
        }
        if any("dns error") || any("failed to lookup address") || any("Name or service not known") {
            return format!(
                "the host name {} does not resolve (DNS lookup failed): check the server address in the kubeconfig",
                self.host()
            );
        }
        if any("InvalidContentType") || any("corrupt message") {
            return format!(
                "{} answered in plain HTTP, and the kubeconfig asks it in TLS ({}): use http:// there, or the \
                 server's TLS port",
                self.the_server(),
                self.server
            );
        }
        if any("invalid peer certificate") || any("certificate") && any("tls") {
            let why = if any("UnknownIssuer") {
                "signed by an authority the kubeconfig does not trust".to_string()
            } else if any("NotValidForName") {
                format!("not issued for {}", self.host())
            } else if any("Expired") {
                "expired".to_string()
            } else if any("CaUsedAsEndEntity") {
                "a CA's certificate used as the server's own".to_string()
            } else {
                text.iter().find(|t| t.contains("certificate")).cloned().unwrap_or_default()
            };
            return format!(
                "the TLS certificate of {} is not trusted ({why}): check certificate-authority-data in the kubeconfig",
                self.the_server()
            );
        }
        if kind == Some(std::io::ErrorKind::TimedOut) || any("timed out") {
            return format!("{} did not answer in time: is it reachable from here?", self.the_server());
        }
        // Whatever else: the innermost cause says the most.
        let mut out = text.last().cloned().unwrap_or_default();
        if text.len() > 1 && !text[0].contains(&out) {
            out = format!("{}: {out}", text[0]);
        }
        out
    }

    fn auth(&self, a: &AuthError) -> String {
        match a {
            AuthError::AuthExecRun { out, .. } => {
                let code = match out.status.code() {
                    Some(c) => format!("exit code {c}"),
                    None => "killed by a signal".into(),
                };
                match said(out) {
                    s if s.is_empty() => format!("{} failed ({code}) and said nothing", self.plugin()),
                    s => format!("{} failed ({code}): {s}", self.plugin()),
                }
            }
            AuthError::AuthExecStart(io) if io.kind() == std::io::ErrorKind::NotFound => {
                format!("{} is not installed (or not on PATH): it could not be started", self.plugin())
            }
            AuthError::AuthExecStart(io) => format!("{} could not be started: {io}", self.plugin()),
            AuthError::AuthExecParse(e) => {
                format!("{} printed no credential that can be read (an ExecCredential in JSON): {e}", self.plugin())
            }
            AuthError::AuthExec(m) => format!("{}: {m}", self.plugin()),
            other => format!("the kubeconfig's credentials cannot be used: {other}"),
        }
    }
}

/// A watch ended by 410 Gone: the resourceVersion it resumed from was compacted away (routine
/// in etcd), nothing is wrong with the server; kube-runtime's watcher lists again at once.
pub fn watch_expired(e: &kube::runtime::watcher::Error) -> bool {
    use kube::runtime::watcher::Error as W;
    match e {
        W::WatchError(s) => s.code == 410,
        W::WatchStartFailed(kube::Error::Api(s)) | W::WatchFailed(kube::Error::Api(s)) => s.code == 410,
        _ => false,
    }
}
