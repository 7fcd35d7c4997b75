use serde_json::{Value, json};

use super::*;

/// Every event here is readable: grouping's refusals have a test of their own.
fn group(event: &Value) -> Grouping {
    super::group(event).unwrap()
}

fn error_event(release: &str, error_type: &str, frames: Value) -> Value {
    json!({
        "kind": "error", "release": release,
        "error": {"type": error_type, "message": "Cannot read property 'x' of undefined (id 42)", "stack": frames}
    })
}

fn app_frames(line: u32) -> Value {
    json!([
        {"file": "https://cdn.example.com/static/js/main.3f2a1b9c.js?v=1", "line": line, "column": 7, "function": "render", "inApp": true},
        {"file": "webpack:///src/App.tsx", "line": line + 10, "function": "App", "inApp": true},
        {"file": "node_modules/react-dom/index.js", "line": 1, "function": "commit", "inApp": false}
    ])
}

#[test]
fn one_bug_across_releases_and_lines_is_one_group() {
    let a = group(&error_event("app@1.2.3", "TypeError", app_frames(10)));
    let b = group(&error_event("app@1.2.4", "TypeError", app_frames(99)));
    assert_eq!(a.fingerprint, b.fingerprint);
    assert_eq!(a.fingerprint.len(), 32);
    assert_eq!(
        a.components,
        vec!["type:TypeError", "frame:render /static/js/main.js", "frame:App src/App.tsx"]
    );
    assert_eq!(a.title, "TypeError: Cannot read property 'x' of undefined (id 42)");
    assert_eq!(a.culprit.as_deref(), Some("render (https://cdn.example.com/static/js/main.3f2a1b9c.js?v=1)"));
}

#[test]
fn different_types_or_functions_are_different_groups() {
    let base = group(&error_event("a@1", "TypeError", app_frames(1)));
    assert_ne!(base.fingerprint, group(&error_event("a@1", "RangeError", app_frames(1))).fingerprint);
    let mut frames = app_frames(1);
    frames[0]["function"] = json!("paint");
    assert_ne!(base.fingerprint, group(&error_event("a@1", "TypeError", frames)).fingerprint);
}

#[test]
fn an_exception_group_groups_by_its_top_error_whichever_members_it_holds() {
    let group_event = |members: Value| {
        let mut event = error_event("a@1", "ExceptionGroup", app_frames(1));
        event["error"]["exceptions"] = members;
        event
    };
    let one = group(&group_event(json!([{"type": "ValueError", "stack": app_frames(5)}])));
    let other = group(&group_event(json!([{"type": "KeyError", "stack": []}, {"type": "OSError", "stack": []}])));
    assert_eq!(one.fingerprint, other.fingerprint, "a different set of failed tasks is the same issue");
    assert_eq!(one.fingerprint, group(&error_event("a@1", "ExceptionGroup", app_frames(1))).fingerprint);
    assert_eq!(one.title, "ExceptionGroup: Cannot read property 'x' of undefined (id 42)");
    assert_eq!(one.error_type.as_deref(), Some("ExceptionGroup"));
}

#[test]
fn only_the_top_five_in_app_frames_count() {
    let frames: Vec<Value> =
        (0..8).map(|i| json!({"file": "src/a.js", "line": 1, "function": format!("step{i}"), "inApp": true})).collect();
    let grouping = group(&error_event("a@1", "E", Value::Array(frames)));
    assert_eq!(grouping.components.len(), 1 + 5);
    assert_eq!(grouping.components[5], "frame:step4 src/a.js");
}

#[test]
fn without_in_app_frames_the_message_joins_the_key() {
    let frames = json!([{"file": "vendor.js", "line": 1, "function": "load"}]);
    let a = group(&error_event("a@1", "E", frames.clone()));
    assert_eq!(a.components, vec!["type:E", "frame:load vendor.js", "message:Cannot read property 'x' of undefined (id <n>)"]);
    let mut other = error_event("a@1", "E", frames);
    other["error"]["message"] = json!("something else");
    assert_ne!(a.fingerprint, group(&other).fingerprint);
}

#[test]
fn without_frames_the_normalised_message_is_the_key() {
    let mut a = error_event("a@1", "E", json!([]));
    a["error"]["message"] = json!("timeout after 3000 ms");
    let mut b = a.clone();
    b["error"]["message"] = json!("timeout after 5000 ms");
    assert_eq!(group(&a).fingerprint, group(&b).fingerprint);
    assert_eq!(group(&a).components, vec!["type:E", "message:timeout after <n> ms"]);
}

#[test]
fn messages_group_by_normalised_text_not_level() {
    let a = json!({"kind": "message", "level": "info", "message": "user 12 logged in"});
    let b = json!({"kind": "message", "level": "error", "message": "user 99 logged in"});
    assert_eq!(group(&a).fingerprint, group(&b).fingerprint);
    assert_eq!(group(&a).title, "user 12 logged in");
    assert_eq!(group(&a).error_type, None);
}

