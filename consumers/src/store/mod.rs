//! The read-model ports and their adapters.

mod attachment_rows;
pub mod dynamodb;
pub mod embedded;
mod group_rows;
mod rows;

use std::collections::HashMap;

use async_trait::async_trait;

pub use attachment_rows::{AttachmentRow, AttachmentStatus, stored_key, upload_key, uploaded_attachment};
pub use group_rows::{GroupChange, GroupMessageRow, GroupRole, GroupRow, GroupSummary, MemberRow};
pub use rows::{ConversationRow, MessageRow, ReceiptAdvance, ReceiptRow, ReceiptStatus, UserRow};

use crate::StoreError;

/// Accounts, by username and by id.
#[async_trait]
pub trait UserStore: Send + Sync + 'static {
    /// Answers once the store can serve reads: what readiness means for it.
    async fn ping(&self) -> Result<(), StoreError>;
    /// Inserts users not yet present; a user already present is left unchanged.
    async fn put_users(&self, users: &[UserRow]) -> Result<(), StoreError>;
    async fn user_by_name(&self, username: &str) -> Result<Option<UserRow>, StoreError>;
    async fn user_by_id(&self, user_id: &str) -> Result<Option<UserRow>, StoreError>;
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

    /// Raises receipt watermarks; a lower or equal one changes nothing, so re-applying is safe.
    async fn advance_receipts(&self, advances: &[ReceiptAdvance]) -> Result<(), StoreError>;

    /// Every reader's watermarks in a conversation or group.
    async fn receipts(&self, conversation_id: &str) -> Result<Vec<ReceiptRow>, StoreError>;

    /// Up to `limit` of a user's conversations, newest activity first.
    async fn conversations(&self, user_id: &str, limit: usize) -> Result<Vec<ConversationRow>, StoreError>;

    /// Inserts group messages not yet present and moves each group's last message forward.
    async fn put_group_messages(&self, messages: &[GroupMessageRow]) -> Result<(), StoreError>;

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

    /// The group's newest message.
    async fn last_group_message(&self, group_id: &str) -> Result<Option<GroupMessageRow>, StoreError> {
        Ok(self.group_history(group_id, None, None, 1).await?.pop())
    }
}

/// Groups and their members, and each user's groups.
#[async_trait]
pub trait GroupStore: Send + Sync + 'static {
    /// Answers once the store can serve reads.
    async fn ping(&self) -> Result<(), StoreError>;

    async fn group(&self, group_id: &str) -> Result<Option<GroupRow>, StoreError>;

    async fn member(&self, group_id: &str, user_id: &str) -> Result<Option<MemberRow>, StoreError>;

    /// Every member, longest-standing first.
    async fn members(&self, group_id: &str) -> Result<Vec<MemberRow>, StoreError>;

    /// Writes what one event did; see [`GroupChange`] for the order that makes it safe to redo.
    async fn apply_group_change(&self, change: &GroupChange) -> Result<(), StoreError>;

    /// Every group the user is a member of, with its last message; unordered.
    async fn groups_of(&self, user_id: &str) -> Result<Vec<GroupSummary>, StoreError>;
}

/// The attachment index: every attachment, and each conversation's or group's available ones.
#[async_trait]
pub trait AttachmentStore: Send + Sync + 'static {
    /// Answers once the store can serve reads.
    async fn ping(&self) -> Result<(), StoreError>;

    /// Inserts a requested attachment unless it is already there.
    async fn put_requested(&self, row: &AttachmentRow) -> Result<(), StoreError>;

    async fn attachment(&self, attachment_id: &str) -> Result<Option<AttachmentRow>, StoreError>;

    /// Records the verdict on a pending attachment (`row.status` available or rejected), and lists
    /// an available one under its conversation; the first verdict stands, and settling again only
    /// completes the listing.
    async fn settle(&self, row: &AttachmentRow) -> Result<(), StoreError>;

    /// Up to `limit` available attachments of a conversation or group with ids below `before`,
    /// newest first.
    async fn conversation_attachments(
        &self,
        conversation_id: &str,
        before: Option<&str>,
        limit: usize,
    ) -> Result<Vec<AttachmentRow>, StoreError>;
}

/// How far each projection has applied the log, kept beside its read models so that an API
/// process without the projection in it can still wait for its own writes.
#[async_trait]
pub trait CheckpointStore: Send + Sync + 'static {
    /// Raises the projection's next-offset for each (topic, partition); never lowers it.
    async fn save_checkpoint(&self, projection: &str, next_offsets: &[(String, u32, u64)]) -> Result<(), StoreError>;

    /// (topic, partition) -> next offset to apply.
    async fn checkpoint(&self, projection: &str) -> Result<HashMap<(String, u32), u64>, StoreError>;
}
