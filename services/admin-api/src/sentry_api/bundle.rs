//! Reading an artifact bundle: the zip sentry-cli builds, with a
//! `manifest.json` naming each file's URL, type and headers (`debug-id`,
//! `sourcemap`).
//!
//! Nothing here trusts the archive: the bytes every entry expands to are
//! counted as they are read (a zip's declared sizes can lie), the whole
//! bundle's expansion and its file count are bounded, and an entry name that
//! could step outside a directory refuses the bundle. Synchronous, for the
//! blocking pool.

use std::collections::BTreeMap;
use std::io::{self, Read, Seek};

use serde::Deserialize;
use uuid::Uuid;

use crate::artifacts::MapSniffer;

/// The manifest is metadata: a few kilobytes per thousand files.
const MANIFEST_MAX_BYTES: u64 = 16 * 1024 * 1024;
/// How many bytes at a file's end are searched for `//# debugId=`.
const DEBUG_ID_TAIL_BYTES: usize = 4096;

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// The most all files of one bundle may expand to, together.
    pub max_total_bytes: u64,
    pub max_files: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("the bundle is not a readable zip archive: {0}")]
    Zip(String),
    #[error("the bundle has no readable manifest.json: {0}")]
    Manifest(String),
    #[error("the bundle entry {0:?} is not a plain relative path")]
    UnsafeName(String),
    #[error("the manifest names {0:?}, which the bundle does not hold")]
    MissingEntry(String),
    #[error("the bundle holds more than {0} files")]
    TooManyFiles(usize),
    #[error("the bundle expands to more than {0} bytes")]
    TooLarge(u64),
    #[error("storing a bundle file failed: {0}")]
    Storage(io::Error),
}

