//! Groups: creating, renaming, adding, removing and promoting members, and who may do what.
//! Membership comes from the groups read model; every change is an event on `confab.groups`,
//! checked again by the projection in log order.
use std::{collections::HashSet, sync::Arc};

use confab_readmodels::{GroupChange, GroupRole, GroupRow, MemberRow, Sight, UserRow};
use confab_schemas::{
    Event, GroupCreated, GroupCreatedPayload, GroupMember, GroupMemberAdded, GroupMemberAddedPayload,
    GroupMemberRemoved, GroupMemberRemovedPayload, GroupMemberRoleChanged, GroupMemberRoleChangedPayload,
    GroupMembershipMarked, GroupMembershipMarkedPayload, GroupRenamed, GroupRenamedPayload,
};
use futures::{StreamExt, TryStreamExt, stream};
use uuid::Uuid;

use crate::{
    Caller, ChatError, UseCases, normalize_username, rate_limits::UserAction, text::unsafe_in_name, time::now_ms,
};

/// Lookups of one request in flight at once.
const LOOKUP_CONCURRENCY: usize = 16;

/// A new group: its name and the usernames to add besides the creator.
#[derive(Debug, Clone)]
pub struct NewGroup {
    pub name: String,
    pub members: Vec<String>,
}

fn group_not_found() -> ChatError {
    ChatError::not_found("group_not_found", "no group with that id")
}

/// A group id from a path: a UUID, in its canonical form; anything else names no group.
fn parse_group_id(raw: &str) -> Result<String, ChatError> {
    Uuid::parse_str(raw).map(|id| id.to_string()).map_err(|_| group_not_found())
}

/// Longest group name, in characters once trimmed.
pub const MAX_GROUP_NAME_CHARS: usize = 100;

/// A group name: 1-100 characters once trimmed.
fn group_name(raw: &str) -> Result<String, ChatError> {
    let name = raw.trim();
    if !(1..=MAX_GROUP_NAME_CHARS).contains(&name.chars().count()) || unsafe_in_name(name) {
        return Err(ChatError::invalid(
            "invalid_group_name",
            "name must be 1-100 characters, without control characters or bidirectional overrides",
        ));
    }
    Ok(name.to_owned())
}

/// `admin` or `member`.
fn parse_role(raw: &str) -> Result<GroupRole, ChatError> {
    match raw {
        "admin" => Ok(GroupRole::Admin),
        "member" => Ok(GroupRole::Member),
        _ => Err(ChatError::invalid("invalid_role", "role must be 'admin' or 'member'")),
    }
}

fn group_full(limit: usize) -> ChatError {
    ChatError::conflict("group_full", format!("a group may have at most {limit} members"))
}

fn member_not_found(username: &str) -> ChatError {
    ChatError::not_found("member_not_found", format!("{username} is not a member"))
}

impl UseCases {
    /// The group and the caller's membership: not found for no such group, forbidden for a
    /// non-member.
    pub async fn membership(&self, raw_group_id: &str, user_id: &str) -> Result<(GroupRow, MemberRow), ChatError> {
        let group_id = parse_group_id(raw_group_id)?;
        let read = self.read();
        let group = read.groups.group(&group_id).await?.ok_or_else(group_not_found)?;
        let member = read
            .groups
            .member(&group_id, user_id)
            .await?
            .ok_or_else(|| ChatError::forbidden("not_a_member", "you are not a member of this group"))?;
        Ok((group, member))
    }

    /// As [`UseCases::membership`], and the caller must be an admin.
    async fn admin(&self, raw_group_id: &str, user_id: &str) -> Result<(GroupRow, MemberRow), ChatError> {
        let (group, member) = self.membership(raw_group_id, user_id).await?;
        if member.role != GroupRole::Admin {
            return Err(ChatError::forbidden("not_an_admin", "only the group's admins may do this"));
        }
        Ok((group, member))
    }

