//! Small helpers shared by the embedded log's writer and readers.
use redb::ReadableTable;

use crate::{LogError, OffsetTarget, record::encoded_timestamp};

pub(crate) fn storage_error(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> LogError {
    LogError::Storage(crate::cause(e))
}

/// How many partitions `topic` has; a topic never created is an error.
pub(crate) fn partition_count(topics: &impl ReadableTable<&'static str, u32>, topic: &str) -> Result<u32, LogError> {
    topics.get(topic).map_err(storage_error)?.map(|p| p.value()).ok_or_else(|| LogError::UnknownTopic(topic.to_owned()))
}

/// The offset the next record of `partition` will get.
pub(crate) fn end_offset(
    records: &impl ReadableTable<(&'static str, u32, u64), &'static [u8]>,
    topic: &str,
    partition: u32,
) -> Result<u64, LogError> {
    let last = records.range((topic, partition, 0)..=(topic, partition, u64::MAX)).map_err(storage_error)?.next_back();
    match last {
        Some(entry) => Ok(entry.map_err(storage_error)?.0.value().2 + 1),
        None => Ok(0),
    }
}

/// Where `to` falls in `partition`: the next offset to read there. A time is found by a scan
/// from the start (records carry their time; there is no time index).
pub(crate) fn offset_at(
    records: &impl ReadableTable<(&'static str, u32, u64), &'static [u8]>,
    topic: &str,
    partition: u32,
    to: OffsetTarget,
) -> Result<u64, LogError> {
    let end = end_offset(records, topic, partition)?;
    let OffsetTarget::Timestamp(at) = to else {
        return Ok(if to == OffsetTarget::Earliest { 0 } else { end });
    };
    for entry in records.range((topic, partition, 0)..(topic, partition, end)).map_err(storage_error)? {
        let (key, value) = entry.map_err(storage_error)?;
        if encoded_timestamp(value.value()).is_some_and(|ts| ts >= at) {
            return Ok(key.value().2);
        }
    }
    Ok(end)
}
