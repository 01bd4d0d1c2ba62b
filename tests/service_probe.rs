//! The `service-http` probe: a GET on a ClusterIP Service a laptop cannot reach, through the
//! Kubernetes API server's service proxy (the in-repo test API server, answering as
//! kube-apiserver does), with the real kube client. What the service answers is judged; what
//! the API server refuses (forbidden, no such Service, no ready endpoint) is said as its refusal.

mod common;

use std::sync::Arc;
use std::time::Duration;

use axum::http::{StatusCode, Uri};
use common::laptops;
use gameday::backend::kube::{KubeBackend, KubeOptions};
use gameday::backend::Backend;
use gameday::model::probe::{Outcome, ProbeKind, ProbeSpec};
use gameday::runtime::probes::{run_once, run_with};

/// A loopback service: `/health` 200, `/status/N` N, `/slow` after 2 s.
async fn service() -> std::net::SocketAddr {
    async fn answer(uri: Uri) -> (StatusCode, &'static str) {
        if uri.path() == "/slow" {
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
        match uri.path().strip_prefix("/status/").and_then(|c| c.parse().ok()) {
            Some(code) => (StatusCode::from_u16(code).unwrap(), "as asked\n"),
            None if uri.path() == "/health" || uri.path() == "/slow" => (StatusCode::OK, "ok\n"),
            None => (StatusCode::NOT_FOUND, "no such page\n"),
        }
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, axum::Router::new().fallback(answer)).await.unwrap() });
    addr
}

fn probe(target: &str, expect_status: u16) -> ProbeSpec {
    let (service, port, path) = gameday::model::probe::parse_service_http(target).unwrap();
    ProbeSpec {
        name: "front".into(),
        kind: ProbeKind::ServiceHttp { service, port, path, expect_status },
        interval_ms: 1000,
        timeout_ms: 500,
    }
}

async fn run(b: &Arc<dyn Backend>, target: &str, expect_status: u16) -> Outcome {
    run_with(&probe(target, expect_status), Some(b.as_ref())).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_http_probe_reaches_a_cluster_ip_service_through_the_api_servers_proxy() {
    let (server, dir) = laptops::cluster(&[("shop", true)], false).await;
    let addr = service().await;
    server.proxy_service("shop", "front", "80", &addr.to_string());
    let b: Arc<dyn Backend> = Arc::new(
        KubeBackend::connect(&KubeOptions { kubeconfig: Some(dir.path().join("kubeconfig")), ..Default::default() })
            .await
            .expect("connect"),
    );

    let ok = run(&b, "shop/front:80/health", 200).await;
    assert_eq!(ok.ok, Some(true), "{ok:?}");
    assert!(ok.reached && ok.detail.starts_with("200 in "), "{ok:?}");
    assert!(ok.latency_ms.is_some());

    // What the service answers is judged against the status wanted.
    let teapot = run(&b, "shop/front:80/status/503", 200).await;
    assert_eq!(teapot.ok, Some(false));
    assert!(
        teapot.reached && teapot.detail.starts_with("503 in ") && teapot.detail.ends_with("wanted 200"),
        "{teapot:?}"
    );
    assert_eq!(run(&b, "shop/front:80/status/204", 204).await.ok, Some(true));
    let missing_page = run(&b, "shop/front:80/nope", 200).await;
    assert!(missing_page.reached && missing_page.detail.starts_with("404 in "), "{missing_page:?}");

    // The API server's refusals are said as such, never taken for the service's answer.
    let no_endpoint = run(&b, "shop/carts:80/health", 200).await;
    assert_eq!((no_endpoint.ok, no_endpoint.reached), (Some(false), false), "{no_endpoint:?}");
    assert!(
        no_endpoint.detail.contains("503")
            && no_endpoint.detail.contains("no endpoints available for service \"carts\""),
        "{no_endpoint:?}"
    );
    let no_service = run(&b, "shop/nope:80/health", 200).await;
    assert!(
        !no_service.reached && no_service.detail.contains("404") && no_service.detail.contains("not found"),
        "{no_service:?}"
    );

    // Slower than its timeout: no answer, within the timeout.
    let t0 = std::time::Instant::now();
    let slow = run(&b, "shop/front:80/slow", 200).await;
    assert!(!slow.reached && slow.detail == "no answer within 500 ms", "{slow:?}");
    assert!(t0.elapsed() < Duration::from_millis(1500), "{:?}", t0.elapsed());

    // An account that may not use the proxy is told what it needs.
    server.forbid("services/proxy", "get");
    let forbidden = run(&b, "shop/front:80/health", 200).await;
    assert!(!forbidden.reached, "{forbidden:?}");
    assert!(forbidden.detail.contains("403") && forbidden.detail.contains("deploy/rbac.yaml"), "{forbidden:?}");

    // Without a backend (or on one with no way in) it is never taken for healthy.
    assert_eq!(run_once(&probe("shop/front:80/health", 200)).await.ok, None);
}
