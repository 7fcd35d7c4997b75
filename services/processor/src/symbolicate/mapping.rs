//! The pure part of symbolication: given parsed maps, rewrite an event's
//! frames. No I/O here, so it is unit-tested and benchmarked on its own.

use std::sync::Arc;

use sentori_model::{Frame, FrameSourceMap, FrameSummary};
use serde::Deserialize;
use serde_json::Value;
use sourcemap::{DecodedMap, Token};

/// Lines of original source kept on each side of the mapped line.
pub const CONTEXT_LINES: u32 = 5;
/// A context line longer than this is cut: a bundled vendor file can have
/// lines of megabytes.
const CONTEXT_LINE_MAX_CHARS: usize = 300;
/// Errors of one event's tree beyond this many are left alone (ingest
/// keeps at most 100).
const MAX_ERRORS: usize = 128;

/// A parsed source map (regular, indexed or Hermes-composed).
pub struct ParsedMap {
    map: DecodedMap,
}

impl ParsedMap {
    /// Parses a map. CPU-heavy for large maps: call it off the async runtime.
    pub fn parse(bytes: &[u8]) -> Result<Self, sourcemap::Error> {
        Ok(Self { map: sourcemap::decode_slice(bytes)? })
    }

    /// Looks up a 1-based frame position.
    fn lookup(&self, line: u32, column: u32) -> Option<Mapped> {
        let line0 = line.checked_sub(1)?;
        let token = self.map.lookup_token(line0, column.saturating_sub(1))?;
        // The nearest token may sit on an earlier line: that describes other
        // code, not this position. (An index map's tokens count lines from
        // their section's offset; its sections bound them already.)
        if !matches!(self.map, DecodedMap::Index(_)) && token.get_dst_line() != line0 {
            return None;
        }
        let source = token.get_source()?;
        // Hermes maps know the enclosing function of a bytecode position.
        let scope = match &self.map {
            DecodedMap::Hermes(hermes) => hermes.get_scope_for_token(token).map(str::to_owned),
            _ => None,
        };
        Some(Mapped {
            file: clean_source_path(source),
            line: token.get_src_line() + 1,
            column: token.get_src_col() + 1,
            callee: token.get_name().map(str::to_owned).or_else(|| identifier_at(&token)),
            scope,
            in_app: !source.contains("node_modules/") && !source.starts_with("node_modules"),
            context: context(&token),
        })
    }
}

/// What a map says about one frame.
struct Mapped {
    file: String,
    line: u32,
    column: u32,
    /// The name the map gives the position: for a call site, the function
    /// being called.
    callee: Option<String>,
    /// The enclosing function, where the map records scopes (Hermes).
    scope: Option<String>,
    in_app: bool,
    context: Option<(Vec<String>, String, Vec<String>)>,
}

/// A map found for a frame, and which one it is: `via` is stored on the
/// mapped frame as `sourceMap` (the dashboard says which map resolved it).
#[derive(Clone)]
pub struct FoundMap {
    pub map: Arc<ParsedMap>,
    pub via: Option<FrameSourceMap>,
}

/// Finds the map for a frame by its file and absolute path (`None`: the
/// frame stays as it is).
pub trait MapLookup {
    fn map_for(&mut self, file: &str, absolute_path: Option<&str>) -> Option<FoundMap>;
}

/// A closure over the file alone, for maps known without provenance.
impl<F: FnMut(&str) -> Option<Arc<ParsedMap>>> MapLookup for F {
    fn map_for(&mut self, file: &str, _: Option<&str>) -> Option<FoundMap> {
        self(file).map(|map| FoundMap { map, via: None })
    }
}

/// The JSON pointer of every error in the event's tree: the error, its
/// causes, the members of its exception groups and theirs (at most
/// [`MAX_ERRORS`]).
pub fn error_pointers(payload: &Value) -> Vec<String> {
    let mut pointers = Vec::new();
    let mut pending = vec!["/error".to_owned()];
    while let Some(pointer) = pending.pop() {
        if pointers.len() == MAX_ERRORS {
            break;
        }
        let Some(error) = payload.pointer(&pointer).filter(|e| e.is_object()) else { continue };
        // Onto the stack last first: the cause comes next, then the members in order.
        let members = error.get("exceptions").and_then(Value::as_array).map_or(0, Vec::len);
        pending.extend((0..members).rev().map(|i| format!("{pointer}/exceptions/{i}")));
        pending.push(format!("{pointer}/cause"));
        pointers.push(pointer);
    }
    pointers
}

