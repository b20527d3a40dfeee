//! `POST /chat/read` and `POST /groups/{groupId}/read`: read receipts over REST, the same as a
//! `read` frame over WebSocket.
use axum::{Json, extract::State};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{
    ApiError, AppState,
    error::ErrorBody,
    extract::{AuthUser, JsonBody, PathParams},
};

/// What a read answers with.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ReadReceipt {
    /// The direct conversation's id, or the group's.
    conversation_id: String,
    up_to_message_id: String,
}

impl From<confab_producers::ReadReceipt> for ReadReceipt {
    fn from(read: confab_producers::ReadReceipt) -> Self {
        Self { conversation_id: read.conversation_id, up_to_message_id: read.up_to_message_id }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ReadDirectRequest {
    /// The peer's username.
    recipient: String,
    /// The newest message read; everything before it in the conversation counts as read too.
    up_to_message_id: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ReadGroupRequest {
    /// The newest message read; everything before it in the group counts as read too.
    up_to_message_id: String,
}

#[utoipa::path(
    post, path = "/chat/read", tag = "chat",
    request_body = ReadDirectRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "recorded; the peer gets a `read` receipt frame and history shows it", body = ReadReceipt),
        (status = 400, description = "invalid body", body = ErrorBody),
        (status = 401, description = "missing, invalid or expired token", body = ErrorBody),
        (status = 404, description = "no such recipient, or no such message in the conversation", body = ErrorBody),
        (status = 503, description = "event log unavailable", body = ErrorBody),
    )
)]
pub(crate) async fn read_direct(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    JsonBody(body): JsonBody<ReadDirectRequest>,
) -> Result<Json<ReadReceipt>, ApiError> {
    Ok(Json(state.use_cases.read_direct(&caller, &body.recipient, &body.up_to_message_id).await?.into()))
}

#[utoipa::path(
    post, path = "/groups/{groupId}/read", tag = "groups",
    params(("groupId" = String, Path, description = "the group's id")),
    request_body = ReadGroupRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "recorded; members get a `read` receipt frame and history counts it", body = ReadReceipt),
        (status = 400, description = "invalid body", body = ErrorBody),
        (status = 401, description = "missing, invalid or expired token", body = ErrorBody),
        (status = 403, description = "not a member", body = ErrorBody),
        (status = 404, description = "no such group, or no such message in it", body = ErrorBody),
        (status = 503, description = "event log unavailable", body = ErrorBody),
    )
)]
pub(crate) async fn read_group(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    PathParams(group_id): PathParams<String>,
    JsonBody(body): JsonBody<ReadGroupRequest>,
) -> Result<Json<ReadReceipt>, ApiError> {
    Ok(Json(state.use_cases.read_group(&caller, &group_id, &body.up_to_message_id).await?.into()))
}