#[derive(Debug, Deserialize)]
struct Manifest {
    #[serde(default)]
    files: BTreeMap<String, ManifestFile>,
    #[serde(default)]
    debug_id: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ManifestFile {
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
}

impl ManifestFile {
    /// Header names are case-insensitive; sentry-cli writes `debug-id`,
    /// older tools `debug_id`.
    fn header(&self, wanted: &[&str]) -> Option<&str> {
        self.headers.iter().find(|(k, _)| wanted.iter().any(|w| k.eq_ignore_ascii_case(w))).map(|(_, v)| v.trim())
    }
}

/// One file of the bundle, stored by the caller's sink.
#[derive(Debug)]
pub struct BundleFile<T> {
    /// The zip entry's path.
    pub name: String,
    pub url: String,
    /// The manifest's `type` (`minified_source`, `source_map`, ...).
    pub kind: String,
    /// From the manifest's `debug-id` header, else from the file itself
    /// (a map's `debugId`, a script's `//# debugId=` comment).
    pub debug_id: Option<Uuid>,
    pub size: u64,
    pub stored: T,
}

#[derive(Debug)]
pub struct Unpacked<T> {
    /// The manifest's `debug_id` (sentry-cli's "Bundle ID").
    pub bundle_id: Option<String>,
    pub files: Vec<BundleFile<T>>,
}

/// Reads the bundle and hands each file the manifest lists to `sink` as a
/// bounded reader; `sink` stores it and returns what the caller keeps.
pub fn unpack<R, T>(
    archive: R,
    limits: Limits,
    mut sink: impl FnMut(&str, &mut dyn Read) -> io::Result<T>,
) -> Result<Unpacked<T>, BundleError>
where
    R: Read + Seek,
{
    let mut zip = zip::ZipArchive::new(archive).map_err(|e| BundleError::Zip(e.to_string()))?;
    if zip.len() > limits.max_files.saturating_add(1) {
        return Err(BundleError::TooManyFiles(limits.max_files));
    }
    for name in zip.file_names() {
        let name = name.map_err(|e| BundleError::Zip(e.to_string()))?;
        if !is_plain_relative(&name) {
            return Err(BundleError::UnsafeName(name.into_owned()));
        }
    }
    let manifest: Manifest = {
        let entry = zip.by_name("manifest.json").map_err(|e| BundleError::Manifest(e.to_string()))?;
        let mut bytes = Vec::new();
        entry.take(MANIFEST_MAX_BYTES + 1).read_to_end(&mut bytes).map_err(|e| BundleError::Manifest(e.to_string()))?;
        if bytes.len() as u64 > MANIFEST_MAX_BYTES {
            return Err(BundleError::Manifest(format!("larger than {MANIFEST_MAX_BYTES} bytes")));
        }
        serde_json::from_slice(&bytes).map_err(|e| BundleError::Manifest(e.to_string()))?
    };
    if manifest.files.len() > limits.max_files {
        return Err(BundleError::TooManyFiles(limits.max_files));
    }
    let mut budget = limits.max_total_bytes;
    let mut files = Vec::with_capacity(manifest.files.len());
    for (name, described) in &manifest.files {
        if !is_plain_relative(name) {
            return Err(BundleError::UnsafeName(name.clone()));
        }
        let entry = match zip.by_name(name) {
            Ok(entry) => entry,
            Err(zip::result::ZipError::FileNotFound) => return Err(BundleError::MissingEntry(name.clone())),
            Err(err) => return Err(BundleError::Zip(err.to_string())),
        };
        let kind = described.kind.clone().unwrap_or_else(|| "source".into());
        let mut reader = Inspecting::new(Bounded { inner: entry, left: budget }, kind == "source_map");
        let stored = sink(name, &mut reader).map_err(|err| match err.get_ref().and_then(|e| e.downcast_ref::<Exceeded>()) {
            Some(_) => BundleError::TooLarge(limits.max_total_bytes),
            None if err.kind() == io::ErrorKind::InvalidData => BundleError::Zip(err.to_string()),
            None => BundleError::Storage(err),
        })?;
        budget = reader.inner.left;
        let size = reader.read;
        let found = reader.debug_id();
        let debug_id = described.header(&["debug-id", "debug_id"]).and_then(parse_debug_id).or(found);
        files.push(BundleFile {
            name: name.clone(),
            url: described.url.clone().filter(|u| !u.is_empty()).unwrap_or_else(|| name.clone()),
            kind,
            debug_id,
            size,
            stored,
        });
    }
    Ok(Unpacked { bundle_id: manifest.debug_id.filter(|d| !d.is_empty()), files })
}

/// A name that stays below the directory it is read in: relative, with
/// forward slashes, and no `.`, `..` or empty segment.
pub fn is_plain_relative(name: &str) -> bool {
    !name.is_empty()
        && !name.contains(['\\', '\0'])
        && !name.starts_with('/')
        && !name.split('/').next().is_some_and(|first| first.len() == 2 && first.ends_with(':'))
        && name.split('/').all(|segment| !segment.is_empty() && segment != "." && segment != "..")
}

/// A debug id as Sentry writes them: a UUID, hyphenated or not, any case.
pub fn parse_debug_id(text: &str) -> Option<Uuid> {
    Uuid::try_parse(text.trim()).ok().filter(|id| !id.is_nil())
}

/// The marker error of [`Bounded`], told apart from other read errors.
#[derive(Debug)]
struct Exceeded;

impl std::fmt::Display for Exceeded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the bundle expands past its limit")
    }
}

impl std::error::Error for Exceeded {}

/// Fails the read once more than `left` bytes came out.
struct Bounded<R> {
    inner: R,
    left: u64,
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // One byte past the budget is asked for, so reaching it exactly is
        // told apart from going over.
        let want = buf.len().min(usize::try_from(self.left.saturating_add(1)).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        if n as u64 > self.left {
            return Err(io::Error::other(Exceeded));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

/// Passes bytes through while looking for the file's debug id: a map's
/// top-level `debugId`, or the last `//# debugId=` comment of a script.
struct Inspecting<R> {
    inner: R,
    sniffer: Option<MapSniffer>,
    tail: Vec<u8>,
    read: u64,
}

impl<R> Inspecting<R> {
    fn new(inner: R, is_map: bool) -> Self {
        Self { inner, sniffer: is_map.then(MapSniffer::default), tail: Vec::new(), read: 0 }
    }

    fn debug_id(self) -> Option<Uuid> {
        if let Some(sniffer) = self.sniffer {
            return sniffer.into_found().1.as_deref().and_then(parse_debug_id);
        }
        debug_id_comment(&self.tail)
    }
}

impl<R: Read> Read for Inspecting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let bytes = &buf[..n];
        self.read += n as u64;
        match self.sniffer.as_mut() {
            Some(sniffer) => sniffer.feed(bytes),
            None => {
                self.tail.extend_from_slice(bytes);
                if self.tail.len() > 2 * DEBUG_ID_TAIL_BYTES {
                    self.tail.drain(..self.tail.len() - DEBUG_ID_TAIL_BYTES);
                }
            }
        }
        Ok(n)
    }
}

/// The id of the last `//# debugId=<uuid>` line in a script's tail.
pub fn debug_id_comment(tail: &[u8]) -> Option<Uuid> {
    let tail = &tail[tail.len().saturating_sub(DEBUG_ID_TAIL_BYTES)..];
    String::from_utf8_lossy(tail).lines().rev().map(str::trim).find_map(|line| {
        let rest = line.strip_prefix("//# debugId=").or_else(|| line.strip_prefix("//@ debugId="))?;
        parse_debug_id(rest)
    })
}

#[cfg(test)]
mod tests {
    use std::io::{Cursor, Write};

