//! `confab consume`: projection workers only (Kafka backend).
use std::{net::SocketAddr, sync::Arc};

use anyhow::bail;
use clap::Args;
use confab_consumers::catalog::{self, PROJECTIONS, ProjectionSpec};
use confab_readmodels::LiveReadModels;
use confab_schemas::Codec;
use tokio_util::sync::CancellationToken;

use super::serve_health_until_signal;
use crate::{
    args::BackendArgs,
    backend::connect,
    workers::{self, Workers},
};

#[derive(Debug, Clone, Args)]
pub(crate) struct ConsumeArgs {
    #[command(flatten)]
    pub(crate) backend: BackendArgs,
    /// The projections to run; all when none are named.
    #[arg(value_parser = catalog::parse_projection)]
    pub(crate) projections: Vec<&'static ProjectionSpec>,
    /// Serve `/healthz` and `/readyz` for the workers on this address.
    #[arg(long, env = "CONFAB_HEALTH_LISTEN")]
    pub(crate) health_listen: Option<SocketAddr>,
}

impl ConsumeArgs {
    pub(crate) async fn run(self) -> anyhow::Result<()> {
        let backend = connect(&self.backend).await?;
        if backend.is_embedded() {
            bail!("the embedded backend runs in one process: use `confab serve`");
        }
        let specs = if self.projections.is_empty() { PROJECTIONS.to_vec() } else { self.projections.clone() };
        let codec = Arc::new(Codec::new()?);
        let shutdown = CancellationToken::new();
        let (workers, handles) = Workers::start(&backend, &codec, &specs);
        let live = LiveReadModels::new(backend.read_models.clone());
        let follower = workers::follow(&self.backend, &live, Some(&workers), &shutdown);
        tracing::info!(projections = ?specs, "confab consuming");
        serve_health_until_signal(&backend, handles, Some(live), self.health_listen).await?;
        shutdown.cancel();
        follower.await?;
        workers.stop().await;
        tracing::info!("confab stopped");
        Ok(())
    }
}
