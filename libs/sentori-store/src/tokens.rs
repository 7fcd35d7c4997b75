//! Resolving bearer tokens to projects.
//!
//! Ingest and admin-api resolve a token on every request, so lookups go
//! through a bounded in-process cache: an entry lives at most
//! [`TokenDirectory::ttl`], which bounds how long a revoked token keeps working,
//! and unknown tokens are cached briefly so a flood of bad tokens does not
//! reach PostgreSQL.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sentori_protocol::{DEV_ORG_ID, DEV_PROJECT_ID, TokenKind, hash_token};
use sqlx::PgPool;
use uuid::Uuid;

/// What a valid token grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResolvedToken {
    pub project_id: Uuid,
    pub org_id: Uuid,
    pub kind: TokenKind,
    /// The bootstrap dev token: exempt from quotas (protocol.md).
    pub is_dev: bool,
    /// The org's monthly limit on error events; `None` is unlimited.
    pub monthly_event_limit: Option<i64>,
}

#[derive(Clone, Copy)]
struct CacheEntry {
    token: Option<ResolvedToken>,
    expires: Instant,
}

pub struct TokenDirectory {
    pool: PgPool,
    dev_token_sha256: Option<[u8; 32]>,
    cache: Mutex<HashMap<[u8; 32], CacheEntry>>,
    ttl: Duration,
    negative_ttl: Duration,
    capacity: usize,
}

impl TokenDirectory {
    pub const DEFAULT_TTL: Duration = Duration::from_secs(30);

    pub fn new(pool: PgPool, dev_token: Option<&str>) -> Self {
        Self {
            pool,
            dev_token_sha256: dev_token.map(hash_token),
            cache: Mutex::new(HashMap::new()),
            ttl: Self::DEFAULT_TTL,
            negative_ttl: Duration::from_secs(5),
            capacity: 10_000,
        }
    }

    /// Shorter expiries, for tests of revocation.
    pub fn with_ttl(mut self, ttl: Duration, negative_ttl: Duration) -> Self {
        self.ttl = ttl;
        self.negative_ttl = negative_ttl;
        self
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Resolves a presented token; `Ok(None)` for an unknown or revoked one.
    pub async fn resolve(&self, token: &str) -> Result<Option<ResolvedToken>, sqlx::Error> {
        let digest = hash_token(token);
        if self.dev_token_sha256.is_some_and(|dev| constant_time_eq(&dev, &digest)) {
            return Ok(Some(ResolvedToken {
                project_id: DEV_PROJECT_ID,
                org_id: DEV_ORG_ID,
                kind: TokenKind::Admin,
                is_dev: true,
                monthly_event_limit: None,
            }));
        }
        let now = Instant::now();
        if let Some(entry) = self.cache.lock().expect("token cache lock").get(&digest) {
            if entry.expires > now {
                return Ok(entry.token);
            }
        }
        let token = self.lookup(&digest).await?;
        let ttl = if token.is_some() { self.ttl } else { self.negative_ttl };
        let mut cache = self.cache.lock().expect("token cache lock");
        if cache.len() >= self.capacity {
            cache.retain(|_, entry| entry.expires > now);
            if cache.len() >= self.capacity {
                // Still full of live entries: start over rather than grow without bound.
                cache.clear();
            }
        }
        cache.insert(digest, CacheEntry { token, expires: now + ttl });
        Ok(token)
    }

    async fn lookup(&self, digest: &[u8; 32]) -> Result<Option<ResolvedToken>, sqlx::Error> {
        let row: Option<(Uuid, Uuid, String, Option<i64>)> = sqlx::query_as(
            "SELECT t.project_id, p.org_id, t.kind, o.monthly_event_limit
               FROM tokens t JOIN projects p ON p.id = t.project_id JOIN orgs o ON o.id = p.org_id
              WHERE t.token_sha256 = $1 AND t.revoked_at IS NULL",
        )
        .bind(&digest[..])
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.and_then(|(project_id, org_id, kind, monthly_event_limit)| {
            TokenKind::parse(&kind).map(|kind| ResolvedToken { project_id, org_id, kind, is_dev: false, monthly_event_limit })
        }))
    }
}

/// Compares two digests in time independent of where they differ.
pub fn constant_time_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    subtle::ConstantTimeEq::ct_eq(&a[..], &b[..]).into()
}

/// Creates a token for a project and returns the token string, which is never stored.
pub async fn create_token(
    pool: &PgPool,
    project_id: Uuid,
    kind: TokenKind,
    label: &str,
) -> Result<(Uuid, String), sqlx::Error> {
    create_token_by(pool, project_id, kind, label, None).await
}

/// [`create_token`], recording the admin token that created it (`None`: the operator).
pub async fn create_token_by(
    pool: &PgPool,
    project_id: Uuid,
    kind: TokenKind,
    label: &str,
    created_by_token: Option<Uuid>,
) -> Result<(Uuid, String), sqlx::Error> {
    let token = sentori_protocol::token::generate();
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO tokens (id, project_id, kind, label, token_sha256, last4, created_by_token) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(id)
    .bind(project_id)
    .bind(kind.as_str())
    .bind(label)
    .bind(&hash_token(&token)[..])
    .bind(&token[token.len() - 4..])
    .bind(created_by_token)
    .execute(pool)
    .await?;
    Ok((id, token))
}
