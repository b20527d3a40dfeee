//! Attachments: pre-signed uploads and downloads (confab's own signed URLs on the embedded
//! backend, SigV4 on S3, checked by a server that verifies them), the indexer's verdict, and
//! attachments riding messages into history and over WebSocket.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use confab_e2e::{Backend, Client, Deployment, Socket, backend_tests};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Bytes that are not all alike, so a shifted or truncated copy never passes for them.
fn file(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed) ^ (i >> 8) as u8).collect()
}

/// `GET` without following anything: the status a URL answers.
async fn status_of_get(url: &str) -> StatusCode {
    reqwest::get(url).await.unwrap().status()
}

async fn attachments_round_trip_byte_for_byte_and_ride_messages(backend: Backend) {
    let deployment = Deployment::new(backend);
    let server = deployment.serve();
    let client = Client::new(&server.base_url);
    let (alice, bob, carol) = (client.user("alice").await, client.user("bob").await, client.user("carol").await);
    let mut bob_phone = Socket::connect(&server.base_url, &bob.token, None).await;

    // Direct: a file bigger than one sealed chunk, sent without text.
    let photo = file(200_000, 1);
    let id = client.attachment(&alice, json!({ "recipient": "bob" }), &photo).await;
    let sent = client.post("/chat/send", Some(&alice.token), json!({ "recipient": "bob", "attachments": [id] })).await;
    assert_eq!(sent.status, StatusCode::OK, "{}", sent.body);
    let frame = bob_phone.next_of("message").await;
    assert_eq!(frame["messageId"], sent.body["messageId"]);
    let expected = json!([{
        "attachmentId": id,
        "fileName": "photo \u{1f4f7}.png",
        "contentType": "image/png",
        "size": photo.len(),
        "sha256": hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&photo)),
    }]);
    assert_eq!(frame["attachments"], expected);
    let history = client.full_history(&bob, "alice").await;
    assert_eq!(history.last().unwrap()["attachments"], expected);
    assert_eq!(history.last().unwrap()["content"], "");
    assert_eq!(client.download(&bob, &id).await, photo, "the recipient gets the very bytes");
    assert_eq!(client.download(&alice, &id).await, photo, "and so does the uploader");

    // Strangers and unknown ids.
    let stranger = client.get(&format!("/attachments/{id}"), Some(&carol.token)).await;
    assert_eq!((stranger.status, stranger.error_code()), (StatusCode::FORBIDDEN, "not_a_participant"));
    let unknown = client.get(&format!("/attachments/{}", uuid::Uuid::now_v7()), Some(&bob.token)).await;
    assert_eq!((unknown.status, unknown.error_code()), (StatusCode::NOT_FOUND, "attachment_not_found"));
    assert_eq!(client.get("/attachments/not-a-uuid", Some(&bob.token)).await.status, StatusCode::NOT_FOUND);
    assert_eq!(client.get(&format!("/attachments/{id}"), None).await.status, StatusCode::UNAUTHORIZED);

    // Groups: members only, with text beside the file.
    let group = client.group(&alice, "climbing", &["bob"]).await;
    let _ = bob_phone.next_of("group").await;
    let topo = file(1000, 2);
    let group_file = client.attachment(&bob, json!({ "groupId": group }), &topo).await;
    let body = json!({ "message": "the new topo", "attachments": [group_file] });
    let sent = client.post(&format!("/groups/{group}/send"), Some(&bob.token), body).await;
    assert_eq!(sent.status, StatusCode::OK, "{}", sent.body);
    let entry = client.group_history(&alice, &group).await.pop().unwrap();
    assert_eq!(entry["content"], "the new topo");
    assert_eq!(entry["attachments"][0]["attachmentId"], group_file.as_str());
    assert_eq!(client.download(&alice, &group_file).await, topo);
    let outsider = client.get(&format!("/attachments/{group_file}"), Some(&carol.token)).await;
    assert_eq!(outsider.status, StatusCode::FORBIDDEN);
    let outsider_list = client.get(&format!("/groups/{group}/attachments"), Some(&carol.token)).await;
    assert_eq!(outsider_list.status, StatusCode::FORBIDDEN);
    let unknown_group = client.get(&format!("/groups/{}/attachments", uuid::Uuid::now_v7()), Some(&alice.token)).await;
    assert_eq!(unknown_group.status, StatusCode::NOT_FOUND);
    let request = client.request_upload(&carol, json!({ "groupId": group }), b"x", b"x").await;
    assert_eq!((request.status, request.error_code()), (StatusCode::FORBIDDEN, "not_a_member"));

    // "Media and files": newest first, paged, each conversation its own.
    let mut ids = vec![id.clone()];
    for seed in 3..6 {
        ids.push(client.attachment(&bob, json!({ "recipient": "alice" }), &file(10, seed)).await);
    }
    let first = client.get("/chat/attachments?recipient=bob&limit=3", Some(&alice.token)).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    let listed: Vec<&str> =
        first.body["attachments"].as_array().unwrap().iter().map(|a| a["attachmentId"].as_str().unwrap()).collect();
    assert_eq!(listed, [ids[3].as_str(), ids[2].as_str(), ids[1].as_str()]);
    assert_eq!(first.body["attachments"][0]["status"], "available");
    assert_eq!(first.body["attachments"][0]["uploader"], "bob");
    let cursor = first.body["nextCursor"].as_str().unwrap();
    let second =
        client.get(&format!("/chat/attachments?recipient=bob&limit=3&before={cursor}"), Some(&alice.token)).await;
    assert_eq!(second.body["attachments"][0]["attachmentId"], id.as_str());
    assert_eq!(second.body["nextCursor"], Value::Null);
    let from_bob = client.get("/chat/attachments?recipient=alice", Some(&bob.token)).await;
    assert_eq!(from_bob.body["attachments"].as_array().unwrap().len(), 4);
    let carols = client.get("/chat/attachments?recipient=alice", Some(&carol.token)).await;
    assert_eq!(carols.body["attachments"], json!([]));
    let group_list = client.get(&format!("/groups/{group}/attachments"), Some(&alice.token)).await;
    assert_eq!(group_list.body["attachments"][0]["attachmentId"], group_file.as_str());
    assert_eq!(group_list.body["attachments"][0]["groupId"], group.as_str());

    // A member added later sees the group's media from then on, as with its messages.
    assert_eq!(client.add_member(&alice, &group, "carol").await.status, StatusCode::OK);
    let late = client.get(&format!("/groups/{group}/attachments"), Some(&carol.token)).await;
    assert_eq!(late.body["attachments"], json!([]), "{}", late.body);
    let carols = client.attachment(&carol, json!({ "groupId": group }), b"from carol").await;
    for viewer in [&carol, &alice] {
        let list = client.get(&format!("/groups/{group}/attachments"), Some(&viewer.token)).await;
        assert_eq!(list.body["attachments"][0]["attachmentId"], carols.as_str());
    }
    let carols_view = client.get(&format!("/groups/{group}/attachments"), Some(&carol.token)).await;
    assert_eq!(carols_view.body["attachments"].as_array().unwrap().len(), 1);
}

