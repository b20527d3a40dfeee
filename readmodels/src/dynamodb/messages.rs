//! Direct and group messages, and each user's conversation list, on DynamoDB.
use async_trait::async_trait;

use aws_sdk_dynamodb::types::AttributeValue;

use super::*;
use crate::dynamodb::items::{Item, get_opt_s, seq_key};
use crate::{
    ActivityKey, ConversationRow, GroupMessageRow, MembershipMark, MessageChange, MessageRow, MessageStore, StoreError,
};

#[async_trait]
impl MessageStore for DynamoStore {
    /// Every table the messages projection writes must be there and ACTIVE: one that is not is
    /// an outage to wait out, not a reason to dead-letter the event that touched it.
    async fn ping(&self) -> Result<(), StoreError> {
        let t = &self.tables;
        self.all_active(&[
            &t.messages,
            &t.message_places,
            &t.conversations,
            &t.group_messages,
            &t.membership_marks,
            &t.group_marks,
            &t.mentions,
            &t.pins,
            &t.groups,
            &t.receipts,
        ])
        .await
    }

    async fn put_messages(&self, messages: &[MessageRow]) -> Result<(), StoreError> {
        let puts: Vec<PutItemFluentBuilder> = messages
            .iter()
            .flat_map(|message| {
                let stored = self
                    .client
                    .put_item()
                    .table_name(&self.tables.messages)
                    .set_item(Some(message_item(message)))
                    .condition_expression("attribute_not_exists(message_id)");
                let place = self
                    .client
                    .put_item()
                    .table_name(&self.tables.message_places)
                    .item("message_id", s(&message.message_id))
                    .item("conversation_id", s(&message.conversation_id));
                // Written even when the message exists: a crash may have come between the puts.
                let conversations = message.conversation_rows().into_iter().map(|row| {
                    self.client
                        .put_item()
                        .table_name(&self.tables.conversations)
                        .set_item(Some(conversation_item(&row)))
                        .condition_expression("attribute_not_exists(user_id) OR last_message_id < :m")
                        .expression_attribute_values(":m", s(&row.last_message.message_id))
                });
                [stored, place].into_iter().chain(conversations).collect::<Vec<_>>()
            })
            .collect();
        run_concurrently(puts).await
    }

    async fn history(
        &self,
        conversation_id: &str,
        before: Option<&str>,
        limit: usize,
    ) -> Result<Vec<MessageRow>, StoreError> {
        let items = self.newest_first(&self.tables.messages, conversation_id, "message_id", before, limit).await?;
        items.iter().map(message_from_item).collect()
    }

