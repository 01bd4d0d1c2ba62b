//! PodDisruptionBudgets, as the cluster's disruption controller counts them: which pods each
//! selects, and how many of them it lets go now (`status.disruptionsAllowed`). Evictions honour
//! them; a preview says what they will refuse.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::api::{Api, ListParams};

use crate::backend::kube::kit::{api_err, Ctx};
use crate::backend::BackendError;

/// One budget of a namespace.
pub struct Budget {
    pub namespace: String,
    pub name: String,
    selector: Option<LabelSelector>,
    /// What the disruption controller allows now; `None` until it has written a status.
    pub allowed: Option<i32>,
}

impl Budget {
    /// Whether it counts this pod (one of its namespace that its selector selects).
    pub fn selects(&self, pod: &Pod) -> bool {
        if pod.metadata.namespace.as_deref() != Some(self.namespace.as_str()) {
            return false;
        }
        let labels = pod.metadata.labels.clone().unwrap_or_default();
        self.selector.as_ref().is_some_and(|s| selector_matches(s, &labels))
    }

    /// "PodDisruptionBudget shop/carts"
    pub fn name(&self) -> String {
        format!("PodDisruptionBudget {}/{}", self.namespace, self.name)
    }
}

/// The budgets of a namespace.
pub async fn of_namespace(ctx: &Ctx, ns: &str) -> Result<Vec<Budget>, BackendError> {
    let list = Api::<PodDisruptionBudget>::namespaced(ctx.client.clone(), ns)
        .list(&ListParams::default())
        .await
        .map_err(|e| api_err(&format!("PodDisruptionBudgets of {ns}"), e))?;
    Ok(list
        .items
        .into_iter()
        .map(|b| Budget {
            namespace: ns.to_string(),
            name: b.metadata.name.unwrap_or_default(),
            selector: b.spec.and_then(|s| s.selector),
            allowed: b.status.and_then(|s| s.disruptions_allowed),
        })
        .collect())
}

/// A label selector (matchLabels and matchExpressions) against a pod's labels. An empty
/// selector selects everything, as the API defines it for a PodDisruptionBudget in policy/v1.
pub fn selector_matches(s: &LabelSelector, labels: &BTreeMap<String, String>) -> bool {
    let by_labels = s.match_labels.iter().flatten().all(|(k, v)| labels.get(k) == Some(v));
    let by_expressions = s.match_expressions.iter().flatten().all(|e| {
        let values = e.values.clone().unwrap_or_default();
        match (e.operator.as_str(), labels.get(&e.key)) {
            ("In", Some(v)) => values.contains(v),
            ("In", None) => false,
            ("NotIn", v) => v.is_none_or(|v| !values.contains(v)),
            ("Exists", v) => v.is_some(),
            ("DoesNotExist", v) => v.is_none(),
            _ => false,
        }
    });
    by_labels && by_expressions
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelectorRequirement;

    #[test]
    fn match_labels_and_expressions() {
        let labels: BTreeMap<String, String> =
            [("app".to_string(), "carts".to_string()), ("tier".to_string(), "web".to_string())].into();
        let req = |key: &str, op: &str, values: &[&str]| LabelSelectorRequirement {
            key: key.into(),
            operator: op.into(),
            values: Some(values.iter().map(|v| v.to_string()).collect()),
        };
        let s = |ml: &[(&str, &str)], me: Vec<LabelSelectorRequirement>| LabelSelector {
            match_labels: Some(ml.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()),
            match_expressions: Some(me),
        };
        assert!(selector_matches(&s(&[("app", "carts")], vec![]), &labels));
        assert!(!selector_matches(&s(&[("app", "front")], vec![]), &labels));
        assert!(selector_matches(&s(&[], vec![req("tier", "In", &["web", "api"])]), &labels));
        assert!(!selector_matches(&s(&[], vec![req("tier", "NotIn", &["web"])]), &labels));
        assert!(selector_matches(&s(&[], vec![req("zone", "DoesNotExist", &[])]), &labels));
        assert!(!selector_matches(&s(&[], vec![req("zone", "Exists", &[])]), &labels));
        assert!(selector_matches(&LabelSelector::default(), &labels), "empty selects all");
    }
}
