//! Whatever arrives, ingest answers 2xx or 4xx: never a 5xx, never a panic.
//! Property tests over arbitrary bytes and arbitrary JSON on every route.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use ingest::{Ingest, IngestConfig};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::Value;
use tower::ServiceExt;

const ROUTES: [&str; 6] = ["/v1/events", "/v1/events:batch", "/v1/spans", "/v1/spans:batch", "/v1/sessions", "/v1/deploys"];
const ENCODINGS: [Option<&str>; 6] = [None, Some("gzip"), Some("br"), Some("zstd"), Some("deflate"), Some("snappy")];

fn arbitrary_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        (-1e12f64..1e12).prop_map(Value::from),
        prop_oneof![
            Just("019508a0-1111-7000-8000-000000000001".to_owned()),
            Just("2026-11-26T10:00:00Z".to_owned()),
            ".{0,24}"
        ]
        .prop_map(Value::String),
    ];
    let keys = prop_oneof![
        Just("id"), Just("timestamp"), Just("kind"), Just("platform"), Just("release"), Just("environment"),
        Just("device"), Just("os"), Just("osVersion"), Just("app"), Just("version"), Just("error"), Just("type"),
        Just("stack"), Just("file"), Just("line"), Just("cause"), Just("tags"), Just("events"), Just("spans"),
        Just("traceId"), Just("parentSpanId"), Just("op"), Just("name"), Just("startedAt"), Just("durationMs"),
        Just("status"), Just("data"), Just("breadcrumbs"), Just("fingerprint")
    ]
    .prop_map(str::to_owned);
    leaf.prop_recursive(5, 96, 10, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(keys.clone(), inner, 0..10).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn check(runtime: &tokio::runtime::Runtime, router: &axum::Router, token: &str, route: &str, encoding: Option<&str>, body: Vec<u8>) -> Result<(), TestCaseError> {
    let mut request = Request::post(route).header("authorization", format!("Bearer {token}"));
    if let Some(encoding) = encoding {
        request = request.header("content-encoding", encoding);
    }
    let request = request.body(Body::from(body)).unwrap();
    let response = runtime.block_on(router.clone().oneshot(request)).unwrap();
    let status = response.status();
    prop_assert!(status.is_success() || status.is_client_error(), "{route} answered {status}");
    if status.is_client_error() && status != StatusCode::NOT_FOUND {
        let bytes = runtime.block_on(axum::body::to_bytes(response.into_body(), 1 << 20)).unwrap();
        let body: Value = serde_json::from_slice(&bytes).map_err(|e| TestCaseError::fail(format!("error body is not JSON: {e}")))?;
        prop_assert!(body["error"].is_string() && body["message"].is_string(), "error shape: {body}");
    }
    Ok(())
}

#[test]
fn arbitrary_input_never_gets_a_5xx() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (router, token) = runtime.block_on(async {
        let stack = sentori_testkit::TestStack::new().await;
        let mut env = stack.service_env();
        env.push(("SENTORI_RATE_LIMIT_PER_MIN".into(), "100000000".into()));
        let service = Ingest::start(IngestConfig::from_env(sentori_config::Env::from_pairs(env)).unwrap()).await.unwrap();
        (service.router(), stack.dev_token.clone())
    });
    let mut runner = TestRunner::new(Config { cases: 300, ..Config::default() });
    let bytes = (0..ROUTES.len(), 0..ENCODINGS.len(), prop::collection::vec(any::<u8>(), 0..2048));
    runner
        .run(&bytes, |(route, encoding, body)| check(&runtime, &router, &token, ROUTES[route], ENCODINGS[encoding], body))
        .unwrap();
    let json = (0..ROUTES.len(), arbitrary_json());
    runner
        .run(&json, |(route, value)| check(&runtime, &router, &token, ROUTES[route], None, serde_json::to_vec(&value).unwrap()))
        .unwrap();
}
