//! Attachment uploads (protocol.md, "Attachment upload").

use ingest::{Ingest, IngestConfig};
use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use sentori_testkit::TestStack;
use serde_json::Value;

struct Harness {
    stack: TestStack,
    base: String,
    dir: std::path::PathBuf,
    shutdown: sentori_runtime::Shutdown,
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.shutdown.cancel();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn start(with_storage: bool) -> Harness {
    start_with(with_storage, &[]).await
}

async fn start_with(with_storage: bool, extra: &[(&str, &str)]) -> Harness {
    let stack = TestStack::new().await;
    let dir = std::env::temp_dir().join(format!("sentori-attachments-{}", uuid::Uuid::new_v4().simple()));
    let mut env = stack.service_env();
    env.push(("SENTORI_ATTACHMENT_MAX_BYTES".into(), "65536".into()));
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    if with_storage {
        env.push(("SENTORI_ATTACHMENT_DIR".into(), dir.display().to_string()));
    }
    let service = Ingest::start(IngestConfig::from_env(sentori_config::Env::from_pairs(env)).unwrap()).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let shutdown = sentori_runtime::Shutdown::new();
    tokio::spawn(service.serve_on(listener, shutdown.clone()));
    Harness { stack, base, dir, shutdown }
}

impl Harness {
    async fn upload(&self, event_id: &str, kind: &str, form: Form) -> (StatusCode, Value) {
        let (status, _, body) = self.upload_as(&self.stack.dev_token, event_id, kind, form).await;
        (status, body)
    }

    async fn upload_as(
        &self,
        token: &str,
        event_id: &str,
        kind: &str,
        form: Form,
    ) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        let response = reqwest::Client::new()
            .post(format!("{}/v1/events/{event_id}/attachments/{kind}", self.base))
            .bearer_auth(token)
            .multipart(form)
            .send()
            .await
            .unwrap();
        (response.status(), response.headers().clone(), response.json().await.unwrap())
    }
}

fn file(bytes: &[u8], media_type: &str) -> Form {
    Form::new().part("file", Part::bytes(bytes.to_vec()).file_name("shot.png").mime_str(media_type).unwrap())
}

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n not really an image, but bytes all the same";

#[tokio::test]
async fn an_upload_is_stored_once_by_content() {
    let h = start(true).await;
    let event_id = uuid::Uuid::now_v7().to_string();
    let form = file(PNG, "image/png").text("source", "android").text("capturedAt", "2026-11-26T10:00:00Z");
    let (status, first) = h.upload(&event_id, "screenshot", form).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    assert_eq!(first["sizeBytes"], PNG.len());
    assert_eq!(first["mediaType"], "image/png");
    assert_eq!(first["kind"], "screenshot");
    let (status, second) = h.upload(&event_id, "screenshot", file(PNG, "image/png")).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(second["refId"], first["refId"], "identical bytes, same event and kind: same ref");

    let pool = h.stack.pool().await;
    let rows: Vec<(String, String, Option<String>)> = sqlx::query_as("SELECT id::text, sha256, source FROM attachments").fetch_all(&pool).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].0, first["refId"].as_str().unwrap());
    assert_eq!(rows[0].2.as_deref(), Some("android"));
    let sha = &rows[0].1;
    let blob = std::fs::read(h.dir.join(&sha[..2]).join(sha)).expect("the blob is stored under its hash");
    assert_eq!(blob, PNG);

    let (_, other_event) = h.upload(&uuid::Uuid::now_v7().to_string(), "screenshot", file(PNG, "image/png")).await;
    assert_ne!(other_event["refId"], first["refId"], "another event gets its own ref");
}

#[tokio::test]
async fn kinds_media_types_and_sizes_are_checked() {
    let h = start(true).await;
    let event_id = uuid::Uuid::now_v7().to_string();
    let (status, body) = h.upload(&event_id, "hologram", file(PNG, "image/png")).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalidKind")));

    let (status, body) = h.upload(&event_id, "screenshot", file(b"{}", "application/json")).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("unsupportedMediaType")));
    assert!(body["hint"].as_str().unwrap().contains("image/webp"), "{body}");

    let (status, _) = h.upload(&event_id, "logTail", file(b"line 1\nline 2", "text/plain; charset=utf-8")).await;
    assert_eq!(status, StatusCode::CREATED);

    let (status, body) = h.upload(&event_id, "replay", file(&vec![b'x'; 70_000], "application/x-ndjson")).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::PAYLOAD_TOO_LARGE, Some("payloadTooLarge")));

    let (status, body) = h.upload(&event_id, "screenshot", Form::new().text("source", "ios")).await;
    assert_eq!((status, body["details"][0]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("file")));

    let (status, body) = h.upload("not-a-uuid", "screenshot", file(PNG, "image/png")).await;
    assert_eq!((status, body["details"][0]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("eventId")));
}

#[tokio::test]
async fn without_storage_uploads_answer_attachments_disabled() {
    let h = start(false).await;
    let (status, body) = h.upload(&uuid::Uuid::now_v7().to_string(), "screenshot", file(PNG, "image/png")).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::SERVICE_UNAVAILABLE, Some("attachmentsDisabled")));
}

fn field_of(body: &Value) -> Option<&str> {
    body["details"][0]["field"].as_str()
}

