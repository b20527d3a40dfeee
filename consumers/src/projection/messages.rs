use std::sync::Arc;

use async_trait::async_trait;
use confab_schemas::{Event, Topic};

use crate::{
    StoreError,
    projection::{LoggedEvent, Projection},
    store::{GroupMessageRow, MessageRow, MessageStore},
};

/// `confab.messages` -> direct messages and conversations, group messages and each group's last
/// message.
pub struct MessagesProjection {
    store: Arc<dyn MessageStore>,
}

impl MessagesProjection {
    pub fn new(store: Arc<dyn MessageStore>) -> Self {
        Self { store }
    }
}

#[async_trait]
impl Projection for MessagesProjection {
    fn name(&self) -> &'static str {
        "messages"
    }

    fn topics(&self) -> &'static [Topic] {
        &[Topic::Messages]
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.store.ping().await
    }

    async fn apply(&self, events: &[LoggedEvent]) -> Result<(), StoreError> {
        let messages: Vec<MessageRow> = events
            .iter()
            .filter_map(|logged| match &logged.event {
                Event::DirectMessageSent(e) => Some(MessageRow {
                    message_id: e.payload.message_id.clone(),
                    conversation_id: e.payload.conversation_id.clone(),
                    sender_id: e.payload.sender_id.clone(),
                    sender_username: e.payload.sender_username.clone(),
                    recipient_id: e.payload.recipient_id.clone(),
                    recipient_username: e.payload.recipient_username.clone(),
                    content: e.payload.content.clone(),
                    sent_at_ms: e.occurred_at,
                    client_message_id: e.payload.client_message_id.clone(),
                }),
                _ => None,
            })
            .collect();
        let group_messages: Vec<GroupMessageRow> = events
            .iter()
            .filter_map(|logged| match &logged.event {
                Event::GroupMessageSent(e) => Some(GroupMessageRow {
                    group_id: e.payload.group_id.clone(),
                    seq: logged.position.offset,
                    message_id: e.payload.message_id.clone(),
                    sender_id: e.payload.sender_id.clone(),
                    sender_username: e.payload.sender_username.clone(),
                    content: e.payload.content.clone(),
                    sent_at_ms: e.occurred_at,
                    client_message_id: e.payload.client_message_id.clone(),
                }),
                _ => None,
            })
            .collect();
        if !messages.is_empty() {
            self.store.put_messages(&messages).await?;
        }
        if !group_messages.is_empty() {
            self.store.put_group_messages(&group_messages).await?;
        }
        Ok(())
    }
}
