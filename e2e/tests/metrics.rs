//! Prometheus metrics at `/metrics` on every service.

use std::time::Duration;

use sentori_testkit::{ServiceProcess, TestStack, eventually};
use serde_json::json;

async fn scrape(client: &reqwest::Client, service: &ServiceProcess) -> String {
    let response = client.get(service.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), 200, "{} serves /metrics", service.name);
    response.text().await.unwrap()
}

#[tokio::test]
async fn requests_batches_and_streams_are_measured() {
    let stack = TestStack::new().await;
    let env = stack.service_env();
    let ingest = ServiceProcess::start("ingest", "SENTORI_INGEST_ADDR", &env).await;
    let processor = ServiceProcess::start("processor", "SENTORI_PROCESSOR_ADDR", &env).await;
    let client = reqwest::Client::new();
    let event = json!({
        "id": uuid::Uuid::now_v7(), "timestamp": "2026-11-26T10:00:00Z", "kind": "error", "platform": "javascript",
        "release": "a@1", "environment": "prod", "device": {"os": "web", "osVersion": "1"}, "app": {"version": "1"},
        "error": {"type": "E", "message": "m"}
    });
    for _ in 0..3 {
        let response = client.post(ingest.url("/v1/events")).bearer_auth(&stack.dev_token).json(&event).send().await.unwrap();
        assert_eq!(response.status(), 202);
    }
    let response = client.post(ingest.url("/v1/events")).json(&event).send().await.unwrap();
    assert_eq!(response.status(), 401);

    let text = scrape(&client, &ingest).await;
    assert!(text.contains(r#"sentori_http_requests_total{service="ingest",route="/v1/events",status="202"} 3"#), "{text}");
    assert!(text.contains(r#"sentori_http_requests_total{service="ingest",route="/v1/events",status="401"} 1"#), "{text}");
    assert!(text.contains("sentori_http_request_duration_seconds_bucket"), "{text}");

    let admin = ServiceProcess::start("admin-api", "SENTORI_ADMIN_API_ADDR", &env).await;
    let url = admin.url(&format!("/admin/api/projects/{}/issues", sentori_protocol::DEV_PROJECT_ID));
    assert_eq!(client.get(url).bearer_auth(&stack.dev_token).send().await.unwrap().status(), 200);
    let text = scrape(&client, &admin).await;
    assert!(
        text.contains(r#"sentori_http_requests_total{service="admin-api",route="/admin/api/projects/{pid}/issues",status="200"} 1"#),
        "{text}"
    );
    for (bin, addr_var) in [("notifier", "SENTORI_NOTIFIER_ADDR"), ("retention", "SENTORI_RETENTION_ADDR")] {
        let service = ServiceProcess::start(bin, addr_var, &env).await;
        scrape(&client, &service).await;
    }

    eventually("the processor to report its batches and the stream depth", Duration::from_secs(30), || async {
        let text = scrape(&client, &processor).await;
        (text.contains(r#"sentori_batch_size_count{stream="events"}"#) && text.contains(r#"sentori_stream_length{stream="events"} 0"#))
            .then_some(())
    })
    .await;
}
