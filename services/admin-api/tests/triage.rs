//! Triage against the real database: assigning and the `assignee` filter,
//! silences for a time or a number of events, the activity log with who did
//! what, merging issues (events, counts, users, hours and fingerprints move
//! to the target), and deleting issues with their events and attachment
//! blobs.

use crate::common;

use common::{Api, Auth, IssueSeed, Session, insert_event, insert_issue, json};
use reqwest::Method;
use sentori_protocol::TokenKind;
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

async fn get(api: &Api, session: &Session, path: &str) -> (u16, Value) {
    let (status, body, _) = json(api.get(path).cookie_only(session).send().await.unwrap()).await;
    (status, body)
}

async fn send(api: &Api, session: &Session, method: Method, path: &str, body: Value) -> (u16, Value) {
    let (status, body, _) = json(api.request(method, path).operator(session).json(&body).send().await.unwrap()).await;
    (status, body)
}

fn time_of(value: &Value) -> OffsetDateTime {
    OffsetDateTime::parse(value.as_str().unwrap_or_else(|| panic!("a time, got {value}")), &Rfc3339).unwrap()
}

/// The issue's activity, oldest first, walked a page of `limit` at a time.
async fn activity(api: &Api, session: &Session, pid: Uuid, issue: Uuid, limit: usize) -> Vec<Value> {
    let mut entries = Vec::new();
    let mut cursor = String::new();
    loop {
        let path = format!("/projects/{pid}/issues/{issue}/activity?limit={limit}&cursor={cursor}");
        let (status, body, headers) = json(api.get(&path).cookie_only(session).send().await.unwrap()).await;
        assert_eq!(status, 200, "{path}: {body}");
        entries.extend(body.as_array().unwrap().iter().cloned());
        match headers.get("x-next-cursor") {
            Some(next) => cursor = next.to_str().unwrap().to_owned(),
            None => break,
        }
    }
    entries.reverse();
    entries
}

