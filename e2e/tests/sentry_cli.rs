//! Source maps the way Sentry users ship them: the unmodified `sentry-cli`
//! (npm `@sentry/cli`) injects debug ids into an esbuild bundle and uploads
//! it to the real admin API's `/api/0/`, then the bundle runs under the
//! unmodified `@sentry/node`, which reports the bundle's debug id in the
//! event's `debug_meta`; the processor maps the frames with the uploaded map
//! although the event's release names no artifact.
//!
//! The npm packages (`e2e/sentry/cli/package.json`) are installed by the test
//! itself, once per target directory, under `target/e2e-tools/sentry-cli`;
//! the app (`e2e/sentry/cli/src`) is copied and built beside them per test.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::Duration;

use sentori_protocol::DEV_PROJECT_ID;
use sentori_testkit::{eventually, npm_tools};

use crate::common;
use common::Services;
use serde_json::{Value, json};
use uuid::Uuid;

fn sources() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("sentry/cli")
}

/// `target/e2e-tools/sentry-cli`, with `@sentry/cli`, `@sentry/node` and
/// `esbuild` installed.
fn tools() -> &'static Path {
    static TOOLS: OnceLock<PathBuf> = OnceLock::new();
    TOOLS.get_or_init(|| npm_tools("sentry-cli", &sources().join("package.json"), &["@sentry/cli", "@sentry/node", "esbuild"]))
}

/// A fresh copy of the app beside the installed packages (so the bundle's
/// `require("@sentry/node")` resolves), built into `dist/app.js` with its map.
fn build_app() -> PathBuf {
    let app = tools().join(format!("app-{}", Uuid::new_v4().simple()));
    std::fs::create_dir_all(app.join("src")).unwrap();
    for entry in std::fs::read_dir(sources().join("src")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), app.join("src").join(entry.file_name())).unwrap();
    }
    let esbuild = tools().join("node_modules/.bin/esbuild");
    let args = [
        "src/index.js",
        "--bundle",
        "--minify",
        "--sourcemap",
        "--platform=node",
        "--format=cjs",
        "--packages=external",
        "--outfile=dist/app.js",
        "--log-level=warning",
    ];
    succeed(Command::new(esbuild).current_dir(&app).args(args));
    app
}