    async fn history_by_seq(
        &self,
        conversation_id: &str,
        after: Option<u64>,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<MessageRow>, StoreError> {
        let (table, key) = (&self.tables.messages, ("conversation_id", conversation_id));
        let items = self.seq_range(table, Some(tables::BY_SEQ), key, after, before, limit).await?;
        items.iter().map(message_from_item).collect()
    }

    async fn message(&self, conversation_id: &str, message_id: &str) -> Result<Option<MessageRow>, StoreError> {
        let key = [("conversation_id", conversation_id), ("message_id", message_id)];
        self.get_item(&self.tables.messages, &key).await?.as_ref().map(message_from_item).transpose()
    }

    async fn direct_message(&self, message_id: &str) -> Result<Option<MessageRow>, StoreError> {
        let Some(place) = self.get_item(&self.tables.message_places, &[("message_id", message_id)]).await? else {
            return Ok(None);
        };
        self.message(&get_s(&place, "conversation_id")?, message_id).await
    }

    async fn conversations(
        &self,
        user_id: &str,
        before: Option<&ActivityKey>,
        limit: usize,
    ) -> Result<Vec<ConversationRow>, StoreError> {
        let start = before.map(|key| {
            HashMap::from([
                ("user_id".to_owned(), s(user_id)),
                ("conversation_id".to_owned(), s(&key.conversation_id)),
                ("last_message_id".to_owned(), s(&key.last_message_id)),
            ])
        });
        let query = self
            .client
            .query()
            .table_name(&self.tables.conversations)
            .index_name(tables::BY_ACTIVITY)
            .key_condition_expression("user_id = :u")
            .expression_attribute_values(":u", s(user_id))
            .set_exclusive_start_key(start)
            .scan_index_forward(false)
            .consistent_read(true);
        query::up_to(query, limit).await?.iter().map(conversation_from_item).collect()
    }

    async fn put_group_messages(&self, messages: &[GroupMessageRow]) -> Result<(), StoreError> {
        DynamoStore::put_group_messages(self, messages).await
    }

    async fn pins(&self, place_id: &str, limit: usize) -> Result<Vec<String>, StoreError> {
        let items = self.seq_range(&self.tables.pins, None, ("place_id", place_id), None, None, limit).await?;
        items.iter().map(|item| get_s(item, "message_id")).collect()
    }

    async fn mentions_after(&self, group_id: &str, user_id: &str, after: Option<u64>) -> Result<u64, StoreError> {
        let from = after.map_or(0, |seq| seq.saturating_add(1));
        let mut start = None;
        let mut count = 0u64;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.tables.mentions)
                .key_condition_expression("group_user = :k AND seq >= :from")
                .expression_attribute_values(":k", s(&group_user(group_id, user_id)))
                .expression_attribute_values(":from", s(&seq_key(from)))
                .select(aws_sdk_dynamodb::types::Select::Count)
                .set_exclusive_start_key(start)
                .consistent_read(true)
                .send()
                .await
                .map_err(sdk_error)?;
            count += u64::try_from(page.count()).unwrap_or_default();
            start = page.last_evaluated_key;
            if start.is_none() {
                return Ok(count);
            }
        }
    }

    async fn group_history(
        &self,
        group_id: &str,
        after: Option<u64>,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<GroupMessageRow>, StoreError> {
        DynamoStore::group_history(self, group_id, after, before, limit).await
    }

    async fn group_message(&self, group_id: &str, message_id: &str) -> Result<Option<GroupMessageRow>, StoreError> {
        DynamoStore::group_message(self, group_id, message_id).await
    }

    async fn put_membership_marks(&self, marks: &[MembershipMark]) -> Result<(), StoreError> {
        let puts = marks
            .iter()
            .flat_map(|mark| {
                let mut item = Item::from([
                    ("seq".to_owned(), s(&seq_key(mark.seq))),
                    ("group_id".to_owned(), s(&mark.group_id)),
                    ("user_id".to_owned(), s(&mark.user_id)),
                    ("member".to_owned(), AttributeValue::Bool(mark.member)),
                ]);
                if let Some(change) = &mark.change_event_id {
                    let _ = item.insert("change_event_id".to_owned(), s(change));
                }
                let by_user = {
                    let mut item = item.clone();
                    let _ = item.insert("group_user".to_owned(), s(&group_user(&mark.group_id, &mark.user_id)));
                    self.client.put_item().table_name(&self.tables.membership_marks).set_item(Some(item))
                };
                let by_group = self.client.put_item().table_name(&self.tables.group_marks).set_item(Some(item));
                [by_user, by_group]
            })
            .collect();
        run_concurrently(puts).await
    }

    async fn apply_message_changes(&self, changes: &[MessageChange]) -> Result<(), StoreError> {
        self.apply_changes(changes).await
    }

    async fn membership_marks(&self, group_id: &str, user_id: &str) -> Result<Vec<MembershipMark>, StoreError> {
        let query = self
            .client
            .query()
            .table_name(&self.tables.membership_marks)
            .key_condition_expression("group_user = :k")
            .expression_attribute_values(":k", s(&group_user(group_id, user_id)))
            .consistent_read(true);
        query::all(query).await?.iter().map(|item| mark_from_item("membership_marks", item)).collect()
    }

    async fn group_marks(&self, group_id: &str) -> Result<Vec<MembershipMark>, StoreError> {
        let query = self
            .client
            .query()
            .table_name(&self.tables.group_marks)
            .key_condition_expression("group_id = :g")
            .expression_attribute_values(":g", s(group_id))
            .consistent_read(true);
        query::all(query).await?.iter().map(|item| mark_from_item("group_marks", item)).collect()
    }
}

fn mark_from_item(table: &'static str, item: &Item) -> Result<MembershipMark, StoreError> {
    let seq = get_s(item, "seq")?.parse().map_err(|_| StoreError::corrupt(table, "seq is not a number"))?;
    let member = item
        .get("member")
        .and_then(|v| v.as_bool().ok())
        .copied()
        .ok_or_else(|| StoreError::corrupt(table, "member is not a boolean"))?;
    Ok(MembershipMark {
        group_id: get_s(item, "group_id")?,
        user_id: get_s(item, "user_id")?,
        seq,
        member,
        change_event_id: get_opt_s(item, "change_event_id"),
    })
}

/// The hash key of one user's marks in one group (ids hold no `/`).
pub(super) fn group_user(group_id: &str, user_id: &str) -> String {
    format!("{group_id}/{user_id}")
}
