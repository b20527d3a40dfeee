//! The attachment index on DynamoDB: `attachments` by id, and `conversation_attachments`, a copy
//! of each available attachment under its conversation or group, so listing is one Query.
use async_trait::async_trait;

use super::{
    DynamoStore, already_applied,
    groups::already_updated,
    items::{Item, get_n, get_opt_s, get_s, n, s},
    query, sdk_error,
};
use crate::{AttachmentRow, AttachmentStatus, AttachmentStore, StoreError};

fn attachment_item(row: &AttachmentRow) -> Item {
    let mut item = Item::from([
        ("attachment_id".to_owned(), s(&row.attachment_id)),
        ("kind".to_owned(), s(&row.kind)),
        ("conversation_id".to_owned(), s(&row.conversation_id)),
        ("uploader_id".to_owned(), s(&row.uploader_id)),
        ("uploader_username".to_owned(), s(&row.uploader_username)),
        ("file_name".to_owned(), s(&row.file_name)),
        ("content_type".to_owned(), s(&row.content_type)),
        ("size".to_owned(), n(row.size as i64)),
        ("declared_sha256".to_owned(), s(&row.declared_sha256)),
        ("upload_key".to_owned(), s(&row.upload_key)),
        ("status".to_owned(), s(row.status.as_str())),
        ("created_at_ms".to_owned(), n(row.created_at_ms)),
        ("expires_at_ms".to_owned(), n(row.expires_at_ms)),
    ]);
    let optional = [
        ("recipient_id", row.recipient_id.as_deref().map(s)),
        ("reason", row.reason.as_deref().map(s)),
        ("settled_at_ms", row.settled_at_ms.map(n)),
        ("group_offset", row.group_offset.map(|offset| n(offset as i64))),
    ];
    for (name, value) in optional {
        if let Some(value) = value {
            let _ = item.insert(name.to_owned(), value);
        }
    }
    item
}

fn attachment_from_item(item: &Item) -> Result<AttachmentRow, StoreError> {
    let status = get_s(item, "status")?;
    Ok(AttachmentRow {
        attachment_id: get_s(item, "attachment_id")?,
        kind: get_s(item, "kind")?,
        conversation_id: get_s(item, "conversation_id")?,
        recipient_id: get_opt_s(item, "recipient_id"),
        uploader_id: get_s(item, "uploader_id")?,
        uploader_username: get_s(item, "uploader_username")?,
        file_name: get_s(item, "file_name")?,
        content_type: get_s(item, "content_type")?,
        size: get_n(item, "size")? as u64,
        declared_sha256: get_s(item, "declared_sha256")?,
        upload_key: get_s(item, "upload_key")?,
        status: AttachmentStatus::parse(&status)
            .ok_or_else(|| StoreError::corrupt("attachments", format!("unknown status {status:?}")))?,
        reason: get_opt_s(item, "reason"),
        created_at_ms: get_n(item, "created_at_ms")?,
        expires_at_ms: get_n(item, "expires_at_ms")?,
        settled_at_ms: item.get("settled_at_ms").and_then(|v| v.as_n().ok()).and_then(|v| v.parse().ok()),
        group_offset: item.get("group_offset").and_then(|v| v.as_n().ok()).and_then(|v| v.parse().ok()),
    })
}

#[async_trait]
impl AttachmentStore for DynamoStore {
    async fn ping(&self) -> Result<(), StoreError> {
        self.all_active(&[
            &self.tables.attachments,
            &self.tables.conversation_attachments,
            &self.tables.pending_uploads,
            &self.tables.attachment_carriers,
        ])
        .await
    }

    async fn put_requested(&self, row: &AttachmentRow) -> Result<(), StoreError> {
        // The index first: an entry without its row is skipped by the query, a row without its
        // entry would escape the quota.
        already_applied(
            self.client
                .put_item()
                .table_name(&self.tables.pending_uploads)
                .item("uploader_id", s(&row.uploader_id))
                .item("attachment_id", s(&row.attachment_id))
                .send()
                .await,
        )?;
        already_applied(
            self.client
                .put_item()
                .table_name(&self.tables.attachments)
                .set_item(Some(attachment_item(row)))
                .condition_expression("attribute_not_exists(attachment_id)")
                .send()
                .await,
        )
    }

    async fn attachment(&self, attachment_id: &str) -> Result<Option<AttachmentRow>, StoreError> {
        let item = self.get_item(&self.tables.attachments, &[("attachment_id", attachment_id)]).await?;
        item.as_ref().map(attachment_from_item).transpose()
    }

