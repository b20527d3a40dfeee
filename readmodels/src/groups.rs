//! The groups read model: groups, their members, and each user's groups.
use async_trait::async_trait;
use confab_schemas::GroupCreated;
use serde::{Deserialize, Serialize};

use crate::{GroupMessageRow, StoreError};

/// What a member may do in a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GroupRole {
    Admin,
    Member,
}

impl GroupRole {
    /// The role an event names; anything but `admin` is a plain member, the safe reading.
    pub fn from_event(role: &str) -> Self {
        if role == "admin" { GroupRole::Admin } else { GroupRole::Member }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            GroupRole::Admin => "admin",
            GroupRole::Member => "member",
        }
    }
}

/// A group's own attributes. `next_offset` is the offset after the last `confab.groups` event
/// applied to it: events below it are never applied again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupRow {
    pub group_id: String,
    pub name: String,
    pub owner_id: String,
    pub owner_username: String,
    pub created_at_ms: i64,
    pub next_offset: u64,
}

/// One member of a group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberRow {
    pub group_id: String,
    pub user_id: String,
    pub username: String,
    pub role: GroupRole,
    pub joined_at_ms: i64,
    /// Sorts members by how long they have stood: the offset of the event that added them, then
    /// their place in it.
    pub seniority: String,
    /// For an unmarked addition: the member sees only the group's messages after this one;
    /// none = the whole history.
    pub history_after: Option<String>,
    /// For a marked addition: its event id, whose `GroupMembershipMarked` places where the
    /// member's view of the group starts (see [`crate::Sight`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub added_by: Option<String>,
}

impl MemberRow {
    pub fn seniority(offset: u64, index: usize) -> String {
        format!("{offset:020}.{index:06}")
    }
}

/// What one `confab.groups` event does to a group, written as one unit: member puts first, then
/// removals, then the group row with its new `next_offset`, so an event interrupted half way is
/// applied again in full and ends the same.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupChange {
    pub group: GroupRow,
    pub put_members: Vec<MemberRow>,
    /// User ids.
    pub remove_members: Vec<String>,
}

impl GroupChange {
    /// What a creation at `offset` makes: fixed by the event alone, so the API can answer with it
    /// without waiting for a read.
    pub fn created(e: &GroupCreated, offset: u64) -> GroupChange {
        let p = &e.payload;
        let mut members: Vec<MemberRow> = Vec::with_capacity(p.members.len());
        for (index, m) in p.members.iter().enumerate() {
            if members.iter().any(|seen| seen.user_id == m.user_id) {
                continue;
            }
            let role = if m.user_id == e.actor_id { GroupRole::Admin } else { GroupRole::from_event(&m.role) };
            members.push(MemberRow {
                group_id: p.group_id.clone(),
                user_id: m.user_id.clone(),
                username: m.username.clone(),
                role,
                joined_at_ms: e.occurred_at,
                seniority: MemberRow::seniority(offset, index),
                history_after: None,
                added_by: None,
            });
        }
        let owner_username =
            members.iter().find(|m| m.user_id == e.actor_id).map(|m| m.username.clone()).unwrap_or_default();
        let group = GroupRow {
            group_id: p.group_id.clone(),
            name: p.name.clone(),
            owner_id: e.actor_id.clone(),
            owner_username,
            created_at_ms: e.occurred_at,
            next_offset: offset + 1,
        };
        GroupChange { group, put_members: members, remove_members: Vec::new() }
    }
}

/// What a membership change (an addition or a removal at `offset` of `confab.groups`) did, as
/// the groups projection decided it at that point of the log: `applied`, or refused (not an
/// admin, already a member, the group full, no such group). The notifier and the analytics
/// consumer act on this, never on the event alone. Recorded before the change is written; a
/// redo decides the same, as the state it decides on is the same.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeOutcome {
    pub group_id: String,
    pub offset: u64,
    pub applied: bool,
}

/// Whether the membership change at `offset` (of the group's `confab.groups` partition) was
/// applied; None until the groups projection has decided it. A change it passed without an
/// outcome, from before outcomes were kept, counts as applied, as it did then. The group row is
/// read first: it is written after the outcome, so once it has passed `offset` the outcome read
/// next is there, or never was.
pub async fn change_applied(groups: &dyn GroupStore, group_id: &str, offset: u64) -> Result<Option<bool>, StoreError> {
    let passed = groups.group(group_id).await?.is_some_and(|g| g.next_offset > offset);
    match groups.outcome(group_id, offset).await? {
        Some(applied) => Ok(Some(applied)),
        None => Ok(passed.then_some(true)),
    }
}

/// One of a user's groups, as their group list shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupSummary {
    pub group: GroupRow,
    pub membership: MemberRow,
    pub last_message: Option<GroupMessageRow>,
}

/// Groups and their members, and each user's groups.
#[async_trait]
pub trait GroupStore: Send + Sync + 'static {
    /// Answers once the store can serve reads.
    async fn ping(&self) -> Result<(), StoreError>;

    async fn group(&self, group_id: &str) -> Result<Option<GroupRow>, StoreError>;

    async fn member(&self, group_id: &str, user_id: &str) -> Result<Option<MemberRow>, StoreError>;

    /// Every member, longest-standing first.
    async fn members(&self, group_id: &str) -> Result<Vec<MemberRow>, StoreError>;

    /// Writes what one event did; see [`GroupChange`] for the order that makes it safe to redo.
    async fn apply_group_change(&self, change: &GroupChange) -> Result<(), StoreError>;

    /// Every group the user is a member of, with its last message; unordered.
    async fn groups_of(&self, user_id: &str) -> Result<Vec<GroupSummary>, StoreError>;

    /// Records what a membership change did (see [`ChangeOutcome`]).
    async fn record_outcome(&self, outcome: &ChangeOutcome) -> Result<(), StoreError>;

    /// Whether the membership change at `offset` was applied; None until the groups projection
    /// has decided it.
    async fn outcome(&self, group_id: &str, offset: u64) -> Result<Option<bool>, StoreError>;
}
