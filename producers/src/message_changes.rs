//! A message's changes after it is sent: an edit of its text by its sender, within the edit
//! window; a delete for everyone by its sender or, in a group, by an admin; a reaction, or a
//! delete for oneself (hiding), by anyone who sees it. Each is an event on the message's own
//! partition, so the read side applies them in log order by one rule
//! ([`confab_readmodels::Lifecycle::apply`]), and these checks only refuse early what that rule
//! would refuse anyway; after the write the projection has the last word.
use confab_readmodels::{
    GroupMessageRow, GroupRole, Lifecycle, MAX_EMOJI_PER_MESSAGE, MAX_REACTIONS_PER_USER, MessageRow, Sight, sight,
};
use confab_schemas::{
    Event, MessageDeleted, MessageDeletedPayload, MessageEdited, MessageEditedPayload, MessageHidden,
    MessageHiddenPayload, MessageReacted, MessageReactedPayload, place_kind,
};
use uuid::Uuid;

use crate::{
    Caller, ChatError, MessageBinding, UseCases,
    messaging::MAX_MESSAGE_BYTES,
    rate_limits::UserAction,
    time::{now_ms, rfc3339},
};

/// A message as it stands after a change.
#[derive(Debug, Clone)]
pub struct Changed {
    pub message_id: String,
    /// When it was edited or deleted, RFC 3339 UTC with milliseconds.
    pub timestamp: String,
}

/// The message a change is about, whichever kind of place it is in.
pub(crate) struct Target {
    pub(crate) kind: &'static str,
    pub(crate) place_id: String,
    pub(crate) message_id: String,
    pub(crate) sender_id: String,
    pub(crate) recipient_id: Option<String>,
    pub(crate) seq: u64,
    sent_at_ms: i64,
    /// What happened to it so far.
    pub(crate) lifecycle: Lifecycle,
}

impl Target {
    pub(crate) fn deleted(&self) -> bool {
        self.lifecycle.deleted_at_ms.is_some()
    }
}

impl From<&MessageRow> for Target {
    fn from(row: &MessageRow) -> Self {
        Self {
            kind: place_kind::DIRECT,
            place_id: row.conversation_id.clone(),
            message_id: row.message_id.clone(),
            sender_id: row.sender_id.clone(),
            recipient_id: Some(row.recipient_id.clone()),
            seq: row.seq,
            sent_at_ms: row.sent_at_ms,
            lifecycle: row.lifecycle.clone(),
        }
    }
}

impl From<&GroupMessageRow> for Target {
    fn from(row: &GroupMessageRow) -> Self {
        Self {
            kind: place_kind::GROUP,
            place_id: row.group_id.clone(),
            message_id: row.message_id.clone(),
            sender_id: row.sender_id.clone(),
            recipient_id: None,
            seq: row.seq,
            sent_at_ms: row.sent_at_ms,
            lifecycle: row.lifecycle.clone(),
        }
    }
}

fn message_not_found() -> ChatError {
    ChatError::not_found("message_not_found", "no such message")
}

pub(crate) fn message_deleted() -> ChatError {
    ChatError::conflict("message_deleted", "this message was deleted")
}

/// The new text: not blank, at most 64 KiB.
fn edited_text(text: &str) -> Result<&str, ChatError> {
    if text.trim().is_empty() {
        return Err(ChatError::invalid("empty_message", "message must not be empty"));
    }
    if text.len() > MAX_MESSAGE_BYTES {
        return Err(ChatError::invalid("message_too_long", "message must be at most 64 KiB"));
    }
    Ok(text)
}

impl UseCases {
    /// Replaces the text of the caller's direct message `message_id`.
    pub async fn edit_direct(&self, caller: &Caller, message_id: &str, text: &str) -> Result<Changed, ChatError> {
        self.rate_limits.user(UserAction::Send, &caller.sub)?;
        let text = edited_text(text)?;
        let row = self.direct_message_of(caller, message_id).await?;
        self.refuse_if_blocked(&caller.sub, &peer_of(&row, &caller.sub)).await?;
        let current = self.opener().direct(row.clone()).await?.content;
        self.edit(caller, Target::from(&row), &current, text).await
    }

