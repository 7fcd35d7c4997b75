//! One connection type for a single Valkey node and for a Valkey Cluster.
//!
//! Every key Sentori touches in one command, script or transaction carries
//! one hash tag (keys.rs), so the same commands run on either; only how the
//! connection finds the node that owns a key differs.

use std::time::Duration;

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClientBuilder;
use redis::cluster_async::ClusterConnection;
use redis::io::tcp::TcpSettings;
use redis::{Cmd, Pipeline, RedisFuture, RedisResult, Value};

/// Where Valkey is, as `SENTORI_VALKEY_URL` says it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValkeyTarget {
    /// `redis://host:port/db`: one node (with or without replicas behind it).
    Node(String),
    /// Seed nodes of a cluster: several comma-separated URLs, or one URL
    /// followed by `?cluster=true`. The client learns the rest of the
    /// cluster's nodes and its slot map from any seed that answers.
    Cluster(Vec<String>),
}

impl ValkeyTarget {
    pub fn parse(url: &str) -> ValkeyTarget {
        let urls: Vec<String> = url.split(',').map(str::trim).filter(|u| !u.is_empty()).map(str::to_owned).collect();
        if urls.len() > 1 {
            return ValkeyTarget::Cluster(urls);
        }
        let single = urls.into_iter().next().unwrap_or_default();
        match single.split_once("?cluster=true") {
            Some((seed, "")) => ValkeyTarget::Cluster(vec![seed.to_owned()]),
            _ => ValkeyTarget::Node(single),
        }
    }

    pub fn is_cluster(&self) -> bool {
        matches!(self, ValkeyTarget::Cluster(_))
    }
}

/// A self-healing, multiplexed connection to a node or a cluster. Clones
/// share the underlying connections.
#[derive(Clone)]
pub enum Valkey {
    Node(ConnectionManager),
    Cluster(ClusterConnection),
}

/// Opens a connection to `url` (see [`ValkeyTarget`]). `response_timeout`
/// must exceed any blocking read made on it.
pub async fn connect(url: &str, response_timeout: Duration) -> RedisResult<Valkey> {
    // Nagle's algorithm holds a small command back while an earlier one is
    // unacknowledged, and every request of a service shares one multiplexed
    // connection per node: without TCP_NODELAY, commands queue behind each
    // other's ACKs (redis-rs leaves it off by default).
    let tcp = TcpSettings::default().set_nodelay(true);
    match ValkeyTarget::parse(url) {
        ValkeyTarget::Node(url) => {
            let info = redis::IntoConnectionInfo::into_connection_info(url.as_str())?.set_tcp_settings(tcp);
            let client = redis::Client::open(info)?;
            let config = ConnectionManagerConfig::new()
                .set_connection_timeout(Some(Duration::from_secs(2)))
                .set_response_timeout(Some(response_timeout))
                .set_number_of_retries(2)
                .set_max_delay(Duration::from_secs(1));
            Ok(Valkey::Node(ConnectionManager::new_with_config(client, config).await?))
        }
        ValkeyTarget::Cluster(seeds) => {
            // Retries cover a failover: MOVED and connection errors make the
            // client refresh its slot map and try the slot's new owner.
            let client = ClusterClientBuilder::new(seeds)
                .tcp_settings(tcp)
                .connection_timeout(Duration::from_secs(2))
                .response_timeout(response_timeout)
                .retries(6)
                .max_retry_wait(1000)
                .build()?;
            Ok(Valkey::Cluster(client.get_async_connection().await?))
        }
    }
}

impl ConnectionLike for Valkey {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Valkey::Node(conn) => conn.req_packed_command(cmd),
            Valkey::Cluster(conn) => conn.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(&'a mut self, pipeline: &'a Pipeline, offset: usize, count: usize) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Valkey::Node(conn) => conn.req_packed_commands(pipeline, offset, count),
            Valkey::Cluster(conn) => conn.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Valkey::Node(conn) => conn.get_db(),
            Valkey::Cluster(conn) => conn.get_db(),
        }
    }
}

/// A cheap round trip for readiness checks.
pub async fn ping(conn: &mut Valkey) -> RedisResult<()> {
    redis::cmd("PING").query_async::<String>(conn).await.map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_url_is_a_node_and_several_are_a_cluster() {
        assert_eq!(ValkeyTarget::parse("redis://127.0.0.1:6379/0"), ValkeyTarget::Node("redis://127.0.0.1:6379/0".into()));
        assert_eq!(
            ValkeyTarget::parse("redis://a:7000, redis://b:7001,"),
            ValkeyTarget::Cluster(vec!["redis://a:7000".into(), "redis://b:7001".into()])
        );
        assert_eq!(ValkeyTarget::parse("redis://a:7000?cluster=true"), ValkeyTarget::Cluster(vec!["redis://a:7000".into()]));
        assert!(!ValkeyTarget::parse("redis://a:7000?protocol=resp3").is_cluster());
    }
}
