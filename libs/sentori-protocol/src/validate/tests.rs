use serde_json::{Value, json};

use super::*;

// The validators take a tree borrowed from a body; these feed them a
// `serde_json::Value` as text, the way ingest feeds them a request, and
// hand the payload back as a `Value` to compare with `json!`.

/// When the tests' payloads arrive: a little after the times they carry.
const RECEIVED: OffsetDateTime = time::macros::datetime!(2026-11-26 12:00 UTC);

fn as_body(payload: &Value) -> String {
    payload.to_string()
}

fn as_value(payload: &Json<'_>) -> Value {
    serde_json::to_value(payload).unwrap()
}

#[derive(Debug)]
struct Event {
    id: Uuid,
    payload: Value,
    changed: bool,
}

#[derive(Debug)]
struct Span {
    payload: Value,
}

#[derive(Debug)]
struct Session {
    payload: Value,
}

/// What validation accepts, the typed model reads: the services behind
/// ingest read payloads through `sentori_model`, so an accepted payload it
/// could not read would be stored and then fail.
fn readable_as<T: serde::de::DeserializeOwned>(payload: Value) -> Value {
    if let Err(err) = serde_json::from_value::<T>(payload.clone()) {
        panic!("validation accepted a payload the model cannot read ({err}): {payload}");
    }
    payload
}

fn validate_event(payload: Value) -> Result<Event, Vec<FieldError>> {
    let body = as_body(&payload);
    super::validate_event(crate::json::parse(body.as_bytes()).unwrap(), RECEIVED).map(|v| Event {
        id: v.id,
        payload: readable_as::<sentori_model::Event>(as_value(&v.payload)),
        changed: v.changed,
    })
}

fn validate_span(payload: Value) -> Result<Span, Vec<FieldError>> {
    let body = as_body(&payload);
    super::validate_span(crate::json::parse(body.as_bytes()).unwrap(), RECEIVED)
        .map(|v| Span { payload: readable_as::<sentori_model::Span>(as_value(&v.payload)) })
}

fn validate_session(payload: Value) -> Result<Session, Vec<FieldError>> {
    let body = as_body(&payload);
    super::validate_session(crate::json::parse(body.as_bytes()).unwrap(), RECEIVED)
        .map(|v| Session { payload: readable_as::<sentori_model::Session>(as_value(&v.payload)) })
}

fn validate_deploy(payload: Value) -> Result<ValidatedDeploy, Vec<FieldError>> {
    let body = as_body(&payload);
    super::validate_deploy(crate::json::parse(body.as_bytes()).unwrap(), RECEIVED)
}

fn event() -> Value {
    json!({
        "id": "019508a0-1111-7000-8000-000000000001",
        "timestamp": "2026-11-26T10:00:00.123456789Z",
        "kind": "error",
        "platform": "javascript",
        "release": "myapp@1.2.3+456",
        "environment": "prod",
        "device": {"os": "web", "osVersion": "1"},
        "app": {"version": "1.2.3", "framework": null},
        "user": null,
        "error": {
            "type": "TypeError",
            "message": "x is undefined",
            "stack": [{"file": "app.js", "line": 10, "column": 5, "function": "render", "inApp": true}],
            "cause": null
        }
    })
}

fn fields(result: Result<Event, Vec<FieldError>>) -> Vec<(String, String)> {
    result.unwrap_err().into_iter().map(|e| (e.field, e.message)).collect()
}

#[test]
fn a_complete_event_is_accepted_with_its_typed_keys() {
    let valid = validate_event(event()).unwrap();
    assert_eq!(valid.id.to_string(), "019508a0-1111-7000-8000-000000000001");
    assert_eq!(valid.payload["kind"], "error");
    assert_eq!(valid.payload["timestamp"], event()["timestamp"], "kept to the nanosecond");
    assert!(valid.payload.get("_meta").is_none(), "nothing was trimmed");
    assert!(!valid.changed, "an untrimmed event can be queued as it came");
}

