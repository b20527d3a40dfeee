//! A message's life after it is sent: its edits, its reactions and its deletion for everyone,
//! applied to its rows in log order by one rule ([`Lifecycle::apply`]), on every adapter and to
//! every copy.
use std::collections::{BTreeMap, BTreeSet};

use confab_schemas::AttachmentRef;
use serde::{Deserialize, Serialize};

use crate::{GroupMessageRow, MessageRow};

/// What has happened to a message since it was sent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lifecycle {
    /// The offset of the last change applied, in the message's partition; a change at or below
    /// it is a redelivery. Zero: none.
    #[serde(default)]
    pub changed_seq: u64,
    #[serde(default)]
    pub edit_count: u32,
    #[serde(default)]
    pub edited_at_ms: Option<i64>,
    /// The `MessageEdited` whose text the row's content now holds: what that text is bound to.
    #[serde(default)]
    pub edit_id: Option<String>,
    /// Deleted for everyone: the row keeps no content and no attachments.
    #[serde(default)]
    pub deleted_at_ms: Option<i64>,
    /// Who reacted with what: emoji -> user ids.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub reactions: BTreeMap<String, BTreeSet<String>>,
    /// Who deleted it for themself: it is not in their history.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub hidden_for: BTreeSet<String>,
    /// Pinned to its place: when, and by whom.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pinned: Option<Pin>,
}

/// Who pinned a message, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pin {
    pub by: String,
    pub at_ms: i64,
}

/// Most distinct emoji one message holds.
pub const MAX_EMOJI_PER_MESSAGE: usize = 32;
/// Most of those one user may have given.
pub const MAX_REACTIONS_PER_USER: usize = 8;

impl Lifecycle {
    /// Nothing happened: the row is as sent.
    pub fn is_untouched(&self) -> bool {
        self == &Lifecycle::default()
    }
}

/// Where a changed message is.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum MessagePlace {
    /// A direct conversation, by its id.
    Direct(String),
    /// A group, by its id.
    Group(String),
}

/// One edit or delete of a message, at `seq` of the message's partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageChange {
    pub place: MessagePlace,
    pub message_id: String,
    /// The message's own offset, as the change names it.
    pub message_seq: u64,
    pub seq: u64,
    pub actor_id: String,
    pub at_ms: i64,
    pub kind: ChangeKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeKind {
    /// New text, sealed and bound to `edit_id` (the edit's event id).
    Edit { edit_id: String, content: String },
    /// Deleted for everyone.
    Delete,
    /// A reaction added (`added`) or taken back by the change's actor.
    React { emoji: String, added: bool },
    /// Deleted for the change's actor only.
    Hide,
    /// Pinned to its place (`pinned`) by the change's actor, or unpinned.
    Pin { pinned: bool },
}

impl ChangeKind {
    /// Whether it may change where the message is pinned: a pin, or a delete (which unpins).
    pub fn moves_pins(&self) -> bool {
        matches!(self, ChangeKind::Pin { .. } | ChangeKind::Delete)
    }
}

impl Lifecycle {
    /// Applies `change` to a message from `sender_id` at `sent_seq` whose stored text and
    /// attachments are `content` and `attachments`; answers whether anything changed. In log
    /// order and only once: a change at or below the last applied (a redelivery), an edit or a
    /// delete after a delete, an edit by anyone but the sender, a change naming another offset
    /// for the message, a reaction already given (or a taking back of one not given), one past
    /// [`MAX_EMOJI_PER_MESSAGE`] or [`MAX_REACTIONS_PER_USER`], hiding a message twice from
    /// the same user, and pinning a pinned message (or unpinning one that is not) change
    /// nothing. Only a hiding applies to a deleted message; a delete unpins it. (Who may pin in a
    /// group, its admins, is the API's check, as for deletes.) (Who else may
    /// delete, a group's admin, is the API's check: the read side does not know the roles at
    /// that point of the log.)
    pub fn apply(
        &mut self,
        (sender_id, sent_seq): (&str, u64),
        content: &mut String,
        attachments: &mut Vec<AttachmentRef>,
        change: &MessageChange,
    ) -> bool {
        let stale = change.seq <= sent_seq || change.seq <= self.changed_seq || change.message_seq != sent_seq;
        // A tombstone can still be hidden; nothing else changes it.
        if stale || (self.deleted_at_ms.is_some() && change.kind != ChangeKind::Hide) {
            return false;
        }
        match &change.kind {
            ChangeKind::Edit { .. } if change.actor_id != sender_id => return false,
            ChangeKind::Edit { edit_id, content: text } => {
                content.clone_from(text);
                self.edit_id = Some(edit_id.clone());
                self.edit_count = self.edit_count.saturating_add(1);
                self.edited_at_ms = Some(change.at_ms);
            }
            ChangeKind::Delete => {
                content.clear();
                attachments.clear();
                self.edit_id = None;
                self.reactions.clear();
                self.pinned = None;
                self.deleted_at_ms = Some(change.at_ms);
            }
            ChangeKind::React { emoji, added } => {
                if !self.react(&change.actor_id, emoji, *added) {
                    return false;
                }
            }
            ChangeKind::Hide => {
                if !self.hidden_for.insert(change.actor_id.clone()) {
                    return false;
                }
            }
            ChangeKind::Pin { pinned } => {
                if self.pinned.is_some() == *pinned {
                    return false;
                }
                self.pinned = pinned.then(|| Pin { by: change.actor_id.clone(), at_ms: change.at_ms });
            }
        }
        self.changed_seq = change.seq;
        true
    }
}

impl Lifecycle {
    /// Whether `user` reacting with `emoji` (or taking it back) changes anything, and does it.
    fn react(&mut self, user: &str, emoji: &str, added: bool) -> bool {
        if !added {
            let Some(users) = self.reactions.get_mut(emoji) else { return false };
            let removed = users.remove(user);
            if users.is_empty() {
                let _ = self.reactions.remove(emoji);
            }
            return removed;
        }
        if self.reactions.get(emoji).is_some_and(|users| users.contains(user)) {
            return false;
        }
        let new_emoji = !self.reactions.contains_key(emoji);
        let given = self.reactions.values().filter(|users| users.contains(user)).count();
        if (new_emoji && self.reactions.len() >= MAX_EMOJI_PER_MESSAGE) || given >= MAX_REACTIONS_PER_USER {
            return false;
        }
        self.reactions.entry(emoji.to_owned()).or_default().insert(user.to_owned())
    }

    /// Whether `user` deleted it for themself.
    pub fn hidden_from(&self, user: &str) -> bool {
        self.hidden_for.contains(user)
    }

    /// Whether `user` gave `emoji`.
    pub fn reacted(&self, user: &str, emoji: &str) -> bool {
        self.reactions.get(emoji).is_some_and(|users| users.contains(user))
    }
}

impl MessageRow {
    /// [`Lifecycle::apply`] to this row.
    pub fn apply(&mut self, change: &MessageChange) -> bool {
        self.lifecycle.apply((&self.sender_id, self.seq), &mut self.content, &mut self.attachments, change)
    }
}

impl GroupMessageRow {
    /// [`Lifecycle::apply`] to this row.
    pub fn apply(&mut self, change: &MessageChange) -> bool {
        self.lifecycle.apply((&self.sender_id, self.seq), &mut self.content, &mut self.attachments, change)
    }
}
