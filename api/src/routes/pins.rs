//! `PUT` and `DELETE` `/chat/messages/{messageId}/pin` and
//! `/groups/{groupId}/messages/{messageId}/pin`: either participant, or a group's admin, pins a
//! message to its place or unpins it. `GET /chat/pins?recipient=U` and `/groups/{groupId}/pins`:
//! what is pinned there.
use axum::{Json, extract::State, http::StatusCode};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::{
    ApiError, AppState,
    error::ErrorBody,
    extract::{AuthUser, PathParams, QueryParams},
    views::messages::{GroupMessageView, MessageView},
};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct DirectPinsQuery {
    /// The peer's username.
    recipient: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct DirectPins {
    /// The pinned messages, newest first, each with `pinnedAt` and `pinnedBy`.
    pins: Vec<MessageView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct GroupPins {
    /// The pinned messages the caller sees, newest first, each with `pinnedAt` and `pinnedBy`.
    pins: Vec<GroupMessageView>,
}

#[utoipa::path(
    put, path = "/chat/messages/{messageId}/pin", tag = "chat",
    params(("messageId" = String, Path, description = "the message's id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "pinned to the conversation (already: nothing changes); both participants get a `messagePinned` frame"),
        (status = 401, description = "missing, invalid or expired token", body = ErrorBody),
        (status = 403, description = "a block stands between the two", body = ErrorBody),
        (status = 404, description = "no such message in the caller's conversations", body = ErrorBody),
        (status = 409, description = "the message was deleted, or the conversation holds as many pins as it may", body = ErrorBody),
        (status = 503, description = "event log unavailable", body = ErrorBody),
    )
)]
pub(crate) async fn pin_direct(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    PathParams(message_id): PathParams<String>,
) -> Result<StatusCode, ApiError> {
    state.use_cases.pin_direct(&caller, &message_id, true).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    delete, path = "/chat/messages/{messageId}/pin", tag = "chat",
    params(("messageId" = String, Path, description = "the message's id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "unpinned (it was not pinned: nothing changes)"),
        (status = 401, description = "missing, invalid or expired token", body = ErrorBody),
        (status = 403, description = "a block stands between the two", body = ErrorBody),
        (status = 404, description = "no such message in the caller's conversations", body = ErrorBody),
        (status = 409, description = "the message was deleted", body = ErrorBody),
        (status = 503, description = "event log unavailable", body = ErrorBody),
    )
)]
pub(crate) async fn unpin_direct(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    PathParams(message_id): PathParams<String>,
) -> Result<StatusCode, ApiError> {
    state.use_cases.pin_direct(&caller, &message_id, false).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    put, path = "/groups/{groupId}/messages/{messageId}/pin", tag = "groups",
    params(
        ("groupId" = String, Path, description = "the group's id"),
        ("messageId" = String, Path, description = "the message's id"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "pinned to the group (already: nothing changes); the members who see it get a `messagePinned` frame"),
        (status = 401, description = "missing, invalid or expired token", body = ErrorBody),
        (status = 403, description = "not a member, or not an admin", body = ErrorBody),
        (status = 404, description = "no such group, or no such message the caller sees", body = ErrorBody),
        (status = 409, description = "the message was deleted, or the group holds as many pins as it may", body = ErrorBody),
        (status = 503, description = "event log unavailable", body = ErrorBody),
    )
)]
pub(crate) async fn pin_group(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    PathParams((group_id, message_id)): PathParams<(String, String)>,
) -> Result<StatusCode, ApiError> {
    state.use_cases.pin_group(&caller, &group_id, &message_id, true).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    delete, path = "/groups/{groupId}/messages/{messageId}/pin", tag = "groups",
    params(
        ("groupId" = String, Path, description = "the group's id"),
        ("messageId" = String, Path, description = "the message's id"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "unpinned (it was not pinned: nothing changes)"),
        (status = 401, description = "missing, invalid or expired token", body = ErrorBody),
        (status = 403, description = "not a member, or not an admin", body = ErrorBody),
        (status = 404, description = "no such group, or no such message the caller sees", body = ErrorBody),
        (status = 409, description = "the message was deleted", body = ErrorBody),
        (status = 503, description = "event log unavailable", body = ErrorBody),
    )
)]
pub(crate) async fn unpin_group(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    PathParams((group_id, message_id)): PathParams<(String, String)>,
) -> Result<StatusCode, ApiError> {
    state.use_cases.pin_group(&caller, &group_id, &message_id, false).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get, path = "/chat/pins", tag = "chat",
    params(DirectPinsQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "the messages pinned in the conversation, newest first", body = DirectPins),
        (status = 401, description = "missing, invalid or expired token", body = ErrorBody),
        (status = 404, description = "no such recipient", body = ErrorBody),
    )
)]
pub(crate) async fn direct_pins(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    QueryParams(query): QueryParams<DirectPinsQuery>,
) -> Result<Json<DirectPins>, ApiError> {
    let pinned = state.use_cases.direct_pins(&caller, &query.recipient).await?;
    let pins = pinned.into_iter().map(|message| MessageView::seen_by(message, Some(&caller.sub))).collect();
    Ok(Json(DirectPins { pins }))
}

#[utoipa::path(
    get, path = "/groups/{groupId}/pins", tag = "groups",
    params(("groupId" = String, Path, description = "the group's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "the messages pinned in the group that the caller sees, newest first", body = GroupPins),
        (status = 401, description = "missing, invalid or expired token", body = ErrorBody),
        (status = 403, description = "not a member", body = ErrorBody),
        (status = 404, description = "no such group", body = ErrorBody),
    )
)]
pub(crate) async fn group_pins(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    PathParams(group_id): PathParams<String>,
) -> Result<Json<GroupPins>, ApiError> {
    let pinned = state.use_cases.group_pins(&caller, &group_id).await?;
    let pins = pinned.into_iter().map(|message| GroupMessageView::seen_by(message, Some(&caller.sub))).collect();
    Ok(Json(GroupPins { pins }))
}
