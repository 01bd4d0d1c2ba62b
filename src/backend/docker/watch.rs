//! The Docker picture, live: one list of every container for the first picture, then the
//! engine's event stream (never polling); each event re-reads only the container it names.
//! When the stream breaks (the engine restarted), the screen hears "disconnected", and the
//! watcher reconnects by itself and sends a fresh picture.

use std::collections::HashMap;
use std::time::Duration;

use bollard::models::{EventMessage, EventMessageTypeEnum};
use bollard::query_parameters::{EventsOptionsBuilder, InspectContainerOptions, ListContainersOptionsBuilder};
use bollard::Docker;
use futures::StreamExt;
use tokio::sync::mpsc::UnboundedSender;

use super::helper;
use super::topology::{workload_of, Ctr, HELPER};
use crate::model::{Node, Topology, TopologyDelta};

/// At most this many containers are inspected at once (restart counts after the first picture).
const INSPECT_AT_ONCE: usize = 16;

struct Watcher {
    docker: Docker,
    host: String,
    /// The console's own container, if it runs in one: shown, never a target.
    own: Option<String>,
    tx: UnboundedSender<TopologyDelta>,
    topo: Topology,
    /// container id -> (namespace, name) of its pod
    ids: HashMap<String, (String, String)>,
    /// Workloads whose published port was announced (a default probe for each): the container
    /// whose port it is, and the address.
    reachable: HashMap<String, (String, String)>,
}

pub fn spawn(docker: Docker, host: String, own: Option<String>, tx: UnboundedSender<TopologyDelta>) {
    let w = Watcher {
        docker,
        host,
        own,
        tx,
        topo: Topology::default(),
        ids: HashMap::new(),
        reachable: Default::default(),
    };
    tokio::spawn(w.run());
}

impl Watcher {
    fn send(&self, d: TopologyDelta) -> bool {
        self.tx.send(d).is_ok()
    }

    async fn run(mut self) {
        let mut connected: Option<bool> = None;
        let mut backoff = Duration::from_millis(250);
        loop {
            let since = chrono::Utc::now().timestamp() - 1;
            match self.resync().await {
                Ok(version) => {
                    if connected != Some(true)
                        && !self.send(TopologyDelta::Connection { connected: true, detail: version })
                    {
                        return;
                    }
                    connected = Some(true);
                    backoff = Duration::from_millis(250);
                }
                Err(e) => {
                    if connected != Some(false) && !self.send(TopologyDelta::Connection { connected: false, detail: e })
                    {
                        return;
                    }
                    connected = Some(false);
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                    continue;
                }
            }
            self.fill_restart_counts().await;
            let filters = HashMap::from([("type", vec!["container", "network"])]);
            let since = since.to_string();
            let opts = EventsOptionsBuilder::default().since(&since).filters(&filters).build();
            let mut events = self.docker.events(Some(opts));
            let why = loop {
                match events.next().await {
                    Some(Ok(m)) => {
                        if !self.on_event(m).await {
                            return; // the console is gone
                        }
                    }
                    Some(Err(e)) => break e.to_string(),
                    None => break "the event stream closed".to_string(),
                }
            };
            if self.tx.is_closed() {
                return;
            }
            if self.docker.ping().await.is_err() {
                if !self.send(TopologyDelta::Connection { connected: false, detail: why }) {
                    return;
                }
                connected = Some(false);
            }
        }
    }