#[test]
fn each_required_field_is_named_when_missing() {
    for path in ["id", "timestamp", "kind", "platform", "release", "environment", "device", "app", "error"] {
        let mut payload = event();
        payload.as_object_mut().unwrap().remove(path);
        let errors = fields(validate_event(payload));
        assert!(errors.contains(&(path.to_owned(), "required".to_owned())), "{path}: {errors:?}");
    }
    for (object, key) in [("device", "os"), ("device", "osVersion"), ("app", "version"), ("error", "type")] {
        let mut payload = event();
        payload[object].as_object_mut().unwrap().remove(key);
        let errors = fields(validate_event(payload));
        assert_eq!(errors, vec![(format!("{object}.{key}"), "required".to_owned())]);
    }
}

#[test]
fn a_frame_without_line_names_its_index() {
    let mut payload = event();
    let frame = json!({"file": "b.js"});
    payload["error"]["stack"] = json!([{"file": "a.js", "line": 1}, {"file": "a.js", "line": 2}, {"file": "a.js", "line": 3}, frame]);
    payload["error"]["cause"] = json!({"type": "Inner", "stack": [{"line": 4}]});
    let errors = fields(validate_event(payload));
    assert_eq!(
        errors,
        vec![
            ("error.stack[3].line".to_owned(), "required".to_owned()),
            ("error.cause.stack[0].file".to_owned(), "required".to_owned()),
        ]
    );
}

#[test]
fn wrong_types_are_rejected_with_the_expected_type() {
    let mut payload = event();
    payload["error"]["stack"][0]["line"] = json!("ten");
    payload["tags"] = json!({"screen": 5});
    payload["timestamp"] = json!("yesterday");
    let errors = fields(validate_event(payload));
    assert!(errors.contains(&("error.stack[0].line".into(), "must be an integer".into())), "{errors:?}");
    assert!(errors.contains(&("tags.screen".into(), "must be a string".into())), "{errors:?}");
    assert!(errors.contains(&("timestamp".into(), "must be an RFC 3339 timestamp".into())), "{errors:?}");
}

#[test]
fn message_events_need_message_and_level_but_no_error() {
    let mut payload = event();
    payload["kind"] = json!("message");
    payload.as_object_mut().unwrap().remove("error");
    let errors = fields(validate_event(payload.clone()));
    assert_eq!(errors, vec![("message".into(), "required".into()), ("level".into(), "required".into())]);
    payload["message"] = json!("hello");
    payload["level"] = json!("info");
    assert!(validate_event(payload).is_ok());
}

#[test]
fn unknown_kinds_and_fields_are_kept() {
    let mut payload = event();
    payload["kind"] = json!("oomKill");
    payload["platform"] = json!("fuchsia");
    payload["futureField"] = json!({"nested": [1, 2, 3]});
    let valid = validate_event(payload).unwrap();
    assert_eq!(valid.payload["kind"], "oomKill");
    assert_eq!(valid.payload["futureField"], json!({"nested": [1, 2, 3]}));
    // An unknown kind groups like `error`, so it still needs an error.
    let mut without_error = event();
    without_error["kind"] = json!("oomKill");
    without_error.as_object_mut().unwrap().remove("error");
    assert_eq!(fields(validate_event(without_error)), vec![("error".into(), "required".into())]);
}

#[test]
fn release_and_environment_lengths_reject() {
    let mut payload = event();
    payload["release"] = json!("r".repeat(201));
    payload["environment"] = json!("e".repeat(65));
    let errors = fields(validate_event(payload));
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert_eq!(errors[0].0, "release");
    assert_eq!(errors[1].0, "environment");
    let mut at_limit = event();
    at_limit["release"] = json!("r".repeat(200));
    at_limit["environment"] = json!("e".repeat(64));
    assert!(validate_event(at_limit).is_ok());
}

