//! The S3 adapter against a real S3 server that checks SigV4 signatures (s3s-fs, started by
//! `scripts/test`): what it signs is exactly what a client may do.
#![allow(clippy::unwrap_used, clippy::expect_used)]
use std::time::Duration;

use confab_objects::{
    ObjectStore, UploadTerms,
    s3::{S3Config, S3Objects},
};
use sha2::{Digest, Sha256};

async fn store() -> Option<S3Objects> {
    let Ok(endpoint) = std::env::var("CONFAB_TEST_S3") else {
        assert!(std::env::var("CONFAB_TEST_REQUIRE_EXTERNAL").is_err(), "CONFAB_TEST_S3 is not set");
        eprintln!("skipped: CONFAB_TEST_S3 is not set");
        return None;
    };
    let bucket = format!("confab-objects-test-{}", uuid::Uuid::new_v4().simple());
    Some(
        S3Objects::connect(&S3Config {
            bucket,
            endpoint: Some(endpoint),
            public_endpoint: None,
            scratch_prefix: Some("uploads/".into()),
            encryption: confab_objects::s3::Encryption::Aes256,
            create_bucket: true,
        })
        .await
        .expect("s3 reachable"),
    )
}

fn put(url: &str, headers: &[(String, String)], body: Vec<u8>) -> reqwest::RequestBuilder {
    let mut request = reqwest::Client::new().put(url).body(body);
    for (name, value) in headers {
        request = request.header(name, value);
    }
    request
}

#[tokio::test]
async fn presigned_urls_allow_exactly_what_was_signed() {
    let Some(store) = store().await else { return };
    store.ping().await.unwrap();
    let body: Vec<u8> = (0..100_000u32).map(|i| (i % 253) as u8).collect();
    let terms = UploadTerms {
        key: "uploads/a1",
        size: body.len() as u64,
        content_type: "image/png",
        expires_in: Duration::from_secs(60),
    };
    let upload = store.presign_put(&terms).await.unwrap();
    assert_eq!(upload.method, "PUT");

    let shorter = put(&upload.url, &upload.headers, body[1..].to_vec()).send().await.unwrap();
    assert_eq!(shorter.status(), 403, "another size");
    let other_type: Vec<_> = upload
        .headers
        .iter()
        .map(|(k, v)| (k.clone(), if k == "content-type" { "text/plain".to_owned() } else { v.clone() }))
        .collect();
    let retyped = put(&upload.url, &other_type, body.clone()).send().await.unwrap();
    assert_eq!(retyped.status(), 403, "another content type");
    let tampered = upload.url.replace("uploads/a1", "uploads/a2");
    assert_eq!(put(&tampered, &upload.headers, body.clone()).send().await.unwrap().status(), 403);
    assert_eq!(store.head("uploads/a1").await.unwrap(), None, "nothing stored by refused requests");

    let stored = put(&upload.url, &upload.headers, body.clone()).send().await.unwrap();
    assert!(stored.status().is_success(), "{}", stored.text().await.unwrap());
    let meta = store.head("uploads/a1").await.unwrap().unwrap();
    assert_eq!(meta.size, body.len() as u64);
    assert_eq!(meta.content_type.as_deref(), Some("image/png"));
    store.copy("uploads/a1", "attachments/a1").await.unwrap();
    assert_eq!(store.sha256("attachments/a1").await.unwrap(), <[u8; 32]>::from(Sha256::digest(&body)));

    let download = store.presign_get("attachments/a1", Duration::from_secs(60)).await.unwrap();
    let fetched = reqwest::get(&download.url).await.unwrap();
    assert_eq!(fetched.status(), 200);
    assert_eq!(fetched.bytes().await.unwrap().as_ref(), body.as_slice());
    let tampered = download.url.replace("attachments/a1", "uploads/a1");
    assert_eq!(reqwest::get(&tampered).await.unwrap().status(), 403);

    let expiring = store.presign_get("attachments/a1", Duration::from_secs(1)).await.unwrap();
    // Waiting out the clock is the point: the URL carries its own expiry (whole seconds).
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(reqwest::get(&expiring.url).await.unwrap().status(), 403, "expired");
    assert_eq!(store.head("uploads/none").await.unwrap(), None);

    store.delete("uploads/a1").await.unwrap();
    assert_eq!(store.head("uploads/a1").await.unwrap(), None, "deleted");
    store.delete("uploads/a1").await.unwrap();
    assert!(store.head("attachments/a1").await.unwrap().is_some(), "the copy stays");
}

#[tokio::test]
async fn small_objects_are_put_and_got_whole() {
    let Some(store) = store().await else { return };
    assert_eq!(store.get("rejected/a1").await.unwrap(), None);
    store.put("rejected/a1", b"sha256 differs".to_vec(), "text/plain").await.unwrap();
    store.put("rejected/a1", b"size differs".to_vec(), "text/plain").await.unwrap();
    assert_eq!(store.get("rejected/a1").await.unwrap().as_deref(), Some(b"size differs".as_slice()), "replaced");
    assert_eq!(store.head("rejected/a1").await.unwrap().map(|m| m.size), Some(12));
    store.delete("rejected/a1").await.unwrap();
    assert_eq!(store.get("rejected/a1").await.unwrap(), None);
}
