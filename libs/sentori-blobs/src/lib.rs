//! Content-addressed blob storage (architecture.md: "Blobs go through one
//! storage interface: a local directory by default, an S3-compatible object
//! store where several hosts need the same files").
//!
//! A blob's name is the SHA-256 of its bytes, so identical uploads are stored
//! once. Writes stream: the caller feeds chunks to a [`BlobWriter`], which
//! hashes them while writing to a temporary object, so a file of hundreds of
//! megabytes never sits in memory. Finishing gives a [`StagedBlob`] whose hash
//! is known but which is not yet visible; [`StagedBlob::persist`] publishes it.
//! The split lets a caller record the blob in its database (and take a lock
//! against a concurrent delete of the same hash) between hashing and
//! publishing.

mod local;

use std::io;
use std::pin::Pin;

/// The future every [`BlobStore`] method returns, re-exported for implementors.
pub use futures::future::BoxFuture;
use tokio::io::AsyncRead;

pub use local::LocalDir;

/// A streaming reader over one stored blob.
pub type BlobReader = Pin<Box<dyn AsyncRead + Send>>;

/// Where blobs live. Object-safe, so services hold an `Arc<dyn BlobStore>`
/// and the backend is a deployment choice.
pub trait BlobStore: Send + Sync + 'static {
    /// Starts writing a new blob whose hash is not known yet.
    fn writer(&self) -> BoxFuture<'_, io::Result<Box<dyn BlobWriter>>>;
    /// A reader over the blob, or `None` when no blob has that hash.
    fn open<'a>(&'a self, sha256: &'a str) -> BoxFuture<'a, io::Result<Option<BlobReader>>>;
    /// Removes the blob; removing a missing blob is not an error.
    fn delete<'a>(&'a self, sha256: &'a str) -> BoxFuture<'a, io::Result<()>>;
    /// Whether a blob with that hash is stored.
    fn exists<'a>(&'a self, sha256: &'a str) -> BoxFuture<'a, io::Result<bool>>;
    /// The last `max_bytes` bytes of the blob (all of it when it is
    /// shorter), or `None` when no blob has that hash. Reads only that
    /// range, so a caller looking at a trailer of a large blob (a bundle's
    /// `sourceMappingURL` comment) never holds the whole blob in memory.
    fn read_tail<'a>(&'a self, sha256: &'a str, max_bytes: u64) -> BoxFuture<'a, io::Result<Option<Vec<u8>>>>;
}

impl dyn BlobStore {
    /// The whole blob in memory, for consumers that must parse it at once
    /// (a source map). `None` when it is missing.
    pub async fn read_all(&self, sha256: &str) -> io::Result<Option<Vec<u8>>> {
        use tokio::io::AsyncReadExt;
        let Some(mut reader) = self.open(sha256).await? else { return Ok(None) };
        let mut bytes = Vec::new();
        reader.read_to_end(&mut bytes).await?;
        Ok(Some(bytes))
    }
}

/// Receives a blob's bytes in order, hashing them as they are written.
pub trait BlobWriter: Send {
    fn write<'a>(&'a mut self, chunk: &'a [u8]) -> BoxFuture<'a, io::Result<()>>;
    /// Bytes written so far, so a caller can enforce a size limit while streaming.
    fn size(&self) -> u64;
    /// Ends the write: the content hash is known, the blob is not yet visible.
    fn finish(self: Box<Self>) -> BoxFuture<'static, io::Result<Box<dyn StagedBlob>>>;
}

/// A completely written blob waiting to be published. Dropping it without
/// [`StagedBlob::persist`] discards the bytes.
pub trait StagedBlob: Send {
    /// Lowercase hex SHA-256 of the bytes.
    fn sha256(&self) -> &str;
    fn size(&self) -> u64;
    /// Makes the blob visible under its hash. Returns `false` when an
    /// identical blob was already stored (this copy is then discarded).
    fn persist(self: Box<Self>) -> BoxFuture<'static, io::Result<bool>>;
}

/// Whether `name` is a well-formed blob name (64 lowercase hex digits), so a
/// hash that came from a database or a URL can never address another path.
pub fn is_sha256(name: &str) -> bool {
    name.len() == 64 && name.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

#[cfg(test)]
mod tests;
