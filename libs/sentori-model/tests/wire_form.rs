//! The model's JSON form is the `/v1` wire form: a payload read into it and
//! written back is the same payload, unknown fields included.

use sentori_model::{Announcement, DeadDigest, Event, EventKind, Frame, FrameSourceMap, Reason, Session, SessionStatus, Span, SpanStatus};
use serde_json::{Value, json};

fn round_trip<T: serde::de::DeserializeOwned + serde::Serialize>(payload: Value) -> (T, Value) {
    let typed: T = serde_json::from_value(payload).expect("the payload reads into the model");
    let written = serde_json::to_value(&typed).unwrap();
    (typed, written)
}

#[test]
fn an_event_survives_the_model_with_every_field_it_did_not_know() {
    let payload = json!({
        "id": "019508a0-1111-7000-8000-000000000001",
        "timestamp": "2026-11-26T11:59:00.123456Z",
        "kind": "error",
        "platform": "javascript",
        "release": "app@1.2.3+4",
        "environment": "prod",
        "device": {"os": "web", "osVersion": "Chrome 130", "model": "Pixel", "screen": {"w": 1080}},
        "app": {"version": "1.2.3", "build": "4", "framework": {"name": "react-native", "version": "0.76"}},
        "user": {"id": "u-1", "linkHashes": ["ab"]},
        "error": {
            "type": "TypeError",
            "message": "x is undefined",
            "stack": [
                {"file": "app.js", "line": 10, "column": 4, "function": "render", "inApp": true,
                 "instructionAddress": "0x1f", "vars": {"x": null}},
                {"file": "lib.js", "line": 1}
            ],
            "cause": {"type": "FetchError", "stack": [], "cause": null},
            "mechanism": {"handled": false}
        },
        "tags": {"screen": "home"},
        "breadcrumbs": [{"timestamp": "2026-11-26T11:58:00Z", "type": "nav", "data": {"to": "/home"}, "level": "info"}],
        "fingerprint": ["{{ default }}", "home"],
        "traceId": "019508a0-2222-7000-8000-000000000002",
        "fromANewerSdk": {"nested": [1, 2, 3]}
    });
    let (event, written) = round_trip::<Event>(payload.clone());
    assert_eq!(event.kind, EventKind::Error);
    let error = event.error.as_ref().unwrap();
    assert_eq!(error.chain().map(|e| e.error_type.as_str()).collect::<Vec<_>>(), ["TypeError", "FetchError"]);
    assert_eq!(error.stack[0].extra["vars"], json!({"x": null}));
    assert_eq!(event.extra["fromANewerSdk"], json!({"nested": [1, 2, 3]}));

    let mut expected = payload;
    // `null` and absent mean the same; the model writes absent.
    expected["error"]["cause"].as_object_mut().unwrap().remove("cause");
    assert_eq!(written, expected);
}

#[test]
fn a_symbolicated_frame_keeps_its_raw_position_and_the_map_that_resolved_it() {
    let mapped = json!({"file": "src/app.js", "line": 6, "column": 3, "rawFile": "bundle.js", "rawLine": 1, "rawColumn": 31,
        "rawFunction": "b", "sourceMap": {"kind": "debugId", "debugId": "f107d9d9-2719-594d-82f6-a1ba49e9e582", "name": "~/app.js.map"}});
    let (frame, written) = round_trip::<Frame>(mapped.clone());
    assert!(matches!(frame.source_map, Some(FrameSourceMap::DebugId { ref name, .. }) if name == "~/app.js.map"));
    assert_eq!(written, mapped);

    // Only a client could have stored these shapes; the frame still reads.
    let odd: Frame = serde_json::from_value(json!({"file": "a.js", "line": 1, "rawLine": "one", "sourceMap": "x"})).unwrap();
    assert_eq!((odd.raw_line, odd.source_map), (None, None));
}

#[test]
fn an_exception_group_holds_its_members_and_the_tree_walks_every_error_once() {
    let payload = json!({
        "type": "ExceptionGroup", "stack": [],
        "cause": {"type": "ZeroDivisionError", "stack": []},
        "exceptions": [
            {"type": "ValueError", "stack": [], "cause": {"type": "KeyError", "stack": []}},
            {"type": "ExceptionGroup", "stack": [], "exceptions": [{"type": "OSError", "stack": []}]}
        ]
    });
    let (error, written) = round_trip::<sentori_model::Error>(payload.clone());
    assert_eq!(written, payload);
    let tree: Vec<&str> = error.tree().map(|e| e.error_type.as_str()).collect();
    assert_eq!(tree, ["ExceptionGroup", "ZeroDivisionError", "ValueError", "KeyError", "ExceptionGroup", "OSError"]);
    assert_eq!(error.chain().count(), 2, "the chain is the causes only");
    let (plain, written) = round_trip::<sentori_model::Error>(json!({"type": "E", "stack": []}));
    assert!(plain.exceptions.is_empty());
    assert!(written.get("exceptions").is_none(), "no group, no field");
}

#[test]
fn unknown_enum_values_are_kept_as_sent() {
    let (span, written) = round_trip::<Span>(json!({
        "id": "019508a0-1111-7000-8000-000000000001",
        "traceId": "019508a0-2222-7000-8000-000000000002",
        "parentSpanId": null,
        "op": "http.client",
        "name": "GET /",
        "startedAt": "2026-11-26T11:59:00Z",
        "durationMs": 12,
        "status": "deadline_exceeded"
    }));
    assert_eq!(span.status, SpanStatus::Other("deadline_exceeded".into()));
    assert_eq!(written["status"], "deadline_exceeded");
    assert_eq!(written["parentSpanId"], Value::Null, "a root span says so");

    let (session, _) = round_trip::<Session>(json!({
        "id": "019508a0-1111-7000-8000-000000000001", "release": "app@1", "environment": "prod",
        "status": "crashed", "startedAt": "2026-11-26T11:59:00Z", "durationMs": 5
    }));
    assert_eq!(session.status, SessionStatus::Crashed);
}

#[test]
fn an_announcement_is_the_notify_stream_payload() {
    let (announcement, written) = round_trip::<Announcement>(json!({
        "issueId": "019508a0-1111-7000-8000-000000000001", "reason": "regressed", "occurrence": 2
    }));
    assert_eq!(announcement.reason, Reason::Regressed);
    assert_eq!(written["reason"], "regressed");
    assert!(serde_json::from_value::<Announcement>(json!({"issueId": "x", "reason": "new", "occurrence": 0})).is_err());
}

#[test]
fn a_dead_digest_names_its_recipient_and_the_held_announcements() {
    let (recipient, issue) = (uuid::Uuid::from_u128(1), uuid::Uuid::from_u128(2));
    let written = serde_json::to_value(DeadDigest::new(recipient, [(issue, 0)])).unwrap();
    assert_eq!(
        written,
        json!({"reason": "new", "digest": true, "recipientId": recipient, "issues": [{"issueId": issue, "occurrence": 0}]})
    );
}
