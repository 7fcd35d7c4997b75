//! Source maps end to end: uploads through admin-api (project route and the
//! CLI-compatible route), then real minified stacks symbolicated by the
//! processor.
//!
//! The stacks are real: the test installs esbuild from npm (once, under the
//! target directory), bundles `e2e/fixtures/sourcemap-app` into a temporary
//! directory, runs the output in Node so it throws, and turns V8's
//! `err.stack` into protocol frames.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::{Value, json};
use sentori_protocol::DEV_PROJECT_ID;
use sentori_testkit::{eventually, npm_tools};

use crate::common;
use common::Services;
use uuid::Uuid;

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/sourcemap-app");

// ---------------------------------------------------------------------------
// Services

impl Services {
    fn token(&self) -> &str {
        &self.stack.dev_token
    }

    /// Posts a multipart upload to an admin-api path; returns status and JSON body.
    async fn upload(&self, path: &str, token: &str, files: &[(&str, &str, Vec<u8>)]) -> (u16, Value) {
        let (content_type, body) = multipart(files);
        let response = self
            .client
            .post(self.admin.url(&format!("/admin/api{path}")))
            .bearer_auth(token)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .expect("admin-api answers");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        let response =
            self.client.get(self.admin.url(&format!("/admin/api{path}"))).bearer_auth(self.token()).send().await.expect("admin-api answers");
        (response.status().as_u16(), response.json().await.unwrap_or(Value::Null))
    }

    async fn delete(&self, path: &str) -> (u16, Value) {
        let response =
            self.client.delete(self.admin.url(&format!("/admin/api{path}"))).bearer_auth(self.token()).send().await.expect("admin-api answers");
        (response.status().as_u16(), response.json().await.unwrap_or(Value::Null))
    }

    async fn send_event(&self, event: &Value) {
        let response = self
            .client
            .post(self.ingest.url("/v1/events"))
            .bearer_auth(self.token())
            .header("Sentori-Sdk", "sentori.js/0.1.0")
            .json(event)
            .send()
            .await
            .expect("ingest answers");
        let status = response.status();
        let body: Value = response.json().await.unwrap_or_default();
        assert_eq!(status, 202, "ingest accepts the event: {body}");
    }

    /// The stored event's payload and issue, once the processor wrote it.
    async fn stored(&self, pool: &sqlx::PgPool, id: Uuid) -> (Value, Uuid) {
        eventually(&format!("event {id} stored"), Duration::from_secs(60), || async {
            sqlx::query_as::<_, (sqlx::types::Json<Value>, Uuid)>("SELECT payload, issue_id FROM events WHERE id = $1")
                .bind(id)
                .fetch_optional(pool)
                .await
                .expect("querying events")
                .map(|(payload, issue)| (payload.0, issue))
        })
        .await
    }

    fn blob_path(&self, sha: &str) -> PathBuf {
        self.data_dir.path().join("artifacts").join(&sha[..2]).join(sha)
    }
}

