//! Projection checkpoints on DynamoDB: one item per projection and partition, only ever raised.
use std::collections::HashMap;

use async_trait::async_trait;

use super::*;
use crate::{CheckpointStore, StoreError};

#[async_trait]
impl CheckpointStore for DynamoStore {
    async fn save_checkpoint(&self, projection: &str, next_offsets: &[(String, u32, u64)]) -> Result<(), StoreError> {
        for (topic, partition, next) in next_offsets {
            already_applied(
                self.client
                    .put_item()
                    .table_name(&self.tables.checkpoints)
                    .item("projection", s(projection))
                    .item("partition_key", s(&format!("{topic}/{partition}")))
                    .item("next_offset", n(*next as i64))
                    .condition_expression("attribute_not_exists(next_offset) OR next_offset < :n")
                    .expression_attribute_values(":n", n(*next as i64))
                    .send()
                    .await,
            )?;
        }
        Ok(())
    }

    async fn checkpoint(&self, projection: &str) -> Result<HashMap<(String, u32), u64>, StoreError> {
        let query = self
            .client
            .query()
            .table_name(&self.tables.checkpoints)
            // `projection` is a DynamoDB reserved word.
            .key_condition_expression("#projection = :p")
            .expression_attribute_names("#projection", "projection")
            .expression_attribute_values(":p", s(projection))
            .consistent_read(true);
        let items = super::query::all(query).await?;
        let mut out = HashMap::new();
        for item in &items {
            let key = get_s(item, "partition_key")?;
            let Some((topic, partition)) = key.rsplit_once('/') else {
                continue;
            };
            let Ok(partition) = partition.parse::<u32>() else {
                continue;
            };
            let _ = out.insert((topic.to_owned(), partition), get_n(item, "next_offset")? as u64);
        }
        Ok(out)
    }
}
