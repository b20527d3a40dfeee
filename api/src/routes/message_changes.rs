//! `PATCH` and `DELETE` `/chat/messages/{messageId}` and `/groups/{groupId}/messages/{messageId}`:
//! a sender edits their message; a sender, or a group's admin, deletes one for everyone. `PUT` and
//! `DELETE` `.../reactions/{emoji}`: whoever sees a message reacts to it, or takes it back.
//! `POST .../hide`: whoever sees a message deletes it for themself.
use axum::{Json, extract::State, http::StatusCode};
use confab_producers::Changed;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{
    ApiError, AppState, constraints,
    error::ErrorBody,
    extract::{AuthUser, JsonBody, PathParams},
};

#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct EditRequest {
    /// The new text.
    #[schema(schema_with = constraints::edited_text)]
    message: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct EditResponse {
    message_id: String,
    /// When it was edited, RFC 3339 UTC with milliseconds.
    edited_at: String,
}

impl From<Changed> for EditResponse {
    fn from(changed: Changed) -> Self {
        Self { message_id: changed.message_id, edited_at: changed.timestamp }
    }
}

#[utoipa::path(
    patch, path = "/chat/messages/{messageId}", tag = "chat",
    params(("messageId" = String, Path, description = "the message's id")),
    request_body = EditRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "edited; history shows the new text, `editedAt` and `editCount` from now on (the same text again changes nothing)", body = EditResponse),
        (status = 400, description = "empty or too long message", body = ErrorBody),
        (status = 401, description = "missing, invalid or expired token", body = ErrorBody),
        (status = 403, description = "not the sender's, or a block stands between the two", body = ErrorBody),
        (status = 404, description = "no such message in the caller's conversations", body = ErrorBody),
        (status = 409, description = "deleted, or past the edit window", body = ErrorBody),
        (status = 503, description = "event log unavailable", body = ErrorBody),
    )
)]
pub(crate) async fn edit_direct(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    PathParams(message_id): PathParams<String>,
    JsonBody(body): JsonBody<EditRequest>,
) -> Result<Json<EditResponse>, ApiError> {
    Ok(Json(state.use_cases.edit_direct(&caller, &message_id, &body.message).await?.into()))
}

#[utoipa::path(
    delete, path = "/chat/messages/{messageId}", tag = "chat",
    params(("messageId" = String, Path, description = "the message's id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "deleted for both: history keeps a tombstone (`deleted: true`, no content, no attachments); deleting it again changes nothing"),
        (status = 401, description = "missing, invalid or expired token", body = ErrorBody),
        (status = 403, description = "not the sender's", body = ErrorBody),
        (status = 404, description = "no such message in the caller's conversations", body = ErrorBody),
        (status = 503, description = "event log unavailable", body = ErrorBody),
    )
)]
pub(crate) async fn delete_direct(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    PathParams(message_id): PathParams<String>,
) -> Result<StatusCode, ApiError> {
    let _ = state.use_cases.delete_direct(&caller, &message_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    patch, path = "/groups/{groupId}/messages/{messageId}", tag = "groups",
    params(
        ("groupId" = String, Path, description = "the group's id"),
        ("messageId" = String, Path, description = "the message's id"),
    ),
    request_body = EditRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "edited; history shows the new text, `editedAt` and `editCount` from now on (the same text again changes nothing)", body = EditResponse),
        (status = 400, description = "empty or too long message", body = ErrorBody),
        (status = 401, description = "missing, invalid or expired token", body = ErrorBody),
        (status = 403, description = "not a member, or not the sender's", body = ErrorBody),
        (status = 404, description = "no such group, or no such message the caller sees", body = ErrorBody),
        (status = 409, description = "deleted, or past the edit window", body = ErrorBody),
        (status = 503, description = "event log unavailable", body = ErrorBody),
    )
)]
pub(crate) async fn edit_group(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    PathParams((group_id, message_id)): PathParams<(String, String)>,
    JsonBody(body): JsonBody<EditRequest>,
) -> Result<Json<EditResponse>, ApiError> {
    Ok(Json(state.use_cases.edit_group(&caller, &group_id, &message_id, &body.message).await?.into()))
}

