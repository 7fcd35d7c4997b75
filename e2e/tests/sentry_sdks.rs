//! Official Sentry SDKs, unchanged, reporting to Sentori with a DSN from the
//! admin API: real ingest, processor and admin-api, asserted through what
//! the admin API shows (issue title, culprit, cause chain, exception groups,
//! tags, release, the trace with its spans, crash-free sessions).
//!
//! The Python SDK is `sentry-sdk` from PyPI, installed into the local
//! stack's venv by `deploy/local/stack.sh` (deploy/local/requirements.txt);
//! the script it runs is `e2e/sentry/python_app.py`. `@sentry/node` is
//! installed from npm by the test itself, once per target directory
//! (`e2e/sentry/node/package.json`), and runs `e2e/sentry/node/app.mjs`.
//! The Rust SDK is the `sentry` crate, a dev-dependency of this crate.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use sentori_protocol::DEV_PROJECT_ID;
use sentori_testkit::{ServiceProcess, TestStack, eventually, npm_tools};
use serde_json::{Value, json};
use uuid::Uuid;

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().expect("e2e/ is inside the workspace").to_path_buf()
}

struct Services {
    _stack: TestStack,
    ingest: ServiceProcess,
    _processor: ServiceProcess,
    admin: ServiceProcess,
    dev_token: String,
    client: reqwest::Client,
}

impl Services {
    async fn start() -> Self {
        let stack = TestStack::new().await;
        let env = stack.service_env();
        let ingest = ServiceProcess::start("ingest", "SENTORI_INGEST_ADDR", &env).await;
        let processor = ServiceProcess::start("processor", "SENTORI_PROCESSOR_ADDR", &env).await;
        let mut admin_env = env.clone();
        admin_env.push(("SENTORI_PUBLIC_INGEST_URL".into(), ingest.url("/")));
        let admin = ServiceProcess::start("admin-api", "SENTORI_ADMIN_API_ADDR", &admin_env).await;
        let dev_token = stack.dev_token.clone();
        Self { _stack: stack, ingest, _processor: processor, admin, dev_token, client: reqwest::Client::new() }
    }