async fn urls_allow_exactly_what_was_signed(backend: Backend) {
    let deployment = Deployment::new(backend);
    let server = deployment.serve();
    let client = Client::new(&server.base_url);
    let (alice, bob) = (client.user("alice").await, client.user("bob").await);
    let bytes = file(5000, 7);
    let ticket = client.request_upload(&alice, json!({ "recipient": "bob" }), &bytes, &bytes).await;
    assert_eq!(ticket.status, StatusCode::CREATED, "{}", ticket.body);
    let id = ticket.body["attachmentId"].as_str().unwrap().to_owned();
    let url = ticket.body["uploadUrl"].as_str().unwrap().to_owned();

    // Confab's own URLs tell a wrong body (400) from a wrong URL (403); S3 signs both into one.
    let wrong_body = if deployment.is_embedded() { StatusCode::BAD_REQUEST } else { StatusCode::FORBIDDEN };
    let shorter = client.upload(&ticket.body, bytes[1..].to_vec()).await;
    assert_eq!(shorter.status(), wrong_body, "shorter");
    let longer = client.upload(&ticket.body, [bytes.clone(), vec![0]].concat()).await;
    assert_eq!(longer.status(), wrong_body, "longer");
    let mut retyped = ticket.body.clone();
    retyped["uploadHeaders"]["content-type"] = json!("text/html");
    assert_eq!(client.upload(&retyped, bytes.clone()).await.status(), wrong_body, "another type");

    // Another attachment's URL does not open this one's object, nor does a changed signature.
    let other = client.request_upload(&alice, json!({ "recipient": "bob" }), &bytes, &bytes).await;
    let other_id = other.body["attachmentId"].as_str().unwrap();
    let mut moved = ticket.body.clone();
    moved["uploadUrl"] = json!(url.replace(&id, other_id));
    assert_eq!(client.upload(&moved, bytes.clone()).await.status(), StatusCode::FORBIDDEN);
    let mut tampered = ticket.body.clone();
    let last = url.chars().last().unwrap();
    tampered["uploadUrl"] = json!(format!("{}{}", &url[..url.len() - 1], if last == '0' { '1' } else { '0' }));
    assert_eq!(client.upload(&tampered, bytes.clone()).await.status(), StatusCode::FORBIDDEN);

    // Nothing refused was stored: the attachment cannot be sent yet.
    let early = client.post("/chat/send", Some(&alice.token), json!({ "recipient": "bob", "attachments": [id] })).await;
    assert_eq!((early.status, early.error_code()), (StatusCode::BAD_REQUEST, "attachment_not_uploaded"));
    let not_yet = client.get(&format!("/attachments/{id}"), Some(&bob.token)).await;
    assert_eq!((not_yet.status, not_yet.error_code()), (StatusCode::CONFLICT, "attachment_not_available"));

    // The signed request goes through, and sending it reports the upload.
    let stored = client.upload(&ticket.body, bytes.clone()).await;
    assert!(stored.status().is_success(), "{}", stored.status());
    let sent = client.post("/chat/send", Some(&alice.token), json!({ "recipient": "bob", "attachments": [id] })).await;
    assert_eq!(sent.status, StatusCode::OK, "{}", sent.body);
    assert_eq!(client.download(&bob, &id).await, bytes);

    // A download URL is for its object only.
    let download = client.get(&format!("/attachments/{id}"), Some(&bob.token)).await;
    let download_url = download.body["downloadUrl"].as_str().unwrap();
    assert_eq!(status_of_get(&download_url.replace(&id, other_id)).await, StatusCode::FORBIDDEN);
    let unsigned = download_url.split('?').next().unwrap();
    assert_eq!(status_of_get(unsigned).await, StatusCode::FORBIDDEN);
}