#[utoipa::path(
    delete, path = "/groups/{groupId}/messages/{messageId}", tag = "groups",
    params(
        ("groupId" = String, Path, description = "the group's id"),
        ("messageId" = String, Path, description = "the message's id"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "deleted for every member: history keeps a tombstone (`deleted: true`, no content, no attachments); deleting it again changes nothing"),
        (status = 401, description = "missing, invalid or expired token", body = ErrorBody),
        (status = 403, description = "not a member, or someone else's message and not an admin", body = ErrorBody),
        (status = 404, description = "no such group, or no such message the caller sees", body = ErrorBody),
        (status = 503, description = "event log unavailable", body = ErrorBody),
    )
)]
pub(crate) async fn delete_group(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    PathParams((group_id, message_id)): PathParams<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let _ = state.use_cases.delete_group(&caller, &group_id, &message_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    put, path = "/chat/messages/{messageId}/reactions/{emoji}", tag = "chat",
    params(
        ("messageId" = String, Path, description = "the message's id"),
        ("emoji" = String, Path, description = "one emoji (percent-encoded in the path)"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "the caller's reaction is on the message (already there: nothing changes); both participants get a `reaction` frame"),
        (status = 401, description = "missing, invalid or expired token", body = ErrorBody),
        (status = 403, description = "a block stands between the two", body = ErrorBody),
        (status = 404, description = "no such message in the caller's conversations, or not an emoji", body = ErrorBody),
        (status = 409, description = "the message was deleted, or holds as many reactions as it may", body = ErrorBody),
        (status = 503, description = "event log unavailable", body = ErrorBody),
    )
)]
pub(crate) async fn react_direct(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    PathParams((message_id, emoji)): PathParams<(String, String)>,
) -> Result<StatusCode, ApiError> {
    state.use_cases.react_direct(&caller, &message_id, &emoji, true).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    delete, path = "/chat/messages/{messageId}/reactions/{emoji}", tag = "chat",
    params(
        ("messageId" = String, Path, description = "the message's id"),
        ("emoji" = String, Path, description = "one emoji (percent-encoded in the path)"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "the caller's reaction is taken back (there was none: nothing changes)"),
        (status = 401, description = "missing, invalid or expired token", body = ErrorBody),
        (status = 403, description = "a block stands between the two", body = ErrorBody),
        (status = 404, description = "no such message in the caller's conversations, or not an emoji", body = ErrorBody),
        (status = 409, description = "the message was deleted", body = ErrorBody),
        (status = 503, description = "event log unavailable", body = ErrorBody),
    )
)]
pub(crate) async fn unreact_direct(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    PathParams((message_id, emoji)): PathParams<(String, String)>,
) -> Result<StatusCode, ApiError> {
    state.use_cases.react_direct(&caller, &message_id, &emoji, false).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    put, path = "/groups/{groupId}/messages/{messageId}/reactions/{emoji}", tag = "groups",
    params(
        ("groupId" = String, Path, description = "the group's id"),
        ("messageId" = String, Path, description = "the message's id"),
        ("emoji" = String, Path, description = "one emoji (percent-encoded in the path)"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "the caller's reaction is on the message (already there: nothing changes); the members who see it get a `reaction` frame"),
        (status = 401, description = "missing, invalid or expired token", body = ErrorBody),
        (status = 403, description = "not a member", body = ErrorBody),
        (status = 404, description = "no such group, no such message the caller sees, or not an emoji", body = ErrorBody),
        (status = 409, description = "the message was deleted, or holds as many reactions as it may", body = ErrorBody),
        (status = 503, description = "event log unavailable", body = ErrorBody),
    )
)]
pub(crate) async fn react_group(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    PathParams((group_id, message_id, emoji)): PathParams<(String, String, String)>,
) -> Result<StatusCode, ApiError> {
    state.use_cases.react_group(&caller, &group_id, &message_id, &emoji, true).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    delete, path = "/groups/{groupId}/messages/{messageId}/reactions/{emoji}", tag = "groups",
    params(
        ("groupId" = String, Path, description = "the group's id"),
        ("messageId" = String, Path, description = "the message's id"),
        ("emoji" = String, Path, description = "one emoji (percent-encoded in the path)"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "the caller's reaction is taken back (there was none: nothing changes)"),
        (status = 401, description = "missing, invalid or expired token", body = ErrorBody),
        (status = 403, description = "not a member", body = ErrorBody),
        (status = 404, description = "no such group, no such message the caller sees, or not an emoji", body = ErrorBody),
        (status = 409, description = "the message was deleted", body = ErrorBody),
        (status = 503, description = "event log unavailable", body = ErrorBody),
    )
)]
pub(crate) async fn unreact_group(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    PathParams((group_id, message_id, emoji)): PathParams<(String, String, String)>,
) -> Result<StatusCode, ApiError> {
    state.use_cases.react_group(&caller, &group_id, &message_id, &emoji, false).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post, path = "/chat/messages/{messageId}/hide", tag = "chat",
    params(("messageId" = String, Path, description = "the message's id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "deleted for the caller only: it leaves their history on every device (their other devices get a `messageHidden` frame); the other participant keeps it. Again: nothing changes"),
        (status = 401, description = "missing, invalid or expired token", body = ErrorBody),
        (status = 404, description = "no such message in the caller's conversations", body = ErrorBody),
        (status = 503, description = "event log unavailable", body = ErrorBody),
    )
)]
pub(crate) async fn hide_direct(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    PathParams(message_id): PathParams<String>,
) -> Result<StatusCode, ApiError> {
    state.use_cases.hide_direct(&caller, &message_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post, path = "/groups/{groupId}/messages/{messageId}/hide", tag = "groups",
    params(
        ("groupId" = String, Path, description = "the group's id"),
        ("messageId" = String, Path, description = "the message's id"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "deleted for the caller only, as for direct messages"),
        (status = 401, description = "missing, invalid or expired token", body = ErrorBody),
        (status = 403, description = "not a member", body = ErrorBody),
        (status = 404, description = "no such group, or no such message the caller sees", body = ErrorBody),
        (status = 503, description = "event log unavailable", body = ErrorBody),
    )
)]
pub(crate) async fn hide_group(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    PathParams((group_id, message_id)): PathParams<(String, String)>,
) -> Result<StatusCode, ApiError> {
    state.use_cases.hide_group(&caller, &group_id, &message_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
