//! A drill's channel in the system itself, for a responder on another machine: each side (the
//! facilitator, each responder) appends the entries the other side needs to an object of its
//! own in the cluster, and follows the other side's objects by watch. On Kubernetes these are
//! ConfigMaps in the lock namespace. The demo and Docker have no shared place: their
//! facilitator's console serves the drill itself (`relay`), and a responder on the same machine
//! may also follow the files (the runtime tails them).

use async_trait::async_trait;

use crate::timeline::Entry;

/// Who writes (or is followed): the facilitator of a session, or one of its responders.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Side {
    Facilitator,
    Responder(String),
}

impl Side {
    /// The name a peer's entries come from (`Event::Peer { from }`), as the file tail names it.
    pub fn name(&self) -> &str {
        match self {
            Side::Facilitator => "facilitator",
            Side::Responder(n) => n,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ChannelError {
    /// The writer's object has reached the size the system allows (a ConfigMap holds 1 MiB):
    /// nothing more can be published for this session by this writer.
    #[error("{0}")]
    Full(String),
    /// The channel cannot be used at all (its namespace is missing, RBAC refuses it): said how
    /// to fix it.
    #[error("{0}")]
    Unavailable(String),
    #[error("{0}")]
    Failed(String),
}

/// What following the other side hears.
#[derive(Clone, Debug, PartialEq)]
pub enum Heard {
    /// A peer's new entries (`from`: "facilitator" or the responder's name).
    Entries { from: String, entries: Vec<Entry> },
    /// The channel cannot be followed (said once per failure, with why).
    Trouble(String),
    /// It can be again.
    Restored(String),
}

/// Receives what is heard; false once nobody listens any more.
pub type Deliver = Box<dyn Fn(Heard) -> bool + Send + Sync>;

#[async_trait]
pub trait DrillChannel: Send + Sync + 'static {
    /// Where it lives ("ConfigMaps in namespace gameday").
    fn describe(&self) -> String;

    /// The facilitator's entries of `session` published so far; `None` if no facilitator has
    /// published that session here.
    async fn facilitator(&self, session: &str) -> Result<Option<Vec<Entry>>, ChannelError> {
        self.published(session, &Side::Facilitator).await
    }

    /// What `side` has published for `session` so far (a responder who rejoins from another
    /// machine goes on from there); `None` if nothing.
    async fn published(&self, session: &str, side: &Side) -> Result<Option<Vec<Entry>>, ChannelError>;

    /// Appends `entries` to what `side` published for `session` (those it published already,
    /// by their seq, are not added twice): a compare-and-swap on the object's version, read
    /// again and retried when someone wrote in between.
    async fn publish(&self, session: &str, side: &Side, entries: &[Entry]) -> Result<(), ChannelError>;

    /// `side`'s session ended. The facilitator's end is the drill's: every channel of the
    /// session is taken away (each console's journal keeps what it heard). A responder's is not
    /// (they may rejoin).
    async fn close(&self, _session: &str, _side: &Side) -> Result<(), ChannelError> {
        Ok(())
    }

    /// The channels past their expiry (of `session`, or of any): those whose console died
    /// before its session ended. Deleted when `remove`; a line each saying which.
    async fn expired(&self, _session: Option<&str>, _remove: bool) -> Result<Vec<String>, ChannelError> {
        Ok(Vec::new())
    }

    /// Follows, by watch, what the other side publishes for `session`: a responder
    /// (`me` = `Responder`) follows the facilitator, the facilitator every responder. Each
    /// entry is delivered once, in order. Must not block; runs until `deliver` says no one
    /// listens.
    fn follow(&self, session: &str, me: &Side, deliver: Deliver);
}
