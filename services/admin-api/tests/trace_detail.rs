//! A trace's spans come in capped pages that add up to the whole trace.

use crate::common;

use std::collections::HashSet;

use common::{Api, Auth, Session, json, process, span};
use sentori_queue::ItemKind;
use time::OffsetDateTime;
use serde_json::Value;
use uuid::Uuid;

const SPANS: i64 = 2500;
const CAP: usize = 1000;

/// Every page of one trace's detail, starting at `query`.
async fn detail_pages(api: &Api, session: &Session, pid: Uuid, trace_id: Uuid, query: &str) -> Vec<Value> {
    let mut pages = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut url = format!("/projects/{pid}/traces/{trace_id}?{query}");
        if let Some(cursor) = &cursor {
            url.push_str(&format!("&cursor={cursor}"));
        }
        let (status, body, headers) = json(api.get(&url).cookie_only(session).send().await.unwrap()).await;
        assert_eq!(status, 200, "{url}: {body}");
        pages.push(body);
        assert!(pages.len() <= 1000, "the cursor must end");
        match headers.get("x-next-cursor").and_then(|v| v.to_str().ok()) {
            Some(next) => cursor = Some(next.to_owned()),
            None => return pages,
        }
    }
}

fn span_ids(pages: &[Value]) -> Vec<String> {
    pages.iter().flat_map(|page| page["spans"].as_array().unwrap()).map(|span| span["id"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn trace_spans_come_in_capped_pages_that_add_up_to_the_trace() {
    let api = Api::start().await;
    let session = api.login().await;
    let pid = api.project("app").await;
    let trace_id = Uuid::new_v4();
    // Three spans start at each millisecond, so pages must also cut between
    // spans that started together; another trace's spans must not show.
    let start = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
    let mut spans = Vec::new();
    for (trace, count) in [(trace_id, SPANS), (Uuid::new_v4(), 10)] {
        for n in 0..count {
            let started_at = start + time::Duration::milliseconds(n / 3);
            spans.push((ItemKind::Span, span(Uuid::new_v4(), trace, None, "db", started_at, 1, "ok")));
        }
    }
    process(&api.pool, pid, &spans).await;
    let stored: Vec<String> =
        sqlx::query_scalar("SELECT id::text FROM spans WHERE project_id = $1 AND trace_id = $2 ORDER BY started_at, id")
            .bind(pid)
            .bind(trace_id)
            .fetch_all(&api.pool)
            .await
            .unwrap();

    // The default page is the cap; an odd page size cuts inside the ties.
    for (query, page_size) in [("", CAP), ("limit=1000", CAP), ("limit=7", 7)] {
        let pages = detail_pages(&api, &session, pid, trace_id, query).await;
        assert_eq!(pages.len(), (SPANS as usize).div_ceil(page_size), "{query}");
        for page in &pages {
            assert!(page["spans"].as_array().unwrap().len() <= page_size, "{query}");
            assert_eq!(page["spanCount"], SPANS, "every page says how many spans there are");
            assert_eq!(page["trace"]["traceId"], trace_id.to_string());
        }
        let ids = span_ids(&pages);
        assert_eq!(ids.iter().collect::<HashSet<_>>().len(), ids.len(), "{query}: no span twice");
        assert_eq!(ids, stored, "{query}: every span once, by start time then id");
    }

    let (status, body, _) =
        json(api.get(&format!("/projects/{pid}/traces/{trace_id}?limit=1001")).cookie_only(&session).send().await.unwrap()).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("validationFailed")), "{body}");
    let (status, body, _) =
        json(api.get(&format!("/projects/{pid}/traces/{trace_id}?cursor=nonsense")).cookie_only(&session).send().await.unwrap())
            .await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalidCursor")), "{body}");
}
