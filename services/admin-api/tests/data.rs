//! The data routes: issue filters, sorts and cursors, detail, status
//! changes, events, traces, releases, recipients, attachments, status, and
//! bad input answered with a 4xx error body.

use crate::common;

use std::collections::HashSet;

use common::{Api, Auth, IssueSeed, Session, insert_event, insert_issue, json, process, span};
use sentori_queue::ItemKind;
use reqwest::Method;
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

async fn get(api: &Api, session: &Session, path: &str) -> (u16, Value, reqwest::header::HeaderMap) {
    json(api.get(path).cookie_only(session).send().await.unwrap()).await
}

/// Walks every page of `path` (which has no `cursor` yet), returning all rows.
async fn all_pages(api: &Api, session: &Session, path: &str) -> (Vec<Value>, usize) {
    let mut rows = Vec::new();
    let mut pages = 0;
    let mut cursor: Option<String> = None;
    loop {
        let sep = if path.contains('?') { '&' } else { '?' };
        let url = match &cursor {
            Some(c) => format!("{path}{sep}cursor={c}"),
            None => path.to_owned(),
        };
        let (status, body, headers) = get(api, session, &url).await;
        assert_eq!(status, 200, "{url}: {body}");
        rows.extend(body.as_array().unwrap().iter().cloned());
        pages += 1;
        assert!(pages < 100, "the cursor must end");
        match headers.get("x-next-cursor").and_then(|v| v.to_str().ok()).filter(|v| !v.is_empty()) {
            Some(next) => cursor = Some(next.to_owned()),
            None => return (rows, pages),
        }
    }
}

