//! Group members: adding, removing and promoting them (`/groups/{groupId}/...`).
use axum::{Json, extract::State, http::StatusCode};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::{
    ApiError, AppState, constraints,
    error::ErrorBody,
    extract::{AuthUser, JsonBody, PathParams},
    views::groups::GroupView,
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
    PathParams(group_id): PathParams<String>,
    JsonBody(body): JsonBody<AddMemberRequest>,
) -> Result<Json<GroupView>, ApiError> {
    let group_id = state.use_cases.add_member(&caller, &group_id, &body.member).await?;
    Ok(Json(GroupView::from(state.use_cases.group_details(&caller, &group_id).await?)))
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
    PathParams((group_id, username)): PathParams<(String, String)>,
) -> Result<StatusCode, ApiError> {
    state.use_cases.remove_member(&caller, &group_id, &username).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct RoleRequest {
    /// `admin` or `member`.
    #[schema(schema_with = constraints::role)]
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
    PathParams((group_id, username)): PathParams<(String, String)>,
    JsonBody(body): JsonBody<RoleRequest>,
) -> Result<Json<GroupView>, ApiError> {
    let group_id = state.use_cases.set_role(&caller, &group_id, &username, &body.role).await?;
    Ok(Json(GroupView::from(state.use_cases.group_details(&caller, &group_id).await?)))
}
