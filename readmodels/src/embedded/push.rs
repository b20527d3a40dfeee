//! Push targets and mutes in the embedded store, by user.
use async_trait::async_trait;
use redb::{ReadableTable, TableDefinition};

use super::{AFTER_ALL_IDS, EmbeddedStore, from_json, to_json};
use crate::{MAX_PAGE_ROWS, MuteRow, PushStore, PushTargetRow, StoreError, error::storage_error};

/// (user id, device id) -> PushTargetRow.
pub(super) const PUSH_TARGETS: TableDefinition<'_, (&str, &str), &[u8]> = TableDefinition::new("push_targets");
/// (user id, place id) -> MuteRow.
pub(super) const MUTES: TableDefinition<'_, (&str, &str), &[u8]> = TableDefinition::new("mutes");

#[async_trait]
impl PushStore for EmbeddedStore {
    async fn ping(&self) -> Result<(), StoreError> {
        self.check().await
    }

    async fn put_push_target(&self, target: &PushTargetRow) -> Result<(), StoreError> {
        let target = target.clone();
        self.write(move |txn| {
            let mut table = txn.open_table(PUSH_TARGETS).map_err(storage_error)?;
            let key = (target.user_id.as_str(), target.device_id.as_str());
            let _ = table.insert(key, to_json(&target)?.as_slice()).map_err(storage_error)?;
            Ok(())
        })
        .await
    }

    async fn remove_push_target(
        &self,
        user_id: &str,
        device_id: &str,
        registration: Option<&str>,
    ) -> Result<(), StoreError> {
        let (user_id, device_id, registration) =
            (user_id.to_owned(), device_id.to_owned(), registration.map(str::to_owned));
        self.write(move |txn| {
            let mut table = txn.open_table(PUSH_TARGETS).map_err(storage_error)?;
            let key = (user_id.as_str(), device_id.as_str());
            let current: Option<PushTargetRow> =
                table.get(key).map_err(storage_error)?.map(|v| from_json("push_targets", v.value())).transpose()?;
            let removes = match (&current, &registration) {
                (Some(current), Some(registration)) => current.event_id == *registration,
                (current, None) => current.is_some(),
                (None, Some(_)) => false,
            };
            if removes {
                let _ = table.remove(key).map_err(storage_error)?;
            }
            Ok(())
        })
        .await
    }

    async fn remove_push_targets_of(&self, user_id: &str, session_id: Option<&str>) -> Result<(), StoreError> {
        let (user_id, session_id) = (user_id.to_owned(), session_id.map(str::to_owned));
        self.write(move |txn| {
            let mut table = txn.open_table(PUSH_TARGETS).map_err(storage_error)?;
            let mut gone = Vec::new();
            for entry in
                table.range((user_id.as_str(), "")..(user_id.as_str(), AFTER_ALL_IDS)).map_err(storage_error)?
            {
                let (key, value) = entry.map_err(storage_error)?;
                let row: PushTargetRow = from_json("push_targets", value.value())?;
                if session_id.as_ref().is_none_or(|session| *session == row.session_id) {
                    gone.push(key.value().1.to_owned());
                }
            }
            for device in gone {
                let _ = table.remove((user_id.as_str(), device.as_str())).map_err(storage_error)?;
            }
            Ok(())
        })
        .await
    }

    async fn push_targets(&self, user_id: &str) -> Result<Vec<PushTargetRow>, StoreError> {
        self.read(|db| {
            let txn = db.begin_read().map_err(storage_error)?;
            let table = txn.open_table(PUSH_TARGETS).map_err(storage_error)?;
            let range = table.range((user_id, "")..(user_id, AFTER_ALL_IDS)).map_err(storage_error)?;
            range
                .take(MAX_PAGE_ROWS)
                .map(|entry| from_json("push_targets", entry.map_err(storage_error)?.1.value()))
                .collect()
        })
    }

    async fn put_mute(&self, mute: &MuteRow) -> Result<(), StoreError> {
        let mute = mute.clone();
        self.write(move |txn| {
            let mut table = txn.open_table(MUTES).map_err(storage_error)?;
            let key = (mute.user_id.as_str(), mute.place_id.as_str());
            let _ = table.insert(key, to_json(&mute)?.as_slice()).map_err(storage_error)?;
            Ok(())
        })
        .await
    }

    async fn lift_mute(&self, user_id: &str, place_id: &str) -> Result<(), StoreError> {
        let (user_id, place_id) = (user_id.to_owned(), place_id.to_owned());
        self.write(move |txn| {
            let mut table = txn.open_table(MUTES).map_err(storage_error)?;
            let _ = table.remove((user_id.as_str(), place_id.as_str())).map_err(storage_error)?;
            Ok(())
        })
        .await
    }

    async fn mute(&self, user_id: &str, place_id: &str) -> Result<Option<MuteRow>, StoreError> {
        self.read(|db| {
            let txn = db.begin_read().map_err(storage_error)?;
            let table = txn.open_table(MUTES).map_err(storage_error)?;
            let value = table.get((user_id, place_id)).map_err(storage_error)?;
            value.map(|v| from_json("mutes", v.value())).transpose()
        })
    }

    async fn mutes(&self, user_id: &str) -> Result<Vec<MuteRow>, StoreError> {
        self.read(|db| {
            let txn = db.begin_read().map_err(storage_error)?;
            let table = txn.open_table(MUTES).map_err(storage_error)?;
            let range = table.range((user_id, "")..(user_id, AFTER_ALL_IDS)).map_err(storage_error)?;
            range.take(MAX_PAGE_ROWS).map(|entry| from_json("mutes", entry.map_err(storage_error)?.1.value())).collect()
        })
    }
}
