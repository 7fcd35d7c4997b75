//! `sentori dead-letter list|replay`.

use std::time::Duration;

use anyhow::Context;
use clap::{Args, Subcommand};
use sentori_queue::{DeadLetters, Keys, Stream};

#[derive(Debug, Subcommand)]
pub enum DeadLetterCommand {
    /// Show the oldest dead entries of a stream (over its partitions, as
    /// `partition/id`) with their errors.
    List(Target),
    /// Move dead entries back onto their stream to be processed again.
    Replay(Target),
}

#[derive(Debug, Args)]
pub struct Target {
    /// events, spans, sessions, deploys or notify.
    #[arg(long, default_value = "events")]
    stream: String,
    #[arg(long, default_value_t = 100)]
    limit: usize,
    #[arg(long, env = "SENTORI_VALKEY_URL", hide_env_values = true)]
    valkey_url: String,
    #[arg(long, env = "SENTORI_VALKEY_NAMESPACE", default_value = "sentori")]
    namespace: String,
}

async fn open(target: &Target) -> anyhow::Result<(DeadLetters, Stream)> {
    let stream = Stream::from_name(&target.stream)
        .with_context(|| format!("unknown stream {:?}: use events, spans, sessions, deploys or notify", target.stream))?;
    let conn = sentori_queue::connect(&target.valkey_url, Duration::from_secs(10)).await.context("connecting to Valkey")?;
    Ok((DeadLetters::new(conn, Keys::new(target.namespace.clone())), stream))
}

pub async fn run(command: DeadLetterCommand) -> anyhow::Result<()> {
    match command {
        DeadLetterCommand::List(target) => {
            let (mut dead, stream) = open(&target).await?;
            let entries = dead.list(stream, target.limit).await?;
            if entries.is_empty() {
                println!("no dead entries in {}", stream.name());
            }
            for entry in entries {
                println!(
                    "{}/{}  original {}  deliveries {}  {} bytes  {}",
                    entry.partition,
                    entry.id,
                    entry.original_id.as_deref().unwrap_or("?"),
                    entry.deliveries.map_or("?".to_owned(), |d| d.to_string()),
                    entry.size_bytes,
                    entry.error.as_deref().unwrap_or("")
                );
            }
        }
        DeadLetterCommand::Replay(target) => {
            let (mut dead, stream) = open(&target).await?;
            let moved = dead.replay(stream, target.limit).await?;
            println!("replayed {moved} entries onto {}", stream.name());
        }
    }
    Ok(())
}
