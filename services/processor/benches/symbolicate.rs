//! Symbolication benchmarks (`make bench`): mapping an event of 30 frames
//! against a warm 5 MB source map, and parsing a 20 MB map cold. Maps are
//! generated here, shaped like a bundler's: one long minified line, many
//! sources with their `sourcesContent`, and names.
//!
//! Besides criterion's report, prints `bench: <name> <value> <unit>` lines
//! for docs/performance.md, each the median of the bench's own timed runs:
//! symbolicating the event (every frame looked up, the function named from
//! the caller's call site, context lines cut from `sourcesContent`, the
//! frame rewritten; the event's clone is made before the clock starts)
//! against, interleaved run by run, the floor of that work: the `sourcemap`
//! crate's bare token lookup of the same 30 positions in the same decoded
//! map, reading each token's source, line and name. Under `cargo test`
//! (no `--bench`) everything runs once on small maps.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::Criterion;
use processor::symbolicate::{ParsedMap, symbolicate_payload};
use serde_json::{Value, json};

/// A map of about `target` bytes and the number of bundle columns it covers.
fn generate_map(target: usize) -> (Vec<u8>, u32) {
    let mut builder = sourcemap::SourceMapBuilder::new(Some("bundle.js"));
    let mut column = 0u32;
    let mut estimate = 0usize;
    let mut source_no = 0;
    while estimate < target {
        let path = format!("../src/module_{source_no}/component_{source_no}.js");
        let src = builder.add_source(&path);
        let mut content = String::new();
        for line in 0..120u32 {
            let text = format!("  const value{line} = compute{line}(input, options.{line}) + offset; // line {line}\n");
            content.push_str(&text);
            let name = format!("compute{line}");
            // Two tokens per original line: the statement and the call.
            builder.add(0, column, line, 2, Some(&path), None, false);
            builder.add(0, column + 9, line, 17, Some(&path), Some(&name), false);
            column += 24;
            estimate += 12;
        }
        estimate += content.len() + path.len();
        builder.set_source_contents(src, Some(&content));
        source_no += 1;
    }
    let mut bytes = Vec::new();
    builder.into_sourcemap().to_writer(&mut bytes).expect("encoding the generated map");
    (bytes, column)
}

fn event(frames: usize, columns: u32) -> Value {
    let stack: Vec<Value> = (0..frames)
        .map(|i| {
            let column = 1 + (columns / frames as u32) * i as u32 + 10;
            json!({"file": "https://cdn.example.com/static/bundle.js", "line": 1, "column": column, "function": format!("f{i}")})
        })
        .collect();
    json!({"kind": "error", "error": {"type": "TypeError", "message": "x is undefined", "stack": stack}})
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn main() {
    let bench_mode = std::env::args().any(|a| a == "--bench");
    let (warm_size, cold_size, runs) = if bench_mode { (5 << 20, 20 << 20, 31) } else { (256 << 10, 512 << 10, 1) };

    let (warm_bytes, columns) = generate_map(warm_size);
    let warm = Arc::new(ParsedMap::parse(&warm_bytes).expect("the generated map parses"));
    let payload = event(30, columns);
    let mut lookup = |_: &str| Some(warm.clone());
    let mut check = payload.clone();
    assert_eq!(symbolicate_payload(&mut check, &mut lookup), 30, "every frame maps");

    let (cold_bytes, _) = generate_map(cold_size);

    let mut criterion = Criterion::default().configure_from_args();
    if bench_mode {
        criterion = criterion.sample_size(10).measurement_time(Duration::from_secs(5));
    }
    criterion.bench_function("symbolicate_event_30_frames", |b| {
        b.iter(|| {
            let mut event = payload.clone();
            black_box(symbolicate_payload(&mut event, &mut lookup))
        })
    });
    criterion.bench_function("sourcemap_parse_20mb", |b| b.iter(|| black_box(ParsedMap::parse(&cold_bytes).is_ok())));
    criterion.final_summary();

    if !bench_mode {
        // `cargo test` only checks that the benchmarks run; its numbers
        // (small maps, debug build) would mislead.
        return;
    }
    let bare = sourcemap::decode_slice(&warm_bytes).expect("the generated map decodes");
    let positions: Vec<(u32, u32)> = payload["error"]["stack"]
        .as_array()
        .expect("frames")
        .iter()
        .map(|f| (f["line"].as_u64().unwrap() as u32 - 1, f["column"].as_u64().unwrap() as u32 - 1))
        .collect();
    let (mut symbolicate, mut floor) = (Vec::new(), Vec::new());
    for _ in 0..runs * 10 {
        let start = Instant::now();
        for &(line, column) in &positions {
            let token = bare.lookup_token(line, column).expect("every position is mapped");
            black_box((token.get_source(), token.get_src_line(), token.get_name()));
        }
        floor.push(start.elapsed());
        let mut event = payload.clone();
        let start = Instant::now();
        black_box(symbolicate_payload(&mut event, &mut lookup));
        symbolicate.push(start.elapsed());
    }
    let (symbolicate, floor) = (median(symbolicate), median(floor));
    let parse: Vec<Duration> = (0..runs.min(7))
        .map(|_| {
            let start = Instant::now();
            black_box(ParsedMap::parse(&cold_bytes).is_ok());
            start.elapsed()
        })
        .collect();
    eprintln!("map sizes: warm {} bytes, cold {} bytes", warm_bytes.len(), cold_bytes.len());
    println!("bench: symbolicate_event_30_frames_us {:.1} us", symbolicate.as_secs_f64() * 1e6);
    println!("bench: sourcemap_lookup_30_frames_us {:.1} us", floor.as_secs_f64() * 1e6);
    println!("bench: symbolicate_vs_lookup_ratio {:.1} ratio", symbolicate.as_secs_f64() / floor.as_secs_f64());
    println!("bench: sourcemap_parse_20mb_ms {:.1} ms", median(parse).as_secs_f64() * 1e3);
}
