//! `POST /groups/{groupId}/send` and `GET /groups/{groupId}/messages`.
use axum::{Json, extract::State};
use confab_producers::{GroupSent, MessageCommand, page_limit};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::{
    ApiError, AppState, constraints,
    error::ErrorBody,
    extract::{AuthUser, JsonBody, PathParams, QueryParams},
    views::messages::GroupMessageView,
};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GroupSendRequest {
    #[schema(schema_with = constraints::message_text)]
    message: Option<String>,
    #[schema(schema_with = constraints::client_message_id)]
    client_message_id: Option<String>,
    #[serde(default)]
    #[schema(schema_with = constraints::attachment_ids)]
    attachments: Vec<String>,
    /// The id of an earlier message of the same conversation or group that the sender sees:
    /// this one replies to it (404 `message_not_found` otherwise, 409 `message_deleted`).
    #[schema(schema_with = constraints::nullable_uuid)]
    reply_to: Option<String>,
    #[serde(default)]
    #[schema(schema_with = constraints::mention_ids)]
    mentions: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GroupSendResponse {
    message_id: Uuid,
    group_id: String,
    /// RFC 3339 UTC with milliseconds.
    timestamp: String,
}

#[utoipa::path(
    post, path = "/groups/{groupId}/send", tag = "groups",
    params(("groupId" = String, Path, description = "the group's id")),
    request_body = GroupSendRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "stored; readable by the sender from now on", body = GroupSendResponse),
        (status = 400, description = "empty or too long message; an attachment of another conversation, not uploaded, or rejected", body = ErrorBody),
        (status = 401, description = "missing, invalid or expired token", body = ErrorBody),
        (status = 403, description = "not a member", body = ErrorBody),
        (status = 404, description = "no such group; a mention of no member", body = ErrorBody),
        (status = 409, description = "clientMessageId already used for another conversation", body = ErrorBody),
        (status = 503, description = "event log unavailable", body = ErrorBody),
    )
)]
pub(crate) async fn send(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    PathParams(group_id): PathParams<String>,
    JsonBody(body): JsonBody<GroupSendRequest>,
) -> Result<Json<GroupSendResponse>, ApiError> {
    let message = MessageCommand {
        message: body.message,
        client_message_id: body.client_message_id,
        attachments: body.attachments,
        reply_to: body.reply_to,
        mentions: body.mentions,
    };
    let sent = state.use_cases.send_group(&caller, &group_id, message).await?;
    Ok(Json(GroupSendResponse::from(sent)))
}

impl From<GroupSent> for GroupSendResponse {
    fn from(sent: GroupSent) -> Self {
        Self { message_id: sent.message_id, group_id: sent.group_id, timestamp: sent.timestamp }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct GroupMessagesQuery {
    /// 1-200, default 50.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 200)]
    limit: Option<String>,
    /// `nextCursor` of the previous page; a message id of no message of this group is a 404.
    #[param(schema_with = constraints::message_cursor)]
    before: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GroupHistoryPage {
    /// Oldest first, in the group's one order (the log's).
    messages: Vec<GroupMessageView>,
    /// Fetches the page before this one; null at the start of what the caller may see.
    next_cursor: Option<String>,
}

#[utoipa::path(
    get, path = "/groups/{groupId}/messages", tag = "groups",
    params(("groupId" = String, Path, description = "the group's id"), GroupMessagesQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "a page of the group's messages sent since the caller was added, oldest first", body = GroupHistoryPage),
        (status = 400, description = "invalid limit or cursor", body = ErrorBody),
        (status = 401, description = "missing, invalid or expired token", body = ErrorBody),
        (status = 403, description = "not a member", body = ErrorBody),
        (status = 404, description = "no such group", body = ErrorBody),
    )
)]
pub(crate) async fn messages(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    PathParams(group_id): PathParams<String>,
    QueryParams(query): QueryParams<GroupMessagesQuery>,
) -> Result<Json<GroupHistoryPage>, ApiError> {
    let limit = page_limit(query.limit.as_deref())?;
    let page = state.use_cases.group_history(&caller, &group_id, query.before.as_deref(), limit).await?;
    let messages = page
        .messages
        .into_iter()
        .map(|(message, counts)| {
            let (delivered_count, read_count) = counts.unzip();
            GroupMessageView { delivered_count, read_count, ..GroupMessageView::seen_by(message, Some(&caller.sub)) }
        })
        .collect();
    Ok(Json(GroupHistoryPage { messages, next_cursor: page.next_cursor }))
}
