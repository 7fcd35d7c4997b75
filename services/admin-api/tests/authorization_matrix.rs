//! The authorization matrix over every route of the admin API.
//!
//! The routes come from the OpenAPI document the service serves, which is
//! built from the same `routes!` registrations that build the router (and
//! documents the artifact routes merged from `artifacts.rs`), so a new route
//! is in this matrix the moment it is registered and documented. A route that
//! is in the document but not in the router fails here too (it answers 404).

use crate::common;

use common::{Api, Auth, IssueSeed, insert_event, insert_issue, json, process, span};
use reqwest::Method;
use sentori_protocol::TokenKind;
use sentori_queue::ItemKind;
use serde_json::{Value, json};
use time::OffsetDateTime;
use uuid::Uuid;

/// Routes anyone may call.
const PUBLIC: [(&str, &str); 2] = [("post", "/login"), ("post", "/logout")];
/// Routes that are the operator's alone: an admin token gets 403.
const OPERATOR_ONLY: [(&str, &str); 2] = [("get", "/status"), ("post", "/projects")];

/// The release every seeded row belongs to; `{release}` in a path, encoded.
const RELEASE: &str = "app@1.0.0";

/// Ids of rows that exist in one project, one per path parameter, so that
/// a route answering 404 for another caller shows a project check, not a
/// row that is missing anyway.
struct Seeded {
    issue: Uuid,
    event: Uuid,
    attachment: Uuid,
    recipient: Uuid,
    token: Uuid,
    artifact: Uuid,
    trace: Uuid,
}

impl Seeded {
    async fn in_project(api: &Api, project: Uuid) -> Self {
        let pool = &api.pool;
        let trace = Uuid::new_v4();
        let issue = insert_issue(pool, project, IssueSeed::default()).await;
        let now = OffsetDateTime::now_utc();
        let event = insert_event(pool, project, issue, now, RELEASE, "prod", json!({"traceId": trace.to_string()})).await;
        let attachment = Uuid::new_v4();
        sqlx::query(
            "INSERT INTO attachments (project_id, id, event_id, kind, media_type, size_bytes, sha256, source)
             VALUES ($1, $2, $3, 'screenshot', 'image/png', 9, $4, 'js')",
        )
        .bind(project)
        .bind(attachment)
        .bind(event)
        .bind("ab".repeat(32))
        .execute(pool)
        .await
        .unwrap();
        let recipient = Uuid::now_v7();
        sqlx::query("INSERT INTO recipients (project_id, id, email) VALUES ($1, $2, 'ops@example.com')")
            .bind(project)
            .bind(recipient)
            .execute(pool)
            .await
            .unwrap();
        let (token, _) = sentori_store::tokens::create_token(pool, project, TokenKind::Admin, "seeded").await.unwrap();
        // The processor recorded the release with the event.
        let release = sentori_protocol::release_id(project, RELEASE);
        let artifact = Uuid::now_v7();
        sqlx::query(
            "INSERT INTO artifacts (project_id, id, release_id, name, kind, content_sha256, size_bytes)
             VALUES ($1, $2, $3, 'app.js.map', 'sourcemap', $4, 2)",
        )
        .bind(project)
        .bind(artifact)
        .bind(release)
        .bind("cd".repeat(32))
        .execute(pool)
        .await
        .unwrap();
        process(pool, project, &[(ItemKind::Span, span(Uuid::new_v4(), trace, None, "http.server", now, 1, "ok"))]).await;
        Self { issue, event, attachment, recipient, token, artifact, trace }
    }

    fn value(&self, parameter: &str) -> String {
        let id = match parameter {
            "release" => return RELEASE.replace('@', "%40"),
            "iid" => self.issue,
            "eid" => self.event,
            "ref" => self.attachment,
            "rid" => self.recipient,
            "tid" => self.token,
            "aid" => self.artifact,
            "traceId" => self.trace,
            other => panic!("no seeded row for the path parameter {{{other}}}: seed one"),
        };
        id.to_string()
    }
}