    async fn settle(&self, row: &AttachmentRow) -> Result<(), StoreError> {
        let mut update = self
            .client
            .update_item()
            .table_name(&self.tables.attachments)
            .key("attachment_id", s(&row.attachment_id))
            .condition_expression("#status = :pending")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#settled", "settled_at_ms")
            .expression_attribute_values(":pending", s(AttachmentStatus::Pending.as_str()))
            .expression_attribute_values(":status", s(row.status.as_str()))
            .expression_attribute_values(":settled", n(row.settled_at_ms.unwrap_or_default()));
        update = match &row.reason {
            Some(reason) => update
                .update_expression("SET #status = :status, #settled = :settled, #reason = :reason")
                .expression_attribute_names("#reason", "reason")
                .expression_attribute_values(":reason", s(reason)),
            None => update.update_expression("SET #status = :status, #settled = :settled"),
        };
        already_updated(update.send().await)?;
        // The first verdict stands: list what is stored, not what this call brought.
        let Some(stored) = AttachmentStore::attachment(self, &row.attachment_id).await? else {
            return Ok(());
        };
        if stored.status != AttachmentStatus::Pending {
            let _ = self
                .client
                .delete_item()
                .table_name(&self.tables.pending_uploads)
                .key("uploader_id", s(&stored.uploader_id))
                .key("attachment_id", s(&stored.attachment_id))
                .send()
                .await
                .map_err(sdk_error)?;
        }
        if stored.status == AttachmentStatus::Available {
            already_applied(
                self.client
                    .put_item()
                    .table_name(&self.tables.conversation_attachments)
                    .set_item(Some(attachment_item(&stored)))
                    .send()
                    .await,
            )?;
        }
        Ok(())
    }

    async fn pending_uploads(&self, uploader_id: &str, limit: usize) -> Result<Vec<AttachmentRow>, StoreError> {
        let query = self
            .client
            .query()
            .table_name(&self.tables.pending_uploads)
            .key_condition_expression("uploader_id = :u")
            .expression_attribute_values(":u", s(uploader_id))
            .scan_index_forward(false)
            .consistent_read(true);
        let entries = query::up_to(query, limit).await?;
        let mut rows = Vec::new();
        for entry in &entries {
            let attachment_id = get_s(entry, "attachment_id")?;
            if let Some(row) = AttachmentStore::attachment(self, &attachment_id).await? {
                rows.push(row);
            }
        }
        Ok(rows)
    }

    async fn conversation_attachments(
        &self,
        conversation_id: &str,
        before: Option<&str>,
        limit: usize,
    ) -> Result<Vec<AttachmentRow>, StoreError> {
        let table = &self.tables.conversation_attachments;
        let items = self.newest_first(table, conversation_id, "attachment_id", before, limit).await?;
        items.iter().map(attachment_from_item).collect()
    }

    async fn carry(&self, message_id: &str, attachment_ids: &[String]) -> Result<(), StoreError> {
        for attachment_id in attachment_ids {
            let _ = self
                .client
                .put_item()
                .table_name(&self.tables.attachment_carriers)
                .item("attachment_id", s(attachment_id))
                .item("message_id", s(message_id))
                .send()
                .await
                .map_err(sdk_error)?;
        }
        Ok(())
    }

    async fn uncarry(&self, message_id: &str, attachment_ids: &[String]) -> Result<Vec<String>, StoreError> {
        let mut uncarried = Vec::new();
        for attachment_id in attachment_ids {
            let _ = self
                .client
                .delete_item()
                .table_name(&self.tables.attachment_carriers)
                .key("attachment_id", s(attachment_id))
                .key("message_id", s(message_id))
                .send()
                .await
                .map_err(sdk_error)?;
            let left = self
                .client
                .query()
                .table_name(&self.tables.attachment_carriers)
                .key_condition_expression("attachment_id = :a")
                .expression_attribute_values(":a", s(attachment_id))
                .consistent_read(true);
            if query::up_to(left, 1).await?.is_empty() {
                uncarried.push(attachment_id.clone());
            }
        }
        Ok(uncarried)
    }

    async fn withdraw(&self, attachment_id: &str) -> Result<(), StoreError> {
        already_updated(
            self.client
                .update_item()
                .table_name(&self.tables.attachments)
                .key("attachment_id", s(attachment_id))
                .condition_expression("#status = :available")
                .update_expression("SET #status = :withdrawn")
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":available", s(AttachmentStatus::Available.as_str()))
                .expression_attribute_values(":withdrawn", s(AttachmentStatus::Withdrawn.as_str()))
                .send()
                .await,
        )?;
        // The listing follows what is stored, so a repeat after a crash completes it.
        let Some(stored) = AttachmentStore::attachment(self, attachment_id).await? else { return Ok(()) };
        if stored.status == AttachmentStatus::Withdrawn {
            let _ = self
                .client
                .delete_item()
                .table_name(&self.tables.conversation_attachments)
                .key("conversation_id", s(&stored.conversation_id))
                .key("attachment_id", s(&stored.attachment_id))
                .send()
                .await
                .map_err(sdk_error)?;
        }
        Ok(())
    }
}
