//! Realistic SDK payloads for the benchmarks.

use bytes::Bytes;
use rand::Rng;
use rand::seq::IndexedRandom;
use serde_json::{Value, json};

const FUNCTIONS: [&str; 8] = ["render", "commit", "fetchCart", "applyCoupon", "onPress", "navigate", "parse", "reduce"];
const FILES: [&str; 6] = ["src/cart.ts", "src/api/client.ts", "src/screens/Checkout.tsx", "src/store.ts", "src/util/date.ts", "src/App.tsx"];

/// One error event like a mobile or web SDK sends: 10 frames, 20
/// breadcrumbs, tags, device and user. `issue` picks one of the distinct
/// bugs (its error type and top frames), and `anr` makes it a hang.
pub fn event(issue: usize, anr: bool) -> Value {
    let mut rng = rand::rng();
    let frames: Vec<Value> = (0..10)
        .map(|i| {
            let function = FUNCTIONS[(issue + i) % FUNCTIONS.len()];
            json!({
                "file": FILES[(issue / 7 + i) % FILES.len()],
                "line": 10 + (issue * 13 + i * 7) % 400,
                "column": 1 + i * 3,
                "function": format!("{function}{}", if i < 2 { issue.to_string() } else { String::new() }),
                "inApp": i < 6
            })
        })
        .collect();
    let breadcrumbs: Vec<Value> = (0..20)
        .map(|i| {
            let kind = ["nav", "net", "log", "user"][i % 4];
            json!({"timestamp": "2026-11-26T10:00:00Z", "type": kind, "data": {"n": i, "url": "/api/items?page=2"}})
        })
        .collect();
    json!({
        "id": uuid::Uuid::now_v7(),
        "timestamp": time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap(),
        "kind": if anr { "anr" } else { "error" },
        "platform": "javascript",
        "release": format!("shop@1.{}.0+{}", issue % 5, issue % 3),
        "environment": *["prod", "staging"].choose(&mut rng).unwrap(),
        "device": {"os": "android", "osVersion": "14", "model": "Pixel 8", "locale": "en-GB", "installId": format!("i-{}", rng.random_range(0..5000))},
        "app": {"version": "1.2.0", "build": "456", "framework": {"name": "react-native", "version": "0.76"}},
        "user": {"id": format!("user-{}", rng.random_range(0..2000))},
        "tags": {"screen": "checkout", "region": "eu-west", "plan": "pro"},
        "breadcrumbs": breadcrumbs,
        "error": {
            "type": format!("Error{}", issue % 40),
            "message": format!("Request {} failed with status {}", rng.random_range(0..100000), 500 + issue % 4),
            "stack": frames
        }
    })
}

/// `count` encoded events over `issues` distinct bugs, 5 % of them ANRs.
pub fn events(count: usize, issues: usize) -> Vec<Value> {
    let mut rng = rand::rng();
    (0..count).map(|_| event(rng.random_range(0..issues), rng.random_bool(0.05))).collect()
}

pub fn encoded(values: &[Value]) -> Vec<Bytes> {
    values.iter().map(|v| Bytes::from(serde_json::to_vec(v).expect("JSON"))).collect()
}
