//! Attachments end to end: uploaded through ingest, referenced by an event,
//! and only the event's own uploads kept on it.

use std::time::Duration;

use reqwest::multipart::{Form, Part};
use sentori_testkit::{ServiceProcess, TestStack, eventually};
use serde_json::{Value, json};

async fn upload(client: &reqwest::Client, ingest: &ServiceProcess, token: &str, event_id: uuid::Uuid, bytes: &[u8]) -> String {
    let form = Form::new().part("file", Part::bytes(bytes.to_vec()).file_name("s.png").mime_str("image/png").unwrap());
    let response = client
        .post(ingest.url(&format!("/v1/events/{event_id}/attachments/screenshot")))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    response.json::<Value>().await.unwrap()["refId"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn an_event_keeps_only_its_own_attachment_refs() {
    let stack = TestStack::new().await;
    let dir = std::env::temp_dir().join(format!("sentori-e2e-attachments-{}", uuid::Uuid::new_v4().simple()));
    let mut env = stack.service_env();
    env.push(("SENTORI_ATTACHMENT_DIR".into(), dir.display().to_string()));
    let ingest = ServiceProcess::start("ingest", "SENTORI_INGEST_ADDR", &env).await;
    let _processor = ServiceProcess::start("processor", "SENTORI_PROCESSOR_ADDR", &env).await;
    let client = reqwest::Client::new();

    let (event, other) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
    let own = upload(&client, &ingest, &stack.dev_token, event, b"own screenshot").await;
    let foreign = upload(&client, &ingest, &stack.dev_token, other, b"someone else's screenshot").await;
    let body = json!({
        "id": event, "timestamp": "2026-11-26T10:00:00Z", "kind": "error", "platform": "android",
        "release": "a@1", "environment": "prod", "device": {"os": "android", "osVersion": "14"}, "app": {"version": "1"},
        "error": {"type": "IllegalStateException", "message": "boom"},
        // Trimmed at ingest: its `_meta` entry must survive the processor's.
        "message": "m".repeat(9000),
        "attachments": [
            {"ref": own, "kind": "screenshot"},
            {"ref": foreign, "kind": "screenshot"},
            {"ref": "not-a-ref", "kind": "screenshot"}
        ]
    });
    let response = client.post(ingest.url("/v1/events")).bearer_auth(&stack.dev_token).json(&body).send().await.unwrap();
    assert_eq!(response.status(), 202);

    let pool = stack.pool().await;
    let payload: Value = eventually("the event to be stored", Duration::from_secs(30), || async {
        sqlx::query_scalar::<_, Value>("SELECT payload FROM events WHERE id = $1").bind(event).fetch_optional(&pool).await.ok().flatten()
    })
    .await;
    let refs: Vec<&str> = payload["attachments"].as_array().unwrap().iter().map(|a| a["ref"].as_str().unwrap()).collect();
    assert_eq!(refs, vec![own.as_str()]);
    assert_eq!(payload["_meta"]["attachments"], json!({"droppedRefs": 2}));
    assert_eq!(payload["_meta"]["message"], json!({"originalLength": 9000}), "{}", payload["_meta"]);
    let _ = std::fs::remove_dir_all(dir);
}
