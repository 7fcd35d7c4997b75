//! Message normalisation benchmark (`make bench`): `normalize_message` over
//! messages shaped like real error messages (ids, addresses, timestamps,
//! URLs, counts, and plain prose), against a baseline in the same run that
//! replaces only runs of digits with one regex — the least a normaliser
//! does. The ratio says what the full set of placeholders costs on top.
//!
//! Besides criterion's report, prints `bench: <name> <value> <unit>` lines
//! (medians of its own timed runs). Under `cargo test` (no `--bench`)
//! everything runs once.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::Criterion;
use processor::grouping::normalize_message;
use regex::Regex;

const MESSAGES: [&str; 10] = [
    "Cannot read properties of undefined (reading 'id')",
    "Request 4821 failed with status 503",
    "User 0193a0a0-7c1e-7000-8000-4f2b9c1d2e3f not found in org 0193a0a0-7c1e-7000-8000-00000000002a",
    "Segmentation fault at address 0x7ffd5e8a1c40 in thread 12",
    "Timeout after 30000ms contacting https://api.example.com/v2/items?page=3&limit=50",
    "Failed to send mail to jane.doe@example.org from 10.0.12.7 at 2026-11-26T10:15:42.123Z",
    "Connection refused: fe80::1ff:fe23:4567:890a port 5432",
    "Invariant violation: expected 3 children but received 7 in <List key=item-42>",
    "NSInvalidArgumentException: -[__NSCFString objectForKey:]: unrecognized selector sent to instance 0x600003a2c0c0",
    "Out of memory allocating 1048576 bytes after 123456 allocations",
];

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// Time of one pass over every message with `f`, in nanoseconds per message.
fn per_message(runs: usize, f: impl Fn(&str) -> String) -> f64 {
    let samples: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            for message in MESSAGES {
                black_box(f(black_box(message)));
            }
            start.elapsed()
        })
        .collect();
    median(samples).as_secs_f64() * 1e9 / MESSAGES.len() as f64
}

fn main() {
    let bench_mode = std::env::args().any(|a| a == "--bench");
    let digits = Regex::new(r"\d+").expect("a valid pattern");
    let baseline = |message: &str| digits.replace_all(message, "<n>").into_owned();
    // Build the patterns before anything is timed.
    assert_eq!(normalize_message("Request 4821 failed"), "Request <n> failed");

    let mut criterion = Criterion::default().configure_from_args();
    if bench_mode {
        criterion = criterion.sample_size(50).measurement_time(Duration::from_secs(3));
    }
    criterion.bench_function("normalize_message_10_messages", |b| {
        b.iter(|| MESSAGES.iter().map(|m| normalize_message(black_box(m)).len()).sum::<usize>())
    });
    criterion.bench_function("digits_only_baseline_10_messages", |b| {
        b.iter(|| MESSAGES.iter().map(|m| baseline(black_box(m)).len()).sum::<usize>())
    });
    criterion.final_summary();

    if !bench_mode {
        return;
    }
    let runs = 2001;
    let normalize = per_message(runs, normalize_message);
    let digits_only = per_message(runs, baseline);
    println!("bench: normalize_message_ns {normalize:.0} ns");
    println!("bench: normalize_digits_only_baseline_ns {digits_only:.0} ns");
    println!("bench: normalize_vs_digits_only_ratio {:.2} ratio", normalize / digits_only);
}
