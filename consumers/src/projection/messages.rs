use std::{collections::HashMap, sync::Arc};

use async_trait::async_trait;
use confab_schemas::{Event, Topic};
use futures::{StreamExt, TryStreamExt, stream};

use crate::projection::{LoggedEvent, Projection, ProjectionSpec};
use confab_readmodels::{
    BlockMark, BlockStore, GroupMessageRow, MembershipMark, MessageRow, MessageStore, ReceiptAdvance,
    ReceiptStatus::{Delivered, Read},
    ReceiptStore, StoreError,
};

/// `confab.messages` into messages, conversations and receipts.
pub const MESSAGES: ProjectionSpec = ProjectionSpec {
    name: "messages",
    topics: &[Topic::Messages],
    build: |sinks| {
        Arc::new(MessagesProjection::new(
            Arc::clone(&sinks.read_models.messages),
            Arc::clone(&sinks.read_models.receipts),
            Arc::clone(&sinks.read_models.blocks),
        ))
    },
};

/// `confab.messages` -> direct messages and conversations, group messages and each group's last
/// message, receipt watermarks, and blocks.
pub struct MessagesProjection {
    store: Arc<dyn MessageStore>,
    receipts: Arc<dyn ReceiptStore>,
    blocks: Arc<dyn BlockStore>,
}

impl MessagesProjection {
    pub fn new(store: Arc<dyn MessageStore>, receipts: Arc<dyn ReceiptStore>, blocks: Arc<dyn BlockStore>) -> Self {
        Self { store, receipts, blocks }
    }
}

/// A batch's block marks by direct conversation: what is stored, then the batch's own.
type BlocksByConversation = HashMap<String, Vec<BlockMark>>;

#[async_trait]
impl Projection for MessagesProjection {
    fn spec(&self) -> &'static ProjectionSpec {
        &MESSAGES
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.store.ping().await
    }

    async fn apply(&self, events: &[LoggedEvent]) -> Result<(), StoreError> {
        let block_marks: Vec<BlockMark> =
            events.iter().filter_map(|l| BlockMark::from_event(&l.event, l.position.offset)).collect();
        let blocks = self.blocks_of(events, &block_marks).await?;
        let messages: Vec<MessageRow> = events
            .iter()
            .filter_map(direct_message_row)
            .filter(|row| !closed(&blocks, &row.conversation_id, row.seq, "direct message"))
            .collect();
        let marks: Vec<MembershipMark> = events.iter().filter_map(membership_mark).collect();
        let group_messages =
            self.sent_by_members(events.iter().filter_map(group_message_row).collect(), &marks).await?;
        if !messages.is_empty() {
            self.store.put_messages(&messages).await?;
        }
        if !group_messages.is_empty() {
            self.store.put_group_messages(&group_messages).await?;
        }
        // Each decision reads only the marks before its message, so the order of these writes
        // does not matter to a redelivery.
        if !marks.is_empty() {
            self.store.put_membership_marks(&marks).await?;
        }
        if !block_marks.is_empty() {
            self.blocks.put_block_marks(&block_marks).await?;
        }
        let mut advances = Vec::new();
        for logged in events {
            if let Some(advance) = self.receipt(&logged.event).await?
                && !closed(&blocks, &advance.conversation_id, logged.position.offset, "receipt")
            {
                advances.push(advance);
            }
        }
        if !advances.is_empty() {
            self.receipts.advance_receipts(&advances).await?;
        }
        Ok(())
    }
}

/// The row a direct message event becomes.
pub fn direct_message_row(logged: &LoggedEvent) -> Option<MessageRow> {
    let Event::DirectMessageSent(e) = &logged.event else { return None };
    Some(MessageRow {
        message_id: e.payload.message_id.clone(),
        conversation_id: e.payload.conversation_id.clone(),
        seq: logged.position.offset,
        sender_id: e.payload.sender_id.clone(),
        sender_username: e.payload.sender_username.clone(),
        recipient_id: e.payload.recipient_id.clone(),
        recipient_username: e.payload.recipient_username.clone(),
        content: e.payload.content.clone(),
        sent_at_ms: e.occurred_at,
        client_message_id: e.payload.client_message_id.clone(),
        attachments: e.payload.attachments.clone(),
    })
}

/// The mark a `GroupMembershipMarked` event becomes.
pub(crate) fn membership_mark(logged: &LoggedEvent) -> Option<MembershipMark> {
    let Event::GroupMembershipMarked(e) = &logged.event else { return None };
    Some(MembershipMark {
        group_id: e.payload.group_id.clone(),
        user_id: e.payload.user_id.clone(),
        seq: logged.position.offset,
        member: e.payload.member,
        change_event_id: Some(e.payload.change_event_id.clone()),
    })
}

/// Whether a block stood in `conversation_id` just before `seq`, by `blocks`; what stood is
/// not stored.
fn closed(blocks: &BlocksByConversation, conversation_id: &str, seq: u64, what: &str) -> bool {
    let standing = blocks.get(conversation_id).and_then(|marks| BlockMark::standing(marks, seq));
    if let Some(block) = standing {
        tracing::info!(conversation_id, seq, block = block.seq, "{what} after a block in the log; not stored");
    }
    standing.is_some()
}

