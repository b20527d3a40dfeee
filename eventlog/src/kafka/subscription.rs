use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use async_trait::async_trait;
use futures::FutureExt;
use rdkafka::{
    ClientContext, Message, Offset, TopicPartitionList,
    consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance, StreamConsumer},
    message::{BorrowedMessage, Headers},
};

use crate::{
    ConsumedRecord, Header, LogError, Position, Record, Subscription,
    kafka::{KafkaConfig, unavailable},
};

const SESSION_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a member may hold no partition before it rejoins the group once.
const EMPTY_ASSIGNMENT_REJOIN: Duration = Duration::from_secs(12);

/// What the group last gave this member.
#[derive(Default)]
struct Assignment {
    partitions: usize,
    since: Option<Instant>,
    /// Rejoined since it last held a partition, so an idle member rejoins once, not forever.
    rejoined: bool,
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
                        assignment.rejoined = false;
                    }
                }
            }
            Rebalance::Error(e) => tracing::warn!(group = %self.group, error = %e, "rebalance error"),
        }
    }
}

impl GroupContext {
    /// True once per empty spell: a member left without partitions for longer than a session
    /// timeout. A coordinator that promotes a new leader after a crashed one expires, without
    /// starting a new generation (tansu 0.6 does), leaves it so for good; rejoining recovers it.
    /// On Kafka an idle member (more members than partitions) pays one extra rebalance.
    fn should_rejoin(&self) -> bool {
        let Ok(mut assignment) = self.assignment.lock() else { return false };
        let stale = assignment.since.is_some_and(|since| since.elapsed() > EMPTY_ASSIGNMENT_REJOIN);
        if assignment.partitions == 0 && stale && !assignment.rejoined {
            assignment.rejoined = true;
            assignment.since = None;
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

    fn record(&self, message: &BorrowedMessage<'_>) -> ConsumedRecord {
        let topic = message.topic();
        let headers = message
            .headers()
            .map(|hs| {
                hs.iter()
                    .map(|h| Header { name: h.key.to_owned(), value: h.value.map(<[u8]>::to_vec).unwrap_or_default() })
                    .collect()
            })
            .unwrap_or_default();
        ConsumedRecord {
            position: Position {
                topic: topic.strip_prefix(self.namespace.as_str()).unwrap_or(topic).to_owned(),
                partition: message.partition() as u32,
                offset: message.offset() as u64,
            },
            record: Record {
                key: message.key().map(<[u8]>::to_vec).unwrap_or_default(),
                value: message.payload().map(<[u8]>::to_vec).unwrap_or_default(),
                headers,
                timestamp_ms: message.timestamp().to_millis().unwrap_or(0),
            },
        }
    }
}

#[async_trait]
impl Subscription for KafkaSubscription {
    async fn poll(&mut self, max: usize, timeout: Duration) -> Result<Vec<ConsumedRecord>, LogError> {
        if self.consumer.context().should_rejoin() {
            tracing::warn!(group = %self.consumer.context().group, "no partitions for a whole session; rejoining the group");
            self.consumer.unsubscribe();
            let topics: Vec<&str> = self.topics.iter().map(String::as_str).collect();
            self.consumer.subscribe(&topics).map_err(unavailable)?;
        }
        let first = match tokio::time::timeout(timeout, self.consumer.recv()).await {
            Err(_elapsed) => return Ok(Vec::new()),
            Ok(Err(e)) => return Err(unavailable(e)),
            Ok(Ok(message)) => self.record(&message),
        };
        let mut batch = vec![first];
        // Take what is already buffered, without waiting for more.
        while batch.len() < max {
            match self.consumer.recv().now_or_never() {
                Some(Ok(message)) => batch.push(self.record(&message)),
                Some(Err(e)) => {
                    tracing::warn!(error = %e, "consumer error while draining a batch");
                    break;
                }
                None => break,
            }
        }
        Ok(batch)
    }

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
