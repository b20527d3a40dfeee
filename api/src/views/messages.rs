//! Messages as answers and frames show them: content opened, attachments named.
use confab_producers::{Opened, Quote, rfc3339};
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
    /// The viewer deleted it for themself (it is only ever shown so as a conversation's or a
    /// group's last message; history leaves it out): no content, attachments or reactions.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub(crate) hidden: bool,
    pub(crate) timestamp: String,
    #[serde(flatten)]
    pub(crate) changes: ChangesView,
    /// The message this one replies to, as it stands now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) reply_to: Option<ReplyView>,
    /// Its reactions, most given first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) reactions: Vec<ReactionView>,
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
    fn from(message: Opened<MessageRow>) -> Self {
        Self::seen_by(message, None)
    }
}

impl MessageView {
    /// The message as `viewer` sees it: whether each reaction is theirs (`me`); None for a view
    /// several users get, which leaves `me` out.
    pub(crate) fn seen_by(message: Opened<MessageRow>, viewer: Option<&str>) -> Self {
        let hidden = viewer.is_some_and(|viewer| message.row.lifecycle.hidden_from(viewer));
        let Opened { row, content, attachments, deleted, reply } = message.hidden(hidden);
        Self {
            hidden,
            reactions: if hidden { Vec::new() } else { ReactionView::list(&row.lifecycle, viewer) },
            reply_to: reply.map(ReplyView::from),
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
    /// The viewer deleted it for themself (it is only ever shown so as a conversation's or a
    /// group's last message; history leaves it out): no content, attachments or reactions.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub(crate) hidden: bool,
    pub(crate) timestamp: String,
    #[serde(flatten)]
    pub(crate) changes: ChangesView,
    /// The message this one replies to, as it stands now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) reply_to: Option<ReplyView>,
    /// Its reactions, most given first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) reactions: Vec<ReactionView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) client_message_id: Option<String>,
    /// The files the message carries; download one with `GET /attachments/{attachmentId}`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) attachments: Vec<MessageAttachment>,
    /// The user ids of the members it mentions (`@username` in its text, or named by the
    /// sender); gone with its content.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) mentions: Vec<String>,
    /// It mentions the caller (in a live frame: the connection's user). Absent otherwise.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub(crate) mention: bool,
    /// On the caller's own messages in a history page: how many of the members who were in the
    /// group when it was sent have it on a device.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) delivered_count: Option<usize>,
    /// As `deliveredCount`, for members who read it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) read_count: Option<usize>,
}

impl From<Opened<GroupMessageRow>> for GroupMessageView {
    fn from(message: Opened<GroupMessageRow>) -> Self {
        Self::seen_by(message, None)
    }
}

impl GroupMessageView {
    /// As [`MessageView::seen_by`].
    pub(crate) fn seen_by(message: Opened<GroupMessageRow>, viewer: Option<&str>) -> Self {
        let hidden = viewer.is_some_and(|viewer| message.row.lifecycle.hidden_from(viewer));
        let Opened { row, content, attachments, deleted, reply } = message.hidden(hidden);
        let mentions = if deleted || hidden { Vec::new() } else { row.mentions };
        Self {
            hidden,
            reactions: if hidden { Vec::new() } else { ReactionView::list(&row.lifecycle, viewer) },
            reply_to: reply.map(ReplyView::from),
            changes: ChangesView::from(&row.lifecycle),
            content,
            deleted,
            attachments: attachments.into_iter().map(MessageAttachment::from).collect(),
            mention: viewer.is_some_and(|viewer| mentions.iter().any(|id| id == viewer)),
            mentions,
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
    /// When it was pinned to its conversation or group (RFC 3339), while it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) pinned_at: Option<String>,
    /// Who pinned it, by user id, while it is pinned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) pinned_by: Option<String>,
}

impl From<&Lifecycle> for ChangesView {
    fn from(lifecycle: &Lifecycle) -> Self {
        let deleted = lifecycle.deleted_at_ms.is_some();
        Self {
            // A tombstone says when it was deleted, nothing of its edits.
            edited_at: lifecycle.edited_at_ms.filter(|_| !deleted).map(rfc3339),
            edit_count: Some(lifecycle.edit_count).filter(|count| *count > 0 && !deleted),
            deleted_at: lifecycle.deleted_at_ms.map(rfc3339),
            pinned_at: lifecycle.pinned.as_ref().map(|pin| rfc3339(pin.at_ms)),
            pinned_by: lifecycle.pinned.as_ref().map(|pin| pin.by.clone()),
        }
    }
}

/// The message a reply quotes, as it stands when read.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ReplyView {
    pub(crate) message_id: String,
    pub(crate) sender_id: String,
    /// Sender's username.
    pub(crate) sender: String,
    /// The start of its latest text (at most 100 characters); empty when deleted.
    pub(crate) preview: String,
    /// It was deleted since (or its sender's account erased).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub(crate) deleted: bool,
}

impl From<Quote> for ReplyView {
    fn from(quote: Quote) -> Self {
        Self {
            message_id: quote.message_id,
            sender_id: quote.sender_id,
            sender: quote.sender_username,
            preview: quote.preview,
            deleted: quote.deleted,
        }
    }
}

/// One emoji on a message: how many gave it, and whether the viewer did.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ReactionView {
    pub(crate) emoji: String,
    pub(crate) count: usize,
    /// The viewer gave it; absent in frames, which many users share (a `reaction` frame names
    /// who reacted).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) me: Option<bool>,
}

impl ReactionView {
    /// Most given first, then by emoji.
    fn list(lifecycle: &Lifecycle, viewer: Option<&str>) -> Vec<Self> {
        let mut list: Vec<Self> = lifecycle
            .reactions
            .iter()
            .map(|(emoji, users)| Self {
                emoji: emoji.clone(),
                count: users.len(),
                me: viewer.map(|viewer| users.contains(viewer)),
            })
            .collect();
        list.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.emoji.cmp(&b.emoji)));
        list
    }
}
