//! A Prometheus HTTP API, reached directly (a URL, with a bearer token or basic auth from the
//! environment) or through the Kubernetes API server's service proxy (a laptop with only a
//! kubeconfig needs no port-forward). Every call has a time limit; every failure is said in
//! words a person can act on.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::de::{DeserializeOwned, IgnoredAny};
use serde::Deserialize;
use serde_json::Value;

/// How long one call may take: a slow Prometheus never holds the console.
pub const CALL_LIMIT: Duration = Duration::from_secs(5);

/// How a Prometheus named by URL is authenticated.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Auth {
    #[default]
    None,
    /// `GAMEDAY_PROMETHEUS_TOKEN`.
    Bearer(String),
    /// `GAMEDAY_PROMETHEUS_USER` and `GAMEDAY_PROMETHEUS_PASSWORD`.
    Basic(String, String),
}

impl Auth {
    /// From the environment: a bearer token, else a user and password, else none.
    pub fn from_env() -> Auth {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        match (var("GAMEDAY_PROMETHEUS_TOKEN"), var("GAMEDAY_PROMETHEUS_USER")) {
            (Some(token), _) => Auth::Bearer(token),
            (None, Some(user)) => Auth::Basic(user, var("GAMEDAY_PROMETHEUS_PASSWORD").unwrap_or_default()),
            (None, None) => Auth::None,
        }
    }
}

/// A Prometheus the user names (`--prometheus URL`, or `prometheus` in config.toml).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrometheusConfig {
    pub url: String,
    pub auth: Auth,
}

enum Transport {
    Http { base: String, auth: Auth, client: reqwest::Client },
    Proxy { client: kube::Client, base: String },
}

/// One sample of an instant query: its labels and value.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

pub struct Prometheus {
    /// How it is named to people: "Prometheus at http://..." or "Prometheus
    /// monitoring/prometheus-k8s (through the API server)".
    pub name: String,
    transport: Transport,
}

