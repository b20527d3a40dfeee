use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use async_trait::async_trait;
use rdkafka::{
    ClientContext, Offset, TopicPartitionList,
    consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance, StreamConsumer},
};

use crate::{
    ConsumedRecord, LogError, LogReader, Position, Subscription,
    kafka::{KafkaConfig, fetch, unavailable},
};

const SESSION_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a member may hold no partition before it first rejoins the group.
const EMPTY_ASSIGNMENT_REJOIN: Duration = Duration::from_secs(12);
/// The longest wait between rejoins of a member that keeps getting nothing.
const EMPTY_ASSIGNMENT_REJOIN_MAX: Duration = Duration::from_secs(300);

/// What the group last gave this member.
#[derive(Default)]
struct Assignment {
    partitions: usize,
    since: Option<Instant>,
    /// Rejoins since it last held a partition: each waits twice as long as the one before, so
    /// a member that is idle by design (more members than partitions) costs the group a
    /// rebalance only every few minutes.
    rejoins: u32,
}

impl Assignment {
    fn rejoin_after(&self) -> Duration {
        EMPTY_ASSIGNMENT_REJOIN.saturating_mul(1 << self.rejoins.min(8)).min(EMPTY_ASSIGNMENT_REJOIN_MAX)
    }
}

/// Tracks rebalances. Offsets are committed synchronously right after each applied batch, so at
/// a revocation there is nothing applied and uncommitted to flush; a batch still being applied is
/// redelivered to the partition's next owner, which is safe because projections are idempotent.
struct GroupContext {
    group: String,
    assignment: Mutex<Assignment>,
}

impl ClientContext for GroupContext {}

impl ConsumerContext for GroupContext {
    fn pre_rebalance(&self, _: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Revoke(tpl) => {
                tracing::info!(group = %self.group, partitions = tpl.count(), "partitions revoked")
            }
            Rebalance::Assign(tpl) => {
                tracing::info!(group = %self.group, partitions = tpl.count(), "partitions assigned");
                if let Ok(mut assignment) = self.assignment.lock() {
                    assignment.partitions = tpl.count();
                    assignment.since = Some(Instant::now());
                    if tpl.count() > 0 {
                        assignment.rejoins = 0;
                    }
                }
            }
            Rebalance::Error(e) => tracing::warn!(group = %self.group, error = %e, "rebalance error"),
        }
    }
}

impl GroupContext {
    /// True when a member has held no partition for longer than a session timeout (then twice
    /// that, and so on). A coordinator that promotes a new leader after a crashed one expires,
    /// without starting a new generation (tansu 0.6 does), leaves it so for good; rejoining
    /// recovers it, though on a busy machine the rejoin can race the expiry and need another.
    fn should_rejoin(&self) -> bool {
        let Ok(mut assignment) = self.assignment.lock() else { return false };
        let wait = assignment.rejoin_after();
        let stale = assignment.since.is_some_and(|since| since.elapsed() > wait);
        if assignment.partitions == 0 && stale {
            assignment.rejoins += 1;
            // Counted from now, so a rejoin that never hears an assignment is tried again too.
            assignment.since = Some(Instant::now());
            return true;
        }
        false
    }
}

pub(crate) struct KafkaSubscription {
    consumer: Arc<StreamConsumer<GroupContext>>,
    namespace: String,
    topics: Vec<String>,
}

impl KafkaSubscription {
    pub(crate) fn join(config: &KafkaConfig, group: &str, topics: &[&str]) -> Result<Self, LogError> {
        let group = config.group(group);
        let consumer: StreamConsumer<GroupContext> = config
            .client()
            .set("group.id", &group)
            .set("enable.auto.commit", "false")
            .set("auto.offset.reset", "earliest")
            // A crashed member's partitions move on after this long. The rebalance timeout (the
            // poll interval) is bounded too: some coordinators wait that long for a dead member.
            .set("session.timeout.ms", SESSION_TIMEOUT.as_millis().to_string())
            .set("heartbeat.interval.ms", "1000")
            .set("max.poll.interval.ms", "20000")
            // A sender waits for its projection, so a fetch must not sit on new records. Kafka
            // answers a fetch as soon as data arrives; tansu holds it for the whole wait.
            .set("fetch.wait.max.ms", "10")
            .create_with_context(GroupContext { group: group.clone(), assignment: Mutex::default() })
            .map_err(unavailable)?;
        let names: Vec<String> = topics.iter().map(|t| config.topic(t)).collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        consumer.subscribe(&refs).map_err(unavailable)?;
        Ok(Self { consumer: Arc::new(consumer), namespace: config.namespace.clone(), topics: names })
    }
}

#[async_trait]
impl LogReader for KafkaSubscription {
    async fn poll(&mut self, max: usize, timeout: Duration) -> Result<Vec<ConsumedRecord>, LogError> {
        if self.consumer.context().should_rejoin() {
            tracing::warn!(group = %self.consumer.context().group, "no partitions for a whole session; rejoining the group");
            self.consumer.unsubscribe();
            let topics: Vec<&str> = self.topics.iter().map(String::as_str).collect();
            self.consumer.subscribe(&topics).map_err(unavailable)?;
        }
        fetch::next_batch(&self.consumer, &self.namespace, max, timeout).await
    }
}

#[async_trait]
impl Subscription for KafkaSubscription {
    async fn commit(&mut self, processed: &[Position]) -> Result<(), LogError> {
        let mut next: HashMap<(String, i32), i64> = HashMap::new();
        for p in processed {
            let end = next.entry((format!("{}{}", self.namespace, p.topic), p.partition as i32)).or_insert(0);
            *end = (*end).max(p.offset as i64 + 1);
        }
        let mut offsets = TopicPartitionList::new();
        for ((topic, partition), offset) in next {
            offsets.add_partition_offset(&topic, partition, Offset::Offset(offset)).map_err(unavailable)?;
        }
        if offsets.count() == 0 {
            return Ok(());
        }
        let consumer = Arc::clone(&self.consumer);
        tokio::task::spawn_blocking(move || consumer.commit(&offsets, CommitMode::Sync))
            .await
            .map_err(unavailable)?
            .map_err(unavailable)
    }
}
