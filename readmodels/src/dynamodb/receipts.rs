//! Receipt watermarks on DynamoDB: one item per (conversation or group, reader), each watermark
//! raised by a conditional update, so redelivered or out-of-date receipts change nothing.
use super::{
    DynamoStore,
    groups::{all, already_updated},
    items::{Item, get_s, n, s},
};
use crate::{ReceiptAdvance, ReceiptRow, ReceiptStatus, ReceiptStore, SeenAdvance, StoreError};
use async_trait::async_trait;

fn get_opt_seq(item: &Item, name: &str) -> Option<u64> {
    item.get(name).and_then(|v| v.as_n().ok()).and_then(|v| v.parse().ok())
}

pub(crate) fn receipt_from_item(item: &Item) -> Result<ReceiptRow, StoreError> {
    Ok(ReceiptRow {
        conversation_id: get_s(item, "conversation_id")?,
        user_id: get_s(item, "user_id")?,
        delivered_seq: get_opt_seq(item, "delivered_seq"),
        read_seq: get_opt_seq(item, "read_seq"),
        seen_seq: get_opt_seq(item, "seen_seq"),
        seen_ordinal: get_opt_seq(item, "seen_ordinal").unwrap_or(0),
    })
}

impl DynamoStore {
    async fn raise(&self, advance: &ReceiptAdvance, attribute: &str) -> Result<(), StoreError> {
        already_updated(
            self.client
                .update_item()
                .table_name(&self.tables.receipts)
                .key("conversation_id", s(&advance.conversation_id))
                .key("user_id", s(&advance.user_id))
                .update_expression("SET #w = :s")
                .condition_expression("attribute_not_exists(#w) OR #w < :s")
                .expression_attribute_names("#w", attribute)
                .expression_attribute_values(":s", n(advance.seq as i64))
                .send()
                .await,
        )
    }

    pub(super) async fn advance_receipts(&self, advances: &[ReceiptAdvance]) -> Result<(), StoreError> {
        let writes = advances.iter().flat_map(|advance| {
            let read = (advance.status == ReceiptStatus::Read).then(|| self.raise(advance, "read_seq"));
            std::iter::once(self.raise(advance, "delivered_seq")).chain(read)
        });
        all(writes.collect()).await
    }

    /// Raises the seen watermark and its ordinal together, in one conditional update.
    async fn see(&self, advance: &SeenAdvance) -> Result<(), StoreError> {
        already_updated(
            self.client
                .update_item()
                .table_name(&self.tables.receipts)
                .key("conversation_id", s(&advance.place_id))
                .key("user_id", s(&advance.user_id))
                .update_expression("SET seen_seq = :s, seen_ordinal = :o")
                .condition_expression("attribute_not_exists(seen_seq) OR seen_seq < :s")
                .expression_attribute_values(":s", n(advance.seq as i64))
                .expression_attribute_values(":o", n(advance.ordinal as i64))
                .send()
                .await,
        )
    }

    pub(super) async fn receipts(&self, conversation_id: &str) -> Result<Vec<ReceiptRow>, StoreError> {
        let items = self.query_all(&self.tables.receipts, "conversation_id", conversation_id).await?;
        items.iter().map(receipt_from_item).collect()
    }
}

#[async_trait]
impl ReceiptStore for DynamoStore {
    async fn advance_receipts(&self, advances: &[ReceiptAdvance]) -> Result<(), StoreError> {
        DynamoStore::advance_receipts(self, advances).await
    }

    async fn receipts(&self, conversation_id: &str) -> Result<Vec<ReceiptRow>, StoreError> {
        DynamoStore::receipts(self, conversation_id).await
    }

    async fn advance_seen(&self, advances: &[SeenAdvance]) -> Result<(), StoreError> {
        all(advances.iter().map(|advance| self.see(advance)).collect()).await
    }

    async fn receipt(&self, place_id: &str, user_id: &str) -> Result<Option<ReceiptRow>, StoreError> {
        let key = [("conversation_id", place_id), ("user_id", user_id)];
        self.get_item(&self.tables.receipts, &key).await?.as_ref().map(receipt_from_item).transpose()
    }
}
