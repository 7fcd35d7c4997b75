//! The OpenAPI document's frame, and the operations of routes registered
//! outside `utoipa_axum::routes!` (the artifact uploads, whose handlers live
//! in `artifacts.rs` with their own router), so the document covers the
//! whole surface.

#![allow(dead_code)]

use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(title = "Sentori admin API", description = "The dashboard's, the upload CLI's and operators' API (admin-api.md)."),
    servers((url = "/admin/api")),
    paths(upload_to_project, list_artifacts, upload_sourcemaps, delete_artifact),
    modifiers(&Security),
    security(("session" = []), ("bearer" = [])),
    tags((name = "auth"), (name = "projects"), (name = "issues"), (name = "events"), (name = "traces"),
         (name = "releases"), (name = "artifacts"), (name = "recipients"), (name = "operations")),
)]
pub struct ApiDoc;

struct Security;

impl utoipa::Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                "sentori_session",
                "From POST /login (named __Host-sentori_session where SENTORI_PUBLIC_URL is https); \
                 mutations also need the X-Sentori-Csrf header",
            ))),
        );
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).description(Some("an admin token")).build()),
        );
    }
}

/// Upload build artifacts (multipart, one part per file) to a release of the project.
#[utoipa::path(post, path = "/projects/{pid}/releases/{release}/artifacts", tag = "artifacts",
    params(("pid" = uuid::Uuid, Path), ("release" = String, Path, description = "percent-encoded release name")),
    request_body(content_type = "multipart/form-data", description = "one part per file"),
    responses((status = 200, description = "{releaseId, uploaded, artifacts: [{name, kind, contentHash}]}"), (status = 413)))]
fn upload_to_project() {}

/// A release's artifacts.
#[utoipa::path(get, path = "/projects/{pid}/releases/{release}/artifacts", tag = "artifacts",
    params(("pid" = uuid::Uuid, Path), ("release" = String, Path)),
    responses((status = 200, description = "[{id, name, kind, sizeBytes, contentHash, file, debugId, createdAt}]")))]
fn list_artifacts() {}

/// The upload CLI's route: the project is the bearer token's.
#[utoipa::path(post, path = "/releases/{release}/sourcemaps", tag = "artifacts",
    params(("release" = String, Path)),
    request_body(content_type = "multipart/form-data", description = "one part per file"),
    responses((status = 200, description = "{releaseId, uploaded, artifacts}"), (status = 413)))]
fn upload_sourcemaps() {}

/// Delete one artifact.
#[utoipa::path(delete, path = "/projects/{pid}/releases/{release}/artifacts/{aid}", tag = "artifacts",
    params(("pid" = uuid::Uuid, Path), ("release" = String, Path), ("aid" = uuid::Uuid, Path)),
    responses((status = 200, description = "{\"ok\": true}"), (status = 404)))]
fn delete_artifact() {}