    use zip::write::SimpleFileOptions;

    use super::*;

    const LIMITS: Limits = Limits { max_total_bytes: 1 << 20, max_files: 100 };
    const DEBUG_ID: &str = "f107d9d9-2719-594d-82f6-a1ba49e9e582";

    fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let options = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        for (name, bytes) in entries {
            writer.start_file(*name, options).unwrap();
            writer.write_all(bytes).unwrap();
        }
        writer.finish().unwrap().into_inner()
    }

    fn collect(bundle: Vec<u8>, limits: Limits) -> Result<Unpacked<Vec<u8>>, BundleError> {
        unpack(Cursor::new(bundle), limits, |_, reader| {
            let mut bytes = Vec::new();
            reader.read_to_end(&mut bytes)?;
            Ok(bytes)
        })
    }

    fn manifest(files: &[(&str, &str, &str, Option<&str>)]) -> Vec<u8> {
        let files: serde_json::Map<String, serde_json::Value> = files
            .iter()
            .map(|(name, kind, url, debug_id)| {
                let headers = match debug_id {
                    Some(id) => serde_json::json!({ "debug-id": id }),
                    None => serde_json::json!({}),
                };
                ((*name).to_owned(), serde_json::json!({ "type": kind, "url": url, "headers": headers }))
            })
            .collect();
        serde_json::to_vec(&serde_json::json!({ "files": files, "debug_id": "682277e1-8a19-52fd-b8a5-a13b782fc3a0" })).unwrap()
    }

    #[test]
    fn files_come_with_urls_kinds_and_debug_ids_from_headers_or_content() {
        let map = format!(r#"{{"version":3,"sources":["a.js"],"names":[],"mappings":"AAAA","debugId":"{DEBUG_ID}"}}"#);
        let script = format!("console.log(1);\n//# sourceMappingURL=bundle.js.map\n//# debugId={DEBUG_ID}\n");
        let bundle = zip_of(&[
            ("manifest.json", &manifest(&[
                ("files/_/_/bundle.js", "minified_source", "~/bundle.js", None),
                ("files/_/_/bundle.js.map", "source_map", "~/bundle.js.map", None),
                ("files/_/_/other.js", "minified_source", "~/other.js", Some("85314830-023f-4cf1-a267-535f4e37bb17")),
            ])),
            ("files/_/_/bundle.js", script.as_bytes()),
            ("files/_/_/bundle.js.map", map.as_bytes()),
            ("files/_/_/other.js", b"x"),
        ]);
        let unpacked = collect(bundle, LIMITS).unwrap();
        assert_eq!(unpacked.bundle_id.as_deref(), Some("682277e1-8a19-52fd-b8a5-a13b782fc3a0"));
        let expected = parse_debug_id(DEBUG_ID);
        let by_url = |url: &str| unpacked.files.iter().find(|f| f.url == url).unwrap();
        assert_eq!((by_url("~/bundle.js").kind.as_str(), by_url("~/bundle.js").debug_id), ("minified_source", expected));
        assert_eq!(by_url("~/bundle.js.map").debug_id, expected);
        assert_eq!(by_url("~/bundle.js.map").stored, map.as_bytes());
        assert_eq!(by_url("~/bundle.js.map").size, map.len() as u64);
        assert_eq!(by_url("~/other.js").debug_id, parse_debug_id("85314830023f4cf1a267535f4e37bb17"));
    }

    #[test]
    fn a_zip_bomb_stops_at_the_limit() {
        // 64 MiB of zeros deflate to about 64 KiB.
        let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
        writer.start_file("manifest.json", SimpleFileOptions::default()).unwrap();
        writer.write_all(&manifest(&[("files/bomb.js", "minified_source", "~/bomb.js", None)])).unwrap();
        writer
            .start_file("files/bomb.js", SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated))
            .unwrap();
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..64 {
            writer.write_all(&zeros).unwrap();
        }
        let bundle = writer.finish().unwrap().into_inner();
        assert!(bundle.len() < 1 << 20, "the bomb is small: {} bytes", bundle.len());
        let mut seen = 0u64;
        let result = unpack(Cursor::new(bundle), LIMITS, |_, reader| {
            let mut buf = [0u8; 8192];
            loop {
                let n = reader.read(&mut buf)?;
                if n == 0 {
                    return Ok(());
                }
                seen += n as u64;
            }
        });
        assert!(matches!(result, Err(BundleError::TooLarge(limit)) if limit == LIMITS.max_total_bytes), "{result:?}");
        assert!(seen <= LIMITS.max_total_bytes, "no more than the limit was read: {seen}");
    }