/// The frames of the error at `pointer` (one of [`error_pointers`]), read
/// for their position; a frame that does not read is passed over.
pub fn stack_at<'a>(payload: &'a Value, pointer: &str) -> impl Iterator<Item = FrameSummary<'a>> {
    let stack = payload.pointer(&format!("{pointer}/stack")).and_then(Value::as_array);
    stack.into_iter().flatten().filter_map(|frame| FrameSummary::deserialize(frame).ok())
}

/// Maps every frame of the event's error tree ([`error_pointers`]) in
/// place; returns how many frames were mapped. Frames whose file has no
/// map, or whose position the map does not cover, are left untouched.
pub fn symbolicate_payload(payload: &mut Value, maps: &mut dyn MapLookup) -> usize {
    let mut mapped = 0;
    for pointer in error_pointers(payload) {
        if let Some(stack) = payload.pointer_mut(&format!("{pointer}/stack")).and_then(Value::as_array_mut) {
            mapped += symbolicate_stack(stack, maps);
        }
    }
    mapped
}

/// Frames are top of stack first. The name of a frame's function is best
/// known at its caller's call site (the next frame down): minifiers rename
/// functions, and the map names the identifier called there.
fn symbolicate_stack(stack: &mut [Value], maps: &mut dyn MapLookup) -> usize {
    let lookups: Vec<Option<(Mapped, Option<FrameSourceMap>)>> = stack.iter().map(|frame| lookup_frame(frame, maps)).collect();
    let mut mapped = 0;
    for (i, frame) in stack.iter_mut().enumerate() {
        let Some(found) = &lookups[i] else { continue };
        let caller_names = lookups.get(i + 1).and_then(Option::as_ref).and_then(|(caller, _)| caller.callee.clone());
        let function = found.0.scope.clone().or(caller_names);
        apply(frame, found, function);
        mapped += 1;
    }
    mapped
}

fn lookup_frame(frame: &Value, maps: &mut dyn MapLookup) -> Option<(Mapped, Option<FrameSourceMap>)> {
    let frame = FrameSummary::deserialize(frame).ok()?;
    let line = u32::try_from(frame.line?).ok()?;
    let column = frame.column.and_then(|c| u32::try_from(c).ok()).unwrap_or(1);
    let found = maps.map_for(frame.file?, frame.absolute_path)?;
    Some((found.map.lookup(line, column)?, found.via))
}

/// Rewrites a frame through the model's [`Frame`], so the keys it writes
/// are the model's and the fields it does not know stay as they are.
fn apply(frame: &mut Value, (found, via): &(Mapped, Option<FrameSourceMap>), function: Option<String>) {
    // A frame the lookup could read has a file and a line, so it reads as a Frame.
    let Ok(mut typed) = Frame::deserialize(&*frame) else { return };
    typed.raw_file = Some(std::mem::replace(&mut typed.file, found.file.clone()));
    typed.raw_line = Some(std::mem::replace(&mut typed.line, u64::from(found.line)));
    typed.raw_column = typed.column.replace(u64::from(found.column));
    // The map's name, else the function the client reported.
    typed.raw_function = typed.function.clone();
    if let Some(function) = function.filter(|f| !f.is_empty()) {
        typed.function = Some(function);
    }
    typed.in_app = found.in_app;
    // A bundle's absolute path no longer describes the mapped frame.
    typed.absolute_path = None;
    typed.source_map = via.clone();
    // Context the client took from the bundle would describe minified code.
    (typed.pre_context, typed.context_line, typed.post_context) = match &found.context {
        Some((pre, line, post)) => (pre.clone(), Some(line.clone()), post.clone()),
        None => (Vec::new(), None, Vec::new()),
    };
    if let Ok(rewritten) = serde_json::to_value(typed) {
        *frame = rewritten;
    }
}