    /// Lists every container and sends the whole picture; returns the engine's version.
    async fn resync(&mut self) -> Result<String, String> {
        let version = self.docker.version().await.map_err(|e| format!("the Docker engine does not answer: {e}"))?;
        let opts = ListContainersOptionsBuilder::default().all(true).build();
        let list = self.docker.list_containers(Some(opts)).await.map_err(|e| format!("listing containers: {e}"))?;
        let mut topo = Topology::default();
        let ctrs: Vec<Ctr> = list.iter().filter_map(Ctr::from_summary).filter(|c| !c.is_helper()).collect();
        // Every id first: a container that joined another's network namespace names it.
        self.ids = ctrs.iter().map(|c| (c.id.clone(), (c.namespace().to_string(), c.name.clone()))).collect();
        for c in &ctrs {
            topo.upsert_pod(self.pod_of(c));
        }
        let keys: Vec<(String, String)> =
            topo.pods().filter_map(|p| p.workload.clone().map(|w| (p.namespace.clone(), w))).collect();
        for (ns, name) in keys {
            if let Some(w) = workload_of(&topo, &ns, &name) {
                topo.upsert_workload(w);
            }
        }
        topo.upsert_node(Node { name: self.host.clone(), ready: true, unschedulable: false, note: None });
        self.topo = topo.clone();
        self.send(TopologyDelta::Snapshot(topo));
        for c in list.iter().filter_map(Ctr::from_summary).filter(|c| !c.is_helper()) {
            self.announce(&c);
        }
        Ok(format!("Docker engine {}", version.version.unwrap_or_default()))
    }

    /// The list has no restart counts: inspect every container, a few at a time.
    async fn fill_restart_counts(&mut self) {
        let ids: Vec<String> = self.ids.keys().cloned().collect();
        let docker = self.docker.clone();
        let mut inspected = futures::stream::iter(ids)
            .map(|id| {
                let docker = docker.clone();
                async move { docker.inspect_container(&id, None::<InspectContainerOptions>).await }
            })
            .buffer_unordered(INSPECT_AT_ONCE);
        let mut found = Vec::new();
        while let Some(r) = inspected.next().await {
            if let Some(c) = r.ok().as_ref().and_then(Ctr::from_inspect) {
                found.push(c);
            }
        }
        for c in found {
            self.upsert(c);
        }
    }

    /// A container as the console shows it: the namespace it joined named, the console's own
    /// container marked.
    fn pod_of(&self, c: &Ctr) -> crate::model::Pod {
        let owner = c.joined().and_then(|id| {
            self.ids.iter().find(|(k, _)| k.starts_with(id) || id.starts_with(k.as_str())).map(|(_, (_, n))| n.as_str())
        });
        let own = self.own.as_deref().is_some_and(|o| c.id.starts_with(o) || o.starts_with(&c.id));
        c.pod(&self.host, owner, own)
    }

    /// A workload with a published port can be probed from here: said once per workload, and
    /// again when that container's port moves (a restart publishes a new host port).
    fn announce(&mut self, c: &Ctr) {
        let Some(addr) = &c.published else { return };
        let service = format!("{}/{}", c.namespace(), c.workload());
        let news = match self.reachable.get(&service) {
            None => true,
            Some((id, old)) => *id == c.id && old != addr,
        };
        if news {
            self.reachable.insert(service.clone(), (c.id.clone(), addr.clone()));
            self.send(TopologyDelta::Reachable { service, addr: addr.clone() });
        }
    }

    /// Puts a container's pod (and its workload) in the picture, sending what changed.
    fn upsert(&mut self, c: Ctr) {
        if c.is_helper() {
            return;
        }
        self.announce(&c);
        let pod = self.pod_of(&c);
        let old = self.ids.insert(c.id.clone(), (pod.namespace.clone(), pod.name.clone()));
        let old_workload = old
            .as_ref()
            .and_then(|(ns, name)| self.topo.pod(ns, name).and_then(|p| p.workload.clone().map(|w| (ns.clone(), w))));
        if self.topo.pod(&pod.namespace, &pod.name) != Some(&pod) {
            let key = (pod.namespace.clone(), pod.workload.clone().unwrap_or_default());
            self.topo.upsert_pod(pod.clone());
            self.send(TopologyDelta::UpsertPod(pod));
            self.refresh_workload(&key.0, &key.1);
        }
        if let Some((ns, w)) = old_workload {
            self.refresh_workload(&ns, &w);
        }
    }

