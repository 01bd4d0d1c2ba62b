//! One fault at a time on a Docker engine: the lock is a named container that is created and
//! never started (`gameday-lock`), labelled with who holds it, its session, fault, deadline and
//! journal. The engine makes the name unique, so creating it is the compare-and-swap: a second
//! console's create gets 409 and reads who holds it. Container labels cannot change, so the
//! hold is not renewed: a holder is alive while its deadline has not passed, and an observer on
//! the same machine also knows at once when its console is gone (its journal is no longer
//! locked). An emergency stop asked by another console is a second named container
//! (`gameday-lock-stop`) naming the lock it is for; the holder watches both through the
//! engine's event stream. A take-over removes the lock container by the id that was seen (of
//! two that try, one gets 404) and creates its own.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use bollard::models::{ContainerCreateBody, HostConfig};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, EventsOptionsBuilder, InspectContainerOptions, ListImagesOptions,
    RemoveContainerOptionsBuilder,
};
use bollard::Docker;
use futures::StreamExt;
use tokio::sync::mpsc::UnboundedSender;

use super::errors::status;
use super::topology::HELPER;
use crate::backend::lock::{ClusterLock, LockError};
use crate::model::Holder;
use crate::model::TopologyDelta;

/// The lock container's name.
pub const LOCK: &str = "gameday-lock";
/// The emergency stop's container name.
pub const STOP: &str = "gameday-lock-stop";

const WHO: &str = "gameday.lock.who";
const SESSION: &str = "gameday.lock.session";
const FAULT: &str = "gameday.lock.fault";
const WHAT: &str = "gameday.lock.what";
const DEADLINE: &str = "gameday.lock.deadline";
const JOURNAL: &str = "gameday.lock.journal";
const STOP_BY: &str = "gameday.lock.stop-by";
const STOP_FOR: &str = "gameday.lock.stop-for";

/// How often the holder is read again besides the event stream (a console on this machine can
/// die without any engine event).
const REREAD: Duration = Duration::from_secs(1);

pub struct DockerLock {
    docker: Docker,
    host: String,
}

impl DockerLock {
    pub fn new(docker: Docker, host: &str) -> DockerLock {
        DockerLock { docker, host: host.to_string() }
    }

    fn failed(&self, doing: &str, e: bollard::errors::Error) -> LockError {
        LockError::Failed(format!("{doing} the engine's lock container {LOCK}: {e}"))
    }

    async fn inspect(&self, name: &str) -> Result<Option<(String, HashMap<String, String>)>, LockError> {
        match self.docker.inspect_container(name, None::<InspectContainerOptions>).await {
            Ok(c) => Ok(Some((c.id.unwrap_or_default(), c.config.and_then(|c| c.labels).unwrap_or_default()))),
            Err(e) if status(&e) == Some(404) => Ok(None),
            Err(e) => Err(self.failed("reading", e)),
        }
    }

    /// Any image on the engine, to make a never-started container from (the engine needs one;
    /// it is never run).
    async fn image(&self) -> Result<String, LockError> {
        let images = self
            .docker
            .list_images(None::<ListImagesOptions>)
            .await
            .map_err(|e| LockError::Failed(format!("listing the engine's images: {e}")))?;
        images.into_iter().next().map(|i| i.id).ok_or_else(|| {
            LockError::Unavailable(
                "the engine has no image to make its lock container from (gameday's lock is a never-started container)"
                    .into(),
            )
        })
    }

    async fn create(&self, name: &str, labels: HashMap<String, String>) -> Result<bool, LockError> {
        let body = ContainerCreateBody {
            image: Some(self.image().await?),
            entrypoint: Some(vec!["/gameday-lock-never-runs".into()]),
            cmd: Some(Vec::new()),
            labels: Some(labels),
            network_disabled: Some(true),
            host_config: Some(HostConfig { network_mode: Some("none".into()), ..Default::default() }),
            ..Default::default()
        };
        let opts = CreateContainerOptionsBuilder::default().name(name).build();
        match self.docker.create_container(Some(opts), body).await {
            Ok(_) => Ok(true),
            Err(e) if status(&e) == Some(409) => Ok(false),
            Err(e) => Err(self.failed("creating", e)),
        }
    }

    async fn remove(&self, id: &str) -> Result<bool, LockError> {
        let opts = RemoveContainerOptionsBuilder::default().force(true).build();
        match self.docker.remove_container(id, Some(opts)).await {
            Ok(()) => Ok(true),
            Err(e) if status(&e) == Some(404) => Ok(false),
            // Being removed by someone else right now.
            Err(e) if status(&e) == Some(409) => Ok(false),
            Err(e) => Err(self.failed("removing", e)),
        }
    }

    fn labels(h: &Holder) -> HashMap<String, String> {
        HashMap::from([
            (HELPER.to_string(), "lock".to_string()),
            (WHO.to_string(), h.who.clone()),
            (SESSION.to_string(), h.session.clone()),
            (FAULT.to_string(), h.fault.to_string()),
            (WHAT.to_string(), h.what.clone()),
            (DEADLINE.to_string(), h.deadline.to_string()),
            (JOURNAL.to_string(), h.journal.clone()),
        ])
    }

