//! Load generation for Sentori's benchmarks.
//!
//! Every figure is printed as one line `bench: <name> <value> <unit>` and is
//! measured against a baseline in the same run on the same machine, because
//! absolute numbers on a shared 2-core box mean little on their own.

use serde_json::json;

pub mod load;
pub mod payloads;
pub mod sql_replay;

pub use load::{OpenLoopResult, Target, max_throughput, open_loop};

/// Prints one result line in the format `make bench` promises.
pub fn report(name: &str, value: f64, unit: &str) {
    println!("bench: {name} {value:.3} {unit}");
}

/// A duration in whole seconds from the environment variable `name`.
pub fn seconds(name: &str, default: u64) -> std::time::Duration {
    std::time::Duration::from_secs(std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default))
}

/// Runs a load generator's `main` on a runtime whose threads have the
/// generator's raised priority ([`load::raise_thread_priority`]).
pub fn run_load_generator(main: impl std::future::Future<Output = ()>) {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .on_thread_start(load::raise_thread_priority)
        .build()
        .expect("the load generator's runtime")
        .block_on(main);
}

/// The middle value (the mean of the two middle ones for an even count).
pub fn median(values: &[f64]) -> f64 {
    let mut values = values.to_vec();
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

/// Resident and peak memory of a process, from `/proc/<pid>/status`, in MiB.
pub fn memory_mb(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// A JSON `202 {"id"}` body, the same answer ingest gives.
pub fn accepted_body(id: &str) -> String {
    json!({ "id": id }).to_string()
}
