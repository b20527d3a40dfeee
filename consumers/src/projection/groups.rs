//! `confab.groups` -> groups, members and each user's group list. The API checks permissions
//! before it appends, but only the log's order is authoritative: each change is checked again here
//! against the group as it stands at that point of the log, so two admins acting at once end in
//! the state their events explain, whatever the API saw.
use std::sync::Arc;

use async_trait::async_trait;
use confab_schemas::{
    Event, GroupCreated, GroupMemberAdded, GroupMemberRemoved, GroupMemberRoleChanged, GroupRenamed, Topic,
};

use crate::projection::{LoggedEvent, Projection, ProjectionSpec};
use confab_readmodels::{ChangeOutcome, GroupChange, GroupRole, GroupRow, GroupStore, MemberRow, StoreError};

/// `confab.groups` into groups and their members.
pub const GROUPS: ProjectionSpec = ProjectionSpec {
    name: "groups",
    topics: &[Topic::Groups],
    build: Some(|sinks| Arc::new(GroupsProjection::new(Arc::clone(&sinks.read_models.groups)))),
};

pub struct GroupsProjection {
    store: Arc<dyn GroupStore>,
}

impl GroupsProjection {
    pub fn new(store: Arc<dyn GroupStore>) -> Self {
        Self { store }
    }
}

#[async_trait]
impl Projection for GroupsProjection {
    fn spec(&self) -> &'static ProjectionSpec {
        &GROUPS
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.store.ping().await
    }

    /// One event at a time: each decision depends on the state the one before left.
    async fn apply(&self, events: &[LoggedEvent]) -> Result<(), StoreError> {
        for logged in events {
            let offset = logged.position.offset;
            let change = match &logged.event {
                Event::GroupCreated(e) => self.created(e, offset).await?,
                Event::GroupMemberAdded(e) => self.member_added(e, offset).await?,
                Event::GroupMemberRemoved(e) => self.member_removed(e, offset).await?,
                Event::GroupRenamed(e) => self.renamed(e, offset).await?,
                Event::GroupMemberRoleChanged(e) => self.role_changed(e, offset).await?,
                _ => None,
            };
            if let Some(change) = change {
                self.store.apply_group_change(&change).await?;
            }
        }
        Ok(())
    }
}

/// A change that only records that the event was seen: a refused event stays refused even if a
/// later state would allow it, should it be delivered again.
fn nothing(mut group: GroupRow, offset: u64) -> GroupChange {
    group.next_offset = offset + 1;
    GroupChange { group, put_members: Vec::new(), remove_members: Vec::new() }
}

impl GroupsProjection {
    /// The group, if it exists and has not applied this event yet.
    async fn pending(&self, group_id: &str, offset: u64) -> Result<Option<GroupRow>, StoreError> {
        Ok(self.store.group(group_id).await?.filter(|g| offset >= g.next_offset))
    }

    async fn is_admin(&self, group_id: &str, user_id: &str) -> Result<bool, StoreError> {
        Ok(self.store.member(group_id, user_id).await?.is_some_and(|m| m.role == GroupRole::Admin))
    }

    /// Whether one more member fits under `limit` (none: no limit, as version 1 records say).
    async fn has_room(&self, group_id: &str, limit: Option<i32>) -> Result<bool, StoreError> {
        let Some(limit) = limit else { return Ok(true) };
        let members = self.store.members(group_id).await?.len();
        Ok(usize::try_from(limit).is_ok_and(|limit| members < limit))
    }

    async fn created(&self, e: &GroupCreated, offset: u64) -> Result<Option<GroupChange>, StoreError> {
        if self.store.group(&e.payload.group_id).await?.is_some() {
            return Ok(None);
        }
        Ok(Some(GroupChange::created(e, offset)))
    }

    /// The group a membership change at `offset` applies to, if it has not applied it yet; a
    /// change to no group is recorded as refused.
    async fn deciding(&self, group_id: &str, offset: u64) -> Result<Option<GroupRow>, StoreError> {
        match self.store.group(group_id).await? {
            None => {
                self.decided(group_id, offset, false).await?;
                Ok(None)
            }
            Some(group) => Ok(Some(group).filter(|g| offset >= g.next_offset)),
        }
    }

