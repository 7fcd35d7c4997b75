//! The processor's failure semantics (architecture.md, "Failure semantics"):
//! a processor killed mid-run loses nothing and doubles nothing, two
//! processors on one stream count every event once and announce a regression
//! once, poison entries move to the dead-letter stream without holding back
//! the rest, and a PostgreSQL outage is waited out.
//!
//! Every test ends on exact counts: rows in `events`, each issue's
//! `event_count` and `user_count` against the rows and the events the test
//! generated.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use redis::AsyncCommands;
use redis::aio::MultiplexedConnection;
use redis::streams::{StreamId, StreamRangeReply};
use serde_json::{Value, json};
use sentori_protocol::{DEV_ORG_ID, DEV_PROJECT_ID};
use sentori_queue::{Envelope, ItemKind, Payload, SCHEMA_VERSION, Stream};
use sentori_testkit::{OutageProxy, ServiceProcess, TestStack, eventually, post_event_batches};
use sqlx::PgPool;
use uuid::Uuid;

const PATIENCE: Duration = Duration::from_secs(90);

/// One occurrence of error number `error`; all occurrences of one number
/// share type, message and stack, so they group into one issue.
fn event(id: Uuid, error: usize, seq: usize) -> Value {
    // Some events identify the user, some only the installation, some neither.
    let user = match seq % 7 {
        0 => Value::Null,
        1 | 2 => json!({"anonymous": true}),
        _ => json!({"id": format!("u-{}", seq % 23)}),
    };
    let mut device = json!({"os": "web", "osVersion": "120"});
    if seq % 7 == 1 {
        device["installId"] = json!(format!("install-{}", seq % 5));
    }
    json!({
        "id": id,
        "timestamp": format!("2026-11-26T10:{:02}:{:02}.{:03}Z", (seq / 60) % 60, seq % 60, seq % 1000),
        "kind": "error",
        "platform": "javascript",
        "release": "shop@1.0.0+1",
        "environment": "prod",
        "device": device,
        "app": {"version": "1.0.0"},
        "user": user,
        "error": {
            "type": error_type(error),
            "message": format!("failure number {error}"),
            "stack": [{"file": format!("https://shop.example/assets/module{error}.js"), "line": 10 + seq % 50, "column": 4, "function": format!("step{error}"), "inApp": true}]
        }
    })
}

fn error_type(error: usize) -> String {
    format!("RecoveryError{error}")
}

/// The user key the processor derives (processing.md: `user.id`, else `installId`).
fn user_key(event: &Value) -> Option<String> {
    event["user"]["id"]
        .as_str()
        .map(|id| format!("user:{id}"))
        .or_else(|| event["device"]["installId"].as_str().map(|id| format!("install:{id}")))
}

/// What the stored state must add up to, per error type.
#[derive(Default)]
struct Expected {
    events: usize,
    per_type: BTreeMap<String, (i64, BTreeSet<String>)>,
}

impl Expected {
    fn add(&mut self, event: &Value) {
        self.events += 1;
        let entry = self.per_type.entry(event["error"]["type"].as_str().unwrap().to_owned()).or_default();
        entry.0 += 1;
        entry.1.extend(user_key(event));
    }
}

/// `n` events spread round-robin over `errors` distinct errors, counting
/// every one into `expected`.
fn events(n: usize, errors: usize, expected: &mut Expected) -> Vec<Value> {
    (0..n)
        .map(|seq| {
            let event = event(Uuid::now_v7(), seq % errors, seq);
            expected.add(&event);
            event
        })
        .collect()
}

async fn stored_events(pool: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM events").fetch_one(pool).await.unwrap()
}

async fn xlen(valkey: &mut MultiplexedConnection, key: &str) -> u64 {
    valkey.xlen(key).await.unwrap()
}

