//! `sqlx::migrate!` embeds the files of `migrations/` at compile time but does
//! not tell cargo about the directory, so a NEW migration file would not
//! rebuild this crate and binaries would run without it. Watching the
//! directory fixes that.
//!
//! The query macros read a database (or `.sqlx/`, its record) and their
//! settings from the environment, which cargo does not watch either: a
//! changed record or setting has to compile the queries again.

fn main() {
    println!("cargo:rerun-if-changed=../../migrations");
    println!("cargo:rerun-if-changed=../../.sqlx");
    for setting in ["DATABASE_URL", "SQLX_OFFLINE", "SQLX_OFFLINE_DIR"] {
        println!("cargo:rerun-if-env-changed={setting}");
    }
}
