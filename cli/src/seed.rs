//! `sentori seed events|spans`: realistic synthetic data posted through
//! ingest in batches it accepts, honouring its 429 and 503 answers.
//! Every item is tagged `synthetic: seed-events` (or `seed-spans`) so it can
//! be told apart and deleted.

use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use rand::Rng;
use rand::seq::IndexedRandom;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

const EVENT_BATCH: usize = 100;
const SPAN_BATCH: usize = 200;

#[derive(Debug, Args)]
pub struct SeedEvents {
    /// An ingest token of the project to fill.
    #[arg(long, env = "SENTORI_DEV_TOKEN", hide_env_values = true)]
    token: String,
    #[arg(long, default_value_t = 5000)]
    events: usize,
    #[arg(long, default_value_t = 200)]
    users: usize,
    #[arg(long, default_value_t = 10)]
    releases: usize,
    /// Make about 5 % of the events main-thread hangs (ANRs).
    #[arg(long)]
    include_anr: bool,
    #[arg(long, env = "SENTORI_INGEST_URL", default_value = "http://localhost:8080")]
    ingest_url: String,
    /// Resolve some issues, then send their errors again so they regress.
    #[arg(long, requires_all = ["admin_token", "project_id"])]
    include_regression: bool,
    #[arg(long)]
    admin_token: Option<String>,
    #[arg(long)]
    project_id: Option<uuid::Uuid>,
    #[arg(long, env = "SENTORI_ADMIN_URL", default_value = "http://localhost:8081")]
    api_url: String,
}

#[derive(Debug, Args)]
pub struct SeedSpans {
    #[arg(long, env = "SENTORI_DEV_TOKEN", hide_env_values = true)]
    token: String,
    #[arg(long, default_value_t = 500)]
    traces: usize,
    #[arg(long, env = "SENTORI_INGEST_URL", default_value = "http://localhost:8080")]
    ingest_url: String,
}

/// The distinct bugs seeded events come from: type, message and the functions on the stack.
const BUGS: [(&str, &str, [&str; 3]); 12] = [
    ("TypeError", "Cannot read properties of undefined (reading 'total')", ["sumCart", "renderCart", "CartScreen"]),
    ("TypeError", "undefined is not a function", ["onPressBuy", "Button.press", "CheckoutScreen"]),
    ("RangeError", "Maximum call stack size exceeded", ["walkTree", "walkTree", "renderTree"]),
    ("NetworkError", "Request to /api/orders failed with 503", ["fetchOrders", "loadOrders", "OrdersScreen"]),
    ("SyntaxError", "Unexpected token < in JSON at position 0", ["parseBody", "apiClient.get", "ProfileScreen"]),
    ("NSInvalidArgumentException", "unrecognized selector sent to instance 0x600003e5c000", ["-[CartView layout]", "UIViewController.viewDidLoad", "main"]),
    ("NullPointerException", "Attempt to invoke virtual method on a null object reference", ["CartAdapter.bind", "RecyclerView.onLayout", "ActivityThread.main"]),
    ("IllegalStateException", "Fragment not attached to a context", ["ProfileFragment.onResume", "FragmentManager.moveToState", "Handler.dispatch"]),
    ("QuotaExceededError", "The quota has been exceeded while writing key cart-12345", ["persistCart", "store.save", "App"]),
    ("ChunkLoadError", "Loading chunk 17 failed", ["loadChunk", "lazyImport", "Router"]),
    ("AbortError", "The user aborted a request", ["searchProducts", "useSearch", "SearchScreen"]),
    ("SecurityError", "Blocked a frame with origin from accessing a cross-origin frame", ["readParent", "embedBridge", "Widget"]),
];

fn progress(total: usize, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(total as u64);
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} ({per_sec}, eta {eta})")
            .expect("progress template")
            .progress_chars("=> "),
    );
    bar.set_message(what.to_owned());
    bar
}

fn timestamp(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).expect("RFC 3339")
}

