//! PostgreSQL servers of a test's own, from the stack's binaries
//! (`SENTORI_STACK_PG_BIN`): a primary and a streaming replica of it.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, PgPool};

use crate::{eventually, free_addr, required_env};

/// A PostgreSQL server of a test's own, on a free loopback port, stopped
/// and removed on drop: a small primary (the shared test cluster holds
/// every test's database, too much to copy), or a hot standby streaming
/// from one.
pub struct PgServer {
    pub port: u16,
    dir: PathBuf,
    pg_bin: PathBuf,
    /// The uid and gid the shared test cluster runs as: PostgreSQL refuses
    /// to run as root.
    owner: Option<(u32, u32)>,
}

/// The role of a [`PgServer`]; it trusts loopback connections, which only
/// this test makes, for the seconds it lives.
pub const PG_USER: &str = "sentori";

impl PgServer {
    pub async fn primary() -> Self {
        let server = Self::prepare().await;
        let data = server.data().display().to_string();
        server.run("initdb", &["-D", &data, "-U", PG_USER, "--auth=trust", "--no-sync", "--no-instructions", "--encoding=UTF8", "--no-locale"]);
        server.start();
        server
    }

    /// A replica made as an operator makes one: `pg_basebackup -R`.
    pub async fn replica_of(primary: &PgServer) -> Self {
        let server = Self::prepare().await;
        let data = server.data().display().to_string();
        let port = primary.port.to_string();
        server.run("pg_basebackup", &["-D", &data, "-R", "-X", "stream", "-c", "fast", "-h", "127.0.0.1", "-p", &port, "-U", PG_USER]);
        server.start();
        server
    }

    async fn prepare() -> Self {
        let pg_bin = PathBuf::from(required_env("SENTORI_STACK_PG_BIN"));
        let shared: PgConnectOptions =
            required_env("SENTORI_TEST_DATABASE_URL").parse().expect("SENTORI_TEST_DATABASE_URL is a PostgreSQL URL");
        let mut conn = shared.connect().await.expect("connecting to the test PostgreSQL");
        let data_directory: String = sqlx::query_scalar("SELECT current_setting('data_directory')").fetch_one(&mut conn).await.unwrap();
        let meta = std::fs::metadata(&data_directory).expect("the test cluster's data directory");
        let owner = (effective_uid() == 0).then(|| (meta.uid(), meta.gid()));
        let dir = std::env::temp_dir().join(format!("sentori-pg-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("creating the server's folder");
        if let Some((uid, gid)) = owner {
            std::os::unix::fs::chown(&dir, Some(uid), Some(gid)).expect("handing the server's folder to the stack user");
        }
        Self { port: free_addr().port(), dir, pg_bin, owner }
    }

    fn start(&self) {
        let options = format!("-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories={}", self.port, self.dir.display());
        let log = self.dir.join("log").display().to_string();
        self.run("pg_ctl", &["start", "-D", &self.data().display().to_string(), "-w", "-t", "60", "-l", &log, "-o", &options]);
    }

    /// The URL of `database` on this server.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://{PG_USER}@127.0.0.1:{}/{database}", self.port)
    }

    /// Waits until `replica` has replayed everything `primary` has written so far.
    pub async fn wait_caught_up(primary: &PgPool, replica: &PgPool) {
        let target: String = sqlx::query_scalar("SELECT pg_current_wal_lsn()::text").fetch_one(primary).await.unwrap();
        eventually("the replica to replay the primary's writes", Duration::from_secs(30), || async {
            let caught_up: bool =
                sqlx::query_scalar("SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn").bind(&target).fetch_one(replica).await.ok()?;
            caught_up.then_some(())
        })
        .await;
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// One of the stack's binaries, to be run as the user the primary runs as.
    fn command(&self, binary: &str) -> Command {
        let program = self.pg_bin.join(binary);
        let mut command = match self.owner {
            Some((uid, gid)) => {
                let mut c = Command::new("setpriv");
                c.args(["--reuid", &uid.to_string(), "--regid", &gid.to_string(), "--clear-groups"]).arg(&program);
                c
            }
            None => Command::new(&program),
        };
        command.current_dir("/");
        command
    }

    fn run(&self, binary: &str, args: &[&str]) {
        let output = self.command(binary).args(args).output().unwrap_or_else(|e| panic!("running {binary}: {e}"));
        assert!(
            output.status.success(),
            "{binary} failed: {}{}",
            String::from_utf8_lossy(&output.stderr),
            std::fs::read_to_string(self.dir.join("log")).unwrap_or_default()
        );
    }
}

fn effective_uid() -> u32 {
    // The owner of /proc/self is the process's effective uid.
    std::fs::metadata(Path::new("/proc/self")).map(|m| m.uid()).unwrap_or(u32::MAX)
}

impl Drop for PgServer {
    fn drop(&mut self) {
        let _ = self.command("pg_ctl").arg("stop").arg("-D").arg(self.data()).args(["-m", "immediate"]).output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