fn kinds(entries: &[Value]) -> Vec<&str> {
    entries.iter().map(|e| e["kind"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn assigning_and_silencing_are_logged_with_who_did_them() {
    let api = Api::start().await;
    let session = api.login().await;
    let pid = api.project("shop").await;
    let token = sentori_store::tokens::create_token(&api.pool, pid, TokenKind::Admin, "ci").await.unwrap().1;
    let issue = insert_issue(&api.pool, pid, IssueSeed { event_count: 40, ..Default::default() }).await;
    let other = insert_issue(&api.pool, pid, IssueSeed { title: "Other", ..Default::default() }).await;
    let path = format!("/projects/{pid}/issues/{issue}");

    let (status, row) = send(&api, &session, Method::PATCH, &path, json!({"assignee": "  Alice@Example.com "})).await;
    assert_eq!((status, row["assignee"].as_str(), row["status"].as_str()), (200, Some("Alice@Example.com"), Some("active")), "{row}");
    let listed = |query: &'static str| {
        let (api, session) = (&api, &session);
        async move {
            let (status, body) = get(api, session, &format!("/projects/{pid}/issues?status=all&{query}")).await;
            assert_eq!(status, 200, "{query}: {body}");
            body.as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap().to_owned()).collect::<Vec<_>>()
        }
    };
    assert_eq!(listed("assignee=alice%40example.com").await, vec![issue.to_string()], "case-insensitive");
    assert_eq!(listed("assigned=true").await, vec![issue.to_string()]);
    assert_eq!(listed("assigned=false").await, vec![other.to_string()]);
    assert_eq!(listed("assignee=bob").await, Vec::<String>::new());
    let (_, counts) = get(&api, &session, &format!("/projects/{pid}/issues:counts?assigned=true")).await;
    assert_eq!(counts["all"], 1, "{counts}");

    // A token silences for an hour; the row says until when.
    let response = api
        .request(Method::PATCH, &path)
        .bearer_auth(&token)
        .json(&json!({"status": "silenced", "silenceForSeconds": 3600}))
        .send()
        .await
        .unwrap();
    let (status, row, _) = json(response).await;
    assert_eq!(status, 200, "{row}");
    let until = time_of(&row["silencedUntil"]) - OffsetDateTime::now_utc();
    assert!(until > Duration::minutes(59) && until <= Duration::hours(1), "{row}");
    assert!(row["silencedUntilEventCount"].is_null());
    // Silenced again until 5 more events: the time goes, the count is the issue's count plus 5.
    let (status, row) = send(&api, &session, Method::PATCH, &path, json!({"status": "silenced", "silenceForEvents": 5})).await;
    assert_eq!((status, row["silencedUntilEventCount"].as_i64(), row["silencedUntil"].is_null()), (200, Some(45), true), "{row}");
    // Reopening ends the silence; unassigning with null.
    let (status, row) = send(&api, &session, Method::PATCH, &path, json!({"status": "active", "assignee": null})).await;
    assert_eq!(status, 200, "{row}");
    assert!(row["silencedUntilEventCount"].is_null() && row["assignee"].is_null(), "{row}");
    // Resolving what is active logs; resolving it again changes nothing and logs nothing.
    for _ in 0..2 {
        let (status, _) = send(&api, &session, Method::PATCH, &path, json!({"status": "resolved"})).await;
        assert_eq!(status, 200);
    }
    let (status, rows) = send(&api, &session, Method::POST, &format!("/projects/{pid}/issues:bulk"),
        json!({"issueIds": [issue, other], "assignee": "bob"})).await;
    assert_eq!(status, 200, "{rows}");
    assert!(rows.as_array().unwrap().iter().all(|r| r["assignee"] == "bob" && r["status"] != "silenced"), "{rows}");

    let entries = activity(&api, &session, pid, issue, 2).await;
    assert_eq!(kinds(&entries), ["assigned", "status", "status", "status", "assigned", "status", "assigned"], "{entries:#?}");
    assert_eq!((entries[0]["actor"].as_str(), entries[0]["data"]["to"].as_str()), (Some("dashboard"), Some("Alice@Example.com")));
    assert!(entries[0]["data"].get("from").is_none(), "nobody before: {}", entries[0]);
    assert_eq!((entries[1]["actor"].as_str(), entries[1]["actorName"].as_str()), (Some("token"), Some(&*format!("ci (…{})", &token[token.len() - 4..]))));
    assert_eq!((entries[1]["data"]["from"].as_str(), entries[1]["data"]["to"].as_str()), (Some("active"), Some("silenced")));
    assert!(entries[1]["data"]["silencedUntil"].is_string(), "{}", entries[1]);
    assert_eq!(entries[2]["data"]["silencedUntilEventCount"], 45);
    assert_eq!((entries[3]["data"]["from"].as_str(), entries[3]["data"]["to"].as_str()), (Some("silenced"), Some("active")));
    assert_eq!(entries[4]["data"], json!({"from": "Alice@Example.com"}), "unassigned");
    assert_eq!(entries[5]["data"], json!({"from": "active", "to": "resolved"}));
    assert_eq!(entries[6]["data"], json!({"to": "bob"}));
    assert_eq!(kinds(&activity(&api, &session, pid, other, 100).await), ["assigned"]);

    // What is not a change is refused before anything changes.
    for (body, field) in [
        (json!({}), "status"),
        (json!({"status": "resolved", "silenceForEvents": 3}), "silenceForEvents"),
        (json!({"status": "silenced", "silenceForSeconds": 0}), "silenceForSeconds"),
        (json!({"status": "silenced", "silenceForEvents": -1}), "silenceForEvents"),
        (json!({"assignee": "x".repeat(201)}), "assignee"),
        (json!({"assignee": "line\nbreak"}), "assignee"),
    ] {
        let (status, answer) = send(&api, &session, Method::PATCH, &path, body.clone()).await;
        assert_eq!((status, answer["details"][0]["field"].as_str()), (400, Some(field)), "{body}: {answer}");
    }
    assert_eq!(activity(&api, &session, pid, issue, 100).await.len(), 7);
    let (status, _) = get(&api, &session, &format!("/projects/{pid}/issues/{}/activity", Uuid::new_v4())).await;
    assert_eq!(status, 404);
}

async fn fingerprint(api: &Api, issue: Uuid) -> String {
    sqlx::query_scalar("SELECT fingerprint FROM issues WHERE id = $1").bind(issue).fetch_one(&api.pool).await.unwrap()
}

#[tokio::test]
async fn merging_moves_events_counts_users_hours_and_fingerprints_to_the_target() {
    let api = Api::start().await;
    let session = api.login().await;
    let pid = api.project("shop").await;
    let now = OffsetDateTime::now_utc();
    let target = insert_issue(&api.pool, pid, IssueSeed {
        title: "TypeError: total is undefined",
        event_count: 0,
        user_count: 0,
        first_seen: now - Duration::hours(2),
        last_seen: now - Duration::hours(1),
        ..Default::default()
    })
    .await;
    let source = insert_issue(&api.pool, pid, IssueSeed {
        title: "TypeError: total is not defined",
        level: "fatal",
        event_count: 0,
        user_count: 0,
        first_seen: now - Duration::hours(5),
        last_seen: now,
        ..Default::default()
    })
    .await;
    // Counts, users and hours come from the events, as the processor keeps
    // them: ben is a user of both issues; four events are in the last hour.
    let mut moved = Vec::new();
    for (minutes, user) in [(300, "ben"), (30, "cyd"), (1, "cyd")] {
        let extra = json!({"user": {"id": user}, "level": "fatal"});
        moved.push(insert_event(&api.pool, pid, source, now - Duration::minutes(minutes), "app@2.0.0", "staging", extra).await);
    }
    let mut kept = Vec::new();
    for (minutes, user) in [(50, "ann"), (40, "ben")] {
        let extra = json!({"user": {"id": user}});
        kept.push(insert_event(&api.pool, pid, target, now - Duration::minutes(minutes), "app@1.0.0", "prod", extra).await);
    }
    let (source_fingerprint, target_fingerprint) = (fingerprint(&api, source).await, fingerprint(&api, target).await);
    let (_, source_row) = get(&api, &session, &format!("/projects/{pid}/issues/{source}")).await;
    let merge_path = format!("/projects/{pid}/issues:merge");
    let merge = |body: Value| send(&api, &session, Method::POST, &merge_path, body);

    // Refused before anything moves: nothing to merge, or an issue of no project of the caller's.
    let (status, body) = merge(json!({"targetId": target, "issueIds": [target]})).await;
    assert_eq!((status, body["details"][0]["field"].as_str()), (400, Some("issueIds")), "{body}");
    let (status, _) = merge(json!({"targetId": target, "issueIds": [source, Uuid::new_v4()]})).await;
    assert_eq!(status, 404);
    let (status, _) = get(&api, &session, &format!("/projects/{pid}/issues/{source}")).await;
    assert_eq!(status, 200, "a refused merge leaves the source");

    let (status, row) = merge(json!({"targetId": target, "issueIds": [source, target]})).await;
    assert_eq!(status, 200, "{row}");
    assert_eq!(row["id"], target.to_string());
    assert_eq!((row["eventCount"].as_i64(), row["userCount"].as_i64()), (Some(5), Some(3)), "ben counts once: {row}");
    assert_eq!(time_of(&row["firstSeen"]), time_of(&source_row["firstSeen"]));
    assert_eq!(time_of(&row["lastSeen"]), time_of(&source_row["lastSeen"]));
    assert_eq!((row["level"].as_str(), row["title"].as_str()), (Some("fatal"), Some("TypeError: total is undefined")), "{row}");
    assert_eq!(row["trend24h"][23].as_i64().unwrap() + row["trend24h"][22].as_i64().unwrap(), 4, "hours add up: {row}");

    let (status, _) = get(&api, &session, &format!("/projects/{pid}/issues/{source}")).await;
    assert_eq!(status, 404, "the source is gone");
    let (_, events) = get(&api, &session, &format!("/projects/{pid}/issues/{target}/events?limit=10")).await;
    let mut listed: Vec<String> = events.as_array().unwrap().iter().map(|e| e["id"].as_str().unwrap().to_owned()).collect();
    let mut expected: Vec<String> = moved.iter().chain(&kept).map(Uuid::to_string).collect();
    listed.sort();
    expected.sort();
    assert_eq!(listed, expected, "its events list under the target");
    let (_, event) = get(&api, &session, &format!("/projects/{pid}/events/{}", moved[0])).await;
    assert_eq!(event["issueId"], target.to_string());
    let (_, detail) = get(&api, &session, &format!("/projects/{pid}/issues/{target}?")).await;
    assert_eq!(detail["mergedFingerprints"], json!([source_fingerprint]));
    assert_eq!(detail["tags"]["environment"].as_array().unwrap().len(), 2, "{detail}");
    let entries = activity(&api, &session, pid, target, 100).await;
    assert_eq!(kinds(&entries), ["merged"]);
    assert_eq!(entries[0]["data"]["shortId"], source_row["shortId"]);
    assert_eq!((entries[0]["data"]["eventCount"].as_i64(), entries[0]["data"]["title"].as_str()), (Some(3), source_row["title"].as_str()));
    let left: i64 = sqlx::query_scalar("SELECT (SELECT count(*) FROM issue_users WHERE issue_id = $1) + (SELECT count(*) FROM issue_hourly WHERE issue_id = $1)")
        .bind(source)
        .fetch_one(&api.pool)
        .await
        .unwrap();
    assert_eq!(left, 0, "nothing of the source is left behind");

    // Merged on into a third issue, the fingerprints merged before follow.
    let third = insert_issue(&api.pool, pid, IssueSeed::default()).await;
    let (status, row) = merge(json!({"targetId": third, "issueIds": [target]})).await;
    assert_eq!((status, row["eventCount"].as_i64()), (200, Some(6)), "{row}");
    let routes: Vec<(String, Uuid)> =
        sqlx::query_as("SELECT fingerprint, issue_id FROM merged_fingerprints WHERE project_id = $1 ORDER BY merged_at, fingerprint")
            .bind(pid)
            .fetch_all(&api.pool)
            .await
            .unwrap();
    let mut expected = vec![(source_fingerprint, third), (target_fingerprint, third)];
    expected.sort();
    let mut routes = routes;
    routes.sort();
    assert_eq!(routes, expected);
}

/// An attachment row of `event` whose blob (`sha`) is written to the store.
async fn attach(api: &Api, pid: Uuid, event: Uuid, sha: &str) {
    let dir = api.attachment_dir.join(&sha[..2]);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(sha), b"\x89PNG fake").unwrap();
    sqlx::query(
        "INSERT INTO attachments (project_id, id, event_id, kind, media_type, size_bytes, sha256, source)
         VALUES ($1, $2, $3, 'screenshot', 'image/png', 9, $4, 'js')",
    )
    .bind(pid)
    .bind(Uuid::new_v4())
    .bind(event)
    .bind(sha)
    .execute(&api.pool)
    .await
    .unwrap();
}

