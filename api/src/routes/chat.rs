//! `POST /chat/send` and `GET /chat/messages`.
use axum::{Json, extract::State};
use confab_consumers::store::{ConversationRow, MessageRow, ReceiptStatus};
use confab_schemas::{DirectMessageSent, DirectMessageSentPayload, Event};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::{
    ApiError, AppState,
    crypto::{KeyScope, Keyring},
    error::ErrorBody,
    extract::{AuthUser, JsonBody, QueryParams},
    routes::{
        attachments::{MessageAttachment, attach},
        auth::normalize_username,
        messaging::{Published, oldest_first_page, parse_cursor, parse_limit, publish_once, validate_message},
    },
    time::{now_ms, rfc3339},
};

/// Claim scope that makes a client's retry of one send idempotent.
const CLIENT_MESSAGE_CLAIM: &str = "client-message";
/// Namespace of conversation ids (UUID v5 of the two user ids).
const CONVERSATION_NAMESPACE: Uuid = Uuid::from_u128(0x5f1c_0d8e_6a3b_4c2d_9e7f_0a1b_2c3d_4e5f);

/// The one conversation between two users, whoever writes first.
pub(crate) fn conversation_id(a: &str, b: &str) -> Uuid {
    let (low, high) = if a <= b { (a, b) } else { (b, a) };
    Uuid::new_v5(&CONVERSATION_NAMESPACE, format!("{low}:{high}").as_bytes())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SendRequest {
    /// Username of the recipient; yourself for notes-to-self.
    #[schema(example = "bob")]
    recipient: String,
    /// Up to 64 KiB of text; may be left out when `attachments` are given.
    #[schema(example = "hello bob")]
    message: Option<String>,
    /// Your idempotency key: resending with the same one returns the first message.
    client_message_id: Option<String>,
    /// Up to 10 attachment ids of this conversation, uploaded (see `POST /attachments`).
    #[serde(default)]
    attachments: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SendResponse {
    message_id: Uuid,
    conversation_id: Uuid,
    /// RFC 3339 UTC with milliseconds.
    timestamp: String,
}

/// What a client-message claim remembers, to answer a retry.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct FirstSend {
    recipient_id: String,
    #[serde(flatten)]
    response: SendResponse,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct MessageView {
    message_id: String,
    conversation_id: String,
    sender_id: String,
    /// Sender's username.
    sender: String,
    recipient_id: String,
    /// Recipient's username.
    recipient: String,
    content: String,
    timestamp: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_message_id: Option<String>,
    /// The files the message carries; download one with `GET /attachments/{attachmentId}`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    attachments: Vec<MessageAttachment>,
    /// On the caller's own messages in a history page: `sent`, `delivered` (reached one of the
    /// recipient's devices) or `read`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, example = "delivered")]
    status: Option<&'static str>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct MessagesQuery {
    /// The peer's username; without it, the caller's conversations are listed.
    recipient: Option<String>,
    /// 1-200, default 50.
    limit: Option<String>,
    /// `nextCursor` of the previous page.
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
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ConversationList {
    /// Newest activity first.
    conversations: Vec<ConversationView>,
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
    let text = validate_message(body.message.as_deref(), &body.attachments, body.client_message_id.as_deref())?;
    let recipient = state
        .users
        .user_by_name(&body.recipient.to_lowercase())
        .await?
        .ok_or_else(|| ApiError::not_found("recipient_not_found", "no user with that username"))?;
    let conversation_id = conversation_id(&caller.sub, &recipient.user_id);
    let attachments = attach(&state, &caller, &conversation_id.to_string(), &body.attachments).await?;
    let message_id = Uuid::now_v7();
    let occurred_at = now_ms();
    let content = state
        .keyring
        .seal(KeyScope::Conversation(&conversation_id.to_string()), text.as_bytes(), message_id.to_string().as_bytes())
        .map_err(ApiError::internal)?;
    let event = Event::DirectMessageSent(DirectMessageSent {
        event_id: Uuid::now_v7().to_string(),
        occurred_at,
        actor_id: caller.sub.clone(),
        payload: DirectMessageSentPayload {
            message_id: message_id.to_string(),
            conversation_id: conversation_id.to_string(),
            sender_id: caller.sub.clone(),
            sender_username: caller.name.clone(),
            recipient_id: recipient.user_id.clone(),
            recipient_username: recipient.username.clone(),
            content,
            client_message_id: body.client_message_id.clone(),
            attachments,
        },
    });
    let first = FirstSend {
        recipient_id: recipient.user_id.clone(),
        response: SendResponse { message_id, conversation_id, timestamp: rfc3339(occurred_at) },
    };
    let claim = body.client_message_id.as_deref().map(|id| (CLIENT_MESSAGE_CLAIM, caller.sub.as_str(), id));
    match publish_once(&state, claim, &first, &event, occurred_at).await? {
        Published::Appended(position) => {
            state.read_your_write(&state.projections.messages, &position).await;
            Ok(Json(first.response))
        }
        Published::Retried(value) => retried_send(&value, &recipient.user_id),
    }
}

/// The answer to a retry: the first send's ids, if the retry is really the same send.
fn retried_send(first: &[u8], recipient_id: &str) -> Result<Json<SendResponse>, ApiError> {
    let first: FirstSend = serde_json::from_slice(first).map_err(ApiError::internal)?;
    if first.recipient_id != recipient_id {
        return Err(ApiError::conflict(
            "client_message_id_reused",
            "this clientMessageId was already used for a message to another recipient",
        ));
    }
    Ok(Json(first.response))
}

pub(crate) fn view(keyring: &Keyring, row: MessageRow) -> Result<MessageView, ApiError> {
    let plaintext = keyring
        .open(KeyScope::Conversation(&row.conversation_id), &row.content, row.message_id.as_bytes())
        .map_err(ApiError::internal)?;
    let scope = KeyScope::Conversation(&row.conversation_id);
    let attachments = MessageAttachment::all(keyring, scope, row.attachments)?;
    Ok(MessageView {
        content: String::from_utf8(plaintext).map_err(ApiError::internal)?,
        attachments,
        timestamp: rfc3339(row.sent_at_ms),
        message_id: row.message_id,
        conversation_id: row.conversation_id,
        sender_id: row.sender_id,
        sender: row.sender_username,
        recipient_id: row.recipient_id,
        recipient: row.recipient_username,
        client_message_id: row.client_message_id,
        status: None,
    })
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
    let limit = parse_limit(query.limit.as_deref())?;
    let before = parse_cursor(query.before.as_deref())?;
    let Some(recipient) = query.recipient else {
        let rows = state.messages.conversations(&caller.sub, limit).await?;
        let conversations = rows
            .into_iter()
            .map(|row: ConversationRow| {
                Ok(ConversationView {
                    conversation_id: row.conversation_id,
                    peer: Peer { user_id: row.peer_id, username: row.peer_username },
                    last_message: view(&state.keyring, row.last_message)?,
                })
            })
            .collect::<Result<_, ApiError>>()?;
        return Ok(Json(MessagesResponse::Conversations(ConversationList { conversations })));
    };
    let peer = match normalize_username(&recipient) {
        Ok(name) => state.users.user_by_name(&name).await?,
        Err(_) => None,
    }
    .ok_or_else(|| ApiError::not_found("recipient_not_found", "no user with that username"))?;
    let conversation = conversation_id(&caller.sub, &peer.user_id).to_string();
    let rows = state.messages.history(&conversation, before.as_deref(), limit + 1).await?;
    let (rows, next_cursor) = oldest_first_page(rows, limit, |row| &row.message_id);
    let peer_receipts = if rows.iter().any(|row| row.sender_id == caller.sub) && peer.user_id != caller.sub {
        state.messages.receipts(&conversation).await?.into_iter().find(|r| r.user_id == peer.user_id)
    } else {
        None
    };
    let messages = rows
        .into_iter()
        .map(|row| {
            let status = (row.sender_id == caller.sub).then(|| {
                peer_receipts.as_ref().and_then(|r| r.status_of(row.seq)).map_or("sent", ReceiptStatus::as_str)
            });
            Ok(MessageView { status, ..view(&state.keyring, row)? })
        })
        .collect::<Result<_, ApiError>>()?;
    Ok(Json(MessagesResponse::History(HistoryPage { messages, next_cursor })))
}
