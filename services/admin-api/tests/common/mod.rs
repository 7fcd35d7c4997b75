//! An in-process admin-api on a fresh database and Valkey namespace, and
//! helpers that seed events and issues through the processor's own code.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::PathBuf;

use reqwest::{Method, RequestBuilder, Response};
use sentori_protocol::TokenKind;
use sentori_queue::{Envelope, ItemKind};
use sentori_testkit::TestStack;
use serde_json::{Value, json};
use sqlx::PgPool;
use time::OffsetDateTime;
use uuid::Uuid;

pub const PASSWORD: &str = "test-password";

pub struct Api {
    pub stack: TestStack,
    pub addr: SocketAddr,
    pub pool: PgPool,
    pub client: reqwest::Client,
    pub attachment_dir: PathBuf,
    env: Vec<(String, String)>,
    shutdown: sentori_runtime::Shutdown,
}

/// An admin-api with `env` overridden by `extra`, serving on a free loopback port.
async fn serve(env: &[(String, String)], extra: &[(&str, &str)]) -> (SocketAddr, sentori_runtime::Shutdown) {
    let mut env = env.to_vec();
    for (k, v) in extra {
        env.retain(|(name, _)| name != k);
        env.push((k.to_string(), v.to_string()));
    }
    let config = admin_api::AdminConfig::from_env(sentori_config::Env::from_pairs(env)).expect("valid config");
    let service = admin_api::AdminApi::start(config).await.expect("admin-api starts");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let shutdown = sentori_runtime::Shutdown::new();
    let router = service.router();
    let token = shutdown.clone();
    tokio::spawn(async move { sentori_runtime::serve_on(listener, router, token).await });
    (addr, shutdown)
}

impl Drop for Api {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// An operator session: the cookie and its CSRF token.
#[derive(Clone)]
pub struct Session {
    pub cookie: String,
    pub csrf: String,
}

impl Api {
    pub async fn start() -> Self {
        Self::start_with(&[]).await
    }

    pub async fn start_with(extra: &[(&str, &str)]) -> Self {
        let stack = TestStack::new().await;
        let dir = std::env::temp_dir().join(format!("sentori-admin-test-{}", Uuid::new_v4().simple()));
        let attachment_dir = dir.join("attachments");
        std::fs::create_dir_all(&attachment_dir).unwrap();
        let mut env = stack.service_env();
        env.push(("SENTORI_ADMIN_API_ADDR".into(), "127.0.0.1:0".into()));
        env.push(("SENTORI_DATA_DIR".into(), dir.join("data").display().to_string()));
        env.push(("SENTORI_ATTACHMENT_DIR".into(), attachment_dir.display().to_string()));
        env.push(("SENTORI_PUBLIC_URL".into(), "http://sentori.test:8000".into()));
        let (addr, shutdown) = serve(&env, extra).await;
        let pool = stack.pool().await;
        Self { stack, addr, pool, client: reqwest::Client::new(), attachment_dir, env, shutdown }
    }

    /// Stops this admin-api and starts another on the same database and
    /// Valkey with `extra` settings, as an operator restarting it would.
    pub async fn restart_with(&mut self, extra: &[(&str, &str)]) {
        self.shutdown.cancel();
        (self.addr, self.shutdown) = serve(&self.env, extra).await;
    }

    /// `SENTORI_DATA_DIR`: artifacts and sentry-cli's chunks live under it.
    pub fn data_dir(&self) -> PathBuf {
        self.attachment_dir.parent().expect("the test's own directory").join("data")
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}/admin/api{path}", self.addr)
    }

    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.client.request(method, self.url(path))
    }

    pub fn get(&self, path: &str) -> RequestBuilder {
        self.request(Method::GET, path)
    }

    /// Logs in as the operator.
    pub async fn login(&self) -> Session {
        let response = self.get_login(PASSWORD, None).await;
        assert_eq!(response.status(), 200);
        session_of(response).await
    }

    pub async fn get_login(&self, password: &str, real_ip: Option<&str>) -> Response {
        let mut request = self.request(Method::POST, "/login").json(&json!({ "password": password }));
        if let Some(ip) = real_ip {
            request = request.header("X-Real-IP", ip);
        }
        request.send().await.unwrap()
    }

    pub async fn project(&self, name: &str) -> Uuid {
        let id = Uuid::now_v7();
        sqlx::query("INSERT INTO projects (id, org_id, name, platform) VALUES ($1, $2, $3, 'javascript')")
            .bind(id)
            .bind(sentori_protocol::DEV_ORG_ID)
            .bind(name)
            .execute(&self.pool)
            .await
            .unwrap();
        id
    }

    pub async fn token(&self, project_id: Uuid, kind: TokenKind) -> String {
        sentori_store::tokens::create_token(&self.pool, project_id, kind, "test").await.unwrap().1
    }
}

pub async fn session_of(response: Response) -> Session {
    let cookie = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("sentori_session=") || v.starts_with("__Host-sentori_session="))
        .expect("a session cookie")
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let body: Value = response.json().await.unwrap();
    Session { cookie, csrf: body["csrfToken"].as_str().unwrap().to_owned() }
}

