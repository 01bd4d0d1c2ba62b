//! The facilitator's side of a served drill: an HTTP server (axum) holding what each side
//! published and the picture of the system, and the `DrillChannel` the console publishes to and
//! follows its responders by.
//!
//! - `GET  /drill/{id}`: who serves (the session, the backend).
//! - `GET  /drill/{id}/entries/{side}`: what `facilitator` or a responder published so far.
//! - `POST /drill/{id}/entries/{name}`: a responder's joins and marks (nothing else is taken).
//! - `GET  /drill/{id}/follow?after=SEQ`: the facilitator's entries after SEQ, then as they come.
//! - `GET  /drill/{id}/picture`: the whole picture, then what changes.
//!
//! Each request carries the join token (`x-gameday-drill-token`); without it, nothing is said
//! but 401.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use rand::Rng;
use tokio::sync::mpsc::{self, UnboundedSender};

use super::wire::{Frame, Hello, PING, TOKEN_HEADER};
use super::JoinAddress;
use crate::backend::drill::{ChannelError, Deliver, DrillChannel, Heard, Side};
use crate::model::topology::Topology;
use crate::model::{BackendInfo, TopologyDelta};
use crate::timeline::{Entry, EntryKind};

/// A responder may publish this many entries in all (a ConfigMap's worth on Kubernetes).
const RESPONDER_LIMIT: usize = 10_000;

/// A drill served by this console.
pub struct Served {
    hub: Arc<Mutex<Hub>>,
    bound: SocketAddr,
    /// The host responders dial.
    host: String,
}

struct Hub {
    /// The session served (empty until `begin`: nothing is served before).
    session: String,
    token: String,
    info: BackendInfo,
    facilitator: Vec<Entry>,
    responders: BTreeMap<String, Vec<Entry>>,
    picture: Topology,
    /// The last of each health reading (by what it is about), for a responder who joins late.
    health: BTreeMap<String, Frame>,
    following: Vec<UnboundedSender<Frame>>,
    /// Each responder's console following now (its stream), by name: a second console under a
    /// name in use is refused at its join.
    present: BTreeMap<String, UnboundedSender<Frame>>,
    watching: Vec<UnboundedSender<Frame>>,
    follower: Option<Arc<Deliver>>,
    closed: bool,
}

impl Hub {
    fn lock(hub: &Mutex<Hub>) -> std::sync::MutexGuard<'_, Hub> {
        hub.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Serves a drill on `listen` (port 0: any free one), with a new join token: its session's,
/// once `begin` names it.
/// `again`: where and with which token a killed console served the session before: its
/// resumed console serves it there again when it can (responders rejoin by themselves).
pub async fn serve(
    listen: SocketAddr,
    info: BackendInfo,
    again: Option<(SocketAddr, String)>,
) -> anyhow::Result<Arc<Served>> {
    let (listener, token) = match again {
        Some((before, token)) => match tokio::net::TcpListener::bind(before).await {
            Ok(l) => (l, Some(token)),
            Err(e) => {
                tracing::warn!("the drill was served on {before} before, which is not free now ({e}): a new address");
                (bind(listen).await?, None)
            }
        },
        None => (bind(listen).await?, None),
    };
    let bound = listener.local_addr()?;
    // 64 random bits: guessed over the network, not in a drill's lifetime.
    let token = token.unwrap_or_else(|| format!("{:016x}", rand::thread_rng().gen::<u64>()));
    let hub = Arc::new(Mutex::new(Hub {
        session: String::new(),
        token: token.clone(),
        info,
        facilitator: Vec::new(),
        responders: BTreeMap::new(),
        picture: Topology::default(),
        health: BTreeMap::new(),
        following: Vec::new(),
        present: BTreeMap::new(),
        watching: Vec::new(),
        follower: None,
        closed: false,
    }));
    let app = axum::Router::new()
        .route("/drill/{id}", axum::routing::get(hello))
        .route("/drill/{id}/entries/{side}", axum::routing::get(entries).post(post))
        .route("/drill/{id}/follow", axum::routing::get(follow))
        .route("/drill/{id}/picture", axum::routing::get(picture))
        .with_state(hub.clone());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    // A ping on every stream now and then: a responder tells a quiet server from a lost one.
    let pinged = Arc::downgrade(&hub);
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(PING).await;
            let Some(hub) = pinged.upgrade() else { return };
            let mut h = Hub::lock(&hub);
            h.following.retain(|tx| tx.send(Frame::Ping).is_ok());
            h.watching.retain(|tx| tx.send(Frame::Ping).is_ok());
        }
    });
    Ok(Arc::new(Served { hub, bound, host: shown_host(bound) }))
}

