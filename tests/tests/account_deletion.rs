//! Deleting an account: with its password, at once, everywhere: its sessions end and its
//! sockets close, it cannot log in, no one can find, message or add it, and its name stays
//! taken; and what it wrote is erased: no copy anywhere opens again.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use confab_e2e::{Backend, Client, Deployment, Socket, backend_tests, files_containing};
use reqwest::{Method, StatusCode};
use serde_json::json;

async fn a_deleted_account_is_no_one_at_once_and_its_name_stays_taken(backend: Backend) {
    let deployment = Deployment::new(backend);
    let mut server = deployment.serve();
    let client = Client::new(&server.base_url);
    let (alice, bob) = (client.user("alice").await, client.user("bob").await);
    assert_eq!(
        client.patch("/me", Some(&alice.token), json!({ "about": "leaving soon" })).await.status,
        StatusCode::OK
    );
    assert_eq!(client.send(&alice, "bob", "goodbye").await.status, StatusCode::OK);
    let phone = client.login("alice", "alice-password").await.body["token"].as_str().unwrap().to_owned();
    let mut socket = Socket::connect(&server.base_url, &phone, None).await;

    let wrong = client.call(Method::DELETE, "/me", Some(&alice.token), Some(json!({ "password": "not it" }))).await;
    assert_eq!((wrong.status, wrong.error_code()), (StatusCode::FORBIDDEN, "wrong_password"));
    assert_eq!(client.get("/users/alice", Some(&bob.token)).await.status, StatusCode::OK, "nothing changed");
    let missing = client.call(Method::DELETE, "/me", Some(&alice.token), Some(json!({}))).await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);

    let deleted =
        client.call(Method::DELETE, "/me", Some(&alice.token), Some(json!({ "password": "alice-password" }))).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.body);
    // Every session: this one, the phone's, and its socket.
    for token in [&alice.token, &phone] {
        let refused = client.get("/groups", Some(token)).await;
        assert_eq!((refused.status, refused.error_code()), (StatusCode::UNAUTHORIZED, "session_ended"));
    }
    let (_, close) = socket.until_closed().await;
    assert_eq!(close.map(|c| u16::from(c.code)), Some(4005));
    let login = client.login("alice", "alice-password").await;
    assert_eq!(login.status, StatusCode::UNAUTHORIZED, "{}", login.body);
    let again = client.register("alice", "another-password").await;
    assert_eq!(again.status, StatusCode::CONFLICT, "the name stays taken: {}", again.body);
    let retried = client.register("alice", "alice-password").await;
    assert_eq!(retried.status, StatusCode::CONFLICT, "even with the old password: {}", retried.body);

    // No one can find, reach or add it.
    assert_eq!(client.get("/users/alice", Some(&bob.token)).await.status, StatusCode::NOT_FOUND);
    let found = client.get("/users?prefix=al", Some(&bob.token)).await;
    assert_eq!(found.body["users"], json!([]), "{}", found.body);
    assert_eq!(client.send(&bob, "alice", "are you there?").await.status, StatusCode::NOT_FOUND);
    assert_eq!(client.create_group(&bob, "with alice", &["alice"]).await.status, StatusCode::NOT_FOUND);

    // On the log: one AccountDeleted, keyed by the name.
    server.stop();
    let events = deployment.events("confab.users");
    let deletions: Vec<_> = events.iter().filter(|e| e["type"] == "io.confab.events.AccountDeleted").collect();
    assert_eq!(deletions.len(), 1, "{events:?}");
    assert_eq!(deletions[0]["key"], "alice");
    assert_eq!(deletions[0]["event"]["payload"]["userId"], alice.id.as_str());
}

