//! Analytics state on DynamoDB, with no transactions: each counter item remembers, per log
//! partition, the offset of the last event it counted (`w_<topic>_<partition>`), and is moved by
//! a read-then-conditional-update that adds only what came after it. Distinct sets and group
//! memberships remember which event made them, so a redelivered event finds its own mark and
//! counts again exactly what it counted before, which the counter's watermark then ignores.
use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::{
    operation::{put_item::PutItemError, update_item::UpdateItemError},
    types::AttributeValue,
};

use crate::analytics::{AnalyticsStore, Change, GROUP_SIZE, Op};
use crate::{
    MembershipMark, StoreError,
    dynamodb::{
        DynamoStore,
        items::{Item, get_n, get_s, n, s, seq_key},
        sdk_error,
    },
};

/// Counter contributions of one batch: (metric, bucket) -> partition -> (offset, amount), in
/// log order.
type Contributions = BTreeMap<(String, String), BTreeMap<String, Vec<(u64, i64)>>>;

/// Where a user's membership marks in a group are kept: one item per mark, by seq.
fn marks_set(group_id: &str, user_id: &str) -> String {
    format!("marks:{group_id}/{user_id}")
}

fn watermark(partition: &str) -> String {
    format!("w_{partition}")
}

impl DynamoStore {
    /// Puts `member` into `set` marked with `mark` unless it is there; true when the mark there
    /// is `mark`: this event is the one that added it.
    async fn first_in_set(&self, set: &str, member: &str, mark: &str) -> Result<bool, StoreError> {
        let put = self
            .client
            .put_item()
            .table_name(&self.tables.analytics_members)
            .item("set_key", s(set))
            .item("member", s(member))
            .item("first", s(mark))
            .condition_expression("attribute_not_exists(#member)")
            .expression_attribute_names("#member", "member")
            .send()
            .await;
        match put {
            Ok(_) => Ok(true),
            Err(e) if e.as_service_error().is_some_and(PutItemError::is_conditional_check_failed_exception) => {
                let item =
                    self.get_item(&self.tables.analytics_members, &[("set_key", set), ("member", member)]).await?;
                Ok(item.is_some_and(|item| get_s(&item, "first").ok().as_deref() == Some(mark)))
            }
            Err(e) => Err(sdk_error(e)),
        }
    }

    /// Moves a group membership to `member` at `offset` (a group's events share one partition);
    /// the size change it makes: +1, -1, or 0 when it was no news or a later event came first.
    async fn membership(&self, group_id: &str, user_id: &str, member: bool, offset: u64) -> Result<i64, StoreError> {
        let set = format!("group:{group_id}");
        let delta = if member { 1 } else { -1 };
        loop {
            let item = self.get_item(&self.tables.analytics_members, &[("set_key", &set), ("member", user_id)]).await?;
            let changed_at = item.as_ref().and_then(|i| get_n(i, "changed_at").ok());
            let state = item.as_ref().and_then(|i| i.get("state")).and_then(|v| v.as_bool().ok()).copied();
            let effective = item.as_ref().and_then(|i| i.get("effective")).and_then(|v| v.as_bool().ok()).copied();
            match changed_at.map(|at| at.cmp(&(offset as i64))) {
                // This event moved it before: count what it counted then.
                Some(std::cmp::Ordering::Equal) => return Ok(if effective == Some(true) { delta } else { 0 }),
                Some(std::cmp::Ordering::Greater) => return Ok(0),
                _ => {}
            }
            let news = state.unwrap_or(false) != member;
            let mut put = self
                .client
                .put_item()
                .table_name(&self.tables.analytics_members)
                .item("set_key", s(&set))
                .item("member", s(user_id))
                .item("state", AttributeValue::Bool(member))
                .item("effective", AttributeValue::Bool(news))
                .item("changed_at", n(offset as i64));
            put = match changed_at {
                Some(old) => put.condition_expression("changed_at = :old").expression_attribute_values(":old", n(old)),
                None => put
                    .condition_expression("attribute_not_exists(#member)")
                    .expression_attribute_names("#member", "member"),
            };
            match put.send().await {
                Ok(_) => return Ok(if news { delta } else { 0 }),
                Err(e) if e.as_service_error().is_some_and(PutItemError::is_conditional_check_failed_exception) => {}
                Err(e) => return Err(sdk_error(e)),
            }
        }
    }