async fn bind(listen: SocketAddr) -> anyhow::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot serve the drill on {listen}: {e} (--drill-listen picks another address)"))
}

/// The host a responder dials: the bound address, or for a wildcard bind this machine's
/// address on its default route (a UDP socket's, which sends nothing), else its name.
fn shown_host(bound: SocketAddr) -> String {
    if !bound.ip().is_unspecified() {
        return bound.ip().to_string();
    }
    let probe = match bound {
        SocketAddr::V4(_) => std::net::UdpSocket::bind("0.0.0.0:0").and_then(|s| {
            s.connect("192.0.2.1:9")?;
            s.local_addr()
        }),
        SocketAddr::V6(_) => std::net::UdpSocket::bind("[::]:0").and_then(|s| {
            s.connect("[2001:db8::1]:9")?;
            s.local_addr()
        }),
    };
    match probe {
        Ok(a) if !a.ip().is_unspecified() => a.ip().to_string(),
        _ => crate::store::machine::host_name(),
    }
}

impl Served {
    /// Serves `session` from now on.
    pub fn begin(&self, session: &str) {
        Hub::lock(&self.hub).session = session.to_string();
    }

    /// Where responders join.
    pub fn address(&self) -> JoinAddress {
        let h = Hub::lock(&self.hub);
        JoinAddress {
            session: h.session.clone(),
            token: h.token.clone(),
            host: self.host.clone(),
            port: self.bound.port(),
        }
    }

    /// Where it listens.
    pub fn bound(&self) -> SocketAddr {
        self.bound
    }

    /// Whether only this machine can join (the server is on loopback).
    pub fn loopback_only(&self) -> bool {
        self.bound.ip().is_loopback()
    }

    /// The console's picture changed: kept for responders who join later, and sent to those
    /// watching now. `delta` is the picture as a responder may see it (`Backend::seen`).
    pub fn feed(&self, delta: TopologyDelta) {
        let mut h = Hub::lock(&self.hub);
        h.picture.apply(&delta);
        let Some(frame) = Frame::of(delta) else { return };
        // The system's health is kept as it is now, one frame per source of it.
        let key = match &frame {
            Frame::Change(TopologyDelta::Samples(_)) => Some("samples".to_string()),
            Frame::Change(TopologyDelta::Signals(s)) => Some(format!("signals {}", s.source)),
            Frame::Change(TopologyDelta::Usage { source, .. }) => Some(format!("usage {source}")),
            Frame::Change(TopologyDelta::Source { kind, name, .. }) => Some(format!("source {kind:?} {name}")),
            Frame::Change(TopologyDelta::Reachable { service, .. }) => Some(format!("reachable {service}")),
            Frame::Change(TopologyDelta::Connection { .. }) => Some("connection".to_string()),
            _ => None,
        };
        if let Some(key) = key {
            h.health.insert(key, frame.clone());
        }
        h.watching.retain(|tx| tx.send(frame.clone()).is_ok());
    }
}

#[async_trait]
impl DrillChannel for Served {
    fn describe(&self) -> String {
        format!("this console's drill server at {}", self.address().authority())
    }

    async fn published(&self, session: &str, side: &Side) -> Result<Option<Vec<Entry>>, ChannelError> {
        let h = Hub::lock(&self.hub);
        if session != h.session {
            return Ok(None);
        }
        Ok(match side {
            Side::Facilitator => Some(h.facilitator.clone()),
            Side::Responder(name) => h.responders.get(name).cloned(),
        })
    }

