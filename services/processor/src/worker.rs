//! The consumer loop every stream handler runs in: read a batch, handle it in
//! one transaction, acknowledge only after it committed.

use std::time::Duration;

use sentori_queue::{Consumer, Delivery, EntryId, Envelope};
use sentori_runtime::Shutdown;
use sentori_runtime::panic::catch_panic;
use sentori_runtime::self_trace::{SpanKind, WorkSpan};

use crate::error::ProcessError;

/// Handles one stream's batches.
pub trait BatchHandler: Send + Sync {
    fn name(&self) -> &'static str;

    /// Makes the effect of `items` durable; must be idempotent, because a
    /// batch is redelivered when its acknowledgement is lost.
    fn handle(&self, items: &[&Envelope]) -> impl Future<Output = Result<(), ProcessError>> + Send;
}

/// One handler shared by several consumers of a stream.
impl<H: BatchHandler> BatchHandler for std::sync::Arc<H> {
    fn name(&self) -> &'static str {
        (**self).name()
    }

    fn handle(&self, items: &[&Envelope]) -> impl Future<Output = Result<(), ProcessError>> + Send {
        (**self).handle(items)
    }
}

/// Runs until `shutdown`; a batch in flight is finished (or left pending) first.
pub async fn run<H: BatchHandler>(mut consumer: Consumer, handler: H, shutdown: Shutdown) {
    let name = handler.name();
    while let Some(batch) = consumer.next_batch_until(&shutdown).await {
        if batch.is_empty() {
            continue;
        }
        if let Err(err) = process_batch(&mut consumer, &handler, batch, &shutdown).await {
            tracing::warn!(stream = name, error = %err, "batch left pending; it will be redelivered");
        }
    }
    tracing::info!(stream = name, "consumer stopped");
}

async fn process_batch<H: BatchHandler>(
    consumer: &mut Consumer,
    handler: &H,
    batch: Vec<Delivery>,
    shutdown: &Shutdown,
) -> Result<(), ProcessError> {
    let started = std::time::Instant::now();
    metrics::histogram!("sentori_batch_size", "stream" => handler.name()).record(batch.len() as f64);
    let mut good = Vec::with_capacity(batch.len());
    for delivery in batch {
        match &delivery.envelope {
            Ok(_) => good.push(delivery),
            Err(err) => {
                tracing::error!(stream = handler.name(), id = %delivery.id, error = %err, "undecodable entry moved to the dead-letter stream");
                consumer.dead_letter(&delivery, &err.to_string()).await?;
            }
        }
    }
    if good.is_empty() {
        return Ok(());
    }
    let envelopes = envelopes_of(&good);
    let mut span = batch_span(handler.name(), &envelopes);
    let result = handle_with_retry(handler, &envelopes, shutdown).await;
    if let Err(err) = &result {
        span.fail(err.to_string());
    }
    drop(span);
    match result {
        Ok(()) => {
            consumer.ack(&ids_of(&good)).await?;
            tracing::debug!(stream = handler.name(), count = good.len(), elapsed_ms = started.elapsed().as_millis() as u64, "batch processed");
            Ok(())
        }
        Err(err) if err.is_transient() => Err(err),
        Err(err) => {
            tracing::warn!(stream = handler.name(), error = %err, "batch failed; bisecting it to find the entries that fail");
            isolate_failures(consumer, handler, &good, err, shutdown).await
        }
    }
}

