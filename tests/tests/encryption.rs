//! `/encrypt`, `/decrypt`, and that no plaintext message or attachment name ever reaches the disk,
//! nor (embedded) attachment bytes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use confab_e2e::{Backend, Client, Deployment, backend_tests, files_containing};
use reqwest::StatusCode;
use serde_json::json;

async fn a_users_ciphertext_opens_only_for_that_user_and_only_untampered(backend: Backend) {
    let deployment = Deployment::new(backend);
    let server = deployment.serve();
    let client = Client::new(&server.base_url);
    let alice = client.user("alice").await;
    let bob = client.user("bob").await;

    let sealed = client.post("/encrypt", Some(&alice.token), json!({ "message": "the eagle lands" })).await;
    assert_eq!(sealed.status, StatusCode::OK);
    let ciphertext = sealed.body["encryptedMessage"].as_str().unwrap().to_owned();
    assert!(!ciphertext.contains("eagle"));

    let opened = client.post("/decrypt", Some(&alice.token), json!({ "encryptedMessage": ciphertext })).await;
    assert_eq!(opened.status, StatusCode::OK);
    assert_eq!(opened.body["message"], "the eagle lands");

    let by_bob = client.post("/decrypt", Some(&bob.token), json!({ "encryptedMessage": ciphertext })).await;
    assert_eq!(by_bob.status, StatusCode::BAD_REQUEST);
    assert_eq!(by_bob.error_code(), "invalid_ciphertext");
    assert!(!by_bob.body.to_string().contains("eagle"));

    let mut tampered = ciphertext.clone().into_bytes();
    let last = tampered.len() - 3;
    tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    for bad in [tampered.as_str(), "v1.k1.", "v1.nokey.AAAA", "garbage", ""] {
        let reply = client.post("/decrypt", Some(&alice.token), json!({ "encryptedMessage": bad })).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{bad}: {}", reply.body);
    }
    let no_token = client.post("/encrypt", None, json!({ "message": "x" })).await;
    assert_eq!(no_token.status, StatusCode::UNAUTHORIZED);
}

async fn the_data_dir_never_holds_message_plaintext(backend: Backend) {
    let deployment = Deployment::new(backend);
    let mut server = deployment.serve();
    let client = Client::new(&server.base_url);
    let alice = client.user("alice").await;
    let _bob = client.user("bob").await;
    let marker = "PLAINTEXT-MARKER-7f3a9c";
    for i in 0..20 {
        let reply = client.send(&alice, "bob", &format!("{marker} number {i}")).await;
        assert_eq!(reply.status, StatusCode::OK);
    }
    assert_eq!(client.send(&alice, "alice", marker).await.status, StatusCode::OK);
    let group = client.group(&alice, "secrets", &["bob"]).await;
    assert_eq!(client.group_send(&alice, &group, &format!("{marker} to the group")).await.status, StatusCode::OK);
    // An attachment named with the marker, whose bytes (on the embedded store) are sealed at rest.
    let bytes = format!("{marker} in a file").repeat(100).into_bytes();
    let attachment = &client.uploaded_text_file(&alice, "bob", &format!("{marker}.txt"), &bytes).await;
    let body = json!({ "recipient": "bob", "attachments": [attachment] });
    assert_eq!(client.post("/chat/send", Some(&alice.token), body).await.status, StatusCode::OK);
    let entry = client.full_history(&alice, "bob").await.pop().unwrap();
    assert_eq!(entry["attachments"][0]["fileName"], format!("{marker}.txt"));
    assert_eq!(client.download(&alice, attachment).await, bytes);
    // The marker is really stored and served: the grep below is looking for something that exists.
    let history = client.full_history(&alice, "bob").await;
    assert!(
        history
            .iter()
            .filter(|m| m["attachments"].is_null())
            .all(|m| m["content"].as_str().unwrap().starts_with(marker))
    );
    assert_eq!(client.group_contents(&alice, &group).await, [format!("{marker} to the group")]);
    server.stop();

    // Through the public surfaces: the topics and the tables hold the sealed content only.
    let stream =
        serde_json::to_string(&[deployment.events("confab.messages"), deployment.events("confab.attachments")])
            .unwrap();
    let tables = deployment.tables().to_string();
    assert!(stream.contains("v3.") && tables.contains("v3."), "the sealed messages are there");
    assert!(!stream.contains(marker), "plaintext on the log");
    assert!(!tables.contains(marker), "plaintext in a table");

    // And byte for byte, in every file the servers keep.
    for dir in deployment.storage_dirs() {
        assert!(!files_containing(&dir, b"alice").is_empty(), "the scan of {} sees the data", dir.display());
        assert_eq!(files_containing(&dir, marker.as_bytes()), Vec::<String>::new());
    }
}

backend_tests!(
    a_users_ciphertext_opens_only_for_that_user_and_only_untampered,
    the_data_dir_never_holds_message_plaintext,
);
