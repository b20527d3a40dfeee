use std::time::Duration;

use async_trait::async_trait;

use crate::{Claim, ClaimedAppend, ConsumedRecord, LogError, Position, Record};

/// A topic and how many partitions it has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicSpec {
    pub name: String,
    pub partitions: u32,
    /// How long records are kept; None: forever (the stream is the source of truth).
    pub retention_ms: Option<u64>,
}

/// The durable, partitioned, append-only event log.
#[async_trait]
pub trait EventLog: Send + Sync + 'static {
    /// Creates the topics that do not exist yet; existing ones are left as they are.
    async fn ensure_topics(&self, topics: &[TopicSpec]) -> Result<(), LogError>;

    /// Appends a record to the partition its key hashes to (murmur2, as Kafka's default
    /// partitioner). Returns only once the record is durable.
    async fn append(&self, topic: &str, record: Record) -> Result<Position, LogError>;

    /// Appends a record only if `claim` is free, atomically with taking the claim.
    async fn append_claimed(&self, topic: &str, claim: Claim, record: Record) -> Result<ClaimedAppend, LogError>;

    /// The value held by a claim, if any.
    async fn claim_value(&self, scope: &str, key: &str) -> Result<Option<Vec<u8>>, LogError>;

    /// The offset the next record of each partition will get (Kafka's high watermark).
    async fn end_offsets(&self, topic: &str) -> Result<Vec<u64>, LogError>;

    /// Joins consumer group `group` on `topics`, resuming from its committed offsets (from the
    /// start of each partition when it has none).
    async fn subscribe(&self, group: &str, topics: &[&str]) -> Result<Box<dyn Subscription>, LogError>;

    /// Reads every partition of each topic from the offsets given, outside any consumer group:
    /// it starts at once, owns every partition, and commits nothing. How a process follows the
    /// log from "now" (the notifier) or reads it whole (replays).
    async fn read_from(&self, starts: &[ReadStart]) -> Result<Box<dyn LogReader>, LogError>;

    /// Where `to` falls in each partition of `topic`, as the next offset to read there; no
    /// consumer group is touched. How a reader starts from a time (the revocations).
    async fn offsets_at(&self, topic: &str, to: OffsetTarget) -> Result<Vec<u64>, LogError>;

    /// Sets consumer group `group`'s committed offsets on every partition of `topics` to `to`,
    /// and returns them as (topic, partition, next offset). Stop the group's consumers first: a
    /// running member commits over it (Kafka refuses it while the group has members).
    async fn reset_offsets(
        &self,
        group: &str,
        topics: &[&str],
        to: OffsetTarget,
    ) -> Result<Vec<(String, u32, u64)>, LogError>;

    /// Sets `group`'s committed offsets to exactly `next_offsets` (topic, partition, next
    /// offset): how a replay hands its place in the log to the group that carries on from it.
    async fn set_offsets(&self, group: &str, next_offsets: &[(String, u32, u64)]) -> Result<(), LogError>;

    /// `group`'s committed offsets on every partition of `topics`, as (topic, partition, next
    /// offset), `None` where it has committed nothing.
    async fn committed_offsets(&self, group: &str, topics: &[&str]) -> Result<Vec<CommittedOffset>, LogError>;

    /// Forgets consumer group `group` and every offset it committed; a group that does not
    /// exist is not an error. Stop its consumers first (Kafka refuses a group with members).
    async fn delete_group(&self, group: &str) -> Result<(), LogError>;
}

/// Where a consumer group stands in one partition: the next offset it will read, if any.
pub type CommittedOffset = (String, u32, Option<u64>);

/// Where [`EventLog::reset_offsets`] moves a consumer group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffsetTarget {
    /// The first record each partition holds (the log deletes nothing: offset 0).
    Earliest,
    /// After the last record: only what is appended from now on.
    Latest,
    /// The first record stamped at or after this time (ms since the epoch); the end if none.
    Timestamp(i64),
}

/// Where a [`EventLog::read_from`] reader starts in one topic: an offset per partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadStart {
    pub topic: String,
    pub offsets: Vec<u64>,
}

/// Polls records in partition order.
#[async_trait]
pub trait LogReader: Send {
    /// Up to `max` records in partition order, waiting at most `timeout` when there are none.
    async fn poll(&mut self, max: usize, timeout: Duration) -> Result<Vec<ConsumedRecord>, LogError>;
}

/// A consumer group member's view of its partitions. Delivery is at least once: what was polled
/// but not committed is polled again after a restart.
#[async_trait]
pub trait Subscription: LogReader {
    /// Marks everything up to and including these positions as processed by the group.
    async fn commit(&mut self, processed: &[Position]) -> Result<(), LogError>;
}
