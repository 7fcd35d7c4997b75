//! Ingest started in-process from its library, on a real Valkey and PostgreSQL.

#![allow(dead_code)]

use ingest::{Ingest, IngestConfig};
use sentori_testkit::TestStack;
use serde_json::{Value, json};

pub struct Harness {
    pub stack: TestStack,
    pub base: String,
    pub client: reqwest::Client,
    pub state: ingest::AppState,
    shutdown: sentori_runtime::Shutdown,
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

pub async fn start(extra: &[(&str, &str)]) -> Harness {
    let stack = TestStack::new().await;
    let mut env = stack.service_env();
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let config = IngestConfig::from_env(sentori_config::Env::from_pairs(env)).expect("valid config");
    let service = Ingest::start(config).await.expect("ingest starts");
    let state = service.state().clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let shutdown = sentori_runtime::Shutdown::new();
    tokio::spawn(service.serve_on(listener, shutdown.clone()));
    Harness { stack, base, client: reqwest::Client::new(), state, shutdown }
}

pub fn event() -> Value {
    json!({
        "id": uuid::Uuid::now_v7(),
        "timestamp": "2026-11-26T10:00:00Z",
        "kind": "error",
        "platform": "javascript",
        "release": "app@1.0.0",
        "environment": "prod",
        "device": {"os": "web", "osVersion": "1"},
        "app": {"version": "1.0.0"},
        "error": {"type": "TypeError", "message": "boom", "stack": [{"file": "a.js", "line": 1}]}
    })
}