/// A `multipart/form-data` body, one part per `(field, filename, bytes)`;
/// an empty filename sends the part without one.
fn multipart(files: &[(&str, &str, Vec<u8>)]) -> (String, Vec<u8>) {
    let boundary = format!("sentori-{}", Uuid::new_v4().simple());
    let mut body = Vec::new();
    for (field, filename, bytes) in files {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        let disposition = if filename.is_empty() {
            format!("Content-Disposition: form-data; name=\"{field}\"\r\n")
        } else {
            format!("Content-Disposition: form-data; name=\"{field}\"; filename=\"{filename}\"\r\n")
        };
        body.extend_from_slice(disposition.as_bytes());
        body.extend_from_slice(b"Content-Type: application/octet-stream\r\n\r\n");
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

fn vm_hwm_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("reading /proc/<pid>/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/<pid>/status")
}

// ---------------------------------------------------------------------------
// Uploads

#[tokio::test]
async fn uploads_are_streamed_stored_once_listed_and_deleted() {
    let services = Services::start(&[]).await;
    let pool = services.stack.pool().await;
    let release = "myapp@1.2.3+456";
    let encoded = "myapp%401.2.3%2B456";

    // A 50 MB map, with `file` and `debugId` at its two ends, while watching
    // the admin-api's peak memory.
    let debug_id = "85314830-023f-4cf1-a267-535f4e37bb17";
    let mut big = br#"{"version":3,"file":"big.min.js","sources":["big.js"],"sourcesContent":[""#.to_vec();
    big.resize(big.len() + 50 * 1024 * 1024, b'x');
    big.extend_from_slice(format!(r#""],"names":[],"mappings":"","debugId":"{debug_id}"}}"#).as_bytes());
    let hwm_before = vm_hwm_kib(services.admin.pid());
    let (status, body) = services.upload(&format!("/releases/{encoded}/sourcemaps"), services.token(), &[("file", "big.min.js.map", big.clone())]).await;
    assert_eq!(status, 200, "{body}");
    let hwm_after = vm_hwm_kib(services.admin.pid());
    eprintln!("admin-api peak RSS around a 50 MB upload: {hwm_before} KiB before, {hwm_after} KiB after");
    assert!(
        hwm_after < hwm_before + 20 * 1024,
        "a 50 MB upload is streamed, not buffered: peak RSS went from {hwm_before} KiB to {hwm_after} KiB"
    );
    let release_id = sentori_protocol::release_id(DEV_PROJECT_ID, release);
    assert_eq!(body["releaseId"], release_id.to_string(), "the release segment is percent-decoded");
    assert_eq!(body["uploaded"], 1);
    let big_sha = body["artifacts"][0]["contentHash"].as_str().unwrap().to_owned();
    assert_eq!(body["artifacts"][0], json!({"name": "big.min.js.map", "kind": "sourcemap", "contentHash": big_sha}));
    assert_eq!(std::fs::read(services.blob_path(&big_sha)).expect("the blob is stored under its hash"), big);
    let release_name: String = sqlx::query_scalar("SELECT name FROM releases WHERE project_id = $1 AND id = $2")
        .bind(DEV_PROJECT_ID)
        .bind(release_id)
        .fetch_one(&pool)
        .await
        .expect("the upload created the release");
    assert_eq!(release_name, release);

    // Project route: any field names; a part without filename is named by its field.
    let map = br#"{"version":3,"sources":["a.js"],"names":[],"mappings":"AAAA"}"#.to_vec();
    let (status, body) = services
        .upload(
            &format!("/projects/{DEV_PROJECT_ID}/releases/{encoded}/artifacts"),
            services.token(),
            &[
                ("upload", "app.js.map", map.clone()),
                ("whatever", "copy-of-app.map", map.clone()),
                ("index.android.bundle", "", b"var a=1;".to_vec()),
                ("notes", "README.txt", b"hello".to_vec()),
            ],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["uploaded"], 4);
    let kinds: Vec<(&str, &str)> =
        body["artifacts"].as_array().unwrap().iter().map(|a| (a["name"].as_str().unwrap(), a["kind"].as_str().unwrap())).collect();
    assert_eq!(
        kinds,
        [("app.js.map", "sourcemap"), ("copy-of-app.map", "sourcemap"), ("index.android.bundle", "minified"), ("README.txt", "other")]
    );
    let map_sha = body["artifacts"][0]["contentHash"].as_str().unwrap().to_owned();
    assert_eq!(body["artifacts"][1]["contentHash"], map_sha.as_str(), "identical bytes, one hash");

    // The list, with the map's `file` and debug id recorded from the stream.
    let (status, list) = services.get(&format!("/projects/{DEV_PROJECT_ID}/releases/{encoded}/artifacts")).await;
    assert_eq!(status, 200);
    let list = list.as_array().unwrap().clone();
    assert_eq!(list.len(), 5);
    let big_row = list.iter().find(|a| a["name"] == "big.min.js.map").unwrap();
    assert_eq!(big_row["file"], "big.min.js");
    assert_eq!(big_row["debugId"], debug_id);
    assert_eq!(big_row["sizeBytes"], big.len() as u64);
    let id_of = |name: &str| list.iter().find(|a| a["name"] == name).unwrap()["id"].as_str().unwrap().to_owned();

    // Deleting one of two references keeps the blob; deleting the last removes it.
    let base = format!("/projects/{DEV_PROJECT_ID}/releases/{encoded}/artifacts");
    assert_eq!(services.delete(&format!("{base}/{}", id_of("app.js.map"))).await, (200, json!({"ok": true})));
    assert!(services.blob_path(&map_sha).exists(), "another artifact still uses the blob");
    assert_eq!(services.delete(&format!("{base}/{}", id_of("copy-of-app.map"))).await.0, 200);
    assert!(!services.blob_path(&map_sha).exists(), "the last reference took the blob with it");
    assert_eq!(services.delete(&format!("{base}/{}", id_of("copy-of-app.map"))).await.0, 404);
    assert_eq!(services.delete(&format!("{base}/{}", Uuid::new_v4())).await.0, 404);

    // Re-uploading a name replaces its content (and frees the old blob).
    let (status, body) = services.upload(&format!("/releases/{encoded}/sourcemaps"), services.token(), &[("f", "big.min.js.map", map.clone())]).await;
    assert_eq!(status, 200, "{body}");
    assert!(!services.blob_path(&big_sha).exists(), "the replaced 50 MB blob is gone");
    assert!(services.blob_path(&map_sha).exists());

    // A public (ingest) token may not upload; nor may nobody.
    let response = services
        .client
        .post(services.admin.url(&format!("/admin/api/projects/{DEV_PROJECT_ID}/tokens")))
        .bearer_auth(services.token())
        .json(&json!({"kind": "public", "label": "sdk"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let public: Value = response.json().await.unwrap();
    let public = public["token"].as_str().unwrap().to_owned();
    let (status, body) = services.upload(&format!("/releases/{encoded}/sourcemaps"), &public, &[("f", "x.js.map", map.clone())]).await;
    assert_eq!(status, 403, "{body}");
    assert!(body["hint"].as_str().unwrap_or("").contains("public"), "the answer says why: {body}");
    let (status, _) = services.upload(&format!("/releases/{encoded}/sourcemaps"), "st_pk_nonsense", &[("f", "x.js.map", map)]).await;
    assert_eq!(status, 401);

    // An empty upload is a 400, not a 500.
    let (status, body) = services.upload(&format!("/releases/{encoded}/sourcemaps"), services.token(), &[]).await;
    assert_eq!(status, 400, "{body}");
}

#[tokio::test]
async fn uploads_beyond_the_limit_are_refused_with_413() {
    let services = Services::start(&[("SENTORI_ARTIFACT_MAX_BYTES", "1048576")]).await;
    let (status, body) =
        services.upload("/releases/shop%401.0.0/sourcemaps", services.token(), &[("f", "big.js.map", vec![b'x'; 1536 * 1024])]).await;
    assert_eq!(status, 413, "{body}");
    let (status, body) =
        services.upload("/releases/shop%401.0.0/sourcemaps", services.token(), &[("f", "small.js.map", vec![b'x'; 1000])]).await;
    assert_eq!(status, 200, "{body}");
    let leftovers: Vec<_> = std::fs::read_dir(services.data_dir.path().join("artifacts/tmp")).unwrap().collect();
    assert!(leftovers.is_empty(), "the refused upload left no temporary file");
}

// ---------------------------------------------------------------------------
// Real bundles

/// esbuild, installed from npm once per target directory.
fn esbuild() -> &'static Path {
    static ESBUILD: OnceLock<PathBuf> = OnceLock::new();
    ESBUILD.get_or_init(|| {
        npm_tools("sourcemap-app", &Path::new(FIXTURE).join("package.json"), &["esbuild"]).join("node_modules/.bin/esbuild")
    })
}

/// A copy of the fixture's sources in a fresh directory, so the maps'
/// `sources` read `../src/<file>.js`.
fn app_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    std::fs::create_dir_all(&src).unwrap();
    for entry in std::fs::read_dir(Path::new(FIXTURE).join("src")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), src.join(entry.file_name())).unwrap();
    }
    dir
}

fn run(cmd: &mut Command) -> String {
    let output = cmd.output().unwrap_or_else(|e| panic!("running {cmd:?}: {e}"));
    assert!(output.status.success(), "{cmd:?} failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

fn bundle(app: &Path, args: &[&str]) {
    run(Command::new(esbuild()).current_dir(app).args(args).arg("--log-level=warning"));
}

/// Runs a bundle in Node; the app prints `{type, message, stack}` of the error it hit.
fn throw_in_node(script: &Path) -> Value {
    let out = run(Command::new("node").arg(script));
    let line = out.lines().find(|l| l.starts_with('{') && l.contains("\"stack\"")).expect("the app printed its error");
    serde_json::from_str(line).unwrap()
}

/// V8's `    at fn (file:line:col)` / `    at file:line:col` lines as protocol
/// frames (top first); `rewrite` turns the file into what a client reports.
fn frames(stack: &str, rewrite: &dyn Fn(&str) -> String) -> Vec<Value> {
    stack
        .lines()
        .filter_map(|line| line.trim().strip_prefix("at "))
        .filter_map(|rest| {
            let (function, location) = match rest.strip_suffix(')').and_then(|r| r.split_once(" (")) {
                Some((function, location)) => (Some(function.trim_start_matches("async ")), location),
                None => (None, rest),
            };
            let (rest, column) = location.rsplit_once(':')?;
            let (file, line) = rest.rsplit_once(':')?;
            let mut frame = json!({
                "file": rewrite(file),
                "line": line.parse::<u64>().ok()?,
                "column": column.parse::<u64>().ok()?,
                "inApp": !file.starts_with("node:"),
            });
            if let Some(function) = function {
                frame["function"] = json!(function);
            }
            Some(frame)
        })
        .collect()
}

fn error_event(release: &str, error: &Value, frames: Vec<Value>) -> (Uuid, Value) {
    let id = Uuid::now_v7();
    let event = json!({
        "id": id,
        "timestamp": "2026-11-26T10:00:00.000Z",
        "kind": "error",
        "platform": "javascript",
        "release": release,
        "environment": "prod",
        "device": {"os": "web", "osVersion": "120"},
        "app": {"version": "1.0.0"},
        "error": {"type": error["type"], "message": error["message"], "stack": frames}
    });
    (id, event)
}

/// The 1-based line of the fixture file holding `needle`.
fn line_of(file: &str, needle: &str) -> u64 {
    let text = std::fs::read_to_string(Path::new(FIXTURE).join("src").join(file)).unwrap();
    text.lines().position(|l| l.contains(needle)).unwrap_or_else(|| panic!("{needle:?} in {file}")) as u64 + 1
}

/// The top frames of the fixture's error, mapped back to its own source.
fn assert_original_frames(payload: &Value) {
    let stack = payload["error"]["stack"].as_array().unwrap();
    let expect = [
        ("src/pricing.js", line_of("pricing.js", "throw new RangeError"), "lookupRate"),
        ("src/pricing.js", line_of("pricing.js", "const rate = lookupRate"), "applyCoupon"),
        ("src/orders.js", line_of("orders.js", "const total = applyCoupon"), "placeOrder"),
        ("src/index.js", line_of("index.js", "const order = placeOrder"), "main"),
    ];
    for (i, (file, line, function)) in expect.iter().enumerate() {
        let frame = &stack[i];
        assert_eq!(frame["file"], *file, "frame {i}: {frame}");
        assert_eq!(frame["line"], *line, "frame {i}: {frame}");
        assert_eq!(frame["function"], *function, "frame {i}: {frame}");
        assert_eq!(frame["inApp"], true, "frame {i}: {frame}");
        assert!(frame["column"].as_u64().unwrap() >= 1);
        assert!(frame["rawFile"].is_string() && frame["rawLine"].is_u64() && frame["rawColumn"].is_u64(), "raw position kept: {frame}");
        assert!(frame["rawFunction"].is_string(), "raw function kept: {frame}");
    }
    assert!(stack[0]["contextLine"].as_str().unwrap().contains("throw new RangeError"), "{}", stack[0]);
    assert!(stack[0]["preContext"].as_array().unwrap().iter().any(|l| l.as_str().unwrap().contains("function lookupRate")));
    assert!(!stack[0]["postContext"].as_array().unwrap().is_empty());
    let node_frame = stack.iter().find(|f| f["rawFile"].is_null() && f["file"].as_str().unwrap().starts_with("node:"));
    assert!(node_frame.is_some(), "Node's own frames stay raw");
    assert_eq!(payload["symbolication"]["releaseHasMap"], true);
}

#[tokio::test]
async fn real_bundles_are_symbolicated_before_grouping() {
    let services = Services::start(&[]).await;
    let pool = services.stack.pool().await;

    // (a) One minified bundle. Its map is uploaded under another name; the
    // bundle's `sourceMappingURL` comment names it.
    let app = app_dir();
    bundle(app.path(), &["src/index.js", "--bundle", "--minify", "--sourcemap", "--platform=node", "--outfile=dist/bundle.js"]);
    let dist = app.path().join("dist");
    let error = throw_in_node(&dist.join("bundle.js"));
    assert_eq!(error["type"], "RangeError");
    let bundle_js = std::fs::read_to_string(dist.join("bundle.js")).unwrap().replace("sourceMappingURL=bundle.js.map", "sourceMappingURL=maps/shop-web.map");
    let dist_prefix = format!("{}/", dist.display());
    let to_url = |file: &str| file.replace(&dist_prefix, "https://shop.example/static/js/") + "?v=1";
    let release = "shop@2.0.0+7";
    let (status, body) = services
        .upload(
            "/releases/shop%402.0.0%2B7/sourcemaps",
            services.token(),
            &[
                ("file", "~/static/js/bundle.js", bundle_js.into_bytes()),
                ("file", "maps/shop-web.map", std::fs::read(dist.join("bundle.js.map")).unwrap()),
            ],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (id_a, event) = error_event(release, &error, frames(error["stack"].as_str().unwrap(), &to_url));
    services.send_event(&event).await;
    let (payload_a, issue_a) = services.stored(&pool, id_a).await;
    assert_original_frames(&payload_a);
    assert!(payload_a["error"]["stack"][0]["rawFile"].as_str().unwrap().starts_with("https://shop.example/static/js/bundle.js"));

    // Another build of the same release (different code before the app, so
    // other bundle positions) is the same issue: grouping keys on mapped frames.
    let app2 = app_dir();
    bundle(
        app2.path(),
        &["src/index.js", "--bundle", "--minify", "--sourcemap", "--platform=node", "--banner:js=var __build='second build';", "--outfile=dist/bundle2.js"],
    );
    let dist2 = app2.path().join("dist");
    let error2 = throw_in_node(&dist2.join("bundle2.js"));
    let (status, body) =
        services.upload("/releases/shop%402.0.0%2B7/sourcemaps", services.token(), &[("f", "bundle2.js.map", std::fs::read(dist2.join("bundle2.js.map")).unwrap())]).await;
    assert_eq!(status, 200, "{body}");
    let dist2_prefix = format!("{}/", dist2.display());
    let to_url2 = |file: &str| file.replace(&dist2_prefix, "https://cdn.shop.example/assets/");
    let frames2 = frames(error2["stack"].as_str().unwrap(), &to_url2);
    let position = |f: &Value| (f["line"].clone(), f["column"].clone());
    assert_ne!(position(&frames2[0]), position(&event["error"]["stack"][0]), "the second build moved the positions");
    let (id_b, event_b) = error_event(release, &error2, frames2);
    services.send_event(&event_b).await;
    let (payload_b, issue_b) = services.stored(&pool, id_b).await;
    assert_original_frames(&payload_b);
    assert_eq!(issue_a, issue_b, "one bug, one issue, across builds");
    // ... and across releases that have maps.
    let (status, body) =
        services.upload("/releases/shop%402.0.1/sourcemaps", services.token(), &[("f", "bundle2.js.map", std::fs::read(dist2.join("bundle2.js.map")).unwrap())]).await;
    assert_eq!(status, 200, "{body}");
    let (id_e, event_e) = error_event("shop@2.0.1", &error2, frames(error2["stack"].as_str().unwrap(), &to_url2));
    services.send_event(&event_e).await;
    let (payload_e, issue_e) = services.stored(&pool, id_e).await;
    assert_original_frames(&payload_e);
    assert_eq!(issue_e, issue_a, "one bug, one issue, across releases");

    // (b) Code splitting: ESM chunks, each with its own map, frames in two files.
    let app3 = app_dir();
    bundle(
        app3.path(),
        &[
            "src/index.js",
            "src/admin.js",
            "--bundle",
            "--minify",
            "--sourcemap",
            "--splitting",
            "--format=esm",
            "--platform=node",
            "--out-extension:.js=.mjs",
            "--outdir=dist",
        ],
    );
    let dist3 = app3.path().join("dist");
    let error3 = throw_in_node(&dist3.join("index.mjs"));
    let mut parts = Vec::new();
    for entry in std::fs::read_dir(&dist3).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        parts.push(("sourcemaps", name, std::fs::read(entry.path()).unwrap()));
    }
    assert!(parts.iter().filter(|(_, n, _)| n.ends_with(".mjs.map")).count() >= 3, "entries and a shared chunk, each with a map");
    let parts: Vec<(&str, &str, Vec<u8>)> = parts.iter().map(|(f, n, b)| (*f, n.as_str(), b.clone())).collect();
    let (status, body) = services.upload("/releases/shop%402.1.0/sourcemaps", services.token(), &parts).await;
    assert_eq!(status, 200, "{body}");
    let frames3 = frames(error3["stack"].as_str().unwrap(), &|f: &str| f.to_owned());
    let files: std::collections::HashSet<&str> =
        frames3.iter().filter_map(|f| f["file"].as_str()).filter(|f| f.starts_with("file://")).map(|f| f.rsplit('/').next().unwrap()).collect();
    assert!(files.len() >= 2, "the stack crosses chunks: {files:?}");
    let (id_c, event_c) = error_event("shop@2.1.0", &error3, frames3);
    services.send_event(&event_c).await;
    let (payload_c, _) = services.stored(&pool, id_c).await;
    assert_original_frames(&payload_c);

    // A release without maps: frames stay raw and the event says why.
    let (id_d, event_d) = error_event("shop@0.9.0", &error, frames(error["stack"].as_str().unwrap(), &to_url));
    services.send_event(&event_d).await;
    let (payload_d, _) = services.stored(&pool, id_d).await;
    assert_eq!(payload_d["symbolication"]["releaseHasMap"], false);
    assert_eq!(payload_d["error"]["stack"], event_d["error"]["stack"], "no map, no change");
}

#[tokio::test]
async fn react_native_bundles_match_their_maps_and_broken_maps_leave_frames_raw() {
    let services = Services::start(&[]).await;
    let pool = services.stack.pool().await;
    let app = app_dir();
    bundle(app.path(), &["src/index.js", "--bundle", "--minify", "--sourcemap", "--format=iife", "--outfile=dist/index.android.bundle.js"]);
    let dist = app.path().join("dist");
    let error = throw_in_node(&dist.join("index.android.bundle.js"));
    // What a React Native app reports: the bundle by its device path.
    let bundle_path = dist.join("index.android.bundle.js").display().to_string();
    let to_app = |file: &str| file.replace(&bundle_path, "app:///index.android.bundle");
    let map = std::fs::read(dist.join("index.android.bundle.js.map")).unwrap();

    // First an event before any upload: raw, and "no map" is remembered
    // only briefly, so the upload below applies to the next event.
    let release = "myapp@1.2.3+456";
    let (id_raw, event_raw) = error_event(release, &error, frames(error["stack"].as_str().unwrap(), &to_app));
    services.send_event(&event_raw).await;
    let (payload_raw, _) = services.stored(&pool, id_raw).await;
    assert_eq!(payload_raw["symbolication"]["releaseHasMap"], false);

    let (status, body) =
        services.upload("/releases/myapp%401.2.3%2B456/sourcemaps", services.token(), &[("file", "index.android.bundle.map", map)]).await;
    assert_eq!(status, 200, "{body}");
    let payload = eventually("an event of the release symbolicated after the upload", Duration::from_secs(60), || async {
        let (id, event) = error_event(release, &error, frames(error["stack"].as_str().unwrap(), &to_app));
        services.send_event(&event).await;
        let (payload, _) = services.stored(&pool, id).await;
        (payload["symbolication"]["releaseHasMap"] == true).then_some(payload)
    })
    .await;
    assert_original_frames(&payload);
    assert_eq!(payload["error"]["stack"][0]["rawFile"], "app:///index.android.bundle");

    // A broken map for another bundle: frames stay raw, the event is stored.
    let (status, _) = services
        .upload("/releases/myapp%401.2.3%2B456/sourcemaps", services.token(), &[("file", "main.jsbundle.map", b"{\"version\":3,\"mappings\":".to_vec())])
        .await;
    assert_eq!(status, 200);
    let ios_frames = frames(error["stack"].as_str().unwrap(), &|f: &str| f.replace(&bundle_path, "app:///main.jsbundle"));
    let (id_broken, event_broken) = error_event(release, &error, ios_frames);
    services.send_event(&event_broken).await;
    let (payload_broken, _) = services.stored(&pool, id_broken).await;
    assert_eq!(payload_broken["error"]["stack"], event_broken["error"]["stack"], "a broken map leaves the frames as sent");
    assert_eq!(payload_broken["symbolication"]["releaseHasMap"], true);
}
