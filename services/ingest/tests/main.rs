//! The integration tests of `ingest`: ingest against a real Valkey and PostgreSQL, one protocol or failure per module.
//!
//! One test binary rather than one per file: every binary links the whole
//! dependency graph, so a binary per file multiplied the link time and the
//! disk a clean build needs. Run one module with
//! `cargo test -p ingest --test integration <module>::`.

mod common;

mod attachments;
mod flood;
mod otlp;
mod protocol;
mod robustness;
mod sentry;
mod valkey_outage;
