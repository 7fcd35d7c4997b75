//! Rate limits, quotas and attachments end to end: two real ingest processes
//! on one Valkey (as behind a load balancer), the processor storing what
//! they admitted, and admin-api serving what was uploaded. The in-process
//! ingest tests show each rule on one ingest; these show the counters are
//! shared between processes and agree with what the processor stores.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use reqwest::multipart::{Form, Part};
use sentori_protocol::DEV_PROJECT_ID;
use sentori_queue::Stream;
use sentori_testkit::{ServiceProcess, TestStack, eventually};
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

const PATIENCE: Duration = Duration::from_secs(60);

struct Pipeline {
    stack: TestStack,
    ingests: [ServiceProcess; 2],
    _processor: ServiceProcess,
    admin: ServiceProcess,
    pool: PgPool,
    client: reqwest::Client,
    /// A public token of the dev project, made through admin-api: quotas
    /// spare the dev token.
    token: String,
    _attachments: tempfile::TempDir,
}

impl Pipeline {
    /// Two ingests with `ingest_env`, a processor and admin-api; the org's
    /// monthly event limit is set (as an operator does, in SQL) before the
    /// public token is first used, so no ingest has cached it without.
    async fn start(ingest_env: &[(&str, &str)], monthly_event_limit: Option<i64>) -> Self {
        let stack = TestStack::new().await;
        let pool = stack.pool().await;
        sqlx::query("UPDATE orgs SET monthly_event_limit = $1").bind(monthly_event_limit).execute(&pool).await.unwrap();
        let attachments = tempfile::tempdir().expect("an attachment directory");
        let mut env = stack.service_env();
        env.push(("SENTORI_ATTACHMENT_DIR".into(), attachments.path().display().to_string()));
        let admin = ServiceProcess::start("admin-api", "SENTORI_ADMIN_API_ADDR", &env).await;
        let _processor = ServiceProcess::start("processor", "SENTORI_PROCESSOR_ADDR", &env).await;
        env.extend(ingest_env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
        let ingests = [
            ServiceProcess::start("ingest", "SENTORI_INGEST_ADDR", &env).await,
            ServiceProcess::start("ingest", "SENTORI_INGEST_ADDR", &env).await,
        ];
        let client = reqwest::Client::new();
        let response = client
            .post(admin.url(&format!("/admin/api/projects/{DEV_PROJECT_ID}/tokens")))
            .bearer_auth(&stack.dev_token)
            .json(&json!({"kind": "public", "label": "sdk"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
        let token = response.json::<Value>().await.unwrap()["token"].as_str().expect("the new token").to_owned();
        Self { stack, ingests, _processor, admin, pool, client, token, _attachments: attachments }
    }

    async fn send(&self, ingest: usize, token: &str, path: &str, body: &Value) -> reqwest::Response {
        self.client.post(self.ingests[ingest].url(path)).bearer_auth(token).json(body).send().await.unwrap()
    }

    /// The ids of the events stored, once ingest's stream is drained.
    async fn stored_events(&self) -> BTreeSet<Uuid> {
        self.stack.wait_drained(Stream::Events, PATIENCE).await;
        sqlx::query_scalar("SELECT id FROM events").fetch_all(&self.pool).await.unwrap().into_iter().collect()
    }

    async fn upload(&self, ingest: usize, event: Uuid, bytes: &[u8]) -> reqwest::Response {
        let part = Part::bytes(bytes.to_vec()).file_name("screen.png").mime_str("image/png").unwrap();
        self.client
            .post(self.ingests[ingest].url(&format!("/v1/events/{event}/attachments/screenshot")))
            .bearer_auth(&self.token)
            .multipart(Form::new().part("file", part))
            .send()
            .await
            .unwrap()
    }

    async fn admin_get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.admin.url(&format!("/admin/api{path}"))).bearer_auth(&self.stack.dev_token).send().await.unwrap()
    }
}

fn event(id: Uuid) -> Value {
    json!({
        "id": id, "timestamp": "2026-11-26T10:00:00Z", "kind": "error", "platform": "android",
        "release": "a@1", "environment": "prod", "device": {"os": "android", "osVersion": "14"}, "app": {"version": "1"},
        "error": {"type": "IllegalStateException", "message": "boom"}
    })
}

async fn error_code(response: reqwest::Response) -> (u16, bool, String) {
    let status = response.status().as_u16();
    let retry_after = response.headers().contains_key("retry-after");
    let body: Value = response.json().await.unwrap_or(Value::Null);
    (status, retry_after, body["error"].as_str().unwrap_or_default().to_owned())
}

#[tokio::test]
async fn two_ingests_share_one_rate_limit_and_the_processor_stores_what_they_admitted() {
    const LIMIT: usize = 20;
    let p = Pipeline::start(&[("SENTORI_RATE_LIMIT_PER_MIN", "20")], None).await;
    // Requests alternate between the two ingests until one answers 429.
    // One shared bucket admits at least the limit and at most the limit
    // plus the intervals that passed; a bucket per process would admit twice
    // the limit.
    let interval = Duration::from_secs(60) / LIMIT as u32;
    let started = Instant::now();
    let mut admitted = BTreeSet::new();
    let limited = loop {
        let id = Uuid::now_v7();
        let response = p.send(admitted.len() % 2, &p.token, "/v1/events", &event(id)).await;
        if response.status() != 202 {
            break response;
        }
        admitted.insert(id);
        assert!(admitted.len() <= 4 * LIMIT, "no 429 after {} requests", admitted.len());
    };
    let refilled = (started.elapsed().as_micros() / interval.as_micros()) as usize;
    assert!((LIMIT..=LIMIT + refilled).contains(&admitted.len()), "{} admitted, {refilled} intervals passed", admitted.len());
    assert_eq!(error_code(limited).await, (429, true, "rateLimited".to_owned()));
    let (status, _, _) = error_code(p.send((admitted.len() + 1) % 2, &p.token, "/v1/events", &event(Uuid::now_v7())).await).await;
    assert_eq!(status, 429, "the other ingest refuses the token too");

    // The limit is the token's: another token is admitted by either ingest.
    let dev_events = [Uuid::now_v7(), Uuid::now_v7()];
    for (ingest, id) in dev_events.iter().enumerate() {
        assert_eq!(p.send(ingest, &p.stack.dev_token, "/v1/events", &event(*id)).await.status(), 202);
    }
    admitted.extend(dev_events);
    assert_eq!(p.stored_events().await, admitted, "exactly the admitted events are stored");
}

#[tokio::test]
async fn the_event_quota_holds_across_ingests_and_outlives_its_counters() {
    let p = Pipeline::start(&[], Some(5)).await;
    let ids: Vec<Uuid> = (0..8).map(|_| Uuid::now_v7()).collect();
    let batch = json!({"events": ids.iter().map(|id| event(*id)).collect::<Vec<_>>()});
    let result: Value = p.send(0, &p.token, "/v1/events:batch", &batch).await.json().await.unwrap();
    assert_eq!((result["accepted"].as_u64(), result["rejected"].as_u64()), (Some(5), Some(3)), "{result}");
    let over = error_code(p.send(1, &p.token, "/v1/events", &event(Uuid::now_v7())).await).await;
    assert_eq!(over, (429, true, "quotaExceeded".to_owned()), "the other ingest sees the same month's counter");

    assert_eq!(p.stored_events().await, ids[..5].iter().copied().collect(), "the first five of the batch are stored");
    let used: i64 = sqlx::query_scalar("SELECT used FROM quota_usage WHERE category = 'events'").fetch_one(&p.pool).await.unwrap();
    assert_eq!(used, 5, "the processor counted what it stored");

    // Valkey loses the counters (a restart without its append-only file):
    // ingest seeds them from what the processor counted, and still refuses.
    let mut valkey = p.stack.valkey().await;
    let pattern = format!("{}:quota:*", p.stack.namespace);
    let counters: Vec<String> = redis::cmd("KEYS").arg(&pattern).query_async(&mut valkey).await.unwrap();
    assert!(!counters.is_empty(), "the quota counters live under {pattern}");
    let _: () = redis::cmd("DEL").arg(&counters).query_async(&mut valkey).await.unwrap();
    for ingest in 0..2 {
        let over = error_code(p.send(ingest, &p.token, "/v1/events", &event(Uuid::now_v7())).await).await;
        assert_eq!(over, (429, true, "quotaExceeded".to_owned()), "ingest {ingest} after the counters were lost");
    }
    // The dev token is exempt.
    let exempt = Uuid::now_v7();
    assert_eq!(p.send(1, &p.stack.dev_token, "/v1/events", &event(exempt)).await.status(), 202);
    assert!(p.stored_events().await.contains(&exempt));
}

#[tokio::test]
async fn attachments_are_served_as_uploaded_within_one_daily_byte_budget_across_ingests() {
    let p = Pipeline::start(&[("SENTORI_ATTACHMENT_BYTES_DAILY", "100")], None).await;
    let id = Uuid::now_v7();
    let first = [7u8; 60];
    let response = p.upload(0, id, &first).await;
    assert_eq!(response.status(), 201);
    let kept = response.json::<Value>().await.unwrap()["refId"].as_str().expect("a refId").to_owned();
    // 60 + 50 bytes do not fit in 100, on the other ingest too; 60 + 40 do.
    assert_eq!(error_code(p.upload(1, id, &[8u8; 50]).await).await, (429, true, "quotaExceeded".to_owned()));
    let response = p.upload(1, id, &[9u8; 40]).await;
    assert_eq!(response.status(), 201);
    let second = response.json::<Value>().await.unwrap()["refId"].as_str().expect("a refId").to_owned();
    assert_eq!(error_code(p.upload(0, id, &[1u8]).await).await.0, 429, "the day's budget is spent");

    let mut sent = event(id);
    sent["attachments"] = json!([{"ref": kept, "kind": "screenshot"}, {"ref": second, "kind": "screenshot"}]);
    assert_eq!(p.send(1, &p.token, "/v1/events", &sent).await.status(), 202);
    let payload: Value = eventually("the event to be stored", PATIENCE, || async {
        sqlx::query_scalar("SELECT payload::jsonb FROM events WHERE id = $1").bind(id).fetch_optional(&p.pool).await.unwrap()
    })
    .await;
    assert_eq!(payload["attachments"].as_array().map(Vec::len), Some(2), "{payload}");

    let listed: Value = p.admin_get(&format!("/projects/{DEV_PROJECT_ID}/events/{id}/attachments")).await.json().await.unwrap();
    let sizes: Vec<(String, i64)> = listed
        .as_array()
        .expect("a list")
        .iter()
        .map(|a| (a["ref"].as_str().unwrap().to_owned(), a["sizeBytes"].as_i64().unwrap()))
        .collect();
    assert_eq!(sizes, vec![(kept.clone(), 60), (second.clone(), 40)], "the refused upload left no row");
    for (reference, bytes) in [(&kept, &first[..]), (&second, &[9u8; 40][..])] {
        let response = p.admin_get(&format!("/projects/{DEV_PROJECT_ID}/events/{id}/attachments/{reference}")).await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "image/png");
        assert_eq!(&response.bytes().await.unwrap()[..], bytes, "admin-api serves the bytes ingest stored");
    }
}