    async fn decided(&self, group_id: &str, offset: u64, applied: bool) -> Result<(), StoreError> {
        self.store.record_outcome(&ChangeOutcome { group_id: group_id.to_owned(), offset, applied }).await
    }

    async fn member_added(&self, e: &GroupMemberAdded, offset: u64) -> Result<Option<GroupChange>, StoreError> {
        let p = &e.payload;
        let Some(group) = self.deciding(&p.group_id, offset).await? else {
            return Ok(None);
        };
        let mut change = nothing(group, offset);
        let applied = self.is_admin(&p.group_id, &e.actor_id).await?
            && self.store.member(&p.group_id, &p.user_id).await?.is_none()
            && self.has_room(&p.group_id, p.member_limit).await?;
        self.decided(&p.group_id, offset, applied).await?;
        if applied {
            change.put_members.push(MemberRow {
                group_id: p.group_id.clone(),
                user_id: p.user_id.clone(),
                username: p.username.clone(),
                role: GroupRole::Member,
                joined_at_ms: e.occurred_at,
                seniority: MemberRow::seniority(offset, 0),
                history_after: if p.marked { None } else { p.history_after_message_id.clone() },
                added_by: p.marked.then(|| e.event_id.clone()),
            });
        }
        Ok(Some(change))
    }

    async fn member_removed(&self, e: &GroupMemberRemoved, offset: u64) -> Result<Option<GroupChange>, StoreError> {
        let p = &e.payload;
        let Some(group) = self.deciding(&p.group_id, offset).await? else {
            return Ok(None);
        };
        let mut change = nothing(group, offset);
        let leaving = self.store.member(&p.group_id, &p.user_id).await?;
        let allowed = e.actor_id == p.user_id || self.is_admin(&p.group_id, &e.actor_id).await?;
        self.decided(&p.group_id, offset, leaving.is_some() && allowed).await?;
        let Some(leaving) = leaving.filter(|_| allowed) else {
            return Ok(Some(change));
        };
        if leaving.role == GroupRole::Admin {
            // The last admin going hands the group to the longest-standing member who stays.
            // Chosen regardless of role, so redoing a half-applied removal picks the same one.
            let staying: Vec<MemberRow> =
                self.store.members(&p.group_id).await?.into_iter().filter(|m| m.user_id != p.user_id).collect();
            if !staying.iter().any(|m| m.role == GroupRole::Admin)
                && let Some(mut heir) = staying.into_iter().min_by(|a, b| a.seniority.cmp(&b.seniority))
            {
                heir.role = GroupRole::Admin;
                change.put_members.push(heir);
            }
        }
        change.remove_members.push(leaving.user_id);
        Ok(Some(change))
    }

    async fn renamed(&self, e: &GroupRenamed, offset: u64) -> Result<Option<GroupChange>, StoreError> {
        let p = &e.payload;
        let Some(group) = self.pending(&p.group_id, offset).await? else {
            return Ok(None);
        };
        let mut change = nothing(group, offset);
        if self.is_admin(&p.group_id, &e.actor_id).await? {
            change.group.name = p.name.clone();
        }
        Ok(Some(change))
    }

    async fn role_changed(&self, e: &GroupMemberRoleChanged, offset: u64) -> Result<Option<GroupChange>, StoreError> {
        let p = &e.payload;
        let Some(group) = self.pending(&p.group_id, offset).await? else {
            return Ok(None);
        };
        let mut change = nothing(group, offset);
        let role = GroupRole::from_event(&p.role);
        let Some(mut target) = self.store.member(&p.group_id, &p.user_id).await? else {
            return Ok(Some(change));
        };
        if target.role == role || !self.is_admin(&p.group_id, &e.actor_id).await? {
            return Ok(Some(change));
        }
        if role == GroupRole::Member {
            // Never leave a group without an admin.
            let admins = self.store.members(&p.group_id).await?.iter().filter(|m| m.role == GroupRole::Admin).count();
            if admins <= 1 {
                return Ok(Some(change));
            }
        }
        target.role = role;
        change.put_members.push(target);
        Ok(Some(change))
    }
}
