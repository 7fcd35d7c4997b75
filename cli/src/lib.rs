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
        Command::DeadLetter(command) => dead_letter::run(command).await,
    }
}
