//! Blocks in the embedded store: marks by conversation, and each blocker's list.
use std::ops::Bound;

use async_trait::async_trait;
use redb::TableDefinition;

use super::{AFTER_ALL_IDS, EmbeddedStore, from_json, to_json};
use crate::{BlockMark, BlockStore, BlockedUser, MAX_PAGE_ROWS, StoreError, error::storage_error};

/// (conversation id, seq) -> BlockMark.
pub(super) const BLOCK_MARKS: TableDefinition<'_, (&str, u64), &[u8]> = TableDefinition::new("block_marks");
/// (blocker id, blocked username) -> BlockedUser.
pub(super) const BLOCKED_USERS: TableDefinition<'_, (&str, &str), &[u8]> = TableDefinition::new("blocked_users");

#[async_trait]
impl BlockStore for EmbeddedStore {
    async fn ping(&self) -> Result<(), StoreError> {
        self.check().await
    }

    async fn put_block_marks(&self, marks: &[BlockMark]) -> Result<(), StoreError> {
        let marks = marks.to_vec();
        self.write(move |txn| {
            let mut by_conversation = txn.open_table(BLOCK_MARKS).map_err(storage_error)?;
            let mut lists = txn.open_table(BLOCKED_USERS).map_err(storage_error)?;
            for mark in &marks {
                let _ = by_conversation
                    .insert((mark.conversation_id.as_str(), mark.seq), to_json(mark)?.as_slice())
                    .map_err(storage_error)?;
                let key = (mark.blocker_id.as_str(), mark.blocked_username.as_str());
                if mark.blocked {
                    let _ = lists.insert(key, to_json(&BlockedUser::from(mark))?.as_slice()).map_err(storage_error)?;
                } else {
                    let _ = lists.remove(key).map_err(storage_error)?;
                }
            }
            Ok(())
        })
        .await
    }

    async fn block_marks(&self, conversation_id: &str) -> Result<Vec<BlockMark>, StoreError> {
        self.read(|db| {
            let txn = db.begin_read().map_err(storage_error)?;
            let table = txn.open_table(BLOCK_MARKS).map_err(storage_error)?;
            let range = table.range((conversation_id, 0)..=(conversation_id, u64::MAX)).map_err(storage_error)?;
            range
                .map(|entry| {
                    let (_, value) = entry.map_err(storage_error)?;
                    from_json("block_marks", value.value())
                })
                .collect()
        })
    }

    async fn blocked_users(
        &self,
        blocker_id: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<BlockedUser>, StoreError> {
        self.read(|db| {
            let txn = db.begin_read().map_err(storage_error)?;
            let table = txn.open_table(BLOCKED_USERS).map_err(storage_error)?;
            let start = match after {
                Some(after) => Bound::Excluded((blocker_id, after)),
                None => Bound::Included((blocker_id, "")),
            };
            let end = Bound::Excluded((blocker_id, AFTER_ALL_IDS));
            let range = table.range::<(&str, &str)>((start, end)).map_err(storage_error)?;
            range
                .take(limit.min(MAX_PAGE_ROWS))
                .map(|entry| {
                    let (_, value) = entry.map_err(storage_error)?;
                    from_json("blocked_users", value.value())
                })
                .collect()
        })
    }
}
