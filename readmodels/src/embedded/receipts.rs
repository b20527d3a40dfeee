//! Receipt watermarks in the embedded store: one row per (conversation or group, reader).
use async_trait::async_trait;
use redb::{Database, ReadableTable, WriteTransaction};

use super::{EmbeddedStore, RECEIPTS, from_json, to_json};
use crate::{ReceiptAdvance, ReceiptRow, ReceiptStore, StoreError, error::storage_error};

pub(super) fn advance(txn: &WriteTransaction, advances: &[ReceiptAdvance]) -> Result<(), StoreError> {
    let mut table = txn.open_table(RECEIPTS).map_err(storage_error)?;
    for advance in advances {
        let key = (advance.conversation_id.as_str(), advance.user_id.as_str());
        let mut row: ReceiptRow = match table.get(key).map_err(storage_error)? {
            Some(v) => from_json("receipts", v.value())?,
            None => ReceiptRow {
                conversation_id: advance.conversation_id.clone(),
                user_id: advance.user_id.clone(),
                ..ReceiptRow::default()
            },
        };
        let before = row.clone();
        row.raise(advance);
        if row != before {
            let _ = table.insert(key, to_json(&row)?.as_slice()).map_err(storage_error)?;
        }
    }
    Ok(())
}

pub(super) fn of_conversation(db: &Database, conversation_id: &str) -> Result<Vec<ReceiptRow>, StoreError> {
    let txn = db.begin_read().map_err(storage_error)?;
    let table = txn.open_table(RECEIPTS).map_err(storage_error)?;
    table
        .range((conversation_id, "")..(conversation_id, super::AFTER_ALL_IDS))
        .map_err(storage_error)?
        .map(|entry| {
            let (_, v) = entry.map_err(storage_error)?;
            from_json("receipts", v.value())
        })
        .collect()
}

#[async_trait]
impl ReceiptStore for EmbeddedStore {
    async fn advance_receipts(&self, advances: &[ReceiptAdvance]) -> Result<(), StoreError> {
        let advances = advances.to_vec();
        self.write(move |txn| advance(txn, &advances)).await
    }

    async fn receipts(&self, conversation_id: &str) -> Result<Vec<ReceiptRow>, StoreError> {
        self.read(|db| of_conversation(db, conversation_id))
    }
}
