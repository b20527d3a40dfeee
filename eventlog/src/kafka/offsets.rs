//! Resetting a consumer group's committed offsets from outside the group, as
//! `kafka-consumer-groups --reset-offsets` does: a consumer that never joins commits for it.
use rdkafka::{
    Offset, TopicPartitionList,
    consumer::{BaseConsumer, CommitMode, Consumer},
};

use crate::{
    LogError, OffsetTarget,
    kafka::{KafkaConfig, unavailable},
};

/// Blocks on the broker; run it off the async threads.
pub(crate) fn reset(
    config: &KafkaConfig,
    group: &str,
    topics: &[String],
    to: OffsetTarget,
) -> Result<Vec<(String, u32, u64)>, LogError> {
    let consumer: BaseConsumer = config
        .client()
        .set("group.id", config.group(group))
        .set("enable.auto.commit", "false")
        .create()
        .map_err(unavailable)?;
    let timeout = config.timeout;
    let mut offsets = TopicPartitionList::new();
    let mut out = Vec::new();
    for topic in topics {
        let name = config.topic(topic);
        let meta = consumer.fetch_metadata(Some(&name), timeout).map_err(unavailable)?;
        let partitions = meta
            .topics()
            .iter()
            .find(|t| t.name() == name && t.error().is_none())
            .map(|t| t.partitions().len() as i32)
            .filter(|n| *n > 0)
            .ok_or_else(|| LogError::UnknownTopic(topic.clone()))?;
        for partition in 0..partitions {
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
            let next = next.max(0);
            offsets.add_partition_offset(&name, partition, Offset::Offset(next)).map_err(unavailable)?;
            out.push((topic.clone(), partition as u32, next as u64));
        }
    }
    consumer.commit(&offsets, CommitMode::Sync).map_err(|e| {
        LogError::Unavailable(format!("cannot commit offsets for {group} (stop its consumers first): {e}"))
    })?;
    Ok(out)
}
