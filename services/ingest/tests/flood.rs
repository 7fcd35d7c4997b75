//! Floods of made-up tokens (issue "floods cannot starve honest traffic"):
//! each client address may cause only so many token lookups, tokens already
//! known are never limited, and PostgreSQL sees a bounded number of queries.
//! The test connects from loopback, a trusted proxy by default, so
//! `X-Real-IP` plays the client's address.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use reqwest::StatusCode;
use serde_json::Value;

use crate::common;
use common::{Harness, event, start};

impl Harness {
    fn send(&self, token: &str, from: Option<&str>) -> impl Future<Output = reqwest::Response> + use<> {
        let mut request = self.client.post(format!("{}/v1/events", self.base)).bearer_auth(token).json(&event());
        if let Some(addr) = from {
            request = request.header("x-real-ip", addr);
        }
        let sent = request.send();
        async move { sent.await.unwrap() }
    }
}

/// A well-formed token nobody issued: `st_pk_` and 26 Crockford base32 characters.
fn random_token() -> String {
    sentori_protocol::token::encode(uuid::Uuid::new_v4().as_bytes())
}

#[test]
fn random_tokens_are_well_formed() {
    assert!(sentori_protocol::token::is_well_formed(&random_token()));
}

#[tokio::test]
async fn lookups_past_the_budget_answer_429_but_known_tokens_and_other_clients_pass() {
    let h = start(&[("SENTORI_TOKEN_LOOKUPS_PER_MIN_PER_CLIENT", "3")]).await;
    let honest = h.public_token("honest").await;
    let flooder = Some("2001:db8:1:2::1");
    assert_eq!(h.send(&honest, flooder).await.status(), StatusCode::ACCEPTED, "one lookup, now cached");
    for _ in 0..2 {
        assert_eq!(h.send(&random_token(), flooder).await.status(), StatusCode::UNAUTHORIZED);
    }
    // Another address in the same /64 shares the budget.
    let response = h.send(&random_token(), Some("2001:db8:1:2:ffff::9")).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "rateLimited");
    assert!(body["retryAfterMs"].as_u64().unwrap() <= 60_000, "{body}");

    assert_eq!(h.send(&honest, flooder).await.status(), StatusCode::ACCEPTED, "a cached token is never limited");
    assert_eq!(h.send(&random_token(), Some("198.51.100.7")).await.status(), StatusCode::UNAUTHORIZED, "another client");
}

/// Scans of `tokens` in this test's own database, as PostgreSQL's
/// statistics have them so far.
async fn token_scans(pool: &sqlx::PgPool) -> i64 {
    let mut conn = pool.acquire().await.unwrap();
    sqlx::query("SELECT pg_stat_clear_snapshot()").execute(&mut *conn).await.unwrap();
    sqlx::query_scalar("SELECT coalesce(idx_scan, 0) + coalesce(seq_scan, 0) FROM pg_stat_user_tables WHERE relname = 'tokens'")
        .fetch_one(&mut *conn)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_flood_of_random_tokens_neither_starves_an_honest_client_nor_reaches_postgres() {
    const FLOOD: usize = 100_000;
    const WORKERS: usize = 32;
    const BUDGET: i64 = 60;
    // The honest client's own rate limit is not what this test is about.
    let h = start(&[("SENTORI_TOKEN_LOOKUPS_PER_MIN_PER_CLIENT", "60"), ("SENTORI_RATE_LIMIT_PER_MIN", "1000000")]).await;
    let honest = h.public_token("honest").await;
    let pool = h.stack.pool().await;
    let scans_before = token_scans(&pool).await;
    assert_eq!(h.send(&honest, None).await.status(), StatusCode::ACCEPTED, "the honest client is known before the flood");

    let first_minute = unix_minute();
    let sent = Arc::new(AtomicUsize::new(0));
    let refused_by_budget = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (0..WORKERS)
        .map(|_| {
            let (sent, refused) = (sent.clone(), refused_by_budget.clone());
            let (client, url) = (h.client.clone(), format!("{}/v1/events", h.base));
            tokio::spawn(async move {
                while sent.fetch_add(1, Ordering::Relaxed) < FLOOD {
                    let response = client.post(&url).bearer_auth(random_token()).body("{}").send().await.unwrap();
                    match response.status() {
                        StatusCode::TOO_MANY_REQUESTS => refused.fetch_add(1, Ordering::Relaxed),
                        StatusCode::UNAUTHORIZED => 0,
                        other => panic!("a made-up token got {other}"),
                    };
                }
            })
        })
        .collect();
    let flood = futures_join_all(workers);
    let honest_client = async {
        let mut accepted = 0;
        while sent.load(Ordering::Relaxed) < FLOOD {
            let status = h.send(&honest, None).await.status();
            assert_eq!(status, StatusCode::ACCEPTED, "an honest request during the flood");
            accepted += 1;
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        accepted
    };
    let ((), accepted) = tokio::join!(flood, honest_client);
    let minutes = (unix_minute() - first_minute + 1) as i64;
    assert!(accepted > 0, "the honest client sent while the flood ran");

    // A backend reports its statistics at exit at the latest: close ingest's
    // connections, then wait for the count to settle.
    h.state.pool.close().await;
    let mut lookups = token_scans(&pool).await - scans_before;
    for _ in 0..30 {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        let now = token_scans(&pool).await - scans_before;
        if now == lookups && now > 0 {
            break;
        }
        lookups = now;
    }
    assert!(lookups >= 1, "the statistics count the honest token's lookup at least");
    // The budget once per minute the flood touched, plus the honest token's
    // lookups (one, and one more each time its cache entry expired): nowhere
    // near one query per guess.
    let bound = BUDGET * minutes + 10;
    assert!(lookups <= bound, "{lookups} token lookups reached PostgreSQL for {FLOOD} guesses (at most {bound})");
    assert!(refused_by_budget.load(Ordering::Relaxed) >= FLOOD - (BUDGET * minutes) as usize, "nearly every guess was refused");
}

fn unix_minute() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() / 60
}

async fn futures_join_all(handles: Vec<tokio::task::JoinHandle<()>>) {
    for handle in handles {
        handle.await.unwrap();
    }
}
