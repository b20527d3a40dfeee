//! Receipts: a message reached a device (delivered) or its reader (read). A receipt is a
//! watermark ("up to this message"), appended at most once per (reader, conversation, status,
//! message) through a claim, so two devices acking the same frames, or a client retrying,
//! append it once.
use confab_eventlog::{Claim, ClaimedAppend, Position};
use confab_readmodels::ReceiptStatus;
use confab_schemas::{
    DirectMessagesDelivered, DirectMessagesRead, DirectReceiptPayload, Event, GroupMessagesDelivered,
    GroupMessagesRead, GroupReceiptPayload,
};
use uuid::Uuid;

use crate::{Caller, ChatError, UseCases, conversation_id, rate_limits::UserAction, time::now_ms, typing::names_group};

const RECEIPT_CLAIM: &str = "receipt";

/// Which conversation a message belongs to, as receipts name it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Conversation {
    Direct { conversation_id: String, sender_id: String, recipient_id: String },
    Group { group_id: String },
}

/// What a read answers with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadReceipt {
    /// The direct conversation's id, or the group's.
    pub conversation_id: String,
    pub up_to_message_id: String,
}

fn message_not_found() -> ChatError {
    ChatError::not_found("message_not_found", "no such message in that conversation")
}

/// The receipt event for `reader` in `conversation` up to `message_id`.
fn receipt_event(reader: &str, conversation: &Conversation, message_id: &str, status: ReceiptStatus) -> Event {
    let (event_id, occurred_at, actor_id) = (Uuid::now_v7().to_string(), now_ms(), reader.to_owned());
    let up_to_message_id = message_id.to_owned();
    match conversation {
        Conversation::Direct { conversation_id, sender_id, recipient_id } => {
            let peer_id = if sender_id == reader { recipient_id } else { sender_id };
            let payload = DirectReceiptPayload {
                conversation_id: conversation_id.clone(),
                reader_id: reader.to_owned(),
                peer_id: peer_id.clone(),
                up_to_message_id,
            };
            match status {
                ReceiptStatus::Delivered => {
                    Event::DirectMessagesDelivered(DirectMessagesDelivered { event_id, occurred_at, actor_id, payload })
                }
                ReceiptStatus::Read => {
                    Event::DirectMessagesRead(DirectMessagesRead { event_id, occurred_at, actor_id, payload })
                }
            }
        }
        Conversation::Group { group_id } => {
            let payload =
                GroupReceiptPayload { group_id: group_id.clone(), reader_id: reader.to_owned(), up_to_message_id };
            match status {
                ReceiptStatus::Delivered => {
                    Event::GroupMessagesDelivered(GroupMessagesDelivered { event_id, occurred_at, actor_id, payload })
                }
                ReceiptStatus::Read => {
                    Event::GroupMessagesRead(GroupMessagesRead { event_id, occurred_at, actor_id, payload })
                }
            }
        }
    }
}

/// The idempotency key of a receipt: one event per reader, conversation, status and message.
fn receipt_claim_key(reader: &str, event: &Event, status: ReceiptStatus, message_id: &str) -> String {
    format!("{reader}/{}/{}/{message_id}", event.key(), status.as_str())
}

impl UseCases {
    /// Appends `reader`'s receipt for `conversation` up to `message_id`. The position is None
    /// when the same receipt was appended before.
    pub async fn record_receipt(
        &self,
        reader: &str,
        conversation: &Conversation,
        message_id: &str,
        status: ReceiptStatus,
    ) -> Result<Option<Position>, ChatError> {
        let event = receipt_event(reader, conversation, message_id, status);
        let claim = Claim {
            scope: RECEIPT_CLAIM.into(),
            key: receipt_claim_key(reader, &event, status, message_id),
            value: Vec::new(),
        };
        let occurred_at = event.occurred_at();
        Ok(match self.publisher.publish_claimed(claim, &event, occurred_at).await? {
            ClaimedAppend::Appended(position) => Some(position),
            ClaimedAppend::Taken { .. } => None,
        })
    }

