//! Attachments as messages show them, names opened.
use confab_producers::{KeyScope, Keyring};
use confab_schemas::AttachmentRef;
use serde::Serialize;
use utoipa::ToSchema;

use crate::ApiError;

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

pub(crate) fn file_name(
    keyring: &Keyring,
    scope: KeyScope<'_>,
    sealed: &str,
    attachment_id: &str,
) -> Result<String, ApiError> {
    let plaintext = keyring.open(scope, sealed, attachment_id.as_bytes()).map_err(ApiError::internal)?;
    String::from_utf8(plaintext).map_err(ApiError::internal)
}

impl MessageAttachment {
    /// The attachments of a message in `scope`, names opened.
    pub(crate) fn all(keyring: &Keyring, scope: KeyScope<'_>, refs: Vec<AttachmentRef>) -> Result<Vec<Self>, ApiError> {
        refs.into_iter()
            .map(|a| {
                Ok(Self {
                    file_name: file_name(keyring, scope, &a.file_name, &a.attachment_id)?,
                    attachment_id: a.attachment_id,
                    content_type: a.content_type,
                    size: a.size,
                    sha256: a.sha256,
                })
            })
            .collect()
    }
}
