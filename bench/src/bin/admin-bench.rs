//! `make bench`: the admin API's issue list and issue page on a big project.
//!
//! One project is seeded with `COPY`: 1 000 000 events (realistic ~3 KB
//! payloads) over 10 000 issues with a Zipf skew (the biggest issue has about
//! a tenth of all events, most have a few dozen), mixed statuses, eight
//! releases, two environments and 30 days of history, plus the issues'
//! hourly counts. Then the real release admin-api is started, the bench logs
//! in as the dashboard does (session cookie), and requests every status tab,
//! sort and filter of the issue list (the first page and a later one, by
//! cursor), and everything the issue page loads (the issue with its tag
//! distribution, the latest event with its neighbours, the event list),
//! sequentially after a warm-up. One line per case goes to stderr; the worst
//! p95 of the list and of the issue page are the `bench: issue_list_p95_ms`
//! and `bench: issue_detail_p95_ms` lines. The releases list, which both
//! pages load for their release pickers, has a line of its own,
//! `bench: releases_list_p95_ms`, and the worst of what a release's page
//! loads (its row, series and issues) `bench: release_page_p95_ms`. Then the same pages in headless Chromium,
//! navigation to content against the dashboard's floor (see
//! e2e/browser/bench/navigation.mjs; `BENCH_BROWSER=0` skips them).
//!
//! The baseline is the API's own SQL run straight on PostgreSQL: a second
//! admin-api, reached only to learn what a request runs, sends its
//! statements through a recording proxy (`sql_replay`), and every measured
//! request is followed by a replay of that request's statements, with the
//! same parameters, from the bench's own pool (the session look-up
//! included). Each figure has its case's `…_sql_p95_ms` and the ratio of the
//! two, `…_vs_sql_ratio`: what HTTP, routing, the session cookie and JSON
//! add to the queries.
//!
//! `BENCH_ADMIN_EVENTS` (default 1 000 000) and `BENCH_ADMIN_ISSUES`
//! (default 10 000, at most a twentieth of the events) shrink the data set,
//! `BENCH_ADMIN_REQUESTS` (default 200) the requests per case. The seeded
//! database is dropped at the end, also when the run fails; while tuning,
//! `BENCH_ADMIN_KEEP=1` keeps it and `BENCH_ADMIN_DATABASE=<name>` runs the
//! requests against a kept one (drop it yourself afterwards).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sentori_bench::sql_replay::{SqlCapture, Statement, replay};
use sentori_bench::{memory_mb, payloads, report};
use processor::seed::COPY_EVENTS;
use sentori_protocol::DEV_PROJECT_ID;
use sentori_store::copy::CopyText;
use sentori_testkit::{ServiceProcess, TestStack};
use serde_json::{Value, json};
use sqlx::PgPool;
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection};
use time::OffsetDateTime;
use uuid::Uuid;

const HOUR_US: i64 = 3_600_000_000;
const DAY_US: i64 = 24 * HOUR_US;
const SPAN_US: i64 = 30 * DAY_US;
const RELEASES: usize = 8;
const ENVIRONMENTS: [&str; 2] = ["prod", "staging"];
/// Rows per `COPY` chunk handed from the generator thread to the sender.
const CHUNK_ROWS: usize = 2_000;
/// The later page measured: this many pages in, by cursor.
const LATER_PAGE: usize = 6;

/// The 1, 5 and 15 minute load averages: other work on the machine shows in the tails.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

