//! The read models of the live generation behind every read-model port, so that a process can
//! move to another generation (after a blue/green `confab replay`) without a restart: every call
//! goes to the stores current at that moment.
use std::{
    collections::HashMap,
    sync::{Arc, RwLock},
};

use async_trait::async_trait;
use confab_consumers::{
    StoreError,
    store::{
        AttachmentRow, AttachmentStore, CheckpointStore, ConversationRow, GroupChange, GroupMessageRow, GroupRow,
        GroupStore, GroupSummary, MemberRow, MessageRow, MessageStore, ReceiptAdvance, ReceiptRow, UserRow, UserStore,
    },
};

use crate::backend::Stores;

/// Cheap to clone; every clone sees a switch.
#[derive(Clone)]
pub(crate) struct CurrentStores {
    stores: Arc<RwLock<(u32, Stores)>>,
}

impl CurrentStores {
    pub(crate) fn new(generation: u32, stores: Stores) -> Self {
        Self { stores: Arc::new(RwLock::new((generation, stores))) }
    }

    /// The stores every call goes to now.
    pub(crate) fn stores(&self) -> Stores {
        self.now()
    }

    fn now(&self) -> Stores {
        match self.stores.read() {
            Ok(current) => current.1.clone(),
            Err(poisoned) => poisoned.into_inner().1.clone(),
        }
    }

    pub(crate) fn generation(&self) -> u32 {
        match self.stores.read() {
            Ok(current) => current.0,
            Err(poisoned) => poisoned.into_inner().0,
        }
    }

    /// Makes `stores` (of `generation`) the ones every call goes to from now on.
    pub(crate) fn switch(&self, generation: u32, stores: Stores) {
        match self.stores.write() {
            Ok(mut current) => *current = (generation, stores),
            Err(poisoned) => *poisoned.into_inner() = (generation, stores),
        }
    }
}

#[async_trait]
impl UserStore for CurrentStores {
    async fn ping(&self) -> Result<(), StoreError> {
        self.now().users().ping().await
    }
    async fn put_users(&self, users: &[UserRow]) -> Result<(), StoreError> {
        self.now().users().put_users(users).await
    }
    async fn user_by_name(&self, username: &str) -> Result<Option<UserRow>, StoreError> {
        self.now().users().user_by_name(username).await
    }
    async fn user_by_id(&self, user_id: &str) -> Result<Option<UserRow>, StoreError> {
        self.now().users().user_by_id(user_id).await
    }
}

#[async_trait]
impl MessageStore for CurrentStores {
    async fn ping(&self) -> Result<(), StoreError> {
        self.now().messages().ping().await
    }
    async fn put_messages(&self, messages: &[MessageRow]) -> Result<(), StoreError> {
        self.now().messages().put_messages(messages).await
    }
    async fn history(
        &self,
        conversation_id: &str,
        before: Option<&str>,
        limit: usize,
    ) -> Result<Vec<MessageRow>, StoreError> {
        self.now().messages().history(conversation_id, before, limit).await
    }
    async fn history_by_seq(
        &self,
        conversation_id: &str,
        after: Option<u64>,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<MessageRow>, StoreError> {
        self.now().messages().history_by_seq(conversation_id, after, before, limit).await
    }
    async fn message(&self, conversation_id: &str, message_id: &str) -> Result<Option<MessageRow>, StoreError> {
        self.now().messages().message(conversation_id, message_id).await
    }
    async fn advance_receipts(&self, advances: &[ReceiptAdvance]) -> Result<(), StoreError> {
        self.now().messages().advance_receipts(advances).await
    }
    async fn receipts(&self, conversation_id: &str) -> Result<Vec<ReceiptRow>, StoreError> {
        self.now().messages().receipts(conversation_id).await
    }
    async fn conversations(&self, user_id: &str, limit: usize) -> Result<Vec<ConversationRow>, StoreError> {
        self.now().messages().conversations(user_id, limit).await
    }
    async fn put_group_messages(&self, messages: &[GroupMessageRow]) -> Result<(), StoreError> {
        self.now().messages().put_group_messages(messages).await
    }
    async fn group_history(
        &self,
        group_id: &str,
        after: Option<u64>,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<GroupMessageRow>, StoreError> {
        self.now().messages().group_history(group_id, after, before, limit).await
    }
    async fn group_message(&self, group_id: &str, message_id: &str) -> Result<Option<GroupMessageRow>, StoreError> {
        self.now().messages().group_message(group_id, message_id).await
    }
}

#[async_trait]
impl GroupStore for CurrentStores {
    async fn ping(&self) -> Result<(), StoreError> {
        self.now().groups().ping().await
    }
    async fn group(&self, group_id: &str) -> Result<Option<GroupRow>, StoreError> {
        self.now().groups().group(group_id).await
    }
    async fn member(&self, group_id: &str, user_id: &str) -> Result<Option<MemberRow>, StoreError> {
        self.now().groups().member(group_id, user_id).await
    }
    async fn members(&self, group_id: &str) -> Result<Vec<MemberRow>, StoreError> {
        self.now().groups().members(group_id).await
    }
    async fn apply_group_change(&self, change: &GroupChange) -> Result<(), StoreError> {
        self.now().groups().apply_group_change(change).await
    }
    async fn groups_of(&self, user_id: &str) -> Result<Vec<GroupSummary>, StoreError> {
        self.now().groups().groups_of(user_id).await
    }
}

#[async_trait]
impl AttachmentStore for CurrentStores {
    async fn ping(&self) -> Result<(), StoreError> {
        self.now().attachments().ping().await
    }
    async fn put_requested(&self, row: &AttachmentRow) -> Result<(), StoreError> {
        self.now().attachments().put_requested(row).await
    }
    async fn attachment(&self, attachment_id: &str) -> Result<Option<AttachmentRow>, StoreError> {
        self.now().attachments().attachment(attachment_id).await
    }
    async fn settle(&self, row: &AttachmentRow) -> Result<(), StoreError> {
        self.now().attachments().settle(row).await
    }
    async fn conversation_attachments(
        &self,
        conversation_id: &str,
        before: Option<&str>,
        limit: usize,
    ) -> Result<Vec<AttachmentRow>, StoreError> {
        self.now().attachments().conversation_attachments(conversation_id, before, limit).await
    }
}

/// Checkpoints are a generation's too: an API process waiting for its write reads the live one's.
#[async_trait]
impl CheckpointStore for CurrentStores {
    async fn save_checkpoint(&self, projection: &str, next_offsets: &[(String, u32, u64)]) -> Result<(), StoreError> {
        match self.now().checkpoints() {
            Some(checkpoints) => checkpoints.save_checkpoint(projection, next_offsets).await,
            None => Ok(()),
        }
    }
    async fn checkpoint(&self, projection: &str) -> Result<HashMap<(String, u32), u64>, StoreError> {
        match self.now().checkpoints() {
            Some(checkpoints) => checkpoints.checkpoint(projection).await,
            None => Ok(HashMap::new()),
        }
    }
}
