//! `sqlx::migrate!` embeds the files of `migrations/` at compile time but does
//! not tell cargo about the directory, so a NEW migration file would not
//! rebuild this crate and binaries would run without it. Watching the
//! directory fixes that.

fn main() {
    println!("cargo:rerun-if-changed=../../migrations");
}
