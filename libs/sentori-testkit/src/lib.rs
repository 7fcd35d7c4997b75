//! Test harness for Sentori's tests against the real stack.
//!
//! `make test` starts a private PostgreSQL and Valkey and exports
//! `SENTORI_TEST_DATABASE_URL` and `SENTORI_TEST_VALKEY_URL`. Each test gets
//! its own database and its own Valkey key namespace, so tests run in
//! parallel without seeing each other's data.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection, PgPool};

mod postgres;
mod valkey;
pub use postgres::{PG_USER, PgServer};
pub use valkey::{ValkeyCluster, ValkeyServer};

/// One test's private slice of the stack.
pub struct TestStack {
    pub database_url: String,
    pub valkey_url: String,
    pub namespace: String,
    /// A bootstrap dev token for this test's services.
    pub dev_token: String,
}

fn required_env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run the tests with `make test`, which starts PostgreSQL and Valkey for them")
    })
}

impl TestStack {
    /// Creates a fresh, empty database (migrations run when a service or
    /// [`TestStack::pool`] connects) and a unique Valkey namespace.
    pub async fn new() -> Self {
        let admin_url = required_env("SENTORI_TEST_DATABASE_URL");
        let valkey_url = required_env("SENTORI_TEST_VALKEY_URL");
        let name = format!("t_{}", uuid::Uuid::new_v4().simple());
        let options: PgConnectOptions = admin_url.parse().expect("SENTORI_TEST_DATABASE_URL is a PostgreSQL URL");
        let mut admin = options.clone().connect().await.expect("connecting to the test PostgreSQL");
        sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut admin).await.expect("creating a test database");
        admin.close().await.ok();
        let database_url = options.database(&name).to_url_lossy().to_string();
        Self {
            database_url,
            valkey_url,
            namespace: format!("test-{}", uuid::Uuid::new_v4().simple()),
            dev_token: format!("dev-{}", uuid::Uuid::new_v4().simple()),
        }
    }

    /// A migrated pool on this test's database.
    pub async fn pool(&self) -> PgPool {
        let pool = PgPool::connect(&self.database_url).await.expect("connecting to the test database");
        sqlx::migrate!("../../migrations").run(&pool).await.expect("migrating the test database");
        pool
    }

    /// The environment every service of this test starts with.
    pub fn service_env(&self) -> Vec<(String, String)> {
        vec![
            ("SENTORI_DATABASE_URL".into(), self.database_url.clone()),
            ("SENTORI_VALKEY_URL".into(), self.valkey_url.clone()),
            ("SENTORI_VALKEY_NAMESPACE".into(), self.namespace.clone()),
            ("SENTORI_DEV_TOKEN".into(), self.dev_token.clone()),
            ("SENTORI_ADMIN_PASSWORD".into(), "test-password".into()),
            ("SENTORI_SESSION_SECRET".into(), "0123456789abcdef0123456789abcdef".into()),
            ("RUST_LOG".into(), std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into())),
        ]
    }
}

/// A free loopback address (bound, then released for a child process to take).
pub fn free_addr() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("binding a free port")
}

/// A folder of npm packages a test installs itself from the registry, once
/// per target directory: `target/e2e-tools/<name>/`, holding a copy of
/// `package_json`. npm runs again when that file changed or one of
/// `packages` is missing under `node_modules`.
pub fn npm_tools(name: &str, package_json: &Path, packages: &[&str]) -> PathBuf {
    static INSTALL: Mutex<()> = Mutex::new(());
    let exe = std::env::current_exe().expect("test binary path");
    // target/<profile>/deps/<test> → target/e2e-tools/<name>
    let target = exe.parent().and_then(Path::parent).and_then(Path::parent).expect("target directory");
    let tools = target.join("e2e-tools").join(name);
    let _guard = INSTALL.lock().unwrap_or_else(|e| e.into_inner());
    std::fs::create_dir_all(&tools).expect("creating the tools folder");
    let wanted = std::fs::read(package_json).unwrap_or_else(|e| panic!("reading {}: {e}", package_json.display()));
    let installed = std::fs::read(tools.join("package.json")).ok();
    let complete = packages.iter().all(|p| tools.join("node_modules").join(p).exists());
    if installed.as_deref() != Some(&wanted[..]) || !complete {
        std::fs::write(tools.join("package.json"), &wanted).expect("writing package.json");
        let status = Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(&tools)
            .status()
            .expect("running npm (Node.js must be installed)");
        assert!(status.success(), "npm install of {packages:?} failed");
    }
    tools
}

