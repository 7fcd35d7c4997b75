//! Which artifact serves a frame's file (processing.md): compare base names
//! after removing URL scheme and host, `~/`, `app:///` and query strings; a
//! map `X.map` or `X.js.map` serves the frame file `X` or `X.js`; a minified
//! file whose `//# sourceMappingURL=` names a map uses that map.

use std::collections::HashMap;

use sentori_model::DebugMeta;
use uuid::Uuid;

/// Images read from one event, at most: a bundle per loaded script.
const MAX_IMAGES: usize = 1000;

/// The event's `debug_meta.images` of type `sourcemap`: which script
/// (`code_file`, as the SDK saw its path) was built with which debug id.
#[derive(Debug, Default)]
pub struct DebugImages {
    images: Vec<(String, Uuid)>,
}

impl DebugImages {
    pub fn of(debug_meta: Option<&DebugMeta>) -> Self {
        let images = debug_meta
            .map(|meta| meta.images.as_slice())
            .unwrap_or_default()
            .iter()
            .take(MAX_IMAGES)
            .filter(|image| image.image_type.as_deref() == Some("sourcemap"))
            .filter_map(|image| {
                let code_file = image.code_file.as_deref().filter(|f| !f.is_empty())?;
                let debug_id = Uuid::try_parse(image.debug_id.as_deref()?.trim()).ok().filter(|id| !id.is_nil())?;
                Some((code_file.to_owned(), debug_id))
            })
            .collect();
        Self { images }
    }

    pub fn debug_ids(&self) -> impl Iterator<Item = Uuid> + '_ {
        self.images.iter().map(|(_, id)| *id)
    }

    /// The debug id of the script a frame ran in: the image whose
    /// `code_file` is the frame's absolute path (or file), else the one
    /// naming the same path once schemes and hosts are dropped.
    pub fn debug_id_for(&self, file: &str, absolute_path: Option<&str>) -> Option<Uuid> {
        if self.images.is_empty() {
            return None;
        }
        let frame_paths = [absolute_path, Some(file)];
        let exact = self.images.iter().find(|(code_file, _)| frame_paths.contains(&Some(code_file.as_str())));
        if let Some((_, id)) = exact {
            return Some(*id);
        }
        let wanted: Vec<String> = frame_paths.iter().flatten().map(|p| normalize_path(p)).filter(|p| !p.is_empty()).collect();
        self.images.iter().find(|(code_file, _)| wanted.contains(&normalize_path(code_file))).map(|(_, id)| *id)
    }
}

/// One artifact row of a release.
#[derive(Debug, Clone)]
pub struct ArtifactRef {
    pub name: String,
    pub kind: String,
    pub sha256: String,
    /// A source map's `file`.
    pub map_file: Option<String>,
}

/// A release's artifacts, indexed for matching frames.
#[derive(Debug, Default)]
pub struct ReleaseArtifacts {
    /// Base name of a file a map serves → candidate maps (the artifact and
    /// the path that produced the key).
    maps_by_served: HashMap<String, Vec<(String, usize)>>,
    /// Base name of a minified file → its artifact.
    minified_by_name: HashMap<String, Vec<usize>>,
    /// Base name of a map artifact's own name → its artifact.
    maps_by_name: HashMap<String, Vec<usize>>,
    pub artifacts: Vec<ArtifactRef>,
}

impl ReleaseArtifacts {
    pub fn new(artifacts: Vec<ArtifactRef>) -> Self {
        let mut index = ReleaseArtifacts { artifacts, ..Default::default() };
        for (i, artifact) in index.artifacts.iter().enumerate() {
            let path = normalize_path(&artifact.name);
            match artifact.kind.as_str() {
                "sourcemap" => {
                    index.maps_by_name.entry(base_name(&path).to_owned()).or_default().push(i);
                    let stem = path.strip_suffix(".map").unwrap_or(&path).to_owned();
                    let mut served = vec![stem.clone()];
                    // `X.map` serves `X.js`; `X.js.map` serves `X` too.
                    match stem.strip_suffix(".js") {
                        Some(bare) => served.push(bare.to_owned()),
                        None => served.push(format!("{stem}.js")),
                    }
                    if let Some(file) = &artifact.map_file {
                        served.push(normalize_path(file));
                    }
                    for path in served {
                        let key = base_name(&path).to_owned();
                        let entry = index.maps_by_served.entry(key).or_default();
                        if !entry.iter().any(|(p, j)| *j == i && *p == path) {
                            entry.push((path, i));
                        }
                    }
                }
                "minified" => index.minified_by_name.entry(base_name(&path).to_owned()).or_default().push(i),
                _ => {}
            }
        }
        index
    }

    pub fn has_map(&self) -> bool {
        self.artifacts.iter().any(|a| a.kind == "sourcemap")
    }