    fn remove(&mut self, id: &str) {
        let Some((ns, name)) = self.ids.remove(id) else { return };
        let workload = self.topo.pod(&ns, &name).and_then(|p| p.workload.clone());
        self.topo.remove_pod(&ns, &name);
        self.send(TopologyDelta::RemovePod { namespace: ns.clone(), name });
        if let Some(w) = workload {
            self.refresh_workload(&ns, &w);
        }
    }

    fn refresh_workload(&mut self, ns: &str, name: &str) {
        match workload_of(&self.topo, ns, name) {
            Some(w) if self.topo.workload(ns, name) != Some(&w) => {
                self.topo.upsert_workload(w.clone());
                self.send(TopologyDelta::UpsertWorkload(w));
            }
            Some(_) => {}
            None if self.topo.workload(ns, name).is_some() => {
                self.topo.remove_workload(ns, name);
                self.send(TopologyDelta::RemoveWorkload { namespace: ns.to_string(), name: name.to_string() });
            }
            None => {}
        }
    }

    /// One event: re-read the container it names. Returns false once nobody listens.
    async fn on_event(&mut self, m: EventMessage) -> bool {
        let action = m.action.clone().unwrap_or_default();
        let attrs = m.actor.as_ref().and_then(|a| a.attributes.clone()).unwrap_or_default();
        let (id, what) = match m.typ {
            Some(EventMessageTypeEnum::CONTAINER) => {
                // Health checks run as execs every interval: noise.
                if action.starts_with("exec_") || attrs.contains_key(HELPER) {
                    return !self.tx.is_closed();
                }
                let id = m.actor.as_ref().and_then(|a| a.id.clone()).unwrap_or_default();
                (id, describe(&action, &attrs))
            }
            Some(EventMessageTypeEnum::NETWORK) if action == "connect" || action == "disconnect" => {
                let id = attrs.get("container").cloned().unwrap_or_default();
                // A container the picture does not show (gameday's own lock, stop request or
                // marker, a helper) is not news; nor is a new container joining its networks as
                // it starts (its own events put it in the picture). Without this, an event's
                // `name` (the network's) was taken for the container's: "container none".
                if !self.ids.contains_key(&id) {
                    return !self.tx.is_closed();
                }
                let net = attrs.get("name").cloned().unwrap_or_default();
                let verb = if action == "connect" { "connected to" } else { "disconnected from" };
                (id, Some((format!("{verb} network {net}"), action == "disconnect")))
            }
            _ => return !self.tx.is_closed(),
        };
        let mut what = what;
        if action == "destroy" {
            if let Some(faults) = self.faults_on(&id).await {
                what = Some((format!("removed while {faults} was on it"), true));
            }
            self.remove(&id);
        } else {
            match self.docker.inspect_container(&id, None::<InspectContainerOptions>).await {
                Ok(i) => {
                    if let Some(c) = Ctr::from_inspect(&i) {
                        if c.is_helper() {
                            return !self.tx.is_closed();
                        }
                        self.upsert(c);
                    }
                }
                Err(_) => self.remove(&id),
            }
        }
        if action == "die" {
            for d in self.lapsed(&id).await {
                if !self.send(d) {
                    return false;
                }
            }
        }
        if let (Some((message, warning)), Some((ns, name))) =
            (what, self.ids.get(&id).cloned().or_else(|| attrs.get("name").map(|n| ("?".to_string(), n.clone()))))
        {
            let object = if ns == "?" { format!("container {name}") } else { format!("container {ns}/{name}") };
            if !self.send(TopologyDelta::ClusterEvent { object, message, warning }) {
                return false;
            }
        }
        !self.tx.is_closed()
    }
}

impl Watcher {
    /// The faults whose marker names this container as a target ("fault #3 (container-pause on
    /// shop/web)"), if any.
    async fn faults_on(&self, id: &str) -> Option<String> {
        let found = super::markers::find(&self.docker).await.ok()?;
        let on: Vec<String> = found
            .iter()
            .filter(|m| m.plan.targets().iter().any(|t| t.id == id))
            .map(|m| format!("fault #{} ({}) of session {}", m.fault, m.what, m.session))
            .collect();
        (!on.is_empty()).then(|| on.join(", "))
    }

