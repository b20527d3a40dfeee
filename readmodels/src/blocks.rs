//! The blocks read model: who blocks whom, as marks in each direct conversation's order (what
//! decides whether a message or receipt at one point of it stands) and as each blocker's list.
use async_trait::async_trait;
use confab_schemas::Event;
use serde::{Deserialize, Serialize};

use crate::StoreError;

/// A block, or its lifting, at one point of two users' direct conversation: a `UserBlocked` or
/// `UserUnblocked` at `seq` of the conversation's `confab.messages` partition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockMark {
    pub conversation_id: String,
    pub seq: u64,
    pub blocker_id: String,
    pub blocked_id: String,
    pub blocked_username: String,
    /// False: the block was lifted here.
    pub blocked: bool,
    pub at_ms: i64,
}

impl BlockMark {
    /// The mark a `UserBlocked` or `UserUnblocked` event at `seq` of its conversation makes.
    pub fn from_event(event: &Event, seq: u64) -> Option<Self> {
        let (payload, blocked) = event.block()?;
        Some(Self {
            conversation_id: payload.conversation_id.clone(),
            seq,
            blocker_id: payload.blocker_id.clone(),
            blocked_id: payload.blocked_id.clone(),
            blocked_username: payload.blocked_username.clone(),
            blocked,
            at_ms: event.occurred_at(),
        })
    }

    /// The block standing in a conversation just before `seq`, either way, if any: for each
    /// blocker, the newest of their `marks` (of one conversation) before `seq` decides. When both
    /// block each other, the one who blocked first. `u64::MAX` asks about now.
    pub fn standing(marks: &[BlockMark], seq: u64) -> Option<&BlockMark> {
        let mut newest: Vec<&BlockMark> = Vec::new();
        for mark in marks.iter().filter(|m| m.seq < seq) {
            match newest.iter_mut().find(|m| m.blocker_id == mark.blocker_id) {
                Some(known) if known.seq < mark.seq => *known = mark,
                Some(_) => {}
                None => newest.push(mark),
            }
        }
        newest.into_iter().filter(|m| m.blocked).min_by_key(|m| m.seq)
    }

    /// Whether `blocker_id` blocks the other user of the conversation now: their newest mark
    /// says so.
    pub fn blocks(marks: &[BlockMark], blocker_id: &str) -> bool {
        marks.iter().filter(|m| m.blocker_id == blocker_id).max_by_key(|m| m.seq).is_some_and(|m| m.blocked)
    }
}

/// One user on a blocker's list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockedUser {
    pub blocker_id: String,
    pub blocked_id: String,
    pub blocked_username: String,
    pub since_ms: i64,
}

impl From<&BlockMark> for BlockedUser {
    fn from(mark: &BlockMark) -> Self {
        Self {
            blocker_id: mark.blocker_id.clone(),
            blocked_id: mark.blocked_id.clone(),
            blocked_username: mark.blocked_username.clone(),
            since_ms: mark.at_ms,
        }
    }
}

/// Blocks, by conversation and by blocker.
#[async_trait]
pub trait BlockStore: Send + Sync + 'static {
    /// Answers once the store can serve reads.
    async fn ping(&self) -> Result<(), StoreError>;

    /// Records marks and, in the order given, moves each blocker's list: a block puts the blocked
    /// user on it, a lifting takes them off. Recording the same marks again in the same order
    /// changes nothing.
    async fn put_block_marks(&self, marks: &[BlockMark]) -> Result<(), StoreError>;

    /// Every mark of one conversation, oldest first.
    async fn block_marks(&self, conversation_id: &str) -> Result<Vec<BlockMark>, StoreError>;

    /// Up to `limit` (at most [`crate::MAX_PAGE_ROWS`]) of the users `blocker_id` blocks, by
    /// username, those after `after` when paging.
    async fn blocked_users(
        &self,
        blocker_id: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<BlockedUser>, StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mark(seq: u64, blocker: &str, blocked: bool) -> BlockMark {
        let blocked_id = if blocker == "a" { "b" } else { "a" };
        BlockMark {
            conversation_id: "c".into(),
            seq,
            blocker_id: blocker.into(),
            blocked_id: blocked_id.into(),
            blocked_username: blocked_id.into(),
            blocked,
            at_ms: 0,
        }
    }

    #[test]
    fn a_block_stands_from_its_mark_until_its_blocker_lifts_it() {
        let marks = [mark(10, "a", true), mark(20, "a", false)];
        assert_eq!(BlockMark::standing(&marks, 10), None, "a message before the block stands");
        assert_eq!(BlockMark::standing(&marks, 11).map(|m| m.seq), Some(10));
        assert_eq!(BlockMark::standing(&marks, 21), None, "lifted");
        assert_eq!(BlockMark::standing(&[], u64::MAX), None);
    }

    #[test]
    fn either_side_blocking_closes_the_conversation_until_both_lift() {
        let marks = [mark(10, "a", true), mark(15, "b", true), mark(20, "a", false), mark(30, "b", false)];
        assert_eq!(BlockMark::standing(&marks, 16).map(|m| m.blocker_id.as_str()), Some("a"));
        assert_eq!(BlockMark::standing(&marks, 25).map(|m| m.blocker_id.as_str()), Some("b"));
        assert_eq!(BlockMark::standing(&marks, u64::MAX), None);
        assert!(!BlockMark::blocks(&marks, "a") && !BlockMark::blocks(&marks, "b"));
        assert!(BlockMark::blocks(&marks[..2], "b") && BlockMark::blocks(&marks[..3], "b"));
        assert!(!BlockMark::blocks(&marks[..3], "a"));
        // Marks in any order decide alike.
        let mut shuffled = marks.to_vec();
        shuffled.reverse();
        assert_eq!(BlockMark::standing(&shuffled, 25).map(|m| m.seq), Some(15));
    }
}
