//! Receipt watermarks in the embedded store: one row per (conversation or group, reader).
use async_trait::async_trait;
use redb::{Database, ReadableTable, WriteTransaction};

use super::{EmbeddedStore, RECEIPTS, from_json, to_json};
use crate::{ReceiptAdvance, ReceiptRow, ReceiptStore, SeenAdvance, StoreError, error::storage_error};

pub(super) fn advance(txn: &WriteTransaction, advances: &[ReceiptAdvance]) -> Result<(), StoreError> {
    for advance in advances {
        update(txn, &advance.conversation_id, &advance.user_id, |row| row.raise(advance))?;
    }
    Ok(())
}

fn see(txn: &WriteTransaction, advances: &[SeenAdvance]) -> Result<(), StoreError> {
    for advance in advances {
        update(txn, &advance.place_id, &advance.user_id, |row| row.see(advance))?;
    }
    Ok(())
}

/// Changes one reader's row (a new one if there is none) by `change`; writes it if it changed.
fn update(
    txn: &WriteTransaction,
    place_id: &str,
    user_id: &str,
    change: impl FnOnce(&mut ReceiptRow),
) -> Result<(), StoreError> {
    let mut table = txn.open_table(RECEIPTS).map_err(storage_error)?;
    let key = (place_id, user_id);
    let mut row: ReceiptRow = match table.get(key).map_err(storage_error)? {
        Some(v) => from_json("receipts", v.value())?,
        None => {
            ReceiptRow { conversation_id: place_id.to_owned(), user_id: user_id.to_owned(), ..ReceiptRow::default() }
        }
    };
    let before = row.clone();
    change(&mut row);
    if row != before {
        let _ = table.insert(key, to_json(&row)?.as_slice()).map_err(storage_error)?;
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

    async fn advance_seen(&self, advances: &[SeenAdvance]) -> Result<(), StoreError> {
        let advances = advances.to_vec();
        self.write(move |txn| see(txn, &advances)).await
    }

    async fn receipt(&self, place_id: &str, user_id: &str) -> Result<Option<ReceiptRow>, StoreError> {
        self.read(|db| {
            let txn = db.begin_read().map_err(storage_error)?;
            let table = txn.open_table(RECEIPTS).map_err(storage_error)?;
            let row = table.get((place_id, user_id)).map_err(storage_error)?;
            row.map(|v| from_json("receipts", v.value())).transpose()
        })
    }
}