/// What a deleted account wrote (its profile and picture, direct and group messages, a file's name
/// and bytes) no longer opens anywhere: its peers see its messages as deleted, its file is gone,
/// and the decrypted stream, the tables and every file the servers keep hold none of it; the
/// peer's own messages stay.
async fn what_a_deleted_account_wrote_is_erased_everywhere(backend: Backend) {
    let deployment = Deployment::new(backend);
    let mut server = deployment.serve();
    let client = Client::new(&server.base_url);
    let (alice, bob) = (client.user("alice").await, client.user("bob").await);
    let marker = "ERASE-ME-5d1c9a";
    let profile = json!({ "displayName": format!("{marker} name"), "about": format!("{marker} about") });
    assert_eq!(client.patch("/me", Some(&alice.token), profile).await.status, StatusCode::OK);
    let picture = format!("{marker} as a picture").repeat(50).into_bytes();
    let avatar = client.attachment(&alice, json!({ "avatar": true }), &picture).await;
    assert_eq!(client.patch("/me", Some(&alice.token), json!({ "avatar": avatar })).await.status, StatusCode::OK);
    let seen = client.get("/users/alice", Some(&bob.token)).await;
    assert_eq!(seen.body["displayName"], format!("{marker} name"), "the profile opens before");
    assert_eq!(client.download(&bob, &avatar).await, picture, "the picture is there before");
    assert_eq!(client.send(&alice, "bob", &format!("{marker} direct")).await.status, StatusCode::OK);
    assert_eq!(client.send(&bob, "alice", "bob keeps this").await.status, StatusCode::OK);
    let group = client.group(&alice, "both of us", &["bob"]).await;
    assert_eq!(client.group_send(&alice, &group, &format!("{marker} group")).await.status, StatusCode::OK);
    let bytes = format!("{marker} in a file").repeat(50).into_bytes();
    let file = client.uploaded_text_file(&alice, "bob", &format!("{marker}.txt"), &bytes).await;
    let with_file = json!({ "recipient": "bob", "attachments": [file] });
    assert_eq!(client.post("/chat/send", Some(&alice.token), with_file).await.status, StatusCode::OK);
    assert_eq!(client.download(&bob, &file).await, bytes, "the file is there before");

    let deleted =
        client.call(Method::DELETE, "/me", Some(&alice.token), Some(json!({ "password": "alice-password" }))).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.body);

    // Bob sees alice's messages as deleted, and his own as they were.
    let history = client.full_history(&bob, "alice").await;
    assert_eq!(history.len(), 3, "{history:?}");
    for message in &history {
        if message["sender"] == "alice" {
            assert_eq!(message["deleted"], true, "{message}");
            assert_eq!(message["content"], "", "{message}");
            assert!(message["attachments"].is_null(), "{message}");
        } else {
            assert_eq!(message["content"], "bob keeps this");
            assert!(message["deleted"].is_null(), "{message}");
        }
    }
    let in_group = client.group_history(&bob, &group).await;
    assert!(in_group.iter().all(|m| m["deleted"] == true && m["content"] == ""), "{in_group:?}");
    let gone = client.get(&format!("/attachments/{file}"), Some(&bob.token)).await;
    assert_eq!((gone.status, gone.error_code()), (StatusCode::NOT_FOUND, "attachment_deleted"), "{}", gone.body);
    let files = client.get("/chat/attachments?recipient=alice", Some(&bob.token)).await;
    assert!(!files.body.to_string().contains(&file), "{}", files.body);
    server.stop();

    // Nothing anywhere opens it: the stream decrypted with the master key, the tables, the files.
    let opened = deployment.run(&["events", "tail", "--from-beginning", "--decrypt"]);
    let opened = String::from_utf8(opened.stdout).unwrap();
    assert!(opened.contains("bob keeps this"), "the decrypted stream opens what is not erased");
    let erased_profile = opened.lines().any(|l| l.contains("ProfileUpdated") && l.contains(r#""erased":true"#));
    assert!(erased_profile, "the erased profile is marked");
    let erased_message = opened.lines().any(|l| l.contains("DirectMessageSent") && l.contains(r#""erased":true"#));
    assert!(erased_message, "the erased messages are marked");
    assert!(!opened.contains(marker), "the decrypted stream opens erased content");
    assert!(!deployment.tables().to_string().contains(marker), "plaintext in a table");
    for dir in deployment.storage_dirs() {
        assert_eq!(files_containing(&dir, marker.as_bytes()), Vec::<String>::new(), "in {}", dir.display());
    }
}

backend_tests!(
    a_deleted_account_is_no_one_at_once_and_its_name_stays_taken,
    what_a_deleted_account_wrote_is_erased_everywhere
);