    /// The minified artifact for a frame's file, if one was uploaded.
    pub fn minified_for(&self, frame_file: &str) -> Option<&ArtifactRef> {
        let path = normalize_path(frame_file);
        let candidates = self.minified_by_name.get(base_name(&path))?;
        best(candidates.iter().map(|&i| (normalize_path(&self.artifacts[i].name), i)), &path).map(|i| &self.artifacts[i])
    }

    /// The map a `sourceMappingURL` names, relative to the minified file.
    pub fn map_named(&self, url: &str) -> Option<&ArtifactRef> {
        let path = normalize_path(url);
        let candidates = self.maps_by_name.get(base_name(&path))?;
        best(candidates.iter().map(|&i| (normalize_path(&self.artifacts[i].name), i)), &path).map(|i| &self.artifacts[i])
    }

    /// The map serving a frame's file by the naming rule.
    pub fn map_for(&self, frame_file: &str) -> Option<&ArtifactRef> {
        let path = normalize_path(frame_file);
        let candidates = self.maps_by_served.get(base_name(&path))?;
        best(candidates.iter().cloned(), &path).map(|i| &self.artifacts[i])
    }
}

/// Among candidates sharing a base name, the one sharing the longest path
/// suffix with the frame's path (`static/js/main.js` beats `other/main.js`);
/// ties go to the first uploaded.
fn best(candidates: impl Iterator<Item = (String, usize)>, path: &str) -> Option<usize> {
    let mut best: Option<(usize, usize)> = None;
    for (candidate, i) in candidates {
        let score = common_suffix_segments(&candidate, path);
        if best.is_none_or(|(s, _)| score > s) {
            best = Some((score, i));
        }
    }
    best.map(|(_, i)| i)
}

fn common_suffix_segments(a: &str, b: &str) -> usize {
    a.rsplit('/').zip(b.rsplit('/')).take_while(|(x, y)| x == y).count()
}

/// A file reference reduced to its path: no scheme and host, no `app:///`,
/// `~/` or leading `./`, no query string or fragment.
pub fn normalize_path(file: &str) -> String {
    let file = file.split(['?', '#']).next().unwrap_or("");
    let mut path = if let Some(rest) = file.strip_prefix("app:///") {
        rest
    } else if let Some((scheme, rest)) = file.split_once("://") {
        if scheme.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')) {
            // Drop the host (for file:// URLs it is empty).
            rest.split_once('/').map_or("", |(_, path)| path)
        } else {
            file
        }
    } else {
        file
    };
    loop {
        if let Some(rest) = path.strip_prefix("~/").or_else(|| path.strip_prefix("./")) {
            path = rest;
        } else if let Some(rest) = path.strip_prefix('/') {
            path = rest;
        } else {
            break;
        }
    }
    path.to_owned()
}

/// The last path segment.
pub fn base_name(path: &str) -> &str {
    path.rsplit(['/', '\\']).next().unwrap_or(path)
}

/// How many bytes at the end of a minified file are searched for its
/// `sourceMappingURL` comment: the comment is the last line a bundler
/// writes, and a bundle can be many megabytes that need not be read.
pub const MAPPING_URL_TAIL_BYTES: usize = 4096;

