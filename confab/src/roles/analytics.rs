//! `confab analytics`: the analytics consumer alone (Kafka backend), or `report`.
use std::{net::SocketAddr, sync::Arc};

use anyhow::bail;
use clap::{Args, Subcommand};
use confab_schemas::Codec;
use tokio_util::sync::CancellationToken;

use super::{serve_health_until_signal, start_analytics};
use crate::{args::BackendArgs, backend::connect, commands::analytics_report::ReportArgs};

#[derive(Debug, Clone, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub(crate) struct AnalyticsArgs {
    #[command(subcommand)]
    pub(crate) command: Option<AnalyticsCommand>,
    #[command(flatten)]
    pub(crate) run: AnalyticsRunArgs,
}

#[derive(Debug, Clone, Subcommand)]
pub(crate) enum AnalyticsCommand {
    /// Prints the analytics numbers as JSON.
    Report(ReportArgs),
}

#[derive(Debug, Clone, Args)]
pub(crate) struct AnalyticsRunArgs {
    #[command(flatten)]
    pub(crate) backend: BackendArgs,
    /// Serve `/healthz` and `/readyz` for the consumer on this address.
    #[arg(long, env = "CONFAB_HEALTH_LISTEN")]
    pub(crate) health_listen: Option<SocketAddr>,
}

impl AnalyticsArgs {
    pub(crate) async fn run(self) -> anyhow::Result<()> {
        match self.command {
            Some(AnalyticsCommand::Report(report)) => report.run().await,
            None => run(self.run).await,
        }
    }
}

async fn run(args: AnalyticsRunArgs) -> anyhow::Result<()> {
    let backend = connect(&args.backend).await?;
    if backend.is_embedded() {
        bail!("the embedded backend runs in one process: `confab serve` runs the analytics consumer");
    }
    let codec = Arc::new(Codec::new()?);
    let shutdown = CancellationToken::new();
    let (handle, worker) = start_analytics(&backend, &codec, &shutdown)?;
    tracing::info!("confab analytics consuming");
    serve_health_until_signal(&backend, vec![handle], None, args.health_listen).await?;
    shutdown.cancel();
    worker.await?;
    tracing::info!("confab stopped");
    Ok(())
}
