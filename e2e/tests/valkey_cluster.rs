//! Sentori on a Valkey Cluster (#21): three primaries with a replica each,
//! every stream in 16 partitions, two ingest and two processor processes.
//! Events for eight projects go in through both ingests; midway one
//! processor is killed (-9) and one primary is killed and failed over to
//! its replica, then restarted (it rejoins as the new primary's replica).
//! Ingest waits for a replica (SENTORI_VALKEY_WAIT_REPLICAS=1), so every
//! event answered 202 must end up stored, exactly once; while a shard has
//! no replica, its partitions refuse appends (503) and clients retry.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sentori_protocol::{DEV_ORG_ID, TokenKind};
use sentori_queue::{Keys, Producer, Stream};
use sentori_testkit::{EVENT_BATCH_MAX, ServiceProcess, TestStack, ValkeyCluster, eventually};
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

const PROJECTS: usize = 8;
const EVENTS: usize = 20_000;
const SHARDS: u16 = 16;
const PATIENCE: Duration = Duration::from_secs(300);

fn event(id: Uuid, seq: usize) -> Value {
    json!({
        "id": id,
        "timestamp": "2026-12-07T10:00:00Z",
        "kind": "error",
        "platform": "javascript",
        "release": "shop@1.0.0",
        "environment": "prod",
        "device": {"os": "web", "osVersion": "120"},
        "app": {"version": "1.0.0"},
        "user": {"id": format!("u-{}", seq % 50)},
        "error": {
            "type": format!("ClusterError{}", seq % 10),
            "message": "failed",
            "stack": [{"file": "https://shop.example/app.js", "line": 10 + seq % 10, "column": 4, "function": "run", "inApp": true}]
        }
    })
}

async fn project_tokens(pool: &PgPool) -> Vec<String> {
    let mut tokens = Vec::new();
    for n in 0..PROJECTS {
        let project = Uuid::now_v7();
        sqlx::query("INSERT INTO projects (id, org_id, name) VALUES ($1, $2, $3)")
            .bind(project)
            .bind(DEV_ORG_ID)
            .bind(format!("shop {n}"))
            .execute(pool)
            .await
            .unwrap();
        let (_, token) = sentori_store::tokens::create_token(pool, project, TokenKind::Public, "sdk").await.unwrap();
        tokens.push(token);
    }
    tokens
}

async fn stored(pool: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM events").fetch_one(pool).await.unwrap()
}

