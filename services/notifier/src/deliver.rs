//! Deciding and recording who gets which email: the delivery log.
//!
//! Exactly once per (issue, reason, recipient, occurrence), as far as SMTP
//! allows. Each email is sent inside a transaction that first takes a lock
//! per (project, recipient), checks the `deliveries` row, inserts it, hands
//! the email to the SMTP server and only then commits:
//!
//! - a crash or SMTP failure before the server accepted the email rolls the
//!   row back, so the redelivered announcement sends it (never lost);
//! - a second notifier working on the same announcement waits on the lock
//!   and then finds the committed row (never sent twice concurrently);
//! - the one window left is a crash after the server accepted the email and
//!   before the commit: that email is sent again on redelivery. SMTP has no
//!   idempotency key, so one of "maybe twice" or "maybe never" is
//!   unavoidable there; a duplicate in a rare crash beats a lost alert.
//!
//! A pending/sent two-state log would move that window, not close it, and
//! would need a sweeper for rows stuck in "pending"; the open transaction
//! costs one connection per email in flight, which is small.

use std::time::Duration;

use serde_json::Value;
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use sentori_model::Reason;

use crate::mail::{IssueFacts, Mailer, SendError, digest_email, issue_email};

/// One announcement from the notify stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Announcement {
    pub project_id: Uuid,
    pub issue_id: Uuid,
    pub reason: Reason,
    pub occurrence: i64,
}

impl Announcement {
    /// Reads the payload the processor publishes (`sentori_model::Announcement`).
    pub fn from_payload(project_id: Uuid, payload: Value) -> Result<Self, String> {
        let sentori_model::Announcement { issue_id, reason, occurrence } =
            serde_json::from_value(payload).map_err(|err| format!("announcement payload: {err}"))?;
        Ok(Self { project_id, issue_id, reason, occurrence })
    }
}

/// The storm guard: after `threshold` new-issue emails to a recipient within
/// `window`, further new issues wait and go out as one digest when the
/// window since the first held one has passed.
#[derive(Debug, Clone, Copy)]
pub struct DigestPolicy {
    pub threshold: i64,
    pub window: Duration,
}

/// Why handling failed, which decides between retrying and dead-lettering.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    #[error("{0}")]
    Transient(String),
    #[error("{0}")]
    Permanent(String),
}

/// A bug reached by one announcement ends that announcement, not the notifier.
impl From<sentori_runtime::panic::Panicked> for Failure {
    fn from(panicked: sentori_runtime::panic::Panicked) -> Self {
        Failure::Permanent(panicked.to_string())
    }
}

impl From<sqlx::Error> for Failure {
    fn from(err: sqlx::Error) -> Self {
        // A database problem is the notifier's, not the announcement's: retry.
        Failure::Transient(format!("database error: {err}"))
    }
}

/// What handling one announcement did, for the logs.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Report {
    pub sent: u32,
    pub already_sent: u32,
    pub held_for_digest: u32,
}

enum Step {
    Sent,
    AlreadySent,
    Held,
}

#[derive(Clone)]
pub struct Deliverer {
    pub pool: PgPool,
    pub mailer: Mailer,
    pub public_url: String,
    pub digest: DigestPolicy,
}

/// What the emails say about the issues `ids` of a project, oldest first.
async fn issue_facts<'e>(executor: impl sqlx::PgExecutor<'e>, project_id: Uuid, ids: &[Uuid]) -> Result<Vec<IssueFacts>, sqlx::Error> {
    sqlx::query_as!(
        IssueFacts,
        "SELECT i.project_id, p.name AS project_name, i.id AS issue_id, i.title, i.culprit, i.status,
                i.first_release, i.last_release, i.last_environment AS environment, i.first_seen, i.event_count
           FROM issues i JOIN projects p ON p.id = i.project_id
          WHERE i.project_id = $1 AND i.id = ANY($2)
          ORDER BY i.first_seen, i.id",
        project_id,
        ids,
    )
    .fetch_all(executor)
    .await
}

