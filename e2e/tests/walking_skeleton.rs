//! One event end to end: SDK → ingest → Valkey stream → processor → PostgreSQL → admin API.

use std::time::Duration;

use serde_json::{Value, json};
use sentori_protocol::DEV_PROJECT_ID;
use sentori_queue::Stream;
use sentori_testkit::{ServiceProcess, TestStack, eventually};
use sqlx::PgPool;

fn event(id: uuid::Uuid, error_type: &str) -> Value {
    json!({
        "id": id,
        "timestamp": "2026-11-26T10:00:00.000Z",
        "kind": "error",
        "platform": "javascript",
        "release": "shop@1.0.0+1",
        "environment": "prod",
        "device": {"os": "web", "osVersion": "120"},
        "app": {"version": "1.0.0"},
        "user": {"id": format!("u-{}", id.simple())},
        "error": {
            "type": error_type,
            "message": "Cannot read properties of undefined (reading 'total')",
            "stack": [{"file": "https://shop.example/assets/cart.js", "line": 12, "column": 4, "function": "sum", "inApp": true}]
        }
    })
}

async fn issues(client: &reqwest::Client, admin: &ServiceProcess, token: &str) -> Vec<Value> {
    let url = admin.url(&format!("/admin/api/projects/{DEV_PROJECT_ID}/issues"));
    let response = client.get(url).bearer_auth(token).send().await.expect("admin API answers");
    assert_eq!(response.status(), 200);
    response.json::<Vec<Value>>().await.expect("a JSON array")
}

/// Starts ingest and a processor, sends `sent` (an event with an `id`),
/// and waits for its row in `events`, read as `columns`. The stack and a
/// pool come back for what the test checks next.
async fn store_one_event<Row>(sent: &Value, columns: &str) -> (TestStack, PgPool, Row)
where
    Row: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> + Send + Unpin,
{
    let stack = TestStack::new().await;
    let ingest = stack.start("ingest").await;
    let _processor = stack.start("processor").await;
    let response =
        reqwest::Client::new().post(ingest.url("/v1/events")).bearer_auth(&stack.dev_token).json(sent).send().await.unwrap();
    assert_eq!(response.status(), 202);
    let id = uuid::Uuid::parse_str(sent["id"].as_str().expect("the event's id")).expect("a UUID");
    let pool = stack.pool().await;
    let query = format!("SELECT {columns} FROM events WHERE id = $1");
    let row = eventually("the event to be stored", Duration::from_secs(30), || async {
        sqlx::query_as(&query).bind(id).fetch_optional(&pool).await.unwrap()
    })
    .await;
    (stack, pool, row)
}

async fn wait_for_issue(client: &reqwest::Client, admin: &ServiceProcess, token: &str, error_type: &str, count: i64) -> Value {
    eventually(&format!("the {error_type} issue with eventCount {count}"), Duration::from_secs(30), || async {
        issues(client, admin, token).await.into_iter().find(|i| i["type"] == error_type && i["eventCount"] == count)
    })
    .await
}

#[tokio::test]
async fn an_event_becomes_an_issue_and_duplicates_change_nothing() {
    let stack = TestStack::new().await;
    let ingest = stack.start("ingest").await;
    let _processor = stack.start("processor").await;
    let admin = stack.start("admin-api").await;
    let client = reqwest::Client::new();
    let send = |body: Value| {
        client.post(ingest.url("/v1/events")).bearer_auth(&stack.dev_token).header("Sentori-Sdk", "sentori.js/0.1.0").json(&body).send()
    };

    let first = uuid::Uuid::now_v7();
    let response = send(event(first, "TypeError")).await.unwrap();
    assert_eq!(response.status(), 202);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["id"], first.to_string());

    let issue = wait_for_issue(&client, &admin, &stack.dev_token, "TypeError", 1).await;
    assert_eq!(issue["title"], "TypeError: Cannot read properties of undefined (reading 'total')");
    assert_eq!(issue["culprit"], "sum (https://shop.example/assets/cart.js)");
    assert_eq!(issue["status"], "active");
    assert_eq!(issue["userCount"], 1);

    // Another occurrence of the same error joins the issue.
    assert_eq!(send(event(uuid::Uuid::now_v7(), "TypeError")).await.unwrap().status(), 202);
    wait_for_issue(&client, &admin, &stack.dev_token, "TypeError", 2).await;

    // The first event again (an SDK retry) changes nothing. With several
    // event workers a later event can be stored before the retry is handled,
    // so only an empty stream (every entry acknowledged, after its commit)
    // shows the processor has got past it.
    assert_eq!(send(event(first, "TypeError")).await.unwrap().status(), 202);
    assert_eq!(send(event(uuid::Uuid::now_v7(), "RangeError")).await.unwrap().status(), 202);
    stack.wait_drained(Stream::Events, Duration::from_secs(30)).await;
    wait_for_issue(&client, &admin, &stack.dev_token, "RangeError", 1).await;
    let all = issues(&client, &admin, &stack.dev_token).await;
    let type_error = all.iter().find(|i| i["type"] == "TypeError").unwrap();
    assert_eq!(type_error["eventCount"], 2);
    assert_eq!(type_error["userCount"], 2);

    let pool = stack.pool().await;
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM events").fetch_one(&pool).await.unwrap();
    assert_eq!(stored, 3, "two TypeErrors and one RangeError");
    let sdk: String = sqlx::query_scalar("SELECT sdk FROM events WHERE id = $1").bind(first).fetch_one(&pool).await.unwrap();
    assert_eq!(sdk, "sentori.js/0.1.0");
    // The durable quota usage counts stored events once, not the retry.
    let used: i64 = sqlx::query_scalar("SELECT used FROM quota_usage WHERE org_id = $1 AND category = 'events'")
        .bind(sentori_protocol::DEV_ORG_ID)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(used, 3);
}