#[tokio::main]
async fn main() {
    let event_total = env_usize("BENCH_ADMIN_EVENTS", 1_000_000).max(20);
    let issue_total = env_usize("BENCH_ADMIN_ISSUES", 10_000).clamp(1, event_total / 20);
    let requests = env_usize("BENCH_ADMIN_REQUESTS", 200).max(20);
    let reuse = std::env::var("BENCH_ADMIN_DATABASE").ok().filter(|d| !d.is_empty());
    let keep = reuse.is_some() || std::env::var("BENCH_ADMIN_KEEP").is_ok_and(|v| v == "1");

    let stack = match &reuse {
        Some(name) => existing_stack(name),
        None => TestStack::new().await,
    };
    let drop_database = DropDatabase::new(&stack.database_url);
    let drop_database = if keep {
        eprintln!("keeping database {} (BENCH_ADMIN_DATABASE={0} reuses it)", drop_database.name);
        std::mem::forget(drop_database);
        None
    } else {
        Some(drop_database)
    };
    let pool = stack.pool().await;
    if reuse.is_none() {
        let started = Instant::now();
        seed(&pool, event_total, issue_total).await;
        eprintln!("seeded {event_total} events over {issue_total} issues in {:.0} s", started.elapsed().as_secs_f64());
    }
    let seeded = Seeded::read(&pool).await;
    eprintln!("database: {} events, {} issues, {}", seeded.event_count, seeded.issue_ids.len(), database_size(&pool).await);

    let mut env = stack.service_env();
    env.push(("RUST_LOG".into(), "error".into()));
    let api = ServiceProcess::start("admin-api", "SENTORI_ADMIN_API_ADDR", &env).await;
    let capture = SqlCapture::start(&stack.database_url).await;
    let recording_env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| if k == "SENTORI_DATABASE_URL" { (k.clone(), capture.database_url.clone()) } else { (k.clone(), v.clone()) })
        .collect();
    let recording_api = ServiceProcess::start("admin-api", "SENTORI_ADMIN_API_ADDR", &recording_env).await;
    let client = Client::login(&api, "test-password").await;
    let bench = Bench { recorder: client.at(&recording_api), client, capture, pool: pool.clone() };

    eprintln!("load average before the requests: {}", load_average());
    let list_worst = list_cases(&bench, &seeded, requests).await;
    let (detail_worst, releases) = detail_cases(&bench, &pool, &seeded, requests).await;
    let release_page = release_page_cases(&bench, &seeded, requests).await;

    eprintln!("load average after the requests: {}", load_average());
    let (rss, hwm) = memory_mb(api.pid());
    eprintln!("admin-api memory: {rss:.1} MiB resident, {hwm:.1} MiB peak");
    eprintln!("worst list case: {} ; worst issue-page case: {}", list_worst.name, detail_worst.name);
    let cases = [("issue_list", &list_worst), ("issue_detail", &detail_worst), ("releases_list", &releases), ("release_page", &release_page)];
    for (name, case) in cases {
        report(&format!("{name}_p95_ms"), case.api_p95, "ms");
        report(&format!("{name}_sql_p95_ms"), case.sql_p95, "ms");
        report(&format!("{name}_vs_sql_ratio"), case.api_p95 / case.sql_p95, "ratio");
    }
    drop((api, recording_api));
    if std::env::var("BENCH_BROWSER").is_ok_and(|v| v == "0") {
        eprintln!("BENCH_BROWSER=0: no browser navigation figures");
    } else {
        browser_navigation(&stack, &seeded).await;
    }
    pool.close().await;
    if let Some(guard) = drop_database {
        // The database and the session's Valkey keys; the guard only covers a failed run.
        let name = guard.name.clone();
        std::mem::forget(guard);
        stack.remove().await;
        eprintln!("dropped database {name}");
    }
}

/// The dashboard's issue list and issue page in headless Chromium, against
/// an admin API serving the built dashboard on this seed:
/// e2e/browser/bench/navigation.mjs prints its own `bench:` lines.
async fn browser_navigation(stack: &TestStack, seeded: &Seeded) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the repository");
    let web = root.join("web/dist");
    assert!(web.join("index.html").is_file(), "{} is not built (make bench builds it; BENCH_BROWSER=0 skips this)", web.display());
    let mut env = stack.service_env();
    env.push(("RUST_LOG".into(), "error".into()));
    env.push(("SENTORI_WEB_DIR".into(), web.display().to_string()));
    let api = ServiceProcess::start("admin-api", "SENTORI_ADMIN_API_ADDR", &env).await;
    let status = std::process::Command::new("node")
        .arg(root.join("e2e/browser/bench/navigation.mjs"))
        .env("SENTORI_WEB_URL", api.url(""))
        .env("SENTORI_ADMIN_PASSWORD", "test-password")
        .env("BENCH_PROJECT", DEV_PROJECT_ID.to_string())
        .env("BENCH_ISSUE", seeded.biggest.to_string())
        .status()
        .expect("running node (make bench installs e2e/browser's packages)");
    assert!(status.success(), "the browser navigation bench failed");
}

// --- The database: dropped however the run ends ------------------------------

/// The slice of the test stack around an already seeded database.
fn existing_stack(name: &str) -> TestStack {
    let admin: PgConnectOptions =
        std::env::var("SENTORI_TEST_DATABASE_URL").expect("SENTORI_TEST_DATABASE_URL").parse().expect("a PostgreSQL URL");
    TestStack {
        database_url: admin.database(name).to_url_lossy().to_string(),
        valkey_url: std::env::var("SENTORI_TEST_VALKEY_URL").expect("SENTORI_TEST_VALKEY_URL"),
        namespace: format!("bench-{}", Uuid::new_v4().simple()),
        dev_token: format!("dev-{}", Uuid::new_v4().simple()),
    }
}

/// Drops the bench's database when the run ends, also by a panic: a seeded
/// database takes gigabytes, and `TestStack` never drops its databases.
struct DropDatabase {
    admin: PgConnectOptions,
    name: String,
}

impl DropDatabase {
    fn new(database_url: &str) -> Self {
        let options: PgConnectOptions = database_url.parse().expect("a PostgreSQL URL");
        let name = options.get_database().expect("the test database has a name").to_owned();
        let admin_url = std::env::var("SENTORI_TEST_DATABASE_URL").expect("SENTORI_TEST_DATABASE_URL");
        Self { admin: admin_url.parse().expect("a PostgreSQL URL"), name }
    }
}

impl Drop for DropDatabase {
    fn drop(&mut self) {
        let (admin, name) = (self.admin.clone(), self.name.clone());
        // Drop may run inside the runtime: a thread of its own can block.
        let outcome = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
            runtime.block_on(async move {
                let mut conn = admin.connect().await?;
                sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut conn).await?;
                conn.close().await
            })
        })
        .join();
        match outcome {
            Ok(Ok(())) => eprintln!("dropped database {}", self.name),
            _ => eprintln!("could not drop database {}: drop it by hand", self.name),
        }
    }
}

async fn database_size(pool: &PgPool) -> String {
    sqlx::query_scalar("SELECT pg_size_pretty(pg_database_size(current_database()))").fetch_one(pool).await.unwrap_or_default()
}

