//! Which Sentori attachment kind a Sentry `attachment` item becomes.
//!
//! Sentori keeps attachments it can show: screenshots, view trees, logs and
//! JSON state. A Sentry attachment is matched by its `attachment_type`,
//! then its `content_type` (else the file name's extension); anything else
//! (minidumps, binaries, unknown types) is accepted and dropped.

use serde_json::{Map, Value};

/// The kind and media type to store the item as, or `None` to drop it.
pub fn kind_of(header: &Map<String, Value>) -> Option<(&'static str, String)> {
    let attachment_type = header.get("attachment_type").and_then(Value::as_str).unwrap_or("event.attachment");
    let filename = header.get("filename").and_then(Value::as_str).unwrap_or("").to_ascii_lowercase();
    let media_type = header
        .get("content_type")
        .and_then(Value::as_str)
        .map(|c| c.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
        .filter(|c| !c.is_empty() && c != "application/octet-stream")
        .or_else(|| {
            let extension = filename.rsplit_once('.').map(|(_, e)| e)?;
            Some(
                match extension {
                    "png" => "image/png",
                    "jpg" | "jpeg" => "image/jpeg",
                    "webp" => "image/webp",
                    "json" => "application/json",
                    "txt" | "log" => "text/plain",
                    _ => return None,
                }
                .to_owned(),
            )
        })?;
    let kind = match (attachment_type, media_type.as_str()) {
        ("event.view_hierarchy", _) => "viewTree",
        ("event.attachment", "image/png" | "image/jpeg" | "image/webp") => "screenshot",
        ("event.attachment", "text/plain") => "logTail",
        ("event.attachment", "application/json") => "stateSnapshot",
        _ => return None,
    };
    let allowed = crate::attachments::allowed_media_types(kind)?;
    allowed.contains(&media_type.as_str()).then_some((kind, media_type))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn kind(header: Value) -> Option<(&'static str, String)> {
        kind_of(header.as_object().unwrap())
    }

    #[test]
    fn attachments_sentori_can_show_are_kept_and_the_rest_dropped() {
        let png = kind(json!({"filename": "screenshot.png", "content_type": "image/png"}));
        assert_eq!(png, Some(("screenshot", "image/png".into())));
        assert_eq!(kind(json!({"filename": "shot.JPG"})), Some(("screenshot", "image/jpeg".into())));
        assert_eq!(kind(json!({"filename": "app.log", "content_type": "text/plain; charset=utf-8"})), Some(("logTail", "text/plain".into())));
        assert_eq!(
            kind(json!({"filename": "view-hierarchy.json", "attachment_type": "event.view_hierarchy", "content_type": "application/json"})),
            Some(("viewTree", "application/json".into()))
        );
        assert_eq!(kind(json!({"filename": "state.json"})), Some(("stateSnapshot", "application/json".into())));
        assert_eq!(kind(json!({"filename": "crash.dmp", "attachment_type": "event.minidump"})), None);
        assert_eq!(kind(json!({"filename": "blob.bin", "content_type": "application/octet-stream"})), None);
        assert_eq!(kind(json!({"filename": "x.gif", "content_type": "image/gif"})), None);
        assert_eq!(kind(json!({})), None);
    }
}