#[tokio::test]
async fn services_refuse_to_start_without_required_configuration() {
    for (bin, missing) in [
        ("ingest", vec!["SENTORI_DATABASE_URL", "SENTORI_VALKEY_URL", "SENTORI_DEV_TOKEN"]),
        ("processor", vec!["SENTORI_DATABASE_URL", "SENTORI_VALKEY_URL"]),
        ("admin-api", vec!["SENTORI_ADMIN_PASSWORD", "SENTORI_SESSION_SECRET", "SENTORI_DEV_TOKEN"]),
        ("notifier", vec!["SENTORI_DATABASE_URL", "SENTORI_VALKEY_URL"]),
        ("retention", vec!["SENTORI_DATABASE_URL"]),
    ] {
        let output = std::process::Command::new(sentori_testkit::binary(bin)).env_clear().output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{bin} must exit 2");
        let stderr = String::from_utf8_lossy(&output.stderr);
        for name in missing {
            assert!(stderr.contains(&format!("{name} is required")), "{bin} names {name}: {stderr}");
        }
    }
}

#[tokio::test]
async fn health_and_readiness_answer_on_every_service() {
    let stack = TestStack::new().await;
    let env = stack.service_env();
    let client = reqwest::Client::new();
    for (bin, addr_var) in [
        ("ingest", "SENTORI_INGEST_ADDR"),
        ("processor", "SENTORI_PROCESSOR_ADDR"),
        ("admin-api", "SENTORI_ADMIN_API_ADDR"),
        ("notifier", "SENTORI_NOTIFIER_ADDR"),
        ("retention", "SENTORI_RETENTION_ADDR"),
    ] {
        let mut service = ServiceProcess::start(bin, addr_var, &env).await;
        let ready = client.get(service.url("/readyz")).send().await.unwrap();
        assert_eq!(ready.status(), 200, "{bin} is ready");
        let body: Value = ready.json().await.unwrap();
        assert_eq!(body["checks"]["postgres"], true, "{bin}: {body}");
        let status = service.terminate();
        assert!(status.success(), "{bin} exits cleanly on SIGTERM: {status}");
    }
}

/// Events reach PostgreSQL through `COPY`'s text format, where backslash,
/// tab and newline mean something: what the SDK sent must come back intact.
#[tokio::test]
async fn the_stored_payload_is_what_the_sdk_sent() {
    let id = uuid::Uuid::now_v7();
    let mut sent = event(id, "PathError");
    let awkward = "C:\\Users\\dev\tcol\nline\r\nend \\N \"quoted\" é ✓ 🙂";
    sent["error"]["message"] = json!(awkward);
    sent["tags"] = json!({"path": "a\\b", "tab": "x\ty"});
    sent["breadcrumbs"] = json!([{"timestamp": "2026-11-26T09:59:59Z", "type": "log", "message": awkward}]);
    sent["vendorExtension"] = json!({"nested": ["\\", "\n", null, 1.5]});
    let (_stack, _pool, (mut stored,)): (_, _, (Value,)) = store_one_event(&sent, "payload").await;
    // The server's own note is the only addition.
    assert_eq!(stored["symbolication"], json!({"releaseHasMap": false}));
    stored.as_object_mut().unwrap().remove("symbolication");
    assert_eq!(stored, sent);
}

/// PostgreSQL's text cannot hold U+0000; an event with one in its message,
/// a tag and a key is still stored, each one as U+FFFD, not dead-lettered.
#[tokio::test]
async fn an_event_with_a_nul_character_is_stored() {
    let id = uuid::Uuid::now_v7();
    let mut sent = event(id, "NulError");
    sent["error"]["message"] = json!("before\u{0}after");
    sent["tags"] = json!({"screen": "\u{0}", "k\u{0}": "v"});
    let (_stack, pool, (stored, title)): (_, _, (Value, String)) = store_one_event(&sent, "payload, title").await;
    assert_eq!(title, "NulError: before\u{FFFD}after");
    assert_eq!(stored["tags"], json!({"screen": "\u{FFFD}", "k\u{FFFD}": "v"}));
    let issues_of_type: i64 = sqlx::query_scalar("SELECT count(*) FROM issues WHERE project_id = $1 AND type = 'NulError'")
        .bind(DEV_PROJECT_ID)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(issues_of_type, 1, "its issue was created too");
}
