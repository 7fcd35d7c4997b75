use std::sync::Arc;

use sha2::{Digest, Sha256};

use super::*;

fn store() -> (tempfile::TempDir, Arc<dyn BlobStore>, LocalDir) {
    let dir = tempfile::tempdir().unwrap();
    let local = LocalDir::new(dir.path().join("artifacts"));
    (dir, Arc::new(local.clone()), local)
}

async fn put(store: &dyn BlobStore, chunks: &[&[u8]]) -> (String, bool) {
    let mut writer = store.writer().await.unwrap();
    for chunk in chunks {
        writer.write(chunk).await.unwrap();
    }
    let staged = writer.finish().await.unwrap();
    let sha = staged.sha256().to_owned();
    (sha, staged.persist().await.unwrap())
}

#[tokio::test]
async fn stores_by_sha256_of_the_streamed_bytes() {
    let (_dir, store, local) = store();
    let (sha, new) = put(&*store, &[b"hello ", b"world"]).await;
    assert!(new);
    assert_eq!(sha, hex::encode(Sha256::digest(b"hello world")));
    let path = local.path_of(&sha).unwrap();
    assert_eq!(path, local.root().join(&sha[..2]).join(&sha));
    assert_eq!(std::fs::read(&path).unwrap(), b"hello world");
    assert_eq!(store.read_all(&sha).await.unwrap().unwrap(), b"hello world");
    assert!(store.exists(&sha).await.unwrap());
}

#[tokio::test]
async fn identical_bytes_are_stored_once_and_temporaries_are_cleaned() {
    let (_dir, store, local) = store();
    let (first, new_first) = put(&*store, &[b"same"]).await;
    let (second, new_second) = put(&*store, &[b"sa", b"me"]).await;
    assert_eq!(first, second);
    assert!(new_first);
    assert!(!new_second, "the second copy is recognised as a duplicate");
    let tmp_left = std::fs::read_dir(local.root().join("tmp")).unwrap().count();
    assert_eq!(tmp_left, 0, "no temporary file is left behind");
}

#[tokio::test]
async fn an_abandoned_write_leaves_nothing() {
    let (_dir, store, local) = store();
    let mut writer = store.writer().await.unwrap();
    writer.write(b"partial").await.unwrap();
    assert_eq!(writer.size(), 7);
    drop(writer);
    let staged = {
        let mut w = store.writer().await.unwrap();
        w.write(b"staged only").await.unwrap();
        w.finish().await.unwrap()
    };
    let sha = staged.sha256().to_owned();
    drop(staged);
    assert!(!store.exists(&sha).await.unwrap());
    assert_eq!(std::fs::read_dir(local.root().join("tmp")).unwrap().count(), 0);
}

#[tokio::test]
async fn delete_and_missing_blobs() {
    let (_dir, store, _) = store();
    let (sha, _) = put(&*store, &[b"x"]).await;
    store.delete(&sha).await.unwrap();
    assert!(!store.exists(&sha).await.unwrap());
    assert!(store.open(&sha).await.unwrap().is_none());
    store.delete(&sha).await.unwrap();
}

#[tokio::test]
async fn names_that_are_not_hashes_are_refused() {
    let (_dir, store, _) = store();
    assert!(store.open("../../etc/passwd").await.is_err());
    assert!(store.delete("ABC").await.is_err());
    assert!(!is_sha256(&"A".repeat(64)));
    assert!(is_sha256(&"a".repeat(64)));
}

#[tokio::test]
async fn read_tail_returns_only_the_last_bytes() {
    let (_dir, store, _) = store();
    let (sha, _) = put(&*store, &[b"0123456789"]).await;
    assert_eq!(store.read_tail(&sha, 4).await.unwrap().unwrap(), b"6789");
    assert_eq!(store.read_tail(&sha, 10).await.unwrap().unwrap(), b"0123456789");
    assert_eq!(store.read_tail(&sha, 1 << 20).await.unwrap().unwrap(), b"0123456789", "a short blob is read whole");
    assert_eq!(store.read_tail(&sha, 0).await.unwrap().unwrap(), b"");
    let (empty, _) = put(&*store, &[]).await;
    assert_eq!(store.read_tail(&empty, 4).await.unwrap().unwrap(), b"");
    store.delete(&sha).await.unwrap();
    assert!(store.read_tail(&sha, 4).await.unwrap().is_none());
    assert!(store.read_tail("../../etc/passwd", 4).await.is_err());
}
