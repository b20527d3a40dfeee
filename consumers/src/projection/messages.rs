use std::{collections::HashMap, sync::Arc};

use async_trait::async_trait;
use confab_schemas::{Event, Topic, place_kind};
use futures::{StreamExt, TryStreamExt, stream};

use crate::projection::{
    LoggedEvent, Projection, ProjectionSpec, Withdrawals,
    numbering::{furthest, number_direct, number_group, seen_by_sender, seen_on_joining},
};
use confab_readmodels::{
    BlockMark, BlockStore, ChangeKind, GroupMessageRow, Lifecycle, MembershipMark, MessageChange, MessagePlace,
    MessageRow, MessageStore, ReceiptAdvance,
    ReceiptStatus::{Delivered, Read},
    ReceiptStore, SeenAdvance, StoreError,
};

/// `confab.messages` into messages, conversations and receipts.
pub const MESSAGES: ProjectionSpec = ProjectionSpec {
    name: "messages",
    topics: &[Topic::Messages],
    build: Some(|sinks| {
        Arc::new(MessagesProjection::new(
            Arc::clone(&sinks.read_models.messages),
            Arc::clone(&sinks.read_models.receipts),
            Arc::clone(&sinks.read_models.blocks),
            Withdrawals { attachments: Arc::clone(&sinks.read_models.attachments), objects: Arc::clone(sinks.objects) },
        ))
    }),
};

/// `confab.messages` -> direct messages and conversations, group messages and each group's last
/// message, receipt watermarks, blocks, and the files of messages deleted for everyone.
pub struct MessagesProjection {
    store: Arc<dyn MessageStore>,
    receipts: Arc<dyn ReceiptStore>,
    blocks: Arc<dyn BlockStore>,
    withdrawals: Withdrawals,
}

impl MessagesProjection {
    pub fn new(
        store: Arc<dyn MessageStore>,
        receipts: Arc<dyn ReceiptStore>,
        blocks: Arc<dyn BlockStore>,
        withdrawals: Withdrawals,
    ) -> Self {
        Self { store, receipts, blocks, withdrawals }
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
        let mut messages: Vec<MessageRow> = events
            .iter()
            .filter_map(direct_message_row)
            .filter(|row| !closed(&blocks, &row.conversation_id, row.seq, "direct message"))
            .collect();
        let marks: Vec<MembershipMark> = events.iter().filter_map(membership_mark).collect();
        let group_rows: Vec<GroupMessageRow> = events.iter().filter_map(group_message_row).collect();
        let changes: Vec<MessageChange> = events.iter().filter_map(message_change).collect();
        let members = self.members(&group_rows, &changes, &marks).await?;
        let mut group_messages: Vec<GroupMessageRow> = group_rows
            .into_iter()
            .filter(|row| members.were(&row.group_id, &row.sender_id, row.seq, &row.message_id))
            .collect();
        let changes: Vec<MessageChange> = changes
            .into_iter()
            .filter(|change| match (&change.place, &change.kind) {
                (
                    MessagePlace::Direct(conversation),
                    ChangeKind::Edit { .. } | ChangeKind::React { .. } | ChangeKind::Pin { .. },
                ) => !closed(&blocks, conversation, change.seq, "edit, reaction or pin"),
                (MessagePlace::Direct(_), ChangeKind::Delete | ChangeKind::Hide) => true,
                (MessagePlace::Group(group), _) => {
                    members.were(group, &change.actor_id, change.seq, &change.message_id)
                }
            })
            .collect();
        // Marks before the messages, as the log has them: a reader who sees a message sees every
        // mark before it, so a member added before it sees it too. (A redelivery decides the
        // same either way: each decision reads only the marks before its message.)
        if !marks.is_empty() {
            self.store.put_membership_marks(&marks).await?;
        }
        if !block_marks.is_empty() {
            self.blocks.put_block_marks(&block_marks).await?;
        }
        number_direct(self.store.as_ref(), &mut messages).await?;
        number_group(self.store.as_ref(), &mut group_messages).await?;
        if !messages.is_empty() {
            self.store.put_messages(&messages).await?;
        }
        if !group_messages.is_empty() {
            self.store.put_group_messages(&group_messages).await?;
        }
        let mut seen: Vec<SeenAdvance> = seen_on_joining(self.store.as_ref(), &marks).await?;
        seen.extend(messages.iter().map(|m| seen_by_sender(&m.conversation_id, &m.sender_id, m.seq, m.ordinal)));
        seen.extend(group_messages.iter().map(|m| seen_by_sender(&m.group_id, &m.sender_id, m.seq, m.ordinal)));
        self.carry(&messages, &group_messages).await?;
        // After the messages: a change may follow its message in the same batch.
        if !changes.is_empty() {
            self.withdraw(&changes).await?;
            self.store.apply_message_changes(&changes).await?;
        }
        let mut advances = Vec::new();
        for logged in events {
            if let Some((advance, ordinal)) = self.receipt(&logged.event).await?
                && !closed(&blocks, &advance.conversation_id, logged.position.offset, "receipt")
            {
                if advance.status == Read {
                    seen.push(SeenAdvance {
                        place_id: advance.conversation_id.clone(),
                        user_id: advance.user_id.clone(),
                        seq: advance.seq,
                        ordinal,
                    });
                }
                advances.push(advance);
            }
        }
        if !advances.is_empty() {
            self.receipts.advance_receipts(&advances).await?;
        }
        if !seen.is_empty() {
            self.receipts.advance_seen(&furthest(seen)).await?;
        }
        Ok(())
    }
}