/// Something in the data breaks the batch: halves are handled apart, and a
/// failing half is split again, until each failing entry stands alone. Every
/// half that succeeds is acknowledged, so one poison entry costs its
/// neighbours a few more transactions, never their place in the store.
async fn isolate_failures<H: BatchHandler>(
    consumer: &mut Consumer,
    handler: &H,
    good: &[Delivery],
    batch_error: ProcessError,
    shutdown: &Shutdown,
) -> Result<(), ProcessError> {
    let mut failed = Vec::new();
    let mut parts = Vec::new();
    match good {
        [only] => failed.push((only, batch_error)),
        _ => push_halves(&mut parts, good),
    }
    while let Some(part) = parts.pop() {
        match handle_with_retry(handler, &envelopes_of(part), shutdown).await {
            Ok(()) => consumer.ack(&ids_of(part)).await?,
            Err(err) if err.is_transient() => return Err(err),
            Err(err) if part.len() == 1 => failed.push((&part[0], err)),
            Err(_) => push_halves(&mut parts, part),
        }
    }
    if failed.len() == good.len() && good.len() > 1 {
        // Every entry failing alone points at the server, not the data (an
        // error this code does not yet know as transient). Leave them
        // pending: they are redelivered after the claim timeout, and only
        // dead-lettered after max deliveries.
        let (_, first) = &failed[0];
        tracing::error!(stream = handler.name(), error = %first, count = failed.len(), "every entry failed alone; leaving the batch pending");
        return Ok(());
    }
    for (delivery, err) in failed {
        tracing::error!(stream = handler.name(), id = %delivery.id, error = %err, "entry moved to the dead-letter stream");
        consumer.dead_letter(delivery, &err.to_string()).await?;
    }
    Ok(())
}

/// Pushes the two halves of `part` so that the first half is popped first.
fn push_halves<'a>(stack: &mut Vec<&'a [Delivery]>, part: &'a [Delivery]) {
    let (first, second) = part.split_at(part.len() / 2);
    stack.extend([second, first]);
}

fn envelopes_of(deliveries: &[Delivery]) -> Vec<&Envelope> {
    deliveries.iter().filter_map(|d| d.envelope.as_ref().ok()).collect()
}

fn ids_of(deliveries: &[Delivery]) -> Vec<EntryId> {
    deliveries.iter().map(|d| d.id.clone()).collect()
}

/// One self-trace span per batch, except for a batch made only of the
/// self-trace project's own spans: tracing those would feed on itself.
fn batch_span(stream: &'static str, envelopes: &[&Envelope]) -> WorkSpan {
    let own = sentori_runtime::self_trace::project_id();
    if stream == "spans" && own.is_some_and(|own| envelopes.iter().all(|e| e.project_id == own)) {
        return WorkSpan::start_disabled();
    }
    let mut span = WorkSpan::start("queue.process", format!("process {stream}"), SpanKind::Consumer);
    span.set_tag("batch.size", envelopes.len() as i64);
    span
}

/// Retries transient failures (PostgreSQL down, deadlocks) until they pass
/// or shutdown is requested; nothing is acknowledged meanwhile.
async fn handle_with_retry<H: BatchHandler>(handler: &H, items: &[&Envelope], shutdown: &Shutdown) -> Result<(), ProcessError> {
    let mut backoff = Backoff::new();
    loop {
        let outcome = catch_panic(handler.handle(items)).await.unwrap_or_else(|panicked| Err(panicked.into()));
        match outcome {
            Err(err) if err.is_transient() && !shutdown.is_cancelled() => {
                tracing::warn!(stream = handler.name(), error = %err, "transient failure; retrying the batch");
                backoff.wait(shutdown).await;
            }
            other => return other,
        }
    }
}

struct Backoff {
    delay: Duration,
}

impl Backoff {
    const FIRST: Duration = Duration::from_millis(100);
    const MAX: Duration = Duration::from_secs(5);

    fn new() -> Self {
        Self { delay: Self::FIRST }
    }

