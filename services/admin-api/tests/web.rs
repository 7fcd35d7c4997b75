//! The built dashboard served by admin-api itself (`SENTORI_WEB_DIR`), as
//! `make run` uses it: SPA fallback, nginx's cache and security headers,
//! precompressed bundles, private source maps, and the API's JSON 404s.

use crate::common;

use std::path::{Path, PathBuf};

use common::{Api, json};
use reqwest::Response;
use reqwest::header::HeaderMap;
use uuid::Uuid;

const INDEX: &str = "<!doctype html><title>Sentori</title><script type=module src=/assets/app.abc123.js></script>";
const SCRIPT: &str = "console.log('sentori dashboard');\n//# sourceMappingURL=app.abc123.js.map\n";
const SCRIPT_BR: &[u8] = b"brotli bytes of app.abc123.js";
const SCRIPT_GZ: &[u8] = b"gzip bytes of app.abc123.js";
const SOURCE_MAP: &str = r#"{"version":3,"sources":["src/secret-source.ts"]}"#;
const OUTSIDE: &str = "a file next to the dashboard, not part of it";

/// A temp folder holding what `npm run build` leaves in web/dist (with
/// stand-in compressed bytes, so an answer shows which file was sent), and a
/// file beside it that must stay out of reach.
struct Dist {
    root: PathBuf,
}

impl Dist {
    fn new() -> Self {
        let root = std::env::temp_dir().join(format!("sentori-web-test-{}", Uuid::new_v4().simple()));
        let dist = root.join("dist");
        std::fs::create_dir_all(dist.join("assets")).unwrap();
        let files: [(&str, &[u8]); 8] = [
            ("index.html", INDEX.as_bytes()),
            ("favicon.svg", b"<svg xmlns='http://www.w3.org/2000/svg'/>"),
            ("assets/app.abc123.js", SCRIPT.as_bytes()),
            ("assets/app.abc123.js.br", SCRIPT_BR),
            ("assets/app.abc123.js.gz", SCRIPT_GZ),
            ("assets/app.abc123.js.map", SOURCE_MAP.as_bytes()),
            ("assets/app.abc123.js.map.gz", SOURCE_MAP.as_bytes()),
            ("app.js.map", SOURCE_MAP.as_bytes()),
        ];
        for (path, bytes) in files {
            std::fs::write(dist.join(path), bytes).unwrap();
        }
        std::fs::write(root.join("outside.txt"), OUTSIDE).unwrap();
        Self { root }
    }

    fn dist(&self) -> PathBuf {
        self.root.join("dist")
    }
}

impl Drop for Dist {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

async fn start(dist: &Path) -> Api {
    Api::start_with(&[("SENTORI_WEB_DIR", dist.to_str().unwrap())]).await
}

async fn fetch(api: &Api, path: &str, accept_encoding: Option<&str>) -> (u16, HeaderMap, Vec<u8>) {
    let mut request = api.client.get(format!("http://{}{path}", api.addr));
    if let Some(encoding) = accept_encoding {
        request = request.header("Accept-Encoding", encoding);
    }
    let response: Response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.bytes().await.unwrap().to_vec())
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers.get(name).map(|v| v.to_str().unwrap()).unwrap_or("")
}

fn assert_security_headers(headers: &HeaderMap, path: &str) {
    let csp = header(headers, "content-security-policy");
    assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"), "{path}: {csp:?}");
    assert_eq!(header(headers, "x-content-type-options"), "nosniff", "{path}");
    assert_eq!(header(headers, "x-frame-options"), "DENY", "{path}");
    assert_eq!(header(headers, "referrer-policy"), "same-origin", "{path}");
    assert_eq!(header(headers, "cross-origin-opener-policy"), "same-origin", "{path}");
}

#[tokio::test]
async fn every_client_route_gets_index_html_revalidated_on_each_load() {
    let dist = Dist::new();
    let api = start(&dist.dist()).await;
    for path in ["/", "/index.html", "/issues", "/projects/0192f0c2/issues/42?status=resolved", "/admin", "/admin/apis"] {
        let (status, headers, body) = fetch(&api, path, None).await;
        assert_eq!((status, String::from_utf8_lossy(&body).as_ref()), (200, INDEX), "{path}");
        assert!(header(&headers, "content-type").starts_with("text/html"), "{path}");
        assert_eq!(header(&headers, "cache-control"), "no-cache", "{path}");
        assert_security_headers(&headers, path);
    }
    let (status, headers, _) = fetch(&api, "/favicon.svg", None).await;
    assert_eq!((status, header(&headers, "cache-control")), (200, "no-cache"), "unhashed files are revalidated too");
}

