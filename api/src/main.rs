//! `confab`: the one binary that plays every role.

mod analytics;
mod auth;
mod backend;
mod cli;
mod commands;
mod crypto;
mod current;
mod error;
mod extract;
mod generations;
mod live;
mod node;
mod offsets;
mod replay;
mod routes;
mod scratch;
mod secrets;
mod state;
mod tail;
mod time;
mod workers;

use clap::Parser;
use tracing_subscriber::EnvFilter;

pub(crate) use error::ApiError;
pub(crate) use state::AppState;

use crate::cli::{AnalyticsCommand, Cli, Command, EventsCommand, OffsetsCommand};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Serve(args) => node::serve(args).await,
        Command::Api(args) => node::api(args).await,
        Command::Consume(args) => node::consume(args).await,
        Command::Events(args) => match args.command {
            EventsCommand::Tail(args) => tail::tail(args).await,
        },
        Command::Analytics(args) => match args.command {
            Some(AnalyticsCommand::Report(report)) => analytics::report(report).await,
            None => node::analytics(args.run).await,
        },
        Command::Offsets(args) => match args.command {
            OffsetsCommand::Reset(args) => offsets::reset(args).await,
            OffsetsCommand::Show(args) => offsets::show(args).await,
        },
        Command::Replay(args) => replay::replay(args).await,
        Command::Rebuild(args) => commands::rebuild(args).await,
        Command::DumpTables(args) => commands::dump_tables(args).await,
        Command::Generations(args) => generations::command(args.command).await,
    }
}
