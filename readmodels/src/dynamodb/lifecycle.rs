//! A message's changes on DynamoDB: the message item, then each copy of it. Each write is
//! conditional on the changes it carries being newer than what is there, so a redelivered batch,
//! or one cut short by a crash, ends the same: the copies are brought up to the message item
//! whether or not this delivery changed it.
use std::collections::HashMap;

use futures::{StreamExt, TryStreamExt, stream};

use super::{
    DynamoStore, WRITE_CONCURRENCY, already_applied,
    groups::already_updated,
    items::{Item, group_message_item, message_from_item, message_item, n, s},
};
use crate::{GroupMessageRow, Lifecycle, MessageChange, MessagePlace, MessageRow, StoreError};

/// Only a newer state of a message replaces an item's: `changed_seq` is fixed-width, so it sorts
/// as the number.
const NEWER: &str = "attribute_exists(message_id) AND (attribute_not_exists(changed_seq) OR changed_seq < :c)";

impl DynamoStore {
    /// Each message's changes in order; different messages at once.
    pub(super) async fn apply_changes(&self, changes: &[MessageChange]) -> Result<(), StoreError> {
        let mut by_message: HashMap<(MessagePlace, String), Vec<MessageChange>> = HashMap::new();
        for change in changes {
            let key = (change.place.clone(), change.message_id.clone());
            by_message.entry(key).or_default().push(change.clone());
        }
        stream::iter(by_message.into_values().map(|changes| self.change_message(changes)))
            .buffer_unordered(WRITE_CONCURRENCY)
            .try_collect()
            .await
    }

    /// One message's changes, in order.
    async fn change_message(&self, changes: Vec<MessageChange>) -> Result<(), StoreError> {
        let Some(first) = changes.first() else { return Ok(()) };
        match &first.place {
            MessagePlace::Direct(conversation_id) => {
                self.change_direct(conversation_id, &first.message_id, &changes).await
            }
            MessagePlace::Group(group_id) => self.change_group(group_id, &first.message_id, &changes).await,
        }
    }

    async fn change_direct(
        &self,
        conversation_id: &str,
        message_id: &str,
        changes: &[MessageChange],
    ) -> Result<(), StoreError> {
        let key = [("conversation_id", conversation_id), ("message_id", message_id)];
        let Some(item) = self.get_item(&self.tables.messages, &key).await? else { return Ok(()) };
        let mut row: MessageRow = message_from_item(&item)?;
        // Every change is applied, in order: not `any`, which would stop at the first.
        let changed = changes.iter().filter(|change| row.apply(change)).count() > 0;
        if changed {
            self.put_newer(&self.tables.messages, message_item(&row), row.lifecycle.changed_seq).await?;
        }
        if row.lifecycle.changed_seq == 0 {
            return Ok(());
        }
        self.index_pin(conversation_id, changes, (row.seq, &row.message_id, &row.lifecycle)).await?;
        let copies = row.conversation_rows().into_iter().map(|copy| {
            self.client
                .update_item()
                .table_name(&self.tables.conversations)
                .key("user_id", s(&copy.user_id))
                .key("conversation_id", s(conversation_id))
                .update_expression("SET last_message = :m, last_changed_seq = :c")
                .condition_expression(
                    "last_message_id = :id AND (attribute_not_exists(last_changed_seq) OR last_changed_seq < :c)",
                )
                .expression_attribute_values(":m", aws_sdk_dynamodb::types::AttributeValue::M(message_item(&row)))
                .expression_attribute_values(":c", n(row.lifecycle.changed_seq as i64))
                .expression_attribute_values(":id", s(message_id))
        });
        for copy in copies {
            already_updated(copy.send().await)?;
        }
        Ok(())
    }

    async fn change_group(
        &self,
        group_id: &str,
        message_id: &str,
        changes: &[MessageChange],
    ) -> Result<(), StoreError> {
        let Some(mut row): Option<GroupMessageRow> = self.group_message(group_id, message_id).await? else {
            return Ok(());
        };
        // Every change is applied, in order: not `any`, which would stop at the first.
        let changed = changes.iter().filter(|change| row.apply(change)).count() > 0;
        if changed {
            self.put_newer(&self.tables.group_messages, group_message_item(&row), row.lifecycle.changed_seq).await?;
        }
        if row.lifecycle.changed_seq == 0 {
            return Ok(());
        }
        self.index_pin(group_id, changes, (row.seq, &row.message_id, &row.lifecycle)).await?;
        already_updated(
            self.client
                .update_item()
                .table_name(&self.tables.groups)
                .key("group_id", s(group_id))
                .update_expression("SET last_message = :m, last_changed_seq = :c")
                .condition_expression(
                    "last_seq = :s AND (attribute_not_exists(last_changed_seq) OR last_changed_seq < :c)",
                )
                .expression_attribute_values(":m", aws_sdk_dynamodb::types::AttributeValue::M(group_message_item(&row)))
                .expression_attribute_values(":c", n(row.lifecycle.changed_seq as i64))
                .expression_attribute_values(":s", n(row.seq as i64))
                .send()
                .await,
        )
    }

    /// Brings the pins index to the message as it stands, when `changes` may have moved it: a
    /// redelivery of them brings it there again.
    async fn index_pin(
        &self,
        place_id: &str,
        changes: &[MessageChange],
        (seq, message_id, lifecycle): (u64, &str, &Lifecycle),
    ) -> Result<(), StoreError> {
        if !changes.iter().any(|change| change.kind.moves_pins()) {
            return Ok(());
        }
        let (table, place, seq) = (&self.tables.pins, s(place_id), s(&super::items::seq_key(seq)));
        if lifecycle.pinned.is_some() {
            let put = self.client.put_item().table_name(table).item("place_id", place).item("seq", seq);
            let _ = put.item("message_id", s(message_id)).send().await.map_err(super::sdk_error)?;
        } else {
            let delete = self.client.delete_item().table_name(table).key("place_id", place).key("seq", seq);
            let _ = delete.send().await.map_err(super::sdk_error)?;
        }
        Ok(())
    }

    /// Writes a message item unless the stored one is as new or newer.
    async fn put_newer(&self, table: &str, item: Item, changed_seq: u64) -> Result<(), StoreError> {
        already_applied(
            self.client
                .put_item()
                .table_name(table)
                .set_item(Some(item))
                .condition_expression(NEWER)
                .expression_attribute_values(":c", s(&super::items::seq_key(changed_seq)))
                .send()
                .await,
        )
    }
}
