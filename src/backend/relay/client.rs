//! A responder's side of a served drill: the facilitator's picture as this console's backend
//! (it injects nothing), and the drill channel to the facilitator's console. Both streams say
//! when they lose the server, and rejoin by themselves.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::mpsc::UnboundedSender;

use super::wire::{Frame, Hello, SILENCE, TOKEN_HEADER};
use super::JoinAddress;
use crate::backend::drill::{ChannelError, Deliver, DrillChannel, Heard, Side};
use crate::backend::{Backend, BackendError, Reverted};
use crate::model::{BackendInfo, FaultSpec, RevertHandle, Support, TopologyDelta};
use crate::timeline::Entry;

/// How long a request (not a stream) may take.
const CALL_LIMIT: Duration = Duration::from_secs(10);
/// A lost stream is tried again after this long.
const REJOIN: Duration = Duration::from_secs(2);
/// A line longer than this is not one the server sends.
const LINE_LIMIT: usize = 256 << 20;

/// The way to the facilitator's console.
struct Link {
    address: JoinAddress,
    http: reqwest::Client,
}

impl Link {
    fn url(&self, rest: &str) -> String {
        format!("http://{}/drill/{}{rest}", self.address.authority(), self.address.session)
    }

    fn describe(&self) -> String {
        format!("the facilitator's console at {}", self.address.authority())
    }

    /// A request for `rest`, with the join token.
    fn request(&self, method: reqwest::Method, rest: &str) -> reqwest::RequestBuilder {
        self.http.request(method, self.url(rest)).header(TOKEN_HEADER, &self.address.token)
    }

    async fn get(&self, rest: &str) -> Result<reqwest::Response, String> {
        self.request(reqwest::Method::GET, rest).timeout(CALL_LIMIT).send().await.map_err(|e| why(&e))
    }

    /// Reads `rest`'s stream, a frame a line, into `each` (false: nobody listens any more) until
    /// the server closes it (`Ok`) or it is lost (`Err`, why). `opened` is told once the first
    /// frame has come.
    async fn stream(
        &self,
        rest: &str,
        mut opened: impl FnMut(),
        mut each: impl FnMut(Frame) -> bool,
    ) -> Result<(), String> {
        let mut r = self.request(reqwest::Method::GET, rest).send().await.map_err(|e| why(&e))?;
        if !r.status().is_success() {
            return Err(refusal(r.status(), &r.text().await.unwrap_or_default()));
        }
        let mut buf: Vec<u8> = Vec::new();
        // How much of `buf` is known to hold no line's end: a large frame, arriving in many
        // chunks, is searched once, not again from its start at every chunk.
        let mut searched = 0;
        let mut first = true;
        loop {
            let chunk = match tokio::time::timeout(SILENCE, r.chunk()).await {
                Err(_) => return Err(format!("nothing heard for {} s", SILENCE.as_secs())),
                Ok(Err(e)) => {
                    tracing::debug!("drill stream {rest}: {}", why(&e));
                    return Err("the connection broke".into());
                }
                Ok(Ok(None)) => return Err("the server ended the stream".into()),
                Ok(Ok(Some(c))) => c,
            };
            buf.extend_from_slice(&chunk);
            while let Some(end) = buf[searched..].iter().position(|b| *b == b'\n').map(|i| searched + i) {
                searched = 0;
                let line: Vec<u8> = buf.drain(..=end).collect();
                let frame: Frame = match serde_json::from_slice(&line) {
                    Ok(f) => f,
                    Err(e) => return Err(format!("the server sent what is not a drill's frame: {e}")),
                };
                if first {
                    first = false;
                    opened();
                }
                if frame == Frame::Closed {
                    return Ok(());
                }
                if !each(frame) {
                    return Ok(());
                }
            }
            searched = buf.len();
            if buf.len() > LINE_LIMIT {
                return Err("the server sent a line longer than any frame".into());
            }
        }
    }
}

/// Why a request failed, in words (reqwest's chain of causes, which names the refusal).
fn why(e: &reqwest::Error) -> String {
    let mut s = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        s = format!("{s}: {cause}");
        source = cause.source();
    }
    s
}

fn refusal(status: reqwest::StatusCode, body: &str) -> String {
    let body = crate::text::one_line(body.trim());
    match status.as_u16() {
        401 => {
            "the join token is not this drill's (copy the command :drill prints on the facilitator's console)".into()
        }
        _ => format!("{status}: {body}"),
    }
}