impl Deliverer {
    /// Emails every recipient of the project whose switch matches, once each.
    /// Recipients already done are skipped, so a retry after a partial
    /// failure only sends what is missing.
    pub async fn announce(&self, announcement: &Announcement) -> Result<Report, Failure> {
        let mut report = Report::default();
        let facts = issue_facts(&self.pool, announcement.project_id, &[announcement.issue_id]).await?.pop();
        let Some(facts) = facts else {
            // The project or issue was deleted since: there is nobody to tell.
            tracing::info!(issue = %announcement.issue_id, "the announced issue no longer exists; nothing to send");
            return Ok(report);
        };
        if facts.status == "silenced" {
            tracing::debug!(issue = %announcement.issue_id, "the issue is silenced; no email");
            return Ok(report);
        }
        // Each recipient's switch for the announcement's reason.
        let recipients: Vec<(Uuid, String)> = sqlx::query!(
            "SELECT id, email FROM recipients
              WHERE project_id = $1 AND CASE $2 WHEN 'new' THEN on_new_issue ELSE on_regression END
              ORDER BY created_at, id",
            announcement.project_id,
            announcement.reason.as_str(),
        )
        .map(|row| (row.id, row.email))
        .fetch_all(&self.pool)
        .await?;
        let mut transient = None;
        let mut permanent = None;
        for (recipient_id, email) in recipients {
            match self.one_recipient(announcement, &facts, recipient_id, &email).await {
                Ok(Step::Sent) => report.sent += 1,
                Ok(Step::AlreadySent) => report.already_sent += 1,
                Ok(Step::Held) => report.held_for_digest += 1,
                // Go on with the other recipients: one bad address must not
                // keep everybody else from hearing about the issue.
                Err(Failure::Transient(msg)) => transient = Some(format!("sending to {email}: {msg}")),
                Err(Failure::Permanent(msg)) => permanent = Some(format!("sending to {email}: {msg}")),
            }
        }
        match (transient, permanent) {
            (Some(msg), _) => Err(Failure::Transient(msg)),
            (None, Some(msg)) => Err(Failure::Permanent(msg)),
            (None, None) => Ok(report),
        }
    }

    async fn one_recipient(&self, a: &Announcement, facts: &IssueFacts, recipient_id: Uuid, email: &str) -> Result<Step, Failure> {
        let mut tx = self.pool.begin().await?;
        lock_recipient(&mut tx, a.project_id, recipient_id).await?;
        let done: bool = sqlx::query_scalar!(
            r#"SELECT EXISTS (SELECT 1 FROM deliveries
              WHERE project_id = $1 AND issue_id = $2 AND reason = $3 AND occurrence = $4 AND recipient_id = $5) AS "done!""#,
            a.project_id,
            a.issue_id,
            a.reason.as_str(),
            a.occurrence,
            recipient_id,
        )
        .fetch_one(&mut *tx)
        .await?;
        if done {
            return Ok(Step::AlreadySent);
        }
        if a.reason == Reason::New {
            let row = sqlx::query!(
                r#"SELECT EXISTS (SELECT 1 FROM notify_digest_items
                          WHERE project_id = $1 AND recipient_id = $2 AND issue_id = $3 AND occurrence = $4) AS "held!",
                        (SELECT count(*) FROM deliveries
                          WHERE project_id = $1 AND recipient_id = $2 AND reason = 'new'
                            AND sent_at > clock_timestamp() - make_interval(secs => $5))
                      + (SELECT count(*) FROM notify_digest_items WHERE project_id = $1 AND recipient_id = $2) AS "recent!""#,
                a.project_id,
                recipient_id,
                a.issue_id,
                a.occurrence,
                self.digest.window.as_secs_f64(),
            )
            .fetch_one(&mut *tx)
            .await?;
            if row.held {
                return Ok(Step::Held);
            }
            if row.recent >= self.digest.threshold {
                sqlx::query!(
                    "INSERT INTO notify_digest_items (project_id, recipient_id, issue_id, occurrence) VALUES ($1, $2, $3, $4)",
                    a.project_id,
                    recipient_id,
                    a.issue_id,
                    a.occurrence,
                )
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                return Ok(Step::Held);
            }
        }
        record_delivery(&mut tx, a.project_id, a.issue_id, a.reason, a.occurrence, recipient_id).await?;
        let message = issue_email(facts, a.reason, &self.public_url);
        // Dropping `tx` on an error rolls the row back: nothing was sent.
        self.mailer.send(email, &message).await.map_err(send_failure)?;
        tx.commit().await?;
        Ok(Step::Sent)
    }

    /// The (project, recipient) pairs whose held items have waited a whole window.
    pub async fn due_digests(&self) -> Result<Vec<(Uuid, Uuid)>, sqlx::Error> {
        sqlx::query!(
            "SELECT project_id, recipient_id FROM notify_digest_items GROUP BY 1, 2
             HAVING min(queued_at) <= clock_timestamp() - make_interval(secs => $1)",
            self.digest.window.as_secs_f64(),
        )
        .map(|row| (row.project_id, row.recipient_id))
        .fetch_all(&self.pool)
        .await
    }

    /// Sends one recipient's digest of held new issues and records a delivery
    /// per issue, in one transaction (the same crash reasoning as single emails).
    /// Returns how many issues it listed.
    pub async fn send_digest(&self, project_id: Uuid, recipient_id: Uuid) -> Result<usize, Failure> {
        let mut tx = self.pool.begin().await?;
        lock_recipient(&mut tx, project_id, recipient_id).await?;
        let held: Vec<(Uuid, i64)> = sqlx::query!(
            "DELETE FROM notify_digest_items WHERE project_id = $1 AND recipient_id = $2 RETURNING issue_id, occurrence",
            project_id,
            recipient_id,
        )
        .map(|row| (row.issue_id, row.occurrence))
        .fetch_all(&mut *tx)
        .await?;
        if held.is_empty() {
            return Ok(0);
        }
        let email: Option<String> =
            sqlx::query_scalar!(
                "SELECT email FROM recipients WHERE project_id = $1 AND id = $2 AND on_new_issue",
                project_id,
                recipient_id,
            )
            .fetch_optional(&mut *tx)
            .await?;
        let Some(email) = email else {
            tracing::info!(%recipient_id, "the recipient was removed or unsubscribed while a digest was held; dropping it");
            tx.commit().await?;
            return Ok(0);
        };
        let (issue_ids, occurrences): (Vec<Uuid>, Vec<i64>) = held.into_iter().unzip();
        let fresh: Vec<Uuid> = sqlx::query_scalar!(
            "INSERT INTO deliveries (project_id, issue_id, reason, occurrence, recipient_id, sent_at)
             SELECT $1, t.issue_id, 'new', t.occurrence, $2, clock_timestamp()
             FROM unnest($3::uuid[], $4::bigint[]) AS t (issue_id, occurrence)
             ON CONFLICT DO NOTHING
             RETURNING issue_id",
            project_id,
            recipient_id,
            &issue_ids,
            &occurrences,
        )
        .fetch_all(&mut *tx)
        .await?;
        let mut facts = issue_facts(&mut *tx, project_id, &fresh).await?;
        facts.retain(|issue| issue.status != "silenced");
        let message = match facts.as_slice() {
            [] => {
                tx.commit().await?;
                return Ok(0);
            }
            [one] => issue_email(one, Reason::New, &self.public_url),
            many => digest_email(&many[0].project_name, many, &self.public_url),
        };
        self.mailer.send(&email, &message).await.map_err(send_failure)?;
        tx.commit().await?;
        Ok(facts.len())
    }

    /// Gives up on a digest: deletes its held items and returns them (and the
    /// org) so the caller can put them on the dead-letter stream.
    pub async fn abandon_digest(&self, project_id: Uuid, recipient_id: Uuid) -> Result<(Uuid, Vec<(Uuid, i64)>), sqlx::Error> {
        let held: Vec<(Uuid, i64)> = sqlx::query!(
            "DELETE FROM notify_digest_items WHERE project_id = $1 AND recipient_id = $2 RETURNING issue_id, occurrence",
            project_id,
            recipient_id,
        )
        .map(|row| (row.issue_id, row.occurrence))
        .fetch_all(&self.pool)
        .await?;
        let org = sentori_store::projects::org_of(&self.pool, project_id).await?;
        Ok((org.unwrap_or_default(), held))
    }
}

