//! Counts of what each client holds (connections, requests in flight), each taken by a slot
//! that gives it back when dropped. A client holding nothing has no entry, so the table is never
//! larger than what is held.
use std::{
    collections::HashMap,
    hash::Hash,
    sync::{Arc, Mutex, PoisonError},
};

/// How many of something each key holds.
#[derive(Debug)]
pub(crate) struct Tally<K: Eq + Hash + Clone> {
    held: Mutex<HashMap<K, usize>>,
}

impl<K: Eq + Hash + Clone> Default for Tally<K> {
    fn default() -> Self {
        Self { held: Mutex::new(HashMap::new()) }
    }
}

impl<K: Eq + Hash + Clone> Tally<K> {
    /// One more for `key`, unless it holds `max` already.
    pub(crate) fn take(self: &Arc<Self>, key: K, max: usize) -> Option<Slot<K>> {
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        let count = held.entry(key.clone()).or_insert(0);
        if *count >= max {
            return None;
        }
        *count += 1;
        Some(Slot { tally: Arc::clone(self), key })
    }

    /// What `key` holds now.
    #[cfg(test)]
    pub(crate) fn held(&self, key: &K) -> usize {
        self.held.lock().unwrap_or_else(PoisonError::into_inner).get(key).copied().unwrap_or(0)
    }

    fn give_back(&self, key: &K) {
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = held.get_mut(key) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                let _ = held.remove(key);
            }
        }
    }
}

/// One unit a key holds, until dropped.
#[derive(Debug)]
pub(crate) struct Slot<K: Eq + Hash + Clone> {
    tally: Arc<Tally<K>>,
    key: K,
}

impl<K: Eq + Hash + Clone> Drop for Slot<K> {
    fn drop(&mut self) {
        self.tally.give_back(&self.key);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_key_holds_at_most_max_and_gets_slots_back_when_they_drop() {
        let tally = Arc::new(Tally::default());
        let first = tally.take("a", 2).unwrap();
        let second = tally.take("a", 2).unwrap();
        assert!(tally.take("a", 2).is_none());
        assert!(tally.take("b", 2).is_some(), "another key has its own count");
        drop(first);
        assert_eq!(tally.held(&"a"), 1);
        let _third = tally.take("a", 2).unwrap();
        drop(second);
        drop(_third);
        assert_eq!(tally.held(&"a"), 0);
        assert!(tally.held.lock().unwrap().is_empty(), "nothing held, nothing kept");
    }
}
