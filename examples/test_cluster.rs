//! A cluster to try the console against by hand, with no real one: the in-repo test API server
//! (the `shop` namespace: front, carts, db, Chaos Mesh installed, gameday's namespace), an
//! Istio-metrics mesh under real load shaped by the cluster, and Debian's Prometheus scraping it,
//! found by its Service and reached through the service proxy, as on a real cluster. Prints the
//! kubeconfig to use and runs until Ctrl-C:
//!
//! ```sh
//! cargo run --example test_cluster
//! gameday --kubeconfig /tmp/.../kubeconfig -n shop
//! ```

#[path = "../tests/common/apiserver/mod.rs"]
#[allow(dead_code)]
mod apiserver;
#[path = "../tests/common/mesh.rs"]
#[allow(dead_code)]
mod mesh;
#[path = "../tests/common/prometheus.rs"]
#[allow(dead_code)]
mod prometheus;

use std::time::Duration;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let server = apiserver::ApiServer::start().await;
    server.seed_shop("shop", true);
    server.install_gameday();
    server.wait_shop_ready("shop").await;
    let dir = tempfile::tempdir().expect("a temporary directory");
    server.write_kubeconfig(&dir.path().join("kubeconfig"));
    server.install_chaos_mesh();
    let mesh = mesh::Mesh::start(&server, "shop").await;
    let prom = prometheus::Prometheus::start(&[("mesh", mesh.addr())]);
    prom.wait_ready(Duration::from_secs(30)).await;
    server.seed_prometheus_service("monitoring", "prometheus-k8s", "web", 9090);
    server.proxy_service("monitoring", "prometheus-k8s", "web", &prom.addr().to_string());
    let addr = mesh.addr().to_string();
    server.proxy_service("shop", "front", "80", &addr);
    let kubeconfig = dir.path().join("kubeconfig");
    println!("kubeconfig: {}", kubeconfig.display());
    println!("Prometheus: {}", prom.url());
    println!("try: gameday --kubeconfig {} -n shop", kubeconfig.display());
    let _ = tokio::signal::ctrl_c().await;
}
