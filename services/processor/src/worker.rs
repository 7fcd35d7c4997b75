//! The consumer loop every stream handler runs in: read a batch, handle it in
//! one transaction, acknowledge only after it committed.

use std::time::Duration;

use sentori_queue::{Consumer, Delivery, Envelope};
use sentori_runtime::Shutdown;
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
    let mut read_backoff = Backoff::new();
    while !shutdown.is_cancelled() {
        let batch = tokio::select! {
            _ = shutdown.cancelled() => break,
            batch = consumer.next_batch() => batch,
        };
        let batch = match batch {
            Ok(batch) => {
                read_backoff.reset();
                batch
            }
            Err(err) => {
                tracing::warn!(stream = name, error = %err, "reading the stream failed; retrying");
                read_backoff.wait(&shutdown).await;
                continue;
            }
        };
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
    let envelopes: Vec<&Envelope> = good.iter().filter_map(|d| d.envelope.as_ref().ok()).collect();
    let mut span = batch_span(handler.name(), &envelopes);
    let result = handle_with_retry(handler, &envelopes, shutdown).await;
    if let Err(err) = &result {
        span.fail(err.to_string());
    }
    drop(span);
    match result {
        Ok(()) => {
            let ids: Vec<String> = good.iter().map(|d| d.id.clone()).collect();
            consumer.ack(&ids).await?;
            tracing::debug!(stream = handler.name(), count = ids.len(), elapsed_ms = started.elapsed().as_millis() as u64, "batch processed");
            Ok(())
        }
        Err(err) if err.is_transient() => Err(err),
        Err(err) => {
            // Something in the data breaks the batch: find it by handling each
            // entry alone, so one poison entry never holds back the others.
            tracing::warn!(stream = handler.name(), error = %err, "batch failed; isolating the entry that fails");
            let mut failed = Vec::new();
            for delivery in &good {
                let Ok(envelope) = &delivery.envelope else { continue };
                match handle_with_retry(handler, &[envelope], shutdown).await {
                    Ok(()) => consumer.ack(std::slice::from_ref(&delivery.id)).await?,
                    Err(err) if err.is_transient() => return Err(err),
                    Err(err) => failed.push((delivery, err)),
                }
            }
            if failed.len() == good.len() && good.len() > 1 {
                // Every entry failing alone points at the server, not the
                // data (an error this code does not yet know as transient).
                // Leave them pending: they are redelivered after the claim
                // timeout, and only dead-lettered after max deliveries.
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
    }
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
        match handler.handle(items).await {
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

    fn reset(&mut self) {
        self.delay = Self::FIRST;
    }

    async fn wait(&mut self, shutdown: &Shutdown) {
        tokio::select! {
            _ = shutdown.cancelled() => {}
            _ = tokio::time::sleep(self.delay) => {}
        }
        self.delay = (self.delay * 2).min(Self::MAX);
    }
}