    async fn publish(&self, session: &str, side: &Side, entries: &[Entry]) -> Result<(), ChannelError> {
        let mut h = Hub::lock(&self.hub);
        if session != h.session || *side != Side::Facilitator {
            return Err(ChannelError::Unavailable(format!("this console serves only its own session {}", h.session)));
        }
        let last = h.facilitator.last().map(|e| e.seq).unwrap_or(0);
        let new: Vec<Entry> = entries.iter().filter(|e| e.seq > last).cloned().collect();
        if new.is_empty() {
            return Ok(());
        }
        h.facilitator.extend(new.iter().cloned());
        let frame = Frame::Entries(new);
        h.following.retain(|tx| tx.send(frame.clone()).is_ok());
        Ok(())
    }

    async fn close(&self, session: &str, side: &Side) -> Result<(), ChannelError> {
        let mut h = Hub::lock(&self.hub);
        if session == h.session && *side == Side::Facilitator {
            h.closed = true;
            let h = &mut *h;
            for tx in h.following.drain(..).chain(h.watching.drain(..)) {
                let _ = tx.send(Frame::Closed);
            }
        }
        Ok(())
    }

    fn follow(&self, session: &str, me: &Side, deliver: Deliver) {
        let mut h = Hub::lock(&self.hub);
        if session != h.session || *me != Side::Facilitator {
            return;
        }
        let earlier: Vec<(String, Vec<Entry>)> =
            h.responders.iter().map(|(name, entries)| (name.clone(), entries.clone())).collect();
        let deliver = Arc::new(deliver);
        h.follower = Some(deliver.clone());
        drop(h);
        for (from, entries) in earlier {
            deliver(Heard::Entries { from, entries });
        }
    }
}

type Shared = State<Arc<Mutex<Hub>>>;

/// The request's token is the drill's, and its session this console's: `Err` answers it.
fn admit(hub: &Mutex<Hub>, headers: &HeaderMap, id: &str) -> Result<(), (StatusCode, String)> {
    let h = Hub::lock(hub);
    let given = headers.get(TOKEN_HEADER).map(|v| v.as_bytes()).unwrap_or_default();
    let wanted = h.token.as_bytes();
    // The same time whatever the first wrong byte.
    let same = given.len() == wanted.len() && given.iter().zip(wanted).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0;
    if !same {
        return Err((StatusCode::UNAUTHORIZED, "wrong or missing join token".into()));
    }
    if h.session.is_empty() || id != h.session {
        let said = format!("this console serves session {}, not {}", h.session, crate::text::one_line(id));
        return Err((StatusCode::NOT_FOUND, said));
    }
    Ok(())
}

#[derive(serde::Deserialize)]
struct As {
    #[serde(default, rename = "as")]
    name: Option<String>,
}

async fn hello(State(hub): Shared, Path(id): Path<String>, Query(q): Query<As>, headers: HeaderMap) -> Response {
    if let Err(r) = admit(&hub, &headers, &id) {
        return r.into_response();
    }
    let h = Hub::lock(&hub);
    if let Some(name) = q.name.as_deref() {
        if !name_ok(name) {
            return (StatusCode::BAD_REQUEST, "not a responder's name").into_response();
        }
        if h.present.get(name).is_some_and(|tx| !tx.is_closed()) {
            let said = format!(
                "responder {} is already in this drill in another console (--responder picks another name)",
                crate::text::one_line(name)
            );
            return (StatusCode::CONFLICT, said).into_response();
        }
    }
    Json(Hello { session: h.session.clone(), backend: h.info.clone(), version: super::wire::VERSION.to_string() })
        .into_response()
}

async fn entries(State(hub): Shared, Path((id, side)): Path<(String, String)>, headers: HeaderMap) -> Response {
    if let Err(r) = admit(&hub, &headers, &id) {
        return r.into_response();
    }
    let h = Hub::lock(&hub);
    match side.as_str() {
        "facilitator" => Json(&h.facilitator).into_response(),
        name => match h.responders.get(name) {
            Some(entries) => Json(entries).into_response(),
            None => (StatusCode::NOT_FOUND, "nothing published by this responder").into_response(),
        },
    }
}

/// Whether `name` is one a responder may go by here.
fn name_ok(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= crate::timeline::drill::NAME_LIMIT
        && name != "facilitator"
        && !name.chars().any(char::is_control)
}

