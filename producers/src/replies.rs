//! Replies: a message may name an earlier message of the same conversation or group that its
//! sender sees, and answers and frames show a short preview of it, as it stands when read (its
//! latest text, or a tombstone once it is deleted).
use confab_readmodels::{GroupMessageRow, LiveReadModels, MemberRow, MessageRow, sight};

use crate::{ChatError, Opened, Opener, UseCases};

/// Most characters of a quoted message shown in a reply's preview.
pub const PREVIEW_CHARS: usize = 100;

/// The message a reply quotes, as it stands now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quote {
    pub message_id: String,
    pub sender_id: String,
    pub sender_username: String,
    /// The start of its text; empty when deleted.
    pub preview: String,
    pub deleted: bool,
}

fn message_not_found() -> ChatError {
    ChatError::not_found("message_not_found", "replyTo names no message of this conversation or group you see")
}

fn checked(raw: &str) -> Result<String, ChatError> {
    uuid::Uuid::parse_str(raw)
        .map(|id| id.to_string())
        .map_err(|_| ChatError::invalid("invalid_reply_to", "replyTo must be a message id"))
}

fn refuse_deleted(deleted: bool) -> Result<(), ChatError> {
    if deleted {
        return Err(ChatError::conflict("message_deleted", "the message replied to was deleted"));
    }
    Ok(())
}

impl UseCases {
    /// The message a direct send replies to, checked: in the conversation, not deleted.
    pub(crate) async fn direct_reply(
        &self,
        conversation_id: &str,
        reply_to: Option<&str>,
    ) -> Result<Option<String>, ChatError> {
        let Some(raw) = reply_to else { return Ok(None) };
        let id = checked(raw)?;
        let row = self.read().messages.message(conversation_id, &id).await?.ok_or_else(message_not_found)?;
        refuse_deleted(row.lifecycle.deleted_at_ms.is_some())?;
        Ok(Some(id))
    }

    /// The message a group send replies to, checked: in the group, seen by the sender, not
    /// deleted.
    pub(crate) async fn group_reply(
        &self,
        member: &MemberRow,
        reply_to: Option<&str>,
    ) -> Result<Option<String>, ChatError> {
        let Some(raw) = reply_to else { return Ok(None) };
        let id = checked(raw)?;
        let read = self.read();
        let row = read.messages.group_message(&member.group_id, &id).await?.ok_or_else(message_not_found)?;
        if !sight(read.messages.as_ref(), member).await?.sees(row.seq) {
            return Err(message_not_found());
        }
        refuse_deleted(row.lifecycle.deleted_at_ms.is_some())?;
        Ok(Some(id))
    }

    /// What finds and opens the messages replies quote.
    pub fn quoter(&self) -> Quoter {
        Quoter::new(self.read_models.clone(), self.opener())
    }
}

/// Finds and opens the messages replies quote. Whoever sees a reply sees its quote: quoting is
/// the replier showing it.
#[derive(Clone)]
pub struct Quoter {
    read_models: LiveReadModels,
    opener: Opener,
}

impl Quoter {
    pub fn new(read_models: LiveReadModels, opener: Opener) -> Self {
        Self { read_models, opener }
    }

    pub fn opener(&self) -> &Opener {
        &self.opener
    }

    /// A direct message opened, with the message it replies to.
    pub async fn direct(&self, row: MessageRow) -> Result<Opened<MessageRow>, ChatError> {
        let quoted = match &row.reply_to {
            Some(id) => self.read_models.now().messages.message(&row.conversation_id, id).await?,
            None => None,
        };
        let mut opened = self.opener.direct(row).await?;
        if let Some(quoted) = quoted {
            let sender = (quoted.message_id.clone(), quoted.sender_id.clone(), quoted.sender_username.clone());
            opened.reply = Some(quote(sender, &self.opener.direct(quoted).await?));
        }
        Ok(opened)
    }

    /// A group message opened, with the message it replies to.
    pub async fn group(&self, row: GroupMessageRow) -> Result<Opened<GroupMessageRow>, ChatError> {
        let quoted = match &row.reply_to {
            Some(id) => self.read_models.now().messages.group_message(&row.group_id, id).await?,
            None => None,
        };
        let mut opened = self.opener.group(row).await?;
        if let Some(quoted) = quoted {
            let sender = (quoted.message_id.clone(), quoted.sender_id.clone(), quoted.sender_username.clone());
            opened.reply = Some(quote(sender, &self.opener.group(quoted).await?));
        }
        Ok(opened)
    }
}

fn quote<R>((message_id, sender_id, sender_username): (String, String, String), opened: &Opened<R>) -> Quote {
    Quote {
        message_id,
        sender_id,
        sender_username,
        preview: opened.content.chars().take(PREVIEW_CHARS).collect(),
        deleted: opened.deleted,
    }
}
