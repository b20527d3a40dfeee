//! "Media and files": a conversation's or group's available attachments, newest first, paged;
//! in a group, only those the caller sees.
use confab_readmodels::{AttachmentRow, MAX_PAGE_ROWS};

use crate::{
    Caller, ChatError, OpenedFile, UseCases, conversation_id,
    queries::paging::{hyphenated_uuid, invalid_cursor},
};

/// Most rows looked at for one page: a late joiner in a group with a long past gets a shorter
/// page with a cursor rather than a read of the whole past.
const MAX_SCANNED: usize = 4 * MAX_PAGE_ROWS;

/// Whose attachments.
#[derive(Debug, Clone, Copy)]
pub enum AttachmentsOf<'a> {
    /// The caller's conversation with this username.
    Direct(&'a str),
    /// A group the caller is a member of.
    Group(&'a str),
}

/// A page of attachments.
#[derive(Debug)]
pub struct AttachmentPage {
    /// Newest first, names opened.
    pub attachments: Vec<OpenedFile>,
    /// Asks for the page after this one (older); None at the end.
    pub next_cursor: Option<String>,
}

impl UseCases {
    /// Up to `limit` attachments older than `before` (a `next_cursor`).
    pub async fn attachment_page(
        &self,
        caller: &Caller,
        of: AttachmentsOf<'_>,
        before: Option<&str>,
        limit: usize,
    ) -> Result<AttachmentPage, ChatError> {
        let mut before = before.map(|raw| hyphenated_uuid(raw).ok_or_else(invalid_cursor)).transpose()?;
        let (owner, member) = match of {
            AttachmentsOf::Direct(recipient) => {
                let peer = self.peer_named(recipient).await.map_err(ChatError::as_recipient)?;
                (conversation_id(&caller.sub, &peer.user_id).to_string(), None)
            }
            AttachmentsOf::Group(raw_group_id) => {
                let (group, me) = self.membership(raw_group_id, &caller.sub).await?;
                let sight = self.sight_of(&me).await?;
                (group.group_id.clone(), Some((group, me, sight)))
            }
        };
        let read = self.read();
        let mut attachments = Vec::new();
        let mut scanned = 0;
        loop {
            let chunk = read.attachments.conversation_attachments(&owner, before.as_deref(), limit + 1).await?;
            let end = chunk.len() <= limit;
            scanned += chunk.len();
            before = chunk.last().map(|row| row.attachment_id.clone());
            attachments.extend(
                chunk.into_iter().filter(|row| {
                    member.as_ref().is_none_or(|(group, me, sight)| sight.sees_attachment(me, group, row))
                }),
            );
            if attachments.len() > limit {
                attachments.truncate(limit);
                let next_cursor = attachments.last().map(|row| row.attachment_id.clone());
                return self.opened_page(attachments, next_cursor).await;
            }
            if end {
                return self.opened_page(attachments, None).await;
            }
            if scanned >= MAX_SCANNED {
                return self.opened_page(attachments, before).await;
            }
        }
    }
}

impl UseCases {
    async fn opened_page(
        &self,
        rows: Vec<AttachmentRow>,
        next_cursor: Option<String>,
    ) -> Result<AttachmentPage, ChatError> {
        let opener = self.opener();
        let mut attachments = Vec::with_capacity(rows.len());
        for row in rows {
            // An erased uploader's files are gone: the page skips them.
            attachments.extend(opener.file(row).await?);
        }
        Ok(AttachmentPage { attachments, next_cursor })
    }
}
