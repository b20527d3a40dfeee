//! Data keys: what message content and attachment names are sealed under since erasure came,
//! one key per writer per place (conversation or group), kept here wrapped by the master key
//! and never on the log. Destroying a writer's keys makes everything they sealed unreadable
//! wherever a copy of it lies (the log, a replay, a read model): crypto-shredding.
//!
//! Not a read model: no projection writes it and a replay cannot rebuild it (it belongs to no
//! generation), like the claims. The use cases make keys; the eraser destroys them.
use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, Mutex, MutexGuard},
};

use async_trait::async_trait;

use crate::StoreError;

/// A data key as the store holds it: sealed by the master key, bound to its owner and place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrappedKey {
    /// The writer whose content it seals.
    pub owner_id: String,
    /// The conversation or group (or, for a writer's own things, their user id).
    pub place_id: String,
    pub wrapped: String,
    pub created_at_ms: i64,
}

/// Where data keys live.
#[async_trait]
pub trait DataKeyStore: Send + Sync + 'static {
    async fn ping(&self) -> Result<(), StoreError>;

    /// Keeps `key` unless its owner already has one for its place; answers the key that stands
    /// (the first one kept), or None when the owner is erased: nothing new is ever kept for them.
    async fn put_if_absent(&self, key: &WrappedKey) -> Result<Option<WrappedKey>, StoreError>;

    /// `owner_id`'s key for `place_id`; None when there is none or it was destroyed.
    async fn key(&self, owner_id: &str, place_id: &str) -> Result<Option<WrappedKey>, StoreError>;

    /// The places `owner_id` has keys for, in place order.
    async fn places(&self, owner_id: &str) -> Result<Vec<String>, StoreError>;

    /// Refuses every new key of `owner_id` from now on; their existing keys stay until
    /// [`DataKeyStore::destroy`]. Repeating it changes nothing.
    async fn mark_erased(&self, owner_id: &str) -> Result<(), StoreError>;

    /// Destroys every key of `owner_id` (after [`DataKeyStore::mark_erased`]); answers how many
    /// there were. Repeating it destroys nothing more.
    async fn destroy(&self, owner_id: &str) -> Result<usize, StoreError>;
}

/// Most keys one process keeps at hand; past it the cache starts over.
const CACHED_KEYS: usize = 50_000;

/// A process's data keys in front of the store: each is read once, and an erased owner's keys
/// are forgotten the moment this process reads their erasure, before the store has destroyed
/// them, and never read again. Cheap to clone.
#[derive(Clone)]
pub struct KeyCache {
    store: Arc<dyn DataKeyStore>,
    state: Arc<Mutex<CacheState>>,
}

#[derive(Default)]
struct CacheState {
    keys: HashMap<(String, String), WrappedKey>,
    /// Owners erased since this process started; before it, the eraser had destroyed them.
    erased: HashSet<String>,
}

impl KeyCache {
    pub fn new(store: Arc<dyn DataKeyStore>) -> Self {
        Self { store, state: Arc::default() }
    }

    pub fn store(&self) -> &Arc<dyn DataKeyStore> {
        &self.store
    }

    fn state(&self) -> MutexGuard<'_, CacheState> {
        // Plain maps: a panic while holding the lock leaves nothing half-done that matters.
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn cached(&self, owner_id: &str, place_id: &str) -> Result<Option<WrappedKey>, ()> {
        let state = self.state();
        if state.erased.contains(owner_id) {
            return Err(());
        }
        Ok(state.keys.get(&(owner_id.to_owned(), place_id.to_owned())).cloned())
    }

    fn remember(&self, key: &WrappedKey) {
        let mut state = self.state();
        if state.erased.contains(&key.owner_id) {
            return;
        }
        if state.keys.len() >= CACHED_KEYS {
            state.keys.clear();
        }
        let _ = state.keys.insert((key.owner_id.clone(), key.place_id.clone()), key.clone());
    }

    /// `owner_id`'s key for `place_id`, None when they have none or are erased.
    pub async fn key(&self, owner_id: &str, place_id: &str) -> Result<Option<WrappedKey>, StoreError> {
        match self.cached(owner_id, place_id) {
            Err(()) => return Ok(None),
            Ok(Some(key)) => return Ok(Some(key)),
            Ok(None) => {}
        }
        let key = self.store.key(owner_id, place_id).await?;
        if let Some(key) = &key {
            self.remember(key);
        }
        // Erased while the store was read: the answer may predate the destruction.
        Ok(key.filter(|key| self.cached(&key.owner_id, &key.place_id).is_ok()))
    }

    /// `key`'s owner's key for its place: `key` itself if it is the first, else the one that
    /// stands; None when the owner is erased.
    pub async fn key_or_keep(&self, key: &WrappedKey) -> Result<Option<WrappedKey>, StoreError> {
        if let Some(existing) = self.key(&key.owner_id, &key.place_id).await? {
            return Ok(Some(existing));
        }
        if self.cached(&key.owner_id, &key.place_id).is_err() {
            return Ok(None);
        }
        let stands = self.store.put_if_absent(key).await?;
        if let Some(stands) = &stands {
            self.remember(stands);
        }
        Ok(stands.filter(|key| self.cached(&key.owner_id, &key.place_id).is_ok()))
    }

    /// `owner_id` is erased: their keys are forgotten here and never read again.
    pub fn forget_owner(&self, owner_id: &str) {
        let mut state = self.state();
        state.keys.retain(|(owner, _), _| owner != owner_id);
        let _ = state.erased.insert(owner_id.to_owned());
    }
}
