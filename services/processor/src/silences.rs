//! Silences that end by themselves (docs/decisions.md, "Triage"): at a
//! time, or once the issue has seen a number of events. The issue turns
//! `active` again, quietly (no announcement), with an entry in its
//! activity log.

use std::time::Duration;

use sqlx::{PgConnection, PgPool};
use sentori_runtime::Shutdown;
use uuid::Uuid;

/// How often a processor looks for silences whose time has passed, so one
/// ends within this of its time even when the issue sees no event.
const SWEEP_EVERY: Duration = Duration::from_secs(5);

/// Ends the silences among `ended_when` that `scope` selects, logging each.
/// The row lock of the update decides once: a second processor waits, then
/// finds the issue no longer silenced.
fn statement(scope: &str, ended_when: &str) -> String {
    format!(
        "WITH ended AS (
             UPDATE issues AS i SET status = 'active', silenced_until = NULL, silenced_until_event_count = NULL
              WHERE i.status = 'silenced' AND {scope} AND ({ended_when})
          RETURNING i.project_id, i.id, CASE WHEN old.silenced_until <= now() THEN 'time' ELSE 'events' END AS reason)
         INSERT INTO issue_activity (project_id, issue_id, kind, actor, data)
         SELECT project_id, id, 'silenceEnded', 'processor', jsonb_build_object('reason', reason) FROM ended"
    )
}

/// Ends, in the batch's transaction and after its counts were added, the
/// silences of `issues` that the batch's events or the clock have ended.
pub async fn end_reached(tx: &mut PgConnection, project_id: Uuid, issues: &[Uuid]) -> Result<u64, sqlx::Error> {
    if issues.is_empty() {
        return Ok(0);
    }
    let sql = statement(
        "i.project_id = $1 AND i.id = ANY($2)",
        "i.silenced_until <= now() OR i.event_count >= i.silenced_until_event_count",
    );
    Ok(sqlx::query(&sql).bind(project_id).bind(issues).execute(tx).await?.rows_affected())
}

/// Ends every silence whose time has passed (through the partial index
/// `issues_silence_ends`).
async fn end_due(pool: &PgPool) -> Result<u64, sqlx::Error> {
    let sql = statement("i.silenced_until IS NOT NULL", "i.silenced_until <= now()");
    Ok(sqlx::query(&sql).execute(pool).await?.rows_affected())
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
