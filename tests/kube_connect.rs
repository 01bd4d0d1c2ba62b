//! Why the API server cannot be reached, told apart as kubectl does, through the real kube
//! client and real sockets: nothing listening, a host name that does not resolve, TLS asked of a
//! plain-HTTP server and plain HTTP asked of a TLS one, and a credential plugin that fails or is
//! not installed. Each says what went wrong and what to look at, never a debug dump.

mod common;

use std::path::Path;
use std::time::Duration;

use common::apiserver::ApiServer;
use gameday::backend::kube::{KubeBackend, KubeOptions};
use gameday::backend::Backend;
use gameday::model::TopologyDelta;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn kubeconfig(path: &Path, server: &str, user: &str) {
    let text = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: {server}\n\
         contexts:\n- name: c\n  context:\n    cluster: c\n    user: u\ncurrent-context: c\nusers:\n- name: u\n  user:\n{user}"
    );
    std::fs::write(path, text).unwrap();
}

const TOKEN: &str = "    token: test-token\n";

/// What the console's header would say when the watches fail.
async fn disconnected(server: &str, user: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kubeconfig");
    kubeconfig(&path, server, user);
    let b = KubeBackend::connect(&KubeOptions { kubeconfig: Some(path), ..Default::default() }).await.expect("connect");
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    b.watch(tx);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(TopologyDelta::Connection { connected: false, detail })) => return detail,
            Ok(Some(_)) => {}
            other => panic!("no disconnection reported for {server}: {other:?}"),
        }
    }
}

fn no_dump(detail: &str) {
    for raw in ["Output {", "ExitStatus", "stderr: [", "HyperError", "ServiceError", "Custom {", "kind:"] {
        assert!(!detail.contains(raw), "a debug dump: {detail}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_listening_is_a_refused_connection() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let detail = disconnected(&format!("http://127.0.0.1:{port}"), TOKEN).await;
    assert_eq!(
        detail,
        format!(
            "the API server: the connection to the server 127.0.0.1:{port} was refused: is the API server running, and \
             are the host and port right?"
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_name_that_does_not_resolve_is_said_so() {
    let detail = disconnected("http://gameday-no-such-host.invalid:6443", TOKEN).await;
    assert!(
        detail.contains("the host name gameday-no-such-host.invalid does not resolve (DNS lookup failed)"),
        "{detail}"
    );
    no_dump(&detail);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_asked_of_a_plain_http_server_and_plain_http_of_a_tls_one() {
    let server = ApiServer::start().await;
    let https = format!("https://{}", server.addr);
    let detail = disconnected(&https, TOKEN).await;
    assert!(
        detail
            .contains(&format!("the server {} answered in plain HTTP, and the kubeconfig asks it in TLS", server.addr)),
        "{detail}"
    );
    assert!(detail.contains("use http:// there"), "{detail}");
    no_dump(&detail);

    // A TLS port asked in plain HTTP answers as Go's TLS servers do.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let tls_port = tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else { return };
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = sock.read(&mut buf).await;
                let _ = sock
                    .write_all(b"HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n")
                    .await;
            });
        }
    });
    let detail = disconnected(&format!("http://{addr}"), TOKEN).await;
    assert!(
        detail.contains(&format!("the server {addr} speaks HTTPS, and the kubeconfig asks it in plain HTTP")),
        "{detail}"
    );
    assert!(detail.contains("use https:// there"), "{detail}");
    tls_port.abort();
}

/// What connecting says (a credential plugin runs as the client is made).
async fn refused_at_connect(server: &str, user: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kubeconfig");
    kubeconfig(&path, server, user);
    match KubeBackend::connect(&KubeOptions { kubeconfig: Some(path), ..Default::default() }).await {
        Ok(_) => panic!("connected with a failing credential plugin"),
        Err(e) => e.to_string(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_credential_plugin_that_fails_or_is_missing_is_named_with_what_it_said() {
    let server = ApiServer::start().await;
    let failing = "    exec:\n      apiVersion: client.authentication.k8s.io/v1beta1\n      command: /bin/sh\n      args:\n      \
                   - -c\n      - \"echo 'error: the SSO session has expired; run aws sso login' >&2; exit 3\"\n";
    let said = refused_at_connect(&server.url(), failing).await;
    assert_eq!(
        said,
        "the kubeconfig's credential plugin `/bin/sh` failed (exit code 3): error: the SSO session has expired; run \
         aws sso login"
    );
    no_dump(&said);
    let missing =
        "    exec:\n      apiVersion: client.authentication.k8s.io/v1beta1\n      command: gameday-no-such-plugin\n";
    let said = refused_at_connect(&server.url(), missing).await;
    assert_eq!(
        said,
        "the kubeconfig's credential plugin `gameday-no-such-plugin` is not installed (or not on PATH): it could not \
         be started"
    );
    // A plugin whose output is no credential.
    let garbage = "    exec:\n      apiVersion: client.authentication.k8s.io/v1beta1\n      command: /bin/echo\n      args: [\"hello\"]\n";
    let said = refused_at_connect(&server.url(), garbage).await;
    assert!(
        said.starts_with("the kubeconfig's credential plugin `/bin/echo` printed no credential that can be read"),
        "{said}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_the_kubeconfig_does_not_trust_is_said_so() {
    // A TLS server with a self-signed certificate (Debian's openssl).
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let made = std::process::Command::new("openssl")
        .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1"])
        .args(["-addext", "basicConstraints=critical,CA:FALSE", "-addext", "subjectAltName=IP:127.0.0.1"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl (Debian's openssl package) makes the test's certificate");
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut server = std::process::Command::new("openssl")
        .args(["s_server", "-quiet", "-www", "-accept", &format!("127.0.0.1:{port}")])
        .arg("-cert")
        .arg(&cert)
        .arg("-key")
        .arg(&key)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("openssl s_server");
    let up = std::time::Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(up.elapsed() < Duration::from_secs(10), "openssl s_server did not listen");
        std::thread::sleep(Duration::from_millis(50));
    }
    let detail = disconnected(&format!("https://127.0.0.1:{port}"), TOKEN).await;
    let _ = server.kill();
    let _ = server.wait();
    assert_eq!(
        detail,
        format!(
            "the API server: the TLS certificate of the server 127.0.0.1:{port} is not trusted (signed by an \
             authority the kubeconfig does not trust): check certificate-authority-data in the kubeconfig"
        )
    );
}
