//! What several end-to-end tests start alike; each test adds its own
//! methods to [`Services`] in its own `impl` block.

#![allow(dead_code)]

use sentori_testkit::{ServiceProcess, TestStack};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

/// Ingest, processor and admin-api on one fresh stack, sharing a data
/// directory: source maps admin-api stores are read by the processor.
pub struct Services {
    pub stack: TestStack,
    pub ingest: ServiceProcess,
    pub _processor: ServiceProcess,
    pub admin: ServiceProcess,
    pub data_dir: tempfile::TempDir,
    pub client: reqwest::Client,
}

impl Services {
    /// Admin-api also gets `extra_admin_env`.
    pub async fn start(extra_admin_env: &[(&str, &str)]) -> Self {
        let stack = TestStack::new().await;
        let data_dir = tempfile::tempdir().expect("a data directory");
        let admin_env: Vec<(String, String)> = extra_admin_env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        let [ingest, processor, admin] = stack.start_pipeline(data_dir.path(), &admin_env).await;
        Self { stack, ingest, _processor: processor, admin, data_dir, client: reqwest::Client::new() }
    }
}

/// An error event of `error_type` in `release`, happening now: its issue is
/// told apart by the type (the in-app frame is the same for all).
pub fn error_event(error_type: &str, release: &str) -> Value {
    json!({
        "id": Uuid::now_v7(),
        "timestamp": OffsetDateTime::now_utc().format(&Rfc3339).unwrap(),
        "kind": "error",
        "platform": "javascript",
        "release": release,
        "environment": "prod",
        "device": {"os": "web", "osVersion": "120"},
        "app": {"version": "1"},
        "error": {
            "type": error_type,
            "message": "the total is undefined",
            "stack": [{"file": "https://shop.example/assets/cart.js", "line": 12, "column": 4, "function": "sum", "inApp": true}]
        }
    })
}
