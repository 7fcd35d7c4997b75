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

impl Harness {
    /// The entries on `stream`, decoded, oldest first.
    pub async fn queued(&self, stream: sentori_queue::Stream) -> Vec<sentori_queue::Envelope> {
        let client = redis::Client::open(self.stack.valkey_url.as_str()).unwrap();
        let mut conn = client.get_multiplexed_async_connection().await.unwrap();
        let key = sentori_queue::Keys::new(self.stack.namespace.clone()).stream(stream);
        let reply: redis::streams::StreamRangeReply =
            redis::cmd("XRANGE").arg(key).arg("-").arg("+").query_async(&mut conn).await.unwrap();
        reply.ids.iter().map(|e| sentori_queue::Envelope::decode(&e.get::<Vec<u8>>("envelope").unwrap()).unwrap()).collect()
    }

    /// The items queued on `stream`, each span of a packed entry on its own.
    pub async fn queued_items(&self, stream: sentori_queue::Stream) -> Vec<Value> {
        self.queued(stream).await.iter().flat_map(|e| e.items().unwrap()).collect()
    }

    /// A new public token of the dev project, labelled `label`.
    pub async fn public_token(&self, label: &str) -> String {
        let pool = self.stack.pool().await;
        let kind = sentori_protocol::TokenKind::Public;
        sentori_store::tokens::create_token(&pool, sentori_protocol::DEV_PROJECT_ID, kind, label).await.unwrap().1
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
