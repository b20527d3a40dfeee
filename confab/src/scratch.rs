//! Housekeeping of the embedded object store: what the lifecycle rule does for an S3 bucket.
//! Uploads never verified, and half-written ones, go after `SCRATCH_RETENTION_DAYS`.
use std::time::Duration;

use confab_objects::{SCRATCH_RETENTION_DAYS, embedded::EmbeddedObjects};
use confab_readmodels::upload_key;
use tokio_util::sync::CancellationToken;

const SWEEP_EVERY: Duration = Duration::from_secs(3600);

/// Sweeps at start-up and every hour until `shutdown`.
pub(crate) async fn sweep_scratch(objects: EmbeddedObjects, shutdown: CancellationToken) {
    let retention = Duration::from_secs(86_400 * u64::from(SCRATCH_RETENTION_DAYS));
    let mut every = tokio::time::interval(SWEEP_EVERY);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = every.tick() => {}
        }
        match objects.sweep(&upload_key(""), retention).await {
            Ok(0) => {}
            Ok(removed) => tracing::info!(removed, "removed stale uploads"),
            Err(error) => tracing::warn!(%error, "cannot sweep stale uploads"),
        }
    }
}