    #[test]
    fn the_limit_counts_all_files_together() {
        let half = vec![b'a'; 600 * 1024];
        let bundle = zip_of(&[
            ("manifest.json", &manifest(&[("a.js", "source", "~/a.js", None), ("b.js", "source", "~/b.js", None)])),
            ("a.js", &half),
            ("b.js", &half),
        ]);
        assert!(matches!(collect(bundle, LIMITS), Err(BundleError::TooLarge(_))));
    }

    #[test]
    fn entry_names_that_climb_out_refuse_the_bundle() {
        for evil in ["../../etc/passwd", "files/../../x.js", "/etc/passwd", "files\\..\\x.js", "C:/x.js", "a//b.js", "./a.js"] {
            let bundle =
                zip_of(&[("manifest.json", &manifest(&[(evil, "source", "~/x.js", None)])), (evil, b"x".as_slice())]);
            assert!(matches!(collect(bundle, LIMITS), Err(BundleError::UnsafeName(name)) if name == evil), "{evil}");
        }
        // Not listed in the manifest: still refused.
        let bundle = zip_of(&[("manifest.json", &manifest(&[])), ("../x", b"x".as_slice())]);
        assert!(matches!(collect(bundle, LIMITS), Err(BundleError::UnsafeName(_))));
        assert!(is_plain_relative("files/_/_/bundle.js"));
    }

    #[test]
    fn broken_bundles_say_why() {
        assert!(matches!(collect(b"not a zip".to_vec(), LIMITS), Err(BundleError::Zip(_))));
        let no_manifest = zip_of(&[("a.js", b"x".as_slice())]);
        assert!(matches!(collect(no_manifest, LIMITS), Err(BundleError::Manifest(_))));
        let missing = zip_of(&[("manifest.json", &manifest(&[("a.js", "source", "~/a.js", None)]))]);
        assert!(matches!(collect(missing, LIMITS), Err(BundleError::MissingEntry(name)) if name == "a.js"));
        let many: Vec<(String, Vec<u8>)> = (0..5).map(|i| (format!("f{i}.js"), vec![b'x'])).collect();
        let mut entries: Vec<(&str, &[u8])> = many.iter().map(|(n, b)| (n.as_str(), b.as_slice())).collect();
        let listed = manifest(&[]);
        entries.push(("manifest.json", &listed));
        let few = Limits { max_total_bytes: 1 << 20, max_files: 3 };
        assert!(matches!(collect(zip_of(&entries), few), Err(BundleError::TooManyFiles(3))));
    }

    #[test]
    fn debug_id_comments_are_read_from_the_tail() {
        let script = format!("a();\n//# debugId={}\n", DEBUG_ID.to_uppercase());
        assert_eq!(debug_id_comment(script.as_bytes()), parse_debug_id(DEBUG_ID));
        assert_eq!(debug_id_comment(b"a();\n//# sourceMappingURL=a.js.map\n"), None);
        assert_eq!(parse_debug_id("00000000-0000-0000-0000-000000000000"), None);
    }
}
