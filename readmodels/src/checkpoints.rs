//! Projection checkpoints, kept beside the read models they describe.
use std::collections::HashMap;

use async_trait::async_trait;

use crate::StoreError;

/// How far each projection has applied the log, kept beside its read models so that an API
/// process without the projection in it can still wait for its own writes.
#[async_trait]
pub trait CheckpointStore: Send + Sync + 'static {
    /// Raises the projection's next-offset for each (topic, partition); never lowers it.
    async fn save_checkpoint(&self, projection: &str, next_offsets: &[(String, u32, u64)]) -> Result<(), StoreError>;

    /// (topic, partition) -> next offset to apply.
    async fn checkpoint(&self, projection: &str) -> Result<HashMap<(String, u32), u64>, StoreError>;
}
