//! Pods grouped under their workloads: through ownerReferences (pod > ReplicaSet >
//! Deployment), a workload's record from its object, or from its pods for owners not watched.

use super::{Cluster, Key, PodInfo, WorkloadInfo};
use crate::model::{Pod, TopologyDelta, Workload};

impl Cluster {
    /// The workload a pod belongs to: its controller, or the Deployment above its ReplicaSet.
    pub(super) fn workload_of(&self, ns: &str, owner: &Option<(String, String)>, pod_name: &str) -> String {
        match owner {
            Some((kind, name)) if kind == "ReplicaSet" => match self.rs_owner.get(&(ns.to_string(), name.clone())) {
                Some(Some(deployment)) => deployment.clone(),
                _ => name.clone(),
            },
            Some((_, name)) => name.clone(),
            None => pod_name.to_string(),
        }
    }

    pub(super) fn put_pod(&mut self, k: Key, mut info: PodInfo, out: &mut Vec<TopologyDelta>) {
        let workload = self.workload_of(&k.0, &info.owner, &k.1);
        info.pod.workload = Some(workload.clone());
        if self.policy.own_pod.as_ref() == Some(&k)
            && !info.pod.note.as_deref().is_some_and(|n| n.starts_with("this console"))
        {
            info.pod.note = Some(match info.pod.note.take() {
                Some(n) => format!("this console, {n}"),
                None => "this console".into(),
            });
        }
        let old = self.topo.pod(&k.0, &k.1);
        let old_workload = old.and_then(|p| p.workload.clone());
        if let Some((_, owner)) = &info.owner {
            self.by_owner.entry((k.0.clone(), owner.clone())).or_default().insert(k.1.clone());
        }
        if old == Some(&info.pod) && self.pods.get(&k) == Some(&info.owner) {
            return;
        }
        self.pods.insert(k.clone(), info.owner);
        // Until the first picture is sent whole, a pod's change is in it: no delta of its own.
        if self.announced {
            out.push(TopologyDelta::UpsertPod(info.pod.clone()));
        }
        self.topo.upsert_pod(info.pod);
        self.refresh_workload(&k.0, &workload, out);
        if let Some(old) = old_workload.filter(|o| *o != workload) {
            self.refresh_workload(&k.0, &old, out);
        }
    }

    pub(super) fn remove_pod(&mut self, k: &Key, out: &mut Vec<TopologyDelta>) {
        let Some(owner) = self.pods.remove(k) else { return };
        let workload = self.topo.pod(&k.0, &k.1).and_then(|p| p.workload.clone());
        if let Some((_, owner)) = &owner {
            if let Some(set) = self.by_owner.get_mut(&(k.0.clone(), owner.clone())) {
                set.remove(&k.1);
            }
        }
        self.topo.remove_pod(&k.0, &k.1);
        out.push(TopologyDelta::RemovePod { namespace: k.0.clone(), name: k.1.clone() });
        if let Some(w) = workload {
            self.refresh_workload(&k.0, &w, out);
        }
    }

    /// A ReplicaSet's owner became known (or changed): its pods move under it.
    pub(super) fn regroup_pods_of(&mut self, rs: &Key, out: &mut Vec<TopologyDelta>) {
        let names: Vec<String> = self.by_owner.get(rs).map(|s| s.iter().cloned().collect()).unwrap_or_default();
        for name in names {
            let k = (rs.0.clone(), name);
            let (owner, pod) = (self.pods.get(&k).cloned(), self.topo.pod(&k.0, &k.1).cloned());
            if let (Some(owner), Some(pod)) = (owner, pod) {
                self.put_pod(k, PodInfo { owner, pod }, out);
            }
        }
    }

    pub(super) fn put_workload(&mut self, k: Key, info: WorkloadInfo, out: &mut Vec<TopologyDelta>) {
        if self.workloads.get(&k) != Some(&info) {
            self.workloads.insert(k.clone(), info);
            self.refresh_workload(&k.0, &k.1, out);
        }
    }

    pub(super) fn drop_workload(&mut self, k: &Key, kind: &str, out: &mut Vec<TopologyDelta>) {
        if self.workloads.get(k).is_some_and(|w| w.kind == kind) {
            self.workloads.remove(k);
            self.refresh_workload(&k.0, &k.1, out);
        }
    }

    /// Recomputes one workload's record from its object (or, for owners we do not watch, its
    /// pods) and its services; sends it if it changed.
    pub(super) fn refresh_workload(&mut self, ns: &str, name: &str, out: &mut Vec<TopologyDelta>) {
        if !self.announced {
            self.stale.insert((ns.to_string(), name.to_string()));
            return;
        }
        let info = self.workloads.get(&(ns.to_string(), name.to_string()));
        let pods: Vec<&Pod> = if info.is_none() { self.topo.pods_of(ns, name).collect() } else { Vec::new() };
        let record = match info {
            Some(w) => Some(Workload {
                namespace: ns.into(),
                name: name.into(),
                kind: w.kind.into(),
                desired: w.desired,
                ready: w.ready,
                note: self.service_note(ns, &w.template_labels),
            }),
            None if pods.is_empty() => None,
            None => Some(Workload {
                namespace: ns.into(),
                name: name.into(),
                kind: if pods.len() == 1 && pods[0].name == name { "Pod".into() } else { "Job".into() },
                desired: pods.len() as u32,
                ready: pods.iter().filter(|p| p.ready).count() as u32,
                note: None,
            }),
        };
        match record {
            Some(w) if self.topo.workload(ns, name) != Some(&w) => {
                self.topo.upsert_workload(w.clone());
                out.push(TopologyDelta::UpsertWorkload(w));
                self.announce(ns, out);
            }
            Some(_) => {}
            None if self.topo.workload(ns, name).is_some() => {
                self.topo.remove_workload(ns, name);
                out.push(TopologyDelta::RemoveWorkload { namespace: ns.into(), name: name.into() });
            }
            None => {}
        }
    }
}