    /// Deletes the caller's direct message `message_id` for both participants.
    pub async fn delete_direct(&self, caller: &Caller, message_id: &str) -> Result<Changed, ChatError> {
        self.rate_limits.user(UserAction::Send, &caller.sub)?;
        let row = self.direct_message_of(caller, message_id).await?;
        if row.sender_id != caller.sub {
            return Err(not_yours("delete"));
        }
        self.delete(caller, Target::from(&row)).await
    }

    /// Replaces the text of the caller's message `message_id` in a group they are a member of.
    pub async fn edit_group(
        &self,
        caller: &Caller,
        raw_group_id: &str,
        message_id: &str,
        text: &str,
    ) -> Result<Changed, ChatError> {
        self.rate_limits.user(UserAction::Send, &caller.sub)?;
        let text = edited_text(text)?;
        let (row, _) = self.group_message_of(caller, raw_group_id, message_id).await?;
        let current = self.opener().group(row.clone()).await?.content;
        self.edit(caller, Target::from(&row), &current, text).await
    }

    /// Deletes the group message `message_id` for every member: the caller's own, or anyone's
    /// if the caller is one of the group's admins.
    pub async fn delete_group(
        &self,
        caller: &Caller,
        raw_group_id: &str,
        message_id: &str,
    ) -> Result<Changed, ChatError> {
        self.rate_limits.user(UserAction::Send, &caller.sub)?;
        let (row, role) = self.group_message_of(caller, raw_group_id, message_id).await?;
        if row.sender_id != caller.sub && role != GroupRole::Admin {
            return Err(ChatError::forbidden(
                "not_your_message",
                "only its sender or one of the group's admins may delete someone's message",
            ));
        }
        self.delete(caller, Target::from(&row)).await
    }

    /// Adds the caller's reaction `emoji` to the direct message `message_id` (`added`), or takes
    /// it back; doing what is already done changes nothing.
    pub async fn react_direct(
        &self,
        caller: &Caller,
        message_id: &str,
        emoji: &str,
        added: bool,
    ) -> Result<(), ChatError> {
        self.rate_limits.user(UserAction::Send, &caller.sub)?;
        let emoji = one_emoji(emoji)?;
        let row = self.direct_message_of(caller, message_id).await?;
        self.refuse_if_blocked(&caller.sub, &peer_of(&row, &caller.sub)).await?;
        self.react(caller, Target::from(&row), emoji, added).await
    }

    /// As [`UseCases::react_direct`], on a message of a group the caller sees.
    pub async fn react_group(
        &self,
        caller: &Caller,
        raw_group_id: &str,
        message_id: &str,
        emoji: &str,
        added: bool,
    ) -> Result<(), ChatError> {
        self.rate_limits.user(UserAction::Send, &caller.sub)?;
        let emoji = one_emoji(emoji)?;
        let (row, _) = self.group_message_of(caller, raw_group_id, message_id).await?;
        self.react(caller, Target::from(&row), emoji, added).await
    }

    /// Deletes the direct message `message_id` for the caller only; again: nothing changes.
    pub async fn hide_direct(&self, caller: &Caller, message_id: &str) -> Result<(), ChatError> {
        self.rate_limits.user(UserAction::Send, &caller.sub)?;
        let row = self.direct_message_of(caller, message_id).await?;
        self.hide(caller, Target::from(&row)).await
    }

    /// As [`UseCases::hide_direct`], for a message of a group the caller sees.
    pub async fn hide_group(&self, caller: &Caller, raw_group_id: &str, message_id: &str) -> Result<(), ChatError> {
        self.rate_limits.user(UserAction::Send, &caller.sub)?;
        let (row, _) = self.group_message_of(caller, raw_group_id, message_id).await?;
        self.hide(caller, Target::from(&row)).await
    }

    /// A direct message the caller is a participant of; not found otherwise, as for any id
    /// they cannot see.
    pub(crate) async fn direct_message_of(&self, caller: &Caller, message_id: &str) -> Result<MessageRow, ChatError> {
        let message_id = parse_message_id(message_id)?;
        let row = self.read().messages.direct_message(&message_id).await?.ok_or_else(message_not_found)?;
        if row.sender_id != caller.sub && row.recipient_id != caller.sub {
            return Err(message_not_found());
        }
        Ok(row)
    }

