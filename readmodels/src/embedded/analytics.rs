//! Analytics state in its own redb file: counters, the sets behind distinct counts, and how far
//! each partition has been applied, all in one transaction per batch, so a batch is applied
//! exactly once.
use std::{path::Path, sync::Arc};

use async_trait::async_trait;
use redb::{Database, ReadableTable, TableDefinition};

use crate::analytics::{AnalyticsStore, Change, GROUP_SIZE, Op};
use crate::{MembershipMark, StoreError, embedded::on_blocking_pool, error::storage_error};

/// (metric, bucket) -> value.
const COUNTERS: TableDefinition<'_, (&str, &str), i64> = TableDefinition::new("counters");
/// (set, member) -> is in it (membership can end; distinct sets only grow).
const MEMBERS: TableDefinition<'_, (&str, &str), bool> = TableDefinition::new("members");
/// (group id, user id, seq) -> member: the membership marks, for counting group messages.
const MARKS: TableDefinition<'_, (&str, &str, u64), bool> = TableDefinition::new("marks");
/// (topic, partition) -> the next offset to apply.
const APPLIED: TableDefinition<'_, (&str, u32), u64> = TableDefinition::new("applied");

#[derive(Clone)]
pub struct EmbeddedAnalytics {
    db: Arc<Database>,
}

impl EmbeddedAnalytics {
    /// Opens or creates the state at `path`. Blocks on disk.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let db = Database::create(path).map_err(storage_error)?;
        let txn = db.begin_write().map_err(storage_error)?;
        {
            let _ = txn.open_table(COUNTERS).map_err(storage_error)?;
            let _ = txn.open_table(MEMBERS).map_err(storage_error)?;
            let _ = txn.open_table(APPLIED).map_err(storage_error)?;
            let _ = txn.open_table(MARKS).map_err(storage_error)?;
        }
        txn.commit().map_err(storage_error)?;
        Ok(Self { db: Arc::new(db) })
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Database) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        on_blocking_pool(&self.db, f).await
    }
}

fn add(
    counters: &mut redb::Table<'_, (&str, &str), i64>,
    metric: &str,
    bucket: &str,
    n: i64,
) -> Result<(), StoreError> {
    let current = counters.get((metric, bucket)).map_err(storage_error)?.map_or(0, |v| v.value());
    let _ = counters.insert((metric, bucket), current + n).map_err(storage_error)?;
    Ok(())
}

#[async_trait]
impl AnalyticsStore for EmbeddedAnalytics {
    async fn ping(&self) -> Result<(), StoreError> {
        self.blocking(|db| db.begin_read().map(drop).map_err(storage_error)).await
    }

    async fn apply(&self, changes: &[Change]) -> Result<(), StoreError> {
        let changes = changes.to_vec();
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(storage_error)?;
            {
                let mut counters = txn.open_table(COUNTERS).map_err(storage_error)?;
                let mut members = txn.open_table(MEMBERS).map_err(storage_error)?;
                let mut applied = txn.open_table(APPLIED).map_err(storage_error)?;
                let mut marks = txn.open_table(MARKS).map_err(storage_error)?;
                let mut next: std::collections::HashMap<(String, u32), u64> = std::collections::HashMap::new();
                for change in &changes {
                    let p = &change.position;
                    let key = (p.topic.clone(), p.partition);
                    let floor = match next.get(&key) {
                        Some(_) => None,
                        None => applied.get((p.topic.as_str(), p.partition)).map_err(storage_error)?.map(|v| v.value()),
                    };
                    if floor.is_some_and(|floor| p.offset < floor) {
                        continue;
                    }
                    let entry = next.entry(key).or_insert(0);
                    *entry = (*entry).max(p.offset + 1);
                    match &change.op {
                        Op::Count { metric, bucket, n } => add(&mut counters, metric, bucket, *n)?,
                        Op::Distinct { set, member, metric, bucket } => {
                            if members.get((set.as_str(), member.as_str())).map_err(storage_error)?.is_none() {
                                let _ = members.insert((set.as_str(), member.as_str()), true).map_err(storage_error)?;
                                add(&mut counters, metric, bucket, 1)?;
                            }
                        }
                        Op::Membership { group_id, user_id, member } => {
                            let set = format!("group:{group_id}");
                            let was = members
                                .get((set.as_str(), user_id.as_str()))
                                .map_err(storage_error)?
                                .map(|v| v.value());
                            if was.unwrap_or(false) != *member {
                                let _ =
                                    members.insert((set.as_str(), user_id.as_str()), *member).map_err(storage_error)?;
                                add(&mut counters, GROUP_SIZE, group_id, if *member { 1 } else { -1 })?;
                            }
                        }
                        Op::Mark { group_id, user_id, seq, member } => {
                            let _ = marks
                                .insert((group_id.as_str(), user_id.as_str(), *seq), *member)
                                .map_err(storage_error)?;
                        }
                    }
                }
                for ((topic, partition), offset) in next {
                    let stored =
                        applied.get((topic.as_str(), partition)).map_err(storage_error)?.map_or(0, |v| v.value());
                    let _ = applied.insert((topic.as_str(), partition), stored.max(offset)).map_err(storage_error)?;
                }
            }
            txn.commit().map_err(storage_error)
        })
        .await
    }

    async fn counters(&self, metric: &str, from: &str, to: &str) -> Result<Vec<(String, i64)>, StoreError> {
        let (metric, from, to) = (metric.to_owned(), from.to_owned(), to.to_owned());
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(storage_error)?;
            let counters = txn.open_table(COUNTERS).map_err(storage_error)?;
            counters
                .range((metric.as_str(), from.as_str())..=(metric.as_str(), to.as_str()))
                .map_err(storage_error)?
                .map(|entry| {
                    let (key, value) = entry.map_err(storage_error)?;
                    Ok((key.value().1.to_owned(), value.value()))
                })
                .collect()
        })
        .await
    }

    async fn marks(&self, group_id: &str, user_id: &str) -> Result<Vec<MembershipMark>, StoreError> {
        let (group_id, user_id) = (group_id.to_owned(), user_id.to_owned());
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(storage_error)?;
            let marks = txn.open_table(MARKS).map_err(storage_error)?;
            let range = (group_id.as_str(), user_id.as_str(), 0)..=(group_id.as_str(), user_id.as_str(), u64::MAX);
            marks
                .range(range)
                .map_err(storage_error)?
                .map(|entry| {
                    let (key, member) = entry.map_err(storage_error)?;
                    let (_, _, seq) = key.value();
                    Ok(MembershipMark {
                        group_id: group_id.clone(),
                        user_id: user_id.clone(),
                        seq,
                        member: member.value(),
                        change_event_id: None,
                    })
                })
                .collect()
        })
        .await
    }
}
