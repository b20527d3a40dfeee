//! Attachments as messages show them.
use confab_producers::{Download, OpenedAttachment, OpenedFile, rfc3339};
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

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DownloadTicket {
    attachment_id: String,
    /// A short-lived URL that downloads the bytes with `GET`.
    download_url: String,
    expires_at: String,
    file_name: String,
    content_type: String,
    size: u64,
    sha256: String,
}

impl From<Download> for DownloadTicket {
    fn from(Download { file: OpenedFile { row, file_name }, url, expires_at_ms }: Download) -> Self {
        Self {
            file_name,
            download_url: url.url,
            expires_at: rfc3339(expires_at_ms),
            attachment_id: row.attachment_id,
            content_type: row.content_type,
            size: row.size,
            sha256: row.declared_sha256,
        }
    }
}
