//! Adding, removing and promoting members.
use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
};
use confab_consumers::store::GroupRole;
use confab_schemas::{
    Event, GroupMemberAdded, GroupMemberAddedPayload, GroupMemberRemoved, GroupMemberRemovedPayload,
    GroupMemberRoleChanged, GroupMemberRoleChangedPayload,
};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{GroupView, admin, current_view, membership, user_named};
use crate::{
    ApiError, AppState,
    error::ErrorBody,
    extract::{AuthUser, JsonBody},
    time::now_ms,
};

#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct AddMemberRequest {
    /// Username to add.
    #[schema(example = "carol")]
    member: String,
}

#[utoipa::path(
    put, path = "/groups/{groupId}/add-member", tag = "groups",
    params(("groupId" = String, Path, description = "the group's id")),
    request_body = AddMemberRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "a member from now on (adding a member twice changes nothing); they see messages sent after they were added", body = GroupView),
        (status = 401, description = "missing, invalid or expired token", body = ErrorBody),
        (status = 403, description = "not an admin of the group", body = ErrorBody),
        (status = 404, description = "no such group or user", body = ErrorBody),
        (status = 409, description = "the group is full", body = ErrorBody),
        (status = 503, description = "event log unavailable", body = ErrorBody),
    )
)]
pub(crate) async fn add_member(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    Path(group_id): Path<String>,
    JsonBody(body): JsonBody<AddMemberRequest>,
) -> Result<Json<GroupView>, ApiError> {
    let (group, _) = admin(&state, &group_id, &caller.sub).await?;
    let group_id = group.group_id;
    let user = user_named(&state, &body.member).await?;
    if state.groups.member(&group_id, &user.user_id).await?.is_some() {
        return Ok(Json(current_view(&state, &group_id).await?));
    }
    if state.groups.members(&group_id).await?.len() >= state.group_member_limit {
        return Err(ApiError::conflict(
            "group_full",
            format!("a group may have at most {} members", state.group_member_limit),
        ));
    }
    // The new member's history starts after the newest message the group has now.
    let history_after = state.messages.last_group_message(&group_id).await?.map(|m| m.message_id);
    let occurred_at = now_ms();
    let event = Event::GroupMemberAdded(GroupMemberAdded {
        event_id: Uuid::now_v7().to_string(),
        occurred_at,
        actor_id: caller.sub,
        payload: GroupMemberAddedPayload {
            group_id: group_id.clone(),
            user_id: user.user_id,
            username: user.username,
            history_after_message_id: history_after,
        },
    });
    let position = state.publisher.publish(&event, occurred_at).await?;
    state.read_your_write(&state.projections.groups, &position).await;
    Ok(Json(current_view(&state, &group_id).await?))
}

#[utoipa::path(
    delete, path = "/groups/{groupId}/members/{username}", tag = "groups",
    params(
        ("groupId" = String, Path, description = "the group's id"),
        ("username" = String, Path, description = "the member to remove; yourself to leave"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "removed; when the last admin goes, the longest-standing member becomes admin"),
        (status = 401, description = "missing, invalid or expired token", body = ErrorBody),
        (status = 403, description = "not a member, or removing someone else without being an admin", body = ErrorBody),
        (status = 404, description = "no such group, or that user is not a member", body = ErrorBody),
        (status = 503, description = "event log unavailable", body = ErrorBody),
    )
)]
pub(crate) async fn remove_member(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    Path((group_id, username)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let (group, me) = membership(&state, &group_id, &caller.sub).await?;
    let user = user_named(&state, &username).await?;
    if user.user_id != caller.sub && me.role != GroupRole::Admin {
        return Err(ApiError::forbidden("not_an_admin", "only the group's admins may remove others"));
    }
    let Some(member) = state.groups.member(&group.group_id, &user.user_id).await? else {
        return Err(ApiError::not_found("member_not_found", format!("{} is not a member", user.username)));
    };
    let occurred_at = now_ms();
    let event = Event::GroupMemberRemoved(GroupMemberRemoved {
        event_id: Uuid::now_v7().to_string(),
        occurred_at,
        actor_id: caller.sub,
        payload: GroupMemberRemovedPayload {
            group_id: group.group_id,
            user_id: member.user_id,
            username: member.username,
        },
    });
    let position = state.publisher.publish(&event, occurred_at).await?;
    state.read_your_write(&state.projections.groups, &position).await;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct RoleRequest {
    /// `admin` or `member`.
    #[schema(example = "admin")]
    role: String,
}

#[utoipa::path(
    put, path = "/groups/{groupId}/members/{username}/role", tag = "groups",
    params(
        ("groupId" = String, Path, description = "the group's id"),
        ("username" = String, Path, description = "the member"),
    ),
    request_body = RoleRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "the member has the role", body = GroupView),
        (status = 400, description = "role is not admin or member", body = ErrorBody),
        (status = 401, description = "missing, invalid or expired token", body = ErrorBody),
        (status = 403, description = "not an admin of the group", body = ErrorBody),
        (status = 404, description = "no such group, or that user is not a member", body = ErrorBody),
        (status = 409, description = "the group's only admin cannot step down; make another admin first", body = ErrorBody),
    )
)]
pub(crate) async fn set_role(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    Path((group_id, username)): Path<(String, String)>,
    JsonBody(body): JsonBody<RoleRequest>,
) -> Result<Json<GroupView>, ApiError> {
    let role = match body.role.as_str() {
        "admin" => GroupRole::Admin,
        "member" => GroupRole::Member,
        _ => return Err(ApiError::bad_request("invalid_role", "role must be 'admin' or 'member'")),
    };
    let (group, _) = admin(&state, &group_id, &caller.sub).await?;
    let group_id = group.group_id;
    let user = user_named(&state, &username).await?;
    let Some(member) = state.groups.member(&group_id, &user.user_id).await? else {
        return Err(ApiError::not_found("member_not_found", format!("{} is not a member", user.username)));
    };
    if member.role == role {
        return Ok(Json(current_view(&state, &group_id).await?));
    }
    if role == GroupRole::Member {
        let admins = state.groups.members(&group_id).await?.iter().filter(|m| m.role == GroupRole::Admin).count();
        if admins <= 1 {
            return Err(ApiError::conflict("last_admin", "a group needs an admin: make another admin first"));
        }
    }
    let occurred_at = now_ms();
    let event = Event::GroupMemberRoleChanged(GroupMemberRoleChanged {
        event_id: Uuid::now_v7().to_string(),
        occurred_at,
        actor_id: caller.sub,
        payload: GroupMemberRoleChangedPayload {
            group_id: group_id.clone(),
            user_id: member.user_id,
            username: member.username,
            role: role.as_str().into(),
        },
    });
    let position = state.publisher.publish(&event, occurred_at).await?;
    state.read_your_write(&state.projections.groups, &position).await;
    Ok(Json(current_view(&state, &group_id).await?))
}
