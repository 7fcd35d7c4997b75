//! JavaScript symbolication with uploaded source maps (processing.md,
//! "Symbolication"). Runs before grouping, so issues key on original frames.
//!
//! Per batch: one query finds the artifacts of every release in the batch
//! (releases known to have no map are skipped for a few seconds); each map
//! needed is taken from an in-memory cache keyed by its SHA-256, or read
//! from blob storage and parsed on the blocking pool. A new upload has a new
//! hash and the artifact list is read per batch, so it applies to the next
//! event without a restart. Any problem with a map leaves frames raw.

pub mod mapping;
pub mod matching;

use std::collections::{HashMap, HashSet};
use std::num::NonZeroUsize;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lru::LruCache;
use sentori_blobs::{BlobStore, LocalDir};
use sentori_model::{FrameSourceMap, SymbolicationInput};
use serde::Deserialize;
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

pub use mapping::{FoundMap, MapLookup, ParsedMap, error_pointers, stack_at, symbolicate_payload};
use matching::{ArtifactRef, DebugImages, ReleaseArtifacts};

use crate::error::ProcessError;

/// How long "this release has no source map" is believed: short, so a map
/// uploaded after the first events applies within seconds.
const NO_MAP_TTL: Duration = Duration::from_secs(5);
/// Minified files whose `sourceMappingURL` is remembered.
const MAPPING_URLS_CACHED: usize = 4096;

pub struct Symbolicator {
    pool: PgPool,
    store: Arc<dyn BlobStore>,
    maps: Mutex<MapCache>,
    /// Minified blob hash → the map its `sourceMappingURL` names.
    mapping_urls: Mutex<LruCache<String, Option<String>>>,
    /// Releases without any map, until when that is believed.
    no_maps: Mutex<HashMap<(Uuid, String), Instant>>,
}

impl Symbolicator {
    /// Maps are read from `<data_dir>/artifacts/`, where admin-api stores them.
    pub fn new(pool: PgPool, data_dir: &Path, cache_bytes: u64) -> Self {
        Self::with_store(pool, Arc::new(LocalDir::new(data_dir.join("artifacts"))), cache_bytes)
    }

    pub fn with_store(pool: PgPool, store: Arc<dyn BlobStore>, cache_bytes: u64) -> Self {
        Self {
            pool,
            store,
            maps: Mutex::new(MapCache::new(cache_bytes)),
            mapping_urls: Mutex::new(LruCache::new(NonZeroUsize::new(MAPPING_URLS_CACHED).expect("non-zero"))),
            no_maps: Mutex::new(HashMap::new()),
        }
    }

    /// Maps the frames of a batch's events in place: each item is an
    /// event's project and the payload fields it reads. Returns, per item,
    /// whether its release has a source map (`None` for events without an
    /// error), stored as `symbolication.releaseHasMap`. Only a database
    /// failure fails the batch (and it is retried); a missing or broken map
    /// leaves the frames raw.
    ///
    /// A frame whose absolute path is the `code_file` of one of the
    /// event's `debug_meta.images` uses the map uploaded under that image's
    /// debug id, whatever the release; other frames use the release's
    /// artifacts.
    pub async fn symbolicate(&self, items: &mut [(Uuid, &mut Value)]) -> Result<Vec<Option<bool>>, ProcessError> {
        let errors: Vec<Option<ErrorEvent>> = items.iter().map(|(project_id, payload)| ErrorEvent::of(*project_id, payload)).collect();
        let releases = self.release_artifacts(&errors).await?;
        let debug_maps = self.debug_id_maps(&errors).await?;
        let mut out = Vec::with_capacity(items.len());
        for ((project_id, payload), error) in items.iter_mut().zip(&errors) {
            let Some(ErrorEvent { release, images, .. }) = error else {
                out.push(None);
                continue;
            };
            let artifacts = releases.get(&(*project_id, release.clone().unwrap_or_default())).filter(|a| a.has_map());
            let by_debug_id: HashMap<Uuid, &DebugIdMap> =
                images.debug_ids().filter_map(|id| debug_maps.get(&(*project_id, id)).map(|map| (id, map))).collect();
            if artifacts.is_none() && by_debug_id.is_empty() {
                out.push(Some(false));
                continue;
            }
            let maps = self.maps_for_frames(artifacts, images, &by_debug_id, payload).await;
            let mut lookup = |file: &str, absolute_path: Option<&str>| maps.get(&frame_key(file, absolute_path)).cloned().flatten();
            symbolicate_payload(payload, &mut FrameMaps(&mut lookup));
            out.push(Some(true));
        }
        Ok(out)
    }