/// Up to [`CONTEXT_LINES`] lines on each side of the token's original line,
/// from the map's `sourcesContent`.
fn context(token: &Token<'_>) -> Option<(Vec<String>, String, Vec<String>)> {
    let view = token.get_source_view()?;
    let line = token.get_src_line();
    let cut = |s: &str| s.trim_end_matches(['\r', '\n']).chars().take(CONTEXT_LINE_MAX_CHARS).collect::<String>();
    let current = cut(view.get_line(line)?);
    let pre = (line.saturating_sub(CONTEXT_LINES)..line).filter_map(|l| view.get_line(l)).map(cut).collect();
    // A file's final newline does not start a line worth showing.
    let last = u32::try_from(view.line_count()).unwrap_or(u32::MAX).saturating_sub(1);
    let post = (line + 1..=line + CONTEXT_LINES)
        .map_while(|l| view.get_line(l).filter(|text| !(l == last && text.is_empty())))
        .map(cut)
        .collect();
    Some((pre, current, post))
}

/// The identifier starting at the token's original position, for maps that
/// record positions but no names (an identifier the minifier kept).
fn identifier_at(token: &Token<'_>) -> Option<String> {
    let line = token.get_source_view()?.get_line(token.get_src_line())?;
    let rest: String = line.chars().skip(token.get_src_col() as usize).collect();
    let ident: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '$').collect();
    let starts_well = ident.chars().next().is_some_and(|c| !c.is_ascii_digit());
    (starts_well && !is_keyword(&ident)).then_some(ident)
}

fn is_keyword(word: &str) -> bool {
    matches!(
        word,
        "new" | "throw" | "return" | "await" | "function" | "typeof" | "void" | "delete" | "yield" | "this" | "super"
            | "class" | "const" | "let" | "var" | "if" | "else" | "for" | "while" | "do" | "switch" | "case" | "try"
            | "catch" | "finally" | "async"
    )
}

