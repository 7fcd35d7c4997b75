//! Spans become trace summaries; sessions and deploys become release data.

use std::time::Duration;

use sentori_protocol::DEV_PROJECT_ID;
use sentori_testkit::{TestStack, eventually};
use serde_json::{Value, json};

fn span(id: uuid::Uuid, trace: uuid::Uuid, parent: Option<uuid::Uuid>, op: &str, start_ms: i64, duration: i64, status: &str) -> Value {
    let started = time::OffsetDateTime::from_unix_timestamp(1_795_000_000).unwrap() + time::Duration::milliseconds(start_ms);
    json!({
        "id": id, "traceId": trace, "parentSpanId": parent, "op": op, "name": format!("{op} work"),
        "startedAt": started.format(&time::format_description::well_known::Rfc3339).unwrap(),
        "durationMs": duration, "status": status
    })
}

#[tokio::test]
async fn spans_summarise_their_trace_once_and_errors_link_to_it() {
    let stack = TestStack::new().await;
    let ingest = stack.start("ingest").await;
    let _processor = stack.start("processor").await;
    let client = reqwest::Client::new();
    let post = |path: &str, body: Value| client.post(ingest.url(path)).bearer_auth(&stack.dev_token).json(&body).send();

    let trace = uuid::Uuid::now_v7();
    let root = uuid::Uuid::now_v7();
    let (a, b) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
    // Children arrive before their root, and one batch is sent twice (an SDK
    // retry). The query outlives the root: the trace lasts until it ends.
    let children = json!({"spans": [
        span(a, trace, Some(root), "http.client", 10, 100, "ok"),
        span(b, trace, Some(root), "db.query", 50, 1400, "error"),
    ]});
    assert_eq!(post("/v1/spans:batch", children.clone()).await.unwrap().status(), 202);
    assert_eq!(post("/v1/spans:batch", children).await.unwrap().status(), 202);
    let event = json!({
        "id": uuid::Uuid::now_v7(), "timestamp": "2026-11-26T10:00:00Z", "kind": "error", "platform": "javascript",
        "release": "shop@2.0.0", "environment": "prod", "device": {"os": "web", "osVersion": "1"}, "app": {"version": "2.0.0"},
        "error": {"type": "DbError", "message": "deadlock"}, "traceId": trace, "spanId": b
    });
    assert_eq!(post("/v1/events", event).await.unwrap().status(), 202);
    assert_eq!(post("/v1/spans", span(root, trace, None, "react.navigation", 0, 1000, "ok")).await.unwrap().status(), 202);

    let pool = stack.pool().await;
    let summary: (Option<String>, i64, i64, i64, String) = eventually("the trace summary with its root", Duration::from_secs(30), || async {
        sqlx::query_as::<_, (Option<String>, i64, i64, i64, String)>(
            "SELECT root_op, duration_ms, span_count, error_count, status FROM traces WHERE project_id = $1 AND trace_id = $2",
        )
        .bind(DEV_PROJECT_ID)
        .bind(trace)
        .fetch_optional(&pool)
        .await
        .ok()
        .flatten()
        .filter(|s| s.0.is_some())
    })
    .await;
    assert_eq!(summary, (Some("react.navigation".to_owned()), 1450, 3, 1, "error".to_owned()), "retried spans count once");
    let linked: i64 = eventually("the event stored with its trace", Duration::from_secs(30), || async {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM events WHERE trace_id = $1 AND span_id = $2")
            .bind(trace)
            .bind(b)
            .fetch_one(&pool)
            .await
            .ok()?;
        (n > 0).then_some(n)
    })
    .await;
    assert_eq!(linked, 1);
}

/// Today's date at 10:00 UTC, minus `days`: inside the release series' 14 days.
fn days_ago_at_ten(days: i64) -> String {
    let day = time::OffsetDateTime::now_utc().date() - time::Duration::days(days);
    format!("{day}T10:00:00Z")
}

