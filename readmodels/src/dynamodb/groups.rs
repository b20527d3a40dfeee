//! Groups, members and group messages on DynamoDB. A group change is several writes, ordered so
//! that redoing an interrupted one ends the same (see `GroupChange`); the group item, which holds
//! `next_offset`, is written last.
use async_trait::async_trait;
use aws_sdk_dynamodb::{error::SdkError, operation::update_item::UpdateItemError, types::AttributeValue};
use futures::{StreamExt, TryStreamExt, stream};

use super::{
    DynamoStore, WRITE_CONCURRENCY, already_applied,
    items::{
        Item, get_s, group_from_item, group_message_from_item, group_message_item, last_message_from_item,
        member_from_item, member_item, n, s, seq_key,
    },
    query, sdk_error, tables,
};
use crate::{ChangeOutcome, GroupChange, GroupMessageRow, GroupRow, GroupStore, GroupSummary, MemberRow, StoreError};

/// As `already_applied`, for conditional updates.
pub(crate) fn already_updated<T>(result: Result<T, SdkError<UpdateItemError>>) -> Result<(), StoreError> {
    match result {
        Ok(_) => Ok(()),
        Err(e) if e.as_service_error().is_some_and(UpdateItemError::is_conditional_check_failed_exception) => Ok(()),
        Err(e) => Err(super::sdk_error(e)),
    }
}

pub(super) async fn all<F: Future<Output = Result<(), StoreError>>>(writes: Vec<F>) -> Result<(), StoreError> {
    stream::iter(writes).buffer_unordered(WRITE_CONCURRENCY).try_collect().await
}

impl DynamoStore {
    /// Every item of a Query, across pages.
    pub(super) async fn query_all(&self, table: &str, hash: &str, value: &str) -> Result<Vec<Item>, StoreError> {
        let query = self
            .client
            .query()
            .table_name(table)
            .key_condition_expression("#h = :v")
            .expression_attribute_names("#h", hash)
            .expression_attribute_values(":v", s(value))
            .consistent_read(true);
        query::all(query).await
    }

    async fn group_item(&self, group_id: &str) -> Result<Option<Item>, StoreError> {
        self.get_item(&self.tables.groups, &[("group_id", group_id)]).await
    }

    pub(super) async fn put_group_messages(&self, messages: &[GroupMessageRow]) -> Result<(), StoreError> {
        let stored = messages.iter().map(|message| async move {
            already_applied(
                self.client
                    .put_item()
                    .table_name(&self.tables.group_messages)
                    .set_item(Some(group_message_item(message)))
                    .condition_expression("attribute_not_exists(seq)")
                    .send()
                    .await,
            )
        });
        all(stored.collect()).await?;
        let mentions = messages.iter().flat_map(|message| {
            message.mentions.iter().map(move |user| async move {
                self.client
                    .put_item()
                    .table_name(&self.tables.mentions)
                    .item("group_user", s(&super::messages::group_user(&message.group_id, user)))
                    .item("seq", s(&seq_key(message.seq)))
                    .item("message_id", s(&message.message_id))
                    .send()
                    .await
                    .map(drop)
                    .map_err(sdk_error)
            })
        });
        all(mentions.collect()).await?;
        // Then each group's newest message, once per group.
        let mut newest: Vec<&GroupMessageRow> = Vec::new();
        for message in messages {
            match newest.iter_mut().find(|m| m.group_id == message.group_id) {
                Some(m) if m.seq < message.seq => *m = message,
                Some(_) => {}
                None => newest.push(message),
            }
        }
        let last = newest.into_iter().map(|message| async move {
            already_updated(
                self.client
                    .update_item()
                    .table_name(&self.tables.groups)
                    .key("group_id", s(&message.group_id))
                    // The changes applied to the previous last message are not this one's.
                    .update_expression("SET last_message = :m, last_seq = :s REMOVE last_changed_seq")
                    .condition_expression("attribute_not_exists(last_seq) OR last_seq < :s")
                    .expression_attribute_values(":m", AttributeValue::M(group_message_item(message)))
                    .expression_attribute_values(":s", n(message.seq as i64))
                    .send()
                    .await,
            )
        });
        all(last.collect()).await
    }

    pub(super) async fn group_history(
        &self,
        group_id: &str,
        after: Option<u64>,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<GroupMessageRow>, StoreError> {
        let table = &self.tables.group_messages;
        let items = self.seq_range(table, None, ("group_id", group_id), after, before, limit).await?;
        items.iter().map(group_message_from_item).collect()
    }

    /// Up to `limit` items of one partition key with `after < seq < before`, newest first; `seq`
    /// is the table's (or `index`'s) sort key.
    pub(super) async fn seq_range(
        &self,
        table: &str,
        index: Option<&str>,
        (hash, value): (&str, &str),
        after: Option<u64>,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<Item>, StoreError> {
        let low = after.map_or(0, |a| a.saturating_add(1));
        let high = before.map_or(u64::MAX, |b| b.saturating_sub(1));
        if before == Some(0) || low > high {
            return Ok(Vec::new());
        }
        let query = self
            .client
            .query()
            .table_name(table)
            .set_index_name(index.map(str::to_owned))
            .key_condition_expression("#h = :h AND seq BETWEEN :low AND :high")
            .expression_attribute_names("#h", hash)
            .expression_attribute_values(":h", s(value))
            .expression_attribute_values(":low", s(&seq_key(low)))
            .expression_attribute_values(":high", s(&seq_key(high)))
            .scan_index_forward(false)
            .consistent_read(true);
        query::up_to(query, limit).await
    }

    pub(super) async fn group_message(
        &self,
        group_id: &str,
        message_id: &str,
    ) -> Result<Option<GroupMessageRow>, StoreError> {
        let page = self
            .client
            .query()
            .table_name(&self.tables.group_messages)
            .index_name(tables::BY_MESSAGE_ID)
            .key_condition_expression("group_id = :g AND message_id = :m")
            .expression_attribute_values(":g", s(group_id))
            .expression_attribute_values(":m", s(message_id))
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk_error)?;
        page.items().first().map(group_message_from_item).transpose()
    }
}

#[async_trait]
impl GroupStore for DynamoStore {
    async fn ping(&self) -> Result<(), StoreError> {
        self.client.describe_table().table_name(&self.tables.groups).send().await.map(drop).map_err(sdk_error)
    }

