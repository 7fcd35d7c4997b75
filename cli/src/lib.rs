//! The `sentori` command line (operations.md): dev data, migrations and
//! dead letters. Each command is a module; this file only parses and routes.

mod dead_letter;
mod seed;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "sentori", version, about = "Operate a Sentori installation")]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Post synthetic data through ingest, as SDKs would.
    #[command(subcommand)]
    Seed(SeedCommand),
    /// Apply pending database migrations and create upcoming partitions.
    Migrate(DatabaseArgs),
    /// Data retention (partitions, expiry).
    #[command(subcommand)]
    Retention(RetentionCommand),
    /// Inspect or replay entries that failed processing.
    #[command(subcommand, name = "dead-letter")]
    DeadLetter(dead_letter::DeadLetterCommand),
}

#[derive(Debug, Subcommand)]
enum SeedCommand {
    /// Error events across users, releases and the last 7 days.
    Events(seed::SeedEvents),
    /// Traces: a root span with nested children each.
    Spans(seed::SeedSpans),
}

#[derive(Debug, Subcommand)]
enum RetentionCommand {
    /// Run one retention pass now (or as of `--now`), as the retention
    /// service does daily. Reads the same SENTORI_* variables as `retention`.
    Run {
        /// The "now" the pass computes its cutoffs from (RFC 3339).
        #[arg(long, value_parser = parse_rfc3339)]
        now: Option<time::OffsetDateTime>,
    },
}

fn parse_rfc3339(value: &str) -> Result<time::OffsetDateTime, String> {
    time::OffsetDateTime::parse(value, &time::format_description::well_known::Rfc3339)
        .map_err(|e| format!("not an RFC 3339 timestamp: {e}"))
}

#[derive(Debug, Args)]
struct DatabaseArgs {
    #[arg(long, env = "SENTORI_DATABASE_URL", hide_env_values = true)]
    database_url: String,
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Seed(SeedCommand::Events(args)) => seed::events(args).await,
        Command::Seed(SeedCommand::Spans(args)) => seed::spans(args).await,
        Command::Migrate(args) => {
            let pool = sentori_store::connect_and_migrate(&args.database_url, &Default::default()).await?;
            let version: Option<i64> = sentori_store::sqlx::query_scalar("SELECT max(version) FROM _sqlx_migrations")
                .fetch_one(&pool)
                .await?;
            println!("database migrated (latest migration {})", version.unwrap_or_default());
            Ok(())
        }
        Command::Retention(RetentionCommand::Run { now }) => {
            let config = retention::RetentionConfig::from_env(sentori_config::Env::from_process())?;
            let service = retention::Retention::start(config).await?;
            let outcome = service.once(now.unwrap_or_else(time::OffsetDateTime::now_utc)).await?;
            println!("{}", outcome.to_json());
            Ok(())
        }
        Command::DeadLetter(command) => dead_letter::run(command).await,
    }
}
