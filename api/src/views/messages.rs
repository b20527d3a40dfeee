//! Messages as answers and frames show them: content opened, attachments named.
use confab_producers::{Opened, rfc3339};
use confab_readmodels::{GroupMessageRow, MessageRow};
use serde::Serialize;
use utoipa::ToSchema;

use crate::views::attachments::MessageAttachment;

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
    /// Empty when `deleted`.
    pub(crate) content: String,
    /// The message is deleted: its sender's account was erased, and its content and
    /// attachments with it. Absent otherwise.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub(crate) deleted: bool,
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

impl From<Opened<MessageRow>> for MessageView {
    fn from(Opened { row, content, attachments, deleted }: Opened<MessageRow>) -> Self {
        Self {
            content,
            deleted,
            attachments: attachments.into_iter().map(MessageAttachment::from).collect(),
            timestamp: rfc3339(row.sent_at_ms),
            message_id: row.message_id,
            conversation_id: row.conversation_id,
            sender_id: row.sender_id,
            sender: row.sender_username,
            recipient_id: row.recipient_id,
            recipient: row.recipient_username,
            client_message_id: row.client_message_id,
            status: None,
        }
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
    /// Empty when `deleted`.
    pub(crate) content: String,
    /// The message is deleted: its sender's account was erased, and its content and
    /// attachments with it. Absent otherwise.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub(crate) deleted: bool,
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

impl From<Opened<GroupMessageRow>> for GroupMessageView {
    fn from(Opened { row, content, attachments, deleted }: Opened<GroupMessageRow>) -> Self {
        Self {
            content,
            deleted,
            attachments: attachments.into_iter().map(MessageAttachment::from).collect(),
            timestamp: rfc3339(row.sent_at_ms),
            message_id: row.message_id,
            group_id: row.group_id,
            sender_id: row.sender_id,
            sender: row.sender_username,
            client_message_id: row.client_message_id,
            delivered_count: None,
            read_count: None,
        }
    }
}
