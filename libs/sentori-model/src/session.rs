//! Release health: sessions, and deploys that mark when a release went out.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::open_enum::open_enum;

open_enum! {
    SessionStatus {
        Ok = "ok",
        /// Had a handled error.
        Errored = "errored",
        /// Ended in a crash: the session is unhealthy.
        Crashed = "crashed",
        Exited = "exited",
    }
}

#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Session {
    /// The idempotency key.
    pub id: Uuid,
    pub user_id: Option<String>,
    pub release: String,
    pub environment: String,
    pub status: SessionStatus,
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    pub duration_ms: i64,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Deploy {
    pub release: String,
    pub environment: Option<String>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub deployed_at: Option<OffsetDateTime>,
}