#[tokio::test]
async fn text_parts_are_capped_and_named() {
    let h = start(true).await;
    let event_id = uuid::Uuid::now_v7().to_string();
    let long = "a".repeat(257);
    let (status, body) = h
        .upload(&event_id, "screenshot", file(PNG, "image/png").text("source", long.clone()))
        .await;
    assert_eq!((status, field_of(&body)), (StatusCode::BAD_REQUEST, Some("source")), "{body}");
    assert!(body["details"][0]["message"].as_str().unwrap().contains("256"), "{body}");
    let (status, body) = h
        .upload(&event_id, "screenshot", file(PNG, "image/png").text("capturedAt", long.clone()))
        .await;
    assert_eq!((status, field_of(&body)), (StatusCode::BAD_REQUEST, Some("capturedAt")), "{body}");
    let (status, body) = h.upload(&event_id, "screenshot", file(PNG, "image/png").text("note", long)).await;
    assert_eq!((status, field_of(&body)), (StatusCode::BAD_REQUEST, Some("note")), "an unknown part is capped too: {body}");
    let (status, _) = h
        .upload(&event_id, "screenshot", file(PNG, "image/png").text("note", "a".repeat(256)))
        .await;
    assert_eq!(status, StatusCode::CREATED, "256 bytes are fine");
}

#[tokio::test]
async fn exactly_one_file_part() {
    let h = start(true).await;
    let form = file(PNG, "image/png").part("file", Part::bytes(PNG.to_vec()).file_name("b.png").mime_str("image/png").unwrap());
    let (status, body) = h.upload(&uuid::Uuid::now_v7().to_string(), "screenshot", form).await;
    assert_eq!((status, field_of(&body)), (StatusCode::BAD_REQUEST, Some("file")), "{body}");
    assert!(body["details"][0]["message"].as_str().unwrap().contains("one file"), "{body}");
}

#[tokio::test]
async fn the_body_is_at_most_the_file_cap_plus_a_little() {
    let h = start(true).await;
    // Small parts, each within its own cap, that add up past 64 KiB + 16 KiB.
    let form = (0..500).fold(file(PNG, "image/png"), |form, i| form.text(format!("extra{i}"), "x".repeat(200)));
    let (status, body) = h.upload(&uuid::Uuid::now_v7().to_string(), "screenshot", form).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::PAYLOAD_TOO_LARGE, Some("payloadTooLarge")), "{body}");
    let limit = (65536 + 16 * 1024).to_string();
    assert!(body["message"].as_str().unwrap().contains(&limit), "{body}");
}

#[tokio::test]
async fn an_event_holds_at_most_20_attachments_and_4_files_worth_of_bytes() {
    let h = start(true).await;
    let event_id = uuid::Uuid::now_v7().to_string();
    let mut first = None;
    for i in 0..20 {
        let (status, body) = h.upload(&event_id, "logTail", file(format!("line {i}").as_bytes(), "text/plain")).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        first.get_or_insert(body["refId"].clone());
    }
    let (status, body) = h.upload(&event_id, "logTail", file(b"line 20", "text/plain")).await;
    assert_eq!((status, field_of(&body)), (StatusCode::BAD_REQUEST, Some("eventId")), "{body}");
    assert!(body["details"][0]["message"].as_str().unwrap().contains("20"), "{body}");
    let (status, body) = h.upload(&event_id, "logTail", file(b"line 0", "text/plain")).await;
    assert_eq!(
        (status, &body["refId"]),
        (StatusCode::CREATED, first.as_ref().unwrap()),
        "a retry of a stored one still succeeds"
    );

    let event_id = uuid::Uuid::now_v7().to_string();
    for i in 0..4u8 {
        let (status, body) = h.upload(&event_id, "replay", file(&vec![b'a' + i; 60_000], "application/x-ndjson")).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let (status, body) = h.upload(&event_id, "replay", file(&vec![b'z'; 30_000], "application/x-ndjson")).await;
    assert_eq!((status, field_of(&body)), (StatusCode::BAD_REQUEST, Some("eventId")), "4 x 64 KiB per event: {body}");
    let pool = h.stack.pool().await;
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM attachments WHERE event_id = $1::uuid")
        .bind(&event_id)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(stored, 4);
}

#[tokio::test]
async fn a_project_has_a_daily_attachment_byte_quota() {
    let h = start_with(true, &[("SENTORI_ATTACHMENT_BYTES_DAILY", "100")]).await;
    let pool = h.stack.pool().await;
    let project = sentori_protocol::DEV_PROJECT_ID;
    let (_, token) = sentori_store::tokens::create_token(&pool, project, sentori_protocol::TokenKind::Public, "sdk")
        .await
        .unwrap();
    let event_id = uuid::Uuid::now_v7().to_string();
    let (status, _, body) = h.upload_as(&token, &event_id, "logTail", file(&[b'a'; 60], "text/plain")).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, _, body) = h.upload_as(&token, &event_id, "logTail", file(&[b'a'; 60], "text/plain")).await;
    assert_eq!(status, StatusCode::CREATED, "a retry of stored bytes is not charged again: {body}");
    let (status, headers, body) = h.upload_as(&token, &event_id, "logTail", file(&[b'b'; 60], "text/plain")).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::TOO_MANY_REQUESTS, Some("quotaExceeded")), "{body}");
    let tomorrow = (time::OffsetDateTime::now_utc().date() + time::Duration::DAY).midnight().assume_utc();
    let reset_at =
        time::OffsetDateTime::parse(body["resetAt"].as_str().unwrap(), &time::format_description::well_known::Rfc3339).unwrap();
    assert_eq!(reset_at, tomorrow, "{body}");
    assert!(headers.contains_key("retry-after"));
    let (status, _, body) = h.upload_as(&token, &event_id, "logTail", file(&[b'c'; 40], "text/plain")).await;
    assert_eq!(status, StatusCode::CREATED, "what is left can still be used: {body}");
    let (status, _) = h.upload(&event_id, "logTail", file(&[b'd'; 60], "text/plain")).await;
    assert_eq!(status, StatusCode::CREATED, "the dev token is exempt from quotas");
}
