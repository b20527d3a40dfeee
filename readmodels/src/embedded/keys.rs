//! Data keys in a redb file of their own (`data/keys.redb`): they belong to no generation of
//! read models, and a key and its owner's erasure change in one transaction.
use std::{path::Path, sync::Arc};

use async_trait::async_trait;
use redb::{Database, ReadableTable, TableDefinition};

use crate::{DataKeyStore, StoreError, WrappedKey, embedded::on_blocking_pool, error::storage_error};

/// (owner id, place id) -> (wrapped key, created at).
const KEYS: TableDefinition<'_, (&str, &str), (&str, i64)> = TableDefinition::new("data_keys");
/// owner id -> (): owners whose keys are refused.
const ERASED: TableDefinition<'_, &str, ()> = TableDefinition::new("erased_owners");

#[derive(Clone)]
pub struct EmbeddedKeys {
    db: Arc<Database>,
}

impl EmbeddedKeys {
    /// Opens or creates the key store at `path`. Blocks on disk.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let db = Database::create(path).map_err(storage_error)?;
        let txn = db.begin_write().map_err(storage_error)?;
        {
            let _ = txn.open_table(KEYS).map_err(storage_error)?;
            let _ = txn.open_table(ERASED).map_err(storage_error)?;
        }
        txn.commit().map_err(storage_error)?;
        Ok(Self { db: Arc::new(db) })
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Database) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        on_blocking_pool(&self.db, f).await
    }
}

fn key_of(owner_id: &str, place_id: &str, (wrapped, created_at_ms): (&str, i64)) -> WrappedKey {
    WrappedKey {
        owner_id: owner_id.to_owned(),
        place_id: place_id.to_owned(),
        wrapped: wrapped.to_owned(),
        created_at_ms,
    }
}

#[async_trait]
impl DataKeyStore for EmbeddedKeys {
    async fn ping(&self) -> Result<(), StoreError> {
        self.blocking(|db| db.begin_read().map(drop).map_err(storage_error)).await
    }

    async fn put_if_absent(&self, key: &WrappedKey) -> Result<Option<WrappedKey>, StoreError> {
        let key = key.clone();
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(storage_error)?;
            let stands = {
                let erased = txn.open_table(ERASED).map_err(storage_error)?;
                let mut keys = txn.open_table(KEYS).map_err(storage_error)?;
                let id = (key.owner_id.as_str(), key.place_id.as_str());
                if erased.get(key.owner_id.as_str()).map_err(storage_error)?.is_some() {
                    None
                } else if let Some(existing) = keys.get(id).map_err(storage_error)? {
                    Some(key_of(&key.owner_id, &key.place_id, existing.value()))
                } else {
                    let _ = keys.insert(id, (key.wrapped.as_str(), key.created_at_ms)).map_err(storage_error)?;
                    Some(key.clone())
                }
            };
            txn.commit().map_err(storage_error)?;
            Ok(stands)
        })
        .await
    }

    async fn key(&self, owner_id: &str, place_id: &str) -> Result<Option<WrappedKey>, StoreError> {
        let txn = self.db.begin_read().map_err(storage_error)?;
        let keys = txn.open_table(KEYS).map_err(storage_error)?;
        let found = keys.get((owner_id, place_id)).map_err(storage_error)?;
        Ok(found.map(|v| key_of(owner_id, place_id, v.value())))
    }

    async fn places(&self, owner_id: &str) -> Result<Vec<String>, StoreError> {
        let txn = self.db.begin_read().map_err(storage_error)?;
        let keys = txn.open_table(KEYS).map_err(storage_error)?;
        let mut places = Vec::new();
        for entry in keys.range((owner_id, "")..).map_err(storage_error)? {
            let (key, _) = entry.map_err(storage_error)?;
            let (owner, place) = key.value();
            if owner != owner_id {
                break;
            }
            places.push(place.to_owned());
        }
        Ok(places)
    }

    async fn mark_erased(&self, owner_id: &str) -> Result<(), StoreError> {
        let owner_id = owner_id.to_owned();
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(storage_error)?;
            {
                let mut erased = txn.open_table(ERASED).map_err(storage_error)?;
                let _ = erased.insert(owner_id.as_str(), ()).map_err(storage_error)?;
            }
            txn.commit().map_err(storage_error)
        })
        .await
    }

    async fn destroy(&self, owner_id: &str) -> Result<usize, StoreError> {
        let places = self.places(owner_id).await?;
        let owner_id = owner_id.to_owned();
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(storage_error)?;
            {
                let mut keys = txn.open_table(KEYS).map_err(storage_error)?;
                for place in &places {
                    let _ = keys.remove((owner_id.as_str(), place.as_str())).map_err(storage_error)?;
                }
            }
            txn.commit().map_err(storage_error)?;
            Ok(places.len())
        })
        .await
    }
}
