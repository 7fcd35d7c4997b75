//! A consumer against a real Valkey: work it holds back stays its own, and
//! work it derived lands on the dead-letter stream like a dead entry.

use std::time::Duration;

use redis::streams::StreamPendingCountReply;
use sentori_queue::{Consumer, ConsumerConfig, DeadLetters, Envelope, ItemKind, PartitionKey, Producer, Stream};
use sentori_testkit::TestStack;
use uuid::Uuid;

fn envelope() -> Envelope {
    Envelope::new(ItemKind::Notification, Uuid::now_v7(), Uuid::now_v7(), time::OffsetDateTime::now_utc())
        .with_payload(serde_json::json!({"reason": "new"}))
}

async fn idle_ms(stack: &TestStack, id: &str) -> u64 {
    let reply: StreamPendingCountReply = redis::cmd("XPENDING")
        .arg(stack.keys().stream(Stream::Notify))
        .arg("notifier")
        .arg(id)
        .arg(id)
        .arg(1)
        .query_async(&mut stack.valkey().await)
        .await
        .unwrap();
    reply.ids[0].last_delivered_ms as u64
}

#[tokio::test]
async fn a_held_entry_stays_fresh_and_derived_work_is_dead_lettered_in_the_entry_shape() {
    let stack = TestStack::new().await;
    let producer = Producer::new(sentori_queue::connect(&stack.valkey_url, Duration::from_secs(2)).await.unwrap(), stack.keys());
    producer.append(Stream::Notify, PartitionKey::any(), &[envelope()]).await.unwrap();
    let mut consumer = Consumer::join(&stack.valkey_url, stack.keys(), ConsumerConfig::new(Stream::Notify, "notifier")).await.unwrap();
    let batch = consumer.next_batch().await.unwrap();
    let entry = batch[0].id.clone();
    let id = entry.id.clone();

    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(idle_ms(&stack, &id).await >= 300);
    consumer.keep_alive(&[&entry]).await.unwrap();
    assert!(idle_ms(&stack, &id).await < 300, "keep_alive resets the idle time other consumers judge by");

    consumer.dead_letter_derived(&envelope(), "digest not sent after 5 attempts", "digest", 5).await.unwrap();
    let mut dead = DeadLetters::new(sentori_queue::connect(&stack.valkey_url, Duration::from_secs(2)).await.unwrap(), stack.keys());
    let listed = dead.list(Stream::Notify, 10).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].original_id.as_deref(), Some("digest"));
    assert_eq!(listed[0].error.as_deref(), Some("digest not sent after 5 attempts"));
    assert_eq!(listed[0].deliveries, Some(5));
    assert!(listed[0].size_bytes > 0);
}
