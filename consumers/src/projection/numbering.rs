//! Each message's ordinal in its place, and where each reader's unread messages start: what
//! unread counts are made of (`ReceiptRow::unread`). Both are decided in log order from what is
//! stored below the batch, so a redelivery or a replay numbers and raises the same.
use std::collections::HashMap;

use confab_readmodels::{GroupMessageRow, MembershipMark, MessageRow, MessageStore, SeenAdvance, StoreError};

/// Numbers `messages` (one batch's direct messages, in log order) after the newest stored
/// message of each conversation below them.
pub(crate) async fn number_direct(store: &dyn MessageStore, messages: &mut [MessageRow]) -> Result<(), StoreError> {
    let mut next: HashMap<String, u64> = HashMap::new();
    for message in messages.iter_mut() {
        let ordinal = match next.get(&message.conversation_id) {
            Some(ordinal) => *ordinal,
            None => {
                let below = store.history_by_seq(&message.conversation_id, None, Some(message.seq), 1).await?;
                below.first().map_or(0, |m| m.ordinal) + 1
            }
        };
        message.ordinal = ordinal;
        let _ = next.insert(message.conversation_id.clone(), ordinal + 1);
    }
    Ok(())
}

/// Numbers `messages` (one batch's group messages, in log order) after the newest stored message
/// of each group below them.
pub(crate) async fn number_group(store: &dyn MessageStore, messages: &mut [GroupMessageRow]) -> Result<(), StoreError> {
    let mut next: HashMap<String, u64> = HashMap::new();
    for message in messages.iter_mut() {
        let ordinal = match next.get(&message.group_id) {
            Some(ordinal) => *ordinal,
            None => newest_ordinal_below(store, &message.group_id, message.seq).await? + 1,
        };
        message.ordinal = ordinal;
        let _ = next.insert(message.group_id.clone(), ordinal + 1);
    }
    Ok(())
}

/// The ordinal of the newest stored message of `group_id` below `seq`; zero if none.
async fn newest_ordinal_below(store: &dyn MessageStore, group_id: &str, seq: u64) -> Result<u64, StoreError> {
    Ok(store.group_history(group_id, None, Some(seq), 1).await?.first().map_or(0, |m| m.ordinal))
}

/// The furthest of `advances` for each reader of each place: one write each, however many
/// messages a reader sent or read in one batch.
pub(crate) fn furthest(advances: Vec<SeenAdvance>) -> Vec<SeenAdvance> {
    let mut furthest: HashMap<(String, String), SeenAdvance> = HashMap::new();
    for advance in advances {
        let key = (advance.place_id.clone(), advance.user_id.clone());
        match furthest.get(&key) {
            Some(known) if known.seq >= advance.seq => {}
            _ => {
                let _ = furthest.insert(key, advance);
            }
        }
    }
    furthest.into_values().collect()
}

/// A sender has seen their place up to their own message.
pub(crate) fn seen_by_sender(place_id: &str, sender_id: &str, seq: u64, ordinal: u64) -> SeenAdvance {
    SeenAdvance { place_id: place_id.to_owned(), user_id: sender_id.to_owned(), seq, ordinal }
}

/// A member added to a group has nothing unread from before: their unread messages start at
/// their mark. Read once the batch's messages are stored, so those below the mark are counted.
pub(crate) async fn seen_on_joining(
    store: &dyn MessageStore,
    marks: &[MembershipMark],
) -> Result<Vec<SeenAdvance>, StoreError> {
    let mut advances = Vec::new();
    for mark in marks.iter().filter(|mark| mark.member) {
        let ordinal = newest_ordinal_below(store, &mark.group_id, mark.seq).await?;
        advances.push(SeenAdvance {
            place_id: mark.group_id.clone(),
            user_id: mark.user_id.clone(),
            seq: mark.seq,
            ordinal,
        });
    }
    Ok(advances)
}
