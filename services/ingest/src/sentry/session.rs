//! Sentry release health as Sentori sessions.
//!
//! A Sentry `session` item is an update of one session (`sid`); SDKs send
//! one when it starts (`init: true`, status `ok`) and one when it ends.
//! Sentori stores a session once, by id, when it is over, so an `ok`
//! update (still running) is dropped and the final one is kept: `exited`
//! with errors is `errored`, `abnormal` counts as `crashed`.
//! A `sessions` item carries aggregates (server SDKs count requests per
//! minute); each count becomes that many sessions with ids derived from the
//! bucket, so a retried item is stored once.

use serde_json::{Map, Value, json};
use sentori_model::{Session, SessionStatus};
use time::OffsetDateTime;
use uuid::Uuid;

use super::event::{DEFAULT_ENVIRONMENT, DEFAULT_RELEASE};
use super::values::{text_at, timestamp, truncate, u64_at};

/// Sessions one aggregate item may expand to; the rest are dropped (and counted).
pub const MAX_AGGREGATE_SESSIONS: u64 = 1000;

/// Derives aggregate session ids; fixed so every ingest replica agrees.
const AGGREGATE_NAMESPACE: Uuid = uuid::uuid!("6f1c3f8e-52a4-4d5e-9d5c-1a3c0c8f2b71");

fn attrs(value: &Value) -> (String, String) {
    let attrs = &value["attrs"];
    let release = text_at(attrs, "release").or_else(|| text_at(value, "release")).unwrap_or_else(|| DEFAULT_RELEASE.into());
    let environment =
        text_at(attrs, "environment").or_else(|| text_at(value, "environment")).unwrap_or_else(|| DEFAULT_ENVIRONMENT.into());
    (
        truncate(release, sentori_protocol::Limits::RELEASE_MAX_CHARS),
        truncate(environment, sentori_protocol::Limits::ENVIRONMENT_MAX_CHARS),
    )
}

/// One `session` update; `None` while the session is still running or when it has no usable id.
pub fn map_session(value: &Value, received_at: OffsetDateTime) -> Option<Session> {
    let id = text_at(value, "sid").and_then(|s| Uuid::try_parse(s.trim()).ok())?;
    let errors = u64_at(value, "errors").unwrap_or(0);
    let status = match value["status"].as_str().unwrap_or("ok") {
        "ok" => return None,
        "crashed" | "abnormal" => SessionStatus::Crashed,
        "errored" => SessionStatus::Errored,
        "exited" if errors > 0 => SessionStatus::Errored,
        "exited" => SessionStatus::Exited,
        other => SessionStatus::Other(other.to_owned()),
    };
    let started = value.get("started").and_then(timestamp).unwrap_or(received_at);
    let ended = value.get("timestamp").and_then(timestamp).unwrap_or(received_at);
    let duration_ms = match value.get("duration").and_then(Value::as_f64) {
        Some(seconds) if seconds.is_finite() && seconds >= 0.0 => (seconds * 1000.0).min(i64::MAX as f64) as i64,
        _ => super::values::duration_ms(started, ended),
    };
    let (release, environment) = attrs(value);
    let mut extra = Map::new();
    extra.insert("errors".into(), json!(errors));
    if let Some(abnormal) = value.get("abnormal_mechanism").filter(|v| !v.is_null()) {
        extra.insert("abnormalMechanism".into(), abnormal.clone());
    }
    Some(Session {
        id,
        user_id: text_at(value, "did"),
        release,
        environment,
        status,
        started_at: started,
        duration_ms,
        extra,
    })
}