    /// The caller read their conversation with `peer` (a username) up to `message_id`.
    pub async fn read_direct(&self, reader: &Caller, peer: &str, message_id: &str) -> Result<ReadReceipt, ChatError> {
        self.rate_limits.user(UserAction::Receipt, &reader.sub)?;
        let peer = self.user_named(peer).await?;
        self.refuse_if_blocked(&reader.sub, &peer.user_id).await?;
        let conversation_id = conversation_id(&reader.sub, &peer.user_id).to_string();
        let message_id = Uuid::parse_str(message_id).map_err(|_| message_not_found())?.to_string();
        let row = self.read().messages.message(&conversation_id, &message_id).await?.ok_or_else(message_not_found)?;
        let conversation = Conversation::Direct {
            conversation_id: conversation_id.clone(),
            sender_id: row.sender_id,
            recipient_id: row.recipient_id,
        };
        self.read_up_to(&reader.sub, conversation, message_id).await
    }

    /// The caller read group `group_id` up to `message_id`.
    pub async fn read_group(
        &self,
        reader: &Caller,
        group_id: &str,
        message_id: &str,
    ) -> Result<ReadReceipt, ChatError> {
        self.rate_limits.user(UserAction::Receipt, &reader.sub)?;
        let (group, me) = self.membership(group_id, &reader.sub).await?;
        let message_id = Uuid::parse_str(message_id).map_err(|_| message_not_found())?.to_string();
        let read = self.read();
        let row = read.messages.group_message(&group.group_id, &message_id).await?.ok_or_else(message_not_found)?;
        // A member reads only what they see.
        if !self.sight_of(&me).await?.sees(row.seq) {
            return Err(message_not_found());
        }
        self.read_up_to(&reader.sub, Conversation::Group { group_id: group.group_id }, message_id).await
    }

    /// A read naming `to`: a group id or a username.
    pub async fn read_either(&self, reader: &Caller, to: &str, message_id: &str) -> Result<ReadReceipt, ChatError> {
        if names_group(to) {
            self.read_group(reader, to, message_id).await
        } else {
            self.read_direct(reader, to, message_id).await
        }
    }

    async fn read_up_to(
        &self,
        reader: &str,
        conversation: Conversation,
        message_id: String,
    ) -> Result<ReadReceipt, ChatError> {
        if let Some(position) = self.record_receipt(reader, &conversation, &message_id, ReceiptStatus::Read).await? {
            self.read_your_write(&position).await;
        }
        let conversation_id = match conversation {
            Conversation::Direct { conversation_id, .. } => conversation_id,
            Conversation::Group { group_id } => group_id,
        };
        Ok(ReadReceipt { conversation_id, up_to_message_id: message_id })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_receipt_names_the_peer_and_is_keyed_once_per_reader_status_and_message() {
        let direct =
            Conversation::Direct { conversation_id: "c".into(), sender_id: "a".into(), recipient_id: "b".into() };
        let Event::DirectMessagesRead(read) = receipt_event("b", &direct, "m1", ReceiptStatus::Read) else {
            panic!("a read of a direct conversation is DirectMessagesRead");
        };
        assert_eq!(read.payload.peer_id, "a");
        let delivered = receipt_event("b", &direct, "m1", ReceiptStatus::Delivered);
        assert!(matches!(delivered, Event::DirectMessagesDelivered(_)));
        let read = Event::DirectMessagesRead(read);
        assert_ne!(
            receipt_claim_key("b", &read, ReceiptStatus::Read, "m1"),
            receipt_claim_key("b", &delivered, ReceiptStatus::Delivered, "m1")
        );
        assert_eq!(
            receipt_claim_key("b", &read, ReceiptStatus::Read, "m1"),
            receipt_claim_key("b", &receipt_event("b", &direct, "m1", ReceiptStatus::Read), ReceiptStatus::Read, "m1"),
            "the same receipt twice has one key"
        );
        let group = Conversation::Group { group_id: "g".into() };
        assert!(matches!(receipt_event("b", &group, "m1", ReceiptStatus::Read), Event::GroupMessagesRead(_)));
    }
}
