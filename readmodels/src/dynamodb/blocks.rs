//! Blocks on DynamoDB: marks by conversation (one item per mark, sorted by seq), and each
//! blocker's list (one item per blocked user, sorted by username). A list changes one mark at a
//! time, in the order given, so a block and its lifting in one batch end as the log says.
use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;

use super::{
    DynamoStore,
    items::{Item, get_n, get_s, n, s, seq_key},
    query, sdk_error,
};
use crate::{BlockMark, BlockStore, BlockedUser, StoreError};

fn get_seq(table: &'static str, item: &Item) -> Result<u64, StoreError> {
    get_s(item, "seq")?.parse().map_err(|_| StoreError::corrupt(table, "seq is not a number"))
}

fn mark_from_item(item: &Item) -> Result<BlockMark, StoreError> {
    Ok(BlockMark {
        conversation_id: get_s(item, "conversation_id")?,
        seq: get_seq("block_marks", item)?,
        blocker_id: get_s(item, "blocker_id")?,
        blocked_id: get_s(item, "blocked_id")?,
        blocked_username: get_s(item, "blocked_username")?,
        blocked: item
            .get("blocked")
            .and_then(|v| v.as_bool().ok())
            .copied()
            .ok_or_else(|| StoreError::corrupt("block_marks", "blocked is not a boolean"))?,
        at_ms: get_n(item, "at_ms")?,
    })
}

fn blocked_from_item(item: &Item) -> Result<BlockedUser, StoreError> {
    Ok(BlockedUser {
        blocker_id: get_s(item, "blocker_id")?,
        blocked_id: get_s(item, "blocked_id")?,
        blocked_username: get_s(item, "blocked_username")?,
        since_ms: get_n(item, "since_ms")?,
    })
}

#[async_trait]
impl BlockStore for DynamoStore {
    async fn ping(&self) -> Result<(), StoreError> {
        self.client.describe_table().table_name(&self.tables.blocked_users).send().await.map(drop).map_err(sdk_error)
    }

    async fn put_block_marks(&self, marks: &[BlockMark]) -> Result<(), StoreError> {
        for mark in marks {
            let _ = self
                .client
                .put_item()
                .table_name(&self.tables.block_marks)
                .item("conversation_id", s(&mark.conversation_id))
                .item("seq", s(&seq_key(mark.seq)))
                .item("blocker_id", s(&mark.blocker_id))
                .item("blocked_id", s(&mark.blocked_id))
                .item("blocked_username", s(&mark.blocked_username))
                .item("blocked", AttributeValue::Bool(mark.blocked))
                .item("at_ms", n(mark.at_ms))
                .send()
                .await
                .map_err(sdk_error)?;
            if mark.blocked {
                let _ = self
                    .client
                    .put_item()
                    .table_name(&self.tables.blocked_users)
                    .item("blocker_id", s(&mark.blocker_id))
                    .item("blocked_username", s(&mark.blocked_username))
                    .item("blocked_id", s(&mark.blocked_id))
                    .item("since_ms", n(mark.at_ms))
                    .send()
                    .await
                    .map_err(sdk_error)?;
            } else {
                let _ = self
                    .client
                    .delete_item()
                    .table_name(&self.tables.blocked_users)
                    .key("blocker_id", s(&mark.blocker_id))
                    .key("blocked_username", s(&mark.blocked_username))
                    .send()
                    .await
                    .map_err(sdk_error)?;
            }
        }
        Ok(())
    }

    async fn block_marks(&self, conversation_id: &str) -> Result<Vec<BlockMark>, StoreError> {
        let query = self
            .client
            .query()
            .table_name(&self.tables.block_marks)
            .key_condition_expression("conversation_id = :c")
            .expression_attribute_values(":c", s(conversation_id))
            .consistent_read(true);
        query::all(query).await?.iter().map(mark_from_item).collect()
    }

    async fn blocked_users(
        &self,
        blocker_id: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<BlockedUser>, StoreError> {
        let mut query = self
            .client
            .query()
            .table_name(&self.tables.blocked_users)
            .key_condition_expression("blocker_id = :b")
            .expression_attribute_values(":b", s(blocker_id))
            .consistent_read(true);
        if let Some(after) = after {
            query = query
                .exclusive_start_key("blocker_id", s(blocker_id))
                .exclusive_start_key("blocked_username", s(after));
        }
        query::up_to(query, limit).await?.iter().map(blocked_from_item).collect()
    }
}