/// Joins the drill at `address` as responder `name`: the facilitator's console must answer,
/// with this token and session, and no other console be in it under that name. The backend
/// shows its picture.
pub async fn join(address: &JoinAddress, name: &str) -> anyhow::Result<RelayBackend> {
    let http = reqwest::Client::builder()
        .connect_timeout(CALL_LIMIT)
        .build()
        .map_err(|e| anyhow::anyhow!("cannot make an HTTP client: {e}"))?;
    let link = Arc::new(Link { address: address.clone(), http });
    let at = link.address.authority();
    let r = link.get(&format!("?as={}", path_part(name))).await.map_err(|e| {
        let hint = match address.is_loopback() {
            true => "is its console running on this machine?",
            false => "is its console running, started with --drill-listen on an address this machine reaches?",
        };
        anyhow::anyhow!("cannot reach the facilitator's console at {at}: {e} ({hint})")
    })?;
    if !r.status().is_success() {
        let status = r.status();
        let body = r.text().await.unwrap_or_default();
        anyhow::bail!("the facilitator's console at {at} refused to let this console join: {}", refusal(status, &body));
    }
    let hello: Hello =
        r.json().await.map_err(|e| anyhow::anyhow!("the server at {at} is not a gameday drill's: {e}"))?;
    if hello.version != super::wire::VERSION {
        let theirs = match hello.version.as_str() {
            "" => "an older gameday".to_string(),
            v => format!("gameday {v}"),
        };
        anyhow::bail!(
            "the facilitator's console at {at} runs {theirs}, this is gameday {}: join with the same version",
            super::wire::VERSION
        );
    }
    let info = BackendInfo {
        kind: hello.backend.kind.clone(),
        cluster: format!("{} (the facilitator's, at {at})", hello.backend.cluster),
        pod_word: hello.backend.pod_word.clone(),
    };
    Ok(RelayBackend { link, info, facilitator_kind: hello.backend.kind })
}

/// The facilitator's picture, replayed: this console's backend when it joined a served drill.
pub struct RelayBackend {
    link: Arc<Link>,
    info: BackendInfo,
    facilitator_kind: String,
}

impl RelayBackend {
    /// The facilitator's backend ("demo", "docker").
    pub fn facilitator_kind(&self) -> &str {
        &self.facilitator_kind
    }
}

const NO_FAULTS: &str = "a drill's responder runs no faults: the facilitator's console does";

#[async_trait]
impl Backend for RelayBackend {
    fn info(&self) -> BackendInfo {
        self.info.clone()
    }

    fn supports(&self, _action: &str) -> Support {
        Support::No(NO_FAULTS.into())
    }

    fn watch(&self, tx: UnboundedSender<TopologyDelta>) {
        let link = self.link.clone();
        let loopback = link.address.is_loopback();
        tokio::spawn(async move {
            let mut lost = false;
            // The facilitator's console has lost its own system (its engine).
            let mut theirs_lost = false;
            loop {
                let tx2 = tx.clone();
                let opened = || {
                    if lost {
                        lost = false;
                        let detail = format!("rejoined {}", link.describe());
                        let _ = tx.send(TopologyDelta::Connection { connected: true, detail });
                    }
                };
                let result = link
                    .stream("/picture", opened, |frame| match frame.delta() {
                        // A published port is on the facilitator's machine: reachable as
                        // it is only from there.
                        Some(TopologyDelta::Reachable { .. }) if !loopback => true,
                        // This console's connection is its way to the facilitator's (its marks
                        // wait while it is lost); the facilitator's own to its system is news
                        // on the timeline, when it is lost and when it is back.
                        Some(TopologyDelta::Connection { connected, detail }) => {
                            if connected == theirs_lost {
                                theirs_lost = !connected;
                                let message = format!("its connection to its system: {detail}");
                                let object = "the facilitator's console".to_string();
                                return tx2
                                    .send(TopologyDelta::ClusterEvent { object, message, warning: !connected })
                                    .is_ok();
                            }
                            true
                        }
                        Some(d) => tx2.send(d).is_ok(),
                        None => true,
                    })
                    .await;
                if tx.is_closed() {
                    return;
                }
                match result {
                    Ok(()) => {
                        let detail = "the facilitator's session has ended: this picture is its last".to_string();
                        let _ = tx.send(TopologyDelta::Connection { connected: false, detail });
                        return;
                    }
                    Err(e) => {
                        if !lost {
                            lost = true;
                            let detail = format!("lost {}: {e}; rejoining", link.describe());
                            let _ = tx.send(TopologyDelta::Connection { connected: false, detail });
                        }
                        // Said again only once it came back.
                        if tx.is_closed() {
                            return;
                        }
                        tokio::time::sleep(REJOIN).await;
                    }
                }
            }
        });
    }