    /// A message of a group the caller is a member of, which they see (a member added later does
    /// not see, nor act on, what came before), and their role.
    pub(crate) async fn group_message_of(
        &self,
        caller: &Caller,
        raw_group_id: &str,
        message_id: &str,
    ) -> Result<(GroupMessageRow, GroupRole), ChatError> {
        let (group, member) = self.membership(raw_group_id, &caller.sub).await?;
        let message_id = parse_message_id(message_id)?;
        let read = self.read();
        let row = read.messages.group_message(&group.group_id, &message_id).await?.ok_or_else(message_not_found)?;
        let seen: Sight = sight(read.messages.as_ref(), &member).await?;
        if !seen.sees(row.seq) {
            return Err(message_not_found());
        }
        Ok((row, member.role))
    }

    /// Appends an edit of `target` from `current` to `text`, once: the same text again (a
    /// retry) changes nothing.
    async fn edit(&self, caller: &Caller, target: Target, current: &str, text: &str) -> Result<Changed, ChatError> {
        if target.sender_id != caller.sub {
            return Err(not_yours("edit"));
        }
        if target.deleted() {
            return Err(message_deleted());
        }
        let window = self.limits.edit_window_ms;
        if window > 0 && now_ms().saturating_sub(target.sent_at_ms) > window {
            return Err(ChatError::conflict(
                "edit_window_closed",
                format!("a message can be edited for {} seconds after it was sent", window / 1000),
            ));
        }
        // A retry of an edit that was applied: the text is already what it asks for.
        if current == text && target.lifecycle.edit_id.is_some() {
            return Ok(Changed { message_id: target.message_id, timestamp: rfc3339(now_ms()) });
        }
        let edit_id = Uuid::now_v7().to_string();
        let binding = MessageBinding {
            message_id: &target.message_id,
            sender_id: &target.sender_id,
            place_id: &target.place_id,
            recipient_id: target.recipient_id.as_deref(),
            attachments: Vec::new(),
        };
        let content = self
            .data_keys
            .for_sealing(&caller.sub, &target.place_id)
            .await?
            .seal(text.as_bytes(), &binding.edit_associated_data(&edit_id))
            .map_err(ChatError::internal)?;
        let occurred_at = now_ms();
        let event = Event::MessageEdited(MessageEdited {
            event_id: edit_id.clone(),
            occurred_at,
            actor_id: caller.sub.clone(),
            payload: MessageEditedPayload {
                message_id: target.message_id.clone(),
                kind: target.kind.to_owned(),
                place_id: target.place_id.clone(),
                sender_id: target.sender_id.clone(),
                recipient_id: target.recipient_id.clone(),
                message_offset: offset(target.seq)?,
                content,
            },
        });
        let position = self.publisher.publish(&event, occurred_at).await?;
        // The projection has the last word: a delete, or a block, earlier in the log wins.
        if self.caught_up(&position).await
            && self.stored(&target).await?.is_some_and(|(edit, deleted)| deleted || edit.as_deref() != Some(&edit_id))
        {
            return Err(ChatError::conflict(
                "edit_refused",
                "the message was deleted or the conversation closed first",
            ));
        }
        Ok(Changed { message_id: target.message_id, timestamp: rfc3339(occurred_at) })
    }

    /// Appends a delete of `target` for everyone; deleting it again changes nothing.
    async fn delete(&self, caller: &Caller, target: Target) -> Result<Changed, ChatError> {
        if target.deleted() {
            return Ok(Changed { message_id: target.message_id, timestamp: rfc3339(now_ms()) });
        }
        let occurred_at = now_ms();
        let event = Event::MessageDeleted(MessageDeleted {
            event_id: Uuid::now_v7().to_string(),
            occurred_at,
            actor_id: caller.sub.clone(),
            payload: MessageDeletedPayload {
                message_id: target.message_id.clone(),
                kind: target.kind.to_owned(),
                place_id: target.place_id.clone(),
                sender_id: target.sender_id.clone(),
                recipient_id: target.recipient_id.clone(),
                message_offset: offset(target.seq)?,
            },
        });
        let position = self.publisher.publish(&event, occurred_at).await?;
        self.read_your_write(&position).await;
        Ok(Changed { message_id: target.message_id, timestamp: rfc3339(occurred_at) })
    }