async fn upload_and_download_urls_expire(backend: Backend) {
    let mut deployment = Deployment::new(backend);
    let _ = deployment.env("CONFAB_ATTACHMENT_UPLOAD_TTL_SECS", "3").env("CONFAB_ATTACHMENT_DOWNLOAD_TTL_SECS", "1");
    let server = deployment.serve();
    let client = Client::new(&server.base_url);
    let (alice, bob) = (client.user("alice").await, client.user("bob").await);
    let bytes = file(100, 9);
    let id = client.attachment(&alice, json!({ "recipient": "bob" }), &bytes).await;
    let late = client.request_upload(&alice, json!({ "recipient": "bob" }), &bytes, &bytes).await;
    let download = client.get(&format!("/attachments/{id}"), Some(&bob.token)).await;
    assert_eq!(download.status, StatusCode::OK);

    // Waiting out the clock is the point here: the URLs carry their expiry (whole seconds).
    let until = epoch_ms(&download.body["expiresAt"]).max(epoch_ms(&late.body["expiresAt"]));
    let wait = u64::try_from(until - chrono::Utc::now().timestamp_millis()).unwrap_or(0) + 1200;
    tokio::time::sleep(Duration::from_millis(wait)).await;
    assert_eq!(client.upload(&late.body, bytes.clone()).await.status(), StatusCode::FORBIDDEN, "expired upload");
    assert_eq!(status_of_get(download.body["downloadUrl"].as_str().unwrap()).await, StatusCode::FORBIDDEN);
    // A fresh ticket works again. Its URL lives one second from a whole-second signing time, so
    // on a busy machine the fetch may come too late: a new ticket is asked for until one is
    // fetched in time.
    let mut fetched = None;
    for _ in 0..20 {
        let ticket = client.get(&format!("/attachments/{id}"), Some(&bob.token)).await;
        assert_eq!(ticket.status, StatusCode::OK, "{}", ticket.body);
        let response = reqwest::get(ticket.body["downloadUrl"].as_str().unwrap()).await.unwrap();
        if response.status() == StatusCode::OK {
            fetched = Some(response.bytes().await.unwrap().to_vec());
            break;
        }
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "too late is the only refusal");
    }
    assert_eq!(fetched, Some(bytes), "a fresh ticket downloads the file");
}