    async fn prepare(&self, _spec: &FaultSpec) -> Result<RevertHandle, BackendError> {
        Err(BackendError::Unsupported(NO_FAULTS.into()))
    }

    async fn inject(&self, _spec: &FaultSpec, _prepared: &RevertHandle) -> Result<RevertHandle, BackendError> {
        Err(BackendError::NotApplied(NO_FAULTS.into()))
    }

    async fn revert(&self, _handle: &RevertHandle) -> Result<Reverted, BackendError> {
        Err(BackendError::Unsupported(NO_FAULTS.into()))
    }

    /// The faults are in the facilitator's system, not in this process.
    fn faults_outlive_process(&self) -> bool {
        true
    }

    fn drill_channel(&self) -> Option<Arc<dyn DrillChannel>> {
        Some(Arc::new(Joined { link: self.link.clone() }))
    }
}

/// The drill channel of a responder who joined a served drill.
struct Joined {
    link: Arc<Link>,
}

#[async_trait]
impl DrillChannel for Joined {
    fn describe(&self) -> String {
        self.link.describe()
    }

    async fn published(&self, _session: &str, side: &Side) -> Result<Option<Vec<Entry>>, ChannelError> {
        let who = match side {
            Side::Facilitator => "facilitator".to_string(),
            Side::Responder(name) => name.clone(),
        };
        let r = self.link.get(&format!("/entries/{}", path_part(&who))).await.map_err(ChannelError::Failed)?;
        if r.status() == reqwest::StatusCode::NOT_FOUND && matches!(side, Side::Responder(_)) {
            return Ok(None);
        }
        if !r.status().is_success() {
            let status = r.status();
            return Err(ChannelError::Unavailable(refusal(status, &r.text().await.unwrap_or_default())));
        }
        r.json().await.map(Some).map_err(|e| ChannelError::Failed(format!("not a drill's entries: {e}")))
    }

    async fn publish(&self, _session: &str, side: &Side, entries: &[Entry]) -> Result<(), ChannelError> {
        let Side::Responder(name) = side else {
            return Err(ChannelError::Unavailable("the facilitator's entries are its own console's".into()));
        };
        let r = self
            .link
            .request(reqwest::Method::POST, &format!("/entries/{}", path_part(name)))
            .timeout(CALL_LIMIT)
            .json(entries)
            .send()
            .await
            .map_err(|e| ChannelError::Failed(why(&e)))?;
        let status = r.status();
        if status.is_success() {
            return Ok(());
        }
        let said = refusal(status, &r.text().await.unwrap_or_default());
        Err(match status.as_u16() {
            413 => ChannelError::Full(said),
            400 | 401 | 404 | 410 => ChannelError::Unavailable(said),
            _ => ChannelError::Failed(said),
        })
    }

    fn follow(&self, _session: &str, me: &Side, deliver: Deliver) {
        let link = self.link.clone();
        let name = match me {
            Side::Responder(n) => format!("&as={}", path_part(n)),
            Side::Facilitator => String::new(),
        };
        tokio::spawn(async move {
            let mut last = 0u64;
            let mut lost = false;
            let mut gone = false;
            loop {
                let opened = || {
                    if lost {
                        lost = false;
                        gone = !deliver(Heard::Restored(format!("rejoined {}", link.describe())));
                    }
                };
                let mut fresh = 0u64;
                let result = link
                    .stream(&format!("/follow?after={last}{name}"), opened, |frame| {
                        let Frame::Entries(entries) = frame else { return true };
                        let new: Vec<Entry> = entries.into_iter().filter(|e| e.seq > last.max(fresh)).collect();
                        let Some(top) = new.last().map(|e| e.seq) else { return true };
                        fresh = top;
                        deliver(Heard::Entries { from: "facilitator".into(), entries: new })
                    })
                    .await;
                last = last.max(fresh);
                if gone {
                    return;
                }
                match result {
                    // The session ended (or nobody listens any more).
                    Ok(()) => return,
                    Err(e) => {
                        if !lost {
                            lost = true;
                            if !deliver(Heard::Trouble(format!("lost {}: {e}; rejoining", link.describe()))) {
                                return;
                            }
                        }
                        tokio::time::sleep(REJOIN).await;
                    }
                }
                if gone {
                    return;
                }
            }
        });
    }
}

/// A responder's name as a URL path segment.
fn path_part(name: &str) -> String {
    name.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