pub trait Auth {
    fn operator(self, session: &Session) -> Self;
    fn cookie_only(self, session: &Session) -> Self;
}

impl Auth for RequestBuilder {
    /// The cookie and the CSRF header, as the dashboard sends them.
    fn operator(self, session: &Session) -> Self {
        self.header("Cookie", &session.cookie).header("X-Sentori-Csrf", &session.csrf)
    }

    fn cookie_only(self, session: &Session) -> Self {
        self.header("Cookie", &session.cookie)
    }
}

pub async fn json(response: Response) -> (u16, Value, reqwest::header::HeaderMap) {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or_else(|_| panic!("a JSON body, got {status}: {text:?}"));
    (status, body, headers)
}

/// An issue as a test states it: what the processor makes of an event with
/// this title, culprit, type, kind and level, with the test's own status,
/// counts and times.
pub struct IssueSeed<'a> {
    pub title: &'a str,
    pub culprit: Option<&'a str>,
    pub r#type: Option<&'a str>,
    pub kind: &'a str,
    pub level: &'a str,
    pub status: &'a str,
    pub event_count: i64,
    pub user_count: i64,
    pub first_seen: OffsetDateTime,
    pub last_seen: OffsetDateTime,
}

impl Default for IssueSeed<'_> {
    fn default() -> Self {
        let now = OffsetDateTime::now_utc();
        Self {
            title: "TypeError: x is undefined",
            culprit: Some("submitOrder (src/cart/checkout.ts)"),
            r#type: Some("TypeError"),
            kind: "error",
            level: "error",
            status: "active",
            event_count: 1,
            user_count: 1,
            first_seen: now,
            last_seen: now,
        }
    }
}

/// Stores `items` (kind and payload, as ingest validated them) of
/// `project_id` through the processor's handlers, as if ingest had queued
/// them now with the SDK header `sentori-test/1`.
pub async fn process(pool: &PgPool, project_id: Uuid, items: &[(ItemKind, Value)]) {
    let org_id: Uuid = sqlx::query_scalar("SELECT org_id FROM projects WHERE id = $1").bind(project_id).fetch_one(pool).await.unwrap();
    let now = OffsetDateTime::now_utc();
    let envelopes: Vec<Envelope> = items
        .iter()
        .map(|(kind, payload)| {
            Envelope::new(*kind, project_id, org_id, now).with_payload(payload.clone()).with_sdk(Some("sentori-test/1".into()))
        })
        .collect();
    processor::seed::store(pool, &envelopes).await.expect("the processor stores what ingest queued");
}

/// A span as ingest queues it.
pub fn span(id: Uuid, trace_id: Uuid, parent: Option<Uuid>, op: &str, started_at: OffsetDateTime, duration_ms: i64, status: &str) -> Value {
    json!({
        "id": id, "traceId": trace_id, "parentSpanId": parent, "op": op, "name": "GET /checkout",
        "startedAt": rfc3339(started_at), "durationMs": duration_ms, "status": status,
    })
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339).unwrap()
}

/// The event payload the seeds start from: a TypeError on an iPhone.
fn event_payload(id: Uuid, timestamp: OffsetDateTime, release: &str, environment: &str) -> Value {
    json!({
        "id": id, "kind": "error", "level": "error", "platform": "javascript", "release": release, "environment": environment,
        "timestamp": rfc3339(timestamp),
        "device": {"os": "ios", "osVersion": "17.4", "model": "iPhone15,2"},
        "app": {"version": "1.0.0", "framework": {"name": "react-native", "version": "0.74"}},
        "error": {"type": "TypeError", "message": "x is undefined", "stack": []},
        "user": {"id": "user-1"},
    })
}

/// Stores `payload` through the processor; returns the issue it was filed under.
async fn process_event(pool: &PgPool, project_id: Uuid, payload: Value) -> Uuid {
    let id = payload["id"].clone();
    process(pool, project_id, &[(ItemKind::Event, payload)]).await;
    sqlx::query_scalar("SELECT issue_id FROM events WHERE project_id = $1 AND id = $2::uuid")
        .bind(project_id)
        .bind(id.as_str())
        .fetch_one(pool)
        .await
        .unwrap()
}

