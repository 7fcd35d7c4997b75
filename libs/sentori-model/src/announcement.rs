//! What the processor tells the notifier: an issue is new, or came back.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Reason {
    New,
    Regressed,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::New => "new",
            Reason::Regressed => "regressed",
        }
    }
}

impl std::str::FromStr for Reason {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "new" => Ok(Reason::New),
            "regressed" => Ok(Reason::Regressed),
            other => Err(format!("{other:?} is neither \"new\" nor \"regressed\"")),
        }
    }
}

/// The notify stream's payload; the project is the stream entry's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Announcement {
    pub issue_id: Uuid,
    pub reason: Reason,
    /// 0 for `new`; the regression's number for `regressed`, so a repeated
    /// publication of one regression is delivered once.
    pub occurrence: i64,
}

/// A digest the notifier gave up on, as it goes to the dead-letter stream:
/// who it was for and the new-issue announcements it held, so an operator
/// can see (or replay) what was never sent. `reason` and `digest` mark it
/// apart from a dead single announcement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeadDigest {
    pub reason: Reason,
    pub digest: bool,
    pub recipient_id: Uuid,
    pub issues: Vec<HeldIssue>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HeldIssue {
    pub issue_id: Uuid,
    pub occurrence: i64,
}

impl DeadDigest {
    pub fn new(recipient_id: Uuid, held: impl IntoIterator<Item = (Uuid, i64)>) -> Self {
        let issues = held.into_iter().map(|(issue_id, occurrence)| HeldIssue { issue_id, occurrence }).collect();
        Self { reason: Reason::New, digest: true, recipient_id, issues }
    }
}