/// A map's source path as a person reads it: `webpack://app/./src/a.js` →
/// `src/a.js`, `../../src/a.js` → `src/a.js`.
pub fn clean_source_path(source: &str) -> String {
    let mut path = source;
    if let Some(rest) = path.strip_prefix("webpack://") {
        // webpack://<namespace>/<path>
        path = rest.split_once('/').map_or(rest, |(_, p)| p);
    } else if let Some(rest) = path.strip_prefix("app:///") {
        path = rest;
    } else if let Some((_, rest)) = path.split_once("://") {
        path = rest.split_once('/').map_or(rest, |(_, p)| p);
    }
    loop {
        if let Some(rest) = path.strip_prefix("./") {
            path = rest;
        } else if let Some(rest) = path.strip_prefix("../") {
            path = rest;
        } else if let Some(rest) = path.strip_prefix("~/") {
            path = rest;
        } else {
            break;
        }
    }
    path.to_owned()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// A map of a two-line "bundle" for a three-function original, built by hand:
    /// line 1 of the bundle is `function a(){b()}function b(){throw new Error("x")}`.
    fn fixture() -> Arc<ParsedMap> {
        let mut builder = sourcemap::SourceMapBuilder::new(Some("bundle.js"));
        let src = builder.add_source("../src/orders.js");
        builder.set_source_contents(
            src,
            Some("// orders\nfunction placeOrder() {\n  validate();\n}\nfunction validate() {\n  throw new Error(\"x\");\n}\n"),
        );
        // bundle col 0 → function placeOrder (line 2, col 0)
        builder.add(0, 0, 1, 0, Some("../src/orders.js"), Some("placeOrder"), false);
        // bundle col 13 (call of b) → `validate();` at line 3 col 2
        builder.add(0, 13, 2, 2, Some("../src/orders.js"), Some("validate"), false);
        // bundle col 17 → function validate (line 5)
        builder.add(0, 17, 4, 0, Some("../src/orders.js"), Some("validate"), false);
        // bundle col 30 (throw) → line 6 col 2, no name
        builder.add(0, 30, 5, 2, Some("../src/orders.js"), None, false);
        let mut bytes = Vec::new();
        builder.into_sourcemap().to_writer(&mut bytes).unwrap();
        Arc::new(ParsedMap::parse(&bytes).unwrap())
    }

    fn event() -> Value {
        json!({
            "error": {
                "type": "Error",
                "message": "x",
                "stack": [
                    {"file": "https://cdn.example.com/static/bundle.js?v=3", "line": 1, "column": 31, "function": "b"},
                    {"file": "https://cdn.example.com/static/bundle.js?v=3", "line": 1, "column": 14, "function": "a"},
                    {"file": "native", "line": 1, "function": "run"}
                ],
                "cause": {"type": "Error", "stack": [{"file": "bundle.js", "line": 1, "column": 14, "function": "a"}], "cause": null}
            }
        })
    }

    #[test]
    fn the_members_of_exception_groups_are_mapped_with_their_causes() {
        let map = fixture();
        let frame = || json!({"file": "bundle.js", "line": 1, "column": 14, "function": "a"});
        let mut payload = json!({"error": {
            "type": "AggregateError", "stack": [frame()],
            "exceptions": [
                {"type": "TypeError", "stack": [frame()], "cause": {"type": "Error", "stack": [frame()]}},
                {"type": "AggregateError", "stack": [], "exceptions": [{"type": "RangeError", "stack": [frame()]}]},
                "not an error"
            ]
        }});
        assert_eq!(
            error_pointers(&payload),
            ["/error", "/error/exceptions/0", "/error/exceptions/0/cause", "/error/exceptions/1", "/error/exceptions/1/exceptions/0"]
        );
        let mut lookup = |file: &str| file.contains("bundle.js").then(|| map.clone());
        assert_eq!(symbolicate_payload(&mut payload, &mut lookup), 4);
        for pointer in ["/error/stack/0", "/error/exceptions/0/stack/0", "/error/exceptions/0/cause/stack/0",
                        "/error/exceptions/1/exceptions/0/stack/0"] {
            assert_eq!(payload.pointer(pointer).unwrap()["file"], "src/orders.js", "{pointer}");
        }
    }

    #[test]
    fn a_tree_of_any_size_is_walked_a_bounded_number_of_times() {
        let members: Vec<Value> = (0..1000).map(|_| json!({"type": "E", "exceptions": [{"type": "F"}]})).collect();
        let payload = json!({"error": {"type": "Group", "exceptions": members}});
        assert_eq!(error_pointers(&payload).len(), MAX_ERRORS);
    }

    #[test]
    fn frames_get_original_positions_names_context_and_raw_fields() {
        let map = fixture();
        let mut payload = event();
        let mut lookup = |file: &str| file.contains("bundle.js").then(|| map.clone());
        assert_eq!(symbolicate_payload(&mut payload, &mut lookup), 3);
        let top = &payload["error"]["stack"][0];
        assert_eq!(top["file"], "src/orders.js");
        assert_eq!(top["line"], 6);
        assert_eq!(top["column"], 3);
        assert_eq!(top["function"], "validate", "named at the caller's call site");
        assert_eq!(top["inApp"], true);
        assert_eq!(top["contextLine"], "  throw new Error(\"x\");");
        assert_eq!(top["preContext"], json!(["// orders", "function placeOrder() {", "  validate();", "}", "function validate() {"]));
        assert_eq!(top["postContext"], json!(["}"]));
        assert_eq!(top["rawFile"], "https://cdn.example.com/static/bundle.js?v=3");
        assert_eq!(top["rawLine"], 1);
        assert_eq!(top["rawColumn"], 31);
        assert_eq!(top["rawFunction"], "b");
        let second = &payload["error"]["stack"][1];
        assert_eq!((second["line"].as_u64(), second["column"].as_u64()), (Some(3), Some(3)));
        assert_eq!(second["function"], "a", "no caller frame mapped: the reported name stays");
        let native = &payload["error"]["stack"][2];
        assert_eq!(native["file"], "native");
        assert!(native.get("rawFile").is_none());
        assert_eq!(payload["error"]["cause"]["stack"][0]["file"], "src/orders.js", "causes are mapped too");
    }

    #[test]
    fn positions_outside_the_map_and_unknown_files_stay_raw() {
        let map = fixture();
        let mut payload = json!({"error": {"type": "E", "stack": [
            {"file": "bundle.js", "line": 40, "column": 1},
            {"file": "other.js", "line": 1, "column": 1}
        ]}});
        let before = payload.clone();
        let mut lookup = |file: &str| (file == "bundle.js").then(|| map.clone());
        assert_eq!(symbolicate_payload(&mut payload, &mut lookup), 0);
        assert_eq!(payload, before);
    }

    #[test]
    fn node_modules_sources_are_not_in_app() {
        let mut builder = sourcemap::SourceMapBuilder::new(None);
        builder.add(0, 0, 0, 0, Some("webpack://app/./node_modules/lib/index.js"), None, false);
        let mut bytes = Vec::new();
        builder.into_sourcemap().to_writer(&mut bytes).unwrap();
        let map = Arc::new(ParsedMap::parse(&bytes).unwrap());
        let mut payload = json!({"error": {"type": "E", "stack": [{"file": "a.js", "line": 1, "column": 5, "inApp": true}]}});
        symbolicate_payload(&mut payload, &mut |_: &str| Some(map.clone()));
        let frame = &payload["error"]["stack"][0];
        assert_eq!(frame["file"], "node_modules/lib/index.js");
        assert!(!Frame::deserialize(frame).unwrap().in_app, "the client's inApp: true is the map's false now: {frame}");
        assert!(frame.get("contextLine").is_none());
    }

    #[test]
    fn indexed_maps_resolve_through_their_sections() {
        let index = r#"{"version":3,"file":"app.js","sections":[
            {"offset":{"line":0,"column":0},"map":{"version":3,"sources":["a.js"],"names":[],"mappings":"AAAA"}},
            {"offset":{"line":10,"column":0},"map":{"version":3,"sources":["b.js"],"sourcesContent":["one\ntwo\nthree"],"names":[],"mappings":"AAAA;AACA"}}
        ]}"#;
        let map = Arc::new(ParsedMap::parse(index.as_bytes()).unwrap());
        let mut payload = json!({"error": {"type": "E", "stack": [{"file": "app.js", "line": 12, "column": 1}]}});
        assert_eq!(symbolicate_payload(&mut payload, &mut |_: &str| Some(map.clone())), 1);
        let frame = &payload["error"]["stack"][0];
        assert_eq!(frame["file"], "b.js");
        assert_eq!(frame["line"], 2);
        assert_eq!(frame["contextLine"], "two");
    }

    #[test]
    fn hermes_maps_name_the_enclosing_function() {
        // A composed Hermes map: line 1, columns are bytecode offsets;
        // x_facebook_sources carries each source's function scopes.
        let hermes = r#"{"version":3,"sources":["App.js"],"sourcesContent":["function App() {\n  crash();\n}\n"],
            "names":[],"mappings":"AAAA,SACE",
            "x_facebook_sources":[[{"names":["<global>","App"],"mappings":"AAA,EC"}]]}"#;
        let map = Arc::new(ParsedMap::parse(hermes.as_bytes()).unwrap());
        let mut payload = json!({"error": {"type": "E", "stack": [{"file": "index.android.bundle", "line": 1, "column": 12, "function": "anonymous"}]}});
        assert_eq!(symbolicate_payload(&mut payload, &mut |_: &str| Some(map.clone())), 1);
        let frame = &payload["error"]["stack"][0];
        assert_eq!(frame["file"], "App.js");
        assert_eq!(frame["line"], 2);
        assert_eq!(frame["function"], "App");
        assert_eq!(frame["rawFunction"], "anonymous");
    }

    #[test]
    fn source_paths_are_cleaned() {
        assert_eq!(clean_source_path("../../src/a.js"), "src/a.js");
        assert_eq!(clean_source_path("webpack://my-app/./src/a.js"), "src/a.js");
        assert_eq!(clean_source_path("app:///src/a.js"), "src/a.js");
        assert_eq!(clean_source_path("https://x.test/assets/a.js"), "assets/a.js");
        assert_eq!(clean_source_path("src/a.js"), "src/a.js");
    }
}
