//! `confab serve`: the HTTP API and every consumer in one process (any backend).
use std::sync::Arc;

use confab_consumers::catalog::PROJECTIONS;
use confab_readmodels::LiveReadModels;
use confab_schemas::Codec;
use tokio_util::sync::CancellationToken;

use super::{
    catch_up,
    http::{ServeArgs, run_http},
    start_analytics,
};
use crate::{
    backend::connect,
    workers::{self, Workers},
};

pub(crate) async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let backend = connect(&args.backend).await?;
    let codec = Arc::new(Codec::new()?);
    let shutdown = CancellationToken::new();
    let (workers, projections) = Workers::start(&backend, &codec, &PROJECTIONS);
    let (analytics, analytics_worker) = start_analytics(&backend, &codec, &shutdown)?;
    let live = LiveReadModels::new(backend.read_models.clone());
    let follower = workers::follow(&args.backend, &live, Some(&workers), &shutdown);
    catch_up::replayed(backend.log.as_ref(), &projections, backend.generation()).await;
    let result = run_http(&args, backend, live, codec, projections, vec![analytics], true).await;
    shutdown.cancel();
    follower.await?;
    analytics_worker.await?;
    workers.stop().await;
    tracing::info!("confab stopped");
    result
}