/// The row a group message event becomes.
pub fn group_message_row(logged: &LoggedEvent) -> Option<GroupMessageRow> {
    let Event::GroupMessageSent(e) = &logged.event else { return None };
    Some(GroupMessageRow {
        group_id: e.payload.group_id.clone(),
        seq: logged.position.offset,
        message_id: e.payload.message_id.clone(),
        sender_id: e.payload.sender_id.clone(),
        sender_username: e.payload.sender_username.clone(),
        content: e.payload.content.clone(),
        sent_at_ms: e.occurred_at,
        client_message_id: e.payload.client_message_id.clone(),
        attachments: e.payload.attachments.clone(),
    })
}

/// Senders' membership marks looked up at once.
const MARK_LOOKUPS: usize = 16;

impl MessagesProjection {
    /// The block marks of every direct conversation with a message or receipt in `events`: the
    /// stored ones, then `batch_marks`.
    async fn blocks_of(
        &self,
        events: &[LoggedEvent],
        batch_marks: &[BlockMark],
    ) -> Result<BlocksByConversation, StoreError> {
        let mut conversations: Vec<String> =
            events.iter().filter_map(|l| l.event.direct_conversation()).map(str::to_owned).collect();
        conversations.sort_unstable();
        conversations.dedup();
        let blocks = &self.blocks;
        let mut marks: BlocksByConversation = stream::iter(conversations)
            .map(|conversation| async move {
                let marks = blocks.block_marks(&conversation).await?;
                Ok::<_, StoreError>((conversation, marks))
            })
            .buffer_unordered(MARK_LOOKUPS)
            .try_collect()
            .await?;
        for mark in batch_marks {
            if let Some(known) = marks.get_mut(&mark.conversation_id) {
                known.push(mark.clone());
            }
        }
        Ok(marks)
    }

    /// The group messages whose senders were members at their point of the group's order, by the
    /// marks stored and those of this batch; the others were sent by someone already removed.
    async fn sent_by_members(
        &self,
        rows: Vec<GroupMessageRow>,
        batch_marks: &[MembershipMark],
    ) -> Result<Vec<GroupMessageRow>, StoreError> {
        let mut senders: Vec<(String, String)> =
            rows.iter().map(|m| (m.group_id.clone(), m.sender_id.clone())).collect();
        senders.sort();
        senders.dedup();
        let store = &self.store;
        let mut marks: HashMap<(String, String), Vec<MembershipMark>> = stream::iter(senders)
            .map(|(group, sender)| async move {
                let marks = store.membership_marks(&group, &sender).await?;
                Ok::<_, StoreError>(((group, sender), marks))
            })
            .buffer_unordered(MARK_LOOKUPS)
            .try_collect()
            .await?;
        for mark in batch_marks {
            if let Some(known) = marks.get_mut(&(mark.group_id.clone(), mark.user_id.clone())) {
                known.push(mark.clone());
            }
        }
        Ok(rows
            .into_iter()
            .filter(|row| {
                let key = (row.group_id.clone(), row.sender_id.clone());
                let excluded = marks.get(&key).is_some_and(|marks| MembershipMark::excludes(marks, row.seq));
                if excluded {
                    tracing::info!(
                        group_id = row.group_id,
                        message_id = row.message_id,
                        "group message from a sender no longer a member at that point of the log; not stored"
                    );
                }
                !excluded
            })
            .collect())
    }

    /// A receipt event as a watermark: its message's seq. The message comes first in the same
    /// partition, so it is stored by now; a receipt naming no message of its conversation (the
    /// API never appends one) is skipped.
    async fn receipt(&self, event: &Event) -> Result<Option<ReceiptAdvance>, StoreError> {
        let (conversation_id, user_id, message_id, status, direct) = match event {
            Event::DirectMessagesDelivered(e) => {
                (&e.payload.conversation_id, &e.payload.reader_id, &e.payload.up_to_message_id, Delivered, true)
            }
            Event::DirectMessagesRead(e) => {
                (&e.payload.conversation_id, &e.payload.reader_id, &e.payload.up_to_message_id, Read, true)
            }
            Event::GroupMessagesDelivered(e) => {
                (&e.payload.group_id, &e.payload.reader_id, &e.payload.up_to_message_id, Delivered, false)
            }
            Event::GroupMessagesRead(e) => {
                (&e.payload.group_id, &e.payload.reader_id, &e.payload.up_to_message_id, Read, false)
            }
            _ => return Ok(None),
        };
        let seq = if direct {
            self.store.message(conversation_id, message_id).await?.map(|m| m.seq)
        } else {
            self.store.group_message(conversation_id, message_id).await?.map(|m| m.seq)
        };
        let Some(seq) = seq else {
            tracing::warn!(conversation_id, message_id, "receipt for an unknown message; skipped");
            return Ok(None);
        };
        Ok(Some(ReceiptAdvance { conversation_id: conversation_id.clone(), user_id: user_id.clone(), status, seq }))
    }
}
