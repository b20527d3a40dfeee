//! The analytics state: counters the analytics consumer keeps in a store of its own (no
//! read-model table). Every change carries the position of its event, which is what lets a
//! replay from offset 0 reach the same numbers instead of doubling them.
mod summary;

use async_trait::async_trait;
use confab_eventlog::Position;

pub use summary::{Summary, day_range, summary};

use crate::{MembershipMark, StoreError};

/// One change to the analytics state, made by the event at `position`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub position: Position,
    pub op: Op,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// Adds `n` to the counter (`metric`, `bucket`).
    Count { metric: &'static str, bucket: String, n: i64 },
    /// Adds 1 to (`metric`, `bucket`) the first time `member` is seen in `set`.
    Distinct { set: String, member: String, metric: &'static str, bucket: String },
    /// A user is now in (or out of) a group; the group's size moves only when that is news.
    Membership { group_id: String, user_id: String, member: bool },
    /// A membership mark on `confab.messages` at `seq`: kept so that a group message from a
    /// removed sender is not counted, by the same rule the messages projection applies. A block
    /// is kept the same way: `group_id` is the direct conversation, `user_id` the blocker, and
    /// `member` false while they block, so a direct message after it is not counted either.
    Mark { group_id: String, user_id: String, seq: u64, member: bool },
}

/// The counter of each group's size: bucket = group id.
pub const GROUP_SIZE: &str = "group.size";

/// Where the analytics consumer keeps its numbers.
#[async_trait]
pub trait AnalyticsStore: Send + Sync + 'static {
    async fn ping(&self) -> Result<(), StoreError>;

    /// Applies changes in log order; a change whose event was applied before changes nothing.
    async fn apply(&self, changes: &[Change]) -> Result<(), StoreError>;

    /// The counters of `metric` whose buckets are in `from..=to` (string order), by bucket.
    async fn counters(&self, metric: &str, from: &str, to: &str) -> Result<Vec<(String, i64)>, StoreError>;

    /// The marks kept of `user_id` in `group_id`, oldest first.
    async fn marks(&self, group_id: &str, user_id: &str) -> Result<Vec<MembershipMark>, StoreError>;
}