// --- Seeding --------------------------------------------------------------------

struct Release {
    id: Uuid,
    name: String,
    /// Microseconds since the epoch.
    first_seen: i64,
}

/// An issue as planned before its events exist.
struct IssuePlan {
    id: Uuid,
    fingerprint: String,
    events: usize,
    start: i64,
    end: i64,
    anr: bool,
    level: &'static str,
    error_type: String,
    message: String,
    culprit: String,
    /// How many distinct users its events come from, at most.
    user_pool: u32,
    /// Only ever seen in staging.
    staging_only: bool,
}

/// What the events of one issue turned out to be, for its row.
#[derive(Clone, Default)]
struct IssueStats {
    first: i64,
    last: i64,
    first_release: usize,
    last_release: usize,
    last_environment: usize,
    users: Vec<u64>,
}

/// What the cases need to know about the seeded data, read back from it.
struct Seeded {
    event_count: i64,
    issue_ids: Vec<Uuid>,
    /// The issue with the most events.
    biggest: Uuid,
    /// Oldest first.
    releases: Vec<String>,
}

impl Seeded {
    async fn read(pool: &PgPool) -> Self {
        let issue_ids: Vec<Uuid> = sqlx::query_scalar("SELECT id FROM issues WHERE project_id = $1 ORDER BY short_id")
            .bind(DEV_PROJECT_ID)
            .fetch_all(pool)
            .await
            .expect("issues");
        let biggest = sqlx::query_scalar("SELECT id FROM issues WHERE project_id = $1 ORDER BY event_count DESC LIMIT 1")
            .bind(DEV_PROJECT_ID)
            .fetch_one(pool)
            .await
            .expect("a seeded database");
        let releases = sqlx::query_scalar("SELECT name FROM releases WHERE project_id = $1 ORDER BY first_seen")
            .bind(DEV_PROJECT_ID)
            .fetch_all(pool)
            .await
            .expect("releases");
        let event_count = sqlx::query_scalar("SELECT sum(event_count)::bigint FROM issues WHERE project_id = $1")
            .bind(DEV_PROJECT_ID)
            .fetch_one(pool)
            .await
            .expect("events");
        Self { event_count, issue_ids, biggest, releases }
    }
}

/// Search terms: a common one (a tenth of the issues and more) and a rare one
/// (one property name of 200), and an error type.
const COMMON_SEARCH: &str = "TypeError";
const RARE_SEARCH: &str = "frozenPayment";
const ERROR_TYPE: &str = "ChunkLoadError";

const ERROR_TYPES: [&str; 10] = [
    "TypeError",
    "RangeError",
    "ReferenceError",
    "NetworkError",
    "ChunkLoadError",
    "SyntaxError",
    "AbortError",
    "SecurityError",
    "NotFoundError",
    "QuotaExceededError",
];
const ADJECTIVES: [&str; 20] = [
    "selected", "pending", "cached", "remote", "local", "current", "previous", "active", "stale", "draft", "shared", "primary",
    "hidden", "nested", "parsed", "queued", "signed", "default", "visible", "frozen",
];
const NOUNS: [&str; 10] = ["Variant", "Cart", "Coupon", "Session", "Order", "Address", "Token", "Basket", "Profile", "Payment"];
const FUNCTIONS: [&str; 8] = ["render", "commit", "fetchCart", "applyCoupon", "onPress", "navigate", "parse", "reduce"];
const FILES: [&str; 6] =
    ["src/cart.ts", "src/api/client.ts", "src/screens/Checkout.tsx", "src/store.ts", "src/util/date.ts", "src/App.tsx"];
const DEVICES: [(&str, &str, &str); 6] = [
    ("android", "14", "Pixel 8"),
    ("android", "13", "Galaxy S23"),
    ("android", "15", "Pixel 7a"),
    ("iOS", "18.1", "iPhone 15"),
    ("iOS", "17.5", "iPhone 13"),
    ("android", "14", "Redmi Note 12"),
];