#[test]
fn long_stacks_keep_fifty_at_each_end() {
    let mut payload = event();
    let frames: Vec<Value> = (1..=150).map(|line| json!({"file": "a.js", "line": line})).collect();
    payload["error"]["stack"] = Value::Array(frames);
    let valid = validate_event(payload).unwrap();
    let stack = valid.payload["error"]["stack"].as_array().unwrap();
    assert_eq!(stack.len(), 100);
    assert_eq!(stack[49]["line"], 50);
    assert_eq!(stack[50]["line"], 101);
    assert_eq!(valid.payload["_meta"]["error.stack"]["originalCount"], 150);
}

#[test]
fn a_trimmed_stack_names_problems_as_sent_and_cuts_as_kept() {
    let mut payload = event();
    let long_context: Vec<String> = (0..15).map(|i| i.to_string()).collect();
    let frames: Vec<Value> = (1..=150)
        .map(|line| json!({"file": "a.js", "line": line, "preContext": long_context, "postContext": long_context}))
        .collect();
    payload["error"]["stack"] = Value::Array(frames.clone());
    let valid = validate_event(payload.clone()).unwrap();
    let meta = valid.payload["_meta"].as_object().unwrap();
    // Frame 120 as sent is frame 70 once the middle 50 are gone; a dropped frame has no entry.
    assert_eq!(meta["error.stack[70].preContext"]["originalCount"], 15);
    assert_eq!(meta["error.stack[99].postContext"]["originalCount"], 15);
    assert_eq!(meta.keys().filter(|path| path.starts_with("error.stack[")).count(), 200, "{:?}", meta.keys());
    assert_eq!(valid.payload["error"]["stack"][70]["preContext"].as_array().unwrap().len(), 10);

    // A frame trimming drops is still checked, and named where it was sent.
    let mut broken = frames;
    broken[75]["line"] = json!("75");
    payload["error"]["stack"] = Value::Array(broken);
    assert_eq!(fields(validate_event(payload)), vec![("error.stack[75].line".to_owned(), "must be an integer".to_owned())]);
}

#[test]
fn a_cut_cause_is_not_checked() {
    let mut payload = event();
    let mut cause = json!({"type": "Deepest", "stack": "not a list"});
    for depth in (0..11).rev() {
        cause = json!({"type": format!("Cause{depth}"), "cause": cause});
    }
    payload["error"]["cause"] = cause;
    let valid = validate_event(payload).unwrap();
    let meta = valid.payload["_meta"].as_object().unwrap();
    let (path, removed) = meta.iter().find(|(_, entry)| entry.get("removedCauses").is_some()).unwrap();
    assert_eq!(path.matches("cause").count(), 11, "{path}");
    assert_eq!(removed["removedCauses"], 2, "Cause10 and the malformed Deepest it held");
}

#[test]
fn oversized_content_is_trimmed_and_recorded() {
    let mut payload = event();
    payload["error"]["message"] = json!("é".repeat(5000)); // 10 000 bytes
    payload["breadcrumbs"] = Value::Array((0..130).map(|i| json!({"type": "log", "data": {"i": i}})).collect());
    let mut tags = serde_json::Map::new();
    for i in 0..60 {
        tags.insert(format!("k{i:02}"), json!("v"));
    }
    tags.insert("k00".into(), json!("x".repeat(250)));
    payload["tags"] = Value::Object(tags);
    payload["error"]["stack"][0]["preContext"] = json!((0..15).map(|i| i.to_string()).collect::<Vec<_>>());
    payload["symbolication"] = json!({"releaseHasMap": true});

    let valid = validate_event(payload).unwrap();
    assert!(valid.changed);
    let out = &valid.payload;
    let message = out["error"]["message"].as_str().unwrap();
    assert!(message.len() <= 8192 && message.len() >= 8190, "{}", message.len());
    assert_eq!(out["_meta"]["error.message"]["originalLength"], 10_000);
    let crumbs = out["breadcrumbs"].as_array().unwrap();
    assert_eq!(crumbs.len(), 100);
    assert_eq!(crumbs[0]["data"]["i"], 30, "the newest 100 are kept");
    assert_eq!(out["tags"].as_object().unwrap().len(), 50);
    assert_eq!(out["tags"]["k00"].as_str().unwrap().len(), 200);
    assert_eq!(out["_meta"]["tags"]["originalCount"], 60);
    assert_eq!(out["_meta"]["tags.k00"]["originalLength"], 250);
    let pre = out["error"]["stack"][0]["preContext"].as_array().unwrap();
    assert_eq!(pre.first().unwrap(), "5", "the lines nearest the failing line are kept");
    assert!(out.get("symbolication").is_none(), "a client's symbolication is dropped");
}