#[tokio::test]
async fn deleting_takes_the_events_their_attachments_and_unshared_blobs() {
    let api = Api::start().await;
    let session = api.login().await;
    let pid = api.project("shop").await;
    let now = OffsetDateTime::now_utc();
    let doomed = insert_issue(&api.pool, pid, IssueSeed::default()).await;
    let survivor = insert_issue(&api.pool, pid, IssueSeed { title: "Survivor", ..Default::default() }).await;
    let (own, shared) = ("a1".repeat(32), "b2".repeat(32));
    let doomed_events = [
        insert_event(&api.pool, pid, doomed, now, "app@1.0.0", "prod", json!({})).await,
        insert_event(&api.pool, pid, doomed, now, "app@1.0.0", "prod", json!({})).await,
    ];
    attach(&api, pid, doomed_events[0], &own).await;
    attach(&api, pid, doomed_events[1], &shared).await;
    let survivor_event = insert_event(&api.pool, pid, survivor, now, "app@1.0.0", "prod", json!({})).await;
    attach(&api, pid, survivor_event, &shared).await;
    let blob = |sha: &str| api.attachment_dir.join(&sha[..2]).join(sha);

    let (status, body) = send(&api, &session, Method::DELETE, &format!("/projects/{pid}/issues/{doomed}"), json!({})).await;
    assert_eq!((status, body["ok"].as_bool()), (200, Some(true)), "{body}");
    let (status, _) = get(&api, &session, &format!("/projects/{pid}/issues/{doomed}")).await;
    assert_eq!(status, 404);
    for event in doomed_events {
        let (status, _) = get(&api, &session, &format!("/projects/{pid}/events/{event}")).await;
        assert_eq!(status, 404, "its events are gone");
    }
    let leftovers: i64 = sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM events WHERE issue_id = $1) + (SELECT count(*) FROM issue_users WHERE issue_id = $1)
              + (SELECT count(*) FROM issue_hourly WHERE issue_id = $1) + (SELECT count(*) FROM attachments WHERE event_id = ANY($2))",
    )
    .bind(doomed)
    .bind(&doomed_events[..])
    .fetch_one(&api.pool)
    .await
    .unwrap();
    assert_eq!(leftovers, 0);
    assert!(!blob(&own).exists(), "a blob only its attachment used is deleted");
    assert!(blob(&shared).exists(), "a blob another event's attachment uses stays");
    let (status, list) = get(&api, &session, &format!("/projects/{pid}/events/{survivor_event}/attachments")).await;
    assert_eq!((status, list.as_array().map(Vec::len)), (200, Some(1)));
    let (status, _) = send(&api, &session, Method::DELETE, &format!("/projects/{pid}/issues/{doomed}"), json!({})).await;
    assert_eq!(status, 404, "deleted once");

    // Many at once: unknown ids are not counted.
    let more = insert_issue(&api.pool, pid, IssueSeed::default()).await;
    let (status, body) = send(&api, &session, Method::POST, &format!("/projects/{pid}/issues:delete"),
        json!({"issueIds": [survivor, more, Uuid::new_v4()]})).await;
    assert_eq!((status, body["deleted"].as_i64()), (200, Some(2)), "{body}");
    assert!(!blob(&shared).exists(), "its last attachment took the shared blob with it");
    let (status, body) = send(&api, &session, Method::POST, &format!("/projects/{pid}/issues:delete"), json!({"issueIds": []})).await;
    assert_eq!((status, body["details"][0]["field"].as_str()), (400, Some("issueIds")));
    let (_, counts) = get(&api, &session, &format!("/projects/{pid}/issues:counts")).await;
    assert_eq!(counts["all"], 0, "{counts}");
}