    /// The newest source map uploaded under each debug id the batch's
    /// error events name, by `(project, debug id)`.
    async fn debug_id_maps(&self, errors: &[Option<ErrorEvent>]) -> Result<HashMap<(Uuid, Uuid), DebugIdMap>, ProcessError> {
        let wanted: HashSet<(Uuid, Uuid)> =
            errors.iter().flatten().flat_map(|error| error.images.debug_ids().map(|id| (error.project_id, id))).collect();
        if wanted.is_empty() {
            return Ok(HashMap::new());
        }
        let (projects, debug_ids): (Vec<Uuid>, Vec<Uuid>) = wanted.into_iter().unzip();
        let rows = sqlx::query!(
            r#"SELECT DISTINCT ON (f.project_id, f.debug_id) f.project_id, f.debug_id AS "debug_id!", f.content_sha256, f.url
               FROM artifact_bundle_files f
               JOIN artifact_bundles b ON b.project_id = f.project_id AND b.id = f.bundle_id
               JOIN UNNEST($1::uuid[], $2::uuid[]) AS w(project_id, debug_id)
                 ON f.project_id = w.project_id AND f.debug_id = w.debug_id
              WHERE f.kind = 'source_map' AND b.state = 'ok'
              ORDER BY f.project_id, f.debug_id, b.updated_at DESC"#,
            &projects,
            &debug_ids,
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|row| ((row.project_id, row.debug_id), DebugIdMap { sha256: row.content_sha256, url: row.url })).collect())
    }

    /// The artifacts of every release of the batch's error events, by
    /// `(project, release name)`; releases without artifacts are absent.
    async fn release_artifacts(&self, errors: &[Option<ErrorEvent>]) -> Result<HashMap<(Uuid, String), ReleaseArtifacts>, ProcessError> {
        let now = Instant::now();
        let mut wanted: HashMap<Uuid, (Uuid, String)> = HashMap::new();
        {
            let mut no_maps = self.no_maps.lock().unwrap_or_else(|e| e.into_inner());
            no_maps.retain(|_, until| *until > now);
            for error in errors.iter().flatten() {
                let Some(release) = &error.release else { continue };
                let key = (error.project_id, release.clone());
                if !no_maps.contains_key(&key) {
                    wanted.insert(sentori_protocol::release_id(error.project_id, release), key);
                }
            }
        }
        if wanted.is_empty() {
            return Ok(HashMap::new());
        }
        let (projects, release_ids): (Vec<Uuid>, Vec<Uuid>) = wanted.iter().map(|(id, (project, _))| (*project, *id)).unzip();
        let rows = sqlx::query!(
            "SELECT a.project_id, a.release_id, a.name, a.kind, a.content_sha256, a.map_file
               FROM artifacts a
               JOIN UNNEST($1::uuid[], $2::uuid[]) AS w(project_id, release_id)
                 ON a.project_id = w.project_id AND a.release_id = w.release_id
              ORDER BY a.created_at, a.name",
            &projects,
            &release_ids,
        )
        .fetch_all(&self.pool)
        .await?;
        let mut grouped: HashMap<(Uuid, String), Vec<ArtifactRef>> = HashMap::new();
        for row in rows {
            if let Some(key) = wanted.get(&row.release_id) {
                let artifact = ArtifactRef { name: row.name, kind: row.kind, sha256: row.content_sha256, map_file: row.map_file };
                grouped.entry(key.clone()).or_default().push(artifact);
            }
        }
        let releases: HashMap<(Uuid, String), ReleaseArtifacts> =
            grouped.into_iter().map(|(key, artifacts)| (key, ReleaseArtifacts::new(artifacts))).collect();
        let mut no_maps = self.no_maps.lock().unwrap_or_else(|e| e.into_inner());
        for key in wanted.into_values() {
            if !releases.get(&key).is_some_and(ReleaseArtifacts::has_map) {
                no_maps.insert(key, now + NO_MAP_TTL);
            }
        }
        Ok(releases)
    }

    /// Loads the map of every distinct frame location (file and absolute
    /// path) of the event's error tree: by debug id first, else by the
    /// release's artifacts.
    async fn maps_for_frames(
        &self,
        artifacts: Option<&ReleaseArtifacts>,
        images: &DebugImages,
        by_debug_id: &HashMap<Uuid, &DebugIdMap>,
        payload: &Value,
    ) -> HashMap<(String, Option<String>), Option<FoundMap>> {
        let mut frames = HashSet::new();
        for pointer in error_pointers(payload) {
            for frame in stack_at(payload, &pointer) {
                if let Some(file) = frame.file {
                    frames.insert(frame_key(file, frame.absolute_path));
                }
            }
            if frames.len() > 256 {
                break;
            }
        }
        let mut maps = HashMap::with_capacity(frames.len());
        for (file, absolute_path) in frames {
            let by_id = images.debug_id_for(&file, absolute_path.as_deref()).and_then(|id| Some((id, *by_debug_id.get(&id)?)));
            let map = if let Some((debug_id, found)) = by_id {
                let via = FrameSourceMap::DebugId { debug_id, name: found.url.clone() };
                self.load_map(&found.sha256, &found.url).await.map(|map| FoundMap { map, via: Some(via) })
            } else if let Some(artifact) = match artifacts {
                Some(artifacts) => self.map_artifact(artifacts, &file).await,
                None => None,
            } {
                let via = FrameSourceMap::Release { name: artifact.name.clone() };
                self.load_map(&artifact.sha256, &artifact.name).await.map(|map| FoundMap { map, via: Some(via) })
            } else {
                None
            };
            maps.insert((file, absolute_path), map);
        }
        maps
    }

    /// The map for a frame file: the one its minified file's
    /// `sourceMappingURL` names, else the one matched by name.
    async fn map_artifact<'r>(&self, artifacts: &'r ReleaseArtifacts, file: &str) -> Option<&'r ArtifactRef> {
        if let Some(minified) = artifacts.minified_for(file) {
            if let Some(url) = self.mapping_url(&minified.sha256).await {
                if let Some(map) = artifacts.map_named(&url) {
                    return Some(map);
                }
            }
        }
        artifacts.map_for(file)
    }

    async fn mapping_url(&self, sha256: &str) -> Option<String> {
        if let Some(known) = self.mapping_urls.lock().unwrap_or_else(|e| e.into_inner()).get(sha256) {
            return known.clone();
        }
        let url = match self.store.read_tail(sha256, matching::MAPPING_URL_TAIL_BYTES as u64).await {
            Ok(Some(tail)) => matching::source_mapping_url(&tail),
            Ok(None) => None,
            Err(err) => {
                tracing::warn!(sha256, error = %err, "reading a minified artifact failed");
                return None;
            }
        };
        self.mapping_urls.lock().unwrap_or_else(|e| e.into_inner()).put(sha256.to_owned(), url.clone());
        url
    }

    /// A parsed map from the cache, or read and parsed off the async runtime.
    async fn load_map(&self, sha256: &str, name: &str) -> Option<Arc<ParsedMap>> {
        if let Some(cached) = self.maps.lock().unwrap_or_else(|e| e.into_inner()).get(sha256) {
            metrics::counter!("sentori_symbolication_cache_hits_total").increment(1);
            return cached;
        }
        metrics::counter!("sentori_symbolication_cache_misses_total").increment(1);
        let bytes = match self.store.read_all(sha256).await {
            Ok(Some(bytes)) => bytes,
            Ok(None) => {
                tracing::warn!(sha256, artifact = name, "a source map's blob is missing; frames stay raw");
                self.maps.lock().unwrap_or_else(|e| e.into_inner()).insert(sha256.to_owned(), None, 0);
                return None;
            }
            Err(err) => {
                // Not cached: a storage hiccup should not stick.
                tracing::warn!(sha256, artifact = name, error = %err, "reading a source map failed; frames stay raw");
                return None;
            }
        };
        let size = bytes.len() as u64;
        let parsed = tokio::task::spawn_blocking(move || ParsedMap::parse(&bytes)).await;
        let map = match parsed {
            Ok(Ok(map)) => Some(Arc::new(map)),
            Ok(Err(err)) => {
                // Logged once: the failure is cached under the hash.
                tracing::warn!(sha256, artifact = name, error = %err, "a source map cannot be parsed; frames stay raw");
                None
            }
            Err(err) => {
                tracing::error!(sha256, artifact = name, error = %err, "parsing a source map panicked; frames stay raw");
                None
            }
        };
        self.maps.lock().unwrap_or_else(|e| e.into_inner()).insert(sha256.to_owned(), map.clone(), size);
        map
    }
}