    /// Adds what `contributions` holds past each partition's watermark to one counter.
    async fn add_to_counter(
        &self,
        metric: &str,
        bucket: &str,
        partition: &str,
        contributions: &[(u64, i64)],
    ) -> Result<(), StoreError> {
        let mark = watermark(partition);
        loop {
            let item: Option<Item> =
                self.get_item(&self.tables.analytics, &[("metric", metric), ("bucket", bucket)]).await?;
            let seen = item.as_ref().and_then(|i| get_n(i, &mark).ok());
            let fresh: Vec<&(u64, i64)> =
                contributions.iter().filter(|(offset, _)| seen.is_none_or(|w| *offset as i64 > w)).collect();
            let Some(last) = fresh.iter().map(|(offset, _)| *offset).max() else { return Ok(()) };
            let sum: i64 = fresh.iter().map(|(_, amount)| amount).sum();
            let mut update = self
                .client
                .update_item()
                .table_name(&self.tables.analytics)
                .key("metric", s(metric))
                .key("bucket", s(bucket))
                .update_expression("ADD #value :sum SET #mark = :last")
                .expression_attribute_names("#value", "value")
                .expression_attribute_names("#mark", &mark)
                .expression_attribute_values(":sum", n(sum))
                .expression_attribute_values(":last", n(last as i64));
            update = match seen {
                Some(old) => update.condition_expression("#mark = :old").expression_attribute_values(":old", n(old)),
                None => update.condition_expression("attribute_not_exists(#mark)"),
            };
            match update.send().await {
                Ok(_) => return Ok(()),
                Err(e) if e.as_service_error().is_some_and(UpdateItemError::is_conditional_check_failed_exception) => {}
                Err(e) => return Err(sdk_error(e)),
            }
        }
    }
}

#[async_trait]
impl AnalyticsStore for DynamoStore {
    async fn ping(&self) -> Result<(), StoreError> {
        self.all_active(&[&self.tables.analytics, &self.tables.analytics_members]).await
    }

    async fn apply(&self, changes: &[Change]) -> Result<(), StoreError> {
        let mut contributions = Contributions::new();
        let mut add = |metric: &str, bucket: &str, partition: String, offset: u64, amount: i64| {
            contributions
                .entry((metric.to_owned(), bucket.to_owned()))
                .or_default()
                .entry(partition)
                .or_default()
                .push((offset, amount));
        };
        for change in changes {
            let p = &change.position;
            let partition = format!("{}_{}", p.topic, p.partition);
            match &change.op {
                Op::Count { metric, bucket, n } => add(metric, bucket, partition, p.offset, *n),
                Op::Distinct { set, member, metric, bucket } => {
                    let mark = format!("{}/{}/{}", p.topic, p.partition, p.offset);
                    if self.first_in_set(set, member, &mark).await? {
                        add(metric, bucket, partition, p.offset, 1);
                    }
                }
                Op::Membership { group_id, user_id, member } => {
                    let delta = self.membership(group_id, user_id, *member, p.offset).await?;
                    if delta != 0 {
                        add(GROUP_SIZE, group_id, partition, p.offset, delta);
                    }
                }
                Op::Mark { group_id, user_id, seq, member } => {
                    let _ = self
                        .client
                        .put_item()
                        .table_name(&self.tables.analytics_members)
                        .item("set_key", s(&marks_set(group_id, user_id)))
                        .item("member", s(&seq_key(*seq)))
                        .item("state", AttributeValue::Bool(*member))
                        .send()
                        .await
                        .map_err(sdk_error)?;
                }
            }
        }
        for ((metric, bucket), partitions) in &contributions {
            for (partition, amounts) in partitions {
                self.add_to_counter(metric, bucket, partition, amounts).await?;
            }
        }
        Ok(())
    }

    async fn counters(&self, metric: &str, from: &str, to: &str) -> Result<Vec<(String, i64)>, StoreError> {
        let query = self
            .client
            .query()
            .table_name(&self.tables.analytics)
            .key_condition_expression("metric = :m AND #bucket BETWEEN :from AND :to")
            .expression_attribute_names("#bucket", "bucket")
            .expression_attribute_values(":m", s(metric))
            .expression_attribute_values(":from", s(from))
            .expression_attribute_values(":to", s(to))
            .consistent_read(true);
        let items = super::query::all(query).await?;
        items.iter().map(|item| Ok((get_s(item, "bucket")?, get_n(item, "value").unwrap_or(0)))).collect()
    }

    async fn marks(&self, group_id: &str, user_id: &str) -> Result<Vec<MembershipMark>, StoreError> {
        let items = self.query_all(&self.tables.analytics_members, "set_key", &marks_set(group_id, user_id)).await?;
        items
            .iter()
            .map(|item| {
                let seq = get_s(item, "member")?;
                Ok(MembershipMark {
                    group_id: group_id.to_owned(),
                    user_id: user_id.to_owned(),
                    seq: seq.parse().map_err(|e| StoreError::corrupt("analytics_members", e))?,
                    member: item.get("state").and_then(|v| v.as_bool().ok()).copied().unwrap_or(true),
                    change_event_id: None,
                })
            })
            .collect()
    }
}
