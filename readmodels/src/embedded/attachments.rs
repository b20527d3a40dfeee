//! The attachment index in the embedded store.
use async_trait::async_trait;
use redb::{ReadableTable, TableDefinition};

use super::{AFTER_ALL_IDS, EmbeddedStore, from_json, to_json};
use crate::{AttachmentRow, AttachmentStatus, AttachmentStore, StoreError, error::storage_error};

/// attachment id -> AttachmentRow.
pub(super) const ATTACHMENTS: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("attachments");
/// (conversation or group id, attachment id): available attachments, by id (UUID v7: by time).
pub(super) const CONVERSATION_ATTACHMENTS: TableDefinition<'_, (&str, &str), ()> =
    TableDefinition::new("conversation_attachments");
/// (uploader id, attachment id): attachments requested and not settled yet, by id.
pub(super) const PENDING_UPLOADS: TableDefinition<'_, (&str, &str), ()> = TableDefinition::new("pending_uploads");
/// (attachment id, message id): the messages carrying an attachment that were not deleted.
pub(super) const ATTACHMENT_CARRIERS: TableDefinition<'_, (&str, &str), ()> =
    TableDefinition::new("attachment_carriers");

#[async_trait]
impl AttachmentStore for EmbeddedStore {
    async fn ping(&self) -> Result<(), StoreError> {
        self.check().await
    }

    async fn put_requested(&self, row: &AttachmentRow) -> Result<(), StoreError> {
        let row = row.clone();
        self.write(move |txn| {
            let mut table = txn.open_table(ATTACHMENTS).map_err(storage_error)?;
            if table.get(row.attachment_id.as_str()).map_err(storage_error)?.is_none() {
                let _ = table.insert(row.attachment_id.as_str(), to_json(&row)?.as_slice()).map_err(storage_error)?;
                let mut pending = txn.open_table(PENDING_UPLOADS).map_err(storage_error)?;
                let _ = pending
                    .insert((row.uploader_id.as_str(), row.attachment_id.as_str()), ())
                    .map_err(storage_error)?;
            }
            Ok(())
        })
        .await
    }

    async fn attachment(&self, attachment_id: &str) -> Result<Option<AttachmentRow>, StoreError> {
        self.read(|db| {
            let txn = db.begin_read().map_err(storage_error)?;
            let table = txn.open_table(ATTACHMENTS).map_err(storage_error)?;
            let row = table.get(attachment_id).map_err(storage_error)?;
            row.map(|v| from_json("attachments", v.value())).transpose()
        })
    }

    async fn settle(&self, row: &AttachmentRow) -> Result<(), StoreError> {
        let row = row.clone();
        self.write(move |txn| {
            let mut table = txn.open_table(ATTACHMENTS).map_err(storage_error)?;
            let stored: Option<AttachmentRow> = table
                .get(row.attachment_id.as_str())
                .map_err(storage_error)?
                .map(|v| from_json("attachments", v.value()))
                .transpose()?;
            let Some(mut stored) = stored else { return Ok(()) };
            if stored.status != AttachmentStatus::Pending {
                return Ok(());
            }
            stored.status = row.status;
            stored.reason = row.reason.clone();
            stored.settled_at_ms = row.settled_at_ms;
            let _ = table.insert(row.attachment_id.as_str(), to_json(&stored)?.as_slice()).map_err(storage_error)?;
            let mut pending = txn.open_table(PENDING_UPLOADS).map_err(storage_error)?;
            let _ =
                pending.remove((stored.uploader_id.as_str(), stored.attachment_id.as_str())).map_err(storage_error)?;
            if stored.status == AttachmentStatus::Available {
                let mut listed = txn.open_table(CONVERSATION_ATTACHMENTS).map_err(storage_error)?;
                let _ = listed
                    .insert((stored.conversation_id.as_str(), stored.attachment_id.as_str()), ())
                    .map_err(storage_error)?;
            }
            Ok(())
        })
        .await
    }

    async fn pending_uploads(&self, uploader_id: &str, limit: usize) -> Result<Vec<AttachmentRow>, StoreError> {
        self.read(|db| newest_listed(db, PENDING_UPLOADS, uploader_id, AFTER_ALL_IDS, limit))
    }

