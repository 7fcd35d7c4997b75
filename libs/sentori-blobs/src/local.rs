//! The local-directory backend: `<root>/<first two hex digits>/<sha256>`,
//! with in-progress writes under `<root>/tmp/` on the same filesystem so
//! publishing is an atomic rename.

use std::io;
use std::path::{Path, PathBuf};

use futures::FutureExt;
use futures::future::BoxFuture;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

use crate::{BlobReader, BlobStore, BlobWriter, StagedBlob, is_sha256};

/// Blobs in a directory of the local filesystem. Directories are created on
/// first write, so a service that never stores anything needs no writable
/// data directory.
#[derive(Debug, Clone)]
pub struct LocalDir {
    root: PathBuf,
}

impl LocalDir {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where the blob with this hash lives (whether or not it exists).
    pub fn path_of(&self, sha256: &str) -> io::Result<PathBuf> {
        if !is_sha256(sha256) {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("not a SHA-256 blob name: {sha256:?}")));
        }
        Ok(self.root.join(&sha256[..2]).join(sha256))
    }
}

impl BlobStore for LocalDir {
    fn writer(&self) -> BoxFuture<'_, io::Result<Box<dyn BlobWriter>>> {
        async move {
            let tmp_dir = self.root.join("tmp");
            tokio::fs::create_dir_all(&tmp_dir).await?;
            let tmp = tmp_dir.join(uuid::Uuid::new_v4().simple().to_string());
            let file = tokio::fs::File::create(&tmp).await?;
            let writer: Box<dyn BlobWriter> = Box::new(LocalWriter {
                store: self.clone(),
                file: Some(file),
                tmp: TempPath(Some(tmp)),
                hasher: Sha256::new(),
                size: 0,
            });
            Ok(writer)
        }
        .boxed()
    }

    fn open<'a>(&'a self, sha256: &'a str) -> BoxFuture<'a, io::Result<Option<BlobReader>>> {
        async move {
            match tokio::fs::File::open(self.path_of(sha256)?).await {
                Ok(file) => Ok(Some(Box::pin(file) as BlobReader)),
                Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
                Err(err) => Err(err),
            }
        }
        .boxed()
    }

    fn delete<'a>(&'a self, sha256: &'a str) -> BoxFuture<'a, io::Result<()>> {
        async move {
            match tokio::fs::remove_file(self.path_of(sha256)?).await {
                Err(err) if err.kind() != io::ErrorKind::NotFound => Err(err),
                _ => Ok(()),
            }
        }
        .boxed()
    }

    fn exists<'a>(&'a self, sha256: &'a str) -> BoxFuture<'a, io::Result<bool>> {
        async move { tokio::fs::try_exists(self.path_of(sha256)?).await }.boxed()
    }

    fn read_tail<'a>(&'a self, sha256: &'a str, max_bytes: u64) -> BoxFuture<'a, io::Result<Option<Vec<u8>>>> {
        async move {
            let mut file = match tokio::fs::File::open(self.path_of(sha256)?).await {
                Ok(file) => file,
                Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
                Err(err) => return Err(err),
            };
            let len = file.metadata().await?.len();
            let start = len.saturating_sub(max_bytes);
            file.seek(io::SeekFrom::Start(start)).await?;
            // Blobs are immutable once published, so the length read above holds.
            let mut tail = Vec::with_capacity((len - start) as usize);
            file.take(max_bytes).read_to_end(&mut tail).await?;
            Ok(Some(tail))
        }
        .boxed()
    }
}

/// A temporary file removed when dropped unless taken.
struct TempPath(Option<PathBuf>);

impl TempPath {
    fn path(&self) -> &Path {
        self.0.as_deref().expect("temporary path present until taken")
    }
}

impl Drop for TempPath {
    fn drop(&mut self) {
        if let Some(path) = self.0.take() {
            // Best effort: a leftover under tmp/ is garbage, never a visible blob.
            let _ = std::fs::remove_file(path);
        }
    }
}

struct LocalWriter {
    store: LocalDir,
    file: Option<tokio::fs::File>,
    tmp: TempPath,
    hasher: Sha256,
    size: u64,
}

impl BlobWriter for LocalWriter {
    fn write<'a>(&'a mut self, chunk: &'a [u8]) -> BoxFuture<'a, io::Result<()>> {
        async move {
            let file = self.file.as_mut().ok_or_else(|| io::Error::other("blob writer already finished"))?;
            file.write_all(chunk).await?;
            self.hasher.update(chunk);
            self.size += chunk.len() as u64;
            Ok(())
        }
        .boxed()
    }

    fn size(&self) -> u64 {
        self.size
    }

    fn finish(mut self: Box<Self>) -> BoxFuture<'static, io::Result<Box<dyn StagedBlob>>> {
        async move {
            let mut file = self.file.take().ok_or_else(|| io::Error::other("blob writer already finished"))?;
            file.flush().await?;
            // Durable before it can become visible under its name.
            file.sync_all().await?;
            drop(file);
            let this = *self;
            let sha256 = hex::encode(this.hasher.finalize());
            let staged: Box<dyn StagedBlob> = Box::new(LocalStaged { store: this.store, tmp: this.tmp, sha256, size: this.size });
            Ok(staged)
        }
        .boxed()
    }
}

struct LocalStaged {
    store: LocalDir,
    tmp: TempPath,
    sha256: String,
    size: u64,
}

impl StagedBlob for LocalStaged {
    fn sha256(&self) -> &str {
        &self.sha256
    }

    fn size(&self) -> u64 {
        self.size
    }

    fn persist(mut self: Box<Self>) -> BoxFuture<'static, io::Result<bool>> {
        async move {
            let target = self.store.path_of(&self.sha256)?;
            if tokio::fs::try_exists(&target).await? {
                return Ok(false); // the temporary copy is removed on drop
            }
            tokio::fs::create_dir_all(target.parent().expect("blob path has a parent")).await?;
            tokio::fs::rename(self.tmp.path(), &target).await?;
            self.tmp.0 = None;
            Ok(true)
        }
        .boxed()
    }
}