fn succeed(cmd: &mut Command) -> String {
    let output = cmd.output().unwrap_or_else(|e| panic!("running {cmd:?}: {e}"));
    assert!(
        output.status.success(),
        "{cmd:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

impl Services {
    async fn admin(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let url = self.admin.url(&format!("/admin/api/projects/{DEV_PROJECT_ID}{path}"));
        let mut request = self.client.request(method, url).bearer_auth(&self.stack.dev_token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("admin-api answers");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// A new token of the dev project (number 1), as the dashboard creates it.
    async fn create_token(&self, kind: &str) -> Value {
        let (status, created) =
            self.admin(reqwest::Method::POST, "/tokens", Some(json!({ "label": format!("sentry-cli {kind}"), "kind": kind }))).await;
        assert_eq!(status, 201, "{created}");
        created
    }

    /// sentry-cli pointed at the admin API (where the public URL's `/api/0/` goes).
    fn sentry_cli(&self, token: &str, args: &[&str]) -> Output {
        let mut cmd = Command::new(tools().join("node_modules/.bin/sentry-cli"));
        cmd.arg("--url").arg(self.admin.url("/")).arg("--auth-token").arg(token).args(args);
        // Nothing may reach out to sentry.io.
        cmd.env("SENTRY_DISABLE_UPDATE_CHECK", "1").env_remove("SENTRY_DSN").env_remove("SENTRY_AUTH_TOKEN");
        cmd.output().expect("running sentry-cli")
    }

    /// The event as the admin API shows it, once stored.
    async fn event(&self, id: &str) -> Value {
        let id = Uuid::parse_str(id).expect("the SDK's event id is 32 hex digits");
        eventually("the stored event", Duration::from_secs(60), || async {
            let (status, event) = self.admin(reqwest::Method::GET, &format!("/events/{id}"), None).await;
            (status == 200).then_some(event)
        })
        .await
    }

    async fn chunk_rows(&self) -> i64 {
        let pool = self.stack.pool().await;
        sqlx::query_scalar("SELECT count(*) FROM upload_chunks").fetch_one(&pool).await.unwrap()
    }
}

fn text(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

fn debug_id_of(map: &Path) -> String {
    let map: Value = serde_json::from_slice(&std::fs::read(map).unwrap()).unwrap();
    map["debugId"].as_str().expect("sentry-cli injected a debugId into the map").to_owned()
}

#[tokio::test]
async fn sentry_cli_uploads_by_debug_id_and_node_events_map_to_the_original_source() {
    let services = Services::start(&[]).await;
    let admin_token = services.create_token("admin").await;
    let admin_token = admin_token["token"].as_str().unwrap().to_owned();
    let public = services.create_token("public").await;
    // The DSN of that public token, on the ingest this test started.
    let dsn = format!("http://{}@{}/1", public["token"].as_str().unwrap(), services.ingest.addr);
    let app = tokio::task::spawn_blocking(build_app).await.unwrap();

    // `info` reaches the server and shows the token's scopes.
    let info = services.sentry_cli(&admin_token, &["info"]);
    assert!(info.status.success(), "sentry-cli info failed:\n{}", text(&info));
    assert!(text(&info).contains("project:releases"), "{}", text(&info));

    // A wrong token and a wrong project get the CLI's own clear messages.
    let refused = services.sentry_cli("st_ak_not_a_real_token", &["info"]);
    assert!(!refused.status.success());
    assert!(text(&refused).contains("Invalid token") && text(&refused).contains("401"), "{}", text(&refused));
    let dist = app.join("dist");
    let dist = dist.to_str().unwrap();
    let inject = services.sentry_cli(&admin_token, &["sourcemaps", "inject", dist]);
    assert!(inject.status.success(), "{}", text(&inject));
    let debug_id = debug_id_of(&app.join("dist/app.js.map"));
    let wrong_project = services.sentry_cli(&admin_token, &["sourcemaps", "upload", "--org", "acme", "--project", "99", dist]);
    assert!(!wrong_project.status.success());
    assert!(text(&wrong_project).contains("--project 1"), "{}", text(&wrong_project));

    // The upload, without a release: chunks go up, the bundle is assembled.
    let upload = services.sentry_cli(&admin_token, &["sourcemaps", "upload", "--org", "acme", "--project", "1", dist]);
    assert!(upload.status.success(), "{}", text(&upload));
    assert!(text(&upload).contains("Uploaded files to Sentry"), "{}", text(&upload));
    assert_eq!(services.chunk_rows().await, 0, "an assembled bundle's chunks are removed");
    // The same files again: every chunk is known, none is sent.
    let again = services.sentry_cli(&admin_token, &["sourcemaps", "upload", "--org", "acme", "--project", "1", dist]);
    assert!(again.status.success(), "{}", text(&again));
    assert!(text(&again).contains("Nothing to upload, all files are on the server"), "{}", text(&again));
    assert!(!text(&again).contains("Uploaded files to Sentry"), "{}", text(&again));

    // The bundle is listed with its debug ids.
    let (status, bundles) = services.admin(reqwest::Method::GET, "/artifact-bundles", None).await;
    assert_eq!(status, 200, "{bundles}");
    let listed = bundles.as_array().unwrap();
    assert_eq!(listed.len(), 1, "{bundles}");
    let files = listed[0]["files"].as_array().unwrap();
    assert!(files.iter().any(|f| f["url"] == "~/app.js.map" && f["debugId"] == debug_id), "{bundles}");
    assert!(files.iter().any(|f| f["url"] == "~/app.js" && f["debugId"] == debug_id), "{bundles}");

    // The app throws under @sentry/node, with a release no artifact names.
    let script = app.join("dist/app.js");
    let output = tokio::task::spawn_blocking(move || {
        Command::new("node").arg(&script).env("SENTRY_DSN", &dsn).env("APP_RELEASE", "shop@9.9.9").output()
    })
    .await
    .unwrap()
    .expect("running node");
    assert!(output.status.success(), "the app failed:\n{}", text(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let last = stdout.lines().rev().find(|l| l.starts_with('{')).unwrap_or_else(|| panic!("no report in:\n{stdout}"));
    let sent: Value = serde_json::from_str(last).unwrap();
    let event = services.event(sent["error_event_id"].as_str().unwrap()).await;

    let top = &event["error"]["stack"][0];
    assert_eq!(top["file"], "src/prices.js", "{top}");
    assert_eq!(top["line"], 5, "the throw, 1-based: {top}");
    assert_eq!(top["column"], 11, "`new Error`, 1-based: {top}");
    assert_eq!(top["function"], "priceOf", "{top}");
    assert_eq!(top["contextLine"], "    throw new Error(`no price for ${sku}`);", "{top}");
    assert_eq!(top["sourceMap"], json!({ "kind": "debugId", "debugId": debug_id, "name": "~/app.js.map" }), "{top}");
    assert!(top["rawFile"].as_str().unwrap().ends_with("/dist/app.js"), "{top}");
    let caller = &event["error"]["stack"][1];
    assert_eq!((caller["file"].as_str(), caller["line"].as_u64()), (Some("src/checkout.js"), Some(6)), "{caller}");
    assert_eq!(caller["function"], "checkout", "{caller}");
    assert_eq!(event["symbolication"]["releaseHasMap"], true);

    // With --release the same bundle also becomes the release's artifacts.
    let with_release = services.sentry_cli(
        &admin_token,
        &["sourcemaps", "upload", "--org", "acme", "--project", "1", "--release", "shop@1.0.0", "--dist", "7", dist],
    );
    assert!(with_release.status.success(), "{}", text(&with_release));
    let (_, artifacts) = services.admin(reqwest::Method::GET, "/releases/shop%401.0.0/artifacts", None).await;
    let names: Vec<&str> = artifacts.as_array().unwrap().iter().filter_map(|a| a["name"].as_str()).collect();
    assert_eq!(names, ["~/app.js", "~/app.js.map"], "{artifacts}");
    let (_, bundles) = services.admin(reqwest::Method::GET, "/artifact-bundles?release=shop%401.0.0", None).await;
    assert_eq!(bundles[0]["dist"], "7", "{bundles}");
    let leftovers: Vec<_> = std::fs::read_dir(services.data_dir.path().join("chunks/tmp")).unwrap().collect();
    assert!(leftovers.is_empty(), "assembling left no temporary file");
    let _ = std::fs::remove_dir_all(&app);
}