/// A `sessions` item's aggregates, each count expanded to sessions. The
/// second value is how many were past [`MAX_AGGREGATE_SESSIONS`].
pub fn map_aggregates(value: &Value, received_at: OffsetDateTime) -> (Vec<Session>, u64) {
    let (release, environment) = attrs(value);
    let Some(Value::Array(buckets)) = value.get("aggregates") else { return (Vec::new(), 0) };
    let mut sessions = Vec::new();
    let mut dropped = 0;
    for bucket in buckets.iter().filter(|b| b.is_object()) {
        let started = bucket.get("started").and_then(timestamp).unwrap_or(received_at);
        let did = text_at(bucket, "did");
        for (field, status) in [
            ("exited", SessionStatus::Exited),
            ("errored", SessionStatus::Errored),
            ("abnormal", SessionStatus::Crashed),
            ("crashed", SessionStatus::Crashed),
        ] {
            let count = u64_at(bucket, field).unwrap_or(0);
            for n in 0..count {
                if sessions.len() as u64 >= MAX_AGGREGATE_SESSIONS {
                    dropped += count - n;
                    break;
                }
                let name = format!("{release}\n{environment}\n{}\n{}\n{field}\n{n}", started.unix_timestamp(), did.as_deref().unwrap_or(""));
                sessions.push(Session {
                    id: Uuid::new_v5(&AGGREGATE_NAMESPACE, name.as_bytes()),
                    user_id: did.clone(),
                    release: release.clone(),
                    environment: environment.clone(),
                    status: status.clone(),
                    started_at: started,
                    duration_ms: 0,
                    extra: Map::from_iter([("aggregated".to_owned(), json!(true))]),
                });
            }
        }
    }
    (sessions, dropped)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const AT: OffsetDateTime = datetime!(2026-12-02 10:00 UTC);

    fn validates(session: &Session) {
        let text = serde_json::to_string(session).unwrap();
        let tree = sentori_protocol::json::parse(text.as_bytes()).unwrap();
        if let Err(errors) = sentori_protocol::validate_session(tree, AT) {
            panic!("{errors:?}\n{text}");
        }
    }

    #[test]
    fn a_running_session_waits_for_its_end_and_the_end_says_how_it_went() {
        let update = |status: &str, errors: u64| {
            json!({"sid": "7c7b6e3c-8f8a-4a6e-9c1d-2f1e0b9a8c7d", "did": "user-1", "init": false,
                   "started": "2026-12-02T09:59:00Z", "timestamp": "2026-12-02T10:00:00Z", "status": status,
                   "errors": errors, "duration": 60.5, "attrs": {"release": "shop@1.0", "environment": "prod"}})
        };
        assert_eq!(map_session(&update("ok", 0), AT), None);
        let ended = map_session(&update("exited", 0), AT).unwrap();
        assert_eq!((ended.status.clone(), ended.duration_ms, ended.user_id.as_deref()), (SessionStatus::Exited, 60_500, Some("user-1")));
        assert_eq!((ended.release.as_str(), ended.environment.as_str()), ("shop@1.0", "prod"));
        assert_eq!(ended.started_at, datetime!(2026-12-02 09:59 UTC));
        validates(&ended);
        assert_eq!(map_session(&update("exited", 2), AT).unwrap().status, SessionStatus::Errored);
        assert_eq!(map_session(&update("crashed", 1), AT).unwrap().status, SessionStatus::Crashed);
        assert_eq!(map_session(&update("abnormal", 0), AT).unwrap().status, SessionStatus::Crashed);
        assert_eq!(map_session(&json!({"status": "exited"}), AT), None, "no sid");
    }

    #[test]
    fn aggregates_expand_to_sessions_with_stable_ids() {
        let item = json!({"attrs": {"release": "api@2"}, "aggregates": [
            {"started": "2026-12-02T09:00:00Z", "exited": 2, "errored": 1},
            {"started": "2026-12-02T09:01:00Z", "crashed": 1, "did": "u"}]});
        let (sessions, dropped) = map_aggregates(&item, AT);
        assert_eq!(dropped, 0);
        let statuses: Vec<_> = sessions.iter().map(|s| s.status.as_str()).collect();
        assert_eq!(statuses, ["exited", "exited", "errored", "crashed"]);
        assert_eq!(sessions[0].environment, "production");
        let (again, _) = map_aggregates(&item, AT);
        assert_eq!(sessions.iter().map(|s| s.id).collect::<Vec<_>>(), again.iter().map(|s| s.id).collect::<Vec<_>>());
        assert_ne!(sessions[0].id, sessions[1].id);
        sessions.iter().for_each(validates);
        let (capped, dropped) = map_aggregates(&json!({"aggregates": [{"exited": 1500}]}), AT);
        assert_eq!((capped.len() as u64, dropped), (MAX_AGGREGATE_SESSIONS, 500));
    }
}
