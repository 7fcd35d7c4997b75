//! The queue on a real Valkey Cluster (three primaries, a replica each):
//! the same producer, consumer and dead-letter code as on one node, with
//! batches and acknowledgements still atomic.

use std::time::Duration;

use sentori_queue::{Consumer, ConsumerConfig, DeadLetters, Envelope, ItemKind, Keys, Producer, Stream, Valkey};
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
    let ids = producer.append(Stream::Notify, &(0..10).map(envelope).collect::<Vec<_>>()).await.unwrap();
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
