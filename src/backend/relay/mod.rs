//! A drill across machines where the system has no shared place to carry it (the demo's
//! cluster lives in one console; a Docker engine is one machine's): the facilitator's console
//! serves the drill itself, over HTTP on an address it shows (loopback unless asked,
//! `--drill-listen`), and a responder on another machine joins it by the command `:drill` prints
//! (`gameday --demo --drill ID:TOKEN@HOST:PORT`).
//!
//! - Only drill data is on the wire: the facilitator's entries a responder needs (the same as
//!   on a Kubernetes channel), the responders' joins and marks, and the picture of the system
//!   as the facilitator's console sees it, less what only the console knows of its faults (the
//!   demo's notes on a faulted pod, the lock's holder). Every request carries the join token.
//! - The responder's screen is the facilitator's picture, replayed: the same pods fall, are
//!   replaced and recover under the same names on both screens. A responder who loses the
//!   server says so, and rejoins by itself.

pub mod client;
pub mod server;
mod wire;

use std::fmt;

pub use client::{join, RelayBackend};
pub use server::{serve, Served};

/// Where a responder joins a served drill: `ID:TOKEN@HOST:PORT` (an IPv6 host in brackets).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JoinAddress {
    pub session: String,
    pub token: String,
    pub host: String,
    pub port: u16,
}

impl JoinAddress {
    /// Reads `ID:TOKEN@HOST:PORT`; `None` when `s` is a bare session ID (a drill on this machine,
    /// or on a Kubernetes cluster's channel); an error says what is wrong with the rest.
    pub fn parse(s: &str) -> Option<Result<JoinAddress, String>> {
        let (who, addr) = s.rsplit_once('@')?;
        let bad = |why: &str| {
            Some(Err(format!("--drill '{s}': {why} (the form is ID:TOKEN@HOST:PORT, as :drill prints it)")))
        };
        let Some((session, token)) = who.split_once(':') else { return bad("no join token") };
        if session.is_empty() || !session.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            return bad("the session ID is not one");
        }
        if token.is_empty() || !token.chars().all(|c| c.is_ascii_alphanumeric()) {
            return bad("the join token is not one");
        }
        let Some((host, port)) = addr.rsplit_once(':') else { return bad("no port") };
        let Ok(port) = port.parse::<u16>() else { return bad("the port is not a number") };
        let host = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
        if host.is_empty() || host.chars().any(|c| c.is_whitespace() || c == '/' || c == '@') {
            return bad("no host");
        }
        Some(Ok(JoinAddress { session: session.into(), token: token.into(), host: host.into(), port }))
    }

    /// `HOST:PORT`, an IPv6 host in brackets.
    pub fn authority(&self) -> String {
        match self.host.contains(':') {
            true => format!("[{}]:{}", self.host, self.port),
            false => format!("{}:{}", self.host, self.port),
        }
    }

    /// Whether the server is on this machine's loopback (its ports are this machine's).
    pub fn is_loopback(&self) -> bool {
        self.host == "localhost" || self.host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
    }
}

impl fmt::Display for JoinAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}@{}", self.session, self.token, self.authority())
    }
}

/// The command a responder types to join: the backend's flag, then the address (quoted for a
/// shell when it needs to be: an IPv6 host's brackets).
pub fn join_command(kind: &str, address: &JoinAddress) -> String {
    let flag = match kind {
        "docker" => "--docker ",
        "demo" => "--demo ",
        _ => "",
    };
    let addr = address.to_string();
    let addr = shlex::try_quote(&addr).map(|a| a.into_owned()).unwrap_or(addr);
    format!("gameday {flag}--drill {addr}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_join_address_reads_back_as_it_is_printed() {
        let a = JoinAddress::parse("20261207-170613-1a2b:0f3a9c@192.168.1.20:7420").unwrap().unwrap();
        assert_eq!(a.session, "20261207-170613-1a2b");
        assert_eq!(a.token, "0f3a9c");
        assert_eq!(a.authority(), "192.168.1.20:7420");
        assert!(!a.is_loopback());
        assert_eq!(JoinAddress::parse(&a.to_string()), Some(Ok(a.clone())));
        let six = JoinAddress::parse("s:t@[::1]:80").unwrap().unwrap();
        assert_eq!((six.host.as_str(), six.port, six.is_loopback()), ("::1", 80, true));
        assert_eq!(join_command("demo", &six), "gameday --demo --drill 's:t@[::1]:80'");
        assert_eq!(join_command("docker", &a), format!("gameday --docker --drill {a}"));
    }

    #[test]
    fn a_bare_id_is_not_an_address_and_a_broken_one_says_why() {
        assert_eq!(JoinAddress::parse("20261207-170613-1a2b"), None);
        for (bad, why) in [
            ("s@h:1", "no join token"),
            ("s:t@h", "no port"),
            ("s:t@h:x", "port is not a number"),
            ("s:t@:1", "no host"),
            ("s/x:t@h:1", "session ID"),
            ("s:t!@h:1", "join token"),
        ] {
            let e = JoinAddress::parse(bad).unwrap().unwrap_err();
            assert!(e.contains(why) && e.contains(bad), "{bad}: {e}");
        }
    }
}