/// The path of a workspace binary, built first when it is missing (`cargo
/// test -p <one crate>` does not build the other crates' binaries) or older
/// than a source it may be built from, so no test runs yesterday's service.
/// Cargo decides what is really out of date; it is asked once a process.
pub fn binary(name: &str) -> PathBuf {
    static CHECKED: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let exe = std::env::current_exe().expect("test binary path");
    // Tests live in target/<profile>/deps/, benchmark binaries in target/<profile>/.
    let mut dir = exe.parent().expect("target directory").to_path_buf();
    if dir.file_name().is_some_and(|d| d == "deps") {
        dir.pop();
    }
    let path = dir.join(name);
    let mut checked = CHECKED.lock().unwrap_or_else(|e| e.into_inner());
    if checked.iter().any(|c| c == name) {
        return path;
    }
    if sources_newer_than(&path, &workspace_root()) {
        let release = dir.file_name().is_some_and(|p| p == "release");
        let mut cargo = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        cargo.args(["build", "--bin", name]).current_dir(workspace_root());
        if release {
            cargo.arg("--release");
        }
        let status = cargo.status().expect("running cargo build");
        assert!(status.success(), "building {name} failed");
    }
    checked.push(name.to_owned());
    path
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Whether `binary` is missing or a file a service binary may be built from
/// (the manifests, the lock file, the services', libraries' and migrations'
/// files under `root`) changed after it was linked. Tests, benchmarks, fuzz
/// targets and build output are not part of a binary and are skipped.
pub fn sources_newer_than(binary: &Path, root: &Path) -> bool {
    let Ok(built) = std::fs::metadata(binary).and_then(|m| m.modified()) else { return true };
    let newer = |path: &Path| std::fs::metadata(path).and_then(|m| m.modified()).is_ok_and(|changed| changed > built);
    fn any_file(dir: &Path, newer: &dyn Fn(&Path) -> bool) -> bool {
        let Ok(entries) = std::fs::read_dir(dir) else { return false };
        entries.filter_map(Result::ok).any(|entry| {
            let path = entry.path();
            match entry.file_type() {
                Ok(kind) if kind.is_dir() => {
                    let skipped = ["target", "tests", "benches", "fuzz", "node_modules"].iter().any(|s| entry.file_name() == *s);
                    !skipped && any_file(&path, newer)
                }
                Ok(_) => newer(&path),
                Err(_) => false,
            }
        })
    }
    ["Cargo.toml", "Cargo.lock"].iter().any(|file| newer(&root.join(file)))
        || ["services", "libs", "migrations"].iter().any(|dir| any_file(&root.join(dir), &newer))
}

/// A real service process; killed when dropped.
pub struct ServiceProcess {
    pub name: String,
    pub addr: SocketAddr,
    child: Child,
}

impl ServiceProcess {
    /// Starts `bin` with `env`, listening on a free port passed as `addr_var`,
    /// and waits until it answers `/healthz`.
    pub async fn start(bin: &str, addr_var: &str, env: &[(String, String)]) -> Self {
        let addr = free_addr();
        let child = Command::new(binary(bin))
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env(addr_var, addr.to_string())
            .stdin(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {bin}: {e}"));
        let mut service = Self { name: bin.to_owned(), addr, child };
        service.wait_healthy().await;
        service
    }

    /// The operating-system process id (to read its memory use, say).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    async fn wait_healthy(&mut self) {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("{} exited during startup with {status}", self.name);
            }
            if let Ok(response) = client.get(self.url("/healthz")).send().await {
                if response.status().is_success() {
                    return;
                }
            }
            assert!(Instant::now() < deadline, "{} did not become healthy within 60 s", self.name);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// How the process ended, or `None` while it runs.
    pub fn try_exit_status(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().expect("asking whether the service exited")
    }

    /// Sends SIGKILL: the process gets no chance to clean up.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends SIGTERM and waits for a graceful exit.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        self.child.wait().expect("waiting for the service to exit")
    }
}

impl Drop for ServiceProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Polls `check` until it returns `Some`, or panics with `what` after `timeout`.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

impl TestStack {
    /// The Valkey key names of this test's namespace.
    pub fn keys(&self) -> sentori_queue::Keys {
        sentori_queue::Keys::new(self.namespace.clone())
    }

    /// A connection to the test Valkey, for looking at (or tampering with)
    /// this test's streams directly.
    pub async fn valkey(&self) -> redis::aio::MultiplexedConnection {
        let client = redis::Client::open(self.valkey_url.as_str()).expect("SENTORI_TEST_VALKEY_URL is a Valkey URL");
        client.get_multiplexed_async_connection().await.expect("connecting to the test Valkey")
    }

