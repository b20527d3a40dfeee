//! Before a process serves, its projections replay what the log holds past their committed
//! offsets. On the embedded backend a crash rolls the read models back to their last flush, and
//! the first read after a restart must not miss a write that was answered before the crash.
use std::time::Duration;

use confab_consumers::{ProjectionHandle, catalog};
use confab_eventlog::{EventLog, Position};

/// How long a start waits for its projections; past it, it serves anyway (and says so), since
/// a stuck projection is what `/readyz` reports.
const CATCH_UP_TIMEOUT: Duration = Duration::from_secs(30);

/// Waits until each projection of `handles` has applied every record the log held past its
/// group's committed offsets when this was called.
pub(crate) async fn replayed(log: &dyn EventLog, handles: &[ProjectionHandle], generation: u32) {
    for handle in handles {
        let Some(spec) = catalog::projection(handle.name()) else { continue };
        let topics: Vec<&str> = spec.topics.iter().map(|t| t.name()).collect();
        let committed = match log.committed_offsets(&spec.group(generation), &topics).await {
            Ok(committed) => committed,
            Err(error) => {
                tracing::warn!(projection = spec.name, %error, "cannot read committed offsets; not waiting for replay");
                continue;
            }
        };
        for topic in &topics {
            let Ok(ends) = log.end_offsets(topic).await else { continue };
            for (partition, end) in ends.into_iter().enumerate() {
                let partition = partition as u32;
                let from = committed
                    .iter()
                    .find(|(t, p, _)| t == topic && *p == partition)
                    .and_then(|(_, _, next)| *next)
                    .unwrap_or(0);
                if end <= from {
                    continue;
                }
                let last = Position { topic: (*topic).to_owned(), partition, offset: end - 1 };
                if !handle.wait_applied(&last, CATCH_UP_TIMEOUT).await {
                    tracing::warn!(
                        projection = spec.name,
                        topic,
                        partition,
                        "projection still replaying; serving anyway"
                    );
                }
            }
        }
    }
}
