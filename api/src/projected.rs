//! Read-your-writes for the use cases: a write waits for the projections that read its topic,
//! running in this process or followed through their checkpoints.
use std::time::Duration;

use async_trait::async_trait;
use confab_consumers::{ProjectionHandle, catalog};
use confab_eventlog::Position;
use confab_producers::Projected;
use confab_schemas::Topic;

pub struct ProjectionWaits {
    /// Each projection with the topics it reads, looked up in the catalog once.
    handles: Vec<(&'static [Topic], ProjectionHandle)>,
    /// How long a write waits before answering anyway.
    timeout: Duration,
}

impl ProjectionWaits {
    pub fn new(handles: Vec<ProjectionHandle>, timeout: Duration) -> Self {
        let handles = handles
            .into_iter()
            .filter_map(|handle| Some((catalog::projection(handle.name())?.topics, handle)))
            .collect();
        Self { handles, timeout }
    }

    /// Writes to `topics` wait for `handle` too: a follower outside the catalog (the
    /// revocations).
    pub fn also_waiting_for(mut self, topics: &'static [Topic], handle: ProjectionHandle) -> Self {
        self.handles.push((topics, handle));
        self
    }

    fn reading(&self, topic: &str) -> impl Iterator<Item = &ProjectionHandle> {
        self.handles
            .iter()
            .filter(move |(topics, _)| topics.iter().any(|t| t.name() == topic))
            .map(|(_, handle)| handle)
    }
}

#[async_trait]
impl Projected for ProjectionWaits {
    async fn wait(&self, position: &Position) -> bool {
        let mut applied = true;
        for handle in self.reading(&position.topic) {
            applied &= handle.wait_applied(position, self.timeout).await;
        }
        applied
    }
}
