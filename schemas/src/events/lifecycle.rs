//! What happens to a message after it is sent: edits and deletes for everyone, on
//! `confab.messages` keyed by the message's conversation or group, so each change follows its
//! message, and the other changes of it, in log order.
use apache_avro::AvroSchema;
use serde::{Deserialize, Serialize};

use super::envelope::envelope;

envelope!(
    /// A sender replaced the text of one of their messages; `content` is sealed, never plaintext.
    MessageEdited(MessageEditedPayload)
);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, AvroSchema)]
#[avro(namespace = "io.confab.events")]
#[serde(rename_all = "camelCase")]
pub struct MessageEditedPayload {
    #[avro(rename = "messageId")]
    pub message_id: String,
    /// `direct` or `group`: what `place_id` names.
    pub kind: String,
    /// The conversation or the group, the record key.
    #[avro(rename = "placeId")]
    pub place_id: String,
    /// The message's sender.
    #[avro(rename = "senderId")]
    pub sender_id: String,
    /// The other participant of a direct conversation; None in a group.
    #[serde(default)]
    #[avro(rename = "recipientId")]
    pub recipient_id: Option<String>,
    /// The message's offset in this same partition.
    #[avro(rename = "messageOffset")]
    pub message_offset: i64,
    pub content: String,
}

envelope!(
    /// A message deleted for everyone, by its sender or a group admin.
    MessageDeleted(MessageDeletedPayload)
);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, AvroSchema)]
#[avro(namespace = "io.confab.events")]
#[serde(rename_all = "camelCase")]
pub struct MessageDeletedPayload {
    #[avro(rename = "messageId")]
    pub message_id: String,
    /// `direct` or `group`: what `place_id` names.
    pub kind: String,
    /// The conversation or the group, the record key.
    #[avro(rename = "placeId")]
    pub place_id: String,
    /// The message's sender.
    #[avro(rename = "senderId")]
    pub sender_id: String,
    /// The other participant of a direct conversation; None in a group.
    #[serde(default)]
    #[avro(rename = "recipientId")]
    pub recipient_id: Option<String>,
    /// The message's offset in this same partition.
    #[avro(rename = "messageOffset")]
    pub message_offset: i64,
}

envelope!(
    /// A reaction added to a message, or taken back.
    MessageReacted(MessageReactedPayload)
);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, AvroSchema)]
#[avro(namespace = "io.confab.events")]
#[serde(rename_all = "camelCase")]
pub struct MessageReactedPayload {
    #[avro(rename = "messageId")]
    pub message_id: String,
    /// `direct` or `group`: what `place_id` names.
    pub kind: String,
    /// The conversation or the group, the record key.
    #[avro(rename = "placeId")]
    pub place_id: String,
    /// The message's sender.
    #[avro(rename = "senderId")]
    pub sender_id: String,
    /// The other participant of a direct conversation; None in a group.
    #[serde(default)]
    #[avro(rename = "recipientId")]
    pub recipient_id: Option<String>,
    /// The message's offset in this same partition.
    #[avro(rename = "messageOffset")]
    pub message_offset: i64,
    /// One emoji.
    pub emoji: String,
    /// True: added; false: taken back.
    pub added: bool,
}

envelope!(
    /// A message deleted for its actor only.
    MessageHidden(MessageHiddenPayload)
);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, AvroSchema)]
#[avro(namespace = "io.confab.events")]
#[serde(rename_all = "camelCase")]
pub struct MessageHiddenPayload {
    #[avro(rename = "messageId")]
    pub message_id: String,
    /// `direct` or `group`: what `place_id` names.
    pub kind: String,
    /// The conversation or the group, the record key.
    #[avro(rename = "placeId")]
    pub place_id: String,
    /// The message's sender.
    #[avro(rename = "senderId")]
    pub sender_id: String,
    /// The other participant of a direct conversation; None in a group.
    #[serde(default)]
    #[avro(rename = "recipientId")]
    pub recipient_id: Option<String>,
    /// The message's offset in this same partition.
    #[avro(rename = "messageOffset")]
    pub message_offset: i64,
}

envelope!(
    /// A message pinned to its conversation or group, or unpinned.
    MessagePinned(MessagePinnedPayload)
);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, AvroSchema)]
#[avro(namespace = "io.confab.events")]
#[serde(rename_all = "camelCase")]
pub struct MessagePinnedPayload {
    #[avro(rename = "messageId")]
    pub message_id: String,
    /// `direct` or `group`: what `place_id` names.
    pub kind: String,
    /// The conversation or the group, the record key.
    #[avro(rename = "placeId")]
    pub place_id: String,
    /// The message's sender.
    #[avro(rename = "senderId")]
    pub sender_id: String,
    /// The other participant of a direct conversation; None in a group.
    #[serde(default)]
    #[avro(rename = "recipientId")]
    pub recipient_id: Option<String>,
    /// The message's offset in this same partition.
    #[avro(rename = "messageOffset")]
    pub message_offset: i64,
    /// True: pinned; false: unpinned.
    pub pinned: bool,
}

/// What a change's `kind` says its place is.
pub mod place_kind {
    pub const DIRECT: &str = "direct";
    pub const GROUP: &str = "group";
}

/// What every change of a message says of the message, whichever change it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChangedMessage<'a> {
    pub message_id: &'a str,
    pub kind: &'a str,
    pub place_id: &'a str,
    pub sender_id: &'a str,
    pub recipient_id: Option<&'a str>,
    pub message_offset: i64,
}

impl super::Event {
    /// The message an edit, a delete, a reaction, a hiding or a pin changes; None for any other
    /// event.
    pub fn changed_message(&self) -> Option<ChangedMessage<'_>> {
        let (p_message, p_kind, p_place, p_sender, p_recipient, p_offset) = match self {
            super::Event::MessageEdited(e) => {
                let p = &e.payload;
                (&p.message_id, &p.kind, &p.place_id, &p.sender_id, &p.recipient_id, p.message_offset)
            }
            super::Event::MessageDeleted(e) => {
                let p = &e.payload;
                (&p.message_id, &p.kind, &p.place_id, &p.sender_id, &p.recipient_id, p.message_offset)
            }
            super::Event::MessageReacted(e) => {
                let p = &e.payload;
                (&p.message_id, &p.kind, &p.place_id, &p.sender_id, &p.recipient_id, p.message_offset)
            }
            super::Event::MessageHidden(e) => {
                let p = &e.payload;
                (&p.message_id, &p.kind, &p.place_id, &p.sender_id, &p.recipient_id, p.message_offset)
            }
            super::Event::MessagePinned(e) => {
                let p = &e.payload;
                (&p.message_id, &p.kind, &p.place_id, &p.sender_id, &p.recipient_id, p.message_offset)
            }
            _ => return None,
        };
        Some(ChangedMessage {
            message_id: p_message,
            kind: p_kind,
            place_id: p_place,
            sender_id: p_sender,
            recipient_id: p_recipient.as_deref(),
            message_offset: p_offset,
        })
    }
}
