use apache_avro::AvroSchema;
use serde::{Deserialize, Serialize};

use super::{attachments::AttachmentRef, envelope::envelope};

envelope!(
    /// A one-on-one message; `content` is sealed, never plaintext.
    DirectMessageSent(DirectMessageSentPayload)
);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, AvroSchema)]
#[avro(namespace = "io.confab.events")]
#[serde(rename_all = "camelCase")]
pub struct DirectMessageSentPayload {
    #[avro(rename = "messageId")]
    pub message_id: String,
    #[avro(rename = "conversationId")]
    pub conversation_id: String,
    #[avro(rename = "senderId")]
    pub sender_id: String,
    #[avro(rename = "senderUsername")]
    pub sender_username: String,
    #[avro(rename = "recipientId")]
    pub recipient_id: String,
    #[avro(rename = "recipientUsername")]
    pub recipient_username: String,
    pub content: String,
    #[serde(default)]
    #[avro(rename = "clientMessageId")]
    pub client_message_id: Option<String>,
    #[serde(default)]
    pub attachments: Vec<AttachmentRef>,
    /// The message this one replies to, earlier in the same conversation or group.
    #[serde(default)]
    #[avro(rename = "replyToMessageId")]
    pub reply_to_message_id: Option<String>,
}
