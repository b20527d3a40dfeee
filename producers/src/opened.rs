//! Sealed content opened for an answer: message text and attachment names, each under the key
//! of its conversation or group. The queries and the live frames open through here, so nothing
//! above this crate holds the keyring.
use std::sync::Arc;

use confab_readmodels::{AttachmentRow, GroupMessageRow, MessageRow};
use confab_schemas::AttachmentRef;

use crate::{ChatError, KeyScope, Keyring, MessageBinding, UseCases, scope_of};

/// An attachment as a message shows it, its name opened.
#[derive(Debug, Clone)]
pub struct OpenedAttachment {
    pub attachment_id: String,
    pub file_name: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
}

/// A message row with its sealed parts opened: the text and its attachments' names.
#[derive(Debug, Clone)]
pub struct Opened<R> {
    pub row: R,
    pub content: String,
    pub attachments: Vec<OpenedAttachment>,
}

/// An attachment row with its name opened.
#[derive(Debug, Clone)]
pub struct OpenedFile {
    pub row: AttachmentRow,
    pub file_name: String,
}

/// Opens what the read models keep sealed. Cheap to clone.
#[derive(Clone)]
pub struct Opener {
    keyring: Arc<Keyring>,
}

impl Opener {
    pub fn new(keyring: Arc<Keyring>) -> Self {
        Self { keyring }
    }

    pub fn direct(&self, row: MessageRow) -> Result<Opened<MessageRow>, ChatError> {
        let scope = KeyScope::Conversation(&row.conversation_id);
        let binding = MessageBinding::direct(
            &row.message_id,
            &row.sender_id,
            &row.conversation_id,
            &row.recipient_id,
            &row.attachments,
        );
        let content = self.content(scope, &row.content, &binding)?;
        let attachments = self.attachments(scope, &row.attachments)?;
        Ok(Opened { row, content, attachments })
    }

    pub fn group(&self, row: GroupMessageRow) -> Result<Opened<GroupMessageRow>, ChatError> {
        let scope = KeyScope::Group(&row.group_id);
        let binding = MessageBinding::group(&row.message_id, &row.sender_id, &row.group_id, &row.attachments);
        let content = self.content(scope, &row.content, &binding)?;
        let attachments = self.attachments(scope, &row.attachments)?;
        Ok(Opened { row, content, attachments })
    }

    pub fn file(&self, row: AttachmentRow) -> Result<OpenedFile, ChatError> {
        let file_name = self.text(scope_of(&row), &row.file_name, &row.attachment_id)?;
        Ok(OpenedFile { row, file_name })
    }

    fn attachments(&self, scope: KeyScope<'_>, refs: &[AttachmentRef]) -> Result<Vec<OpenedAttachment>, ChatError> {
        refs.iter()
            .map(|a| {
                Ok(OpenedAttachment {
                    file_name: self.text(scope, &a.file_name, &a.attachment_id)?,
                    attachment_id: a.attachment_id.clone(),
                    content_type: a.content_type.clone(),
                    size: a.size,
                    sha256: a.sha256.clone(),
                })
            })
            .collect()
    }

    /// A message's sealed content, bound to its context. A failure is the server's: a lost key,
    /// a damaged row, or an event forged onto the log.
    fn content(&self, scope: KeyScope<'_>, sealed: &str, binding: &MessageBinding<'_>) -> Result<String, ChatError> {
        let plaintext = self.keyring.open_message(scope, sealed, binding).map_err(ChatError::internal)?;
        String::from_utf8(plaintext).map_err(ChatError::internal)
    }

    /// Sealed text bound to `id`; a failure is the server's (a lost key, a damaged row).
    fn text(&self, scope: KeyScope<'_>, sealed: &str, id: &str) -> Result<String, ChatError> {
        let plaintext = self.keyring.open(scope, sealed, id.as_bytes()).map_err(ChatError::internal)?;
        String::from_utf8(plaintext).map_err(ChatError::internal)
    }
}

impl UseCases {
    /// What opens sealed content for answers and frames.
    pub fn opener(&self) -> Opener {
        Opener::new(Arc::clone(&self.keyring))
    }
}