fn ids(rows: &[Value]) -> Vec<String> {
    rows.iter().map(|r| r["id"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn issue_list_filters_sorts_and_pages() {
    let api = Api::start().await;
    let session = api.login().await;
    let pid = api.project("shop-web").await;
    let now = OffsetDateTime::now_utc();
    let mut all = Vec::new();
    // 23 issues with distinct counts and times; ties on event_count to test the id tiebreak.
    for n in 0..23i64 {
        let status = match n % 4 {
            0 => "active",
            1 => "regressed",
            2 => "resolved",
            _ => "silenced",
        };
        let title = format!("TypeError: thing {n} is undefined");
        let id = insert_issue(&api.pool, pid, IssueSeed {
            title: &title,
            status,
            r#type: Some(if n % 2 == 0 { "TypeError" } else { "RangeError" }),
            level: if n % 3 == 0 { "warning" } else { "error" },
            kind: if n == 5 { "anr" } else { "error" },
            event_count: n / 2,
            user_count: 100 - n,
            first_seen: now - Duration::hours(n),
            last_seen: now - Duration::minutes(n),
            ..Default::default()
        })
        .await;
        all.push((n, id, status));
    }
    // Its first and last seen span its event's timestamp, as the processor
    // writes them (the release filter relies on that); seen last of all.
    let special = insert_issue(&api.pool, pid, IssueSeed {
        title: "ChunkLoadError: Loading chunk 7 failed",
        culprit: Some("loadRoute (src/router/lazy.ts)"),
        r#type: Some("ChunkLoadError"),
        first_seen: now,
        last_seen: now + Duration::seconds(1),
        ..Default::default()
    })
    .await;
    insert_event(&api.pool, pid, special, now, "shop@2.0.0", "staging", json!({})).await;

    // Default: active includes regressed, newest lastSeen first.
    let (status, body, _) = get(&api, &session, &format!("/projects/{pid}/issues")).await;
    assert_eq!(status, 200, "{body}");
    let open: Vec<_> = body.as_array().unwrap().iter().map(|r| r["status"].as_str().unwrap().to_owned()).collect();
    assert!(open.iter().all(|s| s == "active" || s == "regressed"), "{open:?}");
    assert_eq!(open.len(), 12 + 1);
    assert_eq!(body[0]["id"], special.to_string());
    let row = &body[0];
    for key in ["shortId", "title", "culprit", "type", "kind", "level", "eventCount", "userCount", "firstSeen", "lastSeen",
                "firstRelease", "lastRelease", "lastEnvironment", "resolvedInRelease", "regressedAt", "trend24h"] {
        assert!(row.get(key).is_some(), "{key} in {row}");
    }
    assert!(row["shortId"].as_str().unwrap().starts_with("SHOPWEB-"), "{row}");
    assert_eq!(row["trend24h"].as_array().unwrap().len(), 24);

    // Every sort, paged 4 at a time over all statuses, sees every issue once and in order.
    for (sort, key) in [("lastSeen", "lastSeen"), ("firstSeen", "firstSeen"), ("events", "eventCount"), ("users", "userCount")] {
        let (rows, pages) = all_pages(&api, &session, &format!("/projects/{pid}/issues?status=all&sort={sort}&limit=4")).await;
        assert_eq!(rows.len(), 24, "{sort}");
        assert_eq!(pages, 6, "{sort}");
        assert_eq!(ids(&rows).into_iter().collect::<HashSet<_>>().len(), 24, "{sort}: no duplicates");
        for pair in rows.windows(2) {
            let (a, b) = (&pair[0][key], &pair[1][key]);
            let ordered = match (a.as_i64(), b.as_i64()) {
                (Some(a), Some(b)) => a >= b,
                _ => {
                    let a = OffsetDateTime::parse(a.as_str().unwrap(), &time::format_description::well_known::Rfc3339).unwrap();
                    let b = OffsetDateTime::parse(b.as_str().unwrap(), &time::format_description::well_known::Rfc3339).unwrap();
                    a >= b
                }
            };
            assert!(ordered, "{sort}: {a} before {b}");
        }
    }

    let count = |path: String| {
        let api = &api;
        let session = &session;
        async move {
            let (status, body, _) = get(api, session, &path).await;
            assert_eq!(status, 200, "{path}: {body}");
            body.as_array().unwrap().len()
        }
    };
    assert_eq!(count(format!("/projects/{pid}/issues?status=resolved&limit=200")).await, 6);
    assert_eq!(count(format!("/projects/{pid}/issues?status=silenced")).await, 5);
    assert_eq!(count(format!("/projects/{pid}/issues?status=all&query=chunk%207")).await, 1);
    assert_eq!(count(format!("/projects/{pid}/issues?status=all&query=lazy.ts")).await, 1, "culprit is searched");
    assert_eq!(count(format!("/projects/{pid}/issues?status=all&query=RangeError")).await, 11, "type is searched");
    assert_eq!(count(format!("/projects/{pid}/issues?status=all&query=100%25")).await, 0, "wildcards are literal");
    assert_eq!(count(format!("/projects/{pid}/issues?status=all&release=shop%402.0.0")).await, 1);
    assert_eq!(count(format!("/projects/{pid}/issues?status=all&environment=staging")).await, 1);
    assert_eq!(count(format!("/projects/{pid}/issues?status=all&environment=prod")).await, 0);
    assert_eq!(count(format!("/projects/{pid}/issues?status=all&kind=anr")).await, 1);
    assert_eq!(count(format!("/projects/{pid}/issues?status=all&level=warning")).await, 8);
    assert_eq!(count(format!("/projects/{pid}/issues?status=all&type=ChunkLoadError")).await, 1);
    assert_eq!(count(format!("/projects/{pid}/issues?status=all&errorType=RangeError")).await, 11);
    assert_eq!(count(format!("/projects/{pid}/issues?status=all&limit=3")).await, 3);
}

#[tokio::test]
async fn issue_detail_trend_status_changes_and_events() {
    let api = Api::start().await;
    let session = api.login().await;
    let pid = api.project("app").await;
    let now = OffsetDateTime::now_utc();
    let issue = insert_issue(&api.pool, pid, IssueSeed::default()).await;
    // Counted by the processor in the hour they happened (this one, or the
    // one before in an hour's first ten minutes); the app@1.1.0 release is
    // recorded by it too.
    let mut events = Vec::new();
    for n in 0..7i64 {
        let release = if n < 5 { "app@1.0.0" } else { "app@1.1.0" };
        let extra = if n == 0 { json!({"device": {"os": "android", "osVersion": "14", "model": "Pixel 8"}}) } else { json!({}) };
        events.push(insert_event(&api.pool, pid, issue, now - Duration::minutes(10 - n), release, "prod", extra).await);
    }
    // The trend's edges: its first hour, and the hour before it, which is out.
    insert_hours(&api.pool, pid, issue, &[("hour - interval '23 hours'", 2), ("hour - interval '24 hours'", 99)]).await;

    let (status, detail, _) = get(&api, &session, &format!("/projects/{pid}/issues/{issue}")).await;
    assert_eq!(status, 200, "{detail}");
    let trend: Vec<i64> = detail["trend24h"].as_array().unwrap().iter().map(|v| v.as_i64().unwrap()).collect();
    assert_eq!(trend.len(), 24);
    assert_eq!((trend[0], trend[22] + trend[23], trend.iter().sum::<i64>()), (2, 7, 9), "{trend:?}");
    // The grouping the processor made of the seed's error, and the seed's own component.
    let components: Vec<&str> = detail["fingerprint"].as_array().unwrap().iter().map(|c| c.as_str().unwrap()).collect();
    assert_eq!(components[0], "type:TypeError", "{components:?}");
    assert!(components.contains(&"frame:submitOrder src/cart/checkout.ts"), "{components:?}");
    assert!(components.last().unwrap().starts_with("seed:"), "{components:?}");
    assert_eq!(detail["fingerprintHash"].as_str().unwrap().len(), 32);
    assert_eq!(detail["tags"]["release"], json!([{"value": "app@1.0.0", "count": 5}, {"value": "app@1.1.0", "count": 2}]));
    assert_eq!(detail["tags"]["os"], json!([{"value": "ios 17.4", "count": 6}, {"value": "android 14", "count": 1}]));
    assert_eq!(detail["tags"]["deviceModel"][0], json!({"value": "iPhone15,2", "count": 6}));
    assert_eq!(detail["tags"]["runtime"], json!([{"value": "react-native 0.74", "count": 7}]));
    assert_eq!(detail["latestEventId"], events[6].to_string());
    assert_eq!(detail["oldestEventId"], events[0].to_string());

    // Events newest first, paged by cursor.
    let (rows, pages) = all_pages(&api, &session, &format!("/projects/{pid}/issues/{issue}/events?limit=3")).await;
    assert_eq!(pages, 3);
    let newest_first: Vec<String> = events.iter().rev().map(|e| e.to_string()).collect();
    assert_eq!(ids(&rows), newest_first);
    assert_eq!(rows[0]["title"], "TypeError: x is undefined");
    assert_eq!(rows[0]["userId"], "user-1");
    assert_eq!(rows[6]["os"], "android");

    // Event detail with neighbours.
    let (status, event, _) = get(&api, &session, &format!("/projects/{pid}/events/{}", events[3])).await;
    assert_eq!(status, 200, "{event}");
    assert_eq!(event["issueId"], issue.to_string());
    assert_eq!(event["previousEventId"], events[2].to_string());
    assert_eq!(event["nextEventId"], events[4].to_string());
    assert_eq!(event["sdk"], "sentori-test/1");
    assert!(event["receivedAt"].is_string());
    let (_, oldest, _) = get(&api, &session, &format!("/projects/{pid}/events/{}", events[0])).await;
    assert!(oldest["previousEventId"].is_null());
    let (status, _, _) = get(&api, &session, &format!("/projects/{pid}/events/{}", Uuid::new_v4())).await;
    assert_eq!(status, 404);
    // The issue's newest event, answered as its own detail is.
    let (status, latest, _) = get(&api, &session, &format!("/projects/{pid}/issues/{issue}/events/latest")).await;
    assert_eq!(status, 200, "{latest}");
    let (_, newest, _) = get(&api, &session, &format!("/projects/{pid}/events/{}", events[6])).await;
    assert_eq!(latest, newest);
    assert_eq!(latest["previousEventId"], events[5].to_string());
    let (status, _, _) = get(&api, &session, &format!("/projects/{pid}/issues/{}/events/latest", Uuid::new_v4())).await;
    assert_eq!(status, 404);

    // Resolve in a release, then reopen; resolving records resolved_at.
    let patch = |body: Value| {
        api.request(Method::PATCH, &format!("/projects/{pid}/issues/{issue}")).operator(&session).json(&body).send()
    };
    let (status, row, _) = json(patch(json!({"status": "resolved", "resolvedInRelease": "app@1.1.0"})).await.unwrap()).await;
    assert_eq!(status, 200, "{row}");
    assert_eq!((row["status"].as_str(), row["resolvedInRelease"].as_str()), (Some("resolved"), Some("app@1.1.0")));
    let resolved_at: Option<OffsetDateTime> = sqlx::query_scalar("SELECT resolved_at FROM issues WHERE id = $1")
        .bind(issue)
        .fetch_one(&api.pool)
        .await
        .unwrap();
    assert!(resolved_at.is_some());
    let (status, body, _) = json(patch(json!({"status": "resolved", "resolvedInRelease": "app@9.9.9"})).await.unwrap()).await;
    assert_eq!((status, body["details"][0]["field"].as_str()), (400, Some("resolvedInRelease")));
    let (status, body, _) = json(patch(json!({"status": "ignored"})).await.unwrap()).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("validationFailed")));
    let (status, row, _) = json(patch(json!({"status": "active"})).await.unwrap()).await;
    assert_eq!((status, row["status"].as_str(), row["resolvedInRelease"].is_null()), (200, Some("active"), true));

    // Bulk.
    let second = insert_issue(&api.pool, pid, IssueSeed { title: "Other", ..Default::default() }).await;
    let (status, rows, _) = json(
        api.request(Method::POST, &format!("/projects/{pid}/issues:bulk"))
            .operator(&session)
            .json(&json!({"issueIds": [issue, second, Uuid::new_v4()], "status": "silenced"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{rows}");
    assert_eq!(ids(rows.as_array().unwrap()), vec![issue.to_string(), second.to_string()]);
    assert!(rows.as_array().unwrap().iter().all(|r| r["status"] == "silenced"));
}

/// The hourly rows of `issue` at `(hour expression, count)`, the hour an SQL
/// expression over `today` (this UTC day's midnight) and `hour` (this UTC hour).
async fn insert_hours(pool: &sqlx::PgPool, project_id: Uuid, issue: Uuid, hours: &[(&str, i64)]) {
    for (at, count) in hours {
        sqlx::query(&format!(
            "WITH now AS (SELECT date_trunc('day', now(), 'UTC') AS today, date_trunc('hour', now(), 'UTC') AS hour)
             INSERT INTO issue_hourly (project_id, issue_id, hour, count) SELECT $1, $2, {at}, $3 FROM now"
        ))
        .bind(project_id)
        .bind(issue)
        .bind(count)
        .execute(pool)
        .await
        .unwrap();
    }
}

#[tokio::test]
async fn issue_histogram_buckets_add_up_to_the_events_in_each_period() {
    let api = Api::start().await;
    let session = api.login().await;
    let pid = api.project("app").await;
    let issue = insert_issue(&api.pool, pid, IssueSeed::default()).await;
    let other = insert_issue(&api.pool, pid, IssueSeed { title: "Other", ..Default::default() }).await;
    insert_hours(
        &api.pool,
        pid,
        issue,
        &[
            ("hour", 3),
            ("hour - interval '23 hours'", 2),
            ("hour - interval '24 hours'", 7),
            ("today - interval '13 days'", 4),
            ("today - interval '13 days' - interval '1 hour'", 5),
            ("today - interval '89 days'", 6),
            ("today - interval '89 days' - interval '1 hour'", 100),
        ],
    )
    .await;
    insert_hours(&api.pool, pid, other, &[("hour", 1000)]).await;

    let histogram = |period: &str| {
        let path = format!("/projects/{pid}/issues/{issue}/histogram?period={period}");
        let (api, session) = (&api, &session);
        async move {
            let (status, body, _) = get(api, session, &path).await;
            assert_eq!(status, 200, "{path}: {body}");
            body
        }
    };
    // Each period's buckets, their spacing, their sum, and the oldest bucket's count.
    for (period, bucket, len, hours_apart, total, oldest) in
        [("24h", "hour", 24, 1, 5, 2), ("14d", "day", 14, 24, 16, 4), ("90d", "day", 90, 24, 27, 6)]
    {
        let body = histogram(period).await;
        assert_eq!((body["period"].as_str(), body["bucket"].as_str()), (Some(period), Some(bucket)), "{body}");
        let buckets = body["buckets"].as_array().unwrap();
        assert_eq!(buckets.len(), len, "{period}");
        let counts: Vec<i64> = buckets.iter().map(|b| b["count"].as_i64().unwrap()).collect();
        assert_eq!(counts.iter().sum::<i64>(), total, "{period}: {counts:?}");
        let starts: Vec<OffsetDateTime> = buckets
            .iter()
            .map(|b| OffsetDateTime::parse(b["start"].as_str().unwrap(), &time::format_description::well_known::Rfc3339).unwrap())
            .collect();
        assert!(starts.windows(2).all(|w| w[1] - w[0] == Duration::hours(hours_apart)), "{period}: {starts:?}");
        assert!(starts.iter().all(|s| s.offset().is_utc() && s.minute() == 0 && (bucket == "hour" || s.hour() == 0)));
        assert_eq!(counts[0], oldest, "{period}: {counts:?}");
    }
    assert_eq!(histogram("24h").await["buckets"][23]["count"], 3, "the current hour last");
    assert_eq!(histogram("").await["period"], "24h", "the default");

    let (status, body, _) = get(&api, &session, &format!("/projects/{pid}/issues/{issue}/histogram?period=7d")).await;
    assert_eq!((status, body["details"][0]["field"].as_str()), (400, Some("period")), "{body}");
    let (status, _, _) = get(&api, &session, &format!("/projects/{pid}/issues/{}/histogram", Uuid::new_v4())).await;
    assert_eq!(status, 404);
}

/// Migration `20261202173000` recounts the hourly rows of stored events by
/// event time, and keeps the rows of events retention already removed.
#[tokio::test]
async fn the_hourly_recount_moves_stored_events_to_when_they_happened() {
    let api = Api::start().await;
    let pid = api.project("app").await;
    let issue = insert_issue(&api.pool, pid, IssueSeed::default()).await;
    let now = OffsetDateTime::now_utc();
    for at in [now - Duration::days(2), now - Duration::days(2), now + Duration::hours(3)] {
        insert_event(&api.pool, pid, issue, at, "app@1.0.0", "prod", json!({})).await;
    }
    // What counting by receive time wrote, instead of the processor's rows
    // by event time, and a row whose events are gone.
    sqlx::query("DELETE FROM issue_hourly WHERE project_id = $1 AND issue_id = $2").bind(pid).bind(issue).execute(&api.pool).await.unwrap();
    insert_hours(&api.pool, pid, issue, &[("date_trunc('hour', now(), 'UTC')", 3), ("hour - interval '60 days'", 9)]).await;

    sqlx::raw_sql(include_str!("../../../migrations/20261202173000_issue_hourly_by_event_time.sql")).execute(&api.pool).await.unwrap();

    let hours: Vec<(OffsetDateTime, i64)> =
        sqlx::query_as("SELECT hour, count FROM issue_hourly WHERE project_id = $1 AND issue_id = $2 ORDER BY hour")
            .bind(pid)
            .bind(issue)
            .fetch_all(&api.pool)
            .await
            .unwrap();
    let hour_of = |t: OffsetDateTime| t.replace_time(time::Time::from_hms(t.hour(), 0, 0).unwrap());
    let received_hour = hour_of(hours.last().unwrap().0);
    assert_eq!(
        hours,
        vec![(received_hour - Duration::days(60), 9), (hour_of(now - Duration::days(2)), 2), (received_hour, 1)],
        "the future one counts at its arrival"
    );
}

#[tokio::test]
async fn traces_releases_recipients_attachments_and_status() {
    let api = Api::start().await;
    let session = api.login().await;
    let pid = api.project("app").await;
    let now = OffsetDateTime::now_utc();
    let trace_ids: Vec<Uuid> = (0..5).map(|_| Uuid::new_v4()).collect();
    // One root span a trace; the second trace's root has a child.
    let (root, child) = (Uuid::new_v4(), Uuid::new_v4());
    let mut spans = Vec::new();
    for (n, trace_id) in trace_ids.iter().enumerate() {
        let status = if n == 1 { "error" } else { "ok" };
        let op = if n == 2 { "navigation" } else { "http.server" };
        let id = if n == 1 { root } else { Uuid::new_v4() };
        spans.push((ItemKind::Span, span(id, *trace_id, None, op, now - Duration::minutes(n as i64), 100 * (n as i64 + 1), status)));
    }
    let child_start = now - Duration::minutes(1) + Duration::milliseconds(50);
    let mut child_span = span(child, trace_ids[1], Some(root), "http.server", child_start, 10, "ok");
    child_span["tags"] = json!({"route": "/checkout"});
    spans.push((ItemKind::Span, child_span));
    process(&api.pool, pid, &spans).await;
    let issue = insert_issue(&api.pool, pid, IssueSeed::default()).await;
    let event = insert_event(&api.pool, pid, issue, now, "app@1.0.0", "prod",
        json!({"traceId": trace_ids[1].to_string(), "spanId": child.to_string()})).await;

    let (rows, pages) = all_pages(&api, &session, &format!("/projects/{pid}/traces?limit=2")).await;
    assert_eq!((rows.len(), pages), (5, 3));
    let listed: Vec<String> = rows.iter().map(|r| r["traceId"].as_str().unwrap().to_owned()).collect();
    assert_eq!(listed, trace_ids.iter().map(|t| t.to_string()).collect::<Vec<_>>(), "newest first");
    let (_, body, _) = get(&api, &session, &format!("/projects/{pid}/traces?status=error")).await;
    assert_eq!(body.as_array().unwrap().len(), 1);
    let (_, body, _) = get(&api, &session, &format!("/projects/{pid}/traces?op=navigation")).await;
    assert_eq!(body[0]["traceId"], trace_ids[2].to_string());
    let (_, body, _) = get(&api, &session, &format!("/projects/{pid}/traces?minDurationMs=400")).await;
    assert_eq!(body.as_array().unwrap().len(), 2);

    let (status, detail, _) = get(&api, &session, &format!("/projects/{pid}/traces/{}", trace_ids[1])).await;
    assert_eq!(status, 200, "{detail}");
    assert_eq!(detail["trace"]["status"], "error");
    assert_eq!(detail["spans"][0]["id"], root.to_string(), "spans by start");
    assert!(detail["spans"][0]["parentSpanId"].is_null());
    assert_eq!(detail["spans"][1]["parentSpanId"], root.to_string());
    assert_eq!(detail["spans"][1]["tags"]["route"], "/checkout");
    assert_eq!(detail["events"], json!([{"id": event, "issueId": issue, "spanId": child,
        "title": "TypeError: x is undefined", "timestamp": detail["events"][0]["timestamp"]}]));
    let (status, body, _) = get(&api, &session, &format!("/projects/{pid}/traces/{}", Uuid::new_v4())).await;
    assert_eq!((status, body["error"].as_str()), (404, Some("notFound")));

    // Releases with health numbers: app@1.0.0, which the processor recorded
    // with the event, first seen two days ago; app@1.1.0 deployed since.
    sqlx::query("UPDATE releases SET first_seen = $2 WHERE project_id = $1 AND name = 'app@1.0.0'")
        .bind(pid)
        .bind(now - Duration::days(2))
        .execute(&api.pool)
        .await
        .unwrap();
    let mut items = vec![(ItemKind::Deploy, json!({"release": "app@1.1.0", "environment": "prod"}))];
    for (user, status) in [("u1", "ok"), ("u1", "crashed"), ("u2", "ok"), ("u3", "exited")] {
        let session = json!({"id": Uuid::new_v4(), "userId": user, "release": "app@1.0.0", "environment": "prod", "status": status,
                             "startedAt": now.format(&time::format_description::well_known::Rfc3339).unwrap(), "durationMs": 1000});
        items.push((ItemKind::Session, session));
    }
    process(&api.pool, pid, &items).await;
    let (status, releases, _) = get(&api, &session, &format!("/projects/{pid}/releases")).await;
    assert_eq!(status, 200, "{releases}");
    assert_eq!(releases[0]["name"], "app@1.1.0");
    assert!(releases[0]["deployAt"].is_string());
    assert!(releases[0]["crashFreeSessions"].is_null());
    let old = &releases[1];
    // From the processor's rollups of the event and sessions above.
    assert_eq!((old["eventCount"].as_i64(), old["newIssueCount"].as_i64(), old["sessionCount"].as_i64()), (Some(1), Some(1), Some(4)));
    assert_eq!(old["crashFreeSessions"].as_f64(), Some(0.75));
    assert!((old["crashFreeUsers"].as_f64().unwrap() - 2.0 / 3.0).abs() < 1e-9, "{old}");
    assert_eq!(old["artifactCount"], 0);
    assert!(old["deployAt"].is_null());
    let (status, one, _) = get(&api, &session, &format!("/projects/{pid}/releases/app%401.0.0")).await;
    assert_eq!(status, 200, "{one}");
    assert_eq!(&one, old, "one release reads as it does in the list");
    let (status, body, _) = get(&api, &session, &format!("/projects/{pid}/releases/app%409.9.9")).await;
    assert_eq!((status, body["error"].as_str()), (404, Some("notFound")), "a release the project never saw");

    // Recipients.
    let post = |body: Value| api.request(Method::POST, &format!("/projects/{pid}/recipients")).operator(&session).json(&body).send();
    let (status, created, _) = json(post(json!({"email": "ops@example.com", "onRegression": false})).await.unwrap()).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!((created["onNewIssue"].as_bool(), created["onRegression"].as_bool()), (Some(true), Some(false)));
    let (status, body, _) = json(post(json!({"email": "OPS@example.com"})).await.unwrap()).await;
    assert_eq!((status, body["error"].as_str()), (409, Some("duplicate")));
    let (status, body, _) = json(post(json!({"email": "not an address"})).await.unwrap()).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalidEmail")));
    assert!(body["message"].is_string());
    json(post(json!({"email": "a@example.com"})).await.unwrap()).await;
    let (_, list, _) = get(&api, &session, &format!("/projects/{pid}/recipients")).await;
    let emails: Vec<&str> = list.as_array().unwrap().iter().map(|r| r["email"].as_str().unwrap()).collect();
    assert_eq!(emails, vec!["a@example.com", "ops@example.com"]);
    let rid = created["id"].as_str().unwrap();
    let (status, updated, _) = json(
        api.request(Method::PATCH, &format!("/projects/{pid}/recipients/{rid}"))
            .operator(&session)
            .json(&json!({"onRegression": true}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, updated["onRegression"].as_bool()), (200, Some(true)));
    let delete = || api.request(Method::DELETE, &format!("/projects/{pid}/recipients/{rid}")).operator(&session).send();
    let (status, body, _) = json(delete().await.unwrap()).await;
    assert_eq!((status, body), (200, json!({"ok": true})));
    assert_eq!(delete().await.unwrap().status(), 404);

    // Attachments: listed, and the blob served from <dir>/<sha[0..2]>/<sha> with safe headers.
    let sha = "ab".repeat(32);
    std::fs::create_dir_all(api.attachment_dir.join("ab")).unwrap();
    std::fs::write(api.attachment_dir.join("ab").join(&sha), b"\x89PNG fake").unwrap();
    let attachment = Uuid::new_v4();
    for (id, kind, media, digest) in [(attachment, "screenshot", "image/png", sha.as_str()), (Uuid::new_v4(), "replay", "application/zip", "cd")] {
        sqlx::query(
            "INSERT INTO attachments (project_id, id, event_id, kind, media_type, size_bytes, sha256, source)
             VALUES ($1, $2, $3, $4, $5, 9, $6, 'js')",
        )
        .bind(pid)
        .bind(id)
        .bind(event)
        .bind(kind)
        .bind(media)
        .bind(digest)
        .execute(&api.pool)
        .await
        .unwrap();
    }
    let (status, list, _) = get(&api, &session, &format!("/projects/{pid}/events/{event}/attachments")).await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list[0]["ref"], attachment.to_string());
    assert_eq!((list[0]["mediaType"].as_str(), list[0]["sizeBytes"].as_i64()), (Some("image/png"), Some(9)));
    let response = api.get(&format!("/projects/{pid}/events/{event}/attachments/{attachment}")).cookie_only(&session).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    assert_eq!(headers["content-type"], "image/png");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["content-security-policy"], "sandbox");
    assert!(headers["content-disposition"].to_str().unwrap().starts_with("inline; filename="));
    assert_eq!(&response.bytes().await.unwrap()[..], b"\x89PNG fake");
    let (status, _, _) = get(&api, &session, &format!("/projects/{pid}/events/{event}/attachments/{}", Uuid::new_v4())).await;
    assert_eq!(status, 404);

    // Status: every stream, and both stores answered.
    sqlx::query("INSERT INTO retention_runs (started_at, finished_at, as_of, summary) VALUES (now(), now(), now(), $1)")
        .bind(json!({"partitionsCreated": ["events_p202701"], "partitionsDropped": [], "tracesDeleted": 3, "attachmentsDeleted": 1}))
        .execute(&api.pool)
        .await
        .unwrap();
    let (status, body, _) = get(&api, &session, "/status").await;
    assert_eq!(status, 200, "{body}");
    let names: Vec<&str> = body["streams"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names.len(), 5, "{names:?}");
    assert!(names[0].ends_with("{events}"), "{names:?}");
    assert!(body["postgresMs"].as_f64().is_some() && body["valkeyMs"].as_f64().is_some(), "{body}");
    let run = &body["lastRetentionRun"];
    assert_eq!((run["ok"].as_bool(), run["deletedTraces"].as_i64()), (Some(true), Some(3)));
    assert_eq!(run["createdPartitions"], json!(["events_p202701"]));

    // A summary of another shape is shown as an error, not a failed /status.
    sqlx::query("INSERT INTO retention_runs (started_at, finished_at, as_of, summary) VALUES (now() + interval '1 s', now(), now(), $1)")
        .bind(json!({"tracesDeleted": "many"}))
        .execute(&api.pool)
        .await
        .unwrap();
    let (status, body, _) = get(&api, &session, "/status").await;
    let run = &body["lastRetentionRun"];
    assert_eq!((status, run["ok"].as_bool()), (200, Some(false)), "{body}");
    assert!(run["error"].as_str().unwrap().starts_with("unreadable summary"), "{body}");
}

#[tokio::test]
async fn attachments_answer_503_when_storage_is_off() {
    let api = Api::start_with(&[("SENTORI_ATTACHMENT_DIR", "")]).await;
    let session = api.login().await;
    let pid = api.project("app").await;
    let (status, body, _) = get(&api, &session, &format!("/projects/{pid}/events/{}/attachments", Uuid::new_v4())).await;
    assert_eq!((status, body["error"].as_str()), (503, Some("attachmentsDisabled")));
}

#[tokio::test]
async fn projects_and_tokens_as_the_dashboard_uses_them() {
    let api = Api::start().await;
    let session = api.login().await;
    let (status, created, _) = json(
        api.request(Method::POST, "/projects")
            .operator(&session)
            .json(&json!({"name": "shop-web", "platform": "javascript"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!((created["name"].as_str(), created["eventCount24h"].as_i64()), (Some("shop-web"), Some(0)));
    let token = created["token"]["token"].as_str().unwrap();
    assert!(sentori_protocol::token::is_well_formed(token));
    assert_eq!((created["token"]["kind"].as_str(), created["token"]["label"].as_str()), (Some("public"), Some("default")));
    let pid = created["id"].as_str().unwrap();
    let (_, projects, _) = get(&api, &session, "/projects").await;
    let names: Vec<&str> = projects.as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["dev", "shop-web"], "ordered by name");
    let (_, tokens, _) = get(&api, &session, &format!("/projects/{pid}/tokens")).await;
    assert_eq!(tokens[0]["last4"].as_str().unwrap(), &token[token.len() - 4..]);
    assert!(tokens[0]["revokedAt"].is_null());
    let (status, body, _) = json(
        api.request(Method::POST, "/projects").operator(&session).json(&json!({"name": "  "})).send().await.unwrap(),
    )
    .await;
    assert_eq!((status, body["details"][0]["field"].as_str()), (400, Some("name")));
    let (status, body, _) = json(
        api.request(Method::POST, &format!("/projects/{pid}/tokens"))
            .operator(&session)
            .json(&json!({"kind": "root"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, body["details"][0]["field"].as_str()), (400, Some("kind")));
}

#[tokio::test]
async fn bad_input_is_a_4xx_error_body_never_a_500() {
    let api = Api::start().await;
    let session = api.login().await;
    let pid = api.project("app").await;
    let bad_gets = [
        ("/projects/not-a-uuid/issues", 400, "invalidPath"),
        (&*format!("/projects/{pid}/issues/123"), 400, "invalidPath"),
        (&*format!("/projects/{pid}/issues?limit=abc"), 400, "invalidQuery"),
        (&*format!("/projects/{pid}/issues?limit=500"), 400, "validationFailed"),
        (&*format!("/projects/{pid}/issues?limit=0"), 400, "validationFailed"),
        (&*format!("/projects/{pid}/issues?sort=random"), 400, "validationFailed"),
        (&*format!("/projects/{pid}/issues?status=open"), 400, "validationFailed"),
        (&*format!("/projects/{pid}/issues?cursor=%%%"), 400, "invalidCursor"),
        (&*format!("/projects/{pid}/issues?cursor=bm90IGEgY3Vyc29y"), 400, "invalidCursor"),
        (&*format!("/projects/{pid}/traces?minDurationMs=soon"), 400, "invalidQuery"),
        (&*format!("/projects/{pid}/traces?status=weird"), 400, "validationFailed"),
        (&*format!("/projects/{pid}/traces/xyz"), 400, "invalidPath"),
        (&*format!("/projects/{pid}/issues/{}/events?cursor=zz", Uuid::new_v4()), 400, "invalidCursor"),
        (&*format!("/projects/{pid}/events/{}/attachments/nope", Uuid::new_v4()), 400, "invalidPath"),
        (&*format!("/projects/{}/issues", Uuid::new_v4()), 404, "notFound"),
        ("/no/such/route", 404, "notFound"),
    ];
    for (path, want, code) in bad_gets {
        let (status, body, _) = get(&api, &session, path).await;
        assert_eq!((status, body["error"].as_str()), (want, Some(code)), "{path}: {body}");
        assert!(body["message"].is_string(), "{path}: {body}");
    }
    let (status, body, _) = json(api.request(Method::PUT, "/projects").cookie_only(&session).send().await.unwrap()).await;
    assert_eq!((status, body["error"].as_str()), (405, Some("methodNotAllowed")));

    let issue = insert_issue(&api.pool, pid, IssueSeed::default()).await;
    let url = format!("/projects/{pid}/issues/{issue}");
    let send = |body: &'static str, content_type: &'static str| {
        api.request(Method::PATCH, &url).operator(&session).header("Content-Type", content_type).body(body).send()
    };
    for (body, content_type, want, code) in [
        ("{not json", "application/json", 400, "invalidJson"),
        ("{\"status\": 5}", "application/json", 400, "validationFailed"),
        ("{}", "application/json", 400, "validationFailed"),
        ("status=resolved", "application/x-www-form-urlencoded", 415, "unsupportedMediaType"),
    ] {
        let (status, json_body, _) = json(send(body, content_type).await.unwrap()).await;
        assert_eq!((status, json_body["error"].as_str()), (want, Some(code)), "{body}: {json_body}");
    }
    let (status, body, _) = json(
        api.request(Method::POST, &format!("/projects/{pid}/issues:bulk"))
            .operator(&session)
            .json(&json!({"issueIds": ["x"], "status": "resolved"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, body["error"].as_str()), (400, Some("validationFailed")), "{body}");
    let (status, body, _) = json(api.request(Method::POST, "/login").body("password").send().await.unwrap()).await;
    assert_eq!((status, body["error"].as_str()), (415, Some("unsupportedMediaType")));
}

#[tokio::test]
async fn releases_sort_by_version_across_pages() {
    let api = Api::start().await;
    let session = api.login().await;
    let pid = api.project("shop-web").await;
    let now = OffsetDateTime::now_utc();
    // Deployed, then first seen in an order unlike their versions.
    let names = ["shop@1.10.0+3", "shop@1.9.2+40", "shop@1.10.0-beta.2+1", "shop@1.10.0+12", "shop@1.2.0"];
    let deploys: Vec<_> = names.iter().map(|name| (ItemKind::Deploy, json!({"release": name, "environment": "prod"}))).collect();
    process(&api.pool, pid, &deploys).await;
    for (i, name) in names.iter().enumerate() {
        sqlx::query("UPDATE releases SET first_seen = $3 WHERE project_id = $1 AND name = $2")
            .bind(pid)
            .bind(name)
            .bind(now - Duration::hours(i as i64))
            .execute(&api.pool)
            .await
            .unwrap();
    }
    let (rows, pages) = all_pages(&api, &session, &format!("/projects/{pid}/releases?sort=version&limit=2")).await;
    let order: Vec<&str> = rows.iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(order, ["shop@1.10.0+12", "shop@1.10.0+3", "shop@1.10.0-beta.2+1", "shop@1.9.2+40", "shop@1.2.0"]);
    assert_eq!(pages, 3);
    let (rows, _) = all_pages(&api, &session, &format!("/projects/{pid}/releases?limit=2")).await;
    assert_eq!(rows[0]["name"], names[0], "first seen stays the default");
    let (status, body, _) = get(&api, &session, &format!("/projects/{pid}/releases?sort=semver")).await;
    assert_eq!((status, body["details"][0]["field"].as_str()), (400, Some("sort")));
}
