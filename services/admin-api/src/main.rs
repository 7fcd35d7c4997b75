//! `admin-api`: reads configuration and wires the service; behaviour is in the library.

#[tokio::main]
async fn main() {
    sentori_runtime::healthcheck_subcommand("SENTORI_ADMIN_API_ADDR", "0.0.0.0:8081");
    sentori_runtime::init_logging();
    let env = sentori_config::Env::from_process();
    let config = sentori_runtime::exit_on_config_error("admin-api", admin_api::AdminConfig::from_env(env));
    let shutdown = sentori_runtime::shutdown_on_signals();
    let service = sentori_runtime::exit_on_startup_error("admin-api", "startup", admin_api::AdminApi::start(config).await);
    sentori_runtime::exit_on_startup_error("admin-api", "serving", service.serve(shutdown).await);
}
