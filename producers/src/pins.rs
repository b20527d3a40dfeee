//! Pinned messages: either participant of a direct conversation, or an admin of a group, pins a
//! message to it (`MessagePinned` on the message's partition, applied by
//! [`confab_readmodels::Lifecycle::apply`] like its other changes); everyone who sees the place
//! lists its pins.
use confab_readmodels::{GroupMessageRow, GroupRole, MessageRow, sight};
use confab_schemas::{Event, MessagePinned, MessagePinnedPayload};
use uuid::Uuid;

use crate::{
    Caller, ChatError, Opened, UseCases, conversation_id,
    message_changes::{Target, message_deleted, offset, peer_of},
    rate_limits::UserAction,
    time::now_ms,
};

/// Most messages pinned in one conversation or group.
pub const MAX_PINS: usize = 50;

impl UseCases {
    /// Pins the direct message `message_id` to its conversation (`pinned`), or unpins it; doing
    /// what is already done changes nothing.
    pub async fn pin_direct(&self, caller: &Caller, message_id: &str, pinned: bool) -> Result<(), ChatError> {
        self.rate_limits.user(UserAction::Send, &caller.sub)?;
        let row = self.direct_message_of(caller, message_id).await?;
        self.refuse_if_blocked(&caller.sub, &peer_of(&row, &caller.sub)).await?;
        self.pin(caller, Target::from(&row), pinned).await
    }

    /// As [`UseCases::pin_direct`], for a message of a group the caller is an admin of and sees.
    pub async fn pin_group(
        &self,
        caller: &Caller,
        raw_group_id: &str,
        message_id: &str,
        pinned: bool,
    ) -> Result<(), ChatError> {
        self.rate_limits.user(UserAction::Send, &caller.sub)?;
        let (row, role) = self.group_message_of(caller, raw_group_id, message_id).await?;
        if role != GroupRole::Admin {
            return Err(ChatError::forbidden("not_an_admin", "only the group's admins pin and unpin messages"));
        }
        self.pin(caller, Target::from(&row), pinned).await
    }

    /// The messages pinned in the caller's conversation with `recipient`, newest first.
    pub async fn direct_pins(&self, caller: &Caller, recipient: &str) -> Result<Vec<Opened<MessageRow>>, ChatError> {
        let peer = self.peer_named(recipient).await.map_err(ChatError::as_recipient)?;
        let conversation = conversation_id(&caller.sub, &peer.user_id).to_string();
        let read = self.read();
        let quoter = self.quoter();
        let mut pinned = Vec::new();
        for id in read.messages.pins(&conversation, MAX_PINS).await? {
            if let Some(row) =
                read.messages.message(&conversation, &id).await?.filter(|row| row.lifecycle.pinned.is_some())
            {
                pinned.push(quoter.direct(row).await?);
            }
        }
        Ok(pinned)
    }

    /// The messages pinned in a group the caller is a member of, newest first: those they see.
    pub async fn group_pins(
        &self,
        caller: &Caller,
        raw_group_id: &str,
    ) -> Result<Vec<Opened<GroupMessageRow>>, ChatError> {
        let (group, me) = self.membership(raw_group_id, &caller.sub).await?;
        let read = self.read();
        let seen = sight(read.messages.as_ref(), &me).await?;
        let quoter = self.quoter();
        let mut pinned = Vec::new();
        for id in read.messages.pins(&group.group_id, MAX_PINS).await? {
            let row = read.messages.group_message(&group.group_id, &id).await?;
            if let Some(row) = row.filter(|row| row.lifecycle.pinned.is_some() && seen.sees(row.seq)) {
                pinned.push(quoter.group(row).await?);
            }
        }
        Ok(pinned)
    }

    /// Appends a pin (or an unpin) of `target`, unless it is already as asked.
    async fn pin(&self, caller: &Caller, target: Target, pinned: bool) -> Result<(), ChatError> {
        if target.deleted() {
            return Err(message_deleted());
        }
        if target.lifecycle.pinned.is_some() == pinned {
            return Ok(());
        }
        if pinned && self.read().messages.pins(&target.place_id, MAX_PINS).await?.len() >= MAX_PINS {
            return Err(ChatError::conflict(
                "too_many_pins",
                format!("a conversation or group holds at most {MAX_PINS} pinned messages; unpin one first"),
            ));
        }
        let occurred_at = now_ms();
        let event = Event::MessagePinned(MessagePinned {
            event_id: Uuid::now_v7().to_string(),
            occurred_at,
            actor_id: caller.sub.clone(),
            payload: MessagePinnedPayload {
                message_id: target.message_id.clone(),
                kind: target.kind.to_owned(),
                place_id: target.place_id.clone(),
                sender_id: target.sender_id.clone(),
                recipient_id: target.recipient_id.clone(),
                message_offset: offset(target.seq)?,
                pinned,
            },
        });
        let position = self.publisher.publish(&event, occurred_at).await?;
        self.read_your_write(&position).await;
        Ok(())
    }
}
