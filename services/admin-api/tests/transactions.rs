//! The transaction summary groups traces by root name with their duration
//! percentiles and error rate; a trace's error count is its error events,
//! the same in the list, the detail's header and the detail's events.

use crate::common;

use common::{Api, Auth, IssueSeed, Session, insert_event, insert_issue, insert_trace, json};
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

async fn get(api: &Api, session: &Session, path: &str) -> (u16, Value) {
    let (status, body, _) = json(api.get(path).cookie_only(session).send().await.unwrap()).await;
    (status, body)
}

/// The summary's rows as (name, count, p50, p95, p99, failed, error rate).
fn rows(body: &Value) -> Vec<(String, i64, i64, i64, i64, i64, f64)> {
    body["transactions"]
        .as_array()
        .unwrap_or_else(|| panic!("a summary, got {body}"))
        .iter()
        .map(|t| {
            let n = |k: &str| t[k].as_i64().unwrap_or_else(|| panic!("{k} in {t}"));
            (t["rootName"].as_str().unwrap().to_owned(), n("traceCount"), n("p50Ms"), n("p95Ms"), n("p99Ms"), n("failedCount"),
             t["errorRate"].as_f64().unwrap())
        })
        .collect()
}

#[tokio::test]
async fn traces_group_by_root_name_with_percentiles_and_error_rate() {
    let api = Api::start().await;
    let session = api.login().await;
    let pid = api.project("shop").await;
    let other = api.project("other").await;
    let now = OffsetDateTime::now_utc();
    // 20 checkouts of 10, 20 … 200 ms in the last hour, two of them failed.
    for n in 1..=20 {
        insert_trace(&api.pool, pid, Some("GET /checkout"), now - Duration::minutes(n), 10 * n, i64::from(n % 10 == 0)).await;
    }
    for duration in [5, 7, 9] {
        insert_trace(&api.pool, pid, Some("GET /cart"), now - Duration::hours(2), duration, 0).await;
    }
    // Outside the day, and outside 14 days; a trace whose root has not
    // arrived; another project's.
    insert_trace(&api.pool, pid, Some("GET /checkout"), now - Duration::days(2), 99_000, 3).await;
    insert_trace(&api.pool, pid, Some("GET /checkout"), now - Duration::days(20), 5, 0).await;
    insert_trace(&api.pool, pid, None, now, 1, 0).await;
    insert_trace(&api.pool, other, Some("GET /checkout"), now, 1, 1).await;

    let (status, body) = get(&api, &session, &format!("/projects/{pid}/transactions")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["period"], "24h");
    let since = OffsetDateTime::parse(body["since"].as_str().unwrap(), &time::format_description::well_known::Rfc3339).unwrap();
    assert!((now - Duration::hours(24) - since).abs() < Duration::minutes(1), "{body}");
    // Nearest rank: p50 of 20 is the 10th, p95 the 19th, p99 the 20th.
    assert_eq!(rows(&body), vec![
        ("GET /checkout".to_owned(), 20, 100, 190, 200, 2, 0.1),
        ("GET /cart".to_owned(), 3, 7, 9, 9, 0, 0.0),
    ]);

    let (_, body) = get(&api, &session, &format!("/projects/{pid}/transactions?period=14d&limit=1")).await;
    assert_eq!(body["period"], "14d");
    assert_eq!(rows(&body), vec![("GET /checkout".to_owned(), 21, 110, 200, 99_000, 3, 3.0 / 21.0)], "the older trace counts");
    let (_, body) = get(&api, &session, &format!("/projects/{pid}/transactions?period=90d")).await;
    assert_eq!(rows(&body).iter().map(|r| (r.0.as_str(), r.1)).collect::<Vec<_>>(), vec![("GET /checkout", 22), ("GET /cart", 3)]);

    // A row's name filters the traces list.
    let (status, listed) = get(&api, &session, &format!("/projects/{pid}/traces?name=GET%20/cart")).await;
    assert_eq!(status, 200, "{listed}");
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 3);
    assert!(listed.iter().all(|t| t["rootName"] == "GET /cart"), "{listed:?}");

    for (query, field) in [("period=7d", "period"), ("limit=0", "limit"), ("limit=201", "limit")] {
        let (status, body) = get(&api, &session, &format!("/projects/{pid}/transactions?{query}")).await;
        assert_eq!((status, body["error"].as_str()), (400, Some("validationFailed")), "{query}: {body}");
        assert_eq!(body["details"][0]["field"], field, "{query}: {body}");
    }
}

#[tokio::test]
async fn a_traces_error_count_is_its_error_events_wherever_it_shows() {
    let api = Api::start().await;
    let session = api.login().await;
    let pid = api.project("shop").await;
    let now = OffsetDateTime::now_utc();
    // Two failed spans but one error event; and a trace with an error event
    // whose spans all succeeded (a handled exception).
    let failed = insert_trace(&api.pool, pid, Some("GET /pay"), now - Duration::minutes(1), 50, 2).await;
    let handled = insert_trace(&api.pool, pid, Some("GET /home"), now, 50, 0).await;
    let issue = insert_issue(&api.pool, pid, IssueSeed::default()).await;
    for trace in [failed, handled, handled] {
        insert_event(&api.pool, pid, issue, now, "app@1.0.0", "prod", json!({"traceId": trace.to_string()})).await;
    }

    let (_, list) = get(&api, &session, &format!("/projects/{pid}/traces")).await;
    let counts = |trace: Uuid| {
        let row = list.as_array().unwrap().iter().find(|t| t["traceId"] == trace.to_string()).unwrap();
        (row["errorCount"].as_i64().unwrap(), row["failedSpanCount"].as_i64().unwrap(), row["status"].as_str().unwrap().to_owned())
    };
    assert_eq!(counts(failed), (1, 2, "error".to_owned()));
    assert_eq!(counts(handled), (2, 0, "ok".to_owned()));
    for (trace, events) in [(failed, 1), (handled, 2)] {
        let (status, detail) = get(&api, &session, &format!("/projects/{pid}/traces/{trace}")).await;
        assert_eq!(status, 200, "{detail}");
        assert_eq!(detail["events"].as_array().unwrap().len(), events);
        assert_eq!(detail["trace"]["errorCount"], events, "the header counts what the errors panel lists");
    }
}
