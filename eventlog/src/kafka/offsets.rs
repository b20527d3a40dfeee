//! Resetting a consumer group's committed offsets from outside the group, as
//! `kafka-consumer-groups --reset-offsets` does: a consumer that never joins commits for it.
use rdkafka::{
    Offset, TopicPartitionList,
    consumer::{BaseConsumer, CommitMode, Consumer},
};

use crate::{
    CommittedOffset, LogError, OffsetTarget,
    kafka::{KafkaConfig, unavailable},
};

/// Blocks on the broker; run it off the async threads.
pub(crate) fn reset(
    config: &KafkaConfig,
    group: &str,
    topics: &[String],
    to: OffsetTarget,
) -> Result<Vec<(String, u32, u64)>, LogError> {
    let consumer = outsider(config, group)?;
    let mut out = Vec::new();
    for topic in topics {
        for (partition, next) in resolve(config, &consumer, topic, to)?.into_iter().enumerate() {
            out.push((topic.clone(), partition as u32, next));
        }
    }
    commit_with(config, &consumer, group, &out)?;
    Ok(out)
}

/// Where `to` falls in each partition of `topic`, as next offsets; no group is touched. Blocks
/// on the broker.
pub(crate) fn at(config: &KafkaConfig, topic: &str, to: OffsetTarget) -> Result<Vec<u64>, LogError> {
    // A group id the consumer needs to exist, never used to commit.
    resolve(config, &outsider(config, "offsets-lookup")?, topic, to)
}

fn resolve(config: &KafkaConfig, consumer: &BaseConsumer, topic: &str, to: OffsetTarget) -> Result<Vec<u64>, LogError> {
    let timeout = config.timeout;
    let name = config.topic(topic);
    let mut out = Vec::new();
    for partition in 0..partitions(config, consumer, topic)? {
        let (low, high) = consumer.fetch_watermarks(&name, partition, timeout).map_err(unavailable)?;
        let next = match to {
            OffsetTarget::Earliest => low,
            OffsetTarget::Latest => high,
            OffsetTarget::Timestamp(at) => {
                let mut query = TopicPartitionList::new();
                query.add_partition_offset(&name, partition, Offset::Offset(at)).map_err(unavailable)?;
                let found = consumer.offsets_for_times(query, timeout).map_err(unavailable)?;
                match found.find_partition(&name, partition).map(|p| p.offset()) {
                    Some(Offset::Offset(offset)) if offset >= 0 => offset,
                    // No record at or after the time: the end.
                    _ => high,
                }
            }
        };
        out.push(next.max(0) as u64);
    }
    Ok(out)
}

/// How many partitions `topic` has. Blocks on the broker.
fn partitions(config: &KafkaConfig, consumer: &BaseConsumer, topic: &str) -> Result<i32, LogError> {
    let name = config.topic(topic);
    let meta = consumer.fetch_metadata(Some(&name), config.timeout).map_err(unavailable)?;
    meta.topics()
        .iter()
        .find(|t| t.name() == name && t.error().is_none())
        .map(|t| t.partitions().len() as i32)
        .filter(|n| *n > 0)
        .ok_or_else(|| LogError::UnknownTopic(topic.to_owned()))
}

/// What `group` has committed on every partition of `topics`. Blocks on the broker.
pub(crate) fn committed(
    config: &KafkaConfig,
    group: &str,
    topics: &[String],
) -> Result<Vec<CommittedOffset>, LogError> {
    let consumer = outsider(config, group)?;
    let mut query = TopicPartitionList::new();
    for topic in topics {
        for partition in 0..partitions(config, &consumer, topic)? {
            let _ = query.add_partition(&config.topic(topic), partition);
        }
    }
    let found = consumer.committed_offsets(query, config.timeout).map_err(unavailable)?;
    let mut out = Vec::new();
    for topic in topics {
        let name = config.topic(topic);
        for entry in found.elements_for_topic(&name) {
            let next = match entry.offset() {
                Offset::Offset(offset) if offset >= 0 => Some(offset as u64),
                _ => None,
            };
            out.push((topic.clone(), entry.partition() as u32, next));
        }
    }
    out.sort();
    Ok(out)
}

/// A consumer of `group` that never joins it: it only commits.
fn outsider(config: &KafkaConfig, group: &str) -> Result<BaseConsumer, LogError> {
    config
        .client()
        .set("group.id", config.group(group))
        .set("enable.auto.commit", "false")
        .create()
        .map_err(unavailable)
}

/// Commits exactly `next_offsets` for `group`. Blocks on the broker.
pub(crate) fn commit(config: &KafkaConfig, group: &str, next_offsets: &[(String, u32, u64)]) -> Result<(), LogError> {
    commit_with(config, &outsider(config, group)?, group, next_offsets)
}

fn commit_with(
    config: &KafkaConfig,
    consumer: &BaseConsumer,
    group: &str,
    next_offsets: &[(String, u32, u64)],
) -> Result<(), LogError> {
    if next_offsets.is_empty() {
        return Ok(());
    }
    let mut offsets = TopicPartitionList::new();
    for (topic, partition, next) in next_offsets {
        let offset = Offset::Offset(i64::try_from(*next).map_err(unavailable)?);
        offsets.add_partition_offset(&config.topic(topic), *partition as i32, offset).map_err(unavailable)?;
    }
    consumer.commit(&offsets, CommitMode::Sync).map_err(|e| {
        LogError::Unavailable(crate::cause(format!(
            "cannot commit offsets for {group} (stop its consumers first): {e}"
        )))
    })
}