    async fn wait(&mut self, shutdown: &Shutdown) {
        tokio::select! {
            _ = shutdown.cancelled() => {}
            _ = tokio::time::sleep(self.delay) => {}
        }
        self.delay = (self.delay * 2).min(Self::MAX);
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::sync::Mutex;

    use redis::AsyncCommands;
    use redis::streams::StreamRangeReply;
    use sentori_queue::{ConsumerConfig, ItemKind, PartitionKey, Payload, Producer, Stream};
    use sentori_testkit::TestStack;
    use uuid::Uuid;

    use super::*;

    /// Stores what it is given, unless the batch holds an entry whose payload
    /// says `"panic"` (a bug the data reaches) or `"refuse"` (bad data).
    #[derive(Default)]
    struct Recorder {
        stored: Mutex<BTreeSet<String>>,
    }

    impl BatchHandler for Recorder {
        fn name(&self) -> &'static str {
            "test"
        }

        async fn handle(&self, items: &[&Envelope]) -> Result<(), ProcessError> {
            let names: Vec<String> = items
                .iter()
                .map(|e| {
                    e.payload.value().unwrap()["name"]
                        .as_str()
                        .unwrap()
                        .to_owned()
                })
                .collect();
            if names.iter().any(|n| n == "panic") {
                let end =
                    time::OffsetDateTime::now_utc() + time::Duration::days(i64::MAX / 86_400 / 2);
                unreachable!("{end}");
            }
            if names.iter().any(|n| n == "refuse") {
                return Err(ProcessError::Payload("refused".into()));
            }
            self.stored.lock().unwrap().extend(names);
            Ok(())
        }
    }

    #[tokio::test]
    async fn a_panicking_entry_is_dead_lettered_alone_and_its_batch_is_stored() {
        let stack = TestStack::new().await;
        let conn = sentori_queue::connect(&stack.valkey_url, Duration::from_secs(2))
            .await
            .unwrap();
        let producer = Producer::new(conn, stack.keys());
        let names = [
            "a", "b", "panic", "c", "d", "e", "refuse", "f", "g", "h", "i",
        ];
        let envelopes: Vec<Envelope> = names
            .iter()
            .map(|name| {
                Envelope::new(
                    ItemKind::Span,
                    Uuid::now_v7(),
                    Uuid::now_v7(),
                    time::OffsetDateTime::now_utc(),
                )
                .with_payload_text(Payload::from_value(&serde_json::json!({"name": name})))
            })
            .collect();
        let ids = producer.append(Stream::Spans, PartitionKey::any(), &envelopes).await.unwrap();
        let mut config = ConsumerConfig::new(Stream::Spans, "processor");
        config.batch_size = 100;
        let mut consumer = Consumer::join(&stack.valkey_url, stack.keys(), config)
            .await
            .unwrap();
        let batch = consumer.next_batch().await.unwrap();
        assert_eq!(batch.len(), names.len(), "one batch holds every entry");

        let recorder = Recorder::default();
        process_batch(&mut consumer, &recorder, batch, &Shutdown::new())
            .await
            .unwrap();

        let stored = recorder.stored.lock().unwrap().clone();
        let honest: BTreeSet<String> = names
            .iter()
            .filter(|n| !["panic", "refuse"].contains(n))
            .map(|n| n.to_string())
            .collect();
        assert_eq!(stored, honest, "every honest entry of the batch is stored");
        let mut valkey = stack.valkey().await;
        let dead: StreamRangeReply = valkey
            .xrange_all(stack.keys().dead_letters(Stream::Spans))
            .await
            .unwrap();
        let dead: Vec<(String, String)> = dead
            .ids
            .iter()
            .map(|e| {
                (
                    e.get::<String>("originalId").unwrap(),
                    e.get::<String>("error").unwrap(),
                )
            })
            .collect();
        assert_eq!(dead.len(), 2, "{dead:?}");
        assert_eq!(dead[0].0, ids[2]);
        assert!(
            dead[0].1.contains("panicked") && dead[0].1.contains("out of range"),
            "{}",
            dead[0].1
        );
        assert_eq!(dead[1].0, ids[6]);
        assert!(dead[1].1.contains("refused"), "{}", dead[1].1);
        let pending: redis::Value = redis::cmd("XPENDING")
            .arg(stack.keys().stream(Stream::Spans))
            .arg("processor")
            .query_async(&mut valkey)
            .await
            .unwrap();
        assert!(
            matches!(&pending, redis::Value::Array(items) if items.first() == Some(&redis::Value::Int(0))),
            "{pending:?}"
        );
    }
}
