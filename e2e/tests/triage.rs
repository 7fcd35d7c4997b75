//! Triage through the real binaries (docs/decisions.md, "Triage"): the
//! processor ends a silence when the Nth event after it arrives and, with no
//! event at all, when its time has passed, quietly (no announcement); and
//! the events of an issue merged into another keep landing in that other
//! issue, with exact counts even when both fingerprints come in one batch.

use crate::common;

use std::time::Duration;

use sentori_protocol::DEV_PROJECT_ID;
use sentori_queue::Stream;
use sentori_testkit::{eventually, post_event_batches};
use serde_json::{Value, json};
use sqlx::PgPool;
use time::OffsetDateTime;
use uuid::Uuid;

use common::{Services, error_event};

const PATIENCE: Duration = Duration::from_secs(60);

/// The pipeline, and its database to look at.
struct Pipeline {
    services: Services,
    pool: PgPool,
    /// Whether a processor is running (one is stopped to queue a batch for it).
    processing: bool,
}

impl Pipeline {
    async fn start() -> Self {
        let services = Services::start(&[]).await;
        let pool = services.stack.pool().await;
        Self { services, pool, processing: true }
    }

    /// Sends one event per type, in one request, and waits until they are processed.
    async fn send(&self, types: &[&str]) {
        let events: Vec<Value> = types.iter().map(|t| error_event(t, "shop@1.0.0")).collect();
        let s = &self.services;
        post_event_batches(&s.client, &s.ingest.url(""), &s.stack.dev_token, &events).await;
        if self.processing {
            s.stack.wait_drained(Stream::Events, PATIENCE).await;
        }
    }

    async fn issue(&self, error_type: &str) -> Uuid {
        sqlx::query_scalar("SELECT id FROM issues WHERE type = $1").bind(error_type).fetch_one(&self.pool).await.unwrap()
    }

    /// The issue's status and event count.
    async fn state(&self, issue: Uuid) -> (String, i64) {
        sqlx::query_as("SELECT status, event_count FROM issues WHERE id = $1").bind(issue).fetch_one(&self.pool).await.unwrap()
    }

    /// An admin API call with the dev token, as a script would make it; answers the body.
    async fn admin(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let s = &self.services;
        let url = s.admin.url(&format!("/admin/api/projects/{DEV_PROJECT_ID}{path}"));
        let response = s.client.request(method, url).bearer_auth(&s.stack.dev_token).json(&body).send().await.unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert_eq!(status, 200, "{path}: {body}");
        body
    }

    async fn silence(&self, issue: Uuid, silence: Value) {
        let mut body = json!({"status": "silenced"});
        body.as_object_mut().unwrap().extend(silence.as_object().unwrap().clone());
        self.admin(reqwest::Method::PATCH, &format!("/issues/{issue}"), body).await;
    }

    /// `(kind, actor, data)` of the issue's activity, oldest first.
    async fn activity(&self, issue: Uuid) -> Vec<(String, String, Value)> {
        let entries = self.admin(reqwest::Method::GET, &format!("/issues/{issue}/activity"), Value::Null).await;
        let mut entries: Vec<(String, String, Value)> = entries
            .as_array()
            .unwrap()
            .iter()
            .map(|e| (e["kind"].as_str().unwrap().to_owned(), e["actor"].as_str().unwrap().to_owned(), e["data"].clone()))
            .collect();
        entries.reverse();
        entries
    }

    /// The reasons of everything announced on the notify stream.
    async fn announced(&self) -> Vec<String> {
        eventually("every announcement to be published", PATIENCE, || async {
            let left: i64 = sqlx::query_scalar("SELECT count(*) FROM announcements").fetch_one(&self.pool).await.unwrap();
            (left == 0).then_some(())
        })
        .await;
        let stack = &self.services.stack;
        let mut valkey = stack.valkey().await;
        let entries: redis::streams::StreamRangeReply =
            redis::cmd("XRANGE").arg(stack.keys().stream(Stream::Notify)).arg("-").arg("+").query_async(&mut valkey).await.unwrap();
        entries
            .ids
            .iter()
            .map(|entry| {
                let bytes: Vec<u8> = entry.get("envelope").expect("an envelope field");
                let payload = sentori_queue::Envelope::decode(&bytes).unwrap().payload.value().unwrap();
                payload["reason"].as_str().unwrap().to_owned()
            })
            .collect()
    }
}

