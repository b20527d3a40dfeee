//! The data-key store keeps the first key of each (owner, place), refuses every key of an
//! erased owner, and destroys what an owner had; a cache in front forgets an erased owner at
//! once. On the embedded store, and on DynamoDB when `CONFAB_TEST_DYNAMODB` is set.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use confab_readmodels::{
    DataKeyStore, KeyCache, WrappedKey,
    dynamodb::{DynamoConfig, DynamoStore},
    embedded::EmbeddedKeys,
};

fn key(owner: &str, place: &str, wrapped: &str) -> WrappedKey {
    WrappedKey { owner_id: owner.into(), place_id: place.into(), wrapped: wrapped.into(), created_at_ms: 7 }
}

async fn keeps_first_keys_and_destroys_an_erased_owners(store: Arc<dyn DataKeyStore>) {
    store.ping().await.unwrap();
    assert_eq!(store.put_if_absent(&key("alice", "c1", "w1")).await.unwrap(), Some(key("alice", "c1", "w1")));
    // A second writer racing for the same key gets the first one.
    assert_eq!(store.put_if_absent(&key("alice", "c1", "w2")).await.unwrap(), Some(key("alice", "c1", "w1")));
    assert_eq!(store.put_if_absent(&key("alice", "g1", "w3")).await.unwrap(), Some(key("alice", "g1", "w3")));
    assert_eq!(store.put_if_absent(&key("bob", "c1", "w4")).await.unwrap(), Some(key("bob", "c1", "w4")));
    assert_eq!(store.key("alice", "c1").await.unwrap(), Some(key("alice", "c1", "w1")));
    assert_eq!(store.key("alice", "c2").await.unwrap(), None);
    assert_eq!(store.places("alice").await.unwrap(), ["c1", "g1"]);

    let cache = KeyCache::new(Arc::clone(&store));
    assert_eq!(cache.key("alice", "c1").await.unwrap(), Some(key("alice", "c1", "w1")));
    cache.forget_owner("alice");
    assert_eq!(cache.key("alice", "c1").await.unwrap(), None, "an erased owner's key is not served from the cache");
    assert_eq!(cache.key_or_keep(&key("alice", "c9", "w9")).await.unwrap(), None);
    assert_eq!(cache.key("bob", "c1").await.unwrap(), Some(key("bob", "c1", "w4")));

    store.mark_erased("alice").await.unwrap();
    assert_eq!(store.put_if_absent(&key("alice", "c3", "w5")).await.unwrap(), None, "an erased owner gets no key");
    assert_eq!(store.destroy("alice").await.unwrap(), 2);
    assert_eq!(store.destroy("alice").await.unwrap(), 0, "destroying again destroys nothing");
    store.mark_erased("alice").await.unwrap();
    assert_eq!(store.key("alice", "c1").await.unwrap(), None);
    assert_eq!(store.key("alice", "c3").await.unwrap(), None);
    assert!(store.places("alice").await.unwrap().is_empty());
    assert_eq!(store.key("bob", "c1").await.unwrap(), Some(key("bob", "c1", "w4")), "others keep theirs");
}

#[tokio::test]
async fn embedded_keys() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedKeys::open(&dir.path().join("keys.redb")).unwrap();
    keeps_first_keys_and_destroys_an_erased_owners(Arc::new(store)).await;
}

#[tokio::test]
async fn dynamodb_keys() {
    let Ok(endpoint) = std::env::var("CONFAB_TEST_DYNAMODB") else {
        assert!(std::env::var("CONFAB_TEST_REQUIRE_EXTERNAL").as_deref() != Ok("1"), "CONFAB_TEST_DYNAMODB is not set");
        eprintln!("SKIPPED dynamodb_keys: CONFAB_TEST_DYNAMODB is not set");
        return;
    };
    let namespace = format!("keys{}.", std::process::id());
    let config =
        DynamoConfig { endpoint: Some(endpoint), namespace, generation: None, fresh: false, create_tables: true };
    let store = DynamoStore::connect(&config).await.unwrap();
    keeps_first_keys_and_destroys_an_erased_owners(Arc::new(store)).await;
}
