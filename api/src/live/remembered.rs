//! The message frames a connection sent, the newest few thousand, findable by id: what the
//! client's acks may name.
use std::{
    borrow::Borrow,
    collections::{HashSet, VecDeque},
    hash::{Hash, Hasher},
    sync::Arc,
};

use confab_producers::SentMessage;

/// A sent message keyed by its id, sharing the frame's allocation: remembering one costs two
/// reference counts, not two copies of its id (a group message is remembered once per member).
struct ById(Arc<SentMessage>);

impl PartialEq for ById {
    fn eq(&self, other: &Self) -> bool {
        self.0.message_id == other.0.message_id
    }
}

impl Eq for ById {}

impl Hash for ById {
    // As `str` hashes, so that a lookup by `&str` finds it.
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.message_id.as_str().hash(state);
    }
}

impl Borrow<str> for ById {
    fn borrow(&self) -> &str {
        &self.0.message_id
    }
}

pub(crate) struct Remembered {
    capacity: usize,
    by_id: HashSet<ById>,
    oldest_first: VecDeque<Arc<SentMessage>>,
}

impl Remembered {
    /// Holds nothing until the first message: an idle connection pays no allocation.
    pub(crate) fn new(capacity: usize) -> Self {
        Self { capacity: capacity.max(1), by_id: HashSet::new(), oldest_first: VecDeque::new() }
    }

    /// Remembers `message`, forgetting the oldest once `capacity` are held.
    pub(crate) fn remember(&mut self, message: Arc<SentMessage>) {
        if self.oldest_first.len() == self.capacity
            && let Some(oldest) = self.oldest_first.pop_front()
        {
            let _ = self.by_id.remove(oldest.message_id.as_str());
        }
        self.oldest_first.push_back(Arc::clone(&message));
        let _ = self.by_id.replace(ById(message));
    }

    pub(crate) fn get(&self, message_id: &str) -> Option<&Arc<SentMessage>> {
        self.by_id.get(message_id).map(|m| &m.0)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use confab_producers::Conversation;

    use super::*;

    fn message(id: &str) -> Arc<SentMessage> {
        Arc::new(SentMessage {
            message_id: id.to_owned(),
            sender_id: "sender".to_owned(),
            conversation: Conversation::Group { group_id: "g".to_owned() },
            partition: 0,
            seq: 0,
        })
    }

    #[test]
    fn finds_by_id_and_forgets_the_oldest_past_capacity() {
        let mut remembered = Remembered::new(2);
        for id in ["a", "b", "c"] {
            remembered.remember(message(id));
        }
        assert!(remembered.get("a").is_none());
        assert_eq!(remembered.get("b").unwrap().message_id, "b");
        assert_eq!(remembered.get("c").unwrap().message_id, "c");
        assert!(remembered.get("d").is_none());
    }
}