fn epoch_ms(rfc3339: &Value) -> i64 {
    chrono::DateTime::parse_from_rfc3339(rfc3339.as_str().unwrap()).unwrap().timestamp_millis()
}

async fn the_indexer_rejects_bytes_that_differ_from_their_declaration(backend: Backend) {
    let deployment = Deployment::new(backend);
    let server = deployment.serve();
    let client = Client::new(&server.base_url);
    let (alice, bob) = (client.user("alice").await, client.user("bob").await);
    let declared = file(3000, 1);
    let actual = file(3000, 2);
    let ticket = client.request_upload(&alice, json!({ "recipient": "bob" }), &actual, &declared).await;
    assert_eq!(ticket.status, StatusCode::CREATED);
    let id = ticket.body["attachmentId"].as_str().unwrap();
    assert!(client.upload(&ticket.body, actual).await.status().is_success());

    let complete = client.post(&format!("/attachments/{id}/complete"), Some(&alice.token), json!({})).await;
    assert_eq!((complete.status, complete.error_code()), (StatusCode::BAD_REQUEST, "attachment_rejected"));
    assert!(complete.body["error"]["message"].as_str().unwrap().contains("sha256"), "{}", complete.body);
    let send = client.post("/chat/send", Some(&alice.token), json!({ "recipient": "bob", "attachments": [id] })).await;
    assert_eq!((send.status, send.error_code()), (StatusCode::BAD_REQUEST, "attachment_rejected"));
    let download = client.get(&format!("/attachments/{id}"), Some(&bob.token)).await;
    assert_eq!(download.status, StatusCode::CONFLICT);
    let listed = client.get("/chat/attachments?recipient=alice", Some(&bob.token)).await;
    assert_eq!(listed.body["attachments"], json!([]));
    // Only the uploader reports an upload; the verdict stands.
    let by_bob = client.post(&format!("/attachments/{id}/complete"), Some(&bob.token), json!({})).await;
    assert_eq!(by_bob.status, StatusCode::FORBIDDEN);
    let again = client.post(&format!("/attachments/{id}/complete"), Some(&alice.token), json!({})).await;
    assert_eq!(again.error_code(), "attachment_rejected");
}

