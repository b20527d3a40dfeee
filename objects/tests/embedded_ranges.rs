//! The embedded store reads any byte range of an object by opening only the chunks it covers,
//! and knows the object's SHA-256 without reading it.
#![allow(clippy::unwrap_used, clippy::expect_used)]
use std::collections::HashMap;

use bytes::Bytes;
use confab_objects::{
    ObjectStore,
    embedded::{AtRestKeys, EmbeddedObjects},
};
use futures::TryStreamExt;
use sha2::{Digest, Sha256};

const CHUNK: u64 = 64 * 1024;

fn store(root: &std::path::Path) -> EmbeddedObjects {
    let keys = AtRestKeys { current: "k1".into(), keys: HashMap::from([("k1".to_owned(), [7; 32])]) };
    EmbeddedObjects::open(root, keys, [9; 32]).unwrap()
}

async fn read_range(objects: &EmbeddedObjects, key: &str, range: std::ops::Range<u64>) -> Vec<u8> {
    let object = objects.object(key).await.unwrap().unwrap();
    let pieces: Vec<Bytes> = object.bytes(range).try_collect().await.unwrap();
    pieces.concat()
}

#[tokio::test]
async fn any_range_reads_exactly_its_bytes_and_the_digest_is_known_up_front() {
    let root = tempfile::tempdir().unwrap();
    let objects = store(root.path());
    let size = 3 * CHUNK + 123;
    let body: Vec<u8> = (0..size).map(|i| (i % 253) as u8 ^ (i >> 16) as u8).collect();
    let chunks = futures::stream::iter(body.chunks(10_000).map(|c| Ok::<_, std::io::Error>(Bytes::copy_from_slice(c))));
    objects.write("attachments/a1", size, "image/png", chunks).await.unwrap();

    let object = objects.object("attachments/a1").await.unwrap().unwrap();
    assert_eq!(object.sha256(), Some(<[u8; 32]>::from(Sha256::digest(&body))));
    assert_eq!(objects.sha256("attachments/a1").await.unwrap(), <[u8; 32]>::from(Sha256::digest(&body)));
    assert_eq!(object.meta().size, size);

    let edges = [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK, 3 * CHUNK, size - 1, size];
    for &start in &edges {
        for &end in &edges {
            if start < end {
                let got = read_range(&objects, "attachments/a1", start..end).await;
                assert_eq!(got, body[start as usize..end as usize], "{start}..{end}");
            }
        }
    }
    assert_eq!(read_range(&objects, "attachments/a1", 0..size).await, body);
}

#[tokio::test]
async fn a_damaged_chunk_ends_a_range_read_with_an_error() {
    let root = tempfile::tempdir().unwrap();
    let objects = store(root.path());
    let body = vec![42u8; (2 * CHUNK) as usize];
    let chunks = futures::stream::iter([Ok::<_, std::io::Error>(Bytes::from(body.clone()))]);
    objects.write("attachments/a2", body.len() as u64, "text/plain", chunks).await.unwrap();
    let path = root.path().join("attachments/a2");
    let mut file = std::fs::read(&path).unwrap();
    let last = file.len() - 20;
    file[last] ^= 1;
    std::fs::write(&path, file).unwrap();

    assert_eq!(read_range(&objects, "attachments/a2", 0..10).await, vec![42u8; 10], "chunk 0 is intact");
    let object = objects.object("attachments/a2").await.unwrap().unwrap();
    let read: Result<Vec<Bytes>, _> = object.bytes(CHUNK..CHUNK + 10).try_collect().await;
    assert!(read.is_err(), "chunk 1 does not authenticate");
}
