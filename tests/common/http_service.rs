//! A small HTTP service on loopback whose behaviour a test switches: answering, slow, failing,
//! or down (its port closed). It also serves Prometheus metrics (`shop_up 1`) on /metrics.
//! Every answer closes its connection, so "down" is really down for the next request.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{header, StatusCode};
use axum::response::IntoResponse;

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Mode {
    Ok,
    Slow(Duration),
    Failing,
}

pub struct Service {
    pub addr: SocketAddr,
    mode: Arc<Mutex<Mode>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Service {
    pub async fn start() -> Service {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().unwrap();
        let mode = Arc::new(Mutex::new(Mode::Ok));
        let m = mode.clone();
        let health = move || {
            let m = m.clone();
            async move {
                let mode = *m.lock().unwrap();
                if let Mode::Slow(d) = mode {
                    tokio::time::sleep(d).await;
                }
                let status = if mode == Mode::Failing { StatusCode::INTERNAL_SERVER_ERROR } else { StatusCode::OK };
                (status, [(header::CONNECTION, "close")], "shop\n").into_response()
            }
        };
        let metrics =
            || async { ([(header::CONNECTION, "close")], "# TYPE shop_up gauge\nshop_up 1\n").into_response() };
        let app = axum::Router::new()
            .route("/health", axum::routing::get(health))
            .route("/metrics", axum::routing::get(metrics));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Service { addr, mode, task: Some(task) }
    }

    pub fn url(&self) -> String {
        format!("http://{}/health", self.addr)
    }

    pub fn set(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }

    /// Closes the port: connections are refused from now on.
    pub async fn stop(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
            let _ = t.await;
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }
}
