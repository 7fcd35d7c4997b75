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
