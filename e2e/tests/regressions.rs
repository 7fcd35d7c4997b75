//! Regression against the release an issue was resolved in (processing.md,
//! "Regression"): releases are ordered by when the project first saw them,
//! never by parsing their names, so a version that cannot be parsed orders
//! like any other (docs/decisions.md, "Regression").

use crate::common;

use std::time::Duration;

use sentori_protocol::DEV_PROJECT_ID;
use sentori_queue::Stream;
use sentori_testkit::{ServiceProcess, TestStack, eventually};
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

use common::error_event;

const PATIENCE: Duration = Duration::from_secs(60);

struct Pipeline {
    stack: TestStack,
    pool: PgPool,
    client: reqwest::Client,
    ingest: ServiceProcess,
    admin: ServiceProcess,
    _processor: ServiceProcess,
}

impl Pipeline {
    async fn start() -> Self {
        let stack = TestStack::new().await;
        let pool = stack.pool().await;
        let ingest = stack.start("ingest").await;
        let processor = stack.start("processor").await;
        let admin = stack.start("admin-api").await;
        Self { stack, pool, client: reqwest::Client::new(), ingest, admin, _processor: processor }
    }

    /// Sends the events and waits until the processor has handled every one
    /// (so each release is first seen before the next call sends anything).
    async fn send(&self, events: &[(&str, &str)]) {
        for (error_type, release) in events {
            let response = self
                .client
                .post(self.ingest.url("/v1/events"))
                .bearer_auth(&self.stack.dev_token)
                .json(&error_event(error_type, release))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 202);
        }
        self.stack.wait_drained(Stream::Events, PATIENCE).await;
    }

    async fn issue_id(&self, error_type: &str) -> Uuid {
        sqlx::query_scalar("SELECT id FROM issues WHERE type = $1").bind(error_type).fetch_one(&self.pool).await.unwrap()
    }

    /// Resolves the issue through the admin API, as the dashboard does.
    async fn resolve_in(&self, error_type: &str, release: &str) {
        let issue = self.issue_id(error_type).await;
        let response = self
            .client
            .patch(self.admin.url(&format!("/admin/api/projects/{DEV_PROJECT_ID}/issues/{issue}")))
            .bearer_auth(&self.stack.dev_token)
            .json(&json!({"status": "resolved", "resolvedInRelease": release}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    }

    /// The issue's status and regression count.
    async fn state(&self, error_type: &str) -> (String, i64) {
        sqlx::query_as("SELECT status, regression_count FROM issues WHERE type = $1")
            .bind(error_type)
            .fetch_one(&self.pool)
            .await
            .unwrap()
    }

    /// The ids of the issues a release's page lists as `which` (new or regressed).
    async fn release_issues(&self, release: &str, which: &str) -> Vec<String> {
        let url = format!("/admin/api/projects/{DEV_PROJECT_ID}/releases/{}/issues?which={which}", release.replace('@', "%40"));
        let response = self.client.get(self.admin.url(&url)).bearer_auth(&self.stack.dev_token).send().await.unwrap();
        assert_eq!(response.status(), 200);
        let rows: Vec<Value> = response.json().await.unwrap();
        rows.iter().map(|row| row["id"].as_str().unwrap().to_owned()).collect()
    }

    /// The regressions announced so far (the outbox is emptied onto the notify stream).
    async fn announced_regressions(&self) -> Vec<String> {
        eventually("every announcement to be published", PATIENCE, || async {
            let left: i64 = sqlx::query_scalar("SELECT count(*) FROM announcements").fetch_one(&self.pool).await.unwrap();
            (left == 0).then_some(())
        })
        .await;
        let mut valkey = self.stack.valkey().await;
        let entries: redis::streams::StreamRangeReply = redis::cmd("XRANGE")
            .arg(self.stack.keys().stream(Stream::Notify))
            .arg("-")
            .arg("+")
            .query_async(&mut valkey)
            .await
            .unwrap();
        entries
            .ids
            .iter()
            .map(|entry| {
                let bytes: Vec<u8> = entry.get("envelope").expect("an envelope field");
                let envelope = sentori_queue::Envelope::decode(&bytes).expect("a valid envelope");
                envelope.payload.value().expect("a JSON payload")
            })
            .filter(|payload: &Value| payload["reason"] == "regressed")
            .map(|payload| payload["issueId"].as_str().unwrap().to_owned())
            .collect()
    }
}

#[tokio::test]
async fn a_resolved_issue_regresses_only_for_a_release_first_seen_after_its_own() {
    let p = Pipeline::start().await;
    // Release order, by first sighting: 9.9.9 (an old build with a high
    // number), then 2.0.0, then a nightly whose name is no version at all.
    p.send(&[("FixedError", "shop@9.9.9"), ("NightlyError", "shop@9.9.9")]).await;
    p.send(&[("FixedError", "shop@2.0.0")]).await;
    p.send(&[("NightlyError", "shop@nightly-7f3a")]).await;
    p.resolve_in("FixedError", "shop@2.0.0").await;
    p.resolve_in("NightlyError", "shop@nightly-7f3a").await;

    // The release it was resolved in, and one first seen before it however
    // its name sorts, are not newer: the issues stay resolved.
    p.send(&[
        ("FixedError", "shop@2.0.0"),
        ("FixedError", "shop@9.9.9"),
        ("NightlyError", "shop@nightly-7f3a"),
        ("NightlyError", "shop@9.9.9"),
    ])
    .await;
    for error_type in ["FixedError", "NightlyError"] {
        assert_eq!(p.state(error_type).await, ("resolved".to_owned(), 0), "{error_type}");
    }
    assert_eq!(p.announced_regressions().await, Vec::<String>::new());

    // A release first seen now is newer, whatever its name.
    p.send(&[("FixedError", "shop@2.0.1"), ("NightlyError", "shop@nightly-b2c1")]).await;
    for error_type in ["FixedError", "NightlyError"] {
        assert_eq!(p.state(error_type).await, ("regressed".to_owned(), 1), "{error_type}");
    }
    let mut regressed = p.announced_regressions().await;
    regressed.sort();
    let mut expected = vec![p.issue_id("FixedError").await.to_string(), p.issue_id("NightlyError").await.to_string()];
    expected.sort();
    assert_eq!(regressed, expected, "each regression is announced once");

    // Each release's page names the issue it brought back, and the ones it brought.
    assert_eq!(p.release_issues("shop@2.0.1", "regressed").await, vec![p.issue_id("FixedError").await.to_string()]);
    assert_eq!(p.release_issues("shop@nightly-b2c1", "regressed").await, vec![p.issue_id("NightlyError").await.to_string()]);
    assert_eq!(p.release_issues("shop@2.0.0", "regressed").await, Vec::<String>::new(), "events that regressed nothing");
    let mut brought = p.release_issues("shop@9.9.9", "new").await;
    brought.sort();
    assert_eq!(brought, expected, "both issues were first seen in 9.9.9");
}
