//! The `sentori` command line against the real services.

use std::process::Command;
use std::time::Duration;

use sentori_queue::{Envelope, ItemKind, Keys, Stream};
use sentori_testkit::{ServiceProcess, TestStack, binary, eventually};

fn sentori(stack: &TestStack, args: &[&str]) -> std::process::Output {
    let output = Command::new(binary("sentori"))
        .args(args)
        .env("SENTORI_DATABASE_URL", &stack.database_url)
        .env("SENTORI_VALKEY_URL", &stack.valkey_url)
        .env("SENTORI_VALKEY_NAMESPACE", &stack.namespace)
        .output()
        .expect("running sentori");
    assert!(output.status.success(), "sentori {args:?} failed: {}", String::from_utf8_lossy(&output.stderr));
    output
}

#[tokio::test]
async fn seeded_events_and_spans_become_issues_and_traces() {
    let stack = TestStack::new().await;
    let env = stack.service_env();
    let ingest = ServiceProcess::start("ingest", "SENTORI_INGEST_ADDR", &env).await;
    let _processor = ServiceProcess::start("processor", "SENTORI_PROCESSOR_ADDR", &env).await;
    let ingest_url = ingest.url("");
    sentori(&stack, &["seed", "events", "--token", &stack.dev_token, "--events", "400", "--users", "30", "--releases", "4", "--include-anr", "--ingest-url", &ingest_url]);
    sentori(&stack, &["seed", "spans", "--token", &stack.dev_token, "--traces", "40", "--ingest-url", &ingest_url]);

    let pool = stack.pool().await;
    eventually("every seeded event and span to be stored", Duration::from_secs(60), || async {
        let events: i64 = sqlx::query_scalar("SELECT count(*) FROM events WHERE payload->'tags'->>'synthetic' = 'seed-events'")
            .fetch_one(&pool)
            .await
            .ok()?;
        let traces: i64 = sqlx::query_scalar("SELECT count(*) FROM traces").fetch_one(&pool).await.ok()?;
        (events == 400 && traces == 40).then_some(())
    })
    .await;
    let (crashes, hangs, users, releases): (i64, i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM issues WHERE kind <> 'anr'), (SELECT count(*) FROM issues WHERE kind = 'anr'),
                (SELECT count(DISTINCT user_key) FROM events), (SELECT count(*) FROM releases)",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(crashes, 12, "one issue per seeded bug");
    assert!(hangs >= 1, "about 5 % ANRs, grouped apart from the crashes");
    assert!(users > 10 && users <= 30, "{users}");
    assert_eq!(releases, 4);
    let days: i64 = sqlx::query_scalar("SELECT count(DISTINCT date_trunc('day', timestamp)) FROM events").fetch_one(&pool).await.unwrap();
    assert!(days >= 5, "spread over the last week: {days} days");
    let spans_per_trace: Vec<i64> = sqlx::query_scalar("SELECT span_count FROM traces").fetch_all(&pool).await.unwrap();
    assert!(spans_per_trace.iter().all(|n| (4..=9).contains(n)), "{spans_per_trace:?}");
}

#[tokio::test]
async fn include_regression_really_produces_regressed_issues() {
    let stack = TestStack::new().await;
    let env = stack.service_env();
    let ingest = ServiceProcess::start("ingest", "SENTORI_INGEST_ADDR", &env).await;
    let _processor = ServiceProcess::start("processor", "SENTORI_PROCESSOR_ADDR", &env).await;
    let admin = ServiceProcess::start("admin-api", "SENTORI_ADMIN_API_ADDR", &env).await;
    let out = sentori(
        &stack,
        &[
            "seed", "events", "--token", &stack.dev_token, "--events", "200", "--releases", "3",
            "--ingest-url", &ingest.url(""), "--include-regression", "--admin-token", &stack.dev_token,
            "--project-id", "019508a0-0000-7000-8000-000000000000", "--api-url", &admin.url(""),
        ],
    );
    let out = String::from_utf8(out.stdout).unwrap();
    assert!(out.contains("resolved 6 issues and sent 6 of their errors again"), "{out}");
    let pool = stack.pool().await;
    eventually("the resolved issues to regress", Duration::from_secs(30), || async {
        let regressed: i64 = sqlx::query_scalar("SELECT count(*) FROM issues WHERE status = 'regressed' AND regression_count = 1")
            .fetch_one(&pool)
            .await
            .ok()?;
        (regressed == 6).then_some(())
    })
    .await;
}

