//! Where an OTLP request's CPU goes before anything reaches Valkey (`make
//! bench`): the same 100-span protobuf requests as ingest-bench's OTLP
//! figures, timed in interleaved rounds, each round every request once:
//!
//! - `decode`: protobuf into the generated types, the floor (what the bare
//!   handler of ingest-bench does);
//! - `encode`: the spans already mapped (outside the timing), only encoded
//!   as JSON, as they are queued: what storing the model's JSON costs at
//!   the least, with no decoding and no mapping at all;
//! - `map_encode`: decode, map every span into the typed model and encode it
//!   as JSON once: the least a mapping into the stored JSON form can cost;
//! - `prepare`: decode and what `POST /v1/traces` does with the spans before
//!   it queues them (mapping, validation, trimming, the queued payload).
//!
//! Prints `bench: <name> <value> <unit>` lines: nanoseconds per span for
//! each (medians over the rounds) and each one's ratio to the floor as
//! throughput (floor time / its time), the same sense as ingest-bench's
//! `otlp_vs_bare_ratio`; for `encode` that is how many encodes fit in one
//! decode's time. Under `cargo test` (no `--bench`) one round runs.

use std::hint::black_box;
use std::time::Instant;

use ingest::otlp::decode::{Format, decode};
use ingest::otlp::{mapping, prepare};
use time::OffsetDateTime;

// The allocator ingest and the bare handler run on.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const SPANS: usize = 100;
const REQUESTS: usize = 50;

/// Decodes `bytes` and hands each span, mapped, to `each`.
fn each_mapped(bytes: &[u8], mut each: impl FnMut(sentori_model::Span)) {
    let decoded = decode(Format::Protobuf, bytes).expect("a valid request");
    for resource_spans in &decoded.request.resource_spans {
        for scope_spans in &resource_spans.scope_spans {
            let context = mapping::Context::new(resource_spans.resource.as_ref(), scope_spans.scope.as_ref());
            for span in &scope_spans.spans {
                each(mapping::map_span(&context, span).expect("a valid span").span);
            }
        }
    }
}

fn encoded_len(span: &sentori_model::Span) -> usize {
    serde_json::to_vec(span).expect("JSON").len()
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    let bench_mode = std::env::args().any(|a| a == "--bench");
    let rounds = if bench_mode { 200 } else { 1 };
    let requests = sentori_bench::payloads::otlp_requests(REQUESTS, SPANS);
    let received_at = OffsetDateTime::now_utc();
    let prepared = prepare(decode(Format::Protobuf, &requests[0]).expect("a valid request"), received_at);
    assert_eq!((prepared.spans.len(), prepared.rejected), (SPANS, 0), "every span is accepted");

    // Each request's spans, mapped before anything is timed, for `encode`.
    let mapped: Vec<Vec<sentori_model::Span>> = requests
        .iter()
        .map(|r| {
            let mut spans = Vec::with_capacity(SPANS);
            each_mapped(r, |span| spans.push(span));
            spans
        })
        .collect();

    // Each case takes the index of a request.
    type Case<'a> = (&'a str, Box<dyn Fn(usize) -> usize + 'a>);
    let cases: [Case; 4] = [
        ("decode", Box::new(|i| decode(Format::Protobuf, &requests[i]).expect("a valid request").request.resource_spans.len())),
        ("encode", Box::new(|i| mapped[i].iter().map(encoded_len).sum())),
        ("map_encode", Box::new(|i| {
            let mut written = 0;
            each_mapped(&requests[i], |span| written += encoded_len(&span));
            written
        })),
        ("prepare", Box::new(|i| prepare(decode(Format::Protobuf, &requests[i]).expect("a valid request"), received_at).spans.len())),
    ];
    let mut per_span: Vec<Vec<f64>> = vec![Vec::new(); cases.len()];
    for _ in 0..rounds {
        for (samples, (_, run)) in per_span.iter_mut().zip(&cases) {
            let start = Instant::now();
            for i in 0..requests.len() {
                black_box(run(black_box(i)));
            }
            samples.push(start.elapsed().as_nanos() as f64 / (REQUESTS * SPANS) as f64);
        }
    }
    let medians: Vec<f64> = per_span.into_iter().map(median).collect();
    for ((name, _), ns) in cases.iter().zip(&medians) {
        println!("bench: otlp_{name}_ns_per_span {ns:.0} ns");
    }
    for ((name, _), ns) in cases.iter().zip(&medians).skip(1) {
        println!("bench: otlp_{name}_vs_decode_ratio {:.3} ratio", medians[0] / ns);
    }
}
