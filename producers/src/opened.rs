//! Sealed content opened for an answer: message text and attachment names. Content sealed
//! under a data key opens while its writer's key stands; once the writer's account is erased it
//! shows as deleted. Older content opens under the key of its conversation or group. The queries
//! and the live frames open through here, so nothing above this crate holds a key.
use std::sync::Arc;

use confab_readmodels::{AttachmentRow, GroupMessageRow, MessageRow};
use confab_schemas::AttachmentRef;

use crate::{ChatError, DataKeys, KeyScope, Keyring, MessageBinding, UseCases, scope_of, under_data_key};

/// An attachment as a message shows it, its name opened.
#[derive(Debug, Clone)]
pub struct OpenedAttachment {
    pub attachment_id: String,
    pub file_name: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
}

/// A message row with its sealed parts opened: the text and its attachments' names. A deleted
/// message (its writer's account erased) has neither.
#[derive(Debug, Clone)]
pub struct Opened<R> {
    pub row: R,
    pub content: String,
    pub attachments: Vec<OpenedAttachment>,
    pub deleted: bool,
}

/// An attachment row with its name opened.
#[derive(Debug, Clone)]
pub struct OpenedFile {
    pub row: AttachmentRow,
    pub file_name: String,
}

/// Where a message was written and by whom: whose data key seals it.
struct Writer<'a> {
    scope: KeyScope<'a>,
    owner_id: &'a str,
    place_id: &'a str,
}

/// Opens what the read models keep sealed. Cheap to clone.
#[derive(Clone)]
pub struct Opener {
    keyring: Arc<Keyring>,
    data_keys: DataKeys,
}

impl Opener {
    pub fn new(keyring: Arc<Keyring>, data_keys: DataKeys) -> Self {
        Self { keyring, data_keys }
    }

    pub async fn direct(&self, row: MessageRow) -> Result<Opened<MessageRow>, ChatError> {
        let writer = Writer {
            scope: KeyScope::Conversation(&row.conversation_id),
            owner_id: &row.sender_id,
            place_id: &row.conversation_id,
        };
        let binding = MessageBinding::direct(
            &row.message_id,
            &row.sender_id,
            &row.conversation_id,
            &row.recipient_id,
            &row.attachments,
        );
        let opened = self.message(&writer, &row.content, &binding, &row.attachments).await?;
        Ok(opened.with_row(row))
    }

    pub async fn group(&self, row: GroupMessageRow) -> Result<Opened<GroupMessageRow>, ChatError> {
        let writer =
            Writer { scope: KeyScope::Group(&row.group_id), owner_id: &row.sender_id, place_id: &row.group_id };
        let binding = MessageBinding::group(&row.message_id, &row.sender_id, &row.group_id, &row.attachments);
        let opened = self.message(&writer, &row.content, &binding, &row.attachments).await?;
        Ok(opened.with_row(row))
    }

    /// The attachment with its name opened; None once its uploader's account is erased (its
    /// bytes are deleted then too).
    pub async fn file(&self, row: AttachmentRow) -> Result<Option<OpenedFile>, ChatError> {
        let writer = Writer { scope: scope_of(&row), owner_id: &row.uploader_id, place_id: &row.conversation_id };
        let file_name = self.text(&writer, &row.file_name, &row.attachment_id).await?;
        Ok(file_name.map(|file_name| OpenedFile { row, file_name }))
    }

    async fn message(
        &self,
        writer: &Writer<'_>,
        sealed: &str,
        binding: &MessageBinding<'_>,
        refs: &[AttachmentRef],
    ) -> Result<Opened<()>, ChatError> {
        let Some(content) = self.content(writer, sealed, binding).await? else { return Ok(Opened::deleted()) };
        let mut attachments = Vec::with_capacity(refs.len());
        for a in refs {
            let Some(file_name) = self.text(writer, &a.file_name, &a.attachment_id).await? else {
                return Ok(Opened::deleted());
            };
            attachments.push(OpenedAttachment {
                file_name,
                attachment_id: a.attachment_id.clone(),
                content_type: a.content_type.clone(),
                size: a.size,
                sha256: a.sha256.clone(),
            });
        }
        Ok(Opened { row: (), content, attachments, deleted: false })
    }

    /// A message's sealed content, bound to its context; None once its key is destroyed. A
    /// failure is the server's: a lost master key, a damaged row, or an event forged onto the log.
    async fn content(
        &self,
        writer: &Writer<'_>,
        sealed: &str,
        binding: &MessageBinding<'_>,
    ) -> Result<Option<String>, ChatError> {
        let plaintext = if under_data_key(sealed) {
            let Some(key) = self.data_keys.for_opening(writer.owner_id, writer.place_id).await? else {
                return Ok(None);
            };
            key.open(sealed, &binding.associated_data())
        } else {
            self.keyring.open_message(writer.scope, sealed, binding)
        };
        String::from_utf8(plaintext.map_err(ChatError::internal)?).map(Some).map_err(ChatError::internal)
    }

    /// Sealed text bound to `id`; None once its key is destroyed.
    async fn text(&self, writer: &Writer<'_>, sealed: &str, id: &str) -> Result<Option<String>, ChatError> {
        let plaintext = if under_data_key(sealed) {
            let Some(key) = self.data_keys.for_opening(writer.owner_id, writer.place_id).await? else {
                return Ok(None);
            };
            key.open(sealed, id.as_bytes())
        } else {
            self.keyring.open(writer.scope, sealed, id.as_bytes())
        };
        String::from_utf8(plaintext.map_err(ChatError::internal)?).map(Some).map_err(ChatError::internal)
    }
}

impl Opened<()> {
    fn deleted() -> Self {
        Opened { row: (), content: String::new(), attachments: Vec::new(), deleted: true }
    }

    fn with_row<R>(self, row: R) -> Opened<R> {
        Opened { row, content: self.content, attachments: self.attachments, deleted: self.deleted }
    }
}

impl UseCases {
    /// What opens sealed content for answers and frames.
    pub fn opener(&self) -> Opener {
        Opener::new(Arc::clone(&self.keyring), self.data_keys.clone())
    }
}