    async fn conversation_attachments(
        &self,
        conversation_id: &str,
        before: Option<&str>,
        limit: usize,
    ) -> Result<Vec<AttachmentRow>, StoreError> {
        let before = before.unwrap_or(AFTER_ALL_IDS);
        self.read(|db| newest_listed(db, CONVERSATION_ATTACHMENTS, conversation_id, before, limit))
    }

    async fn carry(&self, message_id: &str, attachment_ids: &[String]) -> Result<(), StoreError> {
        let (message_id, attachment_ids) = (message_id.to_owned(), attachment_ids.to_vec());
        self.write(move |txn| {
            let mut carriers = txn.open_table(ATTACHMENT_CARRIERS).map_err(storage_error)?;
            for attachment_id in &attachment_ids {
                let _ = carriers.insert((attachment_id.as_str(), message_id.as_str()), ()).map_err(storage_error)?;
            }
            Ok(())
        })
        .await
    }

    async fn uncarry(&self, message_id: &str, attachment_ids: &[String]) -> Result<Vec<String>, StoreError> {
        let (message_id, attachment_ids) = (message_id.to_owned(), attachment_ids.to_vec());
        self.write(move |txn| {
            let mut carriers = txn.open_table(ATTACHMENT_CARRIERS).map_err(storage_error)?;
            let mut uncarried = Vec::new();
            for attachment_id in attachment_ids {
                let _ = carriers.remove((attachment_id.as_str(), message_id.as_str())).map_err(storage_error)?;
                let mut left = carriers.range((attachment_id.as_str(), "")..).map_err(storage_error)?;
                let carried = match left.next() {
                    Some(entry) => entry.map_err(storage_error)?.0.value().0 == attachment_id,
                    None => false,
                };
                if !carried {
                    uncarried.push(attachment_id);
                }
            }
            Ok(uncarried)
        })
        .await
    }

    async fn withdraw(&self, attachment_id: &str) -> Result<(), StoreError> {
        let attachment_id = attachment_id.to_owned();
        self.write(move |txn| {
            let mut table = txn.open_table(ATTACHMENTS).map_err(storage_error)?;
            let stored: Option<AttachmentRow> = table
                .get(attachment_id.as_str())
                .map_err(storage_error)?
                .map(|v| from_json("attachments", v.value()))
                .transpose()?;
            let Some(mut stored) = stored.filter(|row| row.status == AttachmentStatus::Available) else {
                return Ok(());
            };
            stored.status = AttachmentStatus::Withdrawn;
            let _ = table.insert(attachment_id.as_str(), to_json(&stored)?.as_slice()).map_err(storage_error)?;
            let mut listed = txn.open_table(CONVERSATION_ATTACHMENTS).map_err(storage_error)?;
            let _ = listed
                .remove((stored.conversation_id.as_str(), stored.attachment_id.as_str()))
                .map_err(storage_error)?;
            Ok(())
        })
        .await
    }
}

/// Up to `limit` attachments a listing (`(owner, attachment id)` keys) holds under `owner`, with
/// ids below `before`, newest first.
fn newest_listed(
    db: &redb::Database,
    listing: TableDefinition<'_, (&str, &str), ()>,
    owner: &str,
    before: &str,
    limit: usize,
) -> Result<Vec<AttachmentRow>, StoreError> {
    let txn = db.begin_read().map_err(storage_error)?;
    let listed = txn.open_table(listing).map_err(storage_error)?;
    let rows = txn.open_table(ATTACHMENTS).map_err(storage_error)?;
    let range = listed.range((owner, "")..(owner, before)).map_err(storage_error)?;
    let mut out = Vec::new();
    for entry in range.rev().take(limit.min(crate::MAX_PAGE_ROWS)) {
        let (key, _) = entry.map_err(storage_error)?;
        let (_, attachment_id) = key.value();
        if let Some(row) = rows.get(attachment_id).map_err(storage_error)? {
            out.push(from_json("attachments", row.value())?);
        }
    }
    Ok(out)
}