/// Whether `path` has a parameter besides the project and the release
/// (a release is named, and the same name may exist in every project).
fn names_a_row_by_id(path: &str) -> bool {
    path.split('{').skip(1).filter_map(|rest| rest.split_once('}')).any(|(name, _)| !matches!(name, "pid" | "release"))
}

/// `path` with `{pid}` set to `project` and every other parameter to a row of `rows`.
fn fill(path: &str, project: Uuid, rows: &Seeded) -> String {
    let mut out = String::new();
    for segment in path.split('/').skip(1) {
        out.push('/');
        let mut rest = segment;
        while let Some(start) = rest.find('{') {
            out.push_str(&rest[..start]);
            let end = rest[start..].find('}').expect("closed parameter") + start;
            let value = match &rest[start + 1..end] {
                "pid" => project.to_string(),
                parameter => rows.value(parameter),
            };
            out.push_str(&value);
            rest = &rest[end + 1..];
        }
        out.push_str(rest);
    }
    out
}

#[tokio::test]
async fn every_route_refuses_the_wrong_callers() {
    let api = Api::start().await;
    let victim = api.project("victim").await;
    let other = api.project("other").await;
    let public_token = api.token(victim, TokenKind::Public).await;
    let other_admin = api.token(other, TokenKind::Admin).await;
    let session = api.login().await;
    let victims_rows = Seeded::in_project(&api, victim).await;

    let (status, doc, _) = json(api.get("/openapi.json").send().await.unwrap()).await;
    assert_eq!(status, 200);
    let paths = doc["paths"].as_object().expect("the document has paths");
    let mut operations = Vec::new();
    for (path, item) in paths {
        for method in ["get", "post", "put", "patch", "delete"] {
            if item.get(method).is_some() {
                operations.push((method, path.as_str()));
            }
        }
    }
    // The surface of admin-api.md: a document that lost routes must not pass quietly.
    assert!(operations.len() >= 28, "only {} operations documented: {operations:?}", operations.len());

    let mut failures = Vec::new();
    for &(method, path) in &operations {
        if PUBLIC.contains(&(method, path)) {
            continue;
        }
        let url = fill(path, victim, &victims_rows);
        let http_method = Method::from_bytes(method.to_ascii_uppercase().as_bytes()).unwrap();
        let mutation = method != "get";
        let send = |request: reqwest::RequestBuilder| async {
            let request = if mutation { request.json(&Value::Object(Default::default())) } else { request };
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let body: Value = response.json().await.unwrap_or(Value::Null);
            (status, body)
        };

        let (status, body) = send(api.request(http_method.clone(), &url)).await;
        if status != 401 || body["error"] != "unauthorized" {
            failures.push(format!("{method} {path} without credentials: {status} {body}"));
        }
        let (status, body) = send(api.request(http_method.clone(), &url).bearer_auth(&public_token)).await;
        if status != 403 || body["hint"].is_null() {
            failures.push(format!("{method} {path} with a public token: {status} {body}"));
        }
        let (status, body) = send(api.request(http_method.clone(), &url).bearer_auth(&other_admin)).await;
        if path.starts_with("/projects/{pid}") || OPERATOR_ONLY.contains(&(method, path)) {
            if status != 403 && status != 404 {
                failures.push(format!("{method} {path} with another project's admin token: {status} {body}"));
            }
        }
        // The caller's own project in the path, the victim's row ids in the
        // rest: every look-up must be scoped to the project in the path.
        if path.starts_with("/projects/{pid}/") && names_a_row_by_id(path) {
            let own_path = fill(path, other, &victims_rows);
            let (status, body) = send(api.request(http_method.clone(), &own_path).bearer_auth(&other_admin)).await;
            if (200..300).contains(&status) {
                failures.push(format!("{method} {path} with the caller's project and another project's ids: {status} {body}"));
            }
        }
        if mutation {
            let (status, body) = send(api.request(http_method.clone(), &url).cookie_only(&session)).await;
            if status != 403 {
                failures.push(format!("{method} {path} with the cookie but no CSRF header: {status} {body}"));
            }
        }
    }
    // The document says which routes need no credentials, and they are exactly the public ones.
    for (path, item) in paths {
        for (method, operation) in item.as_object().unwrap() {
            let open = operation["security"].as_array().is_some_and(|s| s.iter().any(|r| r.as_object().is_some_and(|o| o.is_empty())));
            assert_eq!(open, PUBLIC.contains(&(method.as_str(), path.as_str())), "{method} {path}: security {}", operation["security"]);
        }
    }
    // The public routes answer without credentials.
    assert_eq!(api.request(Method::POST, "/logout").send().await.unwrap().status(), 200);
    assert!(failures.is_empty(), "authorization failures:\n{}", failures.join("\n"));
}