#[test]
fn causes_deeper_than_ten_are_cut() {
    let mut payload = event();
    let mut cause = Value::Null;
    for depth in (1..=13).rev() {
        cause = json!({"type": format!("Cause{depth}"), "cause": cause});
    }
    payload["error"]["cause"] = cause;
    let valid = validate_event(payload).unwrap();
    let mut node = &valid.payload["error"];
    let mut depth = 0;
    while let Some(next) = node.get("cause").filter(|c| !c.is_null()) {
        node = next;
        depth += 1;
    }
    assert_eq!(depth, 10);
    let meta = valid.payload["_meta"].as_object().unwrap();
    let (path, removed) = meta.iter().find(|(k, _)| k.ends_with("cause")).unwrap();
    assert_eq!(path.matches("cause").count(), 11);
    assert_eq!(removed["removedCauses"], 3);
}

#[test]
fn group_members_are_errors_validated_like_a_cause() {
    let mut payload = event();
    payload["error"]["exceptions"] = json!([
        {"type": "ValueError", "stack": [{"file": "a.py", "line": 3}], "cause": {"type": "KeyError"}},
        {"type": "ExceptionGroup", "exceptions": [{"type": "OSError", "stack": [{"file": "b.py", "line": 1}]}]}
    ]);
    let valid = validate_event(payload.clone()).unwrap();
    assert_eq!(valid.payload["error"]["exceptions"], payload["error"]["exceptions"]);
    assert!(!valid.changed);

    payload["error"]["exceptions"] = json!([
        {"type": "ValueError", "stack": [{"line": 3}]},
        "not an error",
        {"exceptions": [{"type": 7}], "cause": {"message": "x"}}
    ]);
    assert_eq!(
        fields(validate_event(payload.clone())),
        vec![
            ("error.exceptions[0].stack[0].file".to_owned(), "required".to_owned()),
            ("error.exceptions[1]".to_owned(), "must be an object".to_owned()),
            ("error.exceptions[2].type".to_owned(), "required".to_owned()),
            ("error.exceptions[2].cause.type".to_owned(), "required".to_owned()),
            ("error.exceptions[2].exceptions[0].type".to_owned(), "must be a string".to_owned()),
        ]
    );
    payload["error"]["exceptions"] = json!({"type": "E"});
    assert_eq!(fields(validate_event(payload)), vec![("error.exceptions".to_owned(), "must be an array".to_owned())]);
}

fn member(i: usize) -> Value {
    json!({"type": format!("Member{i}")})
}

