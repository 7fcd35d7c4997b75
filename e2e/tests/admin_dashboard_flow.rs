//! The admin API over data the real pipeline wrote: an SDK's event, span
//! and session go through ingest and the processor, and the operator reads
//! them back through the admin-api binary the way the dashboard does.

use std::time::Duration;

use serde_json::{Value, json};
use sentori_protocol::DEV_PROJECT_ID;
use sentori_testkit::{ServiceProcess, TestStack, eventually, post_event_batches};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

/// A test stack with ingest, the processor and the admin API running on it.
struct Pipeline {
    stack: TestStack,
    ingest: ServiceProcess,
    admin: ServiceProcess,
    _processor: ServiceProcess,
}

impl Pipeline {
    async fn start() -> Self {
        let stack = TestStack::new().await;
        let env = stack.service_env();
        let ingest = ServiceProcess::start("ingest", "SENTORI_INGEST_ADDR", &env).await;
        let _processor = ServiceProcess::start("processor", "SENTORI_PROCESSOR_ADDR", &env).await;
        let admin = ServiceProcess::start("admin-api", "SENTORI_ADMIN_API_ADDR", &env).await;
        Self { stack, ingest, admin, _processor }
    }
}

/// Logs in as the operator; answers the session cookie and the CSRF token.
async fn operator_login(client: &reqwest::Client, admin: &ServiceProcess) -> (String, String) {
    let login = client.post(admin.url("/admin/api/login")).json(&json!({"password": "test-password"})).send().await.unwrap();
    assert_eq!(login.status(), 200);
    let cookie = login.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
    let csrf = login.json::<Value>().await.unwrap()["csrfToken"].as_str().unwrap().to_owned();
    (cookie, csrf)
}

async fn get_json(client: &reqwest::Client, admin: &ServiceProcess, cookie: &str, path: String) -> Value {
    let response = client.get(admin.url(&format!("/admin/api{path}"))).header("Cookie", cookie).send().await.unwrap();
    assert_eq!(response.status(), 200, "{path}");
    response.json::<Value>().await.unwrap()
}

