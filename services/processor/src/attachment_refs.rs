//! An event's `attachments[]` may only name uploads made for that event.
//!
//! Refs are checked against the `attachments` rows of the event's id, so an
//! SDK (or anyone holding an ingest token) cannot make an event display
//! another event's screenshot. Refs that do not belong are dropped, and
//! `_meta.attachments.droppedRefs` says how many.

use std::collections::HashSet;

use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

fn event_id(payload: &Value) -> Option<Uuid> {
    payload["id"].as_str().and_then(|s| Uuid::parse_str(s).ok())
}

fn refs(payload: &Value) -> Option<&Vec<Value>> {
    payload.get("attachments").and_then(Value::as_array).filter(|a| !a.is_empty())
}

/// Drops, in place, the refs of each `(project, event payload)` that do not
/// belong to that event.
pub async fn keep_known(pool: &PgPool, items: &mut [(Uuid, &mut Value)]) -> Result<(), sqlx::Error> {
    let (mut projects, mut events) = (Vec::new(), Vec::new());
    for (project_id, payload) in items.iter() {
        if let (Some(_), Some(id)) = (refs(payload), event_id(payload)) {
            projects.push(*project_id);
            events.push(id);
        }
    }
    if events.is_empty() {
        return Ok(());
    }
    let rows: Vec<(Uuid, Uuid, Uuid)> = sqlx::query_as(
        "SELECT a.project_id, a.event_id, a.id FROM attachments a
           JOIN UNNEST($1::uuid[], $2::uuid[]) AS e(project_id, event_id)
             ON a.project_id = e.project_id AND a.event_id = e.event_id",
    )
    .bind(&projects)
    .bind(&events)
    .fetch_all(pool)
    .await?;
    let known: HashSet<(Uuid, Uuid, Uuid)> = rows.into_iter().collect();
    for (project_id, payload) in items.iter_mut() {
        let (Some(list), Some(id)) = (refs(payload), event_id(payload)) else { continue };
        let belongs =
            |r: &Value| r["ref"].as_str().and_then(|s| Uuid::parse_str(s).ok()).is_some_and(|r| known.contains(&(*project_id, id, r)));
        let kept: Vec<Value> = list.iter().filter(|r| belongs(r)).cloned().collect();
        if kept.len() == list.len() {
            continue;
        }
        let dropped = list.len() - kept.len();
        if let Some(payload) = payload.as_object_mut() {
            payload.insert("attachments".into(), Value::Array(kept));
            let meta = payload.entry("_meta").or_insert_with(|| json!({}));
            if let Some(meta) = meta.as_object_mut() {
                meta.insert("attachments".into(), json!({"droppedRefs": dropped}));
            }
        }
    }
    Ok(())
}
