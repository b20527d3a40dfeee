//! Attachments as messages show them.
use confab_producers::OpenedAttachment;
use serde::Serialize;
use utoipa::ToSchema;

/// An attachment as a message shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct MessageAttachment {
    attachment_id: String,
    file_name: String,
    content_type: String,
    size: i64,
    sha256: String,
}

impl From<OpenedAttachment> for MessageAttachment {
    fn from(a: OpenedAttachment) -> Self {
        Self {
            attachment_id: a.attachment_id,
            file_name: a.file_name,
            content_type: a.content_type,
            size: a.size,
            sha256: a.sha256,
        }
    }
}
