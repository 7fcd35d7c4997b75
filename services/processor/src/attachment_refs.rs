//! An event's `attachments[]` may only name uploads made for that event.
//!
//! Refs are checked against the `attachments` rows of the event's id, so an
//! SDK (or anyone holding an ingest token) cannot make an event display
//! another event's screenshot. Refs that do not belong are dropped, and
//! the `attachments` entry of `_meta` says how many (`droppedRefs`).

use std::collections::HashSet;

use sentori_model::{AttachmentRef, Meta};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

/// What the check reads of an event, and writes back when it drops refs.
#[derive(Debug, Deserialize, Serialize)]
pub(crate) struct AttachmentCheck {
    #[serde(skip_serializing)]
    id: Uuid,
    /// Written back as sent; a ref that does not read as an
    /// [`AttachmentRef`] belongs to nothing and is dropped.
    #[serde(default)]
    attachments: Vec<Value>,
    /// Ingest's trimming may have written it; the count is added beside.
    #[serde(rename = "_meta", default)]
    meta: Meta,
}

impl AttachmentCheck {
    /// `None` for an event without refs (nothing to check).
    fn of(payload: &Value) -> Option<Self> {
        AttachmentCheck::deserialize(payload).ok().filter(|check| !check.attachments.is_empty())
    }
}

fn ref_id(attachment: &Value) -> Option<Uuid> {
    AttachmentRef::deserialize(attachment).ok().and_then(|r| Uuid::parse_str(&r.reference).ok())
}

/// Drops, in place, the refs of each `(project, event payload)` that do not
/// belong to that event.
pub async fn keep_known(pool: &PgPool, items: &mut [(Uuid, &mut Value)]) -> Result<(), sqlx::Error> {
    let checks: Vec<Option<AttachmentCheck>> = items.iter().map(|(_, payload)| AttachmentCheck::of(payload)).collect();
    let (projects, events): (Vec<Uuid>, Vec<Uuid>) =
        items.iter().zip(&checks).filter_map(|((project_id, _), check)| Some((*project_id, check.as_ref()?.id))).unzip();
    if events.is_empty() {
        return Ok(());
    }
    let rows: Vec<(Uuid, Uuid, Uuid)> = sqlx::query!(
        "SELECT a.project_id, a.event_id, a.id FROM attachments a
           JOIN UNNEST($1::uuid[], $2::uuid[]) AS e(project_id, event_id)
             ON a.project_id = e.project_id AND a.event_id = e.event_id",
        &projects,
        &events,
    )
    .map(|row| (row.project_id, row.event_id, row.id))
    .fetch_all(pool)
    .await?;
    let known: HashSet<(Uuid, Uuid, Uuid)> = rows.into_iter().collect();
    for ((project_id, payload), check) in items.iter_mut().zip(checks) {
        let Some(mut check) = check else { continue };
        let before = check.attachments.len();
        check.attachments.retain(|r| ref_id(r).is_some_and(|r| known.contains(&(*project_id, check.id, r))));
        if check.attachments.len() == before {
            continue;
        }
        check.meta.at("attachments").dropped_refs = Some((before - check.attachments.len()) as u64);
        if let (Some(payload), Ok(Value::Object(checked))) = (payload.as_object_mut(), serde_json::to_value(&check)) {
            payload.extend(checked);
        }
    }
    Ok(())
}