async fn verified_bytes_are_kept_once_and_the_upload_is_spent(backend: Backend) {
    let deployment = Deployment::new(backend);
    let server = deployment.serve();
    let client = Client::new(&server.base_url);
    let (alice, _bob) = (client.user("alice").await, client.user("bob").await);
    let bytes = file(5000, 7);
    let ticket = client.request_upload(&alice, json!({ "recipient": "bob" }), &bytes, &bytes).await;
    assert_eq!(ticket.status, StatusCode::CREATED);
    let id = ticket.body["attachmentId"].as_str().unwrap().to_owned();
    let (Some(upload), Some(stored)) =
        (deployment.object_file(&format!("uploads/{id}")), deployment.object_file(&format!("attachments/{id}")))
    else {
        panic!("CONFAB_TEST_S3_DIR is needed to see what the S3 server stores");
    };
    assert!(client.upload(&ticket.body, bytes.clone()).await.status().is_success());
    assert!(upload.exists() && !stored.exists(), "uploaded, not verified yet");

    let complete = client.post(&format!("/attachments/{id}/complete"), Some(&alice.token), json!({})).await;
    assert_eq!(complete.status, StatusCode::OK, "{}", complete.body);
    assert!(!upload.exists(), "the upload is discarded once its copy is verified");
    assert!(stored.exists());
    assert_eq!(client.download(&alice, &id).await, bytes);

    // The upload URL has not expired. Confab's own refuses to store bytes nobody would read; on
    // S3 the signature alone decides, and the bucket's lifecycle rule expires them.
    let again = client.upload(&ticket.body, bytes.clone()).await;
    if deployment.is_embedded() {
        assert_eq!(again.status(), StatusCode::CONFLICT);
        let body: Value = again.json().await.unwrap();
        assert_eq!(body["error"]["code"], "attachment_settled");
        assert!(!upload.exists());
    }
    assert_eq!(client.download(&alice, &id).await, bytes, "what was verified is what is served");

    // A rejected upload is discarded too.
    let ticket = client.request_upload(&alice, json!({ "recipient": "bob" }), &bytes, b"other bytes").await;
    let id = ticket.body["attachmentId"].as_str().unwrap().to_owned();
    assert!(client.upload(&ticket.body, bytes.clone()).await.status().is_success());
    let complete = client.post(&format!("/attachments/{id}/complete"), Some(&alice.token), json!({})).await;
    assert_eq!(complete.error_code(), "attachment_rejected");
    assert!(!deployment.object_file(&format!("uploads/{id}")).unwrap().exists());
    assert!(!deployment.object_file(&format!("attachments/{id}")).unwrap().exists(), "its bytes are deleted");
    assert!(deployment.object_file(&format!("rejected/{id}")).unwrap().exists(), "its verdict stays");
}