    /// A container died: the network faults on it lost their qdisc with its network namespace
    /// (a restart gets a new one). A fault whose every target did is no longer in effect.
    async fn lapsed(&self, id: &str) -> Vec<TopologyDelta> {
        let running = |labels: Vec<String>| {
            let docker = self.docker.clone();
            async move {
                let filters = HashMap::from([("label", labels), ("status", vec!["running".to_string()])]);
                let opts = ListContainersOptionsBuilder::default().filters(&filters).build();
                docker.list_containers(Some(opts)).await.unwrap_or_default()
            }
        };
        let mut out = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for h in running(vec![format!("{HELPER}=netem"), format!("{}={id}", helper::TARGET)]).await {
            let labels = h.labels.unwrap_or_default();
            let get = |k: &str| labels.get(k).cloned().unwrap_or_default();
            let (session, fault) = (get(helper::SESSION), get(helper::FAULT));
            if !seen.insert((session.clone(), fault.clone())) {
                continue;
            }
            let Ok(fault_id) = fault.parse::<u64>() else { continue };
            // Every target of that fault: is any still in the namespace its helper shapes?
            let siblings = running(vec![
                format!("{HELPER}=netem"),
                format!("{}={session}", helper::SESSION),
                format!("{}={fault}", helper::FAULT),
            ])
            .await;
            let mut gone = Vec::new();
            let mut still = Vec::new();
            for s in siblings {
                let l = s.labels.unwrap_or_default();
                let target = l.get(helper::TARGET).cloned().unwrap_or_default();
                let name = l.get(helper::TARGET_NAME).cloned().unwrap_or_default();
                let created = s.created.unwrap_or(0);
                let alive = match self.docker.inspect_container(&target, None::<InspectContainerOptions>).await {
                    Ok(i) => {
                        let state = i.state.unwrap_or_default();
                        let started = state
                            .started_at
                            .and_then(|t| chrono::DateTime::parse_from_rfc3339(&t).ok())
                            .map(|t| t.timestamp())
                            .unwrap_or(0);
                        target != id && state.running == Some(true) && started <= created
                    }
                    Err(_) => false,
                };
                if alive {
                    still.push(name);
                } else {
                    gone.push(name);
                }
            }
            let why = format!(
                "{} stopped or restarted, and its qdisc went with its network namespace",
                if gone.is_empty() { "its target".to_string() } else { gone.join(", ") }
            );
            if still.is_empty() {
                out.push(TopologyDelta::FaultLapsed { session, fault: fault_id, why });
            } else {
                out.push(TopologyDelta::ClusterEvent {
                    object: format!("fault #{fault_id}"),
                    message: format!("no longer on {} ({why}); still on {}", gone.join(", "), still.join(", ")),
                    warning: true,
                });
            }
        }
        out
    }
}

/// The timeline line for a container event worth one, and whether it is bad news.
fn describe(action: &str, attrs: &HashMap<String, String>) -> Option<(String, bool)> {
    let exit = attrs.get("exitCode").map(String::as_str).unwrap_or("?");
    Some(match action {
        "create" => ("created".into(), false),
        "start" => ("started".into(), false),
        "restart" => ("restarted".into(), true),
        "die" => (format!("died (exit {exit})"), exit != "0"),
        "kill" => (format!("killed ({})", attrs.get("signal").map(String::as_str).unwrap_or("?")), true),
        "stop" => ("stopped".into(), true),
        "pause" => ("paused".into(), true),
        "unpause" => ("unpaused".into(), false),
        "oom" => ("out of memory (OOM killed)".into(), true),
        "destroy" => ("removed".into(), true),
        "update" => ("resources updated".into(), false),
        a if a.starts_with("health_status") => {
            let status = a.trim_start_matches("health_status").trim_start_matches(':').trim();
            (format!("health: {status}"), status != "healthy")
        }
        _ => return None,
    })
}
