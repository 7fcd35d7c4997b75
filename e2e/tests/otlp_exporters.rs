//! OTLP/HTTP traces from real OpenTelemetry exporters, installed from their
//! registries unchanged: the Rust `opentelemetry-otlp` crate (protobuf with
//! gzip, and JSON) and the Python SDK's `opentelemetry-exporter-otlp-proto-http`.
//! They send nested spans with attributes, an error status and an exception
//! event through the real ingest and processor; the admin API must then show
//! the trace with its spans, and the error as an issue linked to its span.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use opentelemetry::trace::{Span as _, SpanKind, Status, TraceContextExt, Tracer, TracerProvider as _};
use opentelemetry::{Array, KeyValue, Value as OtelValue};
use opentelemetry_otlp::{Compression, Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;
use sentori_protocol::DEV_PROJECT_ID;
use sentori_testkit::{ServiceProcess, TestStack, eventually};
use serde_json::Value;
use uuid::Uuid;

struct Pipeline {
    stack: TestStack,
    ingest: ServiceProcess,
    admin: ServiceProcess,
    _processor: ServiceProcess,
}

impl Pipeline {
    async fn start() -> Self {
        let stack = TestStack::new().await;
        let env = stack.service_env();
        let ingest = ServiceProcess::start("ingest", "SENTORI_INGEST_ADDR", &env).await;
        let _processor = ServiceProcess::start("processor", "SENTORI_PROCESSOR_ADDR", &env).await;
        let admin = ServiceProcess::start("admin-api", "SENTORI_ADMIN_API_ADDR", &env).await;
        Self { stack, ingest, admin, _processor }
    }

    async fn get(&self, path: &str) -> Value {
        let response = reqwest::Client::new()
            .get(self.admin.url(&format!("/admin/api/projects/{DEV_PROJECT_ID}{path}")))
            .bearer_auth(&self.stack.dev_token)
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "GET {path}: {}", response.status());
        response.json().await.unwrap()
    }

    /// The trace once the admin API shows `spans` spans and at least one error event in it.
    async fn trace(&self, trace_id: Uuid, spans: usize) -> Value {
        eventually(&format!("trace {trace_id} with {spans} spans and its error"), Duration::from_secs(30), || async {
            let response = reqwest::Client::new()
                .get(self.admin.url(&format!("/admin/api/projects/{DEV_PROJECT_ID}/traces/{trace_id}")))
                .bearer_auth(&self.stack.dev_token)
                .send()
                .await
                .ok()?;
            let body: Value = response.json().await.ok()?;
            let complete = body["spans"].as_array().map(Vec::len) == Some(spans)
                && body["events"].as_array().is_some_and(|events| !events.is_empty());
            complete.then_some(body)
        })
        .await
    }
}

fn span_named<'a>(trace: &'a Value, name: &str) -> &'a Value {
    trace["spans"].as_array().unwrap().iter().find(|s| s["name"] == name).unwrap_or_else(|| panic!("no span {name}: {trace}"))
}