    /// Appends a reaction to `target`, unless it is already as asked.
    async fn react(&self, caller: &Caller, target: Target, emoji: &str, added: bool) -> Result<(), ChatError> {
        if target.deleted() {
            return Err(message_deleted());
        }
        let reactions = &target.lifecycle.reactions;
        if target.lifecycle.reacted(&caller.sub, emoji) == added {
            return Ok(());
        }
        let given = reactions.values().filter(|users| users.contains(&caller.sub)).count();
        if added
            && (given >= MAX_REACTIONS_PER_USER
                || (!reactions.contains_key(emoji) && reactions.len() >= MAX_EMOJI_PER_MESSAGE))
        {
            return Err(ChatError::conflict(
                "too_many_reactions",
                format!(
                    "a message holds at most {MAX_EMOJI_PER_MESSAGE} different emoji, {MAX_REACTIONS_PER_USER} from one user"
                ),
            ));
        }
        let occurred_at = now_ms();
        let event = Event::MessageReacted(MessageReacted {
            event_id: Uuid::now_v7().to_string(),
            occurred_at,
            actor_id: caller.sub.clone(),
            payload: MessageReactedPayload {
                message_id: target.message_id.clone(),
                kind: target.kind.to_owned(),
                place_id: target.place_id.clone(),
                sender_id: target.sender_id.clone(),
                recipient_id: target.recipient_id.clone(),
                message_offset: offset(target.seq)?,
                emoji: emoji.to_owned(),
                added,
            },
        });
        let position = self.publisher.publish(&event, occurred_at).await?;
        self.read_your_write(&position).await;
        Ok(())
    }

    /// Appends the caller's hiding of `target`, unless it is hidden from them already.
    async fn hide(&self, caller: &Caller, target: Target) -> Result<(), ChatError> {
        if target.lifecycle.hidden_from(&caller.sub) {
            return Ok(());
        }
        let occurred_at = now_ms();
        let event = Event::MessageHidden(MessageHidden {
            event_id: Uuid::now_v7().to_string(),
            occurred_at,
            actor_id: caller.sub.clone(),
            payload: MessageHiddenPayload {
                message_id: target.message_id.clone(),
                kind: target.kind.to_owned(),
                place_id: target.place_id.clone(),
                sender_id: target.sender_id.clone(),
                recipient_id: target.recipient_id.clone(),
                message_offset: offset(target.seq)?,
            },
        });
        let position = self.publisher.publish(&event, occurred_at).await?;
        self.read_your_write(&position).await;
        Ok(())
    }

    /// The target as the read model holds it now: the edit its text comes from, and whether
    /// it is deleted.
    async fn stored(&self, target: &Target) -> Result<Option<(Option<String>, bool)>, ChatError> {
        let messages = &self.read().messages;
        let lifecycle = if target.kind == place_kind::GROUP {
            messages.group_message(&target.place_id, &target.message_id).await?.map(|row| row.lifecycle)
        } else {
            messages.message(&target.place_id, &target.message_id).await?.map(|row| row.lifecycle)
        };
        Ok(lifecycle.map(|l| (l.edit_id, l.deleted_at_ms.is_some())))
    }
}

/// One emoji as Unicode defines them (skin tones, ZWJ sequences, flags and keycaps included);
/// anything else names no reaction.
fn one_emoji(raw: &str) -> Result<&str, ChatError> {
    match emojis::get(raw) {
        Some(emoji) => Ok(emoji.as_str()),
        None => Err(ChatError::not_found("not_an_emoji", "a reaction is one emoji")),
    }
}

fn not_yours(what: &str) -> ChatError {
    ChatError::forbidden("not_your_message", format!("only its sender may {what} a message"))
}

/// The other participant of a direct message, from `user_id`'s side.
pub(crate) fn peer_of(row: &MessageRow, user_id: &str) -> String {
    if row.sender_id == user_id { row.recipient_id.clone() } else { row.sender_id.clone() }
}

fn parse_message_id(raw: &str) -> Result<String, ChatError> {
    Uuid::parse_str(raw).map(|id| id.to_string()).map_err(|_| message_not_found())
}

pub(crate) fn offset(seq: u64) -> Result<i64, ChatError> {
    i64::try_from(seq).map_err(ChatError::internal)
}