#[test]
fn anr_never_merges_with_a_crash() {
    let crash = error_event("a@1", "Hang", app_frames(1));
    let mut anr = crash.clone();
    anr["kind"] = json!("anr");
    let anr_grouping = group(&anr);
    assert_ne!(group(&crash).fingerprint, anr_grouping.fingerprint);
    assert_eq!(anr_grouping.components[0], "kind:anr");
}

#[test]
fn unknown_kinds_group_like_errors() {
    let crash = error_event("a@1", "E", app_frames(1));
    let mut future = crash.clone();
    future["kind"] = json!("oomKill");
    assert_eq!(group(&crash).fingerprint, group(&future).fingerprint);
}

#[test]
fn a_client_fingerprint_overrides_and_can_extend_the_default() {
    let mut custom = error_event("a@1", "E", app_frames(1));
    custom["fingerprint"] = json!(["checkout", "payment-declined"]);
    let grouping = group(&custom);
    assert_eq!(grouping.components, vec!["checkout", "payment-declined"]);

    let mut extended = error_event("a@1", "E", app_frames(1));
    extended["fingerprint"] = json!(["{{ default }}", "tenant-7"]);
    let default = group(&error_event("a@1", "E", app_frames(1)));
    let split = group(&extended);
    assert_eq!(split.components[..default.components.len()], default.components[..]);
    assert_eq!(split.components.last().unwrap(), "tenant-7");
    assert_ne!(split.fingerprint, default.fingerprint);

    let mut empty = error_event("a@1", "E", app_frames(1));
    empty["fingerprint"] = json!([]);
    assert_eq!(group(&empty).fingerprint, default.fingerprint, "an empty array means the default");
}

#[test]
fn file_normalisation() {
    assert_eq!(normalize_file("app:///index.android.bundle"), "index.android.bundle");
    assert_eq!(normalize_file("webpack://src/util/date.ts"), "src/util/date.ts");
    assert_eq!(normalize_file("https://x.io/assets/index-4f9a2c1de.js"), "/assets/index.js");
    assert_eq!(normalize_file("/assets/chunk.0a1b2c3d4e5f.min.js?x=1#L2"), "/assets/chunk.min.js");
    assert_eq!(normalize_file("~/lib/a.js"), "lib/a.js");
}

#[test]
fn node_core_and_package_frames_are_never_in_app() {
    // What a Node SDK may send: every frame marked in-app.
    let frames = json!([
        {"file": "node:internal/process/task_queues", "line": 95, "function": "process.processTicksAndRejections", "inApp": true},
        {"file": "internal/modules/esm/loader.js", "line": 3, "function": "load", "inApp": true},
        {"file": "/srv/app/node_modules/express/lib/router.js", "line": 1, "function": "handle", "inApp": true},
        {"file": "index 0", "line": 1, "function": "async Promise.all", "inApp": true},
        {"file": "/srv/app/src/orders.js", "line": 40, "function": "async placeOrder", "inApp": true}
    ]);
    let grouping = group(&error_event("a@1", "TypeError", frames));
    assert_eq!(grouping.components, vec!["type:TypeError", "frame:placeOrder /srv/app/src/orders.js"]);
    assert_eq!(grouping.culprit.as_deref(), Some("placeOrder (/srv/app/src/orders.js)"));
}

#[test]
fn the_same_function_awaited_or_not_is_one_frame() {
    let frame = |function: &str| json!([{"file": "src/a.js", "line": 1, "function": function, "inApp": true}]);
    assert_eq!(
        group(&error_event("a@1", "E", frame("async handler"))).fingerprint,
        group(&error_event("a@1", "E", frame("handler"))).fingerprint
    );
}

#[test]
fn minified_names_do_not_split_an_issue_between_builds() {
    let build = |function: &str, hash: &str| {
        json!([{"file": format!("https://cdn.example.com/main.{hash}.js"), "line": 1, "column": 18223, "function": function, "inApp": true}])
    };
    let first = group(&error_event("a@1", "E", build("a", "3f2a1b9c")));
    let next = group(&error_event("a@2", "E", build("Xe", "77aa00ff")));
    assert_eq!(first.fingerprint, next.fingerprint);
    assert_eq!(first.components[1], "frame:? /main.js");

    // A mapped frame's short name is the author's, and counts.
    let mut mapped = build("go", "3f2a1b9c");
    mapped[0]["rawFile"] = json!("https://cdn.example.com/main.3f2a1b9c.js");
    assert_eq!(group(&error_event("a@1", "E", mapped)).components[1], "frame:go /main.js");
}

#[test]
fn an_error_grouping_cannot_read_is_refused_naming_the_field() {
    let event = json!({"kind": "error", "error": {"type": "E", "stack": [{"file": "a.js", "inApp": "yes"}]}});
    let err = super::group(&event).unwrap_err();
    assert_eq!(err.path().to_string(), "error.stack[0].inApp");
}
