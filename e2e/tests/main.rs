//! The integration tests of `sentori-e2e`: the real service binaries, one scenario per module.
//!
//! One test binary rather than one per file: every binary links the whole
//! dependency graph, so a binary per file multiplied the link time and the
//! disk a clean build needs. Run one module with
//! `cargo test -p sentori-e2e --test integration <module>::`.

mod common;

mod accepted_is_stored;
mod admin_dashboard_flow;
mod attachments;
mod healthcheck;
mod hostile_input;
mod limits;
mod metrics;
mod notifier;
mod otlp_exporters;
mod processor_recovery;
mod regressions;
mod self_tracing;
mod sentry_cli;
mod sentry_sdks;
mod sourcemaps;
mod traces_and_releases;
mod triage;
mod valkey_cluster;
mod walking_skeleton;
