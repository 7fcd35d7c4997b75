//! Which partition of a stream an entry goes to, and which partitions are in use.

use uuid::Uuid;

use crate::{Keys, QueueError, Stream, Valkey};

/// What an entry's partition is chosen by: the same project and item id
/// always land in the same partition, so a retried request goes where its
/// first try went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartitionKey(u64);

impl PartitionKey {
    pub fn of(project_id: Uuid, item_id: Uuid) -> Self {
        // FNV-1a: the same on every build and every Rust version, which
        // std's hasher does not promise.
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in project_id.as_bytes().iter().chain(item_id.as_bytes()) {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
        Self(hash)
    }

    /// For work that has no item of its own to be routed by.
    pub fn any() -> Self {
        Self(Uuid::new_v4().as_u64_pair().0)
    }

    pub fn partition(self, shards: u16) -> u16 {
        (self.0 % u64::from(shards.max(1))) as u16
    }
}

/// Raises the recorded partition count to ARGV[1], never lowers it.
const RAISE: &str = r#"
local n = tonumber(redis.call('GET', KEYS[1]) or '1')
local wanted = tonumber(ARGV[1])
if n < wanted then redis.call('SET', KEYS[1], wanted) return wanted end
return n
"#;

/// Records that this process writes `keys.shards()` partitions, so every
/// consumer reads them all whatever its own setting.
pub(crate) async fn record(conn: &mut Valkey, keys: &Keys, stream: Stream) -> Result<(), QueueError> {
    redis::Script::new(RAISE).key(keys.partition_count(stream)).arg(keys.shards()).invoke_async::<i64>(conn).await?;
    Ok(())
}

/// The partitions of `stream` that may hold entries: this process's own
/// count, or more when a producer has written more (before an operator
/// lowered `SENTORI_STREAM_SHARDS`, or while its replicas disagree).
pub(crate) async fn in_use(conn: &mut Valkey, keys: &Keys, stream: Stream) -> Result<u16, QueueError> {
    let recorded: Option<u16> = redis::cmd("GET").arg(keys.partition_count(stream)).query_async(conn).await?;
    Ok(keys.shards().max(recorded.unwrap_or(1)).min(crate::keys::MAX_SHARDS))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_always_picks_the_same_partition_and_keys_spread_over_all() {
        let project = Uuid::now_v7();
        let item = Uuid::now_v7();
        assert_eq!(PartitionKey::of(project, item).partition(16), PartitionKey::of(project, item).partition(16));
        let mut seen = [0u32; 16];
        for _ in 0..1600 {
            seen[PartitionKey::of(project, Uuid::now_v7()).partition(16) as usize] += 1;
        }
        assert!(seen.iter().all(|&n| n > 50), "ids of one project spread over every partition: {seen:?}");
        assert_eq!(PartitionKey::of(project, item).partition(1), 0);
        assert_eq!(PartitionKey::of(project, item).partition(0), 0);
    }
}
