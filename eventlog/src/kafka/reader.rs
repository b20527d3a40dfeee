//! A group-less reader: partitions assigned directly at explicit offsets, so it starts reading at
//! once, with no rebalance to wait for, and never commits.
use std::{
    sync::atomic::{AtomicU64, Ordering},
    time::Duration,
};

use async_trait::async_trait;
use rdkafka::{
    Offset, TopicPartitionList,
    consumer::{Consumer, DefaultConsumerContext, StreamConsumer},
};

use crate::{
    ConsumedRecord, LogError, LogReader, ReadStart,
    kafka::{KafkaConfig, fetch, unavailable},
};

pub(crate) struct KafkaReader {
    consumer: StreamConsumer<DefaultConsumerContext>,
    namespace: String,
}

impl KafkaReader {
    pub(crate) fn assign(config: &KafkaConfig, starts: &[ReadStart]) -> Result<Self, LogError> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        // librdkafka wants a group id even for assigned partitions; it is never joined.
        let group = format!("confab.reader.{}.{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        let consumer: StreamConsumer = config
            .client()
            .set("group.id", config.group(&group))
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("fetch.wait.max.ms", "10")
            .create()
            .map_err(unavailable)?;
        let mut assignment = TopicPartitionList::new();
        for start in starts {
            let topic = config.topic(&start.topic);
            for (partition, offset) in start.offsets.iter().enumerate() {
                assignment
                    .add_partition_offset(&topic, partition as i32, Offset::Offset(*offset as i64))
                    .map_err(unavailable)?;
            }
        }
        consumer.assign(&assignment).map_err(unavailable)?;
        Ok(Self { consumer, namespace: config.namespace.clone() })
    }
}

#[async_trait]
impl LogReader for KafkaReader {
    async fn poll(&mut self, max: usize, timeout: Duration) -> Result<Vec<ConsumedRecord>, LogError> {
        fetch::next_batch(&self.consumer, &self.namespace, max, timeout).await
    }
}