    /// Takes the name for `me`: `Ok` if it is ours now (or was), `Held` with whoever has it.
    async fn take(&self, me: &Holder) -> Result<(), LockError> {
        for _ in 0..4 {
            if self.create(LOCK, Self::labels(me)).await? {
                return Ok(());
            }
            match self.current().await? {
                Some(h) if h.session == me.session && h.fault == me.fault => return Ok(()),
                Some(h) => return Err(LockError::Held(Box::new(h))),
                // Removed between our create and our read: try again.
                None => continue,
            }
        }
        Err(LockError::Conflict("the lock container kept changing".into()))
    }
}

/// The holder its labels say; `gone` when its journal is on this machine and no longer held.
pub fn holder_of(id: &str, labels: &HashMap<String, String>, stop: Option<String>) -> Option<Holder> {
    let get = |k: &str| labels.get(k).cloned().unwrap_or_default();
    let who = labels.get(WHO)?.clone();
    let mut h = Holder {
        who,
        session: get(SESSION),
        fault: get(FAULT).parse().unwrap_or(0),
        what: get(WHAT),
        deadline: get(DEADLINE).parse().unwrap_or(0),
        lease_seconds: 0,
        renewed: String::new(),
        stop,
        version: id.to_string(),
        journal: get(JOURNAL),
        gone: false,
    };
    h.gone = crate::store::machine::dead_journal(&h).is_some();
    Some(h)
}

#[async_trait]
impl ClusterLock for DockerLock {
    fn describe(&self) -> String {
        format!("lock container {LOCK} on {}", self.host)
    }

    async fn current(&self) -> Result<Option<Holder>, LockError> {
        let Some((id, labels)) = self.inspect(LOCK).await? else { return Ok(None) };
        let stop = match self.inspect(STOP).await? {
            Some((_, s)) if s.get(STOP_FOR) == Some(&id) => s.get(STOP_BY).cloned(),
            _ => None,
        };
        Ok(holder_of(&id, &labels, stop))
    }

    async fn acquire(&self, me: &Holder) -> Result<(), LockError> {
        self.take(me).await
    }

    /// Labels cannot change: the hold stands as it was taken (its deadline included). Says
    /// whether it is still ours, and any stop asked of it.
    async fn renew(&self, me: &Holder) -> Result<Holder, LockError> {
        match self.current().await? {
            Some(h) if h.session == me.session && h.fault == me.fault => Ok(h),
            Some(h) => Err(LockError::Held(Box::new(h))),
            None => Err(LockError::Failed("the lock container is gone".into())),
        }
    }

    async fn release(&self, session: &str, fault: u64) -> Result<(), LockError> {
        let Some(h) = self.current().await? else { return Ok(()) };
        if h.session != session || h.fault != fault {
            return Err(LockError::Held(Box::new(h)));
        }
        self.remove(&h.version).await?;
        if let Some((id, s)) = self.inspect(STOP).await? {
            if s.get(STOP_FOR) == Some(&h.version) {
                self.remove(&id).await?;
            }
        }
        Ok(())
    }

    async fn request_stop(&self, by: &str) -> Result<Holder, LockError> {
        let Some(h) = self.current().await? else {
            return Err(LockError::Failed("no fault holds the engine now".into()));
        };
        if let Some((id, s)) = self.inspect(STOP).await? {
            if s.get(STOP_FOR) != Some(&h.version) {
                // A stop asked of an earlier hold.
                self.remove(&id).await?;
            }
        }
        let labels = HashMap::from([
            (HELPER.to_string(), "lock".to_string()),
            (STOP_BY.to_string(), by.to_string()),
            (STOP_FOR.to_string(), h.version.clone()),
        ]);
        self.create(STOP, labels).await?;
        Ok(Holder { stop: Some(by.to_string()), ..h })
    }

    async fn take_over(&self, me: &Holder, from: &Holder) -> Result<(), LockError> {
        // Removed by the id that was seen: of several that try, one succeeds.
        if from.version.is_empty() || !self.remove(&from.version).await? {
            return Err(LockError::Conflict(format!("{LOCK} changed since it was seen")));
        }
        match self.create(LOCK, Self::labels(me)).await? {
            true => Ok(()),
            false => Err(LockError::Conflict(format!("someone else took {LOCK} meanwhile"))),
        }
    }

    fn watch(&self, tx: UnboundedSender<TopologyDelta>) {
        let lock = DockerLock { docker: self.docker.clone(), host: self.host.clone() };
        tokio::spawn(async move {
            let filters = HashMap::from([("type", vec!["container"]), ("label", vec![HELPER])]);
            let mut events = lock.docker.events(Some(EventsOptionsBuilder::default().filters(&filters).build()));
            let mut reread = tokio::time::interval(REREAD);
            let mut last: Option<Option<Holder>> = None;
            loop {
                tokio::select! {
                    ev = events.next() => match ev {
                        Some(Ok(_)) => {}
                        // The stream ended (the engine restarted): the re-reads go on; start again.
                        Some(Err(_)) | None => {
                            tokio::time::sleep(REREAD).await;
                            events = lock.docker.events(Some(EventsOptionsBuilder::default().filters(&filters).build()));
                        }
                    },
                    _ = reread.tick() => {}
                }
                let Ok(now) = lock.current().await else { continue };
                if last.as_ref() != Some(&now) {
                    if tx.send(TopologyDelta::Holder(now.clone())).is_err() {
                        return;
                    }
                    last = Some(now);
                }
            }
        });
    }
}