    /// Creates a group with the caller as its admin; answers what it is made of.
    pub async fn create_group(&self, caller: &Caller, command: NewGroup) -> Result<GroupChange, ChatError> {
        self.rate_limits.user(UserAction::GroupChange, &caller.sub)?;
        let name = group_name(&command.name)?;
        let limit = self.limits.group_member_limit;
        let mut seen = HashSet::from([caller.name.clone()]);
        let wanted: Vec<String> =
            command.members.iter().map(|m| m.trim().to_lowercase()).filter(|m| seen.insert(m.clone())).collect();
        if wanted.len() + 1 > limit {
            return Err(ChatError::invalid(
                "too_many_members",
                format!("a group may have at most {limit} members, its creator included"),
            ));
        }
        let read = self.read();
        let lookups = wanted.iter().cloned().map(|name| {
            let users = Arc::clone(&read.users);
            // A name no account can have is not looked up (some stores refuse such keys).
            async move {
                if normalize_username(&name).is_ok() {
                    Ok::<_, confab_readmodels::StoreError>(users.user_by_name(&name).await?.filter(UserRow::is_active))
                } else {
                    Ok(None)
                }
            }
        });
        let found: Vec<_> = stream::iter(lookups).buffered(LOOKUP_CONCURRENCY).try_collect().await?;
        let unknown: Vec<&str> =
            wanted.iter().zip(&found).filter(|(_, user)| user.is_none()).map(|(name, _)| name.as_str()).collect();
        if !unknown.is_empty() {
            return Err(ChatError::not_found("users_not_found", format!("no users named: {}", unknown.join(", "))));
        }
        let added: Vec<&str> = found.iter().flatten().map(|user| user.user_id.as_str()).collect();
        self.refuse_adds_across_blocks(&caller.sub, &added).await?;
        let creator = GroupMember { user_id: caller.sub.clone(), username: caller.name.clone(), role: "admin".into() };
        let members: Vec<GroupMember> = std::iter::once(creator)
            .chain(found.into_iter().flatten().map(|user| GroupMember {
                user_id: user.user_id,
                username: user.username,
                role: GroupRole::Member.as_str().into(),
            }))
            .collect();
        let occurred_at = now_ms();
        let created = GroupCreated {
            event_id: Uuid::now_v7().to_string(),
            occurred_at,
            actor_id: caller.sub.clone(),
            payload: GroupCreatedPayload { group_id: Uuid::now_v7().to_string(), name, members },
        };
        let position = self.publisher.publish(&Event::GroupCreated(created.clone()), occurred_at).await?;
        self.read_your_write(&position).await;
        Ok(GroupChange::created(&created, position.offset))
    }

    /// Renames a group (admins only); answers its id.
    pub async fn rename_group(&self, caller: &Caller, raw_group_id: &str, name: &str) -> Result<String, ChatError> {
        self.rate_limits.user(UserAction::GroupChange, &caller.sub)?;
        let name = group_name(name)?;
        let (group, _) = self.admin(raw_group_id, &caller.sub).await?;
        let occurred_at = now_ms();
        let event = Event::GroupRenamed(GroupRenamed {
            event_id: Uuid::now_v7().to_string(),
            occurred_at,
            actor_id: caller.sub.clone(),
            payload: GroupRenamedPayload { group_id: group.group_id.clone(), name },
        });
        let position = self.publisher.publish(&event, occurred_at).await?;
        self.read_your_write(&position).await;
        Ok(group.group_id)
    }

    /// Adds `username` (admins only; adding a member twice changes nothing); answers the group's
    /// id. The addition is marked in the group's message order at once: the new member sees
    /// what comes after that mark ([`confab_readmodels::Sight`]), however far behind the read
    /// models are.
    pub async fn add_member(&self, caller: &Caller, raw_group_id: &str, username: &str) -> Result<String, ChatError> {
        self.rate_limits.user(UserAction::GroupChange, &caller.sub)?;
        let (group, _) = self.admin(raw_group_id, &caller.sub).await?;
        let group_id = group.group_id;
        let user = self.user_named(username).await?;
        let read = self.read();
        if let Some(existing) = read.groups.member(&group_id, &user.user_id).await? {
            // An addition whose mark never reached the log (the request failed in between) is
            // marked now; if the first mark is only not projected yet, it still stands.
            if let Some(change) = existing.added_by
                && Sight::marked(&change, &read.messages.membership_marks(&group_id, &user.user_id).await?)
                    == Sight::Nothing
            {
                self.mark_membership(caller, &group_id, &user.user_id, true, change).await?;
            }
            return Ok(group_id);
        }
        self.refuse_adds_across_blocks(&caller.sub, &[&user.user_id]).await?;
        let limit = self.limits.group_member_limit;
        if read.groups.members(&group_id).await?.len() >= limit {
            return Err(group_full(limit));
        }
        let occurred_at = now_ms();
        let event_id = Uuid::now_v7().to_string();
        let event = Event::GroupMemberAdded(GroupMemberAdded {
            event_id: event_id.clone(),
            occurred_at,
            actor_id: caller.sub.clone(),
            payload: GroupMemberAddedPayload {
                group_id: group_id.clone(),
                user_id: user.user_id.clone(),
                username: user.username,
                history_after_message_id: None,
                member_limit: i32::try_from(limit).ok(),
                marked: true,
            },
        });
        let position = self.publisher.publish(&event, occurred_at).await?;
        // Whatever the projection decides: a mark of an addition that did not take effect
        // places no membership.
        self.mark_membership(caller, &group_id, &user.user_id, true, event_id).await?;
        // The projection has the last word, in log order: another admin's addition at the same
        // time may have taken the last place.
        if !self.caught_up(&position).await {
            return Ok(group_id);
        }
        if read.groups.member(&group_id, &user.user_id).await?.is_none() {
            if read.groups.members(&group_id).await?.len() >= limit {
                return Err(group_full(limit));
            }
            let _ = self.admin(&group_id, &caller.sub).await?;
        }
        Ok(group_id)
    }