/// A source map uploaded in an artifact bundle under a debug id.
struct DebugIdMap {
    sha256: String,
    /// Its URL in the bundle (`~/bundle.js.map`).
    url: String,
}

/// What symbolication reads of an event with an error, taken before its
/// frames are rewritten.
struct ErrorEvent {
    project_id: Uuid,
    release: Option<String>,
    images: DebugImages,
}

impl ErrorEvent {
    /// `None` for an event without an error: it has no frames to map.
    fn of(project_id: Uuid, payload: &Value) -> Option<Self> {
        let input = SymbolicationInput::deserialize(payload).ok()?;
        input.error?;
        let images = DebugImages::of(input.debug_meta.as_ref());
        Some(Self { project_id, release: input.release.map(str::to_owned), images })
    }
}

fn frame_key(file: &str, absolute_path: Option<&str>) -> (String, Option<String>) {
    (file.to_owned(), absolute_path.map(str::to_owned))
}

/// A [`MapLookup`] over a closure of both the file and the absolute path.
struct FrameMaps<'a, F>(&'a mut F);

impl<F: FnMut(&str, Option<&str>) -> Option<FoundMap>> MapLookup for FrameMaps<'_, F> {
    fn map_for(&mut self, file: &str, absolute_path: Option<&str>) -> Option<FoundMap> {
        (self.0)(file, absolute_path)
    }
}