    async fn admin_get(&self, path: &str) -> (u16, Value) {
        let url = self.admin.url(&format!("/admin/api/projects/{DEV_PROJECT_ID}{path}"));
        let response = self.client.get(url).bearer_auth(&self.dev_token).send().await.expect("admin-api answers");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// A new public token of the dev project (number 1) and its DSN, as the admin API gives them.
    async fn dsn(&self, label: &str) -> String {
        let url = self.admin.url(&format!("/admin/api/projects/{DEV_PROJECT_ID}/tokens"));
        let response = self.client.post(url).bearer_auth(&self.dev_token).json(&json!({"label": label})).send().await.unwrap();
        assert_eq!(response.status(), 201);
        let created: Value = response.json().await.unwrap();
        let token = created["token"].as_str().unwrap();
        let dsn = created["dsn"].as_str().expect("a public token comes with its DSN").to_owned();
        assert_eq!(dsn, format!("http://{token}@{}/1", self.ingest.addr), "the dev project is number 1");
        let (_, list) = self.admin_get("/tokens").await;
        let listed = list.as_array().unwrap().iter().find(|t| t["label"] == label).unwrap();
        assert_eq!(listed["dsn"], format!("http://st_pk_…{}@{}/1", &token[token.len() - 4..], self.ingest.addr));
        dsn
    }

    /// The issue whose title is `title`, once the processor has stored it.
    async fn issue(&self, title: &str) -> Value {
        eventually(&format!("the issue {title:?}"), Duration::from_secs(30), || async {
            let (_, issues) = self.admin_get("/issues?status=all").await;
            issues.as_array()?.iter().find(|i| i["title"] == title).cloned()
        })
        .await
    }

    async fn event(&self, id: &str) -> Value {
        let id = Uuid::parse_str(id).expect("the SDK's event id is 32 hex digits");
        eventually("the stored event", Duration::from_secs(30), || async {
            let (status, event) = self.admin_get(&format!("/events/{id}")).await;
            (status == 200).then_some(event)
        })
        .await
    }
}

fn python() -> PathBuf {
    std::env::var("SENTORI_TEST_PYTHON").map(PathBuf::from).unwrap_or_else(|_| workspace().join(".stack/venv/bin/python"))
}

#[tokio::test]
async fn the_python_sdk_reports_errors_messages_traces_and_sessions() {
    let services = Services::start().await;
    let dsn = services.dsn("python").await;

    let output = Command::new(python())
        .arg(workspace().join("e2e/sentry/python_app.py"))
        .env("SENTRY_DSN", &dsn)
        .output()
        .unwrap_or_else(|e| panic!("running {} (deploy/local/stack.sh start test installs sentry-sdk): {e}", python().display()));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the app failed:\n{stderr}");
    let sent: Value = serde_json::from_slice(output.stdout.trim_ascii()).unwrap_or_else(|e| panic!("{e}; stderr:\n{stderr}"));
    assert!(!stderr.contains("status_code=4") && !stderr.contains("status_code=5"), "ingest refused something:\n{stderr}");

    // The exception with its cause: the raised error is the title, its raising frame the culprit.
    let issue = services.issue("ValueError: no price for pear").await;
    assert_eq!(issue["kind"], "error");
    assert_eq!(issue["lastRelease"], "pyshop@1.4.2");
    assert_eq!(issue["lastEnvironment"], "staging");
    let culprit = issue["culprit"].as_str().unwrap();
    assert!(culprit.starts_with("checkout (") && culprit.contains("python_app.py"), "{culprit}");
    let event = services.event(sent["error_event_id"].as_str().unwrap()).await;
    assert_eq!(event["platform"], "python");
    assert_eq!(event["release"], "pyshop@1.4.2");
    assert_eq!(event["error"]["stack"][0]["function"], "checkout", "the raising frame first");
    assert_eq!(event["error"]["stack"][0]["inApp"], true);
    assert!(event["error"]["stack"][0]["contextLine"].as_str().unwrap().contains("raise ValueError"));
    let cause = &event["error"]["cause"];
    assert_eq!(cause["type"], "KeyError");
    assert_eq!(cause["message"], "'pear'");
    assert_eq!(cause["stack"][0]["function"], "load_price");
    assert_eq!(event["tags"]["checkout.step"], "payment");
    assert_eq!(event["tags"]["attempt"], "3", "a number tag is kept as text");
    assert_eq!(event["user"]["id"], "4242", "a numeric user id is kept as text");
    assert!(event["sdk"].as_str().unwrap().starts_with("sentry.python/"), "{}", event["sdk"]);
    let (_, detail) = services.admin_get(&format!("/issues/{}", issue["id"].as_str().unwrap())).await;
    assert_eq!(detail["tags"]["release"][0]["value"], "pyshop@1.4.2", "{}", detail["tags"]);
    assert_eq!(detail["tags"]["runtime"][0]["value"].as_str().unwrap().split(' ').next(), Some("CPython"));

    // An ExceptionGroup keeps its tree: members under the group, in order,
    // a nested group with its member, and that member's cause.
    let group_issue = services.issue("ExceptionGroup: reservation failed").await;
    let group = services.event(sent["group_event_id"].as_str().unwrap()).await;
    assert_eq!(group_issue["id"], group["issueId"], "{group}");
    let error = &group["error"];
    assert!(error["cause"].is_null(), "members are not causes: {error}");
    let members = error["exceptions"].as_array().unwrap_or_else(|| panic!("no members in {error}"));
    let types: Vec<&str> = members.iter().map(|m| m["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["LookupError", "LookupError", "ExceptionGroup"]);
    assert_eq!(members[0]["message"], "fig is out of stock");
    assert_eq!(members[1]["message"], "kiwi is out of stock");
    assert_eq!(members[0]["stack"][0]["function"], "reserve", "a member has its own stack");
    let nested = &members[2]["exceptions"];
    assert_eq!(nested.as_array().map(Vec::len), Some(1), "{}", members[2]);
    assert_eq!(nested[0]["type"], "TypeError");
    assert_eq!(nested[0]["cause"]["type"], "ValueError", "a member's own cause: {}", nested[0]);
    assert!(nested[0]["cause"]["message"].as_str().unwrap().contains("x1"));

    // The message.
    let message = services.issue("payment provider answered slowly").await;
    assert_eq!(message["kind"], "message");
    assert_eq!(message["level"], "warning");
    services.event(sent["message_event_id"].as_str().unwrap()).await;

    // The transaction: its root span and two children, found by the 32-hex trace id.
    let trace_id = sent["trace_id"].as_str().unwrap();
    assert_eq!(trace_id.len(), 32);
    let trace = eventually("the trace with its three spans", Duration::from_secs(30), || async {
        let (status, trace) = services.admin_get(&format!("/traces/{trace_id}")).await;
        (status == 200 && trace["spanCount"] == 3).then_some(trace)
    })
    .await;
    assert_eq!(trace["trace"]["rootOp"], "task");
    assert_eq!(trace["trace"]["rootName"], "nightly-report");
    let spans = trace["spans"].as_array().unwrap();
    let root = spans.iter().find(|s| s["parentSpanId"].is_null()).expect("a root span");
    for (op, name) in [("db.query", "SELECT orders"), ("http.client", "GET https://rates.example/today")] {
        let child = spans.iter().find(|s| s["op"] == op).unwrap_or_else(|| panic!("no {op} span in {spans:?}"));
        assert_eq!(child["name"], name);
        assert_eq!(child["parentSpanId"], root["id"]);
    }

    // The session ended after a handled error: errored, which is crash-free.
    let release = eventually("the release with its session", Duration::from_secs(30), || async {
        let (_, releases) = services.admin_get("/releases").await;
        releases.as_array()?.iter().find(|r| r["name"] == "pyshop@1.4.2" && r["sessionCount"] == 1).cloned()
    })
    .await;
    assert_eq!(release["crashFreeSessions"], 1.0, "{release}");
}

/// What a Rust app raises: a checkout failure caused by a lookup failure.
#[derive(Debug)]
struct LookupError {
    sku: String,
}

impl std::fmt::Display for LookupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "no row for {}", self.sku)
    }
}