#[tokio::test]
async fn sessions_and_deploys_fill_in_releases() {
    let stack = TestStack::new().await;
    let ingest = stack.start("ingest").await;
    let _processor = stack.start("processor").await;
    let admin = stack.start("admin-api").await;
    let client = reqwest::Client::new();
    let post = |path: &str, body: Value| client.post(ingest.url(path)).bearer_auth(&stack.dev_token).json(&body).send();
    let started = days_ago_at_ten(3);

    let session = |user: Option<&str>, status: &str| {
        json!({"id": uuid::Uuid::now_v7(), "userId": user, "release": "shop@3.0.0", "environment": "prod",
               "status": status, "startedAt": started, "durationMs": 60000})
    };
    let crashed = session(Some("u1"), "crashed");
    let sessions = [session(Some("u1"), "ok"), session(Some("u2"), "exited"), session(None, "ok"), crashed.clone(), crashed];
    for body in sessions {
        assert_eq!(post("/v1/sessions", body).await.unwrap().status(), 202);
    }
    // Another release's session: the project's total, which adoption divides by.
    let other = json!({"id": uuid::Uuid::now_v7(), "release": "shop@2.9.0", "environment": "prod", "status": "ok",
                       "startedAt": started, "durationMs": 1000});
    assert_eq!(post("/v1/sessions", other).await.unwrap().status(), 202);
    for _ in 0..2 {
        let event = json!({"id": uuid::Uuid::now_v7(), "timestamp": days_ago_at_ten(1), "kind": "error", "platform": "javascript",
                           "release": "shop@3.0.0", "environment": "prod",
                           "device": {"os": "web", "osVersion": "120"}, "app": {"version": "3.0.0"},
                           "error": {"type": "CartError", "message": "no cart",
                                     "stack": [{"file": "cart.js", "line": 1, "column": 2, "function": "add", "inApp": true}]}});
        assert_eq!(post("/v1/events", event).await.unwrap().status(), 202);
    }
    let response = post("/v1/deploys", json!({"release": "shop@3.0.0", "environment": "prod", "deployedAt": "2026-11-25T08:00:00Z"})).await.unwrap();
    assert_eq!(response.status(), 201);
    let release_id = response.json::<Value>().await.unwrap()["releaseId"].as_str().unwrap().to_owned();

    let pool = stack.pool().await;
    let (sessions, crashed) = eventually("four distinct sessions", Duration::from_secs(30), || async {
        let row: (i64, i64) = sqlx::query_as(
            "SELECT count(*), count(*) FILTER (WHERE status = 'crashed') FROM sessions WHERE project_id = $1 AND release = 'shop@3.0.0'",
        )
        .bind(DEV_PROJECT_ID)
        .fetch_one(&pool)
        .await
        .ok()?;
        (row.0 == 4).then_some(row)
    })
    .await;
    assert_eq!((sessions, crashed), (4, 1), "the repeated session is stored once");
    let deploy: (String, String) = eventually("the release's deploy time", Duration::from_secs(30), || async {
        sqlx::query_as::<_, (String, String)>(
            "SELECT id::text, to_char(deploy_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') FROM releases
              WHERE project_id = $1 AND name = 'shop@3.0.0' AND deploy_at IS NOT NULL",
        )
        .bind(DEV_PROJECT_ID)
        .fetch_optional(&pool)
        .await
        .ok()
        .flatten()
    })
    .await;
    assert_eq!(deploy, (release_id, "2026-11-25 08:00".to_owned()), "one release row, with the id ingest answered");
    stack.wait_drained(sentori_queue::Stream::Events, Duration::from_secs(30)).await;
    stack.wait_drained(sentori_queue::Stream::Sessions, Duration::from_secs(30)).await;

    // What the dashboard reads: the list's numbers, the release's series and the issues it brought.
    let admin_get = |path: String| {
        let request = client.get(admin.url(&format!("/admin/api/projects/{DEV_PROJECT_ID}{path}"))).bearer_auth(&stack.dev_token);
        async move { request.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    let releases = admin_get("/releases".into()).await;
    let release = releases.as_array().unwrap().iter().find(|r| r["name"] == "shop@3.0.0").expect("the release is listed");
    assert_eq!((release["eventCount"].as_i64(), release["newIssueCount"].as_i64()), (Some(2), Some(1)), "{release}");
    assert_eq!(release["sessionCount"].as_i64(), Some(4), "{release}");
    assert_eq!(release["crashFreeSessions"].as_f64(), Some(0.75), "one of four sessions crashed: {release}");
    assert_eq!(release["crashFreeUsers"].as_f64(), Some(0.5), "u1 crashed, u2 did not: {release}");

    let series = admin_get("/releases/shop%403.0.0/series?period=14d".into()).await;
    let buckets = series["buckets"].as_array().expect("buckets");
    assert_eq!((series["bucket"].as_str(), buckets.len()), (Some("day"), 14), "{series}");
    let day = |days: i64| {
        let start = format!("{}T00:00:00Z", time::OffsetDateTime::now_utc().date() - time::Duration::days(days));
        buckets.iter().find(|b| b["start"] == start.as_str()).unwrap_or_else(|| panic!("no bucket {start}: {series}")).clone()
    };
    let sessions_day = day(3);
    let counts = |b: &Value, keys: &[&str]| keys.iter().map(|k| b[*k].as_i64().unwrap()).collect::<Vec<_>>();
    let keys = ["sessions", "crashedSessions", "users", "crashedUsers", "projectSessions", "events"];
    assert_eq!(counts(&sessions_day, &keys), [4, 1, 2, 1, 5, 0], "{sessions_day}");
    assert_eq!(counts(&day(1), &["events", "projectEvents", "sessions"]), [2, 2, 0], "events count the day they happened");
    let totals: i64 = buckets.iter().map(|b| b["events"].as_i64().unwrap() + b["sessions"].as_i64().unwrap()).sum();
    assert_eq!(totals, 6, "nothing is counted twice: {series}");

    let new_issues = admin_get("/releases/shop%403.0.0/issues?which=new".into()).await;
    assert_eq!((new_issues[0]["title"].as_str(), new_issues[0]["eventCount"].as_i64()), (Some("CartError: no cart"), Some(2)), "{new_issues}");
    let missing = client
        .get(admin.url(&format!("/admin/api/projects/{DEV_PROJECT_ID}/releases/shop%409.0.0/series")))
        .bearer_auth(&stack.dev_token)
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404, "a release the project never saw");
}