/// Parsed maps by blob hash, least recently used first out once their total
/// size (the size of the map files, a fair proxy for memory) passes the budget.
pub struct MapCache {
    entries: LruCache<String, (Option<Arc<ParsedMap>>, u64)>,
    total: u64,
    budget: u64,
}

impl MapCache {
    pub fn new(budget: u64) -> Self {
        Self { entries: LruCache::unbounded(), total: 0, budget }
    }

    /// `Some(None)` is a cached failure.
    pub fn get(&mut self, sha256: &str) -> Option<Option<Arc<ParsedMap>>> {
        self.entries.get(sha256).map(|(map, _)| map.clone())
    }

    pub fn insert(&mut self, sha256: String, map: Option<Arc<ParsedMap>>, size: u64) {
        if let Some((_, old)) = self.entries.put(sha256, (map, size)) {
            self.total -= old;
        }
        self.total += size;
        // The newest entry stays even when it alone is over the budget.
        while self.total > self.budget && self.entries.len() > 1 {
            match self.entries.pop_lru() {
                Some((_, (_, size))) => self.total -= size,
                None => break,
            }
        }
    }

    pub fn total_bytes(&self) -> u64 {
        self.total
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use std::io;

    use sentori_blobs::{BlobReader, BlobWriter, BoxFuture};

    use super::*;

    /// One bundle in memory that can only be read by its tail: any whole
    /// read fails, and the largest tail asked for is recorded.
    struct TailOnlyStore {
        bundle: Vec<u8>,
        largest_tail: Mutex<u64>,
    }

    impl BlobStore for TailOnlyStore {
        fn writer(&self) -> BoxFuture<'_, io::Result<Box<dyn BlobWriter>>> {
            Box::pin(async { Err(io::Error::other("read-only")) })
        }
        fn open<'a>(&'a self, _: &'a str) -> BoxFuture<'a, io::Result<Option<BlobReader>>> {
            Box::pin(async { Err(io::Error::other("the whole bundle was read")) })
        }
        fn delete<'a>(&'a self, _: &'a str) -> BoxFuture<'a, io::Result<()>> {
            Box::pin(async { Err(io::Error::other("read-only")) })
        }
        fn exists<'a>(&'a self, _: &'a str) -> BoxFuture<'a, io::Result<bool>> {
            Box::pin(async { Ok(true) })
        }
        fn read_tail<'a>(&'a self, _: &'a str, max_bytes: u64) -> BoxFuture<'a, io::Result<Option<Vec<u8>>>> {
            Box::pin(async move {
                let mut largest = self.largest_tail.lock().unwrap();
                *largest = (*largest).max(max_bytes);
                let start = self.bundle.len().saturating_sub(max_bytes as usize);
                Ok(Some(self.bundle[start..].to_vec()))
            })
        }
    }

    #[tokio::test]
    async fn the_mapping_url_is_read_from_the_bundle_tail_only() {
        let mut bundle = vec![b'x'; 8 << 20];
        bundle.extend_from_slice(b";\n//# sourceMappingURL=app.min.js.map\n");
        let store = Arc::new(TailOnlyStore { bundle, largest_tail: Mutex::new(0) });
        let pool = sqlx::postgres::PgPoolOptions::new().connect_lazy("postgres://unused/unused").unwrap();
        let symbolicator = Symbolicator::with_store(pool, store.clone(), 1 << 20);
        assert_eq!(symbolicator.mapping_url("bundle").await.as_deref(), Some("app.min.js.map"));
        assert_eq!(*store.largest_tail.lock().unwrap(), matching::MAPPING_URL_TAIL_BYTES as u64);
    }

    #[test]
    fn the_map_cache_is_bounded_by_bytes_and_evicts_the_least_recently_used() {
        let mut cache = MapCache::new(100);
        cache.insert("a".into(), None, 40);
        cache.insert("b".into(), None, 40);
        assert!(cache.get("a").is_some(), "touching a makes b the oldest");
        cache.insert("c".into(), None, 40);
        assert_eq!(cache.len(), 2);
        assert!(cache.get("b").is_none(), "b was evicted");
        assert!(cache.get("a").is_some() && cache.get("c").is_some());
        assert_eq!(cache.total_bytes(), 80);
        cache.insert("huge".into(), None, 500);
        assert_eq!(cache.len(), 1, "an oversized map evicts the rest but stays");
        assert_eq!(cache.total_bytes(), 500);
    }
}
