//! The Kafka adapter (rdkafka). One idempotent producer per process (acks=all, murmur2
//! partitioner, short linger so concurrent sends batch); one consumer per group member, committing
//! offsets only when told to, after the caller's write succeeded.

mod claims;
mod config;
mod fetch;
mod offsets;
mod reader;
mod subscription;

use std::{
    sync::{Arc, RwLock},
    time::Duration,
};

use async_trait::async_trait;
use rdkafka::{
    admin::{AdminClient, AdminOptions, NewTopic, TopicReplication},
    client::DefaultClientContext,
    consumer::{BaseConsumer, Consumer},
    error::{KafkaError, RDKafkaErrorCode},
    message::{Header as KafkaHeader, OwnedHeaders},
    producer::{FutureProducer, FutureRecord},
};

pub use config::{KafkaConfig, check_option};

use crate::{
    Claim, ClaimStore, ClaimedAppend, CommittedOffset, EventLog, LogError, LogReader, OffsetTarget, Position,
    ReadStart, Record, Subscription, TopicSpec,
    kafka::{reader::KafkaReader, subscription::KafkaSubscription},
};

/// The event log on a Kafka cluster, with claims kept in a [`ClaimStore`].
pub struct KafkaLog {
    config: KafkaConfig,
    /// Replaced after a failed produce: see [`KafkaLog::replace_producer`].
    producer: RwLock<Arc<FutureProducer>>,
    metadata: Arc<BaseConsumer>,
    admin: AdminClient<DefaultClientContext>,
    claims: Arc<dyn ClaimStore>,
}

