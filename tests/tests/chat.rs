//! One-on-one messages: sending, history, conversations, read-your-writes, idempotent retries.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{collections::HashSet, time::Duration};

use confab_e2e::{Backend, Client, Deployment, backend_tests};
use reqwest::{Method, StatusCode, header};
use serde_json::json;

async fn send_validates_recipient_and_message(backend: Backend) {
    let deployment = Deployment::new(backend);
    let server = deployment.serve();
    let client = Client::new(&server.base_url);
    let alice = client.user("alice").await;
    let _bob = client.user("bob").await;

    let unknown = client.send(&alice, "nobody", "hi").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(unknown.error_code(), "recipient_not_found");
    for empty in ["", "   \n"] {
        let reply = client.send(&alice, "bob", empty).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST);
        assert_eq!(reply.error_code(), "empty_message");
    }
    let largest = "x".repeat(64 * 1024);
    assert_eq!(client.send(&alice, "bob", &largest).await.status, StatusCode::OK);
    let too_long = client.send(&alice, "bob", &format!("{largest}y")).await;
    assert_eq!(too_long.status, StatusCode::BAD_REQUEST);
    assert_eq!(too_long.error_code(), "message_too_long");
    let too_large = client.post_declaring_length("/chat/send", &alice.token, 2 * 1024 * 1024).await;
    assert_eq!(too_large.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(too_large.error_code(), "payload_too_large");
    let missing = client.post("/chat/send", Some(&alice.token), json!({ "recipient": "bob" })).await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    let no_token = client.post("/chat/send", None, json!({ "recipient": "bob", "message": "hi" })).await;
    assert_eq!(no_token.status, StatusCode::UNAUTHORIZED);

    let sent = client.send(&alice, "BOB", "hello bob").await;
    assert_eq!(sent.status, StatusCode::OK, "{}", sent.body);
    let id = uuid::Uuid::parse_str(sent.body["messageId"].as_str().unwrap()).unwrap();
    assert_eq!(id.get_version_num(), 7);
    let timestamp = sent.body["timestamp"].as_str().unwrap();
    assert!(timestamp.ends_with('Z') && timestamp.len() == "2026-01-01T00:00:00.000Z".len(), "{timestamp}");
}

async fn notes_to_self_are_one_conversation(backend: Backend) {
    let deployment = Deployment::new(backend);
    let server = deployment.serve();
    let client = Client::new(&server.base_url);
    let alice = client.user("alice").await;
    assert_eq!(client.send(&alice, "alice", "remember the milk").await.status, StatusCode::OK);
    let history = client.full_history(&alice, "alice").await;
    assert_eq!(history.len(), 1);
    assert_eq!(history[0]["sender"], "alice");
    assert_eq!(history[0]["recipient"], "alice");
    let list = client.get("/chat/messages", Some(&alice.token)).await;
    assert_eq!(list.body["conversations"].as_array().unwrap().len(), 1);
}

async fn history_pages_back_in_chronological_pages_and_lists_conversations(backend: Backend) {
    let deployment = Deployment::new(backend);
    let server = deployment.serve();
    let client = Client::new(&server.base_url);
    let alice = client.user("alice").await;
    let bob = client.user("bob").await;
    let carol = client.user("carol").await;

    let mut sent = Vec::new();
    for i in 0..7 {
        let (from, to) = if i % 2 == 0 { (&alice, "bob") } else { (&bob, "alice") };
        let reply = client.send(from, to, &format!("message {i}")).await;
        sent.push(reply.body["messageId"].as_str().unwrap().to_owned());
    }
    assert_eq!(client.send(&carol, "alice", "hi alice, carol here").await.status, StatusCode::OK);

    let first = client.get("/chat/messages?recipient=bob&limit=3", Some(&alice.token)).await;
    assert_eq!(first.status, StatusCode::OK);
    let page: Vec<_> = first.body["messages"].as_array().unwrap().iter().map(|m| m["content"].clone()).collect();
    assert_eq!(page, [json!("message 4"), json!("message 5"), json!("message 6")]);
    let message = &first.body["messages"][2];
    assert_eq!(message["messageId"], sent[6].as_str());
    assert_eq!(message["senderId"], alice.id.as_str());
    assert_eq!(message["recipientId"], bob.id.as_str());
    assert_eq!(message["sender"], "alice");
    assert_eq!(message["recipient"], "bob");
    assert!(message["conversationId"].is_string() && message["timestamp"].is_string());

    let cursor = first.body["nextCursor"].as_str().unwrap();
    let second = client.get(&format!("/chat/messages?recipient=bob&limit=3&before={cursor}"), Some(&alice.token)).await;
    let page: Vec<_> = second.body["messages"].as_array().unwrap().iter().map(|m| m["content"].clone()).collect();
    assert_eq!(page, [json!("message 1"), json!("message 2"), json!("message 3")]);
    let cursor = second.body["nextCursor"].as_str().unwrap();
    let last = client.get(&format!("/chat/messages?recipient=bob&limit=3&before={cursor}"), Some(&alice.token)).await;
    assert_eq!(last.body["messages"].as_array().unwrap().len(), 1);
    assert!(last.body["nextCursor"].is_null());
    // A name that sends (trimmed, any case) names the same conversation in history.
    let spaced = client.get("/chat/messages?recipient=%20Bob%20&limit=1", Some(&alice.token)).await;
    assert_eq!(spaced.body["messages"][0]["messageId"], sent[6].as_str(), "{}", spaced.body);

    // Bob sees the same conversation, and the default page holds it all.
    let bobs = client.full_history(&bob, "alice").await;
    let ids: Vec<_> = bobs.iter().map(|m| m["messageId"].as_str().unwrap().to_owned()).collect();
    assert_eq!(ids, sent);

    let conversations = client.get("/chat/messages", Some(&alice.token)).await;
    let list = conversations.body["conversations"].as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["peer"]["username"], "carol");
    assert_eq!(list[0]["lastMessage"]["content"], "hi alice, carol here");
    assert_eq!(list[1]["peer"]["username"], "bob");
    assert_eq!(list[1]["peer"]["userId"], bob.id.as_str());
    assert_eq!(list[1]["lastMessage"]["messageId"], sent[6].as_str());

    for bad in ["limit=0", "limit=201", "limit=abc", "before=not-a-cursor"] {
        let reply = client.get(&format!("/chat/messages?recipient=bob&{bad}"), Some(&alice.token)).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{bad}: {}", reply.body);
    }
    let stranger = client.get("/chat/messages?recipient=nobody", Some(&alice.token)).await;
    assert_eq!(stranger.status, StatusCode::NOT_FOUND);
    let never_talked = client.get("/chat/messages?recipient=carol", Some(&bob.token)).await;
    assert_eq!(never_talked.body["messages"], json!([]));
    assert!(never_talked.body["nextCursor"].is_null());
}

