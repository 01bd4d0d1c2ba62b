//! What goes on the wire of a served drill, a JSON object per line: the picture of the system
//! (a whole one, then what changes), the facilitator's entries, and a ping that says the
//! server is there.

use serde::{Deserialize, Serialize};

use crate::model::topology::{Node, Pod, Topology, Workload};
use crate::model::{BackendInfo, TopologyDelta};
use crate::timeline::Entry;

/// The header a request carries its join token in.
pub const TOKEN_HEADER: &str = "x-gameday-drill-token";
/// A stream with nothing to say sends a ping this often.
pub const PING: std::time::Duration = std::time::Duration::from_secs(3);
/// A stream silent this long is lost.
pub const SILENCE: std::time::Duration = std::time::Duration::from_secs(10);

/// What a responder learns first.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Hello {
    pub session: String,
    pub backend: BackendInfo,
    /// The facilitator's gameday: the frames are its own types, read only by the same version.
    #[serde(default)]
    pub version: String,
}

/// This build's version, said in its `Hello`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Frame {
    /// The whole picture now (the first frame of a picture stream).
    Picture { workloads: Vec<Workload>, pods: Vec<Pod>, nodes: Vec<Node>, calls: Vec<(String, String)> },
    /// A change of the picture or of the system's health, as the console saw it.
    Change(TopologyDelta),
    /// The facilitator's entries, in order.
    Entries(Vec<Entry>),
    /// Nothing new; the server is there.
    Ping,
    /// The facilitator's session has ended: nothing more will come.
    Closed,
}

impl Frame {
    pub fn picture(t: &Topology) -> Frame {
        Frame::Picture {
            workloads: t.workloads().cloned().collect(),
            pods: t.pods().cloned().collect(),
            nodes: t.nodes().values().cloned().collect(),
            calls: t.calls().to_vec(),
        }
    }

    /// What of a delta goes to a responder: the picture and the system's health. What is the
    /// console's own business (its lock, its faults' lapses and ends, the engines it found, the
    /// namespaces it may not touch) stays.
    pub fn of(delta: TopologyDelta) -> Option<Frame> {
        Some(match delta {
            TopologyDelta::Snapshot(t) => Frame::picture(&t),
            TopologyDelta::Lock { .. }
            | TopologyDelta::Capability { .. }
            | TopologyDelta::FaultLapsed { .. }
            | TopologyDelta::FaultRunsOn { .. }
            | TopologyDelta::FaultFinished { .. }
            | TopologyDelta::Holder(_)
            | TopologyDelta::Watchdog(_) => return None,
            // Named one by one: a kind added later is decided here, never sent by default.
            change @ (TopologyDelta::UpsertWorkload(_)
            | TopologyDelta::RemoveWorkload { .. }
            | TopologyDelta::UpsertPod(_)
            | TopologyDelta::RemovePod { .. }
            | TopologyDelta::UpsertNode(_)
            | TopologyDelta::RemoveNode { .. }
            | TopologyDelta::Samples(_)
            | TopologyDelta::Signals(_)
            | TopologyDelta::Usage { .. }
            | TopologyDelta::Source { .. }
            | TopologyDelta::ClusterEvent { .. }
            | TopologyDelta::Connection { .. }
            | TopologyDelta::Reachable { .. }) => Frame::Change(change),
        })
    }

    /// The delta a picture frame is on the responder's side (`None`: not a picture frame).
    pub fn delta(self) -> Option<TopologyDelta> {
        Some(match self {
            Frame::Picture { workloads, pods, nodes, calls } => {
                let mut t = Topology::default();
                workloads.into_iter().for_each(|w| t.upsert_workload(w));
                pods.into_iter().for_each(|p| t.upsert_pod(p));
                nodes.into_iter().for_each(|n| t.upsert_node(n));
                t.set_calls(calls);
                TopologyDelta::Snapshot(t)
            }
            Frame::Change(change) => change,
            Frame::Entries(_) | Frame::Ping | Frame::Closed => return None,
        })
    }

    /// The frame as a line on the wire.
    pub fn line(&self) -> Vec<u8> {
        let mut v = serde_json::to_vec(self).unwrap_or_else(|_| b"\"ping\"".to_vec());
        v.push(b'\n');
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_console_own_business_stays_and_the_picture_goes_both_ways() {
        assert_eq!(Frame::of(TopologyDelta::Holder(None)), None);
        assert_eq!(Frame::of(TopologyDelta::Lock { namespace: "x".into(), reason: None }), None);
        let gone = TopologyDelta::RemovePod { namespace: "ns".into(), name: "p".into() };
        let frame = Frame::of(gone.clone()).unwrap();
        let back: Frame = serde_json::from_slice(&frame.line()).unwrap();
        assert_eq!(back.delta(), Some(gone));
        assert_eq!(Frame::Ping.delta(), None);
    }
}
