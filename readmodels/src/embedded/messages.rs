//! Direct and group messages, and each user's conversation list, in the embedded store.
use async_trait::async_trait;
use redb::ReadableTable;

use super::*;
use crate::{
    ActivityKey, ConversationRow, GroupMessageRow, MembershipMark, MessageChange, MessagePlace, MessageRow,
    MessageStore, StoreError, UserStore, error::storage_error,
};

#[async_trait]
impl MessageStore for EmbeddedStore {
    async fn ping(&self) -> Result<(), StoreError> {
        UserStore::ping(self).await
    }

    async fn put_messages(&self, messages: &[MessageRow]) -> Result<(), StoreError> {
        let messages = messages.to_vec();
        self.write(move |txn| {
            let mut stored = txn.open_table(MESSAGES).map_err(storage_error)?;
            let mut seqs = txn.open_table(MESSAGE_SEQS).map_err(storage_error)?;
            let mut places = txn.open_table(MESSAGE_PLACES).map_err(storage_error)?;
            let mut conversations = txn.open_table(CONVERSATIONS).map_err(storage_error)?;
            let mut activity = txn.open_table(ACTIVITY).map_err(storage_error)?;
            for message in &messages {
                let key = (message.conversation_id.as_str(), message.message_id.as_str());
                if stored.get(key).map_err(storage_error)?.is_some() {
                    continue;
                }
                let _ = stored.insert(key, to_json(message)?.as_slice()).map_err(storage_error)?;
                let _ = seqs
                    .insert((message.conversation_id.as_str(), message.seq), message.message_id.as_str())
                    .map_err(storage_error)?;
                let _ = places
                    .insert(message.message_id.as_str(), message.conversation_id.as_str())
                    .map_err(storage_error)?;
                for row in message.conversation_rows() {
                    let key = (row.user_id.as_str(), row.conversation_id.as_str());
                    let previous: Option<ConversationRow> = conversations
                        .get(key)
                        .map_err(storage_error)?
                        .map(|v| from_json("conversations", v.value()))
                        .transpose()?;
                    if let Some(previous) = &previous {
                        if previous.last_message.message_id >= message.message_id {
                            continue;
                        }
                        let _ = activity
                            .remove((
                                row.user_id.as_str(),
                                previous.last_message.message_id.as_str(),
                                row.conversation_id.as_str(),
                            ))
                            .map_err(storage_error)?;
                    }
                    let _ = activity
                        .insert((row.user_id.as_str(), message.message_id.as_str(), row.conversation_id.as_str()), ())
                        .map_err(storage_error)?;
                    let _ = conversations.insert(key, to_json(&row)?.as_slice()).map_err(storage_error)?;
                }
            }
            Ok(())
        })
        .await
    }

    async fn history(
        &self,
        conversation_id: &str,
        before: Option<&str>,
        limit: usize,
    ) -> Result<Vec<MessageRow>, StoreError> {
        let before = before.unwrap_or(AFTER_ALL_IDS);
        self.read(|db| {
            let txn = db.begin_read().map_err(storage_error)?;
            let messages = txn.open_table(MESSAGES).map_err(storage_error)?;
            let range = messages.range((conversation_id, "")..(conversation_id, before)).map_err(storage_error)?;
            range
                .rev()
                .take(limit.min(crate::MAX_PAGE_ROWS))
                .map(|entry| {
                    let (_, v) = entry.map_err(storage_error)?;
                    from_json("messages", v.value())
                })
                .collect()
        })
    }

