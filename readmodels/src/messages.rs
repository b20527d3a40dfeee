//! The messages read model: one-on-one and group messages, and each user's conversation list.
use async_trait::async_trait;
use confab_schemas::AttachmentRef;
use serde::{Deserialize, Serialize};

use crate::{Lifecycle, MessageChange, StoreError};

/// A stored message; `content` is sealed exactly as it was on the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageRow {
    pub message_id: String,
    pub conversation_id: String,
    /// Its offset in its `confab.messages` partition, which the whole conversation shares: where
    /// a live-delivery cursor points. Zero in rows written before it was kept.
    #[serde(default)]
    pub seq: u64,
    /// How many messages of its place are stored up to and including it (1 for the first): what
    /// unread counts subtract. Zero in rows written before it was kept.
    #[serde(default)]
    pub ordinal: u64,
    pub sender_id: String,
    pub sender_username: String,
    pub recipient_id: String,
    pub recipient_username: String,
    pub content: String,
    pub sent_at_ms: i64,
    pub client_message_id: Option<String>,
    /// As the message event carries them (file names sealed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<AttachmentRef>,
    /// The message it replies to, in the same place.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<String>,
    /// Its edits and deletion; `content` and `attachments` are as they left them.
    #[serde(default, skip_serializing_if = "Lifecycle::is_untouched")]
    pub lifecycle: Lifecycle,
}

/// A group message; `seq` is its offset in its `confab.messages` partition, which all of the
/// group's messages share, so it orders the group exactly as the log does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupMessageRow {
    pub group_id: String,
    pub seq: u64,
    /// How many messages of its place are stored up to and including it (1 for the first): what
    /// unread counts subtract. Zero in rows written before it was kept.
    #[serde(default)]
    pub ordinal: u64,
    pub message_id: String,
    pub sender_id: String,
    pub sender_username: String,
    pub content: String,
    pub sent_at_ms: i64,
    pub client_message_id: Option<String>,
    /// As the message event carries them (file names sealed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<AttachmentRef>,
    /// The message it replies to, in the same place.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<String>,
    /// The members it mentions, by user id, sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mentions: Vec<String>,
    /// Its edits and deletion; `content` and `attachments` are as they left them.
    #[serde(default, skip_serializing_if = "Lifecycle::is_untouched")]
    pub lifecycle: Lifecycle,
}

/// Where one member stands at one point of a group's message order: a `GroupMembershipMarked`
/// at `seq` of the group's partition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MembershipMark {
    pub group_id: String,
    pub user_id: String,
    pub seq: u64,
    /// False from here on: the user had left or been removed.
    pub member: bool,
    /// The `confab.groups` event this marks; None in rows written before it was kept.
    #[serde(default)]
    pub change_event_id: Option<String>,
}

impl MembershipMark {
    /// Whether a message from the user at `seq` is outside the group: the newest of `marks`
    /// (one user's, in one group) before it says they were not a member. No mark: a member, as
    /// the API checked.
    pub fn excludes(marks: &[MembershipMark], seq: u64) -> bool {
        marks.iter().filter(|m| m.seq < seq).max_by_key(|m| m.seq).is_some_and(|m| !m.member)
    }
}

/// One user's view of a conversation: who the peer is and the newest message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationRow {
    pub user_id: String,
    pub conversation_id: String,
    pub peer_id: String,
    pub peer_username: String,
    pub last_message: MessageRow,
}

/// Where a conversation stands in its user's list, newest activity first: its newest message
/// (ids are UUID v7, so they sort by time), then its id. A page of the list ends at one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivityKey {
    pub last_message_id: String,
    pub conversation_id: String,
}

impl ConversationRow {
    pub fn activity_key(&self) -> ActivityKey {
        ActivityKey {
            last_message_id: self.last_message.message_id.clone(),
            conversation_id: self.conversation_id.clone(),
        }
    }
}