async fn a_sent_message_is_in_the_senders_very_next_read(backend: Backend) {
    let mut deployment = Deployment::new(backend);
    // Long enough that a wait which never sees the projection would blow the deadline below,
    // instead of answering late and letting the read pass anyway.
    let _ = deployment.env("CONFAB_READ_YOUR_WRITES_TIMEOUT_MS", "30000");
    let server = deployment.serve();
    let client = Client::new(&server.base_url);
    let alice = client.user("alice").await;
    let _bob = client.user("bob").await;
    let sends = async {
        for i in 0..50 {
            let sent = client.send(&alice, "bob", &format!("ryw {i}")).await;
            assert_eq!(sent.status, StatusCode::OK);
            let page = client.get("/chat/messages?recipient=bob&limit=1", Some(&alice.token)).await;
            assert_eq!(page.body["messages"][0]["messageId"], sent.body["messageId"], "send {i} not visible at once");
        }
    };
    let waited = tokio::time::timeout(Duration::from_secs(20), sends).await;
    assert!(waited.is_ok(), "sends waited out the read-your-writes timeout: the wait never saw the projection");
}

async fn a_retried_send_returns_the_first_message_even_after_a_restart(backend: Backend) {
    let deployment = Deployment::new(backend);
    let mut server = deployment.serve();
    let client = Client::new(&server.base_url);
    let alice = client.user("alice").await;
    let _bob = client.user("bob").await;
    let _carol = client.user("carol").await;

    let first = client.send_idempotent(&alice, "bob", "only once", "retry-1").await;
    assert_eq!(first.status, StatusCode::OK);
    let again = client.send_idempotent(&alice, "bob", "only once", "retry-1").await;
    assert_eq!(again.body, first.body);

    server.restart();
    let client = Client::new(&server.base_url);
    let after_restart = client.send_idempotent(&alice, "bob", "only once", "retry-1").await;
    assert_eq!(after_restart.status, StatusCode::OK);
    assert_eq!(after_restart.body, first.body);

    let elsewhere = client.send_idempotent(&alice, "carol", "only once", "retry-1").await;
    assert_eq!(elsewhere.status, StatusCode::CONFLICT);
    assert_eq!(elsewhere.error_code(), "client_message_id_reused");

    let history = client.full_history(&alice, "bob").await;
    assert_eq!(history.len(), 1);
    assert_eq!(history[0]["clientMessageId"], "retry-1");
    // Another sender may use the same key for their own message.
    let bob = client.login("bob", "bob-password").await;
    let token = bob.body["token"].as_str().unwrap();
    let bobs = client
        .post(
            "/chat/send",
            Some(token),
            json!({ "recipient": "alice", "message": "mine", "clientMessageId": "retry-1" }),
        )
        .await;
    assert_eq!(bobs.status, StatusCode::OK);
    assert_ne!(bobs.body["messageId"], first.body["messageId"]);
    let ids: HashSet<_> = client.full_history(&alice, "bob").await.iter().map(|m| m["messageId"].to_string()).collect();
    assert_eq!(ids.len(), 2);
    let bad_key = client
        .raw(
            client
                .request(Method::POST, "/chat/send")
                .bearer_auth(token)
                .header(header::CONTENT_TYPE, "application/json")
                .body(json!({ "recipient": "alice", "message": "m", "clientMessageId": "" }).to_string()),
        )
        .await;
    assert_eq!(bad_key.status, StatusCode::BAD_REQUEST);
}

backend_tests!(
    send_validates_recipient_and_message,
    notes_to_self_are_one_conversation,
    history_pages_back_in_chronological_pages_and_lists_conversations,
    a_sent_message_is_in_the_senders_very_next_read,
    a_retried_send_returns_the_first_message_even_after_a_restart,
);