/// Serialises the decisions about one recipient of one project across
/// notifier replicas (the storm guard counts, the delivery row checks).
async fn lock_recipient(tx: &mut Transaction<'_, Postgres>, project_id: Uuid, recipient_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "SELECT pg_advisory_xact_lock(hashtextextended('sentori_notify:' || $1::uuid::text || ':' || $2::uuid::text, 0))",
        project_id,
        recipient_id,
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn record_delivery(
    tx: &mut Transaction<'_, Postgres>,
    project_id: Uuid,
    issue_id: Uuid,
    reason: Reason,
    occurrence: i64,
    recipient_id: Uuid,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO deliveries (project_id, issue_id, reason, occurrence, recipient_id, sent_at)
         VALUES ($1, $2, $3, $4, $5, clock_timestamp())",
        project_id,
        issue_id,
        reason.as_str(),
        occurrence,
        recipient_id,
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

fn send_failure(err: SendError) -> Failure {
    match err {
        SendError::Permanent(msg) => Failure::Permanent(msg),
        SendError::Transient(msg) => Failure::Transient(msg),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn reads_the_processor_payload() {
        let issue = Uuid::now_v7();
        let a = Announcement::from_payload(Uuid::nil(), json!({"issueId": issue, "reason": "regressed", "occurrence": 2})).unwrap();
        assert_eq!(a, Announcement { project_id: Uuid::nil(), issue_id: issue, reason: Reason::Regressed, occurrence: 2 });
        assert!(Announcement::from_payload(Uuid::nil(), json!({"issueId": issue, "reason": "resolved", "occurrence": 0})).is_err());
        assert!(Announcement::from_payload(Uuid::nil(), json!({"issueId": "x", "reason": "new", "occurrence": 0})).is_err());
        assert!(Announcement::from_payload(Uuid::nil(), json!({"issueId": issue, "reason": "new"})).is_err());
    }
}
