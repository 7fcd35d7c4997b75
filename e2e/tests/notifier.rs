//! New issues end to end: SDK → ingest → processor (outbox → notify stream)
//! → notifier → a real SMTP server (`e2e/smtp_sink.py`, which stores every
//! message it accepts as a JSON file).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};
use sentori_protocol::DEV_PROJECT_ID;
use sentori_queue::Stream;
use sentori_testkit::{ServiceProcess, TestStack, eventually, free_addr};
use sqlx::PgPool;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

struct Sink(Child);

impl Sink {
    fn start(port: u16, dir: &Path) -> Self {
        let python = workspace().join(".stack/venv/bin/python");
        let mut child = Command::new(&python)
            .arg(workspace().join("e2e/smtp_sink.py"))
            .args(["--port", &port.to_string(), "--dir"])
            .arg(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("starting the SMTP sink with {}: {e}", python.display()));
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        assert_eq!(line.trim(), "ready");
        Self(child)
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn mails(dir: &Path) -> Vec<Value> {
    let mut names: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    names.sort();
    names.iter().map(|p| serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()).collect()
}

fn event(error_type: &str) -> Value {
    json!({
        "id": uuid::Uuid::now_v7(),
        "timestamp": "2026-11-26T10:00:00.000Z",
        "kind": "error",
        "platform": "javascript",
        "release": "shop@2.0.0",
        "environment": "staging",
        "device": {"os": "web", "osVersion": "120"},
        "app": {"version": "2.0.0"},
        "error": {
            "type": error_type,
            "message": "x is <undefined>",
            "stack": [{"file": "https://shop.example/assets/app.js", "line": 3, "column": 1, "function": "boot", "inApp": true}]
        }
    })
}

/// Waits until the pipeline has nothing left that could still send mail:
/// every event handled, every announcement published from the outbox and
/// handled by the notifier (each acknowledged after its mail was accepted),
/// and none held back for a digest.
async fn settled(stack: &TestStack, pool: &PgPool) {
    const PATIENCE: Duration = Duration::from_secs(60);
    stack.wait_drained(Stream::Events, PATIENCE).await;
    eventually("the announcement outbox to empty", PATIENCE, || async {
        let unpublished: i64 = sqlx::query_scalar("SELECT count(*) FROM announcements").fetch_one(pool).await.unwrap();
        (unpublished == 0).then_some(())
    })
    .await;
    stack.wait_drained(Stream::Notify, PATIENCE).await;
    let held: i64 = sqlx::query_scalar("SELECT count(*) FROM notify_digest_items").fetch_one(pool).await.unwrap();
    assert_eq!(held, 0, "no issue is held back for a digest");
}

#[tokio::test]
async fn a_new_issue_from_an_sdk_event_is_emailed_once() {
    let stack = TestStack::new().await;
    let pool = stack.pool().await;
    sqlx::query("INSERT INTO recipients (project_id, id, email) VALUES ($1, $2, 'oncall@example.com')")
        .bind(DEV_PROJECT_ID)
        .bind(uuid::Uuid::now_v7())
        .execute(&pool)
        .await
        .unwrap();
    let dir = std::env::temp_dir().join(format!("sentori-e2e-mails-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let smtp_port = free_addr().port();
    let _sink = Sink::start(smtp_port, &dir);

    let mut env = stack.service_env();
    env.extend([
        ("SENTORI_SMTP_HOST".to_owned(), "127.0.0.1".to_owned()),
        ("SENTORI_SMTP_PORT".to_owned(), smtp_port.to_string()),
        ("SENTORI_SMTP_TLS".to_owned(), "none".to_owned()),
        ("SENTORI_PUBLIC_URL".to_owned(), "https://errors.example".to_owned()),
    ]);
    let ingest = ServiceProcess::start("ingest", "SENTORI_INGEST_ADDR", &env).await;
    let _processor = ServiceProcess::start("processor", "SENTORI_PROCESSOR_ADDR", &env).await;
    let _notifier = ServiceProcess::start("notifier", "SENTORI_NOTIFIER_ADDR", &env).await;
    let client = reqwest::Client::new();
    let send = |body: Value| client.post(ingest.url("/v1/events")).bearer_auth(&stack.dev_token).json(&body).send();

    assert_eq!(send(event("BootError")).await.unwrap().status(), 202);
    eventually("the new-issue email", Duration::from_secs(60), || async { (!mails(&dir).is_empty()).then_some(()) }).await;
    settled(&stack, &pool).await;
    let first = mails(&dir);
    assert_eq!(first.len(), 1, "{first:?}");
    let mail = &first[0];
    assert_eq!(mail["rcpts"], json!(["oncall@example.com"]));
    assert_eq!(mail["subject"], "[Sentori] New issue in dev: BootError: x is <undefined>");
    let issue_id: uuid::Uuid = sqlx::query_scalar("SELECT id FROM issues WHERE type = 'BootError'").fetch_one(&pool).await.unwrap();
    let text = mail["text"].as_str().unwrap();
    assert!(text.contains(&format!("https://errors.example/projects/{DEV_PROJECT_ID}/issues/{issue_id}")), "{text}");
    assert!(text.contains("Release: shop@2.0.0") && text.contains("Environment: staging"), "{text}");
    assert!(mail["html"].as_str().unwrap().contains("x is &lt;undefined&gt;"));

    // More events of the same issue are not new: no more email. A different
    // error afterwards is, and shows the notifier got past the repeats.
    assert_eq!(send(event("BootError")).await.unwrap().status(), 202);
    assert_eq!(send(event("BootError")).await.unwrap().status(), 202);
    assert_eq!(send(event("OtherError")).await.unwrap().status(), 202);
    eventually("the second issue's email", Duration::from_secs(60), || async { (mails(&dir).len() >= 2).then_some(()) }).await;
    settled(&stack, &pool).await;
    let all = mails(&dir);
    assert_eq!(all.len(), 2, "{all:?}");
    assert!(all[1]["subject"].as_str().unwrap().contains("OtherError"));
    let delivered: i64 = sqlx::query_scalar("SELECT count(*) FROM deliveries").fetch_one(&pool).await.unwrap();
    assert_eq!(delivered, 2);
    let _ = std::fs::remove_dir_all(&dir);
}