fn plan_issues(rng: &mut StdRng, event_total: usize, issue_total: usize, now: i64) -> Vec<IssuePlan> {
    // Zipf (s = 1): the issue of rank r gets a share proportional to 1/r.
    let harmonic: f64 = (1..=issue_total).map(|r| 1.0 / r as f64).sum();
    let mut counts: Vec<usize> =
        (1..=issue_total).map(|r| ((event_total as f64 / (harmonic * r as f64)) as usize).max(1)).collect();
    let sum: usize = counts.iter().sum();
    counts[0] = (counts[0] as i64 + event_total as i64 - sum as i64).max(1) as usize;
    let span_start = now - SPAN_US;
    counts
        .into_iter()
        .enumerate()
        .map(|(rank, events)| {
            // The biggest issues run the whole month; the rest start any
            // time, and half of them have stopped since.
            let (start, end) = if rank < issue_total / 100 + 1 {
                (span_start + rng.random_range(0..SPAN_US / 10), now - rng.random_range(0..600_000_000))
            } else {
                let start = span_start + rng.random_range(0..SPAN_US);
                let end = if rng.random_bool(0.5) {
                    now - rng.random_range(0..6 * HOUR_US)
                } else {
                    start + rng.random_range(0..=(now - start) / 2)
                };
                (start, end.max(start))
            };
            let (start, end) = if events == 1 { (start, start) } else { (start, end) };
            let anr = rng.random_bool(0.05);
            let error_type = if anr {
                "ApplicationNotResponding".to_owned()
            } else {
                ERROR_TYPES[rng.random_range(0..ERROR_TYPES.len())].to_owned()
            };
            let property =
                format!("{}{}", ADJECTIVES[rng.random_range(0..ADJECTIVES.len())], NOUNS[rng.random_range(0..NOUNS.len())]);
            let message = if anr {
                format!("main thread blocked for {} ms while loading {property}", 2000 + rng.random_range(0..8) * 500)
            } else {
                format!("Cannot read properties of undefined (reading '{property}')")
            };
            let function = FUNCTIONS[rank % FUNCTIONS.len()];
            let file = FILES[(rank / 7) % FILES.len()];
            IssuePlan {
                id: Uuid::new_v4(),
                fingerprint: Uuid::new_v4().simple().to_string(),
                events,
                start,
                end,
                anr,
                level: if anr { "error" } else { ["error", "error", "error", "fatal", "warning"][rng.random_range(0..5)] },
                error_type,
                message,
                culprit: format!("{function}{rank}({file})"),
                user_pool: rng.random_range(1..=5000),
                staging_only: rng.random_bool(0.02),
            }
        })
        .collect()
}

fn plan_releases(now: i64) -> Vec<Release> {
    let step = SPAN_US / RELEASES as i64;
    (0..RELEASES)
        .map(|k| Release {
            id: sentori_protocol::release_id(DEV_PROJECT_ID, &format!("shop@1.{k}.0")),
            name: format!("shop@1.{k}.0"),
            first_seen: now - SPAN_US - DAY_US + DAY_US / 2 + k as i64 * step,
        })
        .collect()
}

/// The release an event at `at` comes from: mostly the newest one out by
/// then, some from the two before it (users who have not updated).
fn release_at(releases: &[Release], at: i64, rng: &mut StdRng) -> usize {
    let newest = releases.iter().rposition(|r| r.first_seen <= at).unwrap_or(0);
    let lag = match rng.random_range(0..10) {
        0..7 => 0,
        7..9 => 1,
        _ => 2,
    };
    newest.saturating_sub(lag)
}

/// A time in the plan's microseconds.
fn at(micros: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(micros as i128 * 1000).expect("a valid time")
}

/// Writes a planned time into a row (plan times are always in range).
fn time_field(rows: &mut CopyText, micros: i64) {
    rows.timestamp(at(micros)).expect("a time PostgreSQL can read");
}

fn rfc3339(micros: i64) -> String {
    at(micros).format(&time::format_description::well_known::Rfc3339).expect("formatting")
}

/// A row of `issue_hourly` or `release_hourly`: project, what is counted, hour, count.
fn hourly_row(rows: &mut CopyText, id: Uuid, hour: i64, count: i64) {
    rows.uuid(DEV_PROJECT_ID);
    rows.uuid(id);
    time_field(rows, hour);
    rows.integer(count);
    rows.end_row();
}

fn v7_at(micros: i64, rng: &mut StdRng) -> Uuid {
    let secs = micros.div_euclid(1_000_000) as u64;
    let nanos = (micros.rem_euclid(1_000_000) * 1000) as u32 + rng.random_range(0..1000);
    Uuid::new_v7(uuid::Timestamp::from_unix(uuid::NoContext, secs, nanos))
}

async fn copy_in(pool: &PgPool, statement: &str, mut chunks: tokio::sync::mpsc::Receiver<Vec<u8>>) {
    let mut conn = pool.acquire().await.expect("a connection");
    let mut copy = conn.copy_in_raw(statement).await.expect("COPY starts");
    while let Some(chunk) = chunks.recv().await {
        copy.send(chunk).await.expect("COPY data");
    }
    copy.finish().await.expect("COPY finishes");
}

async fn copy_rows(pool: &PgPool, statement: &str, rows: CopyText) {
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    tx.send(rows.into_bytes()).await.expect("channel");
    drop(tx);
    copy_in(pool, statement, rx).await;
}

