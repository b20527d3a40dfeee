//! Attachments (topic `confab.attachments`, keyed by attachment id) and the references messages
//! carry to them.
use apache_avro::AvroSchema;
use serde::{Deserialize, Serialize};

use super::envelope::envelope;

envelope!(
    /// A user was given a pre-signed URL to upload a file to a conversation or group.
    AttachmentRequested(AttachmentRequestedPayload)
);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, AvroSchema)]
#[avro(namespace = "io.confab.events")]
#[serde(rename_all = "camelCase")]
pub struct AttachmentRequestedPayload {
    #[avro(rename = "attachmentId")]
    pub attachment_id: String,
    #[avro(rename = "uploaderId")]
    pub uploader_id: String,
    #[avro(rename = "uploaderUsername")]
    pub uploader_username: String,
    /// `direct` or `group`.
    pub kind: String,
    /// The direct conversation's id or the group's id.
    #[avro(rename = "conversationId")]
    pub conversation_id: String,
    #[serde(default)]
    #[avro(rename = "recipientId")]
    pub recipient_id: Option<String>,
    /// Sealed; never plaintext.
    #[avro(rename = "fileName")]
    pub file_name: String,
    #[avro(rename = "contentType")]
    pub content_type: String,
    pub size: i64,
    /// Declared by the uploader, lowercase hex.
    pub sha256: String,
    #[avro(rename = "objectKey")]
    pub object_key: String,
    #[avro(rename = "expiresAt")]
    pub expires_at: i64,
    /// A group attachment's place in the group's message order: the end offset of the group's
    /// `confab.messages` partition when it was requested. None for direct ones and version 1.
    #[serde(default)]
    #[avro(rename = "groupOffset")]
    pub group_offset: Option<i64>,
}

envelope!(
    /// The uploader reported the bytes uploaded; the indexer verifies them.
    AttachmentUploaded(AttachmentUploadedPayload)
);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, AvroSchema)]
#[avro(namespace = "io.confab.events")]
#[serde(rename_all = "camelCase")]
pub struct AttachmentUploadedPayload {
    #[avro(rename = "attachmentId")]
    pub attachment_id: String,
}

/// An attachment as a message carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, AvroSchema)]
#[avro(namespace = "io.confab.events")]
#[serde(rename_all = "camelCase")]
pub struct AttachmentRef {
    #[avro(rename = "attachmentId")]
    pub attachment_id: String,
    /// Sealed like the message content, with the attachment id as associated data.
    #[avro(rename = "fileName")]
    pub file_name: String,
    #[avro(rename = "contentType")]
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
}
