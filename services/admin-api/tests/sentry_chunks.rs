//! sentry-cli's chunk uploads against a real database and chunk store:
//! chunks never assembled expire, rows and files both.

use crate::common;

use std::path::Path;

use common::Api;
use reqwest::multipart::{Form, Part};
use sentori_protocol::TokenKind;
use sha1::{Digest, Sha1};

/// Every file under `dir`, however deep.
fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    entries
        .flatten()
        .flat_map(|entry| {
            let path = entry.path();
            if path.is_dir() { files_under(&path) } else { vec![path] }
        })
        .collect()
}

async fn upload_chunk(api: &Api, token: &str, bytes: &'static [u8]) -> String {
    let sha1 = hex::encode(Sha1::digest(bytes));
    let form = Form::new().part("file", Part::bytes(bytes).file_name(sha1.clone()));
    let response = api
        .client
        .post(format!("http://{}/api/0/organizations/any/chunk-upload/", api.addr))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    sha1
}

#[tokio::test]
async fn chunks_never_assembled_are_swept_with_their_files() {
    let api = Api::start().await;
    let project = api.project("cli").await;
    let token = api.token(project, TokenKind::Admin).await;
    let chunk_dir = api.data_dir().join("chunks");

    let stale = upload_chunk(&api, &token, b"the first chunk, never assembled").await;
    assert_eq!(files_under(&chunk_dir).len(), 1);
    // Seven hours old: past the six hours a chunk waits for its assembly.
    sqlx::query("UPDATE upload_chunks SET created_at = now() - interval '7 hours' WHERE sha1 = $1")
        .bind(&stale)
        .execute(&api.pool)
        .await
        .unwrap();

    // The next upload sweeps.
    let fresh = upload_chunk(&api, &token, b"a second chunk, just sent").await;
    let left: Vec<String> = sqlx::query_scalar("SELECT sha1 FROM upload_chunks ORDER BY sha1").fetch_all(&api.pool).await.unwrap();
    assert_eq!(left, vec![fresh], "only the fresh chunk's row is left");
    assert_eq!(files_under(&chunk_dir).len(), 1, "the stale chunk's file is gone with its row");
}

#[tokio::test]
async fn a_chunk_sent_again_is_stored_once_and_its_clock_restarts() {
    let api = Api::start().await;
    let project = api.project("cli").await;
    let token = api.token(project, TokenKind::Admin).await;
    let sha1 = upload_chunk(&api, &token, b"one chunk").await;
    sqlx::query("UPDATE upload_chunks SET created_at = now() - interval '5 hours'").execute(&api.pool).await.unwrap();
    upload_chunk(&api, &token, b"one chunk").await;
    let age: f64 = sqlx::query_scalar("SELECT extract(epoch FROM now() - created_at)::float8 FROM upload_chunks WHERE sha1 = $1")
        .bind(&sha1)
        .fetch_one(&api.pool)
        .await
        .unwrap();
    assert!(age < 3600.0, "sending it again restarted its clock: {age} s old");
    assert_eq!(files_under(&api.data_dir().join("chunks")).len(), 1);
}