impl Prometheus {
    /// One named by URL.
    pub fn direct(config: &PrometheusConfig) -> Result<Prometheus, String> {
        let url = config.url.trim_end_matches('/').to_string();
        crate::model::probe::check_url(&url).map_err(|e| format!("Prometheus '{url}' {e}"))?;
        let client = reqwest::Client::builder()
            .user_agent(concat!("gameday/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("no HTTP client: {e}"))?;
        Ok(Prometheus {
            name: format!("Prometheus at {url}"),
            transport: Transport::Http { base: url, auth: config.auth.clone(), client },
        })
    }

    /// One found in the cluster, reached through the API server's service proxy.
    pub fn proxied(client: kube::Client, namespace: &str, service: &str, port: &str) -> Prometheus {
        Prometheus {
            name: format!("Prometheus {namespace}/{service} (through the API server)"),
            transport: Transport::Proxy {
                client,
                base: format!("/api/v1/namespaces/{namespace}/services/{service}:{port}/proxy"),
            },
        }
    }

    /// GET `path` (`/api/v1/...`) with these parameters: the `data` of its answer, read as `T`
    /// (straight from the text: an answer of 2,500 services is megabytes).
    pub async fn get<T: DeserializeOwned>(&self, path: &str, params: &[(&str, &str)]) -> Result<T, String> {
        let call = async {
            match &self.transport {
                Transport::Http { base, auth, client } => {
                    let mut req = client.get(format!("{base}{path}")).query(params);
                    req = match auth {
                        Auth::None => req,
                        Auth::Bearer(t) => req.bearer_auth(t),
                        Auth::Basic(u, p) => req.basic_auth(u, Some(p)),
                    };
                    let resp = req.send().await.map_err(|e| format!("unreachable: {}", cause(&e)))?;
                    let status = resp.status().as_u16();
                    let text = resp.text().await.map_err(|e| format!("its answer was cut: {}", cause(&e)))?;
                    answer(status, &text)
                }
                Transport::Proxy { client, base } => {
                    let query = encode(params);
                    let uri = if query.is_empty() { format!("{base}{path}") } else { format!("{base}{path}?{query}") };
                    let req = http::Request::get(uri).body(Vec::new()).map_err(|e| e.to_string())?;
                    match client.request_text(req).await {
                        Ok(text) => answer(200, &text),
                        Err(kube::Error::Api(s)) => {
                            let said = if s.message.is_empty() { s.reason.clone() } else { s.message.clone() };
                            match s.code {
                                403 => Err(format!(
                                    "forbidden (403): this account may not get services/proxy ({}); deploy/rbac.yaml grants it",
                                    one_line(&said)
                                )),
                                code => answer(code, &said),
                            }
                        }
                        Err(e) => Err(format!("the API server could not be reached: {}", one_line(&e.to_string()))),
                    }
                }
            }
        };
        match tokio::time::timeout(CALL_LIMIT, call).await {
            Ok(r) => r,
            Err(_) => Err(format!("no answer within {} s", CALL_LIMIT.as_secs())),
        }
    }

    /// An instant query's samples (a vector; NaN and infinite values are left out).
    pub async fn query(&self, promql: &str) -> Result<Vec<Sample>, String> {
        let data: QueryData = self.get("/api/v1/query", &[("query", promql)]).await?;
        if data.result_type != "vector" {
            return Err(format!("the query answered a {}, not a vector", data.result_type));
        }
        let result: Vec<VectorSample> =
            serde_json::from_str(data.result.get()).map_err(|e| format!("its vector could not be read: {e}"))?;
        Ok(result
            .into_iter()
            .filter_map(|r| {
                let value = r.value.1.parse::<f64>().ok().filter(|v| v.is_finite())?;
                Some(Sample { labels: r.metric, value })
            })
            .collect())
    }

    /// Which of these metric names have series now.
    pub async fn names(&self, wanted: &[&str]) -> Result<Vec<String>, String> {
        let matcher = format!("{{__name__=~\"{}\"}}", wanted.join("|"));
        let data: Vec<String> = self.get("/api/v1/label/__name__/values", &[("match[]", &matcher)]).await?;
        Ok(data.into_iter().filter(|n| wanted.contains(&n.as_str())).collect())
    }

    /// How often it scrapes, from its configuration (global `scrape_interval`).
    pub async fn scrape_interval(&self) -> Option<Duration> {
        let data: Value = self.get("/api/v1/status/config", &[]).await.ok()?;
        let yaml = data["yaml"].as_str()?;
        let line = yaml.lines().find(|l| l.trim_start().starts_with("scrape_interval:"))?;
        let value = line.split_once(':')?.1.trim();
        humantime::parse_duration(value).ok()
    }
}

/// `a=1&b=x%20y`.
fn encode(params: &[(&str, &str)]) -> String {
    let mut u = reqwest::Url::parse("http://x/").expect("a constant URL");
    u.query_pairs_mut().extend_pairs(params.iter());
    u.query().unwrap_or_default().to_string()
}

/// What every answer of the HTTP API is wrapped in.
#[derive(Deserialize)]
struct Envelope<T> {
    status: String,
    #[serde(default = "none")]
    data: Option<T>,
    #[serde(default)]
    error: Option<String>,
}

fn none<T>() -> Option<T> {
    None
}

/// An instant query's `data`; its result is read once its type is known.
#[derive(Deserialize)]
struct QueryData {
    #[serde(rename = "resultType")]
    result_type: String,
    result: Box<serde_json::value::RawValue>,
}

#[derive(Deserialize)]
struct VectorSample {
    #[serde(default)]
    metric: BTreeMap<String, String>,
    value: (f64, String),
}

/// An answer of the HTTP API: its `data`, or why not.
fn answer<T: DeserializeOwned>(status: u16, text: &str) -> Result<T, String> {
    match (status, serde_json::from_str::<Envelope<T>>(text)) {
        (200, Ok(Envelope { status, data: Some(data), .. })) if status == "success" => Ok(data),
        (_, Ok(Envelope { status, error, .. })) if status == "error" => {
            Err(format!("Prometheus says: {}", one_line(error.as_deref().unwrap_or("an error"))))
        }
        // An error answer whose data is not what a success would carry.
        (_, Err(_)) if serde_json::from_str::<Envelope<IgnoredAny>>(text).is_ok_and(|e| e.status == "error") => {
            let e: Value = serde_json::from_str(text).unwrap_or(Value::Null);
            Err(format!("Prometheus says: {}", one_line(e["error"].as_str().unwrap_or("an error"))))
        }
        (200, _) => Err("it answered something that is not Prometheus' API".into()),
        (401, _) => {
            Err("unauthorized (401): set GAMEDAY_PROMETHEUS_TOKEN, or GAMEDAY_PROMETHEUS_USER and _PASSWORD".into())
        }
        (403, _) => Err("forbidden (403)".into()),
        (404, _) => Err(format!("not found (404): {}", one_line(text))),
        (503, _) => Err(format!("unavailable (503): {}", one_line(text))),
        (code, _) => Err(format!("HTTP {code}: {}", one_line(text))),
    }
}

fn one_line(s: &str) -> String {
    let s = crate::text::one_line(s);
    s.chars().take(200).collect()
}

/// The innermost cause: "Connection refused (os error 111)" rather than "error sending request".
fn cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut inner = e;
    while let Some(next) = inner.source() {
        inner = next;
    }
    inner.to_string()
}
