//! Group chat: `/groups/...`. Membership comes from the groups read model; every change is an
//! event on `confab.groups`, checked again by the projection in log order.

pub(crate) mod manage;
pub(crate) mod members;
pub(crate) mod messages;

use confab_consumers::store::{GroupRole, GroupRow, MemberRow, UserRow};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{ApiError, AppState, routes::auth::normalize_username, time::rfc3339};

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct MemberView {
    user_id: String,
    username: String,
    /// `admin` or `member`.
    role: &'static str,
    /// RFC 3339 UTC: when they were (last) added.
    joined_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GroupView {
    group_id: String,
    name: String,
    /// The creator's username.
    owner: String,
    owner_id: String,
    /// Longest-standing first.
    members: Vec<MemberView>,
    created_at: String,
}

impl MemberView {
    fn new(m: &MemberRow) -> Self {
        Self {
            user_id: m.user_id.clone(),
            username: m.username.clone(),
            role: m.role.as_str(),
            joined_at: rfc3339(m.joined_at_ms),
        }
    }
}

impl GroupView {
    fn new(group: &GroupRow, members: &[MemberRow]) -> Self {
        Self {
            group_id: group.group_id.clone(),
            name: group.name.clone(),
            owner: group.owner_username.clone(),
            owner_id: group.owner_id.clone(),
            members: members.iter().map(MemberView::new).collect(),
            created_at: rfc3339(group.created_at_ms),
        }
    }
}

fn group_not_found() -> ApiError {
    ApiError::not_found("group_not_found", "no group with that id")
}

/// A group id from a path: a UUID, in its canonical form; anything else names no group.
fn parse_group_id(raw: &str) -> Result<String, ApiError> {
    Uuid::parse_str(raw).map(|id| id.to_string()).map_err(|_| group_not_found())
}

/// The group and the caller's membership: 404 for no such group, 403 for a non-member.
pub(crate) async fn membership(
    state: &AppState,
    raw_group_id: &str,
    user_id: &str,
) -> Result<(GroupRow, MemberRow), ApiError> {
    let group_id = parse_group_id(raw_group_id)?;
    let group = state.groups.group(&group_id).await?.ok_or_else(group_not_found)?;
    let member = state
        .groups
        .member(&group_id, user_id)
        .await?
        .ok_or_else(|| ApiError::forbidden("not_a_member", "you are not a member of this group"))?;
    Ok((group, member))
}

/// As [`membership`], and the caller must be an admin.
async fn admin(state: &AppState, raw_group_id: &str, user_id: &str) -> Result<(GroupRow, MemberRow), ApiError> {
    let (group, member) = membership(state, raw_group_id, user_id).await?;
    if member.role != GroupRole::Admin {
        return Err(ApiError::forbidden("not_an_admin", "only the group's admins may do this"));
    }
    Ok((group, member))
}

/// A user named in a request; 404 when there is none.
pub(crate) async fn user_named(state: &AppState, raw: &str) -> Result<UserRow, ApiError> {
    let user = match normalize_username(raw.trim()) {
        Ok(name) => state.users.user_by_name(&name).await?,
        Err(_) => None,
    };
    user.ok_or_else(|| ApiError::not_found("user_not_found", format!("no user named {raw:?}")))
}

/// The group as the read model holds it now.
async fn current_view(state: &AppState, group_id: &str) -> Result<GroupView, ApiError> {
    let group = state.groups.group(group_id).await?.ok_or_else(group_not_found)?;
    let members = state.groups.members(group_id).await?;
    Ok(GroupView::new(&group, &members))
}

/// A group name: 1-100 characters once trimmed.
fn group_name(raw: &str) -> Result<String, ApiError> {
    let name = raw.trim();
    if !(1..=100).contains(&name.chars().count()) {
        return Err(ApiError::bad_request("invalid_group_name", "name must be 1-100 characters"));
    }
    Ok(name.to_owned())
}