impl std::error::Error for LookupError {}

#[derive(Debug)]
struct CheckoutError {
    source: LookupError,
}

impl std::fmt::Display for CheckoutError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("checkout failed")
    }
}

impl std::error::Error for CheckoutError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

#[tokio::test]
async fn the_rust_sdk_reports_errors_messages_traces_and_sessions() {
    let services = Services::start().await;
    let dsn = services.dsn("rust").await;

    // The SDK's transport runs on its own thread; the calls below are the SDK's public API, unchanged.
    let (error_id, message_id, trace_id) = tokio::task::spawn_blocking(move || {
        let options =
            sentry::ClientOptions::new().dsn(&dsn).release("rustshop@0.3.0").environment("ci").traces_sample_rate(1.0);
        let guard = sentry::init(options);
        assert!(guard.is_enabled(), "the SDK accepted the DSN");
        sentry::start_session();
        sentry::configure_scope(|scope| {
            scope.set_tag("shard", 7);
            scope.set_user(Some(sentry::User { id: Some("991".into()), ..Default::default() }));
        });
        let error = CheckoutError { source: LookupError { sku: "pear".into() } };
        let error_id = sentry::capture_error(&error);
        let message_id = sentry::capture_message("rust cache warmed slowly", sentry::Level::Warning);
        let transaction = sentry::start_transaction(sentry::TransactionContext::new("nightly-sync", "task"));
        let trace_id = transaction.get_trace_context().trace_id.to_string();
        let child = transaction.start_child("db.query", "SELECT stock");
        child.finish();
        transaction.finish();
        sentry::end_session();
        assert!(guard.flush(Some(Duration::from_secs(20))), "the SDK sent everything");
        drop(guard);
        (error_id.simple().to_string(), message_id.simple().to_string(), trace_id)
    })
    .await
    .unwrap();

    // The raised error is the last exception value; the one before it, its cause.
    let issue = services.issue("CheckoutError: checkout failed").await;
    assert_eq!(issue["lastRelease"], "rustshop@0.3.0");
    assert_eq!(issue["lastEnvironment"], "ci");
    let event = services.event(&error_id).await;
    assert_eq!(event["error"]["cause"]["type"], "LookupError");
    assert_eq!(event["error"]["cause"]["message"], "no row for pear");
    assert_eq!(event["tags"]["shard"], "7");
    assert_eq!(event["user"]["id"], "991");
    assert!(event["sdk"].as_str().unwrap().starts_with("sentry.rust"), "{}", event["sdk"]);

    let message = services.issue("rust cache warmed slowly").await;
    assert_eq!((message["kind"].as_str(), message["level"].as_str()), (Some("message"), Some("warning")));
    services.event(&message_id).await;

    let trace = eventually("the Rust trace with both spans", Duration::from_secs(30), || async {
        let (status, trace) = services.admin_get(&format!("/traces/{trace_id}")).await;
        (status == 200 && trace["spanCount"] == 2).then_some(trace)
    })
    .await;
    assert_eq!(trace["trace"]["rootName"], "nightly-sync");
    let spans = trace["spans"].as_array().unwrap();
    let child = spans.iter().find(|s| s["op"] == "db.query").expect("the child span");
    assert_eq!(child["name"], "SELECT stock");
    assert!(spans.iter().any(|s| s["id"] == child["parentSpanId"] && s["parentSpanId"].is_null()));

    let release = eventually("the Rust release with its session", Duration::from_secs(30), || async {
        let (_, releases) = services.admin_get("/releases").await;
        releases.as_array()?.iter().find(|r| r["name"] == "rustshop@0.3.0" && r["sessionCount"] == 1).cloned()
    })
    .await;
    assert_eq!(release["crashFreeSessions"], 1.0, "{release}");
}