#[tokio::test]
async fn a_silence_ends_with_the_nth_event_after_it_or_at_its_time() {
    let p = Pipeline::start().await;
    p.send(&["CountedError", "TimedError"]).await;
    let (counted, timed) = (p.issue("CountedError").await, p.issue("TimedError").await);
    p.silence(counted, json!({"silenceForEvents": 3})).await;
    p.silence(timed, json!({"silenceForSeconds": 4})).await;
    assert_eq!(p.state(timed).await.0, "silenced", "not over before its time");

    // Two events of three: still silenced, and counted.
    p.send(&["CountedError", "CountedError"]).await;
    assert_eq!(p.state(counted).await, ("silenced".to_owned(), 3));
    // The third ends it, in the batch that brings it.
    p.send(&["CountedError"]).await;
    assert_eq!(p.state(counted).await, ("active".to_owned(), 4));

    // No event for the timed one: the processor's sweep ends it.
    eventually("the timed silence to end", PATIENCE, || async { (p.state(timed).await.0 == "active").then_some(()) }).await;
    let silenced_until: Option<OffsetDateTime> =
        sqlx::query_scalar("SELECT silenced_until FROM issues WHERE id = $1").bind(timed).fetch_one(&p.pool).await.unwrap();
    assert_eq!(silenced_until, None);

    for (issue, reason) in [(counted, "events"), (timed, "time")] {
        let activity = p.activity(issue).await;
        let kinds: Vec<(&str, &str)> = activity.iter().map(|(kind, actor, _)| (kind.as_str(), actor.as_str())).collect();
        assert_eq!(kinds, [("firstSeen", "processor"), ("status", "token"), ("silenceEnded", "processor")], "{reason}");
        assert_eq!(activity[2].2, json!({"reason": reason}));
    }
    // Ending a silence is no news: the two new issues were all that was announced.
    assert_eq!(p.announced().await, ["new", "new"]);
}

#[tokio::test]
async fn events_of_a_merged_issue_land_in_the_issue_it_was_merged_into() {
    let mut p = Pipeline::start().await;
    p.send(&["KeptError", "MergedError"]).await;
    let (kept, merged) = (p.issue("KeptError").await, p.issue("MergedError").await);
    let merged_fingerprint: String =
        sqlx::query_scalar("SELECT fingerprint FROM issues WHERE id = $1").bind(merged).fetch_one(&p.pool).await.unwrap();
    let row = p.admin(reqwest::Method::POST, "/issues:merge", json!({"targetId": kept, "issueIds": [merged]})).await;
    assert_eq!(row["eventCount"], 2);

    // Both fingerprints in one batch: the processor is stopped while they
    // are queued, so it reads them together when it starts again.
    p.services._processor.terminate();
    p.processing = false;
    p.send(&["KeptError", "MergedError", "MergedError"]).await;
    p.services._processor = p.services.stack.start("processor").await;
    p.processing = true;
    p.services.stack.wait_drained(Stream::Events, PATIENCE).await;
    // And a batch of the merged fingerprint alone.
    p.send(&["MergedError"]).await;

    let issues: Vec<Uuid> = sqlx::query_scalar("SELECT id FROM issues").fetch_all(&p.pool).await.unwrap();
    assert_eq!(issues, [kept], "no issue came back for the merged fingerprint");
    let (stored, hourly): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM events WHERE issue_id = $1), (SELECT sum(count)::bigint FROM issue_hourly WHERE issue_id = $1)",
    )
    .bind(kept)
    .fetch_one(&p.pool)
    .await
    .unwrap();
    assert_eq!((p.state(kept).await.1, stored, hourly), (6, 6, 6), "the counters, the events and the hours agree");
    let routed: Uuid = sqlx::query_scalar("SELECT issue_id FROM merged_fingerprints WHERE fingerprint = $1")
        .bind(&merged_fingerprint)
        .fetch_one(&p.pool)
        .await
        .unwrap();
    assert_eq!(routed, kept);
    let kinds: Vec<String> = p.activity(kept).await.into_iter().map(|(kind, ..)| kind).collect();
    assert_eq!(kinds, ["firstSeen", "merged"]);
}
