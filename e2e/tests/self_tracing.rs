//! Self-tracing: a service's own work becomes spans of the configured project.

use std::time::Duration;

use sentori_protocol::DEV_ORG_ID;
use sentori_queue::Stream;
use sentori_testkit::{ServiceProcess, TestStack, eventually};
use serde_json::json;

#[tokio::test]
async fn requests_and_batches_become_spans_and_the_export_is_not_traced() {
    let stack = TestStack::new().await;
    let pool = stack.pool().await;
    let own = uuid::Uuid::now_v7();
    sqlx::query("INSERT INTO projects (id, org_id, name) VALUES ($1, $2, 'sentori itself')")
        .bind(own)
        .bind(DEV_ORG_ID)
        .execute(&pool)
        .await
        .unwrap();
    let mut env = stack.service_env();
    env.push(("SENTORI_SELF_TRACE_PROJECT_ID".into(), own.to_string()));
    // Export finished spans quickly rather than every 5 s.
    env.push(("OTEL_BSP_SCHEDULE_DELAY".into(), "100".into()));
    let ingest = ServiceProcess::start("ingest", "SENTORI_INGEST_ADDR", &env).await;
    let _processor = ServiceProcess::start("processor", "SENTORI_PROCESSOR_ADDR", &env).await;

    let client = reqwest::Client::new();
    for _ in 0..2 {
        let event = json!({
            "id": uuid::Uuid::now_v7(), "timestamp": "2026-11-26T10:00:00Z", "kind": "error", "platform": "javascript",
            "release": "a@1", "environment": "prod", "device": {"os": "web", "osVersion": "1"}, "app": {"version": "1"},
            "error": {"type": "E", "message": "m"}
        });
        let response = client.post(ingest.url("/v1/events")).bearer_auth(&stack.dev_token).json(&event).send().await.unwrap();
        assert_eq!(response.status(), 202);
    }

    let count = |op: &'static str, name: &'static str| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>("SELECT count(*) FROM spans WHERE project_id = $1 AND op = $2 AND name = $3")
                .bind(own)
                .bind(op)
                .bind(name)
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    eventually("two http.server spans and a batch span in the self-trace project", Duration::from_secs(30), || async {
        (count("http.server", "POST /v1/events").await == 2 && count("queue.process", "process events").await >= 1).then_some(())
    })
    .await;
    let tags: serde_json::Value = sqlx::query_scalar("SELECT payload->'tags' FROM spans WHERE project_id = $1 AND op = 'http.server' LIMIT 1")
        .bind(own)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(tags["service"], "ingest");
    assert_eq!(tags["http.status_code"], "202");
    let traces: i64 = sqlx::query_scalar("SELECT count(*) FROM traces WHERE project_id = $1").bind(own).fetch_one(&pool).await.unwrap();
    assert!(traces >= 3, "each request and batch is a trace of its own: {traces}");

    // Every batch of spans stored so far is acknowledged, which the
    // processor does after its batch span (had it made one) ended. A deploy
    // sent now is processed later still, and the processor exports its
    // spans in the order they end: once the deploy's span is stored and the
    // stream drained, a `process spans` span would be stored before it.
    stack.wait_drained(Stream::Spans, Duration::from_secs(30)).await;
    let deploy = json!({"release": "a@1", "environment": "prod"});
    let response = client.post(ingest.url("/v1/deploys")).bearer_auth(&stack.dev_token).json(&deploy).send().await.unwrap();
    assert_eq!(response.status(), 201);
    eventually("the deploy's batch span", Duration::from_secs(30), || async {
        (count("queue.process", "process deploys").await == 1).then_some(())
    })
    .await;
    stack.wait_drained(Stream::Spans, Duration::from_secs(30)).await;
    assert_eq!(count("queue.process", "process spans").await, 0, "tracing must not feed on itself");
    assert_eq!(count("http.server", "POST /v1/events").await, 2, "no span without a request");
}
