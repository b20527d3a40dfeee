//! Messages as answers and frames show them: content opened, attachments named.
use confab_producers::{KeyScope, Keyring, rfc3339};
use confab_readmodels::{GroupMessageRow, MessageRow};
use serde::Serialize;
use utoipa::ToSchema;

use crate::{ApiError, views::attachments::MessageAttachment};

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct MessageView {
    pub(crate) message_id: String,
    pub(crate) conversation_id: String,
    pub(crate) sender_id: String,
    /// Sender's username.
    pub(crate) sender: String,
    pub(crate) recipient_id: String,
    /// Recipient's username.
    pub(crate) recipient: String,
    pub(crate) content: String,
    pub(crate) timestamp: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) client_message_id: Option<String>,
    /// The files the message carries; download one with `GET /attachments/{attachmentId}`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) attachments: Vec<MessageAttachment>,
    /// On the caller's own messages in a history page: `sent`, `delivered` (reached one of the
    /// recipient's devices) or `read`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, example = "delivered")]
    pub(crate) status: Option<&'static str>,
}

impl MessageView {
    pub(crate) fn new(keyring: &Keyring, row: MessageRow) -> Result<Self, ApiError> {
        let plaintext = keyring
            .open(KeyScope::Conversation(&row.conversation_id), &row.content, row.message_id.as_bytes())
            .map_err(ApiError::internal)?;
        let scope = KeyScope::Conversation(&row.conversation_id);
        let attachments = MessageAttachment::all(keyring, scope, row.attachments)?;
        Ok(Self {
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
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GroupMessageView {
    pub(crate) message_id: String,
    pub(crate) group_id: String,
    pub(crate) sender_id: String,
    /// Sender's username.
    pub(crate) sender: String,
    pub(crate) content: String,
    pub(crate) timestamp: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) client_message_id: Option<String>,
    /// The files the message carries; download one with `GET /attachments/{attachmentId}`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) attachments: Vec<MessageAttachment>,
    /// On the caller's own messages in a history page: how many of the members who were in the
    /// group when it was sent have it on a device.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) delivered_count: Option<usize>,
    /// As `deliveredCount`, for members who read it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) read_count: Option<usize>,
}

impl GroupMessageView {
    pub(crate) fn new(keyring: &Keyring, row: GroupMessageRow) -> Result<Self, ApiError> {
        let plaintext = keyring
            .open(KeyScope::Group(&row.group_id), &row.content, row.message_id.as_bytes())
            .map_err(ApiError::internal)?;
        let attachments = MessageAttachment::all(keyring, KeyScope::Group(&row.group_id), row.attachments)?;
        Ok(Self {
            content: String::from_utf8(plaintext).map_err(ApiError::internal)?,
            attachments,
            timestamp: rfc3339(row.sent_at_ms),
            message_id: row.message_id,
            group_id: row.group_id,
            sender_id: row.sender_id,
            sender: row.sender_username,
            client_message_id: row.client_message_id,
            delivered_count: None,
            read_count: None,
        })
    }
}
