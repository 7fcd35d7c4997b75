//! Resolving bearer tokens to projects.
//!
//! Ingest and admin-api resolve a token on every request, so lookups go
//! through bounded in-process caches. A valid token is trusted for at most
//! [`TokenDirectory::ttl`], which bounds how long a revoked token keeps
//! working. Unknown and revoked tokens live in a cache of their own with a
//! short expiry, so a flood of made-up tokens can fill only that one and
//! never pushes a valid token out. Concurrent misses for one token share a
//! single query.

use std::sync::Arc;
use std::time::Duration;

use moka::future::Cache;
use sentori_protocol::{DEV_ORG_ID, DEV_PROJECT_ID, DEV_PROJECT_NUMBER, TokenKind, hash_token};
use sqlx::PgPool;
use subtle::ConstantTimeEq;
use uuid::Uuid;

/// What a valid token grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResolvedToken {
    pub project_id: Uuid,
    /// The project's number: the last path segment of its Sentry DSN.
    pub project_number: i64,
    pub org_id: Uuid,
    pub kind: TokenKind,
    /// The bootstrap dev token: exempt from quotas (protocol.md).
    pub is_dev: bool,
    /// The org's monthly limit on error events; `None` is unlimited.
    pub monthly_event_limit: Option<i64>,
}

/// What the caches know about a token, without asking PostgreSQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cached {
    Valid(ResolvedToken),
    /// Unknown or revoked when last looked up, moments ago.
    Invalid,
    /// Valid when last looked up, but that answer has expired.
    WasValid,
    /// Not looked up lately: resolving it costs a query.
    Unknown,
}

/// A failed token query, shared by every request that waited for it.
#[derive(Debug, Clone, thiserror::Error)]
#[error("token lookup failed: {0}")]
pub struct TokenLookupError(Arc<sqlx::Error>);

/// Why a coalesced load produced no valid token.
#[derive(Debug)]
enum Miss {
    NotFound,
    Failed(Arc<sqlx::Error>),
}

type Digest = [u8; 32];

pub struct TokenDirectory {
    pool: PgPool,
    dev_token_sha256: Option<Digest>,
    valid: Cache<Digest, ResolvedToken>,
    invalid: Cache<Digest, ()>,
    /// Tokens found valid within [`RECENTLY_VALID`], so that re-checking an
    /// expired entry can be told apart from a guess (see [`Cached::WasValid`]).
    recently_valid: Cache<Digest, ()>,
    ttl: Duration,
}

/// Deployments hold a few hundred tokens; this leaves ample room.
const VALID_CAPACITY: u64 = 10_000;
/// Enough to remember a flood's recent guesses; past it the oldest are
/// dropped, which only means they are looked up again (under the caller's
/// per-client limit).
const INVALID_CAPACITY: u64 = 100_000;
const RECENTLY_VALID: Duration = Duration::from_secs(3600);

impl TokenDirectory {
    pub const DEFAULT_TTL: Duration = Duration::from_secs(30);
    pub const DEFAULT_NEGATIVE_TTL: Duration = Duration::from_secs(5);

    pub fn new(pool: PgPool, dev_token: Option<&str>) -> Self {
        Self::with_ttl(pool, dev_token, Self::DEFAULT_TTL, Self::DEFAULT_NEGATIVE_TTL)
    }

    /// `ttl` bounds how long a revoked token keeps working; `negative_ttl`
    /// how long a token created after a failed try is still refused.
    pub fn with_ttl(pool: PgPool, dev_token: Option<&str>, ttl: Duration, negative_ttl: Duration) -> Self {
        Self {
            pool,
            dev_token_sha256: dev_token.map(hash_token),
            valid: Cache::builder().max_capacity(VALID_CAPACITY).time_to_live(ttl).build(),
            invalid: Cache::builder().max_capacity(INVALID_CAPACITY).time_to_live(negative_ttl).build(),
            recently_valid: Cache::builder()
                .max_capacity(VALID_CAPACITY)
                .time_to_live(RECENTLY_VALID.max(ttl))
                .build(),
            ttl,
        }
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// What is known about `token` without a query.
    pub async fn cached(&self, token: &str) -> Cached {
        let digest = hash_token(token);
        if let Some(dev) = self.dev(&digest) {
            return Cached::Valid(dev);
        }
        if let Some(valid) = self.valid.get(&digest).await {
            Cached::Valid(valid)
        } else if self.invalid.contains_key(&digest) {
            Cached::Invalid
        } else if self.recently_valid.contains_key(&digest) {
            Cached::WasValid
        } else {
            Cached::Unknown
        }
    }

    /// Resolves a presented token; `Ok(None)` for an unknown or revoked one.
    pub async fn resolve(&self, token: &str) -> Result<Option<ResolvedToken>, TokenLookupError> {
        let digest = hash_token(token);
        if let Some(dev) = self.dev(&digest) {
            return Ok(Some(dev));
        }
        if self.invalid.contains_key(&digest) {
            return Ok(None);
        }
        let load = async {
            match self.lookup(&digest).await {
                Ok(Some(token)) => Ok(token),
                Ok(None) => Err(Miss::NotFound),
                Err(err) => Err(Miss::Failed(Arc::new(err))),
            }
        };
        match self.valid.try_get_with(digest, load).await {
            Ok(token) => {
                self.recently_valid.insert(digest, ()).await;
                Ok(Some(token))
            }
            Err(miss) => match &*miss {
                Miss::NotFound => {
                    self.invalid.insert(digest, ()).await;
                    self.recently_valid.invalidate(&digest).await;
                    Ok(None)
                }
                Miss::Failed(err) => Err(TokenLookupError(err.clone())),
            },
        }
    }

    /// The dev token's grant when `digest` is its hash, compared in constant time.
    fn dev(&self, digest: &Digest) -> Option<ResolvedToken> {
        let dev = self.dev_token_sha256?;
        bool::from(dev.ct_eq(digest)).then_some(ResolvedToken {
            project_id: DEV_PROJECT_ID,
            project_number: DEV_PROJECT_NUMBER,
            org_id: DEV_ORG_ID,
            kind: TokenKind::Admin,
            is_dev: true,
            monthly_event_limit: None,
        })
    }

    async fn lookup(&self, digest: &Digest) -> Result<Option<ResolvedToken>, sqlx::Error> {
        let row = sqlx::query!(
            "SELECT t.project_id, p.number, p.org_id, t.kind, o.monthly_event_limit
               FROM tokens t JOIN projects p ON p.id = t.project_id JOIN orgs o ON o.id = p.org_id
              WHERE t.token_sha256 = $1 AND t.revoked_at IS NULL",
            &digest[..],
        )
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.and_then(|row| {
            TokenKind::parse(&row.kind).map(|kind| ResolvedToken {
                project_id: row.project_id,
                project_number: row.number,
                org_id: row.org_id,
                kind,
                is_dev: false,
                monthly_event_limit: row.monthly_event_limit,
            })
        }))
    }
}

/// Compares two digests in time independent of where they differ.
pub fn constant_time_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.ct_eq(b).into()
}

/// Creates a token for a project and returns the token string, which is never stored.
pub async fn create_token(pool: &PgPool, project_id: Uuid, kind: TokenKind, label: &str) -> Result<(Uuid, String), sqlx::Error> {
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
    sqlx::query!(
        "INSERT INTO tokens (id, project_id, kind, label, token_sha256, last4, created_by_token) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        id,
        project_id,
        kind.as_str(),
        label,
        &hash_token(&token)[..],
        &token[token.len() - 4..],
        created_by_token,
    )
    .execute(pool)
    .await?;
    Ok((id, token))
}