impl MessageRow {
    /// The conversation rows this message makes current: one per participant, one for a
    /// note-to-self.
    pub fn conversation_rows(&self) -> Vec<ConversationRow> {
        let mut rows = vec![ConversationRow {
            user_id: self.sender_id.clone(),
            conversation_id: self.conversation_id.clone(),
            peer_id: self.recipient_id.clone(),
            peer_username: self.recipient_username.clone(),
            last_message: self.clone(),
        }];
        if self.recipient_id != self.sender_id {
            rows.push(ConversationRow {
                user_id: self.recipient_id.clone(),
                conversation_id: self.conversation_id.clone(),
                peer_id: self.sender_id.clone(),
                peer_username: self.sender_username.clone(),
                last_message: self.clone(),
            });
        }
        rows
    }
}

/// One-on-one and group messages, and each user's conversation list.
#[async_trait]
pub trait MessageStore: Send + Sync + 'static {
    /// Answers once the store can serve reads.
    async fn ping(&self) -> Result<(), StoreError>;

    /// Inserts messages not yet present and moves each participant's conversation to its newest
    /// message; re-applying a message changes nothing.
    async fn put_messages(&self, messages: &[MessageRow]) -> Result<(), StoreError>;

    /// Up to `limit` messages of a conversation older than `before` (a message id), newest first.
    async fn history(
        &self,
        conversation_id: &str,
        before: Option<&str>,
        limit: usize,
    ) -> Result<Vec<MessageRow>, StoreError>;

    /// Up to `limit` messages of a conversation with `after < seq < before`, newest first.
    async fn history_by_seq(
        &self,
        conversation_id: &str,
        after: Option<u64>,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<MessageRow>, StoreError>;

    /// One direct message by id.
    async fn message(&self, conversation_id: &str, message_id: &str) -> Result<Option<MessageRow>, StoreError>;

    /// One direct message by id alone, wherever it is; None for one stored before this was kept
    /// (until a replay rebuilds the read models).
    async fn direct_message(&self, message_id: &str) -> Result<Option<MessageRow>, StoreError>;

    /// Up to `limit` of a user's conversations, newest activity first; when paging, those after
    /// `before` (the last of the previous page) in that order.
    async fn conversations(
        &self,
        user_id: &str,
        before: Option<&ActivityKey>,
        limit: usize,
    ) -> Result<Vec<ConversationRow>, StoreError>;

    /// Inserts group messages not yet present, indexes each one's mentions by member, and moves
    /// each group's last message forward.
    async fn put_group_messages(&self, messages: &[GroupMessageRow]) -> Result<(), StoreError>;

    /// The ids of up to `limit` messages pinned in `place_id` (a direct conversation or a
    /// group), the newest message first.
    async fn pins(&self, place_id: &str, limit: usize) -> Result<Vec<String>, StoreError>;

    /// How many messages of `group_id` after `after` (a seq; None: from the start) mention
    /// `user_id`.
    async fn mentions_after(&self, group_id: &str, user_id: &str, after: Option<u64>) -> Result<u64, StoreError>;

    /// Up to `limit` messages of a group with `after < seq < before`, newest first.
    async fn group_history(
        &self,
        group_id: &str,
        after: Option<u64>,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<GroupMessageRow>, StoreError>;

    /// One group message by id.
    async fn group_message(&self, group_id: &str, message_id: &str) -> Result<Option<GroupMessageRow>, StoreError>;

    /// Records membership marks; recording one again changes nothing.
    async fn put_membership_marks(&self, marks: &[MembershipMark]) -> Result<(), StoreError>;

    /// One user's membership marks in one group, oldest first.
    async fn membership_marks(&self, group_id: &str, user_id: &str) -> Result<Vec<MembershipMark>, StoreError>;

    /// Every membership mark of a group, in the group's message order.
    async fn group_marks(&self, group_id: &str) -> Result<Vec<MembershipMark>, StoreError>;

    /// Applies each change to its message, in the order given (log order within a place), by
    /// [`crate::Lifecycle::apply`], and to every copy of it: the conversation list's last
    /// message of each participant, the group's last message. A change to a message not stored
    /// changes nothing; re-applying a change changes nothing.
    async fn apply_message_changes(&self, changes: &[MessageChange]) -> Result<(), StoreError>;

    /// The group's newest message.
    async fn last_group_message(&self, group_id: &str) -> Result<Option<GroupMessageRow>, StoreError> {
        Ok(self.group_history(group_id, None, None, 1).await?.pop())
    }
}
