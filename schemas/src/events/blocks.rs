//! Blocking: one user refusing another's messages, on `confab.messages` keyed by the two users'
//! direct conversation, so a block takes effect at one point of that conversation's order.
use apache_avro::AvroSchema;
use serde::{Deserialize, Serialize};

use super::envelope::envelope;

envelope!(
    /// The blocker stops taking the blocked user's messages, receipts, typing and group adds.
    UserBlocked(BlockPayload)
);

envelope!(
    /// A block lifted.
    UserUnblocked(BlockPayload)
);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, AvroSchema)]
#[avro(namespace = "io.confab.events")]
#[serde(rename_all = "camelCase")]
pub struct BlockPayload {
    /// The direct conversation of the two users, the record key.
    #[avro(rename = "conversationId")]
    pub conversation_id: String,
    #[avro(rename = "blockerId")]
    pub blocker_id: String,
    #[avro(rename = "blockerUsername")]
    pub blocker_username: String,
    #[avro(rename = "blockedId")]
    pub blocked_id: String,
    #[avro(rename = "blockedUsername")]
    pub blocked_username: String,
}

impl super::Event {
    /// A block's or a lifting's payload, and whether it blocks; None for any other event.
    pub fn block(&self) -> Option<(&BlockPayload, bool)> {
        match self {
            super::Event::UserBlocked(e) => Some((&e.payload, true)),
            super::Event::UserUnblocked(e) => Some((&e.payload, false)),
            _ => None,
        }
    }

    /// The direct conversation a direct message, receipt, edit or reaction belongs to: what a
    /// block in it stops. (A delete is not stopped: anyone may take back what they said.)
    pub fn direct_conversation(&self) -> Option<&str> {
        match self {
            super::Event::DirectMessageSent(e) => Some(&e.payload.conversation_id),
            super::Event::DirectMessagesDelivered(e) => Some(&e.payload.conversation_id),
            super::Event::DirectMessagesRead(e) => Some(&e.payload.conversation_id),
            super::Event::MessageEdited(e) if e.payload.kind == super::place_kind::DIRECT => Some(&e.payload.place_id),
            super::Event::MessageReacted(e) if e.payload.kind == super::place_kind::DIRECT => Some(&e.payload.place_id),
            super::Event::MessagePinned(e) if e.payload.kind == super::place_kind::DIRECT => Some(&e.payload.place_id),
            _ => None,
        }
    }
}
