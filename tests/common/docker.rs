//! The real Docker engine for tests: images built locally (no registry), a compose-like
//! project per test that removes itself, and a socket proxy that can cut the engine off.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use bollard::models::{ContainerCreateBody, HostConfig, NetworkCreateRequest};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, InspectContainerOptions, RemoveContainerOptionsBuilder,
};
use bollard::Docker;
use gameday::backend::docker::DockerBackend;
use gameday::model::ParamValue;
use gameday::model::{FaultSpec, Mode, PodRef, Target};

pub const WEB_IMAGE: &str = "gameday-test-web:latest";
pub const NETEM_IMAGE: &str = "gameday-test-netem:latest";
/// A helper image with a shell and no working tc (busybox's applet only shows qdiscs).
pub const NOTC_IMAGE: &str = "gameday-test-notc:latest";

/// The engine, or a failure that says why: a test that needs it must not pass without it.
pub async fn engine() -> Docker {
    let d = Docker::connect_with_defaults().expect("Docker client");
    match tokio::time::timeout(Duration::from_secs(5), d.negotiate_version()).await {
        Ok(Ok(d)) => d,
        Ok(Err(e)) => panic!("this test needs a Docker engine and cannot reach it: {e}"),
        Err(_) => panic!("this test needs a Docker engine; it does not answer within 5 s"),
    }
}

/// Builds the test images once (tests/docker/build-images.sh), across test processes too.
pub fn ensure_images() {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let lock = std::fs::File::create(std::env::temp_dir().join("gameday-test-images.lock")).unwrap();
        lock.lock().unwrap();
        let have = |img: &str| {
            std::process::Command::new("docker")
                .args(["image", "inspect", img])
                .output()
                .is_ok_and(|o| o.status.success())
        };
        if !(have(WEB_IMAGE) && have(NETEM_IMAGE) && have(NOTC_IMAGE))
            || std::env::var_os("GAMEDAY_REBUILD_TEST_IMAGES").is_some()
        {
            let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/docker/build-images.sh");
            let out = std::process::Command::new(&script).output().expect("run build-images.sh");
            assert!(out.status.success(), "building the test images failed: {}", String::from_utf8_lossy(&out.stderr));
        }
    });
}

/// A compose-like project: `<name>-web-1`, `<name>-web-2` (service web) and `<name>-db-1`
/// (service db, with a 128 MiB memory limit) on the network `<name>_default`.
pub struct Shop {
    pub name: String,
    pub docker: Docker,
    pub containers: Vec<String>,
    /// Networks a test made besides `<name>_default` (removed with the shop).
    pub networks: Vec<String>,
}

impl Shop {
    pub async fn start(tag: &str) -> Shop {
        ensure_images();
        let docker = engine().await;
        let name = format!("gdt{tag}{}", std::process::id() % 100_000);
        let mut shop =
            Shop { name: name.clone(), docker: docker.clone(), containers: Vec::new(), networks: Vec::new() };
        shop.cleanup().await;
        docker
            .create_network(NetworkCreateRequest { name: format!("{name}_default"), ..Default::default() })
            .await
            .expect("create network");
        for (svc, i, memory) in [("web", 1, None), ("web", 2, None), ("db", 1, Some(128 * 1024 * 1024))] {
            shop.run(svc, i, memory).await;
        }
        shop.wait_healthy(Duration::from_secs(20)).await;
        shop
    }

    pub fn container(&self, svc: &str, i: u32) -> String {
        format!("{}-{svc}-{i}", self.name)
    }

    /// Creates `<name>-<svc>-<i>` again (after a test removed it), healthy.
    pub async fn respawn(&mut self, svc: &str, i: u32) {
        let memory = (svc == "db").then_some(128 * 1024 * 1024);
        let name = self.container(svc, i);
        self.containers.retain(|c| *c != name);
        self.run(svc, i, memory).await;
        self.wait_healthy(Duration::from_secs(20)).await;
    }

