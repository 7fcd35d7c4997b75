//! `retention`: reads configuration and the command line, and wires the service;
//! behaviour is in the library.
//!
//! `retention` runs as a service (a pass at start, then daily);
//! `retention --once [--now 2027-06-01T00:00:00Z]` runs one pass and exits,
//! printing its outcome as one JSON line.

#[tokio::main]
async fn main() {
    sentori_runtime::healthcheck_subcommand("SENTORI_RETENTION_ADDR", "0.0.0.0:8084");
    sentori_runtime::init_logging();
    let mode = <retention::Args as clap::Parser>::parse().mode();
    let env = sentori_config::Env::from_process();
    let config = sentori_runtime::exit_on_config_error("retention", retention::RetentionConfig::from_env(env));
    let service = sentori_runtime::exit_on_startup_error("retention", "startup", retention::Retention::start(config).await);
    match mode {
        retention::Mode::Service => {
            let shutdown = sentori_runtime::shutdown_on_signals();
            sentori_runtime::exit_on_startup_error("retention", "running", service.run(shutdown).await);
        }
        retention::Mode::Once { now } => {
            let now = now.unwrap_or_else(time::OffsetDateTime::now_utc);
            let outcome = sentori_runtime::exit_on_startup_error("retention", "the pass", service.once(now).await);
            println!("{}", outcome.to_json());
        }
    }
}