async fn post(
    State(hub): Shared,
    Path((id, name)): Path<(String, String)>,
    headers: HeaderMap,
    Json(given): Json<Vec<Entry>>,
) -> Response {
    if let Err(r) = admit(&hub, &headers, &id) {
        return r.into_response();
    }
    if !name_ok(&name) {
        return (StatusCode::BAD_REQUEST, "not a responder's name").into_response();
    }
    // Nothing but a responder's own joins and marks is taken.
    if let Some(e) = given.iter().find(|e| match &e.kind {
        EntryKind::DrillJoined { responder, .. } => *responder != name,
        EntryKind::DrillMark { responder, their_seq: None, .. } => *responder != name,
        _ => true,
    }) {
        let said = format!("entry {} is not one of responder {}'s joins or marks", e.seq, crate::text::one_line(&name));
        return (StatusCode::BAD_REQUEST, said).into_response();
    }
    let mut h = Hub::lock(&hub);
    if h.closed {
        return (StatusCode::GONE, "the facilitator's session has ended").into_response();
    }
    let mine = h.responders.entry(name.clone()).or_default();
    let last = mine.last().map(|e| e.seq).unwrap_or(0);
    let mut new: Vec<Entry> = given.into_iter().filter(|e| e.seq > last).collect();
    new.sort_by_key(|e| e.seq);
    new.dedup_by_key(|e| e.seq);
    if mine.len() + new.len() > RESPONDER_LIMIT {
        return (StatusCode::PAYLOAD_TOO_LARGE, "this responder has published all a drill takes").into_response();
    }
    mine.extend(new.iter().cloned());
    let follower = h.follower.clone();
    drop(h);
    if let (Some(deliver), false) = (follower, new.is_empty()) {
        deliver(Heard::Entries { from: name, entries: new });
    }
    StatusCode::NO_CONTENT.into_response()
}

#[derive(serde::Deserialize)]
struct After {
    #[serde(default)]
    after: u64,
    /// The responder following (its console's stream takes the name's place).
    #[serde(default, rename = "as")]
    name: Option<String>,
}

/// A stream of frames, a line each: `first`, then what `rx` brings.
fn stream(first: Vec<Frame>, rx: mpsc::UnboundedReceiver<Frame>) -> Response {
    let head = futures::stream::iter(first.into_iter().map(|f| Ok::<_, std::io::Error>(Bytes::from(f.line()))));
    let rest = futures::stream::unfold(rx, |mut rx| async move {
        let frame = rx.recv().await?;
        let end = frame == Frame::Closed;
        let line = Ok::<_, std::io::Error>(Bytes::from(frame.line()));
        // After `Closed` the stream ends.
        if end {
            rx.close();
        }
        Some((line, rx))
    });
    let body = Body::from_stream(futures::StreamExt::chain(head, rest));
    ([(axum::http::header::CONTENT_TYPE, "application/x-ndjson")], body).into_response()
}

async fn follow(State(hub): Shared, Path(id): Path<String>, Query(q): Query<After>, headers: HeaderMap) -> Response {
    if let Err(r) = admit(&hub, &headers, &id) {
        return r.into_response();
    }
    let (tx, rx) = mpsc::unbounded_channel();
    let mut h = Hub::lock(&hub);
    let earlier: Vec<Entry> = h.facilitator.iter().filter(|e| e.seq > q.after).cloned().collect();
    let mut first = vec![Frame::Entries(earlier)];
    if h.closed {
        first.push(Frame::Closed);
    } else {
        if let Some(name) = q.name.filter(|n| name_ok(n)) {
            h.present.insert(name, tx.clone());
        }
        h.following.push(tx);
    }
    drop(h);
    stream(first, rx)
}

async fn picture(State(hub): Shared, Path(id): Path<String>, headers: HeaderMap) -> Response {
    if let Err(r) = admit(&hub, &headers, &id) {
        return r.into_response();
    }
    let (tx, rx) = mpsc::unbounded_channel();
    let mut h = Hub::lock(&hub);
    let mut first = vec![Frame::picture(&h.picture)];
    first.extend(h.health.values().cloned());
    if h.closed {
        first.push(Frame::Closed);
    } else {
        h.watching.push(tx);
    }
    drop(h);
    stream(first, rx)
}
