//! `confab api`: the HTTP API only; projections run in `confab consume` processes (Kafka
//! backend), and writes wait for their checkpoints.
use std::sync::Arc;

use anyhow::bail;
use confab_consumers::{ProjectionHandle, catalog::PROJECTIONS};
use confab_readmodels::{CheckpointStore, LiveReadModels};
use confab_schemas::Codec;
use tokio_util::sync::CancellationToken;

use super::http::{ServeArgs, run_http};
use crate::{backend::connect, workers};

/// The projections other processes run, followed through the live generation's checkpoints
/// (whichever generation that is when a write waits).
pub(crate) fn remote_projections(live: &LiveReadModels) -> Vec<ProjectionHandle> {
    let checkpoints: Arc<dyn CheckpointStore> = Arc::new(live.clone());
    PROJECTIONS.iter().map(|spec| ProjectionHandle::remote(spec.name, Arc::clone(&checkpoints))).collect()
}

pub(crate) async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let backend = connect(&args.backend).await?;
    if backend.is_embedded() {
        bail!("the embedded backend runs in one process: use `confab serve`");
    }
    let live = LiveReadModels::new(backend.read_models.clone());
    let projections = remote_projections(&live);
    let codec = Arc::new(Codec::new()?);
    let shutdown = CancellationToken::new();
    let follower = workers::follow(&args.backend, &live, None, &shutdown);
    let result = run_http(&args, backend, live, codec, projections, Vec::new(), false).await;
    shutdown.cancel();
    follower.await?;
    result
}
