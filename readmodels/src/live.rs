//! The live generation of read models, so that a process can move to another generation (after
//! a blue/green `confab replay`) without a restart. A request takes one snapshot
//! ([`LiveReadModels::now`]) and reads it throughout, so it never mixes two generations.
use std::{
    collections::HashMap,
    sync::{Arc, RwLock},
};

use async_trait::async_trait;

use crate::{CheckpointStore, ReadModels, StoreError};

/// Cheap to clone; every clone sees a switch.
#[derive(Clone)]
pub struct LiveReadModels {
    current: Arc<RwLock<Arc<ReadModels>>>,
}

impl LiveReadModels {
    pub fn new(read_models: ReadModels) -> Self {
        Self { current: Arc::new(RwLock::new(Arc::new(read_models))) }
    }

    /// The read models every call goes to now.
    pub fn now(&self) -> Arc<ReadModels> {
        match self.current.read() {
            Ok(current) => Arc::clone(&current),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    pub fn generation(&self) -> u32 {
        self.now().generation()
    }

    /// Makes `read_models` the ones every call goes to from now on.
    pub fn switch(&self, read_models: ReadModels) {
        let next = Arc::new(read_models);
        match self.current.write() {
            Ok(mut current) => *current = next,
            Err(poisoned) => *poisoned.into_inner() = next,
        }
    }
}

/// Checkpoints are a generation's too: an API process waiting for its write reads the live one's.
#[async_trait]
impl CheckpointStore for LiveReadModels {
    async fn save_checkpoint(&self, projection: &str, next_offsets: &[(String, u32, u64)]) -> Result<(), StoreError> {
        match &self.now().checkpoints {
            Some(checkpoints) => checkpoints.save_checkpoint(projection, next_offsets).await,
            None => Ok(()),
        }
    }

    async fn checkpoint(&self, projection: &str) -> Result<HashMap<(String, u32), u64>, StoreError> {
        match &self.now().checkpoints {
            Some(checkpoints) => checkpoints.checkpoint(projection).await,
            None => Ok(HashMap::new()),
        }
    }
}