#[tokio::test]
async fn dead_letters_can_be_listed_and_replayed() {
    let stack = TestStack::new().await;
    let keys = Keys::new(stack.namespace.clone());
    let client = redis::Client::open(stack.valkey_url.as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    // An event that failed before (say while a bug was deployed) sits in the dead letters.
    let event = serde_json::json!({
        "id": uuid::Uuid::now_v7(), "timestamp": "2026-11-26T10:00:00Z", "kind": "error", "platform": "javascript",
        "release": "a@1", "environment": "prod", "device": {"os": "web", "osVersion": "1"}, "app": {"version": "1"},
        "error": {"type": "ReplayedError", "message": "back again"}
    });
    let envelope = Envelope::new(ItemKind::Event, sentori_protocol_dev_project(), sentori_protocol_dev_org(), time::OffsetDateTime::now_utc())
        .with_payload(event);
    let _: String = redis::cmd("XADD")
        .arg(keys.dead_letters(Stream::Events))
        .arg("*")
        .arg("envelope")
        .arg(envelope.encode().unwrap())
        .arg("error")
        .arg("the database rejected it")
        .arg("originalId")
        .arg("1-0")
        .arg("deliveries")
        .arg(5)
        .query_async(&mut conn)
        .await
        .unwrap();

    let listed = String::from_utf8(sentori(&stack, &["dead-letter", "list", "--stream", "events"]).stdout).unwrap();
    assert!(listed.contains("the database rejected it") && listed.contains("original 1-0"), "{listed}");

    let env = stack.service_env();
    let _processor = ServiceProcess::start("processor", "SENTORI_PROCESSOR_ADDR", &env).await;
    let replayed = String::from_utf8(sentori(&stack, &["dead-letter", "replay", "--stream", "events"]).stdout).unwrap();
    assert!(replayed.contains("replayed 1 entries"), "{replayed}");
    let pool = stack.pool().await;
    eventually("the replayed event to be stored", Duration::from_secs(30), || async {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM issues WHERE type = 'ReplayedError'").fetch_one(&pool).await.ok()?;
        (n == 1).then_some(())
    })
    .await;
    let dead: u64 = redis::cmd("XLEN").arg(keys.dead_letters(Stream::Events)).query_async(&mut conn).await.unwrap();
    assert_eq!(dead, 0);
    let listed = String::from_utf8(sentori(&stack, &["dead-letter", "list"]).stdout).unwrap();
    assert!(listed.contains("no dead entries"), "{listed}");
}

#[tokio::test]
async fn migrate_brings_an_empty_database_up_to_date() {
    let stack = TestStack::new().await;
    let out = String::from_utf8(sentori(&stack, &["migrate"]).stdout).unwrap();
    assert!(out.contains("database migrated"), "{out}");
    let pool = sqlx::PgPool::connect(&stack.database_url).await.unwrap();
    let dev: i64 = sqlx::query_scalar("SELECT count(*) FROM projects WHERE id = '019508a0-0000-7000-8000-000000000000'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(dev, 1);
}

#[tokio::test]
async fn retention_run_does_one_pass_as_of_the_given_now() {
    let stack = TestStack::new().await;
    let out = String::from_utf8(sentori(&stack, &["retention", "run", "--now", "2030-01-15T00:00:00Z"]).stdout).unwrap();
    let summary: serde_json::Value = serde_json::from_str(out.trim()).expect("the pass prints its summary as JSON");
    assert!(summary.to_string().contains("2030-01-15"), "{summary}");
    let pool = sqlx::PgPool::connect(&stack.database_url).await.unwrap();
    let (runs, partition): (i64, bool) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM retention_runs WHERE as_of = '2030-01-15T00:00:00Z'),
                to_regclass('events_p203001') IS NOT NULL",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!((runs, partition), (1, true), "the run is recorded and the month of its 'now' is partitioned");
}

fn sentori_protocol_dev_project() -> uuid::Uuid {
    uuid::uuid!("019508a0-0000-7000-8000-000000000000")
}

fn sentori_protocol_dev_org() -> uuid::Uuid {
    uuid::uuid!("019508a0-0001-7000-8000-000000000000")
}
