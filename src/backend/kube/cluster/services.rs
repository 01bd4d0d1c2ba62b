//! Services in the picture: which workloads each selects, their endpoints (ready/total over
//! their EndpointSlices), and the addresses reachable from outside the cluster.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::Service;

use super::{Cluster, Key};
use crate::model::TopologyDelta;

impl Cluster {
    /// "svc carts 2/3 endpoints" for the services of this namespace that select this template.
    pub(super) fn service_note(&self, ns: &str, template: &BTreeMap<String, String>) -> Option<String> {
        let services = self.services.get(ns)?;
        let parts: Vec<String> = services
            .iter()
            .filter(|(_, sel)| !sel.is_empty() && selects(sel, template))
            .map(|(svc, _)| {
                let (ready, total) = self.endpoints.get(&(ns.to_string(), svc.clone())).copied().unwrap_or((0, 0));
                format!("svc {svc} {ready}/{total} endpoints")
            })
            .collect();
        (!parts.is_empty()).then(|| parts.join(", "))
    }

    /// The workloads of `ns` that a service reachable from outside selects can be probed from
    /// here: each is said once (`Reachable`), and the console gives it a default probe.
    pub(super) fn announce(&mut self, ns: &str, out: &mut Vec<TopologyDelta>) {
        for ((sns, svc), addr) in self.addresses.range((ns.to_string(), String::new())..) {
            if sns != ns {
                break;
            }
            let Some(sel) = self.services.get(ns).and_then(|m| m.get(svc)).filter(|s| !s.is_empty()) else { continue };
            for ((wns, name), w) in &self.workloads {
                let service = format!("{wns}/{name}");
                if wns == ns && selects(sel, &w.template_labels) && self.reachable.insert(service.clone()) {
                    out.push(TopologyDelta::Reachable { service, addr: addr.clone() });
                }
            }
        }
    }

    pub(super) fn remove_service(&mut self, k: &Key, out: &mut Vec<TopologyDelta>) {
        self.addresses.remove(k);
        let removed = self.services.get_mut(&k.0).and_then(|m| m.remove(&k.1));
        if let Some(sel) = removed {
            self.refresh_selected(&k.0, &sel, out);
        }
    }

    /// A slice appeared, changed (`Some`) or went (`None`): the service's totals follow.
    pub(super) fn put_slice(&mut self, k: &Key, val: Option<(String, u32, u32)>, out: &mut Vec<TopologyDelta>) {
        let old = self.slices.get(k).cloned();
        if old == val {
            return;
        }
        for (v, sign) in [(&old, -1i64), (&val, 1)] {
            if let Some((svc, ready, total)) = v {
                let e = self.endpoints.entry((k.0.clone(), svc.clone())).or_insert((0, 0));
                e.0 = (e.0 as i64 + sign * *ready as i64).max(0) as u32;
                e.1 = (e.1 as i64 + sign * *total as i64).max(0) as u32;
            }
        }
        match &val {
            Some(v) => self.slices.insert(k.clone(), v.clone()),
            None => self.slices.remove(k),
        };
        let svcs: BTreeSet<String> = [old, val].into_iter().flatten().map(|v| v.0).collect();
        for svc in svcs {
            self.refresh_service(&k.0, &svc, out);
        }
    }

    /// A service or its endpoints changed: refresh the workloads it selects.
    pub(super) fn refresh_service(&mut self, ns: &str, svc: &str, out: &mut Vec<TopologyDelta>) {
        if let Some(sel) = self.services.get(ns).and_then(|m| m.get(svc)).cloned() {
            self.refresh_selected(ns, &sel, out);
        }
    }

    pub(super) fn refresh_selected(&mut self, ns: &str, sel: &BTreeMap<String, String>, out: &mut Vec<TopologyDelta>) {
        let targets: Vec<String> = self
            .workloads
            .iter()
            .filter(|((wns, _), w)| wns == ns && selects(sel, &w.template_labels))
            .map(|((_, n), _)| n.clone())
            .collect();
        for name in targets {
            self.refresh_workload(ns, &name, out);
        }
    }
}

/// Whether a service's selector selects a pod template's labels.
pub(super) fn selects(selector: &BTreeMap<String, String>, labels: &BTreeMap<String, String>) -> bool {
    selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}

/// Where a service answers from outside the cluster: its load balancer's address, or its first
/// external IP, on its first port.
pub(super) fn external_address(s: &Service) -> Option<String> {
    let spec = s.spec.as_ref()?;
    let port = spec.ports.as_ref()?.first()?.port;
    let lb = match spec.type_.as_deref() {
        Some("LoadBalancer") => s
            .status
            .as_ref()
            .and_then(|st| st.load_balancer.as_ref())
            .and_then(|lb| lb.ingress.as_ref())
            .and_then(|i| i.first())
            .and_then(|i| i.ip.clone().or_else(|| i.hostname.clone())),
        _ => None,
    };
    let host = lb.or_else(|| spec.external_ips.as_ref().and_then(|ips| ips.first().cloned()))?;
    Some(if host.contains(':') { format!("[{host}]:{port}") } else { format!("{host}:{port}") })
}