    /// Waits until every entry of `stream` has been acknowledged (an
    /// acknowledged entry is deleted, so the stream's length is its backlog).
    pub async fn wait_drained(&self, stream: sentori_queue::Stream, timeout: Duration) {
        let key = self.keys().stream(stream);
        let valkey = self.valkey().await;
        eventually(&format!("the {stream:?} stream to drain"), timeout, || {
            let mut valkey = valkey.clone();
            let key = key.clone();
            async move {
                let length: u64 = redis::AsyncCommands::xlen(&mut valkey, &key).await.expect("XLEN answers");
                (length == 0).then_some(())
            }
        })
        .await;
    }

    /// Starts `service` (a workspace binary) with this stack's environment,
    /// on a free port passed as `SENTORI_<SERVICE>_ADDR`.
    pub async fn start(&self, service: &str) -> ServiceProcess {
        let addr_var = format!("SENTORI_{}_ADDR", service.to_ascii_uppercase().replace('-', "_"));
        ServiceProcess::start(service, &addr_var, &self.service_env()).await
    }

    /// ingest, processor and admin-api sharing `data_dir` as
    /// `SENTORI_DATA_DIR` (source maps written by one, read by another);
    /// admin-api also gets `admin_env`.
    pub async fn start_pipeline(&self, data_dir: &Path, admin_env: &[(String, String)]) -> [ServiceProcess; 3] {
        let mut env = self.service_env();
        env.push(("SENTORI_DATA_DIR".into(), data_dir.display().to_string()));
        let ingest = ServiceProcess::start("ingest", "SENTORI_INGEST_ADDR", &env).await;
        let processor = ServiceProcess::start("processor", "SENTORI_PROCESSOR_ADDR", &env).await;
        env.extend(admin_env.iter().cloned());
        let admin = ServiceProcess::start("admin-api", "SENTORI_ADMIN_API_ADDR", &env).await;
        [ingest, processor, admin]
    }

    /// Drops this stack's database and deletes its Valkey keys. Tests leave
    /// theirs for a person to look at (a fresh stack starts empty); the
    /// benchmarks call this, because what they leave is large and a Valkey
    /// holding hundreds of megabytes of old streams spends the next run's
    /// CPU on rewriting its append-only file.
    pub async fn remove(self) {
        let mut valkey = self.valkey().await;
        let mut cursor = 0u64;
        loop {
            let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(format!("{}:*", self.namespace))
                .arg("COUNT")
                .arg(1000)
                .query_async(&mut valkey)
                .await
                .expect("scanning the test namespace");
            if !keys.is_empty() {
                let _: () = redis::cmd("UNLINK").arg(&keys).query_async(&mut valkey).await.expect("deleting test keys");
            }
            if next == 0 {
                break;
            }
            cursor = next;
        }
        let options: PgConnectOptions = required_env("SENTORI_TEST_DATABASE_URL").parse().expect("a PostgreSQL URL");
        let name = options.get_database().map(str::to_owned);
        let target: PgConnectOptions = self.database_url.parse().expect("a PostgreSQL URL");
        let database = target.get_database().expect("the test database has a name").to_owned();
        assert_ne!(name.as_deref(), Some(database.as_str()), "never drop the admin database");
        let mut admin = options.connect().await.expect("connecting to the test PostgreSQL");
        sqlx::query(&format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)"))
            .execute(&mut admin)
            .await
            .expect("dropping the test database");
    }
}

/// The largest batch `POST /v1/events:batch` takes (protocol.md).
pub const EVENT_BATCH_MAX: usize = 100;

/// Sends `events` to an ingest at `ingest_url` through `POST /v1/events:batch`,
/// at most [`EVENT_BATCH_MAX`] a request, and asserts every one was accepted.
pub async fn post_event_batches(client: &reqwest::Client, ingest_url: &str, token: &str, events: &[serde_json::Value]) {
    for chunk in events.chunks(EVENT_BATCH_MAX) {
        let response = client
            .post(format!("{ingest_url}/v1/events:batch"))
            .bearer_auth(token)
            .header("Sentori-Sdk", "sentori-testkit/0.1.0")
            .json(&serde_json::json!({ "events": chunk }))
            .send()
            .await
            .expect("ingest answers");
        let status = response.status();
        let body: serde_json::Value = response.json().await.unwrap_or_default();
        assert_eq!(status, 202, "the batch is queued: {body}");
        assert_eq!(body["accepted"], chunk.len(), "every event of the batch is accepted: {body}");
    }
}

/// A TCP forwarder in front of a server (PostgreSQL, Valkey) that a test can
/// take down and bring back, to simulate an outage of a server it shares
/// with other tests. While down, open connections are cut and new ones are
/// closed as soon as they are accepted.
pub struct OutageProxy {
    pub addr: SocketAddr,
    state: std::sync::Arc<ProxyState>,
    accept: tokio::task::JoinHandle<()>,
}