#[test]
fn groups_beyond_fifty_members_keep_the_first_and_a_tree_keeps_a_hundred_errors() {
    let mut payload = event();
    payload["error"]["exceptions"] = Value::Array((0..60).map(member).collect());
    let valid = validate_event(payload).unwrap();
    let members = valid.payload["error"]["exceptions"].as_array().unwrap();
    assert_eq!(members.len(), 50);
    assert_eq!(members[0]["type"], "Member0", "the group's first members are kept");
    assert_eq!(valid.payload["_meta"]["error.exceptions"]["originalCount"], 60);
    assert!(valid.changed);

    // Three groups of 40, each member with a cause: the raised error and
    // the first 99 reached (a cause before the members; a group's members
    // before what they hold).
    let mut payload = event();
    let group = |g: usize| {
        let members: Vec<Value> = (0..40).map(|i| json!({"type": format!("G{g}M{i}"), "cause": {"type": "Cause"}})).collect();
        json!({"type": format!("Group{g}"), "exceptions": members})
    };
    payload["error"]["cause"] = json!({"type": "TopCause"});
    payload["error"]["exceptions"] = json!([group(0), group(1), group(2)]);
    let valid = validate_event(payload).unwrap();
    let error: sentori_model::Error = serde_json::from_value(valid.payload["error"].clone()).unwrap();
    assert_eq!(error.tree().count(), 100);
    let groups = &error.exceptions;
    assert_eq!(groups.len(), 3, "the top group's members are reserved first");
    assert_eq!(groups[0].exceptions.len(), 40);
    assert_eq!(groups[0].exceptions.iter().filter(|m| m.cause.is_some()).count(), 40);
    // 1 + 1 + 3 + 80 = 85 after the first group; the second keeps 15
    // members, none of which has room left for its cause; the third none.
    assert_eq!(groups[1].exceptions.len(), 15);
    assert!(groups[1].exceptions.iter().all(|m| m.cause.is_none()));
    assert!(groups[2].exceptions.is_empty());
    let meta = &valid.payload["_meta"];
    assert_eq!(meta["error.exceptions[1].exceptions"]["originalCount"], 40);
    assert_eq!(meta["error.exceptions[1].exceptions[0].cause"]["removedCauses"], 1);
    assert_eq!(meta["error.exceptions[2].exceptions"]["originalCount"], 40);
}

#[test]
fn a_cut_cause_counts_the_group_members_it_held() {
    let mut payload = event();
    let mut cause = json!({"type": "Deepest", "exceptions": [member(0), member(1)]});
    for depth in (1..=11).rev() {
        cause = json!({"type": format!("Cause{depth}"), "cause": cause});
    }
    payload["error"]["cause"] = cause;
    let valid = validate_event(payload).unwrap();
    let path = format!("error{}", ".cause".repeat(11));
    assert_eq!(valid.payload["_meta"][path.as_str()]["removedCauses"], 4, "Cause11, Deepest and its two members");
}

#[test]
fn native_addresses_accept_integers_and_hex_strings() {
    let mut payload = event();
    payload["error"]["stack"][0]["instructionAddress"] = json!("0x1a2b");
    payload["error"]["stack"][0]["imageAddress"] = json!(4096);
    payload["error"]["stack"][0]["debugId"] = json!("abc");
    assert!(validate_event(payload.clone()).is_ok());
    payload["error"]["stack"][0]["imageAddress"] = json!("4096");
    assert_eq!(fields(validate_event(payload))[0].0, "error.stack[0].imageAddress");
}

#[test]
fn spans_validate_their_limits() {
    let span = json!({
        "id": "019508a0-2222-7000-8000-000000000001",
        "traceId": "019508a0-3333-7000-8000-000000000001",
        "parentSpanId": null,
        "op": "http.client",
        "name": "GET /api",
        "startedAt": "2026-11-26T10:00:00Z",
        "durationMs": 120,
        "status": "ok"
    });
    assert!(validate_span(span.clone()).is_ok());

    let mut missing_parent = span.clone();
    missing_parent.as_object_mut().unwrap().remove("parentSpanId");
    assert_eq!(validate_span(missing_parent).unwrap_err()[0].field, "parentSpanId");

    let mut bad = span.clone();
    bad["op"] = json!("");
    bad["durationMs"] = json!(86_400_001);
    bad["data"] = json!({"blob": "x".repeat(17 * 1024)});
    let errors: Vec<String> = validate_span(bad).unwrap_err().into_iter().map(|e| e.field).collect();
    assert_eq!(errors, vec!["op", "durationMs", "data"]);
}

#[test]
fn sessions_cap_duration_and_deploys_need_a_release() {
    let session = json!({
        "id": "019508a0-4444-7000-8000-000000000001",
        "release": "a@1", "environment": "prod", "status": "crashed",
        "startedAt": "2026-11-26T10:00:00Z", "durationMs": 30i64 * 24 * 3_600_000
    });
    let valid = validate_session(session).unwrap();
    assert_eq!(valid.payload["durationMs"], 7i64 * 24 * 3_600_000);
    assert!(valid.payload["_meta"]["durationMs"].is_object());

    assert_eq!(validate_deploy(json!({"environment": "prod"})).unwrap_err()[0].field, "release");
    let deploy = validate_deploy(json!({"release": "a@1", "deployedAt": "2026-11-26T10:00:00+01:00"})).unwrap();
    assert_eq!(deploy.release, "a@1");
    assert!(deploy.deployed_at.is_some());
}

