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
    let stack = TestStack::new().await;
    let dir = std::env::temp_dir().join(format!("sentori-attachments-{}", uuid::Uuid::new_v4().simple()));
    let mut env = stack.service_env();
    env.push(("SENTORI_ATTACHMENT_MAX_BYTES".into(), "65536".into()));
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
        let response = reqwest::Client::new()
            .post(format!("{}/v1/events/{event_id}/attachments/{kind}", self.base))
            .bearer_auth(&self.stack.dev_token)
            .multipart(form)
            .send()
            .await
            .unwrap();
        (response.status(), response.json().await.unwrap())
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
