//! Live sessions in the embedded store, by user.
use async_trait::async_trait;
use redb::{ReadableTable, TableDefinition, WriteTransaction};

use super::{AFTER_ALL_IDS, EmbeddedStore, from_json, to_json};
use crate::{MAX_PAGE_ROWS, SessionChange, SessionRow, SessionStore, StoreError, error::storage_error};

/// (user id, session id) -> SessionRow.
pub(super) const SESSIONS: TableDefinition<'_, (&str, &str), &[u8]> = TableDefinition::new("sessions");

#[async_trait]
impl SessionStore for EmbeddedStore {
    async fn ping(&self) -> Result<(), StoreError> {
        self.check().await
    }

    async fn apply_session_changes(&self, changes: &[SessionChange]) -> Result<(), StoreError> {
        let changes = changes.to_vec();
        self.write(move |txn| changes.iter().try_for_each(|change| apply(txn, change))).await
    }

    async fn session(&self, user_id: &str, session_id: &str) -> Result<Option<SessionRow>, StoreError> {
        self.read(|db| {
            let txn = db.begin_read().map_err(storage_error)?;
            let table = txn.open_table(SESSIONS).map_err(storage_error)?;
            let row = table.get((user_id, session_id)).map_err(storage_error)?;
            row.map(|v| from_json("sessions", v.value())).transpose()
        })
    }

    async fn sessions_of(&self, user_id: &str) -> Result<Vec<SessionRow>, StoreError> {
        self.read(|db| {
            let txn = db.begin_read().map_err(storage_error)?;
            let table = txn.open_table(SESSIONS).map_err(storage_error)?;
            let range = table.range((user_id, "")..(user_id, AFTER_ALL_IDS)).map_err(storage_error)?;
            range
                .take(MAX_PAGE_ROWS)
                .map(|entry| {
                    let (_, value) = entry.map_err(storage_error)?;
                    from_json("sessions", value.value())
                })
                .collect()
        })
    }
}

fn apply(txn: &WriteTransaction, change: &SessionChange) -> Result<(), StoreError> {
    let mut table = txn.open_table(SESSIONS).map_err(storage_error)?;
    match change {
        SessionChange::Started(row) => {
            let key = (row.user_id.as_str(), row.session_id.as_str());
            if table.get(key).map_err(storage_error)?.is_none() {
                let _ = table.insert(key, to_json(row)?.as_slice()).map_err(storage_error)?;
            }
        }
        SessionChange::Refreshed {
            user_id,
            session_id,
            retired_hash,
            refresh_token_hash,
            refresh_expires_at_ms,
            seen_at_ms,
        } => {
            let key = (user_id.as_str(), session_id.as_str());
            let current =
                table.get(key).map_err(storage_error)?.map(|v| from_json::<SessionRow>("sessions", v.value()));
            if let Some(mut row) = current.transpose()?
                && row.refresh_token_hash == *retired_hash
            {
                row.refresh_token_hash.clone_from(refresh_token_hash);
                row.refresh_expires_at_ms = *refresh_expires_at_ms;
                row.last_seen_ms = *seen_at_ms;
                let _ = table.insert(key, to_json(&row)?.as_slice()).map_err(storage_error)?;
            }
        }
        SessionChange::Ended { user_id, session_id } => {
            let _ = table.remove((user_id.as_str(), session_id.as_str())).map_err(storage_error)?;
        }
        SessionChange::OthersEnded { user_id, kept, before_offset } => {
            let mut ended = Vec::new();
            for entry in
                table.range((user_id.as_str(), "")..(user_id.as_str(), AFTER_ALL_IDS)).map_err(storage_error)?
            {
                let (key, value) = entry.map_err(storage_error)?;
                let row: SessionRow = from_json("sessions", value.value())?;
                if row.started_offset < *before_offset && kept.as_deref() != Some(key.value().1) {
                    ended.push(row.session_id);
                }
            }
            for session_id in &ended {
                let _ = table.remove((user_id.as_str(), session_id.as_str())).map_err(storage_error)?;
            }
        }
    }
    Ok(())
}
