//! Messages as answers and frames show them: content opened, attachments named.
use confab_producers::{Opened, rfc3339};
use confab_readmodels::{GroupMessageRow, Lifecycle, MessageRow};
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
    /// The message is deleted: for everyone, by its sender (or in a group an admin), or with its
    /// sender's erased account; its content and attachments are gone. Absent otherwise.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub(crate) deleted: bool,
    pub(crate) timestamp: String,
    #[serde(flatten)]
    pub(crate) changes: ChangesView,
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
            changes: ChangesView::from(&row.lifecycle),
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
    /// The message is deleted: for everyone, by its sender (or in a group an admin), or with its
    /// sender's erased account; its content and attachments are gone. Absent otherwise.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub(crate) deleted: bool,
    pub(crate) timestamp: String,
    #[serde(flatten)]
    pub(crate) changes: ChangesView,
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
            changes: ChangesView::from(&row.lifecycle),
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

/// What happened to a message since it was sent; each field absent while it did not.
#[derive(Debug, Default, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ChangesView {
    /// When its text was last edited (RFC 3339); `content` is the latest text (the earlier ones
    /// are not served).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) edited_at: Option<String>,
    /// How many times its text was edited.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) edit_count: Option<u32>,
    /// When it was deleted for everyone (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) deleted_at: Option<String>,
}

impl From<&Lifecycle> for ChangesView {
    fn from(lifecycle: &Lifecycle) -> Self {
        let deleted = lifecycle.deleted_at_ms.is_some();
        Self {
            // A tombstone says when it was deleted, nothing of its edits.
            edited_at: lifecycle.edited_at_ms.filter(|_| !deleted).map(rfc3339),
            edit_count: Some(lifecycle.edit_count).filter(|count| *count > 0 && !deleted),
            deleted_at: lifecycle.deleted_at_ms.map(rfc3339),
        }
    }
}