    async fn group(&self, group_id: &str) -> Result<Option<GroupRow>, StoreError> {
        match self.group_item(group_id).await? {
            Some(item) => group_from_item(&item),
            None => Ok(None),
        }
    }

    async fn member(&self, group_id: &str, user_id: &str) -> Result<Option<MemberRow>, StoreError> {
        let key = [("group_id", group_id), ("user_id", user_id)];
        self.get_item(&self.tables.group_members, &key).await?.as_ref().map(member_from_item).transpose()
    }

    async fn members(&self, group_id: &str) -> Result<Vec<MemberRow>, StoreError> {
        let items = self.query_all(&self.tables.group_members, "group_id", group_id).await?;
        let mut members: Vec<MemberRow> = items.iter().map(member_from_item).collect::<Result<_, _>>()?;
        members.sort_by(|a, b| a.seniority.cmp(&b.seniority));
        Ok(members)
    }

    async fn apply_group_change(&self, change: &GroupChange) -> Result<(), StoreError> {
        let group_id = &change.group.group_id;
        let puts = change.put_members.iter().flat_map(|member| {
            [
                self.client.put_item().table_name(&self.tables.group_members).set_item(Some(member_item(member))),
                self.client
                    .put_item()
                    .table_name(&self.tables.user_groups)
                    .item("user_id", s(&member.user_id))
                    .item("group_id", s(group_id)),
            ]
        });
        all(puts.map(|put| async move { put.send().await.map(drop).map_err(sdk_error) }).collect()).await?;
        let removals = change.remove_members.iter().flat_map(|user_id| {
            [
                self.client
                    .delete_item()
                    .table_name(&self.tables.group_members)
                    .key("group_id", s(group_id))
                    .key("user_id", s(user_id)),
                self.client
                    .delete_item()
                    .table_name(&self.tables.user_groups)
                    .key("user_id", s(user_id))
                    .key("group_id", s(group_id)),
            ]
        });
        all(removals.map(|delete| async move { delete.send().await.map(drop).map_err(sdk_error) }).collect()).await?;
        let group = &change.group;
        already_updated(
            self.client
                .update_item()
                .table_name(&self.tables.groups)
                .key("group_id", s(group_id))
                // `name` is a DynamoDB reserved word.
                .update_expression(
                    "SET #name = :name, owner_id = :owner, owner_username = :owner_name, \
                     created_at_ms = :created, next_offset = :next",
                )
                .condition_expression("attribute_not_exists(next_offset) OR next_offset < :next")
                .expression_attribute_names("#name", "name")
                .expression_attribute_values(":name", s(&group.name))
                .expression_attribute_values(":owner", s(&group.owner_id))
                .expression_attribute_values(":owner_name", s(&group.owner_username))
                .expression_attribute_values(":created", n(group.created_at_ms))
                .expression_attribute_values(":next", n(group.next_offset as i64))
                .send()
                .await,
        )
    }

    async fn record_outcome(&self, outcome: &ChangeOutcome) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.tables.change_outcomes)
            .item("group_id", s(&outcome.group_id))
            .item("offset", s(&seq_key(outcome.offset)))
            .item("applied", AttributeValue::Bool(outcome.applied))
            .send()
            .await
            .map(drop)
            .map_err(sdk_error)
    }

    async fn outcome(&self, group_id: &str, offset: u64) -> Result<Option<bool>, StoreError> {
        let key = [("group_id", group_id), ("offset", &seq_key(offset))];
        let Some(item) = self.get_item(&self.tables.change_outcomes, &key).await? else { return Ok(None) };
        match item.get("applied") {
            Some(AttributeValue::Bool(applied)) => Ok(Some(*applied)),
            _ => Err(StoreError::corrupt("change_outcomes", "applied is not a boolean")),
        }
    }

    async fn groups_of(&self, user_id: &str) -> Result<Vec<GroupSummary>, StoreError> {
        let ids: Vec<String> = self
            .query_all(&self.tables.user_groups, "user_id", user_id)
            .await?
            .iter()
            .map(|item| get_s(item, "group_id"))
            .collect::<Result<_, _>>()?;
        let summaries = stream::iter(ids.into_iter().map(|group_id| async move {
            let (Some(item), Some(membership)) =
                (self.group_item(&group_id).await?, self.member(&group_id, user_id).await?)
            else {
                return Ok(None);
            };
            let Some(group) = group_from_item(&item)? else {
                return Ok(None);
            };
            Ok::<_, StoreError>(Some(GroupSummary { group, membership, last_message: last_message_from_item(&item)? }))
        }))
        .buffer_unordered(WRITE_CONCURRENCY)
        .try_collect::<Vec<_>>()
        .await?;
        Ok(summaries.into_iter().flatten().collect())
    }
}
