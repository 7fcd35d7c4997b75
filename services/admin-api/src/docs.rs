//! The OpenAPI document's frame: its security schemes, the error body every
//! failure answers with, and the artifact routes (registered outside
//! `utoipa_axum::routes!`, by `artifacts.rs` with its own body limit), so the
//! document covers the whole surface the dashboard calls.

use sentori_protocol::ErrorBody;
use utoipa::OpenApi;
use utoipa::openapi::{ContentBuilder, Ref, RefOr};

#[derive(OpenApi)]
#[openapi(
    info(title = "Sentori admin API", description = "The dashboard's, the upload CLI's and operators' API (admin-api.md)."),
    servers((url = "/admin/api")),
    paths(
        crate::artifacts::upload_to_project,
        crate::artifacts::list,
        crate::artifacts::upload_from_cli,
        crate::artifacts::remove,
        crate::artifacts::list_bundles
    ),
    components(schemas(ErrorBody)),
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

/// Every failure of this API answers with the error body (`error::json_errors`
/// rewrites even a framework's plain-text page), so each documented 4xx and
/// 5xx gets it here, once, instead of `body = ErrorBody` on every response;
/// so do the two failures every route shares: `401` without a credential
/// (all but the public routes) and `503` when a store is down. Runs on the
/// finished document: the routes' operations join it after `ApiDoc`'s own
/// modifiers have run.
pub fn with_error_bodies(mut openapi: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    use utoipa::openapi::ResponseBuilder;
    use utoipa::openapi::security::SecurityRequirement;
    let error_body = ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build();
    let operations = openapi.paths.paths.values_mut().flat_map(|item| {
        [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch].into_iter().flatten()
    });
    for operation in operations {
        let public = operation.security.as_ref().is_some_and(|any| any.contains(&SecurityRequirement::default()));
        let responses = &mut operation.responses.responses;
        if !public {
            responses.entry("401".into()).or_insert_with(|| ResponseBuilder::new().description("no valid credential").into());
        }
        responses
            .entry("503".into())
            .or_insert_with(|| ResponseBuilder::new().description("PostgreSQL, Valkey or storage is unavailable").into());
        for (status, response) in responses.iter_mut() {
            let RefOr::T(response) = response else { continue };
            if (status.starts_with('4') || status.starts_with('5')) && response.content.is_empty() {
                response.content.insert("application/json".into(), error_body.clone());
            }
        }
    }
    openapi
}
