//! How far each projection has got, so a writer can wait until its own write is readable.
use std::{collections::HashMap, sync::Arc, time::Duration};

use confab_eventlog::Position;
use tokio::{sync::watch, time::Instant};

use confab_readmodels::CheckpointStore;

/// A projection's state as its runner reports it.
#[derive(Debug, Clone, Default)]
pub struct ProjectionStatus {
    /// (topic, partition) -> the next offset to apply: everything below it is in the read model.
    pub applied: HashMap<(String, u32), u64>,
    /// The runner is subscribed and its last store write succeeded.
    pub healthy: bool,
    pub last_error: Option<String>,
}

#[derive(Clone)]
enum Source {
    /// The runner is in this process and reports every batch.
    Local(watch::Receiver<ProjectionStatus>),
    /// The runner is another process; its checkpoints are read from the store.
    Remote(Arc<dyn CheckpointStore>),
}

/// A read-only view of one projection's progress.
#[derive(Clone)]
pub struct ProjectionHandle {
    name: &'static str,
    source: Source,
}

impl ProjectionHandle {
    pub(crate) fn local(name: &'static str, status: watch::Receiver<ProjectionStatus>) -> Self {
        Self { name, source: Source::Local(status) }
    }

    /// A status channel for the runners of projection `name`, one after another, and a handle
    /// that follows whichever is running.
    pub fn channel(name: &'static str) -> (Arc<watch::Sender<ProjectionStatus>>, Self) {
        let (status, watcher) = watch::channel(ProjectionStatus::default());
        (Arc::new(status), Self::local(name, watcher))
    }

    /// Follows a projection that runs in another process through its checkpoints.
    pub fn remote(name: &'static str, checkpoints: Arc<dyn CheckpointStore>) -> Self {
        Self { name, source: Source::Remote(checkpoints) }
    }

    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Whether the projection can be followed: a local runner reports itself healthy; a remote
    /// one's checkpoints can be read (its worker process answers for the rest).
    pub async fn check(&self) -> Result<(), String> {
        match &self.source {
            Source::Local(status) => {
                let status = status.borrow().clone();
                if status.healthy { Ok(()) } else { Err(status.last_error.unwrap_or_else(|| "not running".into())) }
            }
            Source::Remote(checkpoints) => {
                checkpoints.checkpoint(self.name).await.map(drop).map_err(|e| format!("cannot read checkpoints: {e}"))
            }
        }
    }

    /// (topic, partition) -> next offset, for a runner in this process: how far it has got, from
    /// its group's committed offsets when it started.
    pub fn applied(&self) -> Option<HashMap<(String, u32), u64>> {
        match &self.source {
            Source::Local(status) => Some(status.borrow().applied.clone()),
            Source::Remote(_) => None,
        }
    }

    /// Waits until the record at `position` is applied; false if `timeout` passed first.
    pub async fn wait_applied(&self, position: &Position, timeout: Duration) -> bool {
        let key = (position.topic.clone(), position.partition);
        match &self.source {
            Source::Local(status) => {
                let mut status = status.clone();
                let applied = status.wait_for(|s| s.applied.get(&key).is_some_and(|next| *next > position.offset));
                matches!(tokio::time::timeout(timeout, applied).await, Ok(Ok(_)))
            }
            Source::Remote(checkpoints) => {
                let deadline = Instant::now() + timeout;
                let mut delay = Duration::from_millis(2);
                loop {
                    match checkpoints.checkpoint(self.name).await {
                        Ok(applied) if applied.get(&key).is_some_and(|next| *next > position.offset) => {
                            return true;
                        }
                        Ok(_) => {}
                        Err(error) => {
                            tracing::warn!(projection = self.name, %error, "cannot read checkpoint")
                        }
                    }
                    if Instant::now() + delay > deadline {
                        return false;
                    }
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_millis(50));
                }
            }
        }
    }
}
