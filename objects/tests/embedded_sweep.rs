//! The embedded store's sweep: half-written uploads and scratch objects past their time go,
//! verified objects stay.
#![allow(clippy::unwrap_used, clippy::expect_used)]
use std::{collections::HashMap, time::Duration};

use bytes::Bytes;
use confab_objects::{
    ObjectStore,
    embedded::{AtRestKeys, EmbeddedObjects},
};

async fn stored(objects: &EmbeddedObjects, key: &str, body: &'static [u8]) {
    let chunks = futures::stream::iter([Ok::<_, std::io::Error>(Bytes::from_static(body))]);
    objects.write(key, body.len() as u64, "text/plain", chunks).await.unwrap();
}

#[tokio::test]
async fn the_sweep_removes_stale_uploads_and_partials_and_keeps_verified_objects() {
    let root = tempfile::tempdir().unwrap();
    let keys = AtRestKeys { current: "k1".into(), keys: HashMap::from([("k1".to_owned(), [7; 32])]) };
    let objects = EmbeddedObjects::open(root.path(), keys, [9; 32]).unwrap();
    stored(&objects, "uploads/a1", b"never verified").await;
    stored(&objects, "attachments/a2", b"verified").await;
    // What a crash in the middle of an upload leaves.
    std::fs::write(root.path().join(".partial").join("cut-off"), b"half").unwrap();

    assert_eq!(objects.sweep("uploads/", Duration::from_secs(86_400)).await.unwrap(), 0, "nothing is a day old");
    assert!(objects.head("uploads/a1").await.unwrap().is_some());

    assert_eq!(objects.sweep("uploads/", Duration::ZERO).await.unwrap(), 2);
    assert_eq!(objects.head("uploads/a1").await.unwrap(), None);
    assert!(!root.path().join(".partial").join("cut-off").exists());
    assert!(objects.head("attachments/a2").await.unwrap().is_some(), "verified objects stay");
    assert_eq!(objects.sweep("uploads/", Duration::ZERO).await.unwrap(), 0);
}

#[tokio::test]
async fn small_objects_are_put_and_got_whole_and_sealed() {
    let root = tempfile::tempdir().unwrap();
    let keys = AtRestKeys { current: "k1".into(), keys: HashMap::from([("k1".to_owned(), [7; 32])]) };
    let objects = EmbeddedObjects::open(root.path(), keys, [9; 32]).unwrap();
    assert_eq!(objects.get("rejected/a1").await.unwrap(), None);
    objects.put("rejected/a1", b"sha256 differs".to_vec(), "text/plain").await.unwrap();
    objects.put("rejected/a1", b"size differs".to_vec(), "text/plain").await.unwrap();
    assert_eq!(objects.get("rejected/a1").await.unwrap().as_deref(), Some(b"size differs".as_slice()), "replaced");
    let on_disk = std::fs::read(root.path().join("rejected/a1")).unwrap();
    assert!(!on_disk.windows(12).any(|w| w == b"size differs"), "sealed at rest");
    assert!(objects.get("../a1").await.is_err(), "keys are checked");
}
