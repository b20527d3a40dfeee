//! Sealed content opened for an answer: message text, attachment names and profiles. Content
//! sealed under a data key opens while its writer's key stands; once the writer's account is
//! erased it shows as deleted, as does a message deleted for everyone. Older content opens under the key of its conversation or group.
//! The queries and the live frames open through here, so nothing above this crate holds a key.
use std::sync::Arc;

use confab_readmodels::{AttachmentRow, GroupMessageRow, Lifecycle, MessageRow, ProfileFields, PushTargetRow, UserRow};
use confab_schemas::{AttachmentRef, ChangedMessage, place_kind, push_kind};

use crate::{
    ChatError, CryptoError, DataKey, DataKeys, KeyScope, Keyring, MessageBinding, PushTarget, Quote, UseCases,
    profile_field_binding, push_targets, scope_of, under_data_key,
};

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
    /// The message it replies to, once a [`crate::Quoter`] looked it up.
    pub reply: Option<Quote>,
}

/// An attachment row with its name opened.
#[derive(Debug, Clone)]
pub struct OpenedFile {
    pub row: AttachmentRow,
    pub file_name: String,
}

/// What a user says about themself, opened; empty once their account is erased.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpenedProfile {
    pub display_name: Option<String>,
    pub about: Option<String>,
    /// Their picture: an attachment they uploaded for their profile.
    pub avatar_id: Option<String>,
}

/// An account as others see it, its profile opened.
#[derive(Debug, Clone)]
pub struct OpenedUser {
    pub user_id: String,
    pub username: String,
    pub registered_at_ms: i64,
    pub profile: OpenedProfile,
    /// Whether they show their presence: their own setting, for their own eyes.
    pub show_presence: bool,
}

/// Where a message or file was written and by whom: whose data key seals it, read at most once
/// for all of its sealed parts.
struct Writer<'a> {
    /// The derived key of what was sealed before data keys.
    scope: KeyScope<'a>,
    owner_id: &'a str,
    place_id: &'a str,
    /// The data key once read; None inside once it is destroyed.
    data_key: Option<Option<DataKey>>,
}