/// Sends one trace with the Rust SDK: a server span, a database child with an
/// error status and an exception event. Runs on a plain thread: the blocking
/// HTTP client the exporter uses must not run inside the test's runtime.
fn send_with_rust_sdk(endpoint: String, headers: HashMap<String, String>, protocol: Protocol, gzip: bool) -> Uuid {
    std::thread::spawn(move || {
        let mut builder =
            opentelemetry_otlp::SpanExporter::builder().with_http().with_endpoint(endpoint).with_protocol(protocol).with_headers(headers);
        if gzip {
            builder = builder.with_compression(Compression::Gzip);
        }
        let exporter = builder.build().expect("the OTLP exporter builds");
        let resource = Resource::builder_empty()
            .with_service_name("rust-shop")
            .with_attributes([KeyValue::new("service.version", "1.4.0"), KeyValue::new("deployment.environment.name", "e2e")])
            .build();
        let provider = SdkTracerProvider::builder().with_batch_exporter(exporter).with_resource(resource).build();
        let tracer = provider.tracer("sentori.e2e.rust");

        let root = tracer
            .span_builder("GET /cart")
            .with_kind(SpanKind::Server)
            .with_attributes([
                KeyValue::new("http.request.method", "GET"),
                KeyValue::new("http.response.status_code", 500i64),
                KeyValue::new("cart.items", OtelValue::Array(Array::I64(vec![3, 5]))),
                KeyValue::new("cart.total", 12.5),
                KeyValue::new("cart.gift", true),
            ])
            .start(&tracer);
        let trace_id = root.span_context().trace_id();
        let cx = opentelemetry::Context::current_with_span(root);
        let mut query = tracer
            .span_builder("SELECT cart")
            .with_kind(SpanKind::Client)
            .with_attributes([KeyValue::new("db.system", "postgresql")])
            .start_with_context(&tracer, &cx);
        query.add_event(
            "exception",
            vec![
                KeyValue::new("exception.type", "CartLockTimeout"),
                KeyValue::new("exception.message", "lock wait timeout on cart 7"),
                KeyValue::new("exception.stacktrace", "CartLockTimeout: lock wait timeout\n    at load (/srv/shop/cart.js:41:7)"),
            ],
        );
        query.set_status(Status::error("lock wait timeout"));
        query.end();
        let mut render = tracer.start_with_context("render cart", &cx);
        render.set_attribute(KeyValue::new("template", "cart.html"));
        render.end();
        cx.span().end();
        provider.force_flush().expect("the export succeeds");
        provider.shutdown().expect("the exporter shuts down");
        Uuid::from_bytes(trace_id.to_bytes())
    })
    .join()
    .expect("the exporter thread")
}

async fn assert_rust_trace(pipeline: &Pipeline, trace_id: Uuid) {
    let trace = pipeline.trace(trace_id, 3).await;
    let root = span_named(&trace, "GET /cart");
    let query = span_named(&trace, "SELECT cart");
    let render = span_named(&trace, "render cart");
    assert_eq!(root["parentSpanId"], Value::Null, "{trace}");
    assert_eq!(query["parentSpanId"], root["id"]);
    assert_eq!(render["parentSpanId"], root["id"]);
    assert_eq!((root["op"].as_str(), query["op"].as_str(), render["op"].as_str()), (Some("http.server"), Some("db.query"), Some("otel.internal")));
    assert_eq!((root["status"].as_str(), query["status"].as_str()), (Some("ok"), Some("error")));
    assert_eq!(root["tags"]["service.name"], "rust-shop");
    assert_eq!(root["tags"]["http.response.status_code"], "500");
    assert_eq!(root["data"]["cart.items"], serde_json::json!([3, 5]));
    assert_eq!(root["data"]["cart.total"], 12.5);
    assert_eq!(root["data"]["cart.gift"], true);
    assert_eq!(root["data"]["otel.kind"], "server");
    assert_eq!(query["data"]["otel.status.message"], "lock wait timeout");
    assert_eq!(query["data"]["otel.events"][0]["name"], "exception");
    assert_eq!(trace["trace"]["status"], "error");

    let event = &trace["events"][0];
    assert_eq!(event["spanId"], query["id"], "the error sits in the span that raised it");
    assert_eq!(event["title"], "CartLockTimeout: lock wait timeout on cart 7");
    let issues = pipeline.get("/issues?query=CartLockTimeout").await;
    let issue = issues.as_array().and_then(|list| list.first()).unwrap_or_else(|| panic!("no issue: {issues}"));
    assert_eq!(issue["id"], event["issueId"]);
}

#[tokio::test]
async fn rust_otlp_exporter_over_protobuf_with_gzip() {
    let pipeline = Pipeline::start().await;
    let headers = HashMap::from([("Authorization".to_owned(), format!("Bearer {}", pipeline.stack.dev_token))]);
    let endpoint = pipeline.ingest.url("/v1/traces");
    let trace_id = tokio::task::spawn_blocking(move || send_with_rust_sdk(endpoint, headers, Protocol::HttpBinary, true)).await.unwrap();
    assert_rust_trace(&pipeline, trace_id).await;

    // A Sentori SDK span continuing the OTLP trace joins the same tree.
    let trace = pipeline.trace(trace_id, 3).await;
    let root = span_named(&trace, "GET /cart");
    let child = serde_json::json!({
        "id": Uuid::now_v7(), "traceId": trace_id, "parentSpanId": root["id"], "op": "ui.render", "name": "from the app",
        "startedAt": root["startedAt"], "durationMs": 1, "status": "ok"
    });
    let response = reqwest::Client::new()
        .post(pipeline.ingest.url("/v1/spans"))
        .bearer_auth(&pipeline.stack.dev_token)
        .json(&child)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    let trace = pipeline.trace(trace_id, 4).await;
    assert_eq!(span_named(&trace, "from the app")["parentSpanId"], root["id"]);
}