impl MessagesProjection {
    /// Which stored messages carry which files: those not deleted yet, so a redelivery after the
    /// delete does not carry again what it withdrew.
    async fn carry(&self, messages: &[MessageRow], group_messages: &[GroupMessageRow]) -> Result<(), StoreError> {
        for message in messages.iter().filter(|m| !m.attachments.is_empty()) {
            let stored = self.store.direct_message(&message.message_id).await?;
            if stored.is_some_and(|row| row.lifecycle.deleted_at_ms.is_none()) {
                self.withdrawals.carry(&message.message_id, &message.attachments).await?;
            }
        }
        for message in group_messages.iter().filter(|m| !m.attachments.is_empty()) {
            let stored = self.store.group_message(&message.group_id, &message.message_id).await?;
            if stored.is_some_and(|row| row.lifecycle.deleted_at_ms.is_none()) {
                self.withdrawals.carry(&message.message_id, &message.attachments).await?;
            }
        }
        Ok(())
    }

    /// The files of each message a delete among `changes` will delete, withdrawn before the
    /// delete is applied: the stored message is what names them, and once deleted it names none.
    async fn withdraw(&self, changes: &[MessageChange]) -> Result<(), StoreError> {
        for change in changes.iter().filter(|change| change.kind == ChangeKind::Delete) {
            let attachments = match &change.place {
                MessagePlace::Direct(_) => self
                    .store
                    .direct_message(&change.message_id)
                    .await?
                    .filter(|row| row.clone().apply(change))
                    .map(|row| row.attachments),
                MessagePlace::Group(group_id) => self
                    .store
                    .group_message(group_id, &change.message_id)
                    .await?
                    .filter(|row| row.clone().apply(change))
                    .map(|row| row.attachments),
            };
            if let Some(attachments) = attachments {
                self.withdrawals.withdraw(&change.message_id, &attachments).await?;
            }
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
        ordinal: 0,
        sender_id: e.payload.sender_id.clone(),
        sender_username: e.payload.sender_username.clone(),
        recipient_id: e.payload.recipient_id.clone(),
        recipient_username: e.payload.recipient_username.clone(),
        content: e.payload.content.clone(),
        sent_at_ms: e.occurred_at,
        client_message_id: e.payload.client_message_id.clone(),
        attachments: e.payload.attachments.clone(),
        reply_to: e.payload.reply_to_message_id.clone(),
        lifecycle: Lifecycle::default(),
    })
}

