//! Load generation for Sentori's benchmarks.
//!
//! Every figure is printed as one line `bench: <name> <value> <unit>` and is
//! measured against a baseline in the same run on the same machine, because
//! absolute numbers on a shared 2-core box mean little on their own.

use serde_json::json;

pub mod load;
pub mod payloads;

pub use load::{OpenLoopResult, Target, max_throughput, open_loop};

/// Prints one result line in the format `make bench` promises.
pub fn report(name: &str, value: f64, unit: &str) {
    println!("bench: {name} {value:.3} {unit}");
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
