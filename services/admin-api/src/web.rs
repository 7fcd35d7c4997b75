//! The built dashboard (`SENTORI_WEB_DIR`, Vite's `web/dist`) on admin-api's
//! own origin, for a machine without a front server (`make run`).
//!
//! It answers the way `deploy/nginx.conf` does in production: hashed bundles
//! under `/assets/` are cached for a year, everything else (index.html above
//! all) is revalidated on every load, every path that is not a file is a
//! client-side route and gets index.html, a missing bundle is a plain 404,
//! and the same security headers go on every answer. Vite's `.br` and `.gz`
//! siblings are sent to clients that accept them. Source maps stay private:
//! they hold the dashboard's source and are only for symbolication.

use std::path::{Component, Path};

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tower_http::services::{ServeDir, ServeFile};

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const REVALIDATE: &str = "no-cache";

/// The SPA may load only its own scripts and styles (Vite emits no inline script).
const SPA_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; \
                       font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

const SECURITY_HEADERS: [(HeaderName, &str); 5] = [
    (header::CONTENT_SECURITY_POLICY, SPA_CSP),
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::X_FRAME_OPTIONS, "DENY"),
    (header::REFERRER_POLICY, "same-origin"),
    (HeaderName::from_static("cross-origin-opener-policy"), "same-origin"),
];

/// Suffixes of the precompressed siblings: `app.js.map.br` is a source map too.
const COMPRESSED_SUFFIXES: [&str; 2] = [".br", ".gz"];

/// The dashboard in `dir`, to be merged under every route the API does not own.
pub fn routes(dir: &Path) -> Router {
    let assets = ServeDir::new(dir.join("assets")).precompressed_br().precompressed_gzip();
    let index = ServeFile::new(dir.join("index.html")).precompressed_br().precompressed_gzip();
    let spa = ServeDir::new(dir).precompressed_br().precompressed_gzip().fallback(index);
    Router::new().nest_service("/assets", assets).fallback_service(spa).layer(axum::middleware::from_fn(headers))
}

async fn headers(request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let cache_control = if path.starts_with("/assets/") { IMMUTABLE } else { REVALIDATE };
    let mut response = if names_source_map(path) { StatusCode::NOT_FOUND.into_response() } else { next.run(request).await };
    let status = response.status();
    let headers = response.headers_mut();
    for (name, value) in SECURITY_HEADERS {
        headers.insert(name, HeaderValue::from_static(value));
    }
    // Like nginx's add_header: a 404 must not be cached for a year.
    if status.is_success() || status == StatusCode::NOT_MODIFIED {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache_control));
        // The same URL is answered with br, gzip or identity bytes.
        headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
    response
}

/// Whether the file `ServeDir` would open for `path` is a source map. It is
/// decided on the path the way `ServeDir` reads it (percent-decoded, empty
/// and trailing segments dropped), so no spelling of the URL gets past it.
fn names_source_map(path: &str) -> bool {
    let decoded = percent_encoding::percent_decode_str(path).decode_utf8_lossy();
    let Some(Component::Normal(name)) = Path::new(&*decoded).components().next_back() else {
        return false;
    };
    let name = name.to_string_lossy();
    let name = COMPRESSED_SUFFIXES.iter().find_map(|suffix| name.strip_suffix(suffix)).unwrap_or(&name);
    name.ends_with(".map")
}

#[cfg(test)]
mod tests {
    use super::names_source_map;

    #[test]
    fn every_spelling_of_a_source_map_is_recognised() {
        for path in [
            "/assets/app.abc123.js.map",
            "/assets/app.abc123.js.map/",
            "/assets//app.abc123.js.map",
            "/assets/app.abc123.js%2emap",
            "/assets/app.abc123.js.map.br",
            "/assets/app.abc123.js.map.gz",
            "/app.js.map",
        ] {
            assert!(names_source_map(path), "{path}");
        }
        for path in ["/", "/assets/app.abc123.js", "/assets/app.abc123.js.br", "/issues/map", "/sitemap"] {
            assert!(!names_source_map(path), "{path}");
        }
    }
}