#[tokio::test]
async fn hashed_bundles_are_immutable_and_sent_precompressed_to_clients_that_accept_it() {
    let dist = Dist::new();
    let api = start(&dist.dist()).await;
    let cases: [(Option<&str>, &[u8], &str); 4] = [
        (None, SCRIPT.as_bytes(), ""),
        (Some("br"), SCRIPT_BR, "br"),
        (Some("gzip, deflate, br"), SCRIPT_BR, "br"),
        (Some("gzip"), SCRIPT_GZ, "gzip"),
    ];
    for (accept, bytes, encoding) in cases {
        let (status, headers, body) = fetch(&api, "/assets/app.abc123.js", accept).await;
        assert_eq!(status, 200, "{accept:?}");
        assert_eq!(body, bytes, "{accept:?}");
        assert_eq!(header(&headers, "content-encoding"), encoding, "{accept:?}");
        assert!(header(&headers, "content-type").contains("javascript"), "{accept:?}: {headers:?}");
        assert_eq!(header(&headers, "cache-control"), "public, max-age=31536000, immutable", "{accept:?}");
        assert_eq!(header(&headers, "vary"), "accept-encoding", "{accept:?}");
        assert_security_headers(&headers, "/assets/app.abc123.js");
    }
}

#[tokio::test]
async fn a_missing_bundle_is_a_404_never_index_html_nor_cached() {
    let dist = Dist::new();
    let api = start(&dist.dist()).await;
    let (status, headers, body) = fetch(&api, "/assets/app.old999.js", Some("br, gzip")).await;
    assert_eq!(status, 404);
    assert!(!String::from_utf8_lossy(&body).contains("<title>Sentori"), "{body:?}");
    assert_eq!(header(&headers, "cache-control"), "", "a 404 must not be kept for a year");
    assert_security_headers(&headers, "/assets/app.old999.js");
}

#[tokio::test]
async fn source_maps_are_not_public_however_the_url_is_spelled() {
    let dist = Dist::new();
    let api = start(&dist.dist()).await;
    for path in [
        "/assets/app.abc123.js.map",
        "/assets/app.abc123.js%2emap",
        "/assets/app.abc123.js.map/",
        "/assets//app.abc123.js.map",
        "/assets/app.abc123.js.map.gz",
        "/app.js.map",
    ] {
        for accept in [None, Some("br, gzip")] {
            let (status, headers, body) = fetch(&api, path, accept).await;
            assert_eq!(status, 404, "{path} {accept:?}");
            assert!(!String::from_utf8_lossy(&body).contains("secret-source"), "{path} {accept:?}");
            assert_security_headers(&headers, path);
        }
    }
}

#[tokio::test]
async fn nothing_outside_the_dashboard_folder_is_reachable() {
    let dist = Dist::new();
    let api = start(&dist.dist()).await;
    for path in ["/../outside.txt", "/%2e%2e/outside.txt", "/assets/%2e%2e/%2e%2e/outside.txt", "/..%2foutside.txt"] {
        let (_, _, body) = fetch(&api, path, None).await;
        assert!(!String::from_utf8_lossy(&body).contains(OUTSIDE), "{path}");
    }
}

#[tokio::test]
async fn the_api_keeps_its_json_404s_and_headers_next_to_the_dashboard() {
    let dist = Dist::new();
    let api = start(&dist.dist()).await;
    for path in ["/admin/api/unknown", "/admin/api/projects/x/unknown/route", "/admin/api", "/admin/api/", "/admin/api//"] {
        let response = api.client.get(format!("http://{}{path}", api.addr)).send().await.unwrap();
        let (status, body, headers) = json(response).await;
        assert_eq!((status, body["error"].as_str()), (404, Some("notFound")), "{path}");
        assert_eq!(header(&headers, "cache-control"), "no-store", "{path}");
    }
    let (status, body, _) = json(api.get("/me").send().await.unwrap()).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("unauthorized")));
    let (status, _, body) = fetch(&api, "/healthz", None).await;
    assert_eq!((status, String::from_utf8_lossy(&body).contains("ok")), (200, true));
}

#[tokio::test]
async fn without_a_web_dir_no_page_is_served() {
    let api = Api::start().await;
    for path in ["/", "/issues"] {
        let (status, _, body) = fetch(&api, path, None).await;
        assert_eq!(status, 404, "{path}");
        assert!(!String::from_utf8_lossy(&body).contains("<title>Sentori"), "{path}");
    }
}
