//! Containing a panic to the work that caused it.
//!
//! A consumer handles entries that anyone with a public token can shape. A
//! bug that one entry reaches must cost that entry, not the process: a
//! crashed processor claims the same entry again when it restarts and dies
//! again, so one request a minute would keep every project's processing
//! down.

use std::any::Any;
use std::panic::AssertUnwindSafe;

use futures::FutureExt;

/// A panic caught while running some work, with its message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("panicked: {0}")]
pub struct Panicked(pub String);

impl Panicked {
    fn from_payload(payload: Box<dyn Any + Send>) -> Self {
        let message = match payload.downcast::<String>() {
            Ok(text) => *text,
            Err(payload) => match payload.downcast::<&'static str>() {
                Ok(text) => (*text).to_owned(),
                Err(_) => "a panic without a message".to_owned(),
            },
        };
        Panicked(message)
    }
}

/// Runs `work` and turns a panic inside it into an error.
///
/// Unwind safety is asserted: callers own no state that a half-finished
/// `work` could leave broken for the next call (a transaction is rolled back
/// when it is dropped; shared caches recover from poisoned locks).
pub async fn catch_panic<F: Future>(work: F) -> Result<F::Output, Panicked> {
    AssertUnwindSafe(work).catch_unwind().await.map_err(|payload| {
        let panicked = Panicked::from_payload(payload);
        metrics::counter!("sentori_panics_caught_total").increment(1);
        tracing::error!(error = %panicked, "work panicked; contained to the work that caused it");
        panicked
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panic_becomes_an_error_with_its_message() {
        let caught = catch_panic(async { panic!("overflow at {}", 68) }).await;
        assert_eq!(caught, Err(Panicked("overflow at 68".to_owned())));
        let caught = catch_panic(async { std::panic::panic_any(7u8) }).await;
        assert_eq!(
            caught,
            Err(Panicked("a panic without a message".to_owned()))
        );
    }

    #[tokio::test]
    async fn work_that_returns_is_untouched() {
        assert_eq!(catch_panic(async { 41 + 1 }).await, Ok(42));
    }
}
