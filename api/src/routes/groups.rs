//! Group chat: creating, listing, reading and renaming groups (`/groups`, `/groups/{groupId}`).
use axum::{Json, extract::State, http::StatusCode};
use confab_producers::{NewGroup, page_limit, rfc3339};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::{
    ApiError, AppState, constraints,
    error::ErrorBody,
    extract::{AuthUser, JsonBody, PathParams, QueryParams},
    views::{groups::GroupView, messages::GroupMessageView},
};

#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct CreateRequest {
    #[schema(schema_with = constraints::group_name)]
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
    let change = state.use_cases.create_group(&caller, NewGroup { name: body.name, members: body.members }).await?;
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
    PathParams(group_id): PathParams<String>,
) -> Result<Json<GroupView>, ApiError> {
    Ok(Json(GroupView::from(state.use_cases.group_details(&caller, &group_id).await?)))
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
    /// Messages after what the caller has seen: their read watermark, their own last message
    /// (and, in a group, their joining), whichever is newest. A `message` frame from someone
    /// else adds one; the caller's own `receipt` frame with `status: read` marks those up to it
    /// seen.
    unread_count: u64,
    /// Those of them that mention the caller (`mention: true` on their frames).
    unread_mentions: u64,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GroupList {
    /// Newest activity first: the last message the caller may see, or joining when there is none.
    groups: Vec<GroupListEntry>,
    /// Fetches the next page of the list (pass it as `before`); absent at its end.
    #[serde(skip_serializing_if = "Option::is_none")]
    next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct GroupListQuery {
    /// 1-200, default 50.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 200)]
    limit: Option<String>,
    /// `nextCursor` of the previous page (`<milliseconds>.<groupId>`).
    #[param(schema_with = constraints::group_list_cursor)]
    before: Option<String>,
}

#[utoipa::path(
    get, path = "/groups", tag = "groups",
    params(GroupListQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "a page of the caller's groups", body = GroupList),
        (status = 400, description = "invalid limit or cursor", body = ErrorBody),
        (status = 401, description = "missing, invalid or expired token", body = ErrorBody),
    )
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    QueryParams(query): QueryParams<GroupListQuery>,
) -> Result<Json<GroupList>, ApiError> {
    let limit = page_limit(query.limit.as_deref())?;
    let page = state.use_cases.group_list(&caller, query.before.as_deref(), limit).await?;
    let groups = page
        .groups
        .into_iter()
        .map(|entry| GroupListEntry {
            group_id: entry.group.group_id,
            name: entry.group.name,
            role: entry.membership.role.as_str(),
            joined_at: rfc3339(entry.membership.joined_at_ms),
            last_message: entry.last_message.map(|message| GroupMessageView::seen_by(message, Some(&caller.sub))),
            unread_count: entry.unread_count,
            unread_mentions: entry.unread_mentions,
        })
        .collect();
    Ok(Json(GroupList { groups, next_cursor: page.next_cursor }))
}

#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct RenameRequest {
    #[schema(schema_with = constraints::group_name)]
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
    PathParams(group_id): PathParams<String>,
    JsonBody(body): JsonBody<RenameRequest>,
) -> Result<Json<GroupView>, ApiError> {
    let group_id = state.use_cases.rename_group(&caller, &group_id, &body.name).await?;
    Ok(Json(GroupView::from(state.use_cases.group_details(&caller, &group_id).await?)))
}