async fn seed(pool: &PgPool, event_total: usize, issue_total: usize) {
    let mut rng = StdRng::seed_from_u64(7);
    let now = (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1000) as i64;
    let issues = plan_issues(&mut rng, event_total, issue_total, now);
    let releases = plan_releases(now);

    // The month before this one needs its partition, as it would have had.
    sqlx::query(
        "SELECT sentori_ensure_month_partition(t, (date_trunc('month', now()) - interval '1 month')::date)
           FROM unnest(ARRAY['events', 'spans']) AS t",
    )
    .execute(pool)
    .await
    .expect("last month's partitions");

    // Every event's time and issue, in time order, as the processor would
    // have written them: an issue's events are spread over the table.
    let mut schedule: Vec<(i64, u32)> = Vec::with_capacity(event_total);
    for (i, issue) in issues.iter().enumerate() {
        for _ in 0..issue.events {
            let at = if issue.end > issue.start { rng.random_range(issue.start..=issue.end) } else { issue.start };
            schedule.push((at, i as u32));
        }
    }
    schedule.sort_unstable();

    let started = Instant::now();
    let (tx, rx) = tokio::sync::mpsc::channel::<Vec<u8>>(4);
    let generator = {
        let issues: Vec<(Uuid, bool, &'static str, String, String, u32, bool)> = issues
            .iter()
            .map(|i| (i.id, i.anr, i.level, i.error_type.clone(), i.message.clone(), i.user_pool, i.staging_only))
            .collect();
        let release_names: Vec<(String, i64)> = releases.iter().map(|r| (r.name.clone(), r.first_seen)).collect();
        std::thread::spawn(move || {
            let releases: Vec<Release> =
                release_names.into_iter().map(|(name, first_seen)| Release { id: Uuid::nil(), name, first_seen }).collect();
            let mut rng = StdRng::seed_from_u64(11);
            let mut stats = vec![IssueStats { first: i64::MAX, ..Default::default() }; issues.len()];
            let mut hourly: HashMap<(u32, i64), i64> = HashMap::new();
            let mut release_hourly: HashMap<(usize, i64), i64> = HashMap::new();
            let mut rows = CopyText::with_capacity(CHUNK_ROWS * 4096);
            for (n, &(received, issue_index)) in schedule.iter().enumerate() {
                let (issue_id, anr, level, error_type, message, user_pool, staging_only) = &issues[issue_index as usize];
                let timestamp = received - rng.random_range(0..3_000_000);
                let release = release_at(&releases, received, &mut rng);
                let environment = if *staging_only || rng.random_bool(0.15) { 1 } else { 0 };
                let user = rng.random_range(0..*user_pool);
                let (os, os_version, model) = DEVICES[rng.random_range(0..DEVICES.len())];
                let id = v7_at(received, &mut rng);

                let mut payload = payloads::event(issue_index as usize, *anr);
                payload["id"] = json!(id);
                payload["timestamp"] = json!(rfc3339(timestamp));
                payload["release"] = json!(releases[release].name);
                payload["environment"] = json!(ENVIRONMENTS[environment]);
                payload["user"] = json!({ "id": format!("user-{user}") });
                payload["device"] = json!({
                    "os": os, "osVersion": os_version, "model": model, "locale": "en-GB",
                    "installId": format!("i-{user}")
                });
                payload["app"]["framework"]["version"] = json!(["0.76", "0.75"][rng.random_range(0..2)]);
                payload["error"]["type"] = json!(error_type);
                payload["error"]["message"] = json!(message);

                // The columns of the processor's own COPY, in its order.
                rows.uuid(DEV_PROJECT_ID);
                rows.uuid(id);
                time_field(&mut rows, received);
                time_field(&mut rows, timestamp);
                rows.uuid(*issue_id);
                rows.text(if *anr { "anr" } else { "error" });
                rows.text(level);
                rows.text("javascript");
                rows.text(&releases[release].name);
                rows.text(ENVIRONMENTS[environment]);
                rows.text(&format!("user:user-{user}"));
                rows.null();
                rows.null();
                rows.text("sentori.javascript/1.0.0");
                rows.text(&format!("{error_type}: {message}"));
                rows.text(os);
                rows.text(os_version);
                rows.text(model);
                let framework = &payload["app"]["framework"];
                rows.text(&format!("{} {}", framework["name"].as_str().unwrap_or(""), framework["version"].as_str().unwrap_or("")));
                rows.null();
                rows.json(&payload).expect("JSON");
                rows.end_row();

                let s = &mut stats[issue_index as usize];
                if s.users.is_empty() {
                    s.users = vec![0; 5000 / 64 + 1];
                }
                s.users[user as usize / 64] |= 1 << (user % 64);
                if timestamp < s.first {
                    (s.first, s.first_release) = (timestamp, release);
                }
                if timestamp >= s.last {
                    (s.last, s.last_release, s.last_environment) = (timestamp, release, environment);
                }
                *hourly.entry((issue_index, timestamp.div_euclid(HOUR_US) * HOUR_US)).or_default() += 1;
                *release_hourly.entry((release, timestamp.div_euclid(HOUR_US) * HOUR_US)).or_default() += 1;

                if (n + 1) % CHUNK_ROWS == 0 {
                    if tx.blocking_send(rows.take()).is_err() {
                        break;
                    }
                    if (n + 1) % 100_000 == 0 {
                        eprintln!("  {} events copied", n + 1);
                    }
                }
            }
            if !rows.is_empty() {
                let _ = tx.blocking_send(rows.into_bytes());
            }
            (stats, hourly, release_hourly)
        })
    };
    copy_in(pool, COPY_EVENTS, rx).await;
    let (stats, hourly, release_hourly) = generator.join().expect("the generator thread");
    eprintln!("  events: {:.0} s", started.elapsed().as_secs_f64());

    let mut rows = CopyText::with_capacity(4096);
    for r in &releases {
        rows.uuid(DEV_PROJECT_ID);
        rows.uuid(r.id);
        rows.text(&r.name);
        time_field(&mut rows, r.first_seen);
        rows.null();
        rows.null();
        rows.end_row();
    }
    copy_rows(pool, "COPY releases (project_id, id, name, first_seen, deploy_at, environment) FROM STDIN", rows).await;
    // The releases' rollups, which the releases list reads (the seed has no sessions).
    let mut rows = CopyText::with_capacity(release_hourly.len() * 80);
    for ((release, hour), count) in &release_hourly {
        hourly_row(&mut rows, releases[*release].id, *hour, *count);
    }
    copy_rows(pool, "COPY release_hourly (project_id, release_id, hour, events) FROM STDIN", rows).await;

    // Short ids in the order the issues appeared, as the processor numbers them.
    let mut order: Vec<usize> = (0..issues.len()).collect();
    order.sort_by_key(|&i| stats[i].first);
    let mut rows = CopyText::with_capacity(issues.len() * 512);
    for (short, &i) in order.iter().enumerate() {
        let (issue, s) = (&issues[i], &stats[i]);
        let recent = s.last > now - 3 * DAY_US;
        // Issues still happening are mostly open; old ones mostly resolved.
        let roll = rng.random_range(0..100);
        let status = match (recent, roll) {
            (true, 0..80) => "active",
            (true, 80..92) => "regressed",
            (true, _) => "silenced",
            (false, 0..65) => "resolved",
            (false, 65..90) => "active",
            (false, _) => "silenced",
        };
        let resolved_at = (status == "resolved").then(|| (s.last + rng.random_range(0..2 * DAY_US)).min(now));
        let resolved_in = (status == "resolved" && rng.random_bool(0.5)).then(|| releases[s.last_release].name.as_str());
        let regressed_at = (status == "regressed").then(|| (s.last - rng.random_range(0..2 * DAY_US)).max(s.first));
        let user_count: u32 = s.users.iter().map(|w| w.count_ones()).sum();
        let components = json!([
            format!("type:{}", issue.error_type),
            format!("frame:{}", issue.culprit),
            format!("message:{}", issue.message)
        ]);
        let title = format!("{}: {}", issue.error_type, issue.message);
        rows.uuid(DEV_PROJECT_ID);
        rows.uuid(issue.id);
        rows.integer(short as i64 + 1);
        rows.text(&issue.fingerprint);
        rows.json(&components).expect("JSON");
        rows.text(&title);
        rows.text(&issue.culprit);
        rows.text(&issue.error_type);
        rows.text(if issue.anr { "anr" } else { "error" });
        rows.text(issue.level);
        rows.text(status);
        rows.optional(resolved_in, CopyText::text);
        rows.optional(resolved_at, time_field);
        rows.optional(regressed_at, time_field);
        rows.integer(i64::from(regressed_at.is_some()));
        rows.integer(issue.events as i64);
        rows.integer(i64::from(user_count));
        time_field(&mut rows, s.first);
        time_field(&mut rows, s.last);
        rows.text(&releases[s.first_release].name);
        rows.text(&releases[s.last_release].name);
        rows.text(ENVIRONMENTS[s.last_environment]);
        rows.end_row();
    }
    copy_rows(
        pool,
        "COPY issues (project_id, id, short_id, fingerprint, components, title, culprit, type, kind, level, status,
                      resolved_in_release, resolved_at, regressed_at, regression_count, event_count, user_count,
                      first_seen, last_seen, first_release, last_release, last_environment) FROM STDIN",
        rows,
    )
    .await;
    sqlx::query("UPDATE projects SET next_short_id = $2 WHERE id = $1")
        .bind(DEV_PROJECT_ID)
        .bind(issues.len() as i64 + 1)
        .execute(pool)
        .await
        .expect("next short id");

    let mut rows = CopyText::with_capacity(hourly.len() * 80);
    for ((issue_index, hour), count) in &hourly {
        hourly_row(&mut rows, issues[*issue_index as usize].id, *hour, *count);
    }
    copy_rows(pool, "COPY issue_hourly (project_id, issue_id, hour, count) FROM STDIN", rows).await;

    // Steady state, as autovacuum leaves it: statistics, and a visibility
    // map that lets index-only scans skip the heap.
    let started = Instant::now();
    for table in ["events", "issues", "issue_hourly", "releases", "release_hourly", "projects"] {
        sqlx::query(&format!("VACUUM (ANALYZE) {table}")).execute(pool).await.expect("VACUUM ANALYZE");
    }
    eprintln!("  vacuum analyze: {:.0} s", started.elapsed().as_secs_f64());
}