/// `@sentry/node` installed from npm under the target directory, with the
/// app beside it (imports resolve from the script's own folder).
fn node_app() -> PathBuf {
    let sources = workspace().join("e2e/sentry/node");
    let tools = npm_tools("sentry-node", &sources.join("package.json"), &["@sentry/node"]);
    std::fs::copy(sources.join("app.mjs"), tools.join("app.mjs")).unwrap();
    tools.join("app.mjs")
}

#[tokio::test]
async fn the_node_sdk_reports_errors_messages_streamed_spans_and_sessions() {
    let services = Services::start().await;
    let dsn = services.dsn("node").await;
    let app = tokio::task::spawn_blocking(node_app).await.unwrap();
    let output = tokio::task::spawn_blocking(move || Command::new("node").arg(&app).env("SENTRY_DSN", &dsn).output())
        .await
        .unwrap()
        .expect("running node");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the app failed:\n{stderr}");
    // The SDK's debug log shares stdout; the app's report is the last line.
    let stdout = String::from_utf8_lossy(&output.stdout);
    let last = stdout.lines().rev().find(|l| l.starts_with('{')).unwrap_or_else(|| panic!("no report in:\n{stdout}"));
    let sent: Value = serde_json::from_str(last).unwrap();

    // Error.cause is the cause chain; the raising frame is the culprit.
    let issue = services.issue("Error: no price for pear").await;
    assert_eq!(issue["lastRelease"], "nodeshop@2.1.0");
    let culprit = issue["culprit"].as_str().unwrap();
    assert!(culprit.starts_with("checkout (") && culprit.contains("app.mjs"), "{culprit}");
    let event = services.event(sent["error_event_id"].as_str().unwrap()).await;
    assert_eq!(event["platform"], "node");
    assert_eq!(event["error"]["cause"]["type"], "RangeError");
    assert_eq!(event["error"]["cause"]["message"], "unknown sku pear");
    assert_eq!(event["error"]["cause"]["stack"][0]["function"], "loadPrice");
    assert_eq!(event["tags"]["checkout.step"], "payment");
    assert_eq!(event["tags"]["attempt"], "3");
    assert_eq!(event["user"]["id"], "4242");
    assert!(event["sdk"].as_str().unwrap().starts_with("sentry.javascript.node/"), "{}", event["sdk"]);

    // An AggregateError (linkedErrors): its errors are members, not causes; a member keeps its cause.
    services.issue("AggregateError: reservation failed").await;
    let group = services.event(sent["group_event_id"].as_str().unwrap()).await;
    let error = &group["error"];
    assert!(error["cause"].is_null(), "members are not causes: {error}");
    let members = error["exceptions"].as_array().unwrap_or_else(|| panic!("no members in {error}"));
    let types: Vec<&str> = members.iter().map(|m| m["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["TypeError", "RangeError"]);
    assert_eq!(members[0]["message"], "fig is out of stock");
    assert_eq!(members[0]["stack"][0]["function"], "reserve", "a member has its own stack");
    assert_eq!(members[1]["cause"]["type"], "Error");
    assert_eq!(members[1]["cause"]["message"], "not a number");

    // A message captured with a stack is still a message.
    let message = services.issue("node payment provider answered slowly").await;
    assert_eq!((message["kind"].as_str(), message["level"].as_str()), (Some("message"), Some("warning")));

    // Streamed spans (span items, version 2) make the trace.
    let trace_id = event["traceId"].as_str().expect("the error carries its trace").replace('-', "");
    let trace = eventually("the Node trace with its three spans", Duration::from_secs(30), || async {
        let (status, trace) = services.admin_get(&format!("/traces/{trace_id}")).await;
        (status == 200 && trace["spanCount"] == 3).then_some(trace)
    })
    .await;
    assert_eq!(trace["trace"]["rootOp"], "task");
    assert_eq!(trace["trace"]["rootName"], "nightly-report");
    let spans = trace["spans"].as_array().unwrap();
    let db = spans.iter().find(|s| s["op"] == "db.query").expect("the db.query span");
    assert_eq!(db["name"], "SELECT orders");

    // The process session ended after a handled error: errored, crash-free.
    let release = eventually("the Node release with its session", Duration::from_secs(30), || async {
        let (_, releases) = services.admin_get("/releases").await;
        releases.as_array()?.iter().find(|r| r["name"] == "nodeshop@2.1.0" && r["sessionCount"] == 1).cloned()
    })
    .await;
    assert_eq!(release["crashFreeSessions"], 1.0, "{release}");
}