pub(crate) fn unavailable(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> LogError {
    LogError::Unavailable(crate::cause(e))
}

impl KafkaLog {
    pub fn connect(config: KafkaConfig, claims: Arc<dyn ClaimStore>) -> Result<Self, LogError> {
        let producer = RwLock::new(Arc::new(new_producer(&config)?));
        let metadata: BaseConsumer = config.client().create().map_err(unavailable)?;
        let admin = config.client().create().map_err(unavailable)?;
        Ok(Self { config, producer, metadata: Arc::new(metadata), admin, claims })
    }

    fn producer(&self) -> Arc<FutureProducer> {
        match self.producer.read() {
            Ok(producer) => Arc::clone(&producer),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// After a failed produce, librdkafka's idempotent producer would bump its epoch and carry
    /// on; brokers that do not follow (tansu does not) then reject or choke on its batches. A
    /// fresh producer with a fresh producer id sidesteps that. The failed send already answered
    /// 503, so nothing is lost; the old producer is dropped off the async workers.
    fn replace_producer(&self, failed: &Arc<FutureProducer>) {
        let Ok(mut current) = self.producer.write() else { return };
        if !Arc::ptr_eq(&current, failed) {
            return; // another send already replaced it
        }
        match new_producer(&self.config) {
            Ok(fresh) => {
                let old = std::mem::replace(&mut *current, Arc::new(fresh));
                drop(tokio::task::spawn_blocking(move || drop(old)));
                tracing::warn!("replaced the kafka producer after a failed send");
            }
            Err(error) => tracing::error!(%error, "cannot create a new kafka producer"),
        }
    }

    fn now_ms() -> i64 {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
    }
}

fn new_producer(config: &KafkaConfig) -> Result<FutureProducer, LogError> {
    config
        .client()
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("linger.ms", "5")
        // Java's default partitioner: murmur2 of the key, so every client agrees on placement.
        .set("partitioner", "murmur2_random")
        .set("message.timeout.ms", config.timeout.as_millis().to_string())
        .create()
        .map_err(unavailable)
}

#[async_trait]
impl EventLog for KafkaLog {
    async fn ensure_topics(&self, topics: &[TopicSpec]) -> Result<(), LogError> {
        let names: Vec<String> = topics.iter().map(|t| self.config.topic(&t.name)).collect();
        // The stream is the source of truth: never deleted nor compacted away. Only topics of
        // short-lived notes (signals) say how long they last.
        let retentions: Vec<String> =
            topics.iter().map(|t| t.retention_ms.map_or_else(|| "-1".to_owned(), |ms| ms.to_string())).collect();
        let new_topics: Vec<NewTopic<'_>> = topics
            .iter()
            .zip(&names)
            .zip(&retentions)
            .map(|((spec, name), retention)| {
                NewTopic::new(name, spec.partitions as i32, TopicReplication::Fixed(self.config.replication_factor))
                    .set("retention.ms", retention)
                    .set("cleanup.policy", "delete")
            })
            .collect();
        let options = AdminOptions::new().operation_timeout(Some(self.config.timeout));
        let results = self.admin.create_topics(&new_topics, &options).await.map_err(unavailable)?;
        for result in results {
            match result {
                Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
                Err((topic, code)) => {
                    return Err(LogError::Unavailable(crate::cause(format!("cannot create {topic}: {code}"))));
                }
            }
        }
        Ok(())
    }

    async fn append(&self, topic: &str, record: Record) -> Result<Position, LogError> {
        let name = self.config.topic(topic);
        let mut headers = OwnedHeaders::new_with_capacity(record.headers.len());
        for h in &record.headers {
            headers = headers.insert(KafkaHeader { key: &h.name, value: Some(&h.value) });
        }
        let message = FutureRecord::to(&name)
            .key(&record.key)
            .payload(&record.value)
            .headers(headers)
            .timestamp(record.timestamp_ms);
        let producer = self.producer();
        let sent = producer.send(message, self.config.timeout).await;
        if sent.is_err() {
            self.replace_producer(&producer);
        }
        match sent {
            Ok(delivery) => Ok(Position {
                topic: topic.to_owned(),
                partition: delivery.partition as u32,
                offset: delivery.offset as u64,
            }),
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::UnknownTopicOrPartition), _)) => {
                Err(LogError::UnknownTopic(topic.to_owned()))
            }
            // librdkafka's "possibly persisted": the request may have reached the broker.
            Err((e @ KafkaError::MessageProduction(RDKafkaErrorCode::MessageTimedOut), _)) => {
                Err(LogError::Ambiguous(crate::cause(e)))
            }
            Err((e, _)) => Err(unavailable(e)),
        }
    }

    async fn append_claimed(&self, topic: &str, claim: Claim, record: Record) -> Result<ClaimedAppend, LogError> {
        claims::append_claimed(self, topic, claim, record, Self::now_ms()).await
    }

    async fn claim_value(&self, scope: &str, key: &str) -> Result<Option<Vec<u8>>, LogError> {
        Ok(self.claims.get(scope, key).await?.map(|held| held.value))
    }

    async fn end_offsets(&self, topic: &str) -> Result<Vec<u64>, LogError> {
        let (metadata, name, timeout) = (Arc::clone(&self.metadata), self.config.topic(topic), self.config.timeout);
        let topic = topic.to_owned();
        tokio::task::spawn_blocking(move || {
            let meta = metadata.fetch_metadata(Some(&name), timeout).map_err(unavailable)?;
            let partitions = meta
                .topics()
                .iter()
                .find(|t| t.name() == name && t.error().is_none())
                .map(|t| t.partitions().len())
                .filter(|n| *n > 0)
                .ok_or_else(|| LogError::UnknownTopic(topic.clone()))?;
            (0..partitions as i32).map(|p| high_watermark(&metadata, &name, p, timeout)).collect()
        })
        .await
        .map_err(unavailable)?
    }

    async fn subscribe(&self, group: &str, topics: &[&str]) -> Result<Box<dyn Subscription>, LogError> {
        Ok(Box::new(KafkaSubscription::join(&self.config, group, topics)?))
    }

    async fn read_from(&self, starts: &[ReadStart]) -> Result<Box<dyn LogReader>, LogError> {
        Ok(Box::new(KafkaReader::assign(&self.config, starts)?))
    }

    async fn reset_offsets(
        &self,
        group: &str,
        topics: &[&str],
        to: OffsetTarget,
    ) -> Result<Vec<(String, u32, u64)>, LogError> {
        let (config, group) = (self.config.clone(), group.to_owned());
        let topics: Vec<String> = topics.iter().map(|t| (*t).to_owned()).collect();
        tokio::task::spawn_blocking(move || offsets::reset(&config, &group, &topics, to)).await.map_err(unavailable)?
    }

    async fn offsets_at(&self, topic: &str, to: OffsetTarget) -> Result<Vec<u64>, LogError> {
        let (config, topic) = (self.config.clone(), topic.to_owned());
        tokio::task::spawn_blocking(move || offsets::at(&config, &topic, to)).await.map_err(unavailable)?
    }

    async fn set_offsets(&self, group: &str, next_offsets: &[(String, u32, u64)]) -> Result<(), LogError> {
        let (config, group, next_offsets) = (self.config.clone(), group.to_owned(), next_offsets.to_vec());
        tokio::task::spawn_blocking(move || offsets::commit(&config, &group, &next_offsets))
            .await
            .map_err(unavailable)?
    }

    async fn delete_group(&self, group: &str) -> Result<(), LogError> {
        let name = self.config.group(group);
        let options = AdminOptions::new().operation_timeout(Some(self.config.timeout));
        let results = self.admin.delete_groups(&[&name], &options).await.map_err(unavailable)?;
        for result in results {
            match result {
                Ok(_) | Err((_, RDKafkaErrorCode::GroupIdNotFound)) => {}
                Err((_, RDKafkaErrorCode::NonEmptyGroup)) => {
                    return Err(LogError::Unavailable(crate::cause(format!(
                        "{group} has members: stop its consumers first"
                    ))));
                }
                Err((_, code)) => {
                    return Err(LogError::Unavailable(crate::cause(format!("cannot delete {group}: {code}"))));
                }
            }
        }
        Ok(())
    }

    async fn committed_offsets(&self, group: &str, topics: &[&str]) -> Result<Vec<CommittedOffset>, LogError> {
        let (config, group) = (self.config.clone(), group.to_owned());
        let topics: Vec<String> = topics.iter().map(|t| (*t).to_owned()).collect();
        tokio::task::spawn_blocking(move || offsets::committed(&config, &group, &topics)).await.map_err(unavailable)?
    }
}

impl KafkaLog {
    /// How long to wait before finishing another claimer's append: longer than any healthy append.
    fn orphan_after(&self) -> Duration {
        self.config.timeout * 3
    }
}

/// The offset the next record of `partition` will get. A broker that cannot say yet answers -1
/// (a partition moving, or a broker under load): asked again until `timeout`, never taken as
/// 0, which would read as an empty partition.
fn high_watermark(metadata: &BaseConsumer, topic: &str, partition: i32, timeout: Duration) -> Result<u64, LogError> {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        let (_, high) = metadata.fetch_watermarks(topic, partition, timeout).map_err(unavailable)?;
        if let Ok(high) = u64::try_from(high) {
            return Ok(high);
        }
        if std::time::Instant::now() >= deadline {
            return Err(unavailable(format!("{topic}[{partition}] has no high watermark yet")));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
