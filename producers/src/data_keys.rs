//! The data keys content is sealed under: one per writer per place, made on first use, kept
//! wrapped in the key store ([`confab_readmodels::DataKeyStore`]) before anything sealed under
//! it reaches the log, and destroyed when the writer's account is erased.
use std::sync::Arc;

use confab_readmodels::{KeyCache, WrappedKey};

use crate::{ChatError, DataKey, Keyring, now_ms};

/// Data keys by writer and place. Cheap to clone.
#[derive(Clone)]
pub struct DataKeys {
    keyring: Arc<Keyring>,
    cache: KeyCache,
}

impl DataKeys {
    pub fn new(keyring: Arc<Keyring>, cache: KeyCache) -> Self {
        Self { keyring, cache }
    }

    /// What this process knows of the keys: an erased owner is forgotten through it.
    pub fn cache(&self) -> &KeyCache {
        &self.cache
    }

    /// `owner_id`'s key for `place_id`, made and kept first if they have none. An erased owner
    /// seals nothing more.
    pub async fn for_sealing(&self, owner_id: &str, place_id: &str) -> Result<DataKey, ChatError> {
        let wrapped = match self.cache.key(owner_id, place_id).await? {
            Some(wrapped) => wrapped,
            None => {
                let fresh = DataKey::generate();
                let candidate = WrappedKey {
                    owner_id: owner_id.to_owned(),
                    place_id: place_id.to_owned(),
                    wrapped: self.keyring.wrap(&fresh, owner_id, place_id).map_err(ChatError::internal)?,
                    created_at_ms: now_ms(),
                };
                self.cache.key_or_keep(&candidate).await?.ok_or_else(|| {
                    ChatError::forbidden("account_deleted", "this account is deleted: it writes nothing more")
                })?
            }
        };
        self.unwrap(&wrapped)
    }

    /// `owner_id`'s key for `place_id`; None once it is destroyed (their account was erased).
    pub async fn for_opening(&self, owner_id: &str, place_id: &str) -> Result<Option<DataKey>, ChatError> {
        match self.cache.key(owner_id, place_id).await? {
            Some(wrapped) => Ok(Some(self.unwrap(&wrapped)?)),
            None => Ok(None),
        }
    }

    fn unwrap(&self, wrapped: &WrappedKey) -> Result<DataKey, ChatError> {
        self.keyring.unwrap_key(&wrapped.wrapped, &wrapped.owner_id, &wrapped.place_id).map_err(ChatError::internal)
    }
}