async fn requests_and_sends_are_validated(backend: Backend) {
    let deployment = Deployment::new(backend);
    let server = deployment.serve();
    let client = Client::new(&server.base_url);
    let (alice, bob, carol) = (client.user("alice").await, client.user("bob").await, client.user("carol").await);
    let valid = json!({ "fileName": "a.txt", "contentType": "text/plain", "size": 3, "sha256": "ab".repeat(32), "recipient": "bob" });
    let cases = [
        ("fileName", json!(""), "invalid_file_name"),
        ("fileName", json!("../etc/passwd"), "invalid_file_name"),
        ("fileName", json!("x".repeat(256)), "invalid_file_name"),
        ("contentType", json!("nonsense"), "invalid_content_type"),
        ("contentType", json!("text/plain\r\nx: y"), "invalid_content_type"),
        ("size", json!(0), "invalid_size"),
        ("size", json!(100 * 1024 * 1024 + 1), "invalid_size"),
        ("sha256", json!("xyz"), "invalid_sha256"),
        ("groupId", json!(uuid::Uuid::now_v7()), "invalid_target"),
    ];
    for (field, value, code) in cases {
        let mut body = valid.clone();
        body[field] = value;
        let reply = client.post("/attachments", Some(&alice.token), body).await;
        assert_eq!((reply.status, reply.error_code()), (StatusCode::BAD_REQUEST, code), "{field}");
    }
    // JSON Schema's integer: a whole number written as a float is one; a fraction is not.
    let mut whole = valid.clone();
    whole["size"] = json!(3.0);
    assert_eq!(client.post("/attachments", Some(&alice.token), whole).await.status, StatusCode::CREATED);
    let mut fraction = valid.clone();
    fraction["size"] = json!(3.5);
    assert_eq!(client.post("/attachments", Some(&alice.token), fraction).await.status, StatusCode::BAD_REQUEST);
    let mut nobody = valid.clone();
    nobody["recipient"] = json!("nobody");
    assert_eq!(client.post("/attachments", Some(&alice.token), nobody).await.status, StatusCode::NOT_FOUND);
    let mut untyped = valid.clone();
    let _ = untyped.as_object_mut().unwrap().remove("size");
    assert_eq!(client.post("/attachments", Some(&alice.token), untyped).await.status, StatusCode::BAD_REQUEST);
    assert_eq!(client.post("/attachments", None, valid.clone()).await.status, StatusCode::UNAUTHORIZED);

    // Sending: only this conversation's attachments, at most ten, and text or files.
    let carols = client.attachment(&carol, json!({ "recipient": "alice" }), b"for alice").await;
    let send = |body: Value| client.post("/chat/send", Some(&alice.token), body);
    let foreign = send(json!({ "recipient": "bob", "attachments": [carols] })).await;
    assert_eq!((foreign.status, foreign.error_code()), (StatusCode::BAD_REQUEST, "invalid_attachment"));
    let garbage = send(json!({ "recipient": "bob", "attachments": ["nope"] })).await;
    assert_eq!(garbage.error_code(), "invalid_attachment");
    let unknown = send(json!({ "recipient": "bob", "attachments": [uuid::Uuid::now_v7()] })).await;
    assert_eq!((unknown.status, unknown.error_code()), (StatusCode::NOT_FOUND, "invalid_attachment"));
    let many: Vec<String> = (0..11).map(|_| uuid::Uuid::now_v7().to_string()).collect();
    let too_many = send(json!({ "recipient": "bob", "attachments": many })).await;
    assert_eq!(too_many.error_code(), "too_many_attachments");
    let nothing = send(json!({ "recipient": "bob", "attachments": [] })).await;
    assert_eq!(nothing.error_code(), "empty_message");
    // Carol's file may go back to carol, twice named or not: it is carried once.
    let back = client
        .post("/chat/send", Some(&alice.token), json!({ "recipient": "carol", "attachments": [carols, carols] }))
        .await;
    assert_eq!(back.status, StatusCode::OK, "{}", back.body);
    let entry = client.full_history(&carol, "alice").await.pop().unwrap();
    assert_eq!(entry["attachments"].as_array().unwrap().len(), 1);
    let _ = bob;
}

backend_tests!(
    attachments_round_trip_byte_for_byte_and_ride_messages,
    urls_allow_exactly_what_was_signed,
    upload_and_download_urls_expire,
    the_indexer_rejects_bytes_that_differ_from_their_declaration,
    verified_bytes_are_kept_once_and_the_upload_is_spent,
    requests_and_sends_are_validated,
);

/// Kafka + DynamoDB + S3 only: `--s3-sse` is what S3 writes ask for. The test S3 server takes the
/// headers and does not encrypt (that is the service's job), so this shows each setting signs
/// and completes the whole flow: the header is in the signed upload URL the client uses.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_s3_encryption_setting_carries_an_attachment_through() {
    let Some(backend) = Backend::kafka_dynamodb("every_s3_encryption_setting") else { return };
    for (sse, header) in [("none", None), ("aws:kms", Some("aws:kms")), ("aes256", Some("AES256"))] {
        let mut deployment = Deployment::new(backend.clone());
        let _ = deployment.env("CONFAB_S3_SSE", sse);
        let server = deployment.serve();
        let client = Client::new(&server.base_url);
        let (alice, bob) = (client.user("alice").await, client.user("bob").await);
        let bytes = format!("sealed by {sse}").into_bytes();
        let ticket = client.request_upload(&alice, json!({ "recipient": "bob" }), &bytes, &bytes).await;
        assert_eq!(ticket.status, StatusCode::CREATED, "{}", ticket.body);
        assert_eq!(ticket.body["uploadHeaders"]["x-amz-server-side-encryption"].as_str(), header, "{sse}");
        let id = client.attachment(&alice, json!({ "recipient": "bob" }), &bytes).await;
        assert_eq!(client.download(&bob, &id).await, bytes, "{sse}");
    }
}