fn seeded_event(bug: usize, args: &SeedEvents, release: usize, at: OffsetDateTime, anr: bool) -> Value {
    let mut rng = rand::rng();
    let (error_type, message, functions) = BUGS[bug % BUGS.len()];
    let platform = ["javascript", "ios", "android"][bug % 3];
    let os = ["web", "ios", "android"][bug % 3];
    let os_version = ["126", "17.4", "14"][bug % 3];
    let model = *["Pixel 8", "iPhone 15", "Desktop"].choose(&mut rng).expect("models");
    let stack: Vec<Value> = functions
        .iter()
        .enumerate()
        .map(|(i, function)| {
            json!({"file": format!("src/{}.ts", function.to_lowercase().replace(['.', ' ', '-', '[', ']'], "")),
                   "line": 20 + i * 7 + release, "column": 5, "function": function, "inApp": true})
        })
        .collect();
    let (kind, error) = if anr {
        ("anr", json!({"type": "ApplicationNotResponding", "message": "Main thread blocked for 5000 ms", "stack": stack}))
    } else {
        ("error", json!({"type": error_type, "message": message, "stack": stack}))
    };
    json!({
        "id": uuid::Uuid::now_v7(),
        "timestamp": timestamp(at),
        "kind": kind,
        "platform": platform,
        "release": format!("seedapp@1.{release}.0+{}", 100 + release),
        "environment": if rng.random_bool(0.8) { "prod" } else { "staging" },
        "device": {"os": os, "osVersion": os_version, "model": model},
        "app": {"version": format!("1.{release}.0"), "build": format!("{}", 100 + release)},
        "user": {"id": format!("seed-user-{}", rng.random_range(0..args.users.max(1)))},
        "tags": {"synthetic": "seed-events", "screen": functions[2]},
        "breadcrumbs": [
            {"timestamp": timestamp(at - time::Duration::seconds(3)), "type": "nav", "data": {"to": functions[2]}},
            {"timestamp": timestamp(at - time::Duration::seconds(1)), "type": "user", "data": {"action": "tap"}}
        ],
        "error": error
    })
}

/// Posts `items` to a batch route in batches, retrying what ingest asks to be retried.
async fn post_batches(client: &reqwest::Client, url: &str, token: &str, key: &str, items: Vec<Value>, batch: usize, bar: &ProgressBar) -> anyhow::Result<u64> {
    let mut accepted = 0;
    for chunk in items.chunks(batch) {
        let body = json!({ key: chunk });
        let mut attempt = 0;
        loop {
            let response = client.post(url).bearer_auth(token).json(&body).send().await.context("posting to ingest")?;
            let status = response.status();
            if status.is_success() {
                let result: Value = response.json().await?;
                accepted += result["accepted"].as_u64().unwrap_or(0);
                if let Some(errors) = result["errors"].as_array().filter(|e| !e.is_empty()) {
                    bar.println(format!("ingest rejected {} items: {}", errors.len(), errors[0]));
                }
                break;
            }
            if (status == 429 || status.is_server_error()) && attempt < 20 {
                let wait = response
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(1);
                attempt += 1;
                tokio::time::sleep(Duration::from_secs(wait.min(60))).await;
                continue;
            }
            let text = response.text().await.unwrap_or_default();
            bail!("ingest answered {status}: {text}");
        }
        bar.inc(chunk.len() as u64);
    }
    Ok(accepted)
}

pub async fn events(args: SeedEvents) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    let now = OffsetDateTime::now_utc();
    let mut rng = rand::rng();
    let events: Vec<Value> = (0..args.events)
        .map(|_| {
            let anr = args.include_anr && rng.random_bool(0.05);
            let at = now - time::Duration::seconds(rng.random_range(0..7 * 24 * 3600));
            seeded_event(rng.random_range(0..BUGS.len()), &args, rng.random_range(0..args.releases.max(1)), at, anr)
        })
        .collect();
    let url = format!("{}/v1/events:batch", args.ingest_url.trim_end_matches('/'));
    let bar = progress(events.len(), "events");
    let accepted = post_batches(&client, &url, &args.token, "events", events, EVENT_BATCH, &bar).await?;
    bar.finish();
    println!("seeded {accepted} events");
    if args.include_regression {
        regress(&client, &args).await?;
    }
    Ok(())
}