struct ProxyState {
    /// Bumped on every outage; a connection of an older generation is cut.
    generation: tokio::sync::watch::Sender<u64>,
    down: std::sync::atomic::AtomicBool,
    refused: std::sync::atomic::AtomicU64,
}

impl OutageProxy {
    /// Forwards a fresh loopback port to `upstream` (`host:port`).
    pub async fn start(upstream: &str) -> Self {
        use std::sync::atomic::Ordering;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("binding the proxy");
        let addr = listener.local_addr().expect("proxy address");
        let (generation, _) = tokio::sync::watch::channel(0u64);
        let state = std::sync::Arc::new(ProxyState {
            generation,
            down: std::sync::atomic::AtomicBool::new(false),
            refused: std::sync::atomic::AtomicU64::new(0),
        });
        let upstream = upstream.to_owned();
        let accept_state = state.clone();
        let accept = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                // Subscribed before looking at `down`, so an outage that
                // starts in between still cuts this connection.
                let mut cut = accept_state.generation.subscribe();
                let born = *cut.borrow_and_update();
                if accept_state.down.load(Ordering::SeqCst) {
                    accept_state.refused.fetch_add(1, Ordering::SeqCst);
                    drop(client);
                    continue;
                }
                let upstream = upstream.clone();
                tokio::spawn(async move {
                    let Ok(mut server) = tokio::net::TcpStream::connect(&upstream).await else { return };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = cut.wait_for(|g| *g != born) => {}
                    }
                });
            }
        });
        Self { addr, state, accept }
    }

    /// `url` with its host and port replaced by the proxy's.
    pub fn url_for(&self, url: &str) -> String {
        let (scheme, rest) = url.split_once("://").expect("a URL with a scheme");
        let (authority, path) = rest.split_once('/').map_or((rest, ""), |(a, p)| (a, p));
        let userinfo = authority.rsplit_once('@').map(|(u, _)| format!("{u}@")).unwrap_or_default();
        let path = if path.is_empty() { String::new() } else { format!("/{path}") };
        format!("{scheme}://{userinfo}{}{path}", self.addr)
    }

    /// Cuts every open connection and refuses new ones until [`OutageProxy::up`].
    pub fn down(&self) {
        use std::sync::atomic::Ordering;
        self.state.down.store(true, Ordering::SeqCst);
        self.state.generation.send_modify(|g| *g += 1);
    }

    /// Cuts every open connection but keeps accepting new ones, as a server
    /// restart or failover looks to a client.
    pub fn cut_connections(&self) {
        self.state.generation.send_modify(|g| *g += 1);
    }

    pub fn up(&self) {
        self.state.down.store(false, std::sync::atomic::Ordering::SeqCst);
    }

    /// Connections refused while down.
    pub fn refused(&self) -> u64 {
        self.state.refused.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl Drop for OutageProxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.state.generation.send_modify(|g| *g += 1);
    }
}

#[cfg(test)]
mod tests {
    use std::fs::{File, FileTimes};
    use std::time::SystemTime;

    use super::*;

    fn file_at(path: &Path, at: SystemTime) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        File::create(path).unwrap().set_times(FileTimes::new().set_modified(at)).unwrap();
    }

    #[test]
    fn a_binary_is_stale_when_a_source_changed_after_it_was_linked() {
        let root = std::env::temp_dir().join(format!("sentori-testkit-{}", uuid::Uuid::new_v4().simple()));
        let linked = SystemTime::now() - Duration::from_secs(60);
        let (before, after) = (linked - Duration::from_secs(30), linked + Duration::from_secs(30));
        let binary = root.join("target/debug/ingest");
        assert!(sources_newer_than(&binary, &root), "a missing binary is built");
        file_at(&binary, linked);
        for file in ["Cargo.toml", "Cargo.lock", "services/ingest/src/main.rs", "libs/sentori-store/src/lib.rs", "migrations/1_a.sql"] {
            file_at(&root.join(file), before);
        }
        // Files that are no part of a binary, changed later.
        for file in ["services/ingest/tests/protocol.rs", "services/ingest/fuzz/src/a.rs", "services/x/target/debug/y", "web/src/a.ts"] {
            file_at(&root.join(file), after);
        }
        assert!(!sources_newer_than(&binary, &root), "nothing the binary is built from changed");
        for file in ["libs/sentori-store/src/lib.rs", "migrations/1_a.sql", "Cargo.lock"] {
            file_at(&root.join(file), after);
            assert!(sources_newer_than(&binary, &root), "{file} changed after the link");
            file_at(&root.join(file), before);
        }
        let _ = std::fs::remove_dir_all(&root);
    }
}
