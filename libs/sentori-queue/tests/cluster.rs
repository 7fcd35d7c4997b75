//! The queue on a real Valkey Cluster (three primaries, a replica each):
//! the same producer, consumer and dead-letter code as on one node, with
//! batches and acknowledgements still atomic, and a stream's partitions
//! spread over the cluster's primaries.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use sentori_queue::{Consumer, ConsumerConfig, DeadLetters, Envelope, ItemKind, Keys, PartitionKey, Producer, Stream, Valkey};
use sentori_testkit::ValkeyCluster;
use uuid::Uuid;

fn envelope(n: usize) -> Envelope {
    Envelope::new(ItemKind::Notification, Uuid::now_v7(), Uuid::now_v7(), time::OffsetDateTime::now_utc())
        .with_payload(serde_json::json!({"n": n}))
}

#[tokio::test]
async fn streams_consumer_groups_and_dead_letters_work_on_a_cluster() {
    let cluster = ValkeyCluster::start(3).await;
    let url = cluster.url();
    let keys = Keys::new(format!("test-{}", Uuid::new_v4().simple()));
    let conn = sentori_queue::connect(&url, Duration::from_secs(5)).await.unwrap();
    assert!(matches!(conn, Valkey::Cluster(_)), "several URLs make a cluster connection");
    let producer = Producer::new(conn.clone(), keys.clone());

    let mut config = ConsumerConfig::new(Stream::Notify, "notifier");
    config.block = Duration::from_millis(200);
    let mut consumer = Consumer::join(&url, keys.clone(), config).await.unwrap();
    let ids = producer.append(Stream::Notify, PartitionKey::any(), &(0..10).map(envelope).collect::<Vec<_>>()).await.unwrap();
    assert_eq!(ids.len(), 10, "a batch is appended in one transaction");

    let batch = consumer.next_batch().await.unwrap();
    assert_eq!(batch.len(), 10);
    let (poison, good) = batch.split_first().unwrap();
    consumer.dead_letter(poison, "cannot be processed").await.unwrap();
    consumer.ack(&good.iter().map(|d| d.id.clone()).collect::<Vec<_>>()).await.unwrap();

    let stats = producer.stats(Stream::Notify, "notifier").await.unwrap();
    assert_eq!((stats.length, stats.pending, stats.dead_letters), (0, 0, 1), "{stats:?}");
    let mut dead = DeadLetters::new(conn, keys);
    let listed = dead.list(Stream::Notify, 10).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].error.as_deref(), Some("cannot be processed"));
}

/// The port of the primary that owns `key`'s slot.
async fn owner(url: &str, key: &str) -> u16 {
    let seed = url.split(',').next().unwrap();
    let mut conn = redis::Client::open(seed).unwrap().get_multiplexed_async_connection().await.unwrap();
    let slot: i64 = redis::cmd("CLUSTER").arg("KEYSLOT").arg(key).query_async(&mut conn).await.unwrap();
    let shards: Vec<redis::Value> = redis::cmd("CLUSTER").arg("SLOTS").query_async(&mut conn).await.unwrap();
    for shard in shards {
        let redis::Value::Array(parts) = shard else { continue };
        let (redis::Value::Int(first), redis::Value::Int(last), redis::Value::Array(primary)) = (&parts[0], &parts[1], &parts[2]) else { continue };
        if (*first..=*last).contains(&slot) {
            let redis::Value::Int(port) = primary[1] else { panic!("a port") };
            return port as u16;
        }
    }
    panic!("no node owns slot {slot}");
}

#[tokio::test]
async fn partitions_spread_over_the_primaries_and_every_entry_is_consumed_once() {
    let cluster = ValkeyCluster::start(3).await;
    let url = cluster.url();
    let namespace = format!("test-{}", Uuid::new_v4().simple());
    let keys = Keys::with_shards(namespace.clone(), 16);
    let producer = Producer::new(sentori_queue::connect(&url, Duration::from_secs(5)).await.unwrap(), keys.clone());

    let mut owners = BTreeSet::new();
    for partition in 0..16 {
        owners.insert(owner(&url, &keys.partition(Stream::Events, partition)).await);
    }
    assert_eq!(owners.len(), 3, "the 16 partitions live on every primary");

    let project = Uuid::now_v7();
    let mut sent = BTreeSet::new();
    for n in 0..400 {
        let envelope = envelope(n);
        sent.insert(n);
        producer.append(Stream::Events, PartitionKey::of(project, Uuid::now_v7()), &[envelope]).await.unwrap();
    }

    // Two consumers of one group, one of them configured for a single
    // partition: the recorded partition count makes it read all sixteen.
    let mut config = ConsumerConfig::new(Stream::Events, "processor");
    config.block = Duration::from_millis(200);
    config.batch_size = 64;
    let mut wide = Consumer::join(&url, keys.clone(), config.clone()).await.unwrap();
    config.consumer = format!("{}-narrow", config.consumer);
    let mut narrow = Consumer::join(&url, Keys::new(namespace), config).await.unwrap();
    assert_eq!((wide.partitions(), narrow.partitions()), (16, 16));

    let mut received: BTreeMap<u64, usize> = BTreeMap::new();
    let mut per_partition: BTreeMap<u16, usize> = BTreeMap::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while received.len() < sent.len() {
        assert!(std::time::Instant::now() < deadline, "only {} of {} entries consumed", received.len(), sent.len());
        for consumer in [&mut wide, &mut narrow] {
            let batch = consumer.next_batch().await.unwrap();
            for delivery in &batch {
                let n = delivery.envelope.as_ref().unwrap().payload.value().unwrap()["n"].as_u64().unwrap();
                *received.entry(n).or_default() += 1;
                *per_partition.entry(delivery.id.partition).or_default() += 1;
            }
            consumer.ack(&batch.into_iter().map(|d| d.id).collect::<Vec<_>>()).await.unwrap();
        }
    }
    assert!(received.values().all(|&times| times == 1), "no entry is delivered twice");
    assert_eq!(received.keys().copied().collect::<BTreeSet<_>>(), sent.into_iter().map(|n| n as u64).collect());
    assert_eq!(per_partition.len(), 16, "entries of one project spread over every partition: {per_partition:?}");
    let stats = producer.stats(Stream::Events, "processor").await.unwrap();
    assert_eq!((stats.partitions, stats.length, stats.pending), (16, 0, 0), "{stats:?}");
}