// --- Requests -------------------------------------------------------------------

struct Client {
    http: reqwest::Client,
    base: String,
    cookie: String,
}

/// The measured admin-api and what the baseline needs.
struct Bench {
    client: Client,
    /// The same session on the admin-api whose statements `capture` records.
    recorder: Client,
    capture: SqlCapture,
    /// The bench's own connections, for the replays.
    pool: PgPool,
}

impl Client {
    /// Logs in with the operator password, as the dashboard does.
    async fn login(api: &ServiceProcess, password: &str) -> Self {
        let http = reqwest::Client::builder().timeout(Duration::from_secs(60)).build().expect("HTTP client");
        let response =
            http.post(api.url("/admin/api/login")).json(&json!({ "password": password })).send().await.expect("login answers");
        assert!(response.status().is_success(), "login: {}", response.status());
        let cookie = response
            .headers()
            .get_all(reqwest::header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|v| v.split(';').next().filter(|pair| pair.starts_with("sentori_session=")))
            .expect("a session cookie")
            .to_owned();
        Self { http, base: api.url("/admin/api"), cookie }
    }

    /// The same session on another admin-api of the same database.
    fn at(&self, api: &ServiceProcess) -> Self {
        Self { http: self.http.clone(), base: api.url("/admin/api"), cookie: self.cookie.clone() }
    }

