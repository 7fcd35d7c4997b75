//! `retention`: reads configuration and wires the service; behaviour is in the library.

#[tokio::main]
async fn main() {
    sentori_runtime::init_logging();
    let env = sentori_config::Env::from_process();
    let config = sentori_runtime::exit_on_config_error("retention", retention::RetentionConfig::from_env(env));
    let shutdown = sentori_runtime::shutdown_on_signals();
    let service = sentori_runtime::exit_on_startup_error("retention", "startup", retention::Retention::start(config).await);
    sentori_runtime::exit_on_startup_error("retention", "running", service.run(shutdown).await);
}
