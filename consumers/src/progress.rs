//! How far each projection has got, so a writer can wait until its own write is readable.
use std::{collections::HashMap, time::Duration};

use confab_eventlog::Position;
use tokio::sync::watch;

/// A projection's state as its runner reports it.
#[derive(Debug, Clone, Default)]
pub struct ProjectionStatus {
    /// (topic, partition) -> the next offset to apply: everything below it is in the read model.
    pub applied: HashMap<(String, u32), u64>,
    /// The runner is subscribed and its last store write succeeded.
    pub healthy: bool,
    pub last_error: Option<String>,
}

/// A read-only view of one projection's progress.
#[derive(Clone)]
pub struct ProjectionHandle {
    name: &'static str,
    status: watch::Receiver<ProjectionStatus>,
}

impl ProjectionHandle {
    pub(crate) fn new(name: &'static str, status: watch::Receiver<ProjectionStatus>) -> Self {
        Self { name, status }
    }

    pub fn name(&self) -> &'static str {
        self.name
    }

    pub fn status(&self) -> ProjectionStatus {
        self.status.borrow().clone()
    }

    /// Waits until the record at `position` is applied; false if `timeout` passed first.
    pub async fn wait_applied(&self, position: &Position, timeout: Duration) -> bool {
        let mut status = self.status.clone();
        let key = (position.topic.clone(), position.partition);
        let applied = status.wait_for(|s| {
            s.applied
                .get(&key)
                .is_some_and(|next| *next > position.offset)
        });
        matches!(tokio::time::timeout(timeout, applied).await, Ok(Ok(_)))
    }
}
