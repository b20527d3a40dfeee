//! Downloads are what a CDN, a media player and a resuming client need: attachments never change
//! once verified, so each is named by an `ETag`, cacheable privately while its URL lives, and
//! readable in byte ranges. The embedded store answers all of it itself; on S3 the bucket does
//! (checked here through s3s-fs, which serves ranges and tags but neither conditional GETs nor
//! `Accept-Ranges`, so those are checked where Confab answers them).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use confab_e2e::{Backend, Client, Deployment, backend_tests};
use reqwest::{StatusCode, header};
use serde_json::json;
use sha2::Digest;

fn file(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i as u8).wrapping_mul(17) ^ (i >> 9) as u8).collect()
}

async fn downloads_are_tagged_cacheable_and_ranged(backend: Backend) {
    let embedded = matches!(backend, Backend::Embedded);
    let deployment = Deployment::new(backend);
    let server = deployment.serve();
    let client = Client::new(&server.base_url);
    let (alice, bob) = (client.user("alice").await, client.user("bob").await);
    let video = file(200_000);
    let id = client.attachment(&alice, json!({ "recipient": "bob" }), &video).await;
    let ticket = client.get(&format!("/attachments/{id}"), Some(&bob.token)).await;
    assert_eq!(ticket.status, StatusCode::OK, "{}", ticket.body);
    let url = ticket.body["downloadUrl"].as_str().unwrap().to_owned();
    let http = reqwest::Client::new();
    let get = |headers: Vec<(header::HeaderName, String)>| {
        let mut request = http.get(&url);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        async move { request.send().await.expect("download") }
    };

    // Whole, with a tag and the range unit.
    let whole = get(vec![]).await;
    assert_eq!(whole.status(), StatusCode::OK);
    let etag = whole.headers().get(header::ETAG).expect("an ETag").to_str().unwrap().to_owned();
    if embedded {
        assert_eq!(whole.headers().get(header::ACCEPT_RANGES).map(|v| v.to_str().unwrap()), Some("bytes"));
        assert_eq!(etag, format!("\"{}\"", hex::encode(sha2::Sha256::digest(&video))), "the tag is the SHA-256");
        let cache = whole.headers().get(header::CACHE_CONTROL).unwrap().to_str().unwrap().to_owned();
        let max_age: u64 = cache
            .strip_prefix("private, max-age=")
            .and_then(|rest| rest.strip_suffix(", immutable"))
            .unwrap_or_else(|| panic!("cache-control {cache}"))
            .parse()
            .unwrap();
        assert!(max_age > 0 && max_age <= 300, "no longer than the URL lives: {max_age}");
    } else {
        // S3 answers with what the signed URL asks it to say.
        let signed = reqwest::Url::parse(&url).unwrap();
        let asked = signed.query_pairs().find(|(k, _)| k == "response-cache-control").map(|(_, v)| v.into_owned());
        let asked = asked.expect("the URL asks S3 for a Cache-Control");
        assert!(asked.starts_with("private, max-age=") && asked.ends_with(", immutable"), "{asked}");
    }
    assert_eq!(whole.bytes().await.unwrap(), video);

    // A seek into the middle, across a sealed chunk's edge; the tail; a suffix longer than the file.
    for (range, expected) in [
        ("bytes=65500-65599", 65_500..65_600),
        ("bytes=199900-", 199_900..200_000),
        ("bytes=-100", 199_900..200_000),
        ("bytes=0-0", 0..1),
        ("bytes=150000-999999", 150_000..200_000),
    ] {
        let part = get(vec![(header::RANGE, range.to_owned())]).await;
        assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT, "{range}");
        let content_range = part.headers().get(header::CONTENT_RANGE).unwrap().to_str().unwrap().to_owned();
        assert_eq!(content_range, format!("bytes {}-{}/200000", expected.start, expected.end - 1), "{range}");
        assert_eq!(part.bytes().await.unwrap(), video[expected], "{range}");
    }

    // Past the end: 416, saying how long the object is.
    let beyond = get(vec![(header::RANGE, "bytes=200000-".to_owned())]).await;
    assert_eq!(beyond.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    if embedded {
        let content_range = beyond.headers().get(header::CONTENT_RANGE).unwrap().to_str().unwrap().to_owned();
        assert_eq!(content_range, "bytes */200000");
        let body: serde_json::Value = beyond.json().await.unwrap();
        assert_eq!(body["error"]["code"], "range_not_satisfiable");

        // The client's copy is current: nothing to send, the same tag and caching.
        let cached = get(vec![(header::IF_NONE_MATCH, etag.clone())]).await;
        assert_eq!(cached.status(), StatusCode::NOT_MODIFIED);
        assert_eq!(cached.headers().get(header::ETAG).unwrap().to_str().unwrap(), etag);
        assert!(cached.headers().get(header::CACHE_CONTROL).is_some());
        assert!(cached.bytes().await.unwrap().is_empty());
        let stale = get(vec![(header::IF_NONE_MATCH, "\"something-else\"".to_owned())]).await;
        assert_eq!(stale.status(), StatusCode::OK);

        // Resuming a partial copy: the rest if it is this object, everything if not.
        let resume = get(vec![(header::RANGE, "bytes=100000-".to_owned()), (header::IF_RANGE, etag.clone())]).await;
        assert_eq!(resume.status(), StatusCode::PARTIAL_CONTENT);
        assert_eq!(resume.bytes().await.unwrap(), video[100_000..]);
        let other =
            get(vec![(header::RANGE, "bytes=100000-".to_owned()), (header::IF_RANGE, "\"x\"".to_owned())]).await;
        assert_eq!(other.status(), StatusCode::OK);
        assert_eq!(other.bytes().await.unwrap(), video);

        // Malformed ranges are refused the same way; several ranges are answered whole.
        let malformed = get(vec![(header::RANGE, "bytes=abc".to_owned())]).await;
        assert_eq!(malformed.status(), StatusCode::RANGE_NOT_SATISFIABLE);
        let several = get(vec![(header::RANGE, "bytes=0-1,5-6".to_owned())]).await;
        assert_eq!(several.status(), StatusCode::OK);
        assert_eq!(several.bytes().await.unwrap(), video);

        // A ranged or conditional request still needs the signature.
        let unsigned = url.split('?').next().unwrap().to_owned();
        let refused = http.get(&unsigned).header(header::RANGE, "bytes=0-9").send().await.unwrap();
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    }
}