/// Sends `events` in batches, each to the next project, retrying a batch
/// until it is answered 202 (ingest answers 503 while a partition's primary
/// is failing over). Returns the ids accepted.
async fn send(url: String, tokens: Vec<String>, events: Vec<Value>, sent: Arc<AtomicUsize>, answers: Arc<Mutex<Vec<u16>>>) -> Vec<String> {
    let client = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap();
    let mut accepted = Vec::new();
    for (n, chunk) in events.chunks(EVENT_BATCH_MAX).enumerate() {
        let token = &tokens[n % tokens.len()];
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            assert!(Instant::now() < deadline, "a batch was refused for two minutes: {:?}", answers.lock().unwrap());
            let response = client.post(format!("{url}/v1/events:batch")).bearer_auth(token).json(&json!({"events": chunk})).send().await;
            let status = response.as_ref().map_or(0, |r| r.status().as_u16());
            answers.lock().unwrap().push(status);
            if status == 202 {
                let body: Value = response.unwrap().json().await.unwrap();
                assert_eq!(body["accepted"], chunk.len(), "every event of the batch is accepted: {body}");
                accepted.extend(chunk.iter().map(|e| e["id"].as_str().unwrap().to_owned()));
                break;
            }
            assert!(status == 503 || status == 0, "only 202 or 503 while a primary fails over, got {status}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        sent.fetch_add(chunk.len(), Ordering::SeqCst);
    }
    accepted
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_accepted_event_is_stored_once_through_a_processor_kill_and_a_failover() {
    let mut cluster = ValkeyCluster::start(3).await;
    let stack = TestStack::new().await;
    let pool = stack.pool().await;
    let tokens = project_tokens(&pool).await;

    let mut env = stack.service_env();
    env.retain(|(k, _)| k != "SENTORI_VALKEY_URL");
    for (k, v) in [
        ("SENTORI_VALKEY_URL", cluster.url()),
        ("SENTORI_STREAM_SHARDS", SHARDS.to_string()),
        ("SENTORI_VALKEY_WAIT_REPLICAS", "1".to_owned()),
        ("SENTORI_CLAIM_IDLE_MS", "2000".to_owned()),
    ] {
        env.push((k.to_owned(), v));
    }
    let ingests = [
        ServiceProcess::start("ingest", "SENTORI_INGEST_ADDR", &env).await,
        ServiceProcess::start("ingest", "SENTORI_INGEST_ADDR", &env).await,
    ];
    let mut processor_a = ServiceProcess::start("processor", "SENTORI_PROCESSOR_ADDR", &env).await;
    let _processor_b = ServiceProcess::start("processor", "SENTORI_PROCESSOR_ADDR", &env).await;

    let events: Vec<Value> = (0..EVENTS).map(|seq| event(Uuid::now_v7(), seq)).collect();
    let sent = Arc::new(AtomicUsize::new(0));
    let answers: Arc<Mutex<Vec<u16>>> = Arc::default();
    let senders: Vec<_> = events
        .chunks(EVENTS / ingests.len())
        .zip(&ingests)
        .map(|(half, ingest)| tokio::spawn(send(ingest.url(""), tokens.clone(), half.to_vec(), sent.clone(), answers.clone())))
        .collect();

    eventually("a quarter of the events to be stored", PATIENCE, || async { (stored(&pool).await >= (EVENTS / 4) as i64).then_some(()) }).await;
    processor_a.kill();
    eventually("half of the events to be sent", PATIENCE, || async { (sent.load(Ordering::SeqCst) >= EVENTS / 2).then_some(()) }).await;
    cluster.fail_over(0).await;
    cluster.rejoin(0).await;

    let mut accepted = HashSet::new();
    for sender in senders {
        accepted.extend(sender.await.unwrap());
    }
    assert_eq!(accepted.len(), EVENTS, "every event was accepted in the end");
    eventually("every accepted event to be stored", PATIENCE, || async { (stored(&pool).await >= EVENTS as i64).then_some(()) }).await;
    // A late duplicate would land after the count is reached: give the
    // surviving processor time to finish anything still pending.
    let producer = Producer::new(sentori_queue::connect(&cluster.url(), Duration::from_secs(5)).await.unwrap(), Keys::with_shards(stack.namespace.clone(), SHARDS));
    let stats = eventually("the events stream to be empty", PATIENCE, || async {
        let stats = producer.stats(Stream::Events, "processor").await.ok()?;
        (stats.length == 0).then_some(stats)
    })
    .await;
    assert_eq!((stats.partitions, stats.dead_letters), (SHARDS, 0), "{stats:?}");

    let ids: Vec<Uuid> = sqlx::query_scalar("SELECT id FROM events").fetch_all(&pool).await.unwrap();
    let stored_ids: HashSet<String> = ids.iter().map(Uuid::to_string).collect();
    assert_eq!(ids.len(), stored_ids.len(), "no event is stored twice");
    assert_eq!(stored_ids, accepted, "the events stored are exactly the events accepted");
    let per_project: Vec<i64> =
        sqlx::query_scalar("SELECT count(*) FROM events GROUP BY project_id").fetch_all(&pool).await.unwrap();
    assert_eq!(per_project.len(), PROJECTS, "every project's events are stored");
    let counted: i64 = sqlx::query_scalar("SELECT sum(event_count)::bigint FROM issues").fetch_one(&pool).await.unwrap();
    assert_eq!(counted, EVENTS as i64, "the issues' counters add up to the events, each counted once");
    let refused = answers.lock().unwrap().iter().filter(|s| **s != 202).count();
    eprintln!("batches refused during the failover and sent again: {refused}");
}