impl<'a> Writer<'a> {
    fn new(scope: KeyScope<'a>, owner_id: &'a str, place_id: &'a str) -> Self {
        Self { scope, owner_id, place_id, data_key: None }
    }
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
        let mut writer =
            Writer::new(KeyScope::Conversation(&row.conversation_id), &row.sender_id, &row.conversation_id);
        let binding = MessageBinding::direct(
            &row.message_id,
            &row.sender_id,
            &row.conversation_id,
            &row.recipient_id,
            &row.attachments,
        );
        let opened = self.message(&mut writer, &row.content, &binding, &row.lifecycle, &row.attachments).await?;
        Ok(opened.with_row(row))
    }

    pub async fn group(&self, row: GroupMessageRow) -> Result<Opened<GroupMessageRow>, ChatError> {
        let mut writer = Writer::new(KeyScope::Group(&row.group_id), &row.sender_id, &row.group_id);
        let binding = MessageBinding::group(&row.message_id, &row.sender_id, &row.group_id, &row.attachments);
        let opened = self.message(&mut writer, &row.content, &binding, &row.lifecycle, &row.attachments).await?;
        Ok(opened.with_row(row))
    }

    /// The attachment with its name opened; None once its uploader's account is erased (its
    /// bytes are deleted then too).
    pub async fn file(&self, row: AttachmentRow) -> Result<Option<OpenedFile>, ChatError> {
        let mut writer = Writer::new(scope_of(&row), &row.uploader_id, &row.conversation_id);
        let file_name = self.text(&mut writer, &row.file_name, &row.attachment_id).await?;
        Ok(file_name.map(|file_name| OpenedFile { row, file_name }))
    }

    /// An account with its profile opened; empty once the account is erased.
    pub async fn user(&self, row: UserRow) -> Result<OpenedUser, ChatError> {
        let profile = self.profile(&row.user_id, &row.profile).await?.unwrap_or_default();
        Ok(OpenedUser {
            user_id: row.user_id,
            username: row.username,
            registered_at_ms: row.registered_at_ms,
            profile,
            show_presence: row.profile.show_presence,
        })
    }

    /// `user_id`'s profile as the log carried it, opened: sealed under their key for their own
    /// place (named by their id: no conversation or group has that id), or in the clear if
    /// written before profiles were sealed. None once their key is destroyed.
    pub async fn profile(&self, user_id: &str, fields: &ProfileFields) -> Result<Option<OpenedProfile>, ChatError> {
        if !fields.sealed {
            return Ok(Some(OpenedProfile {
                display_name: fields.display_name.clone(),
                about: fields.about.clone(),
                avatar_id: fields.avatar_id.clone(),
            }));
        }
        let mut writer = Writer::new(KeyScope::User(user_id), user_id, user_id);
        let mut open = async |field: &str, sealed: &Option<String>| -> Result<Option<Option<String>>, ChatError> {
            let Some(sealed) = sealed else { return Ok(Some(None)) };
            let aad = profile_field_binding(user_id, field);
            // Profiles were never sealed under derived keys: anything else is not a profile.
            let opened = self.open(&mut writer, sealed, &aad, |_, _| Err(CryptoError::Unreadable)).await?;
            Ok(opened.map(Some))
        };
        let (Some(display_name), Some(about)) =
            (open("displayName", &fields.display_name).await?, open("about", &fields.about).await?)
        else {
            return Ok(None);
        };
        Ok(Some(OpenedProfile { display_name, about, avatar_id: fields.avatar_id.clone() }))
    }

    /// A push target as the log carried it, opened: sealed like a profile, under its user's key
    /// for their own place. None once their key is destroyed.
    pub async fn push_target(&self, row: &PushTargetRow) -> Result<Option<PushTarget>, ChatError> {
        let (user_id, device_id) = (row.user_id.as_str(), row.device_id.as_str());
        let mut writer = Writer::new(KeyScope::User(user_id), user_id, user_id);
        let aad = push_targets::binding(user_id, device_id, "endpoint");
        let Some(endpoint) = self.open(&mut writer, &row.endpoint, &aad, |_, _| Err(CryptoError::Unreadable)).await?
        else {
            return Ok(None);
        };
        if row.kind == push_kind::WEBHOOK {
            return Ok(Some(PushTarget::Webhook { url: endpoint }));
        }
        let (Some(p256dh), Some(auth)) = (&row.p256dh, &row.auth) else { return Ok(None) };
        let aad = push_targets::binding(user_id, device_id, "p256dh");
        let Some(p256dh) = self.open(&mut writer, p256dh, &aad, |_, _| Err(CryptoError::Unreadable)).await? else {
            return Ok(None);
        };
        let aad = push_targets::binding(user_id, device_id, "auth");
        let Some(auth) = self.open(&mut writer, auth, &aad, |_, _| Err(CryptoError::Unreadable)).await? else {
            return Ok(None);
        };
        Ok(Some(PushTarget::WebPush { endpoint, p256dh, auth }))
    }

    /// The text of an edit of a message, sealed as `MessageEdited` carries it; None once its
    /// sender's key is destroyed.
    pub async fn edit(
        &self,
        changed: &ChangedMessage<'_>,
        edit_id: &str,
        sealed: &str,
    ) -> Result<Option<String>, ChatError> {
        let scope = if changed.kind == place_kind::GROUP {
            KeyScope::Group(changed.place_id)
        } else {
            KeyScope::Conversation(changed.place_id)
        };
        let mut writer = Writer::new(scope, changed.sender_id, changed.place_id);
        let binding = MessageBinding {
            message_id: changed.message_id,
            sender_id: changed.sender_id,
            place_id: changed.place_id,
            recipient_id: changed.recipient_id,
            attachments: Vec::new(),
        };
        self.edited_text(&mut writer, sealed, &binding, edit_id).await
    }

    /// A message as its row keeps it: deleted for everyone, edited, or as sent.
    async fn message(
        &self,
        writer: &mut Writer<'_>,
        sealed: &str,
        binding: &MessageBinding<'_>,
        lifecycle: &Lifecycle,
        refs: &[AttachmentRef],
    ) -> Result<Opened<()>, ChatError> {
        if lifecycle.deleted_at_ms.is_some() {
            return Ok(Opened::deleted());
        }
        let content = match &lifecycle.edit_id {
            Some(edit_id) => self.edited_text(writer, sealed, binding, edit_id).await?,
            None => self.content(writer, sealed, binding).await?,
        };
        let Some(content) = content else { return Ok(Opened::deleted()) };
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
        Ok(Opened { row: (), content, attachments, deleted: false, reply: None })
    }

    /// A message's sealed content, bound to its context; None once its key is destroyed. A
    /// failure is the server's: a lost master key, a damaged row, or an event forged onto the log.
    async fn content(
        &self,
        writer: &mut Writer<'_>,
        sealed: &str,
        binding: &MessageBinding<'_>,
    ) -> Result<Option<String>, ChatError> {
        let aad = binding.associated_data();
        self.open(writer, sealed, &aad, |keyring, scope| keyring.open_message(scope, sealed, binding)).await
    }

    /// An edit's text: only ever sealed under a data key.
    async fn edited_text(
        &self,
        writer: &mut Writer<'_>,
        sealed: &str,
        binding: &MessageBinding<'_>,
        edit_id: &str,
    ) -> Result<Option<String>, ChatError> {
        let aad = binding.edit_associated_data(edit_id);
        self.open(writer, sealed, &aad, |_, _| Err(CryptoError::Unreadable)).await
    }

    /// Sealed text bound to `id`; None once its key is destroyed.
    async fn text(&self, writer: &mut Writer<'_>, sealed: &str, id: &str) -> Result<Option<String>, ChatError> {
        self.open(writer, sealed, id.as_bytes(), |keyring, scope| keyring.open(scope, sealed, id.as_bytes())).await
    }

    /// `sealed` opened under the writer's data key and `aad` if it was sealed under one, else as
    /// `derived` opens it with the master keys; None once the data key is destroyed.
    async fn open(
        &self,
        writer: &mut Writer<'_>,
        sealed: &str,
        aad: &[u8],
        derived: impl FnOnce(&Keyring, KeyScope<'_>) -> Result<Vec<u8>, CryptoError>,
    ) -> Result<Option<String>, ChatError> {
        let plaintext = if under_data_key(sealed) {
            if writer.data_key.is_none() {
                writer.data_key = Some(self.data_keys.for_opening(writer.owner_id, writer.place_id).await?);
            }
            let Some(Some(key)) = &writer.data_key else { return Ok(None) };
            key.open(sealed, aad)
        } else {
            derived(&self.keyring, writer.scope)
        };
        String::from_utf8(plaintext.map_err(ChatError::internal)?).map(Some).map_err(ChatError::internal)
    }
}

impl<R> Opened<R> {
    /// As a user who deleted it for themself sees it, if `hidden`: nothing of what it said.
    pub fn hidden(self, hidden: bool) -> Self {
        if !hidden {
            return self;
        }
        Opened { content: String::new(), attachments: Vec::new(), reply: None, ..self }
    }
}

impl Opened<()> {
    fn deleted() -> Self {
        Opened { row: (), content: String::new(), attachments: Vec::new(), deleted: true, reply: None }
    }

    fn with_row<R>(self, row: R) -> Opened<R> {
        Opened { row, content: self.content, attachments: self.attachments, deleted: self.deleted, reply: self.reply }
    }
}

impl UseCases {
    /// What opens sealed content for answers and frames.
    pub fn opener(&self) -> Opener {
        Opener::new(Arc::clone(&self.keyring), self.data_keys.clone())
    }
}
