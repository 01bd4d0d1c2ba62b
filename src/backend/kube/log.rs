//! Every request to the API server that changes something (anything but GET and HEAD) is logged
//! with its answer, and every request that fails: a layer on the kube client's HTTP stack, so no
//! write (a fault's, a revert's, the cluster lock's) can skip the log.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::{Method, Request, Response};
use kube::client::{Body, ClientBuilder};
use kube::{Client, Config};

/// The kube client of `config`, its requests logged.
pub fn client(config: Config) -> Result<Client, kube::Error> {
    Ok(ClientBuilder::try_from(config)?.with_layer(&tower::layer::layer_fn(Logged)).build())
}

pub struct Logged<S>(S);

impl<S, B> tower::Service<Request<Body>> for Logged<S>
where
    S: tower::Service<Request<Body>, Response = Response<B>>,
    S::Future: Send + 'static,
    S::Error: std::fmt::Display,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        let method = req.method().clone();
        let writes = !matches!(method, Method::GET | Method::HEAD);
        let uri = req.uri().path_and_query().map(|p| p.to_string()).unwrap_or_default();
        let answer = self.0.call(req);
        Box::pin(async move {
            let r = answer.await;
            match &r {
                // A write refused, or the server failing: worth a warning.
                Ok(resp) if resp.status().is_server_error() || (writes && resp.status().is_client_error()) => {
                    tracing::warn!(target: "gameday::kube", "{method} {uri}: {}", resp.status())
                }
                // A read refused (a kind not served, a 403 the console works around) is expected.
                Ok(resp) if resp.status().is_client_error() => {
                    tracing::debug!(target: "gameday::kube", "{method} {uri}: {}", resp.status())
                }
                Ok(resp) if writes => tracing::info!(target: "gameday::kube", "{method} {uri}: {}", resp.status()),
                Ok(_) => tracing::trace!(target: "gameday::kube", "{method} {uri}"),
                Err(e) => tracing::warn!(target: "gameday::kube", "{method} {uri}: no answer: {e}"),
            }
            r
        })
    }
}