/// An issue the processor made from one event of `seed` (in release
/// app@1.0.0), whose own event is then taken away (the test adds the events
/// it wants) and whose status, counts and times are set to the seed's. A fingerprint of its own keeps it
/// apart from issues of the same error.
pub async fn insert_issue(pool: &PgPool, project_id: Uuid, seed: IssueSeed<'_>) -> Uuid {
    let error_type = seed.r#type.unwrap_or("Error");
    let message = seed.title.strip_prefix(&format!("{error_type}: ")).unwrap_or(seed.title);
    // A culprit is `function (file)`, from the top in-app frame.
    let stack: Vec<Value> = seed
        .culprit
        .and_then(|c| c.strip_suffix(')')?.split_once(" ("))
        .map(|(function, file)| json!({"function": function, "file": file, "line": 1, "inApp": true}))
        .into_iter()
        .collect();
    let id = Uuid::new_v4();
    let mut payload = event_payload(id, seed.last_seen, "app@1.0.0", "prod");
    payload["kind"] = json!(seed.kind);
    payload["level"] = json!(seed.level);
    payload["error"] = json!({"type": error_type, "message": message, "stack": stack});
    payload["fingerprint"] = json!(["{{ default }}", format!("seed:{}", Uuid::new_v4())]);
    let issue = process_event(pool, project_id, payload).await;
    // Everything the processor wrote for this one event: its rows, and what
    // it added to the issue's and the release's counts (the issue's are set
    // below). A table the processor starts writing per event shows here as
    // a count one too high, not as a test passing on missing rows.
    let (timestamp, received_at): (OffsetDateTime, OffsetDateTime) =
        sqlx::query_as("SELECT timestamp, received_at FROM events WHERE project_id = $1 AND id = $2")
            .bind(project_id)
            .bind(id)
            .fetch_one(pool)
            .await
            .unwrap();
    sqlx::query("UPDATE release_hourly SET events = events - 1 WHERE project_id = $1 AND release_id = $2 AND hour = $3")
        .bind(project_id)
        .bind(sentori_protocol::release_id(project_id, "app@1.0.0"))
        .bind(processor::seed::counted_hour(timestamp, received_at))
        .execute(pool)
        .await
        .unwrap();
    for table in ["events", "event_ids"] {
        sqlx::query(&format!("DELETE FROM {table} WHERE project_id = $1 AND id = $2")).bind(project_id).bind(id).execute(pool).await.unwrap();
    }
    sqlx::query("DELETE FROM issue_activity WHERE project_id = $1 AND kind = 'firstSeen' AND data->>'eventId' = $2")
        .bind(project_id)
        .bind(id.to_string())
        .execute(pool)
        .await
        .unwrap();
    for table in ["issue_hourly", "issue_users"] {
        sqlx::query(&format!("DELETE FROM {table} WHERE project_id = $1 AND issue_id = $2"))
            .bind(project_id)
            .bind(issue)
            .execute(pool)
            .await
            .unwrap();
    }
    sqlx::query(
        "UPDATE issues SET status = $3, event_count = $4, user_count = $5, first_seen = $6, last_seen = $7
          WHERE project_id = $1 AND id = $2",
    )
    .bind(project_id)
    .bind(issue)
    .bind(seed.status)
    .bind(seed.event_count)
    .bind(seed.user_count)
    .bind(seed.first_seen)
    .bind(seed.last_seen)
    .execute(pool)
    .await
    .unwrap();
    issue
}

/// An event of `issue_id` stored by the processor: a default payload with
/// `extra` merged in, carrying the issue's grouping components as its
/// fingerprint so the processor files it under that issue (and counts it
/// there, as it would).
pub async fn insert_event(
    pool: &PgPool,
    project_id: Uuid,
    issue_id: Uuid,
    timestamp: OffsetDateTime,
    release: &str,
    environment: &str,
    extra: Value,
) -> Uuid {
    let components: Value = sqlx::query_scalar("SELECT components::jsonb FROM issues WHERE project_id = $1 AND id = $2")
        .bind(project_id)
        .bind(issue_id)
        .fetch_one(pool)
        .await
        .unwrap();
    let id = Uuid::new_v4();
    let mut payload = event_payload(id, timestamp, release, environment);
    if let (Some(map), Value::Object(extra)) = (payload.as_object_mut(), extra) {
        map.extend(extra);
    }
    payload["fingerprint"] = components;
    let stored = process_event(pool, project_id, payload).await;
    assert_eq!(stored, issue_id, "the processor filed the event under the issue whose fingerprint it carries");
    id
}

/// A trace as the processor summarises it from its spans: an `http.server`
/// root named `root_name` lasting `duration_ms` (none: its root has not
/// arrived), and under it one child span, or `failed_spans` children that
/// failed.
pub async fn insert_trace(
    pool: &PgPool,
    project_id: Uuid,
    root_name: Option<&str>,
    started_at: OffsetDateTime,
    duration_ms: i64,
    failed_spans: i64,
) -> Uuid {
    let trace_id = Uuid::new_v4();
    let root_id = Uuid::new_v4();
    let mut spans = Vec::new();
    if let Some(name) = root_name {
        let mut root = span(root_id, trace_id, None, "http.server", started_at, duration_ms, "ok");
        root["name"] = json!(name);
        spans.push((ItemKind::Span, root));
    }
    for n in 0..failed_spans.max(1) {
        let status = if n < failed_spans { "error" } else { "ok" };
        spans.push((ItemKind::Span, span(Uuid::new_v4(), trace_id, Some(root_id), "db", started_at, 1, status)));
    }
    process(pool, project_id, &spans).await;
    trace_id
}
