//! Creating, listing, reading and renaming groups.
use std::{collections::HashSet, sync::Arc};

use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
};
use confab_consumers::{projection::group_created, store::GroupRole};
use confab_schemas::{Event, GroupCreated, GroupCreatedPayload, GroupMember, GroupRenamed, GroupRenamedPayload};
use futures::{StreamExt, TryStreamExt, stream};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{GroupView, admin, current_view, group_name, membership, messages::GroupMessageView};
use crate::{
    ApiError, AppState,
    error::ErrorBody,
    extract::{AuthUser, JsonBody},
    time::{now_ms, rfc3339},
};

/// Lookups of one request in flight at once.
const LOOKUP_CONCURRENCY: usize = 16;

#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct CreateRequest {
    /// 1-100 characters once trimmed.
    #[schema(example = "climbing")]
    name: String,
    /// Usernames to add besides the creator, who is always an admin; duplicates are ignored.
    members: Vec<String>,
}

#[utoipa::path(
    post, path = "/groups/create", tag = "groups",
    request_body = CreateRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "created; every member can send and read from now on", body = GroupView),
        (status = 400, description = "invalid name, or more members than the limit", body = ErrorBody),
        (status = 401, description = "missing, invalid or expired token", body = ErrorBody),
        (status = 404, description = "some usernames name nobody; the message lists them and nothing is created", body = ErrorBody),
        (status = 503, description = "event log unavailable", body = ErrorBody),
    )
)]
pub(crate) async fn create(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    JsonBody(body): JsonBody<CreateRequest>,
) -> Result<(StatusCode, Json<GroupView>), ApiError> {
    let name = group_name(&body.name)?;
    let mut seen = HashSet::from([caller.name.clone()]);
    let wanted: Vec<String> =
        body.members.iter().map(|m| m.trim().to_lowercase()).filter(|m| seen.insert(m.clone())).collect();
    if wanted.len() + 1 > state.group_member_limit {
        return Err(ApiError::bad_request(
            "too_many_members",
            format!("a group may have at most {} members, its creator included", state.group_member_limit),
        ));
    }
    let lookups = wanted.iter().cloned().map(|name| {
        let users = Arc::clone(&state.users);
        async move { users.user_by_name(&name).await }
    });
    let found: Vec<_> = stream::iter(lookups).buffered(LOOKUP_CONCURRENCY).try_collect().await?;
    let unknown: Vec<&str> =
        wanted.iter().zip(&found).filter(|(_, user)| user.is_none()).map(|(name, _)| name.as_str()).collect();
    if !unknown.is_empty() {
        return Err(ApiError::not_found("users_not_found", format!("no users named: {}", unknown.join(", "))));
    }
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
        actor_id: caller.sub,
        payload: GroupCreatedPayload { group_id: Uuid::now_v7().to_string(), name, members },
    };
    let position = state.publisher.publish(&Event::GroupCreated(created.clone()), occurred_at).await?;
    state.read_your_write(&state.projections.groups, &position).await;
    let change = group_created(&created, position.offset);
    Ok((StatusCode::CREATED, Json(GroupView::new(&change.group, &change.put_members))))
}

#[utoipa::path(
    get, path = "/groups/{groupId}", tag = "groups",
    params(("groupId" = String, Path, description = "the group's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "the group and its members", body = GroupView),
        (status = 401, description = "missing, invalid or expired token", body = ErrorBody),
        (status = 403, description = "not a member", body = ErrorBody),
        (status = 404, description = "no such group", body = ErrorBody),
    )
)]
pub(crate) async fn get(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    Path(group_id): Path<String>,
) -> Result<Json<GroupView>, ApiError> {
    let (group, _) = membership(&state, &group_id, &caller.sub).await?;
    Ok(Json(current_view(&state, &group.group_id).await?))
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GroupListEntry {
    group_id: String,
    name: String,
    /// The caller's role.
    role: &'static str,
    /// When the caller was added.
    joined_at: String,
    /// The newest message the caller may see, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    last_message: Option<GroupMessageView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct GroupList {
    /// Newest activity first: the last message, or joining when there is none.
    groups: Vec<GroupListEntry>,
}

#[utoipa::path(
    get, path = "/groups", tag = "groups",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "the caller's groups", body = GroupList),
        (status = 401, description = "missing, invalid or expired token", body = ErrorBody),
    )
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
) -> Result<Json<GroupList>, ApiError> {
    let mut entries = Vec::new();
    for summary in state.groups.groups_of(&caller.sub).await? {
        // The last message moves only forward, so it is visible unless it is the one the member
        // was added after.
        let last = summary.last_message.filter(|m| summary.membership.history_after.as_ref() != Some(&m.message_id));
        let activity = last.as_ref().map_or(summary.membership.joined_at_ms, |m| m.sent_at_ms);
        let entry = GroupListEntry {
            group_id: summary.group.group_id,
            name: summary.group.name,
            role: summary.membership.role.as_str(),
            joined_at: rfc3339(summary.membership.joined_at_ms),
            last_message: last.map(|m| GroupMessageView::new(&state.keyring, m)).transpose()?,
        };
        entries.push((activity, entry));
    }
    entries.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| b.1.group_id.cmp(&a.1.group_id)));
    Ok(Json(GroupList { groups: entries.into_iter().map(|(_, entry)| entry).collect() }))
}

#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct RenameRequest {
    /// 1-100 characters once trimmed.
    name: String,
}

#[utoipa::path(
    patch, path = "/groups/{groupId}", tag = "groups",
    params(("groupId" = String, Path, description = "the group's id")),
    request_body = RenameRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "renamed", body = GroupView),
        (status = 400, description = "invalid name", body = ErrorBody),
        (status = 401, description = "missing, invalid or expired token", body = ErrorBody),
        (status = 403, description = "not an admin of the group", body = ErrorBody),
        (status = 404, description = "no such group", body = ErrorBody),
    )
)]
pub(crate) async fn rename(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    Path(group_id): Path<String>,
    JsonBody(body): JsonBody<RenameRequest>,
) -> Result<Json<GroupView>, ApiError> {
    let name = group_name(&body.name)?;
    let (group, _) = admin(&state, &group_id, &caller.sub).await?;
    let occurred_at = now_ms();
    let event = Event::GroupRenamed(GroupRenamed {
        event_id: Uuid::now_v7().to_string(),
        occurred_at,
        actor_id: caller.sub,
        payload: GroupRenamedPayload { group_id: group.group_id.clone(), name },
    });
    let position = state.publisher.publish(&event, occurred_at).await?;
    state.read_your_write(&state.projections.groups, &position).await;
    Ok(Json(current_view(&state, &group.group_id).await?))
}
