//! `ingest`: reads configuration and wires the service; behaviour is in the library.

/// glibc's allocator spent a third of the processor's CPU consolidating and
/// unlinking chunks under the many small JSON allocations (perf, make
/// bench); mimalloc's size-class pages avoid that.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() {
    sentori_runtime::healthcheck_subcommand("SENTORI_INGEST_ADDR", "0.0.0.0:8080");
    sentori_runtime::init_logging();
    let env = sentori_config::Env::from_process();
    let config = sentori_runtime::exit_on_config_error("ingest", ingest::IngestConfig::from_env(env));
    let shutdown = sentori_runtime::shutdown_on_signals();
    let service = sentori_runtime::exit_on_startup_error("ingest", "startup", ingest::Ingest::start(config).await);
    sentori_runtime::exit_on_startup_error("ingest", "serving", service.serve(shutdown).await);
}