    /// Removes `username`: anyone may leave, admins may remove others.
    pub async fn remove_member(&self, caller: &Caller, raw_group_id: &str, username: &str) -> Result<(), ChatError> {
        self.rate_limits.user(UserAction::GroupChange, &caller.sub)?;
        let (group, me) = self.membership(raw_group_id, &caller.sub).await?;
        let user = self.user_named(username).await?;
        if user.user_id != caller.sub && me.role != GroupRole::Admin {
            return Err(ChatError::forbidden("not_an_admin", "only the group's admins may remove others"));
        }
        let Some(member) = self.read().groups.member(&group.group_id, &user.user_id).await? else {
            return Err(member_not_found(&user.username));
        };
        let occurred_at = now_ms();
        let event_id = Uuid::now_v7().to_string();
        let event = Event::GroupMemberRemoved(GroupMemberRemoved {
            event_id: event_id.clone(),
            occurred_at,
            actor_id: caller.sub.clone(),
            payload: GroupMemberRemovedPayload {
                group_id: group.group_id.clone(),
                user_id: member.user_id.clone(),
                username: member.username,
            },
        });
        let position = self.publisher.publish(&event, occurred_at).await?;
        // Marked once it took effect: a removal the projection refused must not drop the
        // member's messages.
        if self.caught_up(&position).await
            && self.read().groups.member(&group.group_id, &member.user_id).await?.is_none()
            && let Err(error) = self.mark_membership(caller, &group.group_id, &member.user_id, false, event_id).await
        {
            tracing::warn!(%error, group_id = group.group_id, "removal not marked in the group's message order");
        }
        Ok(())
    }

    /// Marks a membership change in the group's message order (`GroupMembershipMarked` on
    /// `confab.messages`): where an addition's view of the group starts, and from where a
    /// removed member's messages, sent through a process that had not heard of it yet, are not
    /// part of the group.
    async fn mark_membership(
        &self,
        caller: &Caller,
        group_id: &str,
        user_id: &str,
        member: bool,
        change: String,
    ) -> Result<(), ChatError> {
        let occurred_at = now_ms();
        let mark = Event::GroupMembershipMarked(GroupMembershipMarked {
            event_id: Uuid::now_v7().to_string(),
            occurred_at,
            actor_id: caller.sub.clone(),
            payload: GroupMembershipMarkedPayload {
                group_id: group_id.to_owned(),
                user_id: user_id.to_owned(),
                member,
                change_event_id: change,
            },
        });
        let _ = self.publisher.publish(&mark, occurred_at).await?;
        Ok(())
    }

    /// Gives `username` the role `role` (admins only; a group keeps at least one admin);
    /// answers the group's id.
    pub async fn set_role(
        &self,
        caller: &Caller,
        raw_group_id: &str,
        username: &str,
        role: &str,
    ) -> Result<String, ChatError> {
        self.rate_limits.user(UserAction::GroupChange, &caller.sub)?;
        let role = parse_role(role)?;
        let (group, _) = self.admin(raw_group_id, &caller.sub).await?;
        let group_id = group.group_id;
        let user = self.user_named(username).await?;
        let read = self.read();
        let Some(member) = read.groups.member(&group_id, &user.user_id).await? else {
            return Err(member_not_found(&user.username));
        };
        if member.role == role {
            return Ok(group_id);
        }
        if role == GroupRole::Member {
            let admins = read.groups.members(&group_id).await?.iter().filter(|m| m.role == GroupRole::Admin).count();
            if admins <= 1 {
                return Err(ChatError::conflict("last_admin", "a group needs an admin: make another admin first"));
            }
        }
        let occurred_at = now_ms();
        let event = Event::GroupMemberRoleChanged(GroupMemberRoleChanged {
            event_id: Uuid::now_v7().to_string(),
            occurred_at,
            actor_id: caller.sub.clone(),
            payload: GroupMemberRoleChangedPayload {
                group_id: group_id.clone(),
                user_id: member.user_id,
                username: member.username,
                role: role.as_str().into(),
            },
        });
        let position = self.publisher.publish(&event, occurred_at).await?;
        self.read_your_write(&position).await;
        Ok(group_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_roles_and_ids() {
        assert_eq!(group_name("  climbing ").ok().as_deref(), Some("climbing"));
        assert_eq!(group_name("   ").err().map(|e| e.code()), Some("invalid_group_name"));
        assert_eq!(group_name(&"x".repeat(101)).err().map(|e| e.code()), Some("invalid_group_name"));
        assert_eq!(parse_role("admin").ok(), Some(GroupRole::Admin));
        assert_eq!(parse_role("owner").err().map(|e| e.code()), Some("invalid_role"));
        assert_eq!(parse_group_id("not-a-uuid").err().map(|e| e.code()), Some("group_not_found"));
        let id = Uuid::now_v7();
        assert_eq!(parse_group_id(&id.simple().to_string()).ok(), Some(id.to_string()), "canonical form");
    }
}