    /// One GET: its latency, body and next-page cursor.
    async fn get(&self, path: &str) -> (Duration, Value, Option<String>) {
        let started = Instant::now();
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .header(reqwest::header::COOKIE, &self.cookie)
            .send()
            .await
            .expect("admin-api answers");
        let status = response.status();
        let cursor = response.headers().get("x-next-cursor").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let body: Value = response.json().await.unwrap_or(Value::Null);
        let elapsed = started.elapsed();
        assert!(status.is_success(), "GET {path}: {status} {body}");
        (elapsed, body, cursor)
    }
}

/// Latencies of one case, in milliseconds.
struct Latencies(Vec<f64>);

impl Latencies {
    fn quantile(&self, q: f64) -> f64 {
        let mut sorted = self.0.clone();
        sorted.sort_by(f64::total_cmp);
        // Nearest rank.
        let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
        sorted[rank - 1]
    }
}

/// One case measured: the API's latencies, and its statements' replayed
/// right after each request.
struct Case {
    api: Latencies,
    sql: Latencies,
    rows: usize,
}

/// Requests each of `paths` in turn, `requests` times in all, one at a time,
/// after a tenth as many unmeasured ones (so with many paths, most measured
/// requests still find their rows outside PostgreSQL's buffers); after each
/// request, its statements are replayed and timed too (A B A B …).
async fn measure(bench: &Bench, paths: &[String], requests: usize) -> Case {
    // What each path runs, recorded on its second request (the first fills
    // the recording admin-api's caches of prepared statements).
    let mut statements: HashMap<&str, Vec<Statement>> = HashMap::new();
    for path in paths {
        if !statements.contains_key(path.as_str()) {
            bench.recorder.get(path).await;
            let (_, recorded) = bench.capture.record(bench.recorder.get(path)).await;
            assert!(!recorded.is_empty(), "GET {path} ran no SQL through the recording proxy");
            statements.insert(path, recorded);
        }
    }
    for path in paths.iter().cycle().take(requests / 10) {
        bench.client.get(path).await;
        replay(&bench.pool, &statements[path.as_str()]).await;
    }
    let mut case = Case { api: Latencies(Vec::with_capacity(requests)), sql: Latencies(Vec::with_capacity(requests)), rows: 0 };
    for path in paths.iter().cycle().take(requests) {
        let (elapsed, body, _) = bench.client.get(path).await;
        case.rows = body.as_array().map_or(1, Vec::len);
        case.api.0.push(elapsed.as_secs_f64() * 1000.0);
        let started = Instant::now();
        replay(&bench.pool, &statements[path.as_str()]).await;
        case.sql.0.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    case
}

/// A case's p95s, of the API and of its SQL alone.
#[derive(Clone, Default)]
struct Worst {
    name: String,
    api_p95: f64,
    sql_p95: f64,
}

fn print_case(name: &str, case: &Case) -> Worst {
    let (api_p95, sql_p95) = (case.api.quantile(0.95), case.sql.quantile(0.95));
    eprintln!(
        "case {name:<62} p50 {:>7.2} ms  p95 {api_p95:>7.2} ms  max {:>7.2} ms  sql p50 {:>7.2} ms  p95 {sql_p95:>7.2} ms  \
         ×{:.2}  ({} rows)",
        case.api.quantile(0.5),
        case.api.quantile(1.0),
        case.sql.quantile(0.5),
        api_p95 / sql_p95,
        case.rows
    );
    Worst { name: name.to_owned(), api_p95, sql_p95 }
}

/// The cursor of page `LATER_PAGE` of `path`, or of its last page when it has fewer.
async fn later_cursor(client: &Client, path: &str) -> Option<(usize, String)> {
    let mut cursor: Option<String> = None;
    let mut page = 1;
    while page < LATER_PAGE {
        let url = match &cursor {
            Some(c) => format!("{path}&cursor={c}"),
            None => path.to_owned(),
        };
        match client.get(&url).await.2 {
            Some(next) => {
                cursor = Some(next);
                page += 1;
            }
            None => break,
        }
    }
    cursor.map(|c| (page, c))
}

fn keep_worst(worst: &mut Worst, case: Worst) {
    if case.api_p95 > worst.api_p95 {
        *worst = case;
    }
}

async fn list_cases(bench: &Bench, seeded: &Seeded, requests: usize) -> Worst {
    let pid = DEV_PROJECT_ID;
    let newest = seeded.releases.last().expect("releases").clone();
    let oldest = seeded.releases.first().expect("releases").clone();
    let sorts = ["lastSeen", "firstSeen", "events", "users"];
    let mut cases: Vec<(String, String)> = Vec::new();
    for status in ["active", "resolved", "silenced", "regressed", "all"] {
        for sort in sorts {
            cases.push((format!("status={status} sort={sort}"), format!("status={status}&sort={sort}")));
        }
    }
    let filters = [
        format!("query={COMMON_SEARCH}"),
        format!("query={RARE_SEARCH}"),
        format!("release={newest}"),
        format!("release={oldest}"),
        "environment=staging".to_owned(),
        "environment=prod".to_owned(),
    ];
    for filter in &filters {
        for sort in sorts {
            cases.push((format!("status=active {filter} sort={sort}"), format!("status=active&{filter}&sort={sort}")));
        }
    }
    for filter in [
        format!("status=all&release={oldest}"),
        "status=all&environment=staging".to_owned(),
        format!("status=all&query={COMMON_SEARCH}"),
        format!("status=active&release={newest}&environment=staging&query={COMMON_SEARCH}"),
        "status=all&kind=anr".to_owned(),
        "status=all&level=warning".to_owned(),
        format!("status=all&type={ERROR_TYPE}"),
    ] {
        cases.push((filter.replace('&', " "), format!("{filter}&sort=lastSeen")));
    }

    let mut worst = Worst::default();
    eprintln!("issue list ({requests} requests a case, limit 50, project {pid}):");
    for (name, query) in cases {
        let query = query.replace('@', "%40");
        let path = format!("/projects/{pid}/issues?{query}&limit=50");
        let case = measure(bench, std::slice::from_ref(&path), requests).await;
        keep_worst(&mut worst, print_case(&format!("list {name} page 1"), &case));
        if let Some((page, cursor)) = later_cursor(&bench.client, &path).await {
            let case = measure(bench, &[format!("{path}&cursor={cursor}")], requests).await;
            keep_worst(&mut worst, print_case(&format!("list {name} page {page}"), &case));
        }
    }
    worst
}

/// Everything the issue page loads, for the biggest issue and for random ones.
async fn detail_cases(bench: &Bench, pool: &PgPool, seeded: &Seeded, requests: usize) -> (Worst, Worst) {
    let pid = DEV_PROJECT_ID;
    let mut rng = StdRng::seed_from_u64(13);
    let random: Vec<Uuid> = (0..requests).map(|_| seeded.issue_ids[rng.random_range(0..seeded.issue_ids.len())]).collect();
    let issue_path = |id: &Uuid| format!("/projects/{pid}/issues/{id}");
    let client = &bench.client;
    let mut worst = Worst::default();
    eprintln!("issue page ({requests} requests a case):");

    let (biggest_count,): (i64,) = sqlx::query_as("SELECT event_count FROM issues WHERE id = $1")
        .bind(seeded.biggest)
        .fetch_one(pool)
        .await
        .expect("the biggest issue");
    let mut run = async |name: String, paths: Vec<String>| {
        let case = measure(bench, &paths, requests).await;
        keep_worst(&mut worst, print_case(&name, &case));
    };
    run(format!("issue detail, biggest issue ({biggest_count} events)"), vec![issue_path(&seeded.biggest)]).await;
    run("issue detail, random issues".into(), random.iter().map(issue_path).collect()).await;

    // The newest event as the issue page asks for it: by the issue's id, beside the issue.
    let latest_path = |issue: &Uuid| format!("/projects/{pid}/issues/{issue}/events/latest");
    run("latest event, biggest issue".into(), vec![latest_path(&seeded.biggest)]).await;
    // An event in the middle of the biggest issue: both neighbours exist.
    let middle: Uuid = sqlx::query_scalar(
        "SELECT id FROM events WHERE project_id = $1 AND issue_id = $2 ORDER BY timestamp DESC, id DESC OFFSET $3 LIMIT 1",
    )
    .bind(pid)
    .bind(seeded.biggest)
    .bind(biggest_count / 2)
    .fetch_one(pool)
    .await
    .expect("a middle event");
    run("event in the middle, biggest issue (previous and next)".into(), vec![format!("/projects/{pid}/events/{middle}")]).await;
    run("latest event, random issues".into(), random.iter().map(latest_path).collect()).await;

    let events_path = format!("/projects/{pid}/issues/{}/events?limit=25", seeded.biggest);
    run("event list, biggest issue, page 1".into(), vec![events_path.clone()]).await;
    if let Some((page, cursor)) = later_cursor(client, &events_path).await {
        run(format!("event list, biggest issue, page {page}"), vec![format!("{events_path}&cursor={cursor}")]).await;
    }
    run(
        "event list, random issues, page 1".into(),
        random.iter().map(|id| format!("/projects/{pid}/issues/{id}/events?limit=25")).collect(),
    )
    .await;

    // The issue page and the list's release filter both load the releases.
    let case = measure(bench, &[format!("/projects/{pid}/releases")], requests).await;
    let releases = print_case("releases list (both pages load it)", &case);
    (worst, releases)
}

/// Everything a release's page loads, for the newest release (the one with
/// the most recent events): its row, its series and the issues it brought.
async fn release_page_cases(bench: &Bench, seeded: &Seeded, requests: usize) -> Worst {
    let newest = seeded.releases.last().expect("releases").replace('@', "%40");
    let release = format!("/projects/{DEV_PROJECT_ID}/releases/{newest}");
    let mut worst = Worst::default();
    eprintln!("release page ({requests} requests a case):");
    for (name, path) in [
        ("release", release.clone()),
        ("release series, 14 days", format!("{release}/series?period=14d")),
        ("release series, 90 days", format!("{release}/series?period=90d")),
        ("release new issues", format!("{release}/issues?which=new")),
        ("release regressions", format!("{release}/issues?which=regressed")),
    ] {
        let case = measure(bench, &[path], requests).await;
        keep_worst(&mut worst, print_case(name, &case));
    }
    worst
}