    async fn run(&mut self, svc: &str, i: u32, memory: Option<i64>) {
        let cname = self.container(svc, i);
        let labels = HashMap::from([
            ("com.docker.compose.project".to_string(), self.name.clone()),
            ("com.docker.compose.service".to_string(), svc.to_string()),
            ("com.docker.compose.container-number".to_string(), i.to_string()),
        ]);
        let mut endpoints = HashMap::new();
        endpoints.insert(
            format!("{}_default", self.name),
            bollard::models::EndpointSettings { aliases: Some(vec![svc.to_string()]), ..Default::default() },
        );
        let body = ContainerCreateBody {
            image: Some(WEB_IMAGE.into()),
            labels: Some(labels),
            host_config: Some(HostConfig {
                network_mode: Some(format!("{}_default", self.name)),
                memory,
                // web publishes its port on loopback (a free one): the console probes it.
                port_bindings: (svc == "web").then(|| {
                    HashMap::from([(
                        "8080/tcp".to_string(),
                        Some(vec![bollard::models::PortBinding {
                            host_ip: Some("127.0.0.1".into()),
                            host_port: Some(String::new()),
                        }]),
                    )])
                }),
                ..Default::default()
            }),
            networking_config: Some(bollard::models::NetworkingConfig { endpoints_config: Some(endpoints) }),
            ..Default::default()
        };
        let opts = CreateContainerOptionsBuilder::default().name(&cname).build();
        self.docker.create_container(Some(opts), body).await.expect("create container");
        self.docker
            .start_container(&cname, None::<bollard::query_parameters::StartContainerOptions>)
            .await
            .expect("start");
        self.containers.push(cname);
    }

    /// Starts one more container, `<shop>-<suffix>`, from `body` (the web image unless it names
    /// another); it is removed with the shop. Returns its name.
    pub async fn extra(&mut self, suffix: &str, mut body: ContainerCreateBody) -> String {
        let cname = format!("{}-{suffix}", self.name);
        body.image.get_or_insert_with(|| WEB_IMAGE.to_string());
        let opts = CreateContainerOptionsBuilder::default().name(&cname).build();
        self.docker.create_container(Some(opts), body).await.expect("create container");
        self.containers.push(cname.clone());
        self.docker
            .start_container(&cname, None::<bollard::query_parameters::StartContainerOptions>)
            .await
            .expect("start");
        cname
    }

    /// A network `<shop>_<suffix>` with a subnet of its own (static addresses need one), in
    /// 10.213.0.0/16; the first free /24 from a per-process start. Returns (name, subnet prefix
    /// like "10.213.7").
    pub async fn subnet(&mut self, suffix: &str) -> (String, String) {
        let name = format!("{}_{suffix}", self.name);
        let start = std::process::id() % 200;
        for i in 0..50 {
            let prefix = format!("10.213.{}", (start + i) % 250 + 1);
            let ipam = bollard::models::Ipam {
                config: Some(vec![bollard::models::IpamConfig {
                    subnet: Some(format!("{prefix}.0/24")),
                    ..Default::default()
                }]),
                ..Default::default()
            };
            let req = NetworkCreateRequest { name: name.clone(), ipam: Some(ipam), ..Default::default() };
            match self.docker.create_network(req).await {
                Ok(_) => {
                    self.networks.push(name.clone());
                    return (name, prefix);
                }
                Err(e) if e.to_string().contains("overlap") => continue,
                Err(e) => panic!("create network {name}: {e}"),
            }
        }
        panic!("no free /24 in 10.213.0.0/16 for {name}");
    }

    pub async fn inspect(&self, name: &str) -> bollard::models::ContainerInspectResponse {
        self.docker.inspect_container(name, None::<InspectContainerOptions>).await.expect("inspect")
    }

    pub async fn status(&self, name: &str) -> String {
        let i = self.inspect(name).await;
        format!("{:?}", i.state.and_then(|s| s.status).expect("status")).to_lowercase()
    }