#[test]
fn times_outside_the_window_become_the_receive_time_and_keep_the_original() {
    let received = "2026-11-26T12:00:00Z";
    for sent in ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "9999-12-31T23:59:59-23:59", "2026-08-27T11:59:59Z", "2026-11-27T12:00:01Z"] {
        let mut payload = event();
        payload["timestamp"] = json!(sent);
        let valid = validate_event(payload).unwrap();
        assert_eq!(valid.payload["timestamp"], received, "{sent}");
        assert_eq!(valid.payload["_meta"]["timestamp"]["originalValue"], sent);
        assert!(valid.changed);
    }
    for sent in ["2026-08-28T12:00:00Z", "2026-11-27T12:00:00Z", "2026-11-26T13:00:00+01:00"] {
        let mut payload = event();
        payload["timestamp"] = json!(sent);
        let valid = validate_event(payload).unwrap();
        assert_eq!(valid.payload["timestamp"], sent, "inside the window a time is kept as sent");
        assert!(valid.payload.get("_meta").is_none());
    }

    let span = json!({
        "id": "019508a0-2222-7000-8000-000000000001", "traceId": "019508a0-3333-7000-8000-000000000001",
        "parentSpanId": null, "op": "http.client", "name": "GET /api",
        "startedAt": "9999-12-31T23:59:59Z", "durationMs": 86_400_000, "status": "ok"
    });
    let span = validate_span(span).unwrap();
    assert_eq!(span.payload["startedAt"], received);
    assert_eq!(span.payload["_meta"]["startedAt"]["originalValue"], "9999-12-31T23:59:59Z");

    let session = json!({
        "id": "019508a0-4444-7000-8000-000000000001", "release": "a@1", "environment": "prod",
        "status": "ok", "startedAt": "0001-01-01T00:00:00Z", "durationMs": 1
    });
    assert_eq!(validate_session(session).unwrap().payload["startedAt"], received);

    let deploy = validate_deploy(json!({"release": "a@1", "deployedAt": "9999-01-01T00:00:00Z"})).unwrap();
    assert_eq!(deploy.deployed_at, Some(RECEIVED));
}

#[test]
fn names_and_ids_that_become_keys_are_cut_to_two_hundred_characters() {
    let long = "é".repeat(5_000);
    let mut payload = event();
    payload["user"] = json!({"id": long, "name": long});
    payload["device"]["installId"] = json!(long);
    payload["device"]["model"] = json!(long);
    payload["platform"] = json!(long);
    payload["app"]["framework"] = json!({"name": long});
    payload["error"]["type"] = json!(long);
    let out = validate_event(payload).unwrap().payload;
    for (path, value) in [
        ("user.id", &out["user"]["id"]),
        ("user.name", &out["user"]["name"]),
        ("device.installId", &out["device"]["installId"]),
        ("device.model", &out["device"]["model"]),
        ("platform", &out["platform"]),
        ("app.framework.name", &out["app"]["framework"]["name"]),
        ("error.type", &out["error"]["type"]),
    ] {
        assert_eq!(value.as_str().unwrap().chars().count(), Limits::NAME_MAX_CHARS, "{path}");
        assert_eq!(out["_meta"][path]["originalLength"], 5_000, "{path}");
    }

    let session = json!({
        "id": "019508a0-4444-7000-8000-000000000001", "release": "a@1", "environment": "prod",
        "status": long, "userId": long, "startedAt": "2026-11-26T10:00:00Z", "durationMs": 1
    });
    let out = validate_session(session).unwrap().payload;
    assert_eq!(out["userId"].as_str().unwrap().chars().count(), Limits::NAME_MAX_CHARS);
    assert_eq!(out["status"].as_str().unwrap().chars().count(), Limits::NAME_MAX_CHARS);
}