backend_tests!(downloads_are_tagged_cacheable_and_ranged);

/// The URL CloudFront would rebuild the policy from, checked as CloudFront checks it: the canned
/// policy over the URL without its signing parameters, the RSA-SHA1 signature with the public key,
/// the key pair id; then the expiry. None when the signature does not verify.
fn verify_cloudfront_url(url: &str, public_pem: &[u8]) -> Option<(String, String, u64)> {
    use openssl::{hash::MessageDigest, pkey::PKey, sign::Verifier};
    let (resource, query) = url.split_once('?').expect("a query");
    let params: Vec<(&str, &str)> = query.split('&').map(|p| p.split_once('=').expect("name=value")).collect();
    let names: Vec<&str> = params.iter().map(|(name, _)| *name).collect();
    assert_eq!(names, ["Expires", "Signature", "Key-Pair-Id"], "{url}");
    let expires: u64 = params[0].1.parse().unwrap();
    let policy = format!(
        r#"{{"Statement":[{{"Resource":"{resource}","Condition":{{"DateLessThan":{{"AWS:EpochTime":{expires}}}}}}}]}}"#
    );
    let signature: String = params[1]
        .1
        .chars()
        .map(|c| match c {
            '-' => '+',
            '_' => '=',
            '~' => '/',
            c => c,
        })
        .collect();
    let signature = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, signature).unwrap();
    let public = PKey::public_key_from_pem(public_pem).unwrap();
    let mut verifier = Verifier::new(MessageDigest::sha1(), &public).unwrap();
    verifier.update(policy.as_bytes()).unwrap();
    verifier.verify(&signature).unwrap().then(|| (resource.to_owned(), params[2].1.to_owned(), expires))
}

