//! sqlx's query macros check this crate's SQL against a database, or
//! against its record in `.sqlx/`, as environment variables say; cargo
//! watches neither, so a changed record or setting compiles them again.

fn main() {
    println!("cargo:rerun-if-changed=../../.sqlx");
    for setting in ["DATABASE_URL", "SQLX_OFFLINE", "SQLX_OFFLINE_DIR"] {
        println!("cargo:rerun-if-env-changed={setting}");
    }
}