#[tokio::test]
async fn the_operator_reads_what_the_pipeline_stored() {
    let Pipeline { stack, ingest, admin, _processor } = Pipeline::start().await;
    let client = reqwest::Client::new();
    let api = |path: &str| admin.url(&format!("/admin/api{path}"));

    // A few minutes ago, so every event falls in the issue's 24-hour trend.
    let base = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap() - time::Duration::minutes(5);
    let at = |offset: time::Duration| (base + offset).format(&Rfc3339).unwrap();
    let trace_id = Uuid::new_v4();
    let root = Uuid::new_v4();
    let child = Uuid::new_v4();
    for (id, parent, offset_ms, op) in [(root, None, 0, "react.navigation"), (child, Some(root), 40, "http.client")] {
        let span = json!({
            "id": id, "traceId": trace_id, "parentSpanId": parent, "op": op, "name": "checkout",
            "startedAt": at(time::Duration::milliseconds(offset_ms)), "durationMs": 120, "status": "error",
        });
        let response = client.post(ingest.url("/v1/spans")).bearer_auth(&stack.dev_token).json(&span).send().await.unwrap();
        assert_eq!(response.status(), 202, "{}", response.text().await.unwrap());
    }
    let mut event_ids = Vec::new();
    for second in 0..3 {
        let id = Uuid::now_v7();
        event_ids.push(id);
        let event = json!({
            "id": id, "timestamp": at(time::Duration::seconds(second)), "kind": "error", "platform": "javascript",
            "release": "shop@1.0.0+1", "environment": "prod",
            "device": {"os": "ios", "osVersion": "17.4", "model": "iPhone15,2"},
            "app": {"version": "1.0.0", "framework": {"name": "react-native", "version": "0.74.1"}},
            "user": {"id": "u-1"}, "traceId": trace_id, "spanId": child,
            "message": "<img src=x onerror=alert(1)>",
            "error": {"type": "TypeError", "message": "<img src=x onerror=alert(1)>",
                      "stack": [{"file": "app:///checkout.js", "line": 3, "function": "pay", "inApp": true}]},
        });
        let response = client
            .post(ingest.url("/v1/events"))
            .bearer_auth(&stack.dev_token)
            .header("Sentori-Sdk", "sentori.js/0.1.0")
            .json(&event)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 202);
    }

    // The operator logs in through the binary.
    let (cookie, csrf) = operator_login(&client, &admin).await;
    let get = |path: String| get_json(&client, &admin, &cookie, path);

    let issue = eventually("the issue with all three events", Duration::from_secs(30), || async {
        let list = get(format!("/projects/{DEV_PROJECT_ID}/issues?status=active&sort=lastSeen&limit=50")).await;
        list.as_array().unwrap().iter().find(|i| i["eventCount"] == 3).cloned()
    })
    .await;
    let iid = issue["id"].as_str().unwrap().to_owned();
    let trend_total: i64 = issue["trend24h"].as_array().unwrap().iter().map(|v| v.as_i64().unwrap()).sum();
    assert_eq!(issue["trend24h"].as_array().unwrap().len(), 24);
    // Counted by the hour each event happened: minutes ago, inside the last 24 hours.
    assert_eq!(trend_total, 3, "{issue}");

    let detail = get(format!("/projects/{DEV_PROJECT_ID}/issues/{iid}")).await;
    assert_eq!(detail["tags"]["os"], json!([{"value": "ios 17.4", "count": 3}]), "{detail}");
    assert_eq!(detail["tags"]["runtime"], json!([{"value": "react-native 0.74.1", "count": 3}]));
    assert_eq!(detail["tags"]["release"], json!([{"value": "shop@1.0.0+1", "count": 3}]));
    assert!(detail["fingerprint"].as_array().is_some_and(|c| !c.is_empty()), "{detail}");
    assert_eq!(detail["latestEventId"], event_ids[2].to_string());
    assert_eq!(detail["oldestEventId"], event_ids[0].to_string());

    let events = get(format!("/projects/{DEV_PROJECT_ID}/issues/{iid}/events?limit=25")).await;
    let listed: Vec<&str> = events.as_array().unwrap().iter().map(|e| e["id"].as_str().unwrap()).collect();
    let newest_first: Vec<String> = event_ids.iter().rev().map(Uuid::to_string).collect();
    assert_eq!(listed, newest_first);
    assert_eq!(events[0]["title"], "TypeError: <img src=x onerror=alert(1)>", "stored and returned literally");
    assert_eq!(events[0]["userId"], "u-1");
    let device = ["os", "osVersion", "deviceModel"].map(|key| events[0][key].as_str().unwrap_or_default().to_owned());
    assert_eq!(device, ["ios", "17.4", "iPhone15,2"], "{events}");

    let event = get(format!("/projects/{DEV_PROJECT_ID}/events/{}", event_ids[1])).await;
    assert_eq!(event["issueId"], iid.as_str());
    assert_eq!(event["previousEventId"], event_ids[0].to_string());
    assert_eq!(event["nextEventId"], event_ids[2].to_string());
    assert_eq!(event["sdk"], "sentori.js/0.1.0");
    assert_eq!(event["error"]["stack"][0]["function"], "pay");

    let trace = eventually("the trace with both spans", Duration::from_secs(30), || async {
        let response = client
            .get(api(&format!("/projects/{DEV_PROJECT_ID}/traces/{trace_id}")))
            .header("Cookie", &cookie)
            .send()
            .await
            .unwrap();
        let body: Value = response.json().await.unwrap();
        (body["spans"].as_array().map(Vec::len) == Some(2)).then_some(body)
    })
    .await;
    assert_eq!(trace["spans"][0]["id"], root.to_string());
    assert_eq!(trace["spans"][1]["parentSpanId"], root.to_string());
    assert_eq!(trace["events"].as_array().unwrap().len(), 3);
    assert_eq!(trace["events"][0]["spanId"], child.to_string());
    assert_eq!(trace["events"][0]["title"], "TypeError: <img src=x onerror=alert(1)>");
    let traces = get(format!("/projects/{DEV_PROJECT_ID}/traces?op=react.navigation")).await;
    assert_eq!(traces[0]["traceId"], trace_id.to_string());

    let releases = get(format!("/projects/{DEV_PROJECT_ID}/releases")).await;
    let release = releases.as_array().unwrap().iter().find(|r| r["name"] == "shop@1.0.0+1").expect("the release").clone();
    assert_eq!((release["eventCount"].as_i64(), release["newIssueCount"].as_i64()), (Some(3), Some(1)));

    // Resolve it as the dashboard does: cookie, CSRF header, own origin.
    let resolved = client
        .patch(api(&format!("/projects/{DEV_PROJECT_ID}/issues/{iid}")))
        .header("Cookie", &cookie)
        .header("X-Sentori-Csrf", &csrf)
        .json(&json!({"status": "resolved", "resolvedInRelease": "shop@1.0.0+1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resolved.status(), 200);
    let row: Value = resolved.json().await.unwrap();
    assert_eq!((row["status"].as_str(), row["resolvedInRelease"].as_str()), (Some("resolved"), Some("shop@1.0.0+1")));

    // The OpenAPI document is served and names the routes.
    let doc = client.get(api("/openapi.json")).send().await.unwrap().json::<Value>().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    assert!(doc["paths"]["/projects/{pid}/issues"]["get"].is_object());
}

/// An SDK that sends stored events late (an app offline for two days) must
/// not make them look like a spike now: the issue list's trend and the
/// issue's histogram count them when they happened.
#[tokio::test]
async fn late_events_count_when_they_happened_not_when_they_arrived() {
    let Pipeline { stack, ingest, admin, _processor } = Pipeline::start().await;
    let client = reqwest::Client::new();

    let now = OffsetDateTime::now_utc();
    let two_days_ago = now - time::Duration::days(2);
    // Four from two days ago; one from a clock six hours ahead, counted at
    // its arrival; one from a clock 200 days behind, which ingest replaces
    // by the receive time.
    let mut times = vec![two_days_ago; 4];
    times.extend([now + time::Duration::hours(6), now - time::Duration::days(200)]);
    let events: Vec<Value> = times
        .iter()
        .map(|at| {
            json!({
                "id": Uuid::now_v7(), "timestamp": at.format(&Rfc3339).unwrap(), "kind": "error", "platform": "javascript",
                "release": "shop@1.0.0", "environment": "prod",
                "device": {"os": "android", "osVersion": "14"}, "app": {"version": "1.0.0"},
                "error": {"type": "OfflineError", "message": "sent late",
                          "stack": [{"file": "app:///sync.js", "line": 7, "function": "flush", "inApp": true}]},
            })
        })
        .collect();
    post_event_batches(&client, &ingest.url(""), &stack.dev_token, &events).await;

    let (cookie, _) = operator_login(&client, &admin).await;
    let get = |path: String| get_json(&client, &admin, &cookie, path);
    let issue = eventually("the issue with all six events", Duration::from_secs(30), || async {
        let list = get(format!("/projects/{DEV_PROJECT_ID}/issues?status=active")).await;
        list.as_array().unwrap().iter().find(|i| i["eventCount"] == 6).cloned()
    })
    .await;
    let trend: i64 = issue["trend24h"].as_array().unwrap().iter().map(|v| v.as_i64().unwrap()).sum();
    assert_eq!(trend, 2, "only the two that arrived with a time now count in the last 24 hours: {issue}");

    let iid = issue["id"].as_str().unwrap();
    let histogram = |period: &str| get(format!("/projects/{DEV_PROJECT_ID}/issues/{iid}/histogram?period={period}"));
    let total = |histogram: &Value| -> i64 { histogram["buckets"].as_array().unwrap().iter().map(|b| b["count"].as_i64().unwrap()).sum() };
    let day = histogram("24h").await;
    assert_eq!(total(&day), 2, "{day}");
    let quarter = histogram("90d").await;
    assert_eq!(total(&quarter), 6, "{quarter}");
    let two_weeks = histogram("14d").await;
    assert_eq!(total(&two_weeks), 6, "{two_weeks}");
    let buckets = two_weeks["buckets"].as_array().unwrap();
    let that_day = two_days_ago.replace_time(time::Time::MIDNIGHT).format(&Rfc3339).unwrap();
    let bucket = buckets.iter().find(|b| b["start"] == that_day.as_str()).unwrap_or_else(|| panic!("{that_day} in {two_weeks}"));
    assert_eq!(bucket["count"], 4, "{two_weeks}");
}

/// The issue list's search narrows by user and tag as the processor stored
/// them; under a release filter the counts are the release's, and the
/// status tabs count what the filters leave.
#[tokio::test]
async fn the_issue_list_narrows_by_user_tag_and_release_and_counts_to_match() {
    let Pipeline { stack, ingest, admin, _processor } = Pipeline::start().await;
    let client = reqwest::Client::new();
    let now = OffsetDateTime::now_utc().format(&Rfc3339).unwrap();
    let event = |function: &str, release: &str, user: &str, screen: &str| {
        json!({
            "id": Uuid::now_v7(), "timestamp": now, "kind": "error", "platform": "javascript",
            "release": release, "environment": "prod", "device": {"os": "web", "osVersion": "124"}, "app": {"version": "1"},
            "user": {"id": user}, "tags": {"screen": screen},
            "error": {"type": "TypeError", "message": format!("{function} failed"),
                      "stack": [{"file": "app:///shop.js", "line": 3, "function": function, "inApp": true}]},
        })
    };
    let events = [
        event("checkout", "shop@1", "u-1", "checkout"),
        event("checkout", "shop@1", "u-1", "checkout"),
        event("checkout", "shop@2", "u-2", "cart"),
        event("browse", "shop@2", "u-3", "home"),
    ];
    post_event_batches(&client, &ingest.url(""), &stack.dev_token, &events).await;

    let (cookie, csrf) = operator_login(&client, &admin).await;
    let get = |path: String| get_json(&client, &admin, &cookie, path);
    let list = |query: &'static str| get(format!("/projects/{DEV_PROJECT_ID}/issues?status=all&{query}"));
    let titles = |rows: Value| -> Vec<String> {
        let mut titles: Vec<String> = rows.as_array().unwrap().iter().map(|r| r["title"].as_str().unwrap().to_owned()).collect();
        titles.sort();
        titles
    };
    eventually("both issues with all four events", Duration::from_secs(30), || async {
        let rows = list("").await;
        let events: i64 = rows.as_array().unwrap().iter().map(|r| r["eventCount"].as_i64().unwrap()).sum();
        (rows.as_array().unwrap().len() == 2 && events == 4).then_some(())
    })
    .await;

    assert_eq!(titles(list("user=u-2").await), ["TypeError: checkout failed"]);
    assert_eq!(titles(list("user=u-3").await), ["TypeError: browse failed"]);
    assert_eq!(titles(list("user=nobody").await), Vec::<String>::new());
    assert_eq!(titles(list("tag=screen%3Dcart").await), ["TypeError: checkout failed"]);
    assert_eq!(titles(list("tag=screen%3Dhome").await), ["TypeError: browse failed"]);
    assert_eq!(titles(list("tag=screen%3Dcart&tag=plan%3Dpro").await), Vec::<String>::new(), "one event carries every tag");
    for bad in ["tag=screen", "tag=screen%3Dcart&tag=screen%3Dhome"] {
        let response = client
            .get(admin.url(&format!("/admin/api/projects/{DEV_PROJECT_ID}/issues?{bad}")))
            .header("Cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{bad}");
        assert_eq!(response.json::<Value>().await.unwrap()["details"][0]["field"], "tag", "{bad}");
    }

    // Under a release filter, each row counts its events and users in that release.
    let in_release = list("release=shop%402").await;
    let checkout = in_release.as_array().unwrap().iter().find(|r| r["title"] == "TypeError: checkout failed").unwrap_or_else(|| panic!("{in_release}"));
    assert_eq!((checkout["eventCount"].as_i64(), checkout["userCount"].as_i64()), (Some(1), Some(1)), "{checkout}");
    let all_time = list("query=checkout").await;
    assert_eq!((all_time[0]["eventCount"].as_i64(), all_time[0]["userCount"].as_i64()), (Some(3), Some(2)));

    // The issue page breaks down the SDK's own tags too.
    let detail = get(format!("/projects/{DEV_PROJECT_ID}/issues/{}", all_time[0]["id"].as_str().unwrap())).await;
    assert_eq!(detail["customTags"], json!({"screen": [{"value": "checkout", "count": 2}, {"value": "cart", "count": 1}]}), "{detail}");

    // Resolve the browse issue; the tabs count under the filters.
    let browse = list("user=u-3").await[0]["id"].as_str().unwrap().to_owned();
    let resolved = client
        .patch(admin.url(&format!("/admin/api/projects/{DEV_PROJECT_ID}/issues/{browse}")))
        .header("Cookie", &cookie)
        .header("X-Sentori-Csrf", &csrf)
        .json(&json!({"status": "resolved"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resolved.status(), 200);
    let counts = |query: &'static str| get(format!("/projects/{DEV_PROJECT_ID}/issues:counts?{query}"));
    assert_eq!(counts("").await, json!({"active": 1, "regressed": 0, "resolved": 1, "silenced": 0, "all": 2}));
    assert_eq!(counts("release=shop%402").await, json!({"active": 1, "regressed": 0, "resolved": 1, "silenced": 0, "all": 2}));
    assert_eq!(counts("release=shop%401").await, json!({"active": 1, "regressed": 0, "resolved": 0, "silenced": 0, "all": 1}));
    assert_eq!(counts("tag=screen%3Dhome&status=active").await["all"], 1, "status is not a narrowing filter");
}
