//! The service proxy subresource, as kube-apiserver answers it
//! (`/api/v1/namespaces/{ns}/services/{[scheme:]name[:port]}/proxy/{path}`): the Service's
//! endpoint is whatever address a test registered for one of its ports (`proxy_service`), and the
//! request goes there with its method, query string, headers and body; the answer comes back as
//! the upstream gave it.
//!
//! The errors are the real server's (pkg/registry/core/service/storage `ResourceLocation` and
//! apimachinery's proxy transport): a port given by number is looked up in the Service first (404
//! `services "x" not found`, 503 `no service port 9 found for service "x"`); otherwise the
//! Endpoints are (404 `endpoints "x" not found` when the Service does not exist); no endpoint
//! for the port is 503 `no endpoints available for service "x"` (a bare name reaches only an
//! unnamed port); an endpoint that cannot be dialled is 503 `error trying to reach service: ...`.

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method};
use axum::response::Response;
use serde_json::Value;

use super::http::status;
use super::Server;

/// An address a test put behind a Service's port (matched by the port's name or number).
#[derive(Clone, Debug)]
pub struct Endpoint {
    pub ns: String,
    pub service: String,
    pub port: String,
    pub addr: String,
}

/// `[scheme:]name[:port]`, as `net.SplitSchemeNamePort` splits it (None: invalid).
pub fn split_scheme_name_port(id: &str) -> Option<(&str, &str, &str)> {
    let parts: Vec<&str> = id.split(':').collect();
    let (scheme, name, port) = match parts.as_slice() {
        [name] => ("", *name, ""),
        [name, port] => ("", *name, *port),
        [scheme, name, port] => (*scheme, *name, *port),
        _ => return None,
    };
    (!name.is_empty() && matches!(scheme, "" | "http" | "https")).then_some((scheme, name, port))
}

/// The verb RBAC checks for a proxied request of this method.
pub fn verb(method: &Method) -> &'static str {
    match *method {
        Method::POST => "create",
        Method::PUT => "update",
        Method::PATCH => "patch",
        Method::DELETE => "delete",
        _ => "get",
    }
}

/// Headers that belong to one connection, or to the caller's credentials, and are not passed on.
const HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "upgrade",
    "te",
    "trailer",
    "host",
    "content-length",
    "authorization",
];

impl Server {
    /// Answers `{method} /api/v1/namespaces/{ns}/services/{id}/proxy/{rest}?{query}`.
    #[allow(clippy::too_many_arguments)]
    pub async fn proxy_service(
        &self,
        method: &Method,
        ns: &str,
        id: &str,
        rest: &str,
        query: Option<&str>,
        headers: &HeaderMap,
        body: Bytes,
    ) -> Response {
        let verb = verb(method);
        if self.knobs.lock().unwrap().forbidden.iter().any(|(p, v)| p == "services/proxy" && v == verb) {
            return status(
                403,
                "Forbidden",
                &format!(
                    "services \"{id}\" is forbidden: User \"system:serviceaccount:test:gameday\" cannot {verb} resource \"services/proxy\" in API group \"\" in the namespace \"{ns}\""
                ),
            );
        }
        let Some((scheme, name, port)) = split_scheme_name_port(id) else {
            return status(400, "BadRequest", &format!("invalid service request \"{id}\""));
        };
        let addr = match self.endpoint(ns, name, port) {
            Ok(a) => a,
            Err(r) => return *r,
        };
        let scheme = if scheme.is_empty() { "http" } else { scheme };
        let mut url = format!("{scheme}://{addr}/{rest}");
        if let Some(q) = query {
            url.push('?');
            url.push_str(q);
        }
        let mut req = self.http.request(method.clone(), &url);
        for (k, v) in headers {
            if !HOP.contains(&k.as_str()) {
                req = req.header(k, v);
            }
        }
        match req.body(body).send().await {
            Ok(up) => {
                let mut out = Response::builder().status(up.status().as_u16());
                for (k, v) in up.headers() {
                    if !HOP.contains(&k.as_str()) {
                        out = out.header(k, v);
                    }
                }
                let bytes = up.bytes().await.unwrap_or_default();
                out.body(Body::from(bytes)).unwrap_or_else(|_| status(500, "InternalError", "proxy"))
            }
            Err(e) => {
                // As apimachinery's proxy transport words a dial that fails.
                let why = if e.is_connect() {
                    format!("dial tcp {addr}: connect: connection refused")
                } else {
                    format!("{e}")
                };
                status(503, "ServiceUnavailable", &format!("error trying to reach service: {why}"))
            }
        }
    }

    /// The address behind the Service's port, or the real server's refusal.
    fn endpoint(&self, ns: &str, name: &str, port: &str) -> Result<String, Box<Response>> {
        let svc = {
            let store = self.store.lock().unwrap();
            let res = store.res("", "services").expect("services");
            store.get(&res, ns, name).cloned()
        };
        let ports: Vec<Value> = svc.as_ref().and_then(|s| s["spec"]["ports"].as_array().cloned()).unwrap_or_default();
        let port_name = |p: &Value| p["name"].as_str().unwrap_or_default().to_string();
        // A port number names the Service's port of that number (by its name from then on).
        let wanted = match port.parse::<i64>() {
            Ok(n) => {
                if svc.is_none() {
                    return Err(Box::new(status(404, "NotFound", &format!("services \"{name}\" not found"))));
                }
                match ports.iter().find(|p| p["port"].as_i64() == Some(n)) {
                    Some(p) => port_name(p),
                    None => {
                        return Err(Box::new(status(
                            503,
                            "ServiceUnavailable",
                            &format!("no service port {n} found for service \"{name}\""),
                        )))
                    }
                }
            }
            Err(_) => port.to_string(),
        };
        // Endpoints live and die with their Service.
        if svc.is_none() {
            return Err(Box::new(status(404, "NotFound", &format!("endpoints \"{name}\" not found"))));
        }
        let no_endpoints =
            || Box::new(status(503, "ServiceUnavailable", &format!("no endpoints available for service \"{name}\"")));
        let Some(sp) = ports.iter().find(|p| port_name(p) == wanted) else { return Err(no_endpoints()) };
        let number = sp["port"].as_i64().map(|n| n.to_string()).unwrap_or_default();
        let knobs = self.knobs.lock().unwrap();
        knobs
            .endpoints
            .iter()
            .find(|e| e.ns == ns && e.service == name && (e.port == wanted || e.port == number))
            .map(|e| e.addr.clone())
            .ok_or_else(no_endpoints)
    }
}
