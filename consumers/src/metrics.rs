//! What the consumers count: batches, how long applying them takes, dead letters, and each
//! group's place in the log (the applied offset and the lag behind each partition's end, the
//! figures Kafka operators watch first).
use std::{sync::Arc, time::Duration};

use confab_eventlog::EventLog;
use metrics::{Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::ProjectionStatus;

/// How often a running consumer reads the log's ends to report its lag.
const LAG_EVERY: Duration = Duration::from_secs(2);

/// Says what each metric is.
pub fn describe() {
    describe_histogram!("confab_consumer_batch_records", "records in each batch a consumer polled");
    describe_histogram!(
        "confab_projection_batch_seconds",
        Unit::Seconds,
        "time to apply a batch to a projection's store"
    );
    describe_counter!("confab_dead_letters_total", "records a consumer copied to the dead-letter topic");
    describe_gauge!("confab_consumer_offset", "the next offset a consumer group will apply, per partition");
    describe_gauge!("confab_consumer_lag", "records between a consumer group's applied offset and the partition's end");
}

/// A consumer of `projection` started: its dead letters count from zero.
pub(crate) fn started(projection: &'static str) {
    counter!("confab_dead_letters_total", "projection" => projection).increment(0);
}

/// A polled batch of `records` for `projection`.
pub(crate) fn batch_polled(projection: &'static str, records: usize) {
    histogram!("confab_consumer_batch_records", "projection" => projection).record(records as f64);
}

/// A batch applied to `projection`'s store in `took`.
pub(crate) fn batch_applied(projection: &'static str, took: Duration) {
    histogram!("confab_projection_batch_seconds", "projection" => projection).record(took.as_secs_f64());
}

/// A record `projection` could not decode or apply, copied to the dead-letter topic.
pub(crate) fn dead_lettered(projection: &'static str) {
    counter!("confab_dead_letters_total", "projection" => projection).increment(1);
}

/// Reports `group`'s applied offset and lag on every partition of `topics` every `LAG_EVERY`
/// until `shutdown`, from what the runner reports (from its committed offsets on).
pub(crate) async fn report_lag(
    log: Arc<dyn EventLog>,
    group: String,
    topics: Vec<&'static str>,
    status: watch::Receiver<ProjectionStatus>,
    shutdown: CancellationToken,
) {
    let mut every = tokio::time::interval(LAG_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = every.tick() => {}
        }
        for topic in &topics {
            let Ok(ends) = log.end_offsets(topic).await else { continue };
            let applied = status.borrow().applied.clone();
            for (partition, end) in (0u32..).zip(ends) {
                let key = ((*topic).to_owned(), partition);
                let next = applied.get(&key).copied().unwrap_or(0);
                let labels =
                    [("group", group.clone()), ("topic", (*topic).to_owned()), ("partition", partition.to_string())];
                gauge!("confab_consumer_offset", &labels).set(next as f64);
                gauge!("confab_consumer_lag", &labels).set(end.saturating_sub(next) as f64);
            }
        }
    }
}
