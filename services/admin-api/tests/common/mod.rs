//! An in-process admin-api on a fresh database and Valkey namespace, and
//! helpers that seed rows the way the processor writes them.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::PathBuf;

use reqwest::{Method, RequestBuilder, Response};
use sentori_protocol::TokenKind;
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

/// An issue row as the processor writes it.
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

pub async fn insert_issue(pool: &PgPool, project_id: Uuid, seed: IssueSeed<'_>) -> Uuid {
    let id = Uuid::now_v7();
    let short: i64 = sqlx::query_scalar("UPDATE projects SET next_short_id = next_short_id + 1 WHERE id = $1 RETURNING next_short_id - 1")
        .bind(project_id)
        .fetch_one(pool)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO issues (project_id, id, short_id, fingerprint, components, title, culprit, type, kind, level, status,
                             event_count, user_count, first_seen, last_seen, first_release, last_release, last_environment)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, 'app@1.0.0', 'app@1.0.0', 'prod')",
    )
    .bind(project_id)
    .bind(id)
    .bind(short)
    .bind(format!("{:032x}", id.as_u128()))
    .bind(json!(["type:TypeError", "frame:submitOrder src/cart/checkout.ts"]))
    .bind(seed.title)
    .bind(seed.culprit)
    .bind(seed.r#type)
    .bind(seed.kind)
    .bind(seed.level)
    .bind(seed.status)
    .bind(seed.event_count)
    .bind(seed.user_count)
    .bind(seed.first_seen)
    .bind(seed.last_seen)
    .execute(pool)
    .await
    .unwrap();
    id
}

/// An event row of `issue_id` as the processor stores it, its columns
/// filled from `extra` merged into a default payload.
pub async fn insert_event(
    pool: &PgPool,
    project_id: Uuid,
    issue_id: Uuid,
    timestamp: OffsetDateTime,
    release: &str,
    environment: &str,
    extra: Value,
) -> Uuid {
    let id = Uuid::new_v4();
    let mut payload = json!({
        "id": id, "kind": "error", "platform": "javascript", "release": release, "environment": environment,
        "timestamp": timestamp.format(&time::format_description::well_known::Rfc3339).unwrap(),
        "device": {"os": "ios", "osVersion": "17.4", "model": "iPhone15,2"},
        "app": {"version": "1.0.0", "framework": {"name": "react-native", "version": "0.74"}},
        "error": {"type": "TypeError", "message": "x is undefined", "stack": []},
        "user": {"id": "user-1"},
    });
    if let (Some(map), Value::Object(extra)) = (payload.as_object_mut(), extra) {
        map.extend(extra);
    }
    let trace_id = payload["traceId"].as_str().and_then(|t| Uuid::parse_str(t).ok());
    let span_id = payload["spanId"].as_str().and_then(|t| Uuid::parse_str(t).ok());
    let received_at = OffsetDateTime::now_utc();
    sqlx::query(
        "INSERT INTO events (project_id, id, received_at, timestamp, issue_id, kind, level, platform, release, environment,
                             user_key, trace_id, span_id, sdk, title, os, os_version, device_model, runtime, payload)
         SELECT $1, $2, $3, $4, $5, 'error', 'error', 'javascript', $6, $7, 'user:' || (p->'user'->>'id'), $8, $9,
                'sentori-test/1', concat_ws(': ', p->'error'->>'type', p->'error'->>'message'), p->'device'->>'os',
                p->'device'->>'osVersion', p->'device'->>'model',
                concat_ws(' ', p->'app'->'framework'->>'name', p->'app'->'framework'->>'version'), p
           FROM (SELECT $10::jsonb AS p) AS payload",
    )
    .bind(project_id)
    .bind(id)
    .bind(received_at)
    .bind(timestamp)
    .bind(issue_id)
    .bind(release)
    .bind(environment)
    .bind(trace_id)
    .bind(span_id)
    .bind(&payload)
    .execute(pool)
    .await
    .unwrap();
    sqlx::query("INSERT INTO event_ids (project_id, id, received_at) VALUES ($1, $2, $3)")
        .bind(project_id)
        .bind(id)
        .bind(received_at)
        .execute(pool)
        .await
        .unwrap();
    id
}

/// A trace summary row as the processor writes it: an `http.server` root
/// named `root_name` (none: its root has not arrived), two spans, of which
/// `failed_spans` failed.
pub async fn insert_trace(
    pool: &PgPool,
    project_id: Uuid,
    root_name: Option<&str>,
    started_at: OffsetDateTime,
    duration_ms: i64,
    failed_spans: i64,
) -> Uuid {
    let trace_id = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO traces (project_id, trace_id, root_op, root_name, started_at, ended_at, duration_ms, span_count,
                             error_count, status)
         VALUES ($1, $2, $3, $4, $5, $5 + $6 * interval '1 millisecond', $6, 2, $7, CASE WHEN $7 > 0 THEN 'error' ELSE 'ok' END)",
    )
    .bind(project_id)
    .bind(trace_id)
    .bind(root_name.map(|_| "http.server"))
    .bind(root_name)
    .bind(started_at)
    .bind(duration_ms)
    .bind(failed_spans)
    .execute(pool)
    .await
    .unwrap();
    trace_id
}