/// The change a `MessageEdited`, `MessageDeleted`, `MessageReacted`, `MessageHidden` or
/// `MessagePinned` becomes; None for any other event, or one
/// naming a kind of place this version does not know.
pub(crate) fn message_change(logged: &LoggedEvent) -> Option<MessageChange> {
    let changed = logged.event.changed_message()?;
    let kind = match &logged.event {
        Event::MessageEdited(e) => ChangeKind::Edit { edit_id: e.event_id.clone(), content: e.payload.content.clone() },
        Event::MessageReacted(e) => ChangeKind::React { emoji: e.payload.emoji.clone(), added: e.payload.added },
        Event::MessageHidden(_) => ChangeKind::Hide,
        Event::MessagePinned(e) => ChangeKind::Pin { pinned: e.payload.pinned },
        _ => ChangeKind::Delete,
    };
    let place = match changed.kind {
        place_kind::DIRECT => MessagePlace::Direct(changed.place_id.to_owned()),
        place_kind::GROUP => MessagePlace::Group(changed.place_id.to_owned()),
        other => {
            let message_id = changed.message_id;
            tracing::warn!(kind = other, message_id, "a change to a message in an unknown kind of place; skipped");
            return None;
        }
    };
    Some(MessageChange {
        place,
        message_id: changed.message_id.to_owned(),
        // A negative offset names no message: u64::MAX matches none.
        message_seq: u64::try_from(changed.message_offset).unwrap_or(u64::MAX),
        seq: logged.position.offset,
        actor_id: logged.event.actor_id().to_owned(),
        at_ms: logged.event.occurred_at(),
        kind,
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
        ordinal: 0,
        message_id: e.payload.message_id.clone(),
        sender_id: e.payload.sender_id.clone(),
        sender_username: e.payload.sender_username.clone(),
        content: e.payload.content.clone(),
        sent_at_ms: e.occurred_at,
        client_message_id: e.payload.client_message_id.clone(),
        attachments: e.payload.attachments.clone(),
        reply_to: e.payload.reply_to_message_id.clone(),
        mentions: e.payload.mentions.clone(),
        lifecycle: Lifecycle::default(),
    })
}

/// The membership marks of one batch's writers, by (group, user).
struct Members(HashMap<(String, String), Vec<MembershipMark>>);

impl Members {
    /// Whether `user` was a member of `group` at `seq`, by [`MembershipMark::excludes`]; what
    /// they wrote there (`message_id`, or a change of it) is not part of the group otherwise.
    fn were(&self, group: &str, user: &str, seq: u64, message_id: &str) -> bool {
        let excluded =
            self.0.get(&(group.to_owned(), user.to_owned())).is_some_and(|marks| MembershipMark::excludes(marks, seq));
        if excluded {
            tracing::info!(
                group_id = group,
                message_id,
                "written by someone no longer a member at that point of the log; not stored"
            );
        }
        !excluded
    }
}

/// Writers' membership marks looked up at once.
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

    /// The membership marks of everyone who wrote to a group in this batch (senders, editors,
    /// deleters): the stored ones, then `batch_marks`.
    async fn members(
        &self,
        rows: &[GroupMessageRow],
        changes: &[MessageChange],
        batch_marks: &[MembershipMark],
    ) -> Result<Members, StoreError> {
        let mut writers: Vec<(String, String)> =
            rows.iter().map(|m| (m.group_id.clone(), m.sender_id.clone())).collect();
        writers.extend(changes.iter().filter_map(|change| match &change.place {
            MessagePlace::Group(group) => Some((group.clone(), change.actor_id.clone())),
            MessagePlace::Direct(_) => None,
        }));
        writers.sort();
        writers.dedup();
        let store = &self.store;
        let mut marks: HashMap<(String, String), Vec<MembershipMark>> = stream::iter(writers)
            .map(|(group, writer)| async move {
                let marks = store.membership_marks(&group, &writer).await?;
                Ok::<_, StoreError>(((group, writer), marks))
            })
            .buffer_unordered(MARK_LOOKUPS)
            .try_collect()
            .await?;
        for mark in batch_marks {
            if let Some(known) = marks.get_mut(&(mark.group_id.clone(), mark.user_id.clone())) {
                known.push(mark.clone());
            }
        }
        Ok(Members(marks))
    }

    /// A receipt event as a watermark: its message's seq, and the message's ordinal. The message
    /// comes first in the same partition, so it is stored by now; a receipt naming no message of
    /// its conversation (the API never appends one) is skipped.
    async fn receipt(&self, event: &Event) -> Result<Option<(ReceiptAdvance, u64)>, StoreError> {
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
        let at = if direct {
            self.store.message(conversation_id, message_id).await?.map(|m| (m.seq, m.ordinal))
        } else {
            self.store.group_message(conversation_id, message_id).await?.map(|m| (m.seq, m.ordinal))
        };
        let Some((seq, ordinal)) = at else {
            tracing::warn!(conversation_id, message_id, "receipt for an unknown message; skipped");
            return Ok(None);
        };
        let advance =
            ReceiptAdvance { conversation_id: conversation_id.clone(), user_id: user_id.clone(), status, seq };
        Ok(Some((advance, ordinal)))
    }
}