    pub async fn wait_healthy(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        for c in &self.containers {
            loop {
                let i = self.inspect(c).await;
                let health = i.state.and_then(|s| s.health).and_then(|h| h.status).map(|s| format!("{s:?}"));
                if health.as_deref() == Some("HEALTHY") {
                    break;
                }
                assert!(Instant::now() < deadline, "{c} is not healthy: {health:?}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }

    /// Runs a command in one of the shop's containers and returns (exit code, output, time taken).
    pub async fn exec(&self, container: &str, cmd: &[&str]) -> (i64, String, Duration) {
        use bollard::exec::{CreateExecOptions, StartExecResults};
        use futures::StreamExt;
        let started = Instant::now();
        let exec = self
            .docker
            .create_exec(
                container,
                CreateExecOptions {
                    cmd: Some(cmd.iter().map(|s| s.to_string()).collect()),
                    attach_stdout: Some(true),
                    attach_stderr: Some(true),
                    ..Default::default()
                },
            )
            .await
            .expect("create exec");
        let mut out = String::new();
        if let Ok(StartExecResults::Attached { output: mut o, .. }) = self.docker.start_exec(&exec.id, None).await {
            while let Some(Ok(chunk)) = o.next().await {
                out.push_str(&String::from_utf8_lossy(&chunk.into_bytes()));
            }
        }
        let code = self.docker.inspect_exec(&exec.id).await.ok().and_then(|i| i.exit_code).unwrap_or(-1);
        (code, out, started.elapsed())
    }

    /// A container's address on the shop's network (the static busybox cannot resolve names:
    /// glibc's NSS is not in a FROM scratch image).
    pub async fn ip(&self, container: &str) -> String {
        let nets = self.inspect(container).await.network_settings.and_then(|n| n.networks).unwrap_or_default();
        nets.get(&format!("{}_default", self.name)).and_then(|e| e.ip_address.clone()).expect("an address")
    }

    /// `container/<name>` for each container.
    pub fn targets(names: &[String]) -> String {
        names.iter().map(|n| format!("container/{n}")).next().unwrap_or_default()
    }

    /// The qdiscs on a container's interfaces, as a helper sees them.
    pub async fn qdiscs(&self, container: &str) -> String {
        let out = std::process::Command::new("docker")
            .args(["run", "--rm", "--network", &format!("container:{container}"), "--cap-add", "NET_ADMIN"])
            .args([NETEM_IMAGE, "/sbin/tc", "qdisc", "show"])
            .output()
            .expect("docker run");
        String::from_utf8_lossy(&out.stdout).to_string()
    }

    /// A fault on some of the shop's containers, the way the console plans one.
    pub fn spec<S: AsRef<str>>(
        &self,
        action: &str,
        target: &str,
        containers: &[S],
        params: &[(&str, ParamValue)],
        mode: Mode,
    ) -> FaultSpec {
        FaultSpec {
            fault_id: 1,
            session: format!("test-{}", self.name),
            preset: action.into(),
            action: action.into(),
            target: target.parse::<Target>().unwrap(),
            params: params.iter().map(|(k, v)| (k.to_string(), v.clone())).collect(),
            duration_ms: 60_000,
            pods: containers
                .iter()
                .map(|c| PodRef { namespace: self.name.clone(), name: AsRef::<str>::as_ref(c).to_string() })
                .collect(),
            mode: Some(mode),
        }
    }

    pub async fn backend(&self) -> DockerBackend {
        DockerBackend::connect(NETEM_IMAGE).await.expect("connect to the engine")
    }

    /// The backend with another helper image.
    pub async fn backend_with(&self, netem_image: &str) -> DockerBackend {
        DockerBackend::connect(netem_image).await.expect("connect to the engine")
    }

    /// The backend through a proxy socket (which can cut it off).
    pub async fn backend_via(&self, proxy: &EngineProxy) -> DockerBackend {
        let path = proxy.path.to_str().unwrap();
        let docker = Docker::connect_with_unix(path, 120, bollard::API_DEFAULT_VERSION).expect("client");
        DockerBackend::with_client(docker, NETEM_IMAGE).await.expect("connect through the proxy")
    }

    async fn cleanup(&self) {
        let opts = bollard::query_parameters::ListContainersOptionsBuilder::default().all(true).build();
        let all = self.docker.list_containers(Some(opts)).await.unwrap_or_default();
        for c in all {
            let names = c.names.unwrap_or_default();
            let ours = names.iter().any(|n| n.trim_start_matches('/').starts_with(&format!("{}-", self.name)))
                || c.labels.unwrap_or_default().get("gameday.session").is_some_and(|s| s.ends_with(&self.name));
            if ours {
                let opts = RemoveContainerOptionsBuilder::default().force(true).build();
                let _ = self.docker.remove_container(c.id.as_deref().unwrap_or_default(), Some(opts)).await;
            }
        }
        let _ = self.docker.remove_network(&format!("{}_default", self.name)).await;
        for n in &self.networks {
            let _ = self.docker.remove_network(n).await;
        }
    }

    pub async fn stop(self) {
        self.cleanup().await;
    }
}

/// Removes the shop even when a test fails halfway (Drop cannot be async: do it by CLI).
impl Drop for Shop {
    fn drop(&mut self) {
        let ps = std::process::Command::new("docker")
            .args(["ps", "-aq", "--filter", &format!("name=^{}-", self.name)])
            .output();
        if let Ok(out) = ps {
            let ids: Vec<String> = String::from_utf8_lossy(&out.stdout).split_whitespace().map(String::from).collect();
            if !ids.is_empty() {
                let _ = std::process::Command::new("docker").arg("rm").arg("-f").args(&ids).output();
            }
        }
        let helpers = std::process::Command::new("docker")
            .args(["ps", "-aq", "--filter", &format!("label=gameday.session=test-{}", self.name)])
            .output();
        if let Ok(out) = helpers {
            let ids: Vec<String> = String::from_utf8_lossy(&out.stdout).split_whitespace().map(String::from).collect();
            if !ids.is_empty() {
                let _ = std::process::Command::new("docker").arg("rm").arg("-f").args(&ids).output();
            }
        }
        // Helpers and markers of a console's session (not named after the test): by their target.
        let ours = std::process::Command::new("docker")
            .args([
                "ps",
                "-a",
                "--filter",
                "label=gameday.helper",
                "--format",
                "{{.ID}} {{.Label \"gameday.target-name\"}}",
            ])
            .output();
        if let Ok(out) = ours {
            let prefix = format!("{}-", self.name);
            let ids: Vec<String> = String::from_utf8_lossy(&out.stdout)
                .lines()
                .filter_map(|l| l.split_once(' ').filter(|(_, t)| t.starts_with(&prefix)).map(|(id, _)| id.to_string()))
                .collect();
            if !ids.is_empty() {
                let _ = std::process::Command::new("docker").arg("rm").arg("-f").args(&ids).output();
            }
        }
        let _ =
            std::process::Command::new("docker").args(["network", "rm", &format!("{}_default", self.name)]).output();
        for n in &self.networks {
            let _ = std::process::Command::new("docker").args(["network", "rm", n]).output();
        }
    }
}

/// A unix socket that forwards to the real engine's, and can be cut off and restored: the
/// engine "restarting" as the console sees it, without touching the shared daemon.
pub struct EngineProxy {
    pub path: PathBuf,
    task: Option<tokio::task::JoinHandle<()>>,
    conns: std::sync::Arc<std::sync::Mutex<Vec<tokio::task::AbortHandle>>>,
    _dir: tempfile::TempDir,
}

impl EngineProxy {
    pub fn start() -> EngineProxy {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("docker.sock");
        let mut p = EngineProxy { path, task: None, conns: Default::default(), _dir: dir };
        p.up();
        p
    }

    pub fn url(&self) -> String {
        format!("unix://{}", self.path.display())
    }

    /// Accepts connections again.
    pub fn up(&mut self) {
        let _ = std::fs::remove_file(&self.path);
        let listener = tokio::net::UnixListener::bind(&self.path).expect("bind proxy socket");
        let conns = self.conns.clone();
        self.task = Some(tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let conn = tokio::spawn(async move {
                    if let Ok(mut out) = tokio::net::UnixStream::connect("/var/run/docker.sock").await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut out).await;
                    }
                });
                conns.lock().unwrap().push(conn.abort_handle());
            }
        }));
    }

    /// Drops every connection and refuses new ones.
    pub fn down(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
        }
        for c in self.conns.lock().unwrap().drain(..) {
            c.abort();
        }
        let _ = std::fs::remove_file(&self.path);
    }
}
