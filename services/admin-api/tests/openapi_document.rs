//! The OpenAPI document the dashboard's types are generated from
//! (`web/src/api/openapi.json`, then `npm run gen:api`) must be the one the
//! API serves: a change to a response shape fails here until the committed
//! copy, and so the dashboard's types, are regenerated.
//!
//! `SENTORI_UPDATE_OPENAPI=1 cargo test -p admin-api --test integration openapi_document`
//! rewrites the copy.

use std::path::PathBuf;

#[test]
fn the_committed_document_is_the_one_the_api_serves() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../web/src/api/openapi.json");
    let current = serde_json::to_string_pretty(&admin_api::openapi()).unwrap() + "\n";
    if std::env::var_os("SENTORI_UPDATE_OPENAPI").is_some() {
        std::fs::write(&path, &current).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == current,
        "{} is out of date: run `SENTORI_UPDATE_OPENAPI=1 cargo test -p admin-api --test integration openapi_document`, \
         then `npm run gen:api` in web/",
        path.display()
    );
}

/// Generated clients name a function or type after each operation id: two
/// routes with one id (two handlers both called `list`) would become one.
#[test]
fn every_operation_has_its_own_id() {
    let document = serde_json::to_value(admin_api::openapi()).unwrap();
    let mut seen = std::collections::BTreeMap::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let id = operation["operationId"].as_str().unwrap_or_default().to_owned();
            assert!(!id.is_empty(), "{method} {path} has no operationId");
            if let Some(other) = seen.insert(id.clone(), format!("{method} {path}")) {
                panic!("{method} {path} and {other} share the operationId {id}: set `operation_id` on one");
            }
        }
    }
}
