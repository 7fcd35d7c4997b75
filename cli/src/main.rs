//! `sentori`: the operator's command line.

use clap::Parser;

#[tokio::main]
async fn main() {
    let cli = sentori_cli::Cli::parse();
    if let Err(err) = sentori_cli::run(cli).await {
        eprintln!("sentori: {err:#}");
        std::process::exit(1);
    }
}