/// The map a minified file names in its last `//# sourceMappingURL=` comment
/// (or the old `//@` form). Only the last [`MAPPING_URL_TAIL_BYTES`] are
/// searched; `minified` may be the whole file or just that tail.
pub fn source_mapping_url(minified: &[u8]) -> Option<String> {
    let tail = &minified[minified.len().saturating_sub(MAPPING_URL_TAIL_BYTES)..];
    let text = String::from_utf8_lossy(tail);
    text.lines().rev().map(str::trim).find_map(|line| {
        let rest = line.strip_prefix("//# sourceMappingURL=").or_else(|| line.strip_prefix("//@ sourceMappingURL="))?;
        let url = rest.trim();
        (!url.is_empty()).then(|| url.to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn artifact(name: &str, kind: &str) -> ArtifactRef {
        ArtifactRef { name: name.into(), kind: kind.into(), sha256: format!("sha-{name}"), map_file: None }
    }

    fn read(payload: &serde_json::Value) -> sentori_model::SymbolicationInput<'_> {
        serde::Deserialize::deserialize(payload).unwrap()
    }

    fn release(names: &[(&str, &str)]) -> ReleaseArtifacts {
        ReleaseArtifacts::new(names.iter().map(|(n, k)| artifact(n, k)).collect())
    }

    #[test]
    fn frames_find_their_debug_id_by_absolute_path() {
        let payload = serde_json::json!({"debug_meta": {"images": [
            {"type": "sourcemap", "code_file": "/srv/app/dist/bundle.js", "debug_id": "f107d9d9-2719-594d-82f6-a1ba49e9e582"},
            {"type": "sourcemap", "code_file": "https://cdn.example.com/static/vendor.js", "debug_id": "85314830023F4CF1A267535F4E37BB17"},
            {"type": "macho", "code_file": "/usr/lib/libc.dylib", "debug_id": "11111111-1111-1111-1111-111111111111"},
            {"type": "sourcemap", "code_file": "/srv/app/dist/broken.js", "debug_id": "not a uuid"},
            5,
            {"type": "sourcemap", "code_file": ["not", "text"]}
        ]}});
        let images = DebugImages::of(read(&payload).debug_meta.as_ref());
        assert_eq!(images.debug_ids().count(), 2, "only sourcemap images with a debug id count");
        let bundle = Uuid::parse_str("f107d9d9-2719-594d-82f6-a1ba49e9e582").unwrap();
        assert_eq!(images.debug_id_for("bundle.js", Some("/srv/app/dist/bundle.js")), Some(bundle));
        assert_eq!(images.debug_id_for("/srv/app/dist/bundle.js", None), Some(bundle));
        assert_eq!(images.debug_id_for("file:///srv/app/dist/bundle.js", None), Some(bundle), "same path, other scheme");
        let vendor = Uuid::parse_str("85314830-023f-4cf1-a267-535f4e37bb17").unwrap();
        assert_eq!(images.debug_id_for("https://cdn.example.com/static/vendor.js?v=2", None), Some(vendor));
        assert_eq!(images.debug_id_for("/srv/app/dist/other.js", None), None);
        assert_eq!(images.debug_id_for("/usr/lib/libc.dylib", None), None);
        let odd = serde_json::json!({"debug_meta": {"images": "x"}});
        assert!(DebugImages::of(read(&odd).debug_meta.as_ref()).debug_ids().next().is_none());
    }

    #[test]
    fn paths_lose_origin_query_and_prefixes() {
        assert_eq!(normalize_path("https://cdn.example.com/static/js/main.js?v=2#x"), "static/js/main.js");
        assert_eq!(normalize_path("app:///index.android.bundle"), "index.android.bundle");
        assert_eq!(normalize_path("~/static/main.js"), "static/main.js");
        assert_eq!(normalize_path("file:///data/app/main.jsbundle"), "data/app/main.jsbundle");
        assert_eq!(normalize_path("./dist/a.js"), "dist/a.js");
    }

    #[test]
    fn maps_serve_frames_by_name() {
        let r = release(&[("~/static/js/main.js.map", "sourcemap"), ("vendor.map", "sourcemap"), ("index.android.bundle.map", "sourcemap")]);
        assert_eq!(r.map_for("https://x.test/static/js/main.js?h=1").unwrap().name, "~/static/js/main.js.map");
        assert_eq!(r.map_for("main").unwrap().name, "~/static/js/main.js.map");
        assert_eq!(r.map_for("vendor.js").unwrap().name, "vendor.map");
        assert_eq!(r.map_for("vendor").unwrap().name, "vendor.map");
        assert_eq!(r.map_for("app:///index.android.bundle").unwrap().name, "index.android.bundle.map");
        assert!(r.map_for("other.js").is_none());
        assert!(r.has_map());
    }

    #[test]
    fn the_longest_shared_path_wins_between_equal_base_names() {
        let r = release(&[("a/main.js.map", "sourcemap"), ("static/js/main.js.map", "sourcemap")]);
        assert_eq!(r.map_for("http://h/static/js/main.js").unwrap().name, "static/js/main.js.map");
        assert_eq!(r.map_for("http://h/a/main.js").unwrap().name, "a/main.js.map");
    }

    #[test]
    fn a_maps_file_field_serves_too() {
        let mut map = artifact("build-1234.map", "sourcemap");
        map.map_file = Some("app.min.js".into());
        let r = ReleaseArtifacts::new(vec![map]);
        assert_eq!(r.map_for("https://h/app.min.js").unwrap().name, "build-1234.map");
    }

    #[test]
    fn minified_files_name_their_maps() {
        let r = release(&[("dist/app.js", "minified"), ("maps/app.js.map-hidden.map", "sourcemap")]);
        let minified = r.minified_for("https://h/dist/app.js").unwrap();
        assert_eq!(minified.name, "dist/app.js");
        let bundle = b"console.log(1);\n//# sourceMappingURL=app.js.map-hidden.map\n";
        let url = source_mapping_url(bundle).unwrap();
        assert_eq!(url, "app.js.map-hidden.map");
        assert_eq!(r.map_named(&url).unwrap().name, "maps/app.js.map-hidden.map");
        assert_eq!(source_mapping_url(b"no comment"), None);
        assert!(!release(&[("a.js", "minified")]).has_map());
    }
}