#[tokio::test]
async fn the_document_names_every_route_the_spec_lists() {
    let doc = admin_api::openapi();
    let json = serde_json::to_value(&doc).unwrap();
    let paths = json["paths"].as_object().unwrap();
    for (method, path) in [
        ("get", "/projects"),
        ("post", "/projects"),
        ("get", "/projects/{pid}/tokens"),
        ("post", "/projects/{pid}/tokens"),
        ("delete", "/projects/{pid}/tokens/{tid}"),
        ("get", "/projects/{pid}/issues"),
        ("get", "/projects/{pid}/issues/{iid}"),
        ("patch", "/projects/{pid}/issues/{iid}"),
        ("post", "/projects/{pid}/issues:bulk"),
        ("delete", "/projects/{pid}/issues/{iid}"),
        ("post", "/projects/{pid}/issues:merge"),
        ("post", "/projects/{pid}/issues:delete"),
        ("get", "/projects/{pid}/issues/{iid}/activity"),
        ("get", "/projects/{pid}/issues/{iid}/events"),
        ("get", "/projects/{pid}/issues/{iid}/events/latest"),
        ("get", "/projects/{pid}/events/{eid}"),
        ("get", "/projects/{pid}/events/{eid}/attachments"),
        ("get", "/projects/{pid}/events/{eid}/attachments/{ref}"),
        ("get", "/projects/{pid}/traces"),
        ("get", "/projects/{pid}/traces/{traceId}"),
        ("get", "/projects/{pid}/releases"),
        ("get", "/projects/{pid}/releases/{release}/artifacts"),
        ("post", "/projects/{pid}/releases/{release}/artifacts"),
        ("delete", "/projects/{pid}/releases/{release}/artifacts/{aid}"),
        ("post", "/releases/{release}/sourcemaps"),
        ("get", "/projects/{pid}/recipients"),
        ("post", "/projects/{pid}/recipients"),
        ("patch", "/projects/{pid}/recipients/{rid}"),
        ("delete", "/projects/{pid}/recipients/{rid}"),
        ("get", "/status"),
        ("post", "/login"),
        ("post", "/logout"),
        ("get", "/me"),
    ] {
        assert!(paths.get(path).and_then(|item| item.get(method)).is_some(), "{method} {path} is not documented");
    }
}

#[tokio::test]
async fn routes_merged_from_other_modules_answer_errors_as_json_too() {
    let api = Api::start().await;
    let session = api.login().await;
    let project = api.project("app").await;
    for (method, path) in [
        (Method::GET, "/projects/not-a-uuid/releases/app%401.0.0/artifacts".to_owned()),
        (Method::POST, format!("/projects/{project}/releases/app%401.0.0/artifacts")),
    ] {
        let response = api.request(method.clone(), &path).operator(&session).body("not multipart").send().await.unwrap();
        let status = response.status().as_u16();
        assert!((400..500).contains(&status), "{method} {path}: {status}");
        let (_, body, _) = json(response).await;
        assert!(body["error"].is_string() && body["message"].is_string(), "{method} {path}: {body}");
    }
}