/// Entries delivered to a consumer of the `processor` group and not acknowledged.
async fn pending_count(valkey: &mut MultiplexedConnection, key: &str) -> i64 {
    let summary: redis::Value = redis::cmd("XPENDING").arg(key).arg("processor").query_async(valkey).await.unwrap();
    match summary {
        redis::Value::Array(items) => match items.first() {
            Some(redis::Value::Int(n)) => *n,
            other => panic!("unexpected XPENDING summary {other:?}"),
        },
        other => panic!("unexpected XPENDING summary {other:?}"),
    }
}

async fn entries(valkey: &mut MultiplexedConnection, key: &str) -> Vec<StreamId> {
    let reply: StreamRangeReply = valkey.xrange_all(key).await.unwrap();
    reply.ids
}

/// The stored state is exact: every event once, every issue's counters equal
/// to its rows, and both equal to what the test sent.
async fn assert_exact(pool: &PgPool, expected: &Expected) {
    let (rows, distinct): (i64, i64) =
        sqlx::query_as("SELECT count(*), count(DISTINCT id) FROM events").fetch_one(pool).await.unwrap();
    assert_eq!(rows, expected.events as i64, "every event is stored");
    assert_eq!(distinct, rows, "no event is stored twice");

    let issues: Vec<(Uuid, String, i64, i64, i64, i64)> = sqlx::query_as(
        "SELECT i.id, i.type, i.event_count, i.user_count,
                (SELECT count(*) FROM events e WHERE e.issue_id = i.id),
                (SELECT count(DISTINCT e.user_key) FROM events e WHERE e.issue_id = i.id)
           FROM issues i ORDER BY i.type",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let types: Vec<&str> = issues.iter().map(|i| i.1.as_str()).collect();
    let expected_types: Vec<&str> = expected.per_type.keys().map(String::as_str).collect();
    assert_eq!(types, expected_types, "one issue per distinct error");
    for (id, error_type, event_count, user_count, rows, users) in &issues {
        let (sent, sent_users) = &expected.per_type[error_type];
        assert_eq!(event_count, rows, "{error_type} ({id}): event_count matches its stored events");
        assert_eq!(event_count, sent, "{error_type} ({id}): event_count matches the events sent");
        assert_eq!(user_count, users, "{error_type} ({id}): user_count matches the distinct user keys stored");
        assert_eq!(*user_count, sent_users.len() as i64, "{error_type} ({id}): user_count matches the distinct users sent");
    }
    let total: i64 = issues.iter().map(|i| i.2).sum();
    assert_eq!(total, expected.events as i64, "the issues' event counts add up to the events sent");
}

async fn assert_no_dead_letters(stack: &TestStack, valkey: &mut MultiplexedConnection) {
    let dead = stack.keys().dead_letters(Stream::Events);
    let entries = entries(valkey, &dead).await;
    let errors: BTreeSet<String> = entries.iter().filter_map(|e| e.get::<String>("error")).collect();
    assert!(entries.is_empty(), "nothing is dead-lettered, yet {} entries are, for {errors:?}", entries.len());
}

fn processor_env(stack: &TestStack, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut env = stack.service_env();
    env.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    env
}

async fn start_processor(env: &[(String, String)]) -> ServiceProcess {
    ServiceProcess::start("processor", "SENTORI_PROCESSOR_ADDR", env).await
}

async fn start_ingest(stack: &TestStack) -> ServiceProcess {
    ServiceProcess::start("ingest", "SENTORI_INGEST_ADDR", &stack.service_env()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_processor_killed_mid_run_loses_and_doubles_nothing() {
    let stack = TestStack::new().await;
    let pool = stack.pool().await;
    let mut valkey = stack.valkey().await;
    let ingest = start_ingest(&stack).await;
    let client = reqwest::Client::new();
    let env = processor_env(&stack, &[("SENTORI_PROCESSOR_BATCH_SIZE", "50"), ("SENTORI_CLAIM_IDLE_MS", "2000")]);

    let mut expected = Expected::default();
    let all = events(3000, 20, &mut expected);
    let (before, after) = all.split_at(1500);
    post_event_batches(&client, &ingest.url(""), &stack.dev_token, before).await;

    // Processor A works through the first half and is killed in the middle.
    // A kill can fall between an acknowledgement and the next read, leaving
    // nothing pending; then a fresh A is started and killed again, until one
    // dies holding entries that only a claim can recover.
    let mut left_pending = 0;
    let mut stored_at_kill = 0;
    for _ in 0..5 {
        let mut a = start_processor(&env).await;
        let target = stored_at_kill + 150;
        let deadline = std::time::Instant::now() + PATIENCE;
        while stored_events(&pool).await < target {
            assert!(std::time::Instant::now() < deadline, "processor A stored fewer than {target} events");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        a.kill();
        stored_at_kill = stored_events(&pool).await;
        left_pending = pending_count(&mut valkey, &stack.keys().stream(Stream::Events)).await;
        if left_pending > 0 {
            break;
        }
    }
    assert!(left_pending > 0, "a killed processor left entries pending");
    assert!(stored_at_kill < before.len() as i64, "A was killed mid-run ({stored_at_kill} stored)");

    // The second half arrives while no processor runs; B takes over both
    // the new entries and what A left pending.
    post_event_batches(&client, &ingest.url(""), &stack.dev_token, after).await;
    let _b = start_processor(&env).await;
    stack.wait_drained(Stream::Events, PATIENCE).await;

    assert_exact(&pool, &expected).await;
    assert_no_dead_letters(&stack, &mut valkey).await;

    // Every new issue is announced, including any whose announcement A
    // committed but did not live to publish (B's sweep takes those over;
    // the notifier absorbs a double publication, so only presence counts).
    eventually("every announcement to be published", PATIENCE, || async {
        let left: i64 = sqlx::query_scalar("SELECT count(*) FROM announcements").fetch_one(&pool).await.unwrap();
        (left == 0).then_some(())
    })
    .await;
    let announced = announcements(&stack, &mut valkey).await;
    let new: BTreeSet<String> = announced.iter().filter(|(_, reason)| reason == "new").map(|(issue, _)| issue.clone()).collect();
    let issues: Vec<Uuid> = sqlx::query_scalar("SELECT id FROM issues").fetch_all(&pool).await.unwrap();
    let issues: BTreeSet<String> = issues.iter().map(Uuid::to_string).collect();
    assert_eq!(new, issues, "every issue is announced as new");
    assert!(announced.iter().all(|(_, reason)| reason == "new"), "nothing regressed: {announced:?}");
}

/// `(issue id, reason)` of every announcement on the notify stream.
async fn announcements(stack: &TestStack, valkey: &mut MultiplexedConnection) -> Vec<(String, String)> {
    entries(valkey, &stack.keys().stream(Stream::Notify))
        .await
        .iter()
        .map(|entry| {
            let bytes: Vec<u8> = entry.get("envelope").expect("a notify entry has an envelope");
            let envelope = Envelope::decode(&bytes).expect("a notify entry decodes");
            assert_eq!(envelope.kind, ItemKind::Notification);
            let payload = envelope.payload.value().expect("an announcement is JSON");
            let issue = payload["issueId"].as_str().expect("an issueId").to_owned();
            let reason = payload["reason"].as_str().expect("a reason").to_owned();
            (issue, reason)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processors_on_one_stream_count_once_and_announce_a_regression_once() {
    let stack = TestStack::new().await;
    let pool = stack.pool().await;
    let mut valkey = stack.valkey().await;
    let ingest = start_ingest(&stack).await;
    let client = reqwest::Client::new();
    let env = processor_env(&stack, &[("SENTORI_PROCESSOR_BATCH_SIZE", "50")]);
    let (_p1, _p2) = tokio::join!(start_processor(&env), start_processor(&env));

    // Error 0's issue exists and is resolved (in no particular release), so
    // the next event of it from any release is a regression.
    let mut expected = Expected::default();
    let first = event(Uuid::now_v7(), 0, 1);
    expected.add(&first);
    post_event_batches(&client, &ingest.url(""), &stack.dev_token, std::slice::from_ref(&first)).await;
    let resolved: Uuid = eventually("error 0's issue", PATIENCE, || async {
        sqlx::query_scalar("SELECT id FROM issues WHERE type = $1 AND event_count = 1")
            .bind(error_type(0))
            .fetch_optional(&pool)
            .await
            .unwrap()
    })
    .await;
    let updated = sqlx::query("UPDATE issues SET status = 'resolved', resolved_at = now(), resolved_in_release = NULL WHERE id = $1")
        .bind(resolved)
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(updated.rows_affected(), 1);

    // Many small batches, every one with events of error 0, shared by both
    // processors while they run.
    let all = events(2000, 4, &mut expected);
    post_event_batches(&client, &ingest.url(""), &stack.dev_token, &all).await;
    stack.wait_drained(Stream::Events, PATIENCE).await;
    assert_exact(&pool, &expected).await;
    assert_no_dead_letters(&stack, &mut valkey).await;

    // Both processors took entries from the stream. Each runs its event
    // consumers (SENTORI_PROCESSOR_EVENT_WORKERS, 2 by default), named
    // `<host>-<pid>-<unique>`.
    let consumers: Vec<HashMap<String, redis::Value>> = redis::cmd("XINFO")
        .arg("CONSUMERS")
        .arg(stack.keys().stream(Stream::Events))
        .arg("processor")
        .query_async(&mut valkey)
        .await
        .unwrap();
    assert_eq!(consumers.len(), 4, "two event consumers per processor: {consumers:?}");
    let readers: BTreeSet<String> = consumers
        .iter()
        .filter(|c| matches!(c.get("inactive"), Some(redis::Value::Int(ms)) if *ms >= 0))
        .filter_map(|c| match c.get("name") {
            Some(redis::Value::BulkString(name)) => String::from_utf8_lossy(name).rsplitn(2, '-').nth(1).map(str::to_owned),
            _ => None,
        })
        .collect();
    assert_eq!(readers.len(), 2, "both processors read entries: {consumers:?}");

    let (status, regressions): (String, i64) =
        sqlx::query_as("SELECT status, regression_count FROM issues WHERE id = $1").bind(resolved).fetch_one(&pool).await.unwrap();
    assert_eq!(status, "regressed");
    assert_eq!(regressions, 1, "the regression is counted once");

    // Announcements are published right after their batch commits.
    eventually("every announcement to be published", PATIENCE, || async {
        let left: i64 = sqlx::query_scalar("SELECT count(*) FROM announcements").fetch_one(&pool).await.unwrap();
        (left == 0).then_some(())
    })
    .await;
    let announced = announcements(&stack, &mut valkey).await;
    let regressed: Vec<&(String, String)> = announced.iter().filter(|(_, reason)| reason == "regressed").collect();
    assert_eq!(regressed, vec![&(resolved.to_string(), "regressed".to_owned())], "one regression announced, for error 0: {announced:?}");
    let issue_ids: Vec<Uuid> = sqlx::query_scalar("SELECT id FROM issues ORDER BY id").fetch_all(&pool).await.unwrap();
    let mut new: Vec<String> = announced.iter().filter(|(_, reason)| reason == "new").map(|(issue, _)| issue.clone()).collect();
    new.sort();
    let mut expected_new: Vec<String> = issue_ids.iter().map(Uuid::to_string).collect();
    expected_new.sort();
    assert_eq!(new, expected_new, "every issue is announced as new exactly once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poison_entries_move_to_the_dead_letter_stream_and_hold_back_nothing() {
    let stack = TestStack::new().await;
    let pool = stack.pool().await;
    let mut valkey = stack.valkey().await;
    let ingest = start_ingest(&stack).await;
    let client = reqwest::Client::new();
    let stream = stack.keys().stream(Stream::Events);
    let mut expected = Expected::default();
    let good = events(60, 3, &mut expected);

    // Queued before any processor runs, so one batch holds them all:
    // bytes that are not MessagePack, an entry without the envelope field,
    // good events, an envelope whose payload is no event, one whose payload
    // is not JSON, more good events.
    let garbage: String = valkey.xadd(&stream, "*", &[("envelope", &b"\xc1\xc1 not msgpack"[..])]).await.unwrap();
    let fieldless: String = valkey.xadd(&stream, "*", &[("something", "else")]).await.unwrap();
    post_event_batches(&client, &ingest.url(""), &stack.dev_token, &good[..30]).await;
    let unprocessable = Envelope {
        version: SCHEMA_VERSION,
        kind: ItemKind::Event,
        project_id: DEV_PROJECT_ID,
        org_id: DEV_ORG_ID,
        received_at_us: 1_795_000_000_000_000,
        sdk: None,
        payload: Payload::from_value(&json!({"kind": "error", "note": "an event without id or timestamp"})),
    };
    let unprocessable_id: String = valkey.xadd(&stream, "*", &[("envelope", unprocessable.encode().unwrap())]).await.unwrap();
    // The payload travels as text and is parsed by the processor, not by the decoder.
    let not_json = Envelope { payload: Payload::from_json_text("{\"id\": ".into()), ..unprocessable.clone() };
    let not_json_id: String = valkey.xadd(&stream, "*", &[("envelope", not_json.encode().unwrap())]).await.unwrap();
    post_event_batches(&client, &ingest.url(""), &stack.dev_token, &good[30..]).await;
    assert_eq!(xlen(&mut valkey, &stream).await, 64);

    let _processor = start_processor(&stack.service_env()).await;
    stack.wait_drained(Stream::Events, PATIENCE).await;
    assert_exact(&pool, &expected).await;

    let dead = entries(&mut valkey, &stack.keys().dead_letters(Stream::Events)).await;
    let mut by_origin: HashMap<String, (String, Vec<u8>)> = HashMap::new();
    for entry in &dead {
        let origin: String = entry.get("originalId").expect("a dead letter names its original entry");
        let error: String = entry.get("error").expect("a dead letter says why");
        let raw: Vec<u8> = entry.get("envelope").unwrap_or_default();
        assert!(!error.is_empty(), "the reason is not empty for {origin}");
        by_origin.insert(origin, (error, raw));
    }
    assert_eq!(dead.len(), 4, "exactly the four bad entries are dead letters: {by_origin:?}");
    let (error, raw) = &by_origin[&garbage];
    assert!(error.contains("MessagePack"), "{error}");
    assert_eq!(raw, b"\xc1\xc1 not msgpack", "the bytes are kept for a replay");
    assert!(by_origin[&fieldless].0.contains("envelope"), "{}", by_origin[&fieldless].0);
    let (error, raw) = &by_origin[&unprocessable_id];
    assert!(error.contains("id"), "{error}");
    assert_eq!(Envelope::decode(raw).unwrap(), unprocessable, "the envelope is kept for a replay");
    assert!(by_origin[&not_json_id].0.contains("JSON"), "{}", by_origin[&not_json_id].0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_outage_is_waited_out_without_losing_or_doubling_events() {
    let stack = TestStack::new().await;
    let pool = stack.pool().await;
    let mut valkey = stack.valkey().await;
    let ingest = start_ingest(&stack).await;
    let client = reqwest::Client::new();

    let (proxy, _processor) = processor_behind_proxy(&stack).await;

    let mut expected = Expected::default();
    let all = events(1500, 10, &mut expected);
    let (before, during) = all.split_at(500);
    post_event_batches(&client, &ingest.url(""), &stack.dev_token, before).await;
    eventually("the first events to be stored", PATIENCE, || async { (stored_events(&pool).await > 0).then_some(()) }).await;

    // PostgreSQL goes away, connections in use included, while events keep
    // arriving. The outage lasts until the processor has tried to reconnect
    // several times (its backoff doubles, so that is a few seconds).
    proxy.down();
    let stored_when_down = stored_events(&pool).await;
    post_event_batches(&client, &ingest.url(""), &stack.dev_token, during).await;
    eventually("the processor to retry against the dead database", PATIENCE, || async { (proxy.refused() >= 3).then_some(()) }).await;
    assert!(stored_events(&pool).await < all.len() as i64, "the outage held work back ({stored_when_down} stored when it began)");
    assert!(xlen(&mut valkey, &stack.keys().stream(Stream::Events)).await > 0, "entries wait in the stream during the outage");
    proxy.up();

    stack.wait_drained(Stream::Events, PATIENCE).await;
    assert_exact(&pool, &expected).await;
    assert_no_dead_letters(&stack, &mut valkey).await;
}

/// A processor that reaches PostgreSQL through a proxy that can play dead
/// (ingest and the test talk to PostgreSQL directly).
async fn processor_behind_proxy(stack: &TestStack) -> (OutageProxy, ServiceProcess) {
    let upstream = stack.database_url.split_once('@').and_then(|(_, rest)| rest.split('/').next()).expect("host:port");
    let proxy = OutageProxy::start(upstream).await;
    let mut env = processor_env(stack, &[("SENTORI_PROCESSOR_BATCH_SIZE", "50")]);
    env.iter_mut().filter(|(k, _)| k == "SENTORI_DATABASE_URL").for_each(|(_, v)| *v = proxy.url_for(&stack.database_url));
    let processor = start_processor(&env).await;
    (proxy, processor)
}

/// Transactions rolled back in the test's database so far (the statistics
/// lag by up to a second).
async fn rollbacks(pool: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT xact_rollback FROM pg_stat_database WHERE datname = current_database()")
        .fetch_one(pool)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_that_refuses_writes_is_retried_not_blamed_on_the_events() {
    let stack = TestStack::new().await;
    let pool = stack.pool().await;
    let mut valkey = stack.valkey().await;
    let ingest = start_ingest(&stack).await;
    let client = reqwest::Client::new();
    let database: String = sqlx::query_scalar("SELECT current_database()").fetch_one(&pool).await.unwrap();
    let admin = PgPool::connect(&std::env::var("SENTORI_TEST_DATABASE_URL").unwrap()).await.unwrap();

    let (proxy, _processor) = processor_behind_proxy(&stack).await;

    let mut expected = Expected::default();
    let all = events(1000, 8, &mut expected);
    let (before, during) = all.split_at(300);
    post_event_batches(&client, &ingest.url(""), &stack.dev_token, before).await;
    eventually("the first events to be stored", PATIENCE, || async { (stored_events(&pool).await > 0).then_some(()) }).await;

    // The database turns read-only for new sessions (as after a failover to
    // a standby), and the processor's sessions are cut so it reconnects to it.
    sqlx::query(&format!("ALTER DATABASE {database} SET default_transaction_read_only = on")).execute(&admin).await.unwrap();
    proxy.cut_connections();
    let baseline = rollbacks(&pool).await;
    post_event_batches(&client, &ingest.url(""), &stack.dev_token, during).await;
    eventually("the processor's writes to be refused a few times", PATIENCE, || async {
        (rollbacks(&pool).await >= baseline + 4).then_some(())
    })
    .await;
    assert!(stored_events(&pool).await < all.len() as i64, "the read-only database held work back");

    // Writable again; the processor's read-only sessions end.
    sqlx::query(&format!("ALTER DATABASE {database} RESET default_transaction_read_only")).execute(&admin).await.unwrap();
    proxy.cut_connections();

    stack.wait_drained(Stream::Events, PATIENCE).await;
    assert_no_dead_letters(&stack, &mut valkey).await;
    assert_exact(&pool, &expected).await;
}