#[tokio::test]
async fn rust_otlp_exporter_over_json_with_the_sentori_token_header() {
    let pipeline = Pipeline::start().await;
    let headers = HashMap::from([("x-sentori-token".to_owned(), pipeline.stack.dev_token.clone())]);
    let endpoint = pipeline.ingest.url("/v1/traces");
    let trace_id = tokio::task::spawn_blocking(move || send_with_rust_sdk(endpoint, headers, Protocol::HttpJson, false)).await.unwrap();
    assert_rust_trace(&pipeline, trace_id).await;
    let listed = pipeline.get("/traces?service=rust-shop").await;
    let summary = listed.as_array().unwrap().iter().find(|t| t["traceId"] == trace_id.to_string());
    assert_eq!(summary.unwrap_or_else(|| panic!("{listed}"))["services"], serde_json::json!(["rust-shop"]));
    let other = pipeline.get("/traces?service=py-billing").await;
    assert_eq!(other, serde_json::json!([]), "the service filter is exact");
}

/// The project's venv (deploy/local/stack.sh installs requirements.txt there).
fn venv_python() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    root.join(".stack/venv/bin/python")
}

#[tokio::test]
async fn python_otlp_http_exporter() {
    let pipeline = Pipeline::start().await;
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("otlp/python_exporter.py");
    let output = tokio::process::Command::new(venv_python())
        .arg(&script)
        .arg(pipeline.ingest.url("/v1/traces"))
        .arg(&pipeline.stack.dev_token)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .await
        .expect("the stack venv's python runs (deploy/local/stack.sh install)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "python exporter failed: {stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    let trace_id = Uuid::parse_str(stdout.trim()).expect("the script prints the trace id");

    let trace = pipeline.trace(trace_id, 3).await;
    let root = span_named(&trace, "POST /pay");
    let query = span_named(&trace, "SELECT orders");
    let charge = span_named(&trace, "charge card");
    assert_eq!(query["parentSpanId"], root["id"]);
    assert_eq!(charge["parentSpanId"], root["id"]);
    assert_eq!((root["op"].as_str(), query["op"].as_str()), (Some("http.server"), Some("db.query")));
    assert_eq!((root["status"].as_str(), charge["status"].as_str()), (Some("error"), Some("error")));
    assert_eq!(root["data"]["otel.status.message"], "payment failed");
    assert_eq!(root["data"]["cart.sizes"], serde_json::json!([1, 2, 3]));
    assert_eq!(root["tags"]["service.version"], "4.2.0");
    assert_eq!(root["tags"]["telemetry.sdk.language"], "python");

    let event = &trace["events"][0];
    assert_eq!(event["spanId"], charge["id"]);
    // The Python SDK writes the qualified type name; it is kept as sent.
    assert_eq!(event["title"], "__main__.CardDeclined: card declined for 42");
    let stored = pipeline.get(&format!("/events/{}", event["id"].as_str().unwrap())).await;
    assert_eq!(stored["platform"], "python");
    assert_eq!(stored["release"], "py-billing@4.2.0");
    assert_eq!(stored["environment"], "e2e");
    let top = &stored["error"]["stack"][0];
    assert_eq!(top["function"], "charge", "the traceback's raising frame is on top: {stored}");
    assert!(top["file"].as_str().unwrap().ends_with("python_exporter.py"));
    let issues = pipeline.get("/issues?query=CardDeclined").await;
    assert_eq!(issues[0]["id"], event["issueId"], "{issues}");
}
