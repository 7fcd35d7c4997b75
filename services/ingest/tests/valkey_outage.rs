//! Valkey stops under load: ingest answers 503 and never a 202 for
//! something that was not queued. Counted: every id answered 202 is in the
//! stream after Valkey comes back.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ingest::{Ingest, IngestConfig};
use sentori_queue::{Envelope, Keys, Stream};
use sentori_testkit::{TestStack, ValkeyServer, eventually};
use serde_json::json;

fn event(id: uuid::Uuid) -> serde_json::Value {
    json!({
        "id": id, "timestamp": "2026-11-26T10:00:00Z", "kind": "error", "platform": "javascript",
        "release": "app@1", "environment": "prod", "device": {"os": "web", "osVersion": "1"},
        "app": {"version": "1"}, "error": {"type": "E", "message": "m"}
    })
}

#[tokio::test]
async fn every_202_is_in_the_stream_when_valkey_stops_under_load() {
    let stack = TestStack::new().await;
    // A Valkey of this test's own, so it can be stopped without disturbing other tests.
    let mut valkey = ValkeyServer::start();
    valkey.wait_ready().await;

    let mut env = stack.service_env();
    env.retain(|(k, _)| k != "SENTORI_VALKEY_URL");
    env.push(("SENTORI_VALKEY_URL".into(), valkey.url()));
    let service = Ingest::start(IngestConfig::from_env(sentori_config::Env::from_pairs(env)).unwrap()).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/v1/events", listener.local_addr().unwrap());
    let shutdown = sentori_runtime::Shutdown::new();
    tokio::spawn(service.serve_on(listener, shutdown.clone()));

    // Four clients send unique events until told to stop, recording every answer.
    let answers: Arc<Mutex<Vec<(uuid::Uuid, u16)>>> = Arc::default();
    let stop = sentori_runtime::Shutdown::new();
    let clients: Vec<_> = (0..4)
        .map(|_| {
            let (answers, stop, url, token) = (answers.clone(), stop.clone(), url.clone(), stack.dev_token.clone());
            tokio::spawn(async move {
                let client = reqwest::Client::builder().timeout(Duration::from_secs(20)).build().unwrap();
                while !stop.is_cancelled() {
                    let id = uuid::Uuid::now_v7();
                    let status = match client.post(&url).bearer_auth(&token).json(&event(id)).send().await {
                        Ok(response) => response.status().as_u16(),
                        Err(_) => 0,
                    };
                    answers.lock().unwrap().push((id, status));
                }
            })
        })
        .collect();

    let count = |status: u16| answers.lock().unwrap().iter().filter(|(_, s)| *s == status).count();
    eventually("some events to be accepted", Duration::from_secs(30), || async { (count(202) >= 200).then_some(()) }).await;
    valkey.stop();
    eventually("ingest to answer 503 while Valkey is down", Duration::from_secs(30), || async { (count(503) >= 20).then_some(()) })
        .await;
    stop.cancel();
    for client in clients {
        client.await.unwrap();
    }
    shutdown.cancel();

    let answers = answers.lock().unwrap().clone();
    let unexpected: Vec<u16> = answers.iter().map(|(_, s)| *s).filter(|s| *s != 202 && *s != 503).collect();
    assert!(unexpected.is_empty(), "only 202 and 503 are valid answers here, got {unexpected:?}");

    valkey.restart();
    valkey.wait_ready().await;
    let mut conn = valkey.connect().await;
    let key = Keys::new(stack.namespace.clone()).stream(Stream::Events);
    let reply: redis::streams::StreamRangeReply = redis::cmd("XRANGE").arg(key).arg("-").arg("+").query_async(&mut conn).await.unwrap();
    let queued: HashSet<String> = reply
        .ids
        .iter()
        .map(|e| Envelope::decode(&e.get::<Vec<u8>>("envelope").unwrap()).unwrap().payload.value().unwrap()["id"].as_str().unwrap().to_owned())
        .collect();
    let accepted: Vec<String> = answers.iter().filter(|(_, s)| *s == 202).map(|(id, _)| id.to_string()).collect();
    let missing: Vec<&String> = accepted.iter().filter(|id| !queued.contains(*id)).collect();
    assert!(missing.is_empty(), "{} of {} accepted events are not in the stream: {missing:?}", missing.len(), accepted.len());
    assert!(queued.len() >= accepted.len());
    valkey.stop();
}
