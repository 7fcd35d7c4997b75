//! Silences that end by themselves (docs/decisions.md, "Triage"): at a
//! time, or once the issue has seen a number of events. The issue turns
//! `active` again, quietly (no announcement), with an entry in its
//! activity log.

use std::time::Duration;

use sentori_runtime::Shutdown;
use sentori_store::issues::{self, SilenceScope};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

/// How often a processor looks for silences whose time has passed, so one
/// ends within this of its time even when the issue sees no event.
const SWEEP_EVERY: Duration = Duration::from_secs(5);

/// Ends, in the batch's transaction and after its counts were added, the
/// silences of `issues` that the batch's events or the clock have ended.
pub async fn end_reached(tx: &mut PgConnection, project_id: Uuid, issues: &[Uuid]) -> Result<u64, sqlx::Error> {
    issues::end_silences(tx, SilenceScope::Counted(project_id, issues)).await
}

/// Ends every silence whose time has passed.
async fn end_due(pool: &PgPool) -> Result<u64, sqlx::Error> {
    issues::end_silences(&mut *pool.acquire().await?, SilenceScope::Due).await
}

/// Ends due silences every [`SWEEP_EVERY`] until shutdown.
pub fn spawn_sweeper(pool: PgPool, shutdown: Shutdown) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(SWEEP_EVERY);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tick.tick() => match end_due(&pool).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(count = n, "silences ended at their time"),
                    Err(err) => tracing::warn!(error = %err, "ending due silences failed; trying again"),
                },
            }
        }
    });
}