    async fn history_by_seq(
        &self,
        conversation_id: &str,
        after: Option<u64>,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<MessageRow>, StoreError> {
        let low = after.map_or(0, |a| a.saturating_add(1));
        let high = before.unwrap_or(u64::MAX);
        if low >= high {
            return Ok(Vec::new());
        }
        self.read(|db| {
            let txn = db.begin_read().map_err(storage_error)?;
            let seqs = txn.open_table(MESSAGE_SEQS).map_err(storage_error)?;
            let messages = txn.open_table(MESSAGES).map_err(storage_error)?;
            let range = seqs.range((conversation_id, low)..(conversation_id, high)).map_err(storage_error)?;
            let mut out = Vec::new();
            for entry in range.rev().take(limit.min(crate::MAX_PAGE_ROWS)) {
                let (_, id) = entry.map_err(storage_error)?;
                if let Some(row) = messages.get((conversation_id, id.value())).map_err(storage_error)? {
                    out.push(from_json("messages", row.value())?);
                }
            }
            Ok(out)
        })
    }

    async fn message(&self, conversation_id: &str, message_id: &str) -> Result<Option<MessageRow>, StoreError> {
        self.read(|db| {
            let txn = db.begin_read().map_err(storage_error)?;
            let messages = txn.open_table(MESSAGES).map_err(storage_error)?;
            let row = messages.get((conversation_id, message_id)).map_err(storage_error)?;
            row.map(|v| from_json("messages", v.value())).transpose()
        })
    }

    async fn direct_message(&self, message_id: &str) -> Result<Option<MessageRow>, StoreError> {
        self.read(|db| {
            let txn = db.begin_read().map_err(storage_error)?;
            let places = txn.open_table(MESSAGE_PLACES).map_err(storage_error)?;
            let Some(conversation_id) = places.get(message_id).map_err(storage_error)? else { return Ok(None) };
            let messages = txn.open_table(MESSAGES).map_err(storage_error)?;
            let row = messages.get((conversation_id.value(), message_id)).map_err(storage_error)?;
            row.map(|v| from_json("messages", v.value())).transpose()
        })
    }

    async fn conversations(
        &self,
        user_id: &str,
        before: Option<&ActivityKey>,
        limit: usize,
    ) -> Result<Vec<ConversationRow>, StoreError> {
        let end = before.map_or((user_id, AFTER_ALL_IDS, ""), |key| {
            (user_id, key.last_message_id.as_str(), key.conversation_id.as_str())
        });
        self.read(|db| {
            let txn = db.begin_read().map_err(storage_error)?;
            let activity = txn.open_table(ACTIVITY).map_err(storage_error)?;
            let conversations = txn.open_table(CONVERSATIONS).map_err(storage_error)?;
            let range = activity.range((user_id, "", "")..end).map_err(storage_error)?;
            let mut out = Vec::new();
            for entry in range.rev().take(limit.min(crate::MAX_PAGE_ROWS)) {
                let (key, _) = entry.map_err(storage_error)?;
                let (_, _, conversation_id) = key.value();
                if let Some(row) = conversations.get((user_id, conversation_id)).map_err(storage_error)? {
                    out.push(from_json("conversations", row.value())?);
                }
            }
            Ok(out)
        })
    }

    async fn put_group_messages(&self, messages: &[GroupMessageRow]) -> Result<(), StoreError> {
        let messages = messages.to_vec();
        self.write(move |txn| groups::put_group_messages(txn, &messages)).await
    }

    async fn group_history(
        &self,
        group_id: &str,
        after: Option<u64>,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<GroupMessageRow>, StoreError> {
        self.read(|db| groups::group_history(db, group_id, after, before, limit))
    }

    async fn group_message(&self, group_id: &str, message_id: &str) -> Result<Option<GroupMessageRow>, StoreError> {
        self.read(|db| groups::group_message(db, group_id, message_id))
    }

    async fn pins(&self, place_id: &str, limit: usize) -> Result<Vec<String>, StoreError> {
        self.read(|db| {
            let txn = db.begin_read().map_err(storage_error)?;
            let table = txn.open_table(PINS).map_err(storage_error)?;
            let range = table.range((place_id, 0)..=(place_id, u64::MAX)).map_err(storage_error)?;
            let mut ids = Vec::new();
            for entry in range.rev().take(limit.min(crate::MAX_PAGE_ROWS)) {
                ids.push(entry.map_err(storage_error)?.1.value().to_owned());
            }
            Ok(ids)
        })
    }

    async fn mentions_after(&self, group_id: &str, user_id: &str, after: Option<u64>) -> Result<u64, StoreError> {
        self.read(|db| {
            let txn = db.begin_read().map_err(storage_error)?;
            let table = txn.open_table(MENTIONS).map_err(storage_error)?;
            let from = after.map_or(0, |seq| seq.saturating_add(1));
            let range =
                table.range((group_id, user_id, from)..=(group_id, user_id, u64::MAX)).map_err(storage_error)?;
            let mut count = 0;
            for entry in range {
                let _ = entry.map_err(storage_error)?;
                count += 1;
            }
            Ok(count)
        })
    }

    async fn put_membership_marks(&self, marks: &[MembershipMark]) -> Result<(), StoreError> {
        let marks = marks.to_vec();
        self.write(move |txn| {
            let mut table = txn.open_table(MEMBERSHIP_MARKS).map_err(storage_error)?;
            let mut changes = txn.open_table(MEMBERSHIP_CHANGES).map_err(storage_error)?;
            for mark in &marks {
                let key = (mark.group_id.as_str(), mark.user_id.as_str(), mark.seq);
                let _ = table.insert(key, mark.member).map_err(storage_error)?;
                if let Some(change) = &mark.change_event_id {
                    let _ = changes.insert(key, change.as_str()).map_err(storage_error)?;
                }
            }
            Ok(())
        })
        .await
    }

    async fn apply_message_changes(&self, changes: &[MessageChange]) -> Result<(), StoreError> {
        let changes = changes.to_vec();
        self.write(move |txn| {
            for change in &changes {
                match &change.place {
                    MessagePlace::Direct(conversation_id) => change_direct(txn, conversation_id, change)?,
                    MessagePlace::Group(group_id) => groups::change_group_message(txn, group_id, change)?,
                }
            }
            Ok(())
        })
        .await
    }

    async fn membership_marks(&self, group_id: &str, user_id: &str) -> Result<Vec<MembershipMark>, StoreError> {
        self.read(|db| marks_in(db, (group_id, user_id, 0)..=(group_id, user_id, u64::MAX)))
    }

    async fn group_marks(&self, group_id: &str) -> Result<Vec<MembershipMark>, StoreError> {
        let mut marks = self.read(|db| marks_in(db, (group_id, "", 0)..(group_id, AFTER_ALL_IDS, 0)))?;
        marks.sort_by_key(|mark| mark.seq);
        Ok(marks)
    }
}

/// One change to a direct message, and to the copy in each participant's conversation list
/// while it is their last message.
fn change_direct(
    txn: &redb::WriteTransaction,
    conversation_id: &str,
    change: &MessageChange,
) -> Result<(), StoreError> {
    let mut stored = txn.open_table(MESSAGES).map_err(storage_error)?;
    let key = (conversation_id, change.message_id.as_str());
    let Some(mut row) =
        stored.get(key).map_err(storage_error)?.map(|v| from_json::<MessageRow>("messages", v.value())).transpose()?
    else {
        return Ok(());
    };
    if !row.apply(change) {
        return Ok(());
    }
    let _ = stored.insert(key, to_json(&row)?.as_slice()).map_err(storage_error)?;
    if change.kind.moves_pins() {
        index_pin(txn, conversation_id, row.seq, &row.message_id, row.lifecycle.pinned.is_some())?;
    }
    let mut conversations = txn.open_table(CONVERSATIONS).map_err(storage_error)?;
    for mut copy in row.conversation_rows() {
        let key = (copy.user_id.as_str(), conversation_id);
        let current: Option<ConversationRow> = conversations
            .get(key)
            .map_err(storage_error)?
            .map(|v| from_json("conversations", v.value()))
            .transpose()?;
        if current.is_some_and(|current| current.last_message.message_id == row.message_id) {
            copy.last_message = row.clone();
            let _ = conversations.insert(key, to_json(&copy)?.as_slice()).map_err(storage_error)?;
        }
    }
    Ok(())
}

/// The membership marks with keys in `range`, each with the change it marks, in key order.
fn marks_in<'a>(
    db: &redb::Database,
    range: impl std::ops::RangeBounds<(&'a str, &'a str, u64)>,
) -> Result<Vec<MembershipMark>, StoreError> {
    let txn = db.begin_read().map_err(storage_error)?;
    let table = txn.open_table(MEMBERSHIP_MARKS).map_err(storage_error)?;
    let changes = txn.open_table(MEMBERSHIP_CHANGES).map_err(storage_error)?;
    let mut marks = Vec::new();
    for entry in table.range(range).map_err(storage_error)? {
        let (key, member) = entry.map_err(storage_error)?;
        let (group_id, user_id, seq) = key.value();
        let change_event_id =
            changes.get((group_id, user_id, seq)).map_err(storage_error)?.map(|v| v.value().to_owned());
        marks.push(MembershipMark {
            group_id: group_id.to_owned(),
            user_id: user_id.to_owned(),
            seq,
            member: member.value(),
            change_event_id,
        });
    }
    Ok(marks)
}