/// Resolves half of the seeded issues, then sends each of their bugs again
/// from a newer release, so the processor flips them to `regressed`.
async fn regress(client: &reqwest::Client, args: &SeedEvents) -> anyhow::Result<()> {
    let (admin_token, project_id) = (args.admin_token.as_deref().unwrap_or_default(), args.project_id.unwrap_or_default());
    let api = args.api_url.trim_end_matches('/');
    let issues_url = format!("{api}/admin/api/projects/{project_id}/issues?status=active&limit=200");
    // Wait for the processor to have grouped the seeded events.
    let mut issues: Vec<Value> = Vec::new();
    for _ in 0..120 {
        let response = client.get(&issues_url).bearer_auth(admin_token).send().await.context("listing issues")?;
        if !response.status().is_success() {
            bail!("the admin API answered {} listing issues", response.status());
        }
        issues = response.json().await?;
        if issues.len() >= BUGS.len() / 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let seeded: Vec<&Value> = issues.iter().filter(|i| i["kind"] != "anr").take(BUGS.len() / 2).collect();
    for issue in &seeded {
        let url = format!("{api}/admin/api/projects/{project_id}/issues/{}", issue["id"].as_str().unwrap_or_default());
        let response = client.patch(&url).bearer_auth(admin_token).json(&json!({"status": "resolved"})).send().await?;
        if !response.status().is_success() {
            bail!("resolving issue {} failed: {}", issue["id"], response.status());
        }
    }
    // Send each resolved bug again, from a release newer than any seeded one.
    let newer = args.clone_for_regression();
    let again: Vec<Value> = seeded
        .iter()
        .filter_map(|issue| BUGS.iter().position(|(t, m, _)| issue["title"] == format!("{t}: {m}")))
        .map(|bug| seeded_event(bug, &newer, args.releases + 1, OffsetDateTime::now_utc(), false))
        .collect();
    let url = format!("{}/v1/events:batch", args.ingest_url.trim_end_matches('/'));
    let bar = progress(again.len(), "regressions");
    post_batches(client, &url, &args.token, "events", again.clone(), EVENT_BATCH, &bar).await?;
    bar.finish();
    println!("resolved {} issues and sent {} of their errors again", seeded.len(), again.len());
    Ok(())
}

impl SeedEvents {
    fn clone_for_regression(&self) -> SeedEvents {
        SeedEvents {
            token: self.token.clone(),
            events: 0,
            users: self.users,
            releases: self.releases,
            include_anr: false,
            ingest_url: self.ingest_url.clone(),
            include_regression: false,
            admin_token: None,
            project_id: None,
            api_url: self.api_url.clone(),
        }
    }
}

pub async fn spans(args: SeedSpans) -> anyhow::Result<()> {
    let mut rng = rand::rng();
    let now = OffsetDateTime::now_utc();
    let mut spans = Vec::new();
    for _ in 0..args.traces {
        let trace_id = uuid::Uuid::now_v7();
        let root_id = uuid::Uuid::now_v7();
        let start = now - time::Duration::seconds(rng.random_range(0..7 * 24 * 3600));
        let children = rng.random_range(3..9);
        let mut offset = 5i64;
        let mut root_status = "ok";
        for _ in 0..children {
            let duration = rng.random_range(5..400);
            let failed = rng.random_bool(0.05);
            if failed {
                root_status = "error";
            }
            let (op, name) = *[("http.client", "GET /api/products"), ("db.query", "SELECT products"), ("ui.render", "ProductList")]
                .choose(&mut rng)
                .expect("operations");
            spans.push(json!({
                "id": uuid::Uuid::now_v7(), "traceId": trace_id, "parentSpanId": root_id,
                "op": op, "name": name, "startedAt": timestamp(start + time::Duration::milliseconds(offset)),
                "durationMs": duration, "status": if failed { "error" } else { "ok" },
                "tags": {"synthetic": "seed-spans"}
            }));
            offset += duration / 2;
        }
        let screen = *["Home", "Cart", "Checkout", "Profile"].choose(&mut rng).expect("screens");
        spans.push(json!({
            "id": root_id, "traceId": trace_id, "parentSpanId": null,
            "op": "react.navigation", "name": screen,
            "startedAt": timestamp(start), "durationMs": offset + 50, "status": root_status,
            "tags": {"synthetic": "seed-spans"}
        }));
    }
    let url = format!("{}/v1/spans:batch", args.ingest_url.trim_end_matches('/'));
    let bar = progress(spans.len(), "spans");
    let accepted = post_batches(&reqwest::Client::new(), &url, &args.token, "spans", spans, SPAN_BATCH, &bar).await?;
    bar.finish();
    println!("seeded {accepted} spans in {} traces", args.traces);
    Ok(())
}