/// Kafka + DynamoDB + S3 only (CloudFront fronts a bucket): with `--cdn-*`, a download ticket is
/// a CloudFront signed URL for the same object, valid as long as the download TTL.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn downloads_can_go_through_cloudfront_signed_urls() {
    let Some(backend) = Backend::kafka_dynamodb("downloads_can_go_through_cloudfront_signed_urls") else { return };
    let rsa = openssl::rsa::Rsa::generate(2048).unwrap();
    let private = String::from_utf8(rsa.private_key_to_pem().unwrap()).unwrap();
    let mut deployment = Deployment::new(backend);
    let _ = deployment
        .env("CONFAB_CDN_URL", "https://d111111abcdef8.cloudfront.net")
        .env("CONFAB_CDN_KEY_PAIR_ID", "K2JCJMDEHXQW5F")
        .env("CONFAB_CDN_PRIVATE_KEY", &private)
        .env("CONFAB_ATTACHMENT_DOWNLOAD_TTL_SECS", "120");
    let server = deployment.serve();
    let client = Client::new(&server.base_url);
    let (alice, bob) = (client.user("alice").await, client.user("bob").await);
    let id = client.attachment(&alice, json!({ "recipient": "bob" }), &file(1000)).await;
    let ticket = client.get(&format!("/attachments/{id}"), Some(&bob.token)).await;
    assert_eq!(ticket.status, StatusCode::OK, "{}", ticket.body);
    let url = ticket.body["downloadUrl"].as_str().unwrap();
    let public = rsa.public_key_to_pem().unwrap();
    let (resource, key_pair_id, expires) = verify_cloudfront_url(url, &public).expect("the signature verifies");
    // A signature is for one object and one expiry.
    assert_eq!(verify_cloudfront_url(&url.replace(&id, &uuid::Uuid::now_v7().to_string()), &public), None);
    let later = url.replacen(&format!("Expires={expires}"), &format!("Expires={}", expires + 3600), 1);
    assert_eq!(verify_cloudfront_url(&later, &public), None);
    assert!(resource.starts_with("https://d111111abcdef8.cloudfront.net/attachments/"), "{resource}");
    assert!(resource.ends_with(&id), "the object's own path: {resource}");
    assert_eq!(key_pair_id, "K2JCJMDEHXQW5F");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    assert!((now + 100..=now + 121).contains(&expires), "expires with the download TTL: {expires} at {now}");
    let said = chrono::DateTime::parse_from_rfc3339(ticket.body["expiresAt"].as_str().unwrap()).unwrap();
    assert!((said.timestamp() as u64).abs_diff(expires) <= 2, "the ticket's expiresAt is the URL's");

    // The other uses of the store still go to S3: a new upload URL is S3's.
    let upload = client.request_upload(&alice, json!({ "recipient": "bob" }), b"abc", b"abc").await;
    assert!(!upload.body["uploadUrl"].as_str().unwrap().contains("cloudfront"), "{}", upload.body);
}

/// A CDN in front of the embedded store makes no sense: it signs URLs of its own.
#[test]
fn the_embedded_store_refuses_a_cdn() {
    let mut deployment = Deployment::new(Backend::Embedded);
    let _ = deployment
        .env("CONFAB_CDN_URL", "https://d111111abcdef8.cloudfront.net")
        .env("CONFAB_CDN_KEY_PAIR_ID", "K2JCJMDEHXQW5F")
        .env("CONFAB_CDN_PRIVATE_KEY", "/nonexistent.pem");
    let stderr = deployment.refused(deployment.command(&["serve", "--listen", "127.0.0.1:0"]));
    assert!(stderr.contains("--cdn-url fronts an S3 bucket"), "{stderr}");
}
