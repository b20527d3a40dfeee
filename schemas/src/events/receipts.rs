//! Delivery and read receipts (topic `confab.messages`), keyed like the messages they
//! acknowledge, so a receipt always follows its message in the log. Each one moves a
//! per-reader watermark forward: "everything up to this message", never backwards.
use apache_avro::AvroSchema;
use serde::{Deserialize, Serialize};

use super::envelope::envelope;

envelope!(
    /// One of the reader's devices received a direct conversation's messages up to one.
    DirectMessagesDelivered(DirectReceiptPayload)
);

envelope!(
    /// The reader read a direct conversation up to a message.
    DirectMessagesRead(DirectReceiptPayload)
);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, AvroSchema)]
#[avro(namespace = "io.confab.events")]
#[serde(rename_all = "camelCase")]
pub struct DirectReceiptPayload {
    #[avro(rename = "conversationId")]
    pub conversation_id: String,
    /// Who received or read.
    #[avro(rename = "readerId")]
    pub reader_id: String,
    /// The other participant: the author of what was received or read.
    #[avro(rename = "peerId")]
    pub peer_id: String,
    #[avro(rename = "upToMessageId")]
    pub up_to_message_id: String,
}

envelope!(
    /// One of the reader's devices received a group's messages up to one.
    GroupMessagesDelivered(GroupReceiptPayload)
);

envelope!(
    /// The reader read a group up to a message.
    GroupMessagesRead(GroupReceiptPayload)
);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, AvroSchema)]
#[avro(namespace = "io.confab.events")]
#[serde(rename_all = "camelCase")]
pub struct GroupReceiptPayload {
    #[avro(rename = "groupId")]
    pub group_id: String,
    /// Who received or read.
    #[avro(rename = "readerId")]
    pub reader_id: String,
    #[avro(rename = "upToMessageId")]
    pub up_to_message_id: String,
}
