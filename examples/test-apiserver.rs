//! The test Kubernetes API server on its own, with a small shop in namespace `shop` (open to
//! faults) and `locked` (not): try the Kubernetes backend without a cluster.
//!
//!     cargo run --example test-apiserver -- /tmp/kubeconfig [--chaos-mesh] [--litmus] [--no-lock-namespace]
//!     gameday --kubeconfig /tmp/kubeconfig

#[path = "../tests/common/apiserver/mod.rs"]
#[allow(dead_code)]
mod apiserver;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let path = args.iter().find(|a| !a.starts_with("--")).cloned().unwrap_or_else(|| "kubeconfig.test".into());
    let server = apiserver::ApiServer::start().await;
    if args.iter().any(|a| a == "--chaos-mesh") {
        server.install_chaos_mesh();
    }
    server.seed_shop("shop", true);
    if args.iter().any(|a| a == "--litmus") {
        server.install_litmus_with_operator("shop");
    }
    server.seed_shop("locked", false);
    // As deploy/rbac.yaml would: the namespace of the cluster lock (--no-lock-namespace: not).
    if !args.iter().any(|a| a == "--no-lock-namespace") {
        server.install_gameday();
    }
    server.write_kubeconfig(std::path::Path::new(&path));
    println!("test API server on {}; kubeconfig written to {path}", server.url());
    server.wait_shop_ready("shop").await;
    println!("the shop is ready; Ctrl-C stops the server");
    let _ = tokio::signal::ctrl_c().await;
}
