//! The integration tests of `admin-api`: the admin API against a real PostgreSQL and Valkey, one area per module.
//!
//! One test binary rather than one per file: every binary links the whole
//! dependency graph, so a binary per file multiplied the link time and the
//! disk a clean build needs. Run one module with
//! `cargo test -p admin-api --test integration <module>::`.

mod common;

mod auth;
mod authorization_matrix;
mod data;
mod openapi_document;
mod read_replica;
mod sentry_chunks;
mod trace_detail;
mod transactions;
mod triage;
mod valkey_cluster;
mod web;
