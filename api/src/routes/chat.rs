//! `POST /chat/send` and `GET /chat/messages`.
use axum::{Json, extract::State};
use confab_producers::{DirectSend, DirectSent, MessageCommand, page_limit};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::{
    ApiError, AppState, constraints,
    error::ErrorBody,
    extract::{AuthUser, JsonBody, QueryParams},
    views::messages::MessageView,
};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SendRequest {
    /// Username of the recipient; yourself for notes-to-self.
    #[schema(example = "bob")]
    recipient: String,
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
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SendResponse {
    message_id: Uuid,
    conversation_id: Uuid,
    /// RFC 3339 UTC with milliseconds.
    timestamp: String,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct MessagesQuery {
    /// The peer's username; without it, the caller's conversations are listed.
    recipient: Option<String>,
    /// 1-200, default 50.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 200)]
    limit: Option<String>,
    /// `nextCursor` of the previous page: of the conversation's history with `recipient` (a
    /// message id), of the conversation list without it (`<messageId>.<conversationId>`); the
    /// other list's cursor names no place in this one (404).
    #[param(schema_with = constraints::history_or_conversation_cursor)]
    before: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct HistoryPage {
    /// Oldest first.
    messages: Vec<MessageView>,
    /// Fetches the page before this one; null at the start of the history.
    next_cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Peer {
    user_id: String,
    username: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ConversationView {
    conversation_id: String,
    peer: Peer,
    last_message: MessageView,
    /// Messages after what the caller has seen: their read watermark, their own last message
    /// (and, in a group, their joining), whichever is newest. A `message` frame from someone
    /// else adds one; the caller's own `receipt` frame with `status: read` marks those up to it
    /// seen.
    unread_count: u64,
    /// Always 0: mentions are for groups (a direct message always reaches its one reader). Kept
    /// so both lists have the same shape.
    unread_mentions: u64,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ConversationList {
    /// Newest activity first.
    conversations: Vec<ConversationView>,
    /// Fetches the next page of the list (pass it as `before`); absent at its end.
    #[serde(skip_serializing_if = "Option::is_none")]
    next_cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub(crate) enum MessagesResponse {
    History(HistoryPage),
    Conversations(ConversationList),
}

#[utoipa::path(
    post, path = "/chat/send", tag = "chat",
    request_body = SendRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "stored; readable by the sender from now on", body = SendResponse),
        (status = 400, description = "empty or too long message; an attachment of another conversation, not uploaded, or rejected", body = ErrorBody),
        (status = 401, description = "missing, invalid or expired token", body = ErrorBody),
        (status = 404, description = "no such recipient", body = ErrorBody),
        (status = 409, description = "clientMessageId already used for another recipient", body = ErrorBody),
        (status = 413, description = "body over the server's limit", body = ErrorBody),
        (status = 503, description = "event log unavailable", body = ErrorBody),
    )
)]
pub(crate) async fn send(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    JsonBody(body): JsonBody<SendRequest>,
) -> Result<Json<SendResponse>, ApiError> {
    let message = MessageCommand {
        message: body.message,
        client_message_id: body.client_message_id,
        attachments: body.attachments,
        reply_to: body.reply_to,
        mentions: Vec::new(),
    };
    let sent = state.use_cases.send_direct(&caller, DirectSend { recipient: body.recipient, message }).await?;
    Ok(Json(SendResponse::from(sent)))
}

impl From<DirectSent> for SendResponse {
    fn from(sent: DirectSent) -> Self {
        Self { message_id: sent.message_id, conversation_id: sent.conversation_id, timestamp: sent.timestamp }
    }
}

#[utoipa::path(
    get, path = "/chat/messages", tag = "chat",
    params(MessagesQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "with `recipient`: a page of the conversation, oldest first; without: the caller's conversations", body = MessagesResponse),
        (status = 400, description = "invalid limit or cursor", body = ErrorBody),
        (status = 401, description = "missing, invalid or expired token", body = ErrorBody),
        (status = 404, description = "no such recipient", body = ErrorBody),
    )
)]
pub(crate) async fn messages(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    QueryParams(query): QueryParams<MessagesQuery>,
) -> Result<Json<MessagesResponse>, ApiError> {
    let limit = page_limit(query.limit.as_deref())?;
    let Some(recipient) = query.recipient else {
        let page = state.use_cases.conversation_list(&caller, query.before.as_deref(), limit).await?;
        let conversations = page
            .conversations
            .into_iter()
            .map(|entry| ConversationView {
                conversation_id: entry.conversation_id,
                peer: Peer { user_id: entry.peer_id, username: entry.peer_username },
                last_message: MessageView::seen_by(entry.last_message, Some(&caller.sub)),
                unread_count: entry.unread_count,
                unread_mentions: 0,
            })
            .collect();
        let list = ConversationList { conversations, next_cursor: page.next_cursor };
        return Ok(Json(MessagesResponse::Conversations(list)));
    };
    let page = state.use_cases.direct_history(&caller, &recipient, query.before.as_deref(), limit).await?;
    let messages = page
        .messages
        .into_iter()
        .map(|(message, status)| MessageView { status, ..MessageView::seen_by(message, Some(&caller.sub)) })
        .collect();
    let next_cursor = page.next_cursor;
    Ok(Json(MessagesResponse::History(HistoryPage { messages, next_cursor })))
}