#[test]
fn non_objects_are_rejected_at_the_root() {
    for payload in [json!([]), json!("event"), json!(null), json!(3)] {
        let errors = fields(validate_event(payload));
        assert_eq!(errors, vec![("$".to_owned(), "must be a JSON object".to_owned())]);
    }
}

mod properties {
    use proptest::prelude::*;
    use serde_json::Value;

    fn arbitrary_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
            ".{0,40}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 64, 8, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
                prop::collection::btree_map(
                    prop_oneof![
                        Just("id".to_owned()), Just("error".to_owned()), Just("stack".to_owned()),
                        Just("cause".to_owned()), Just("tags".to_owned()), Just("kind".to_owned()), ".{0,8}"
                    ],
                    inner,
                    0..8
                )
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    /// Text of up to `max` characters, ASCII or not, so lengths in bytes and
    /// in characters differ.
    fn text(max: usize) -> impl Strategy<Value = String> {
        prop::collection::vec(prop_oneof![8 => Just('a'), 2 => Just('é'), 1 => Just('字'), 1 => Just('\\')], 0..=max)
            .prop_map(|chars| chars.into_iter().collect())
    }

    /// Spans around every limit the full path checks or trims.
    fn typed_span() -> impl Strategy<Value = sentori_model::Span> {
        let strings = (text(70), text(210), text(210), -2i64..=2, prop::option::of(0usize..20_000));
        let tags = prop::collection::btree_map(text(66), text(202), 0..=52);
        // A U+0000, which parsing replaces, now and then.
        let nul = prop::bool::weighted(0.05);
        let extra = prop::option::of(prop_oneof![Just("_meta"), Just("links"), Just("events")]);
        (strings, tags, extra, -100i64..100, nul).prop_map(|((op, mut name, status, day, data_bytes), tags, extra, minutes, nul)| {
            if nul {
                name.push('\0');
            }
            let mut span = sentori_model::Span {
                id: uuid::Uuid::from_u128(1),
                trace_id: uuid::Uuid::from_u128(2),
                parent_span_id: None,
                op,
                name,
                // Around the edges of the window a time may be in: 90 days back, a day ahead.
                started_at: super::RECEIVED + time::Duration::days(day.signum() * if day.abs() == 2 { 90 } else { day.abs() })
                    + time::Duration::minutes(minutes),
                duration_ms: [-1, 0, 5, super::Limits::SPAN_MAX_DURATION_MS, super::Limits::SPAN_MAX_DURATION_MS + 1]
                    [minutes.unsigned_abs() as usize % 5],
                status: status.as_str().into(),
                tags,
                data: data_bytes.map(|n| [("blob".to_owned(), Value::String("x".repeat(n)))].into_iter().collect()),
                traceparent: None,
                extra: Default::default(),
            };
            if let Some(key) = extra {
                span.extra.insert(key.to_owned(), Value::from(1));
            }
            span
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1_000))]
        /// The typed shortcut says "queue the text as it is" exactly when
        /// the full path (parse, validate, trim) accepts the span and
        /// changes nothing.
        #[test]
        fn a_typed_span_is_untouched_exactly_when_the_full_path_keeps_it(span in typed_span()) {
            let text = serde_json::to_string(&span).unwrap();
            let full = crate::validate_span(crate::json::parse(text.as_bytes()).unwrap(), super::RECEIVED);
            let kept = matches!(full, Ok(ref v) if !v.changed) && !crate::json::has_nul_escape(text.as_bytes());
            prop_assert_eq!(crate::span_untouched(&span, &text, super::RECEIVED), kept, "{}", text);
        }
    }

    proptest! {
        /// Whatever arrives, validation answers with a verdict and never panics.
        #[test]
        fn any_json_gets_a_verdict(payload in arbitrary_json()) {
            let _ = super::validate_event(payload.clone());
            let _ = super::validate_span(payload.clone());
            let _ = super::validate_session(payload.clone());
            let _ = super::validate_deploy(payload);
        }
    }
}
