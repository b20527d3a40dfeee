//! A message's life after it is sent: its sender edits it (within the edit window) or deletes it
//! for everyone, a group's admin deletes anyone's; history, the conversation list and live
//! frames follow, and nobody acts on, or hears of, a message they do not see.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use confab_e2e::{Backend, Client, Deployment, Socket, backend_tests};
use reqwest::StatusCode;
use serde_json::{Value, json};

fn id(reply: &confab_e2e::Reply) -> String {
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.body["messageId"].as_str().unwrap().to_owned()
}

/// The message `id` in `history`.
fn find<'a>(history: &'a [Value], id: &str) -> &'a Value {
    history.iter().find(|m| m["messageId"] == id).unwrap_or_else(|| panic!("{id} not in {history:?}"))
}

async fn a_sender_edits_and_deletes_a_direct_message_for_both(backend: Backend) {
    let deployment = Deployment::new(backend);
    let server = deployment.serve();
    let client = Client::new(&server.base_url);
    let (alice, bob) = (client.user("alice").await, client.user("bob").await);
    let mut bob_phone = Socket::connect(&server.base_url, &bob.token, None).await;
    let typo = id(&client.send(&alice, "bob", "helo bob").await);
    assert_eq!(bob_phone.next_of("message").await["messageId"], typo.as_str());
    let path = format!("/chat/messages/{typo}");

    let edited = client.patch(&path, Some(&alice.token), json!({ "message": "hello bob" })).await;
    assert_eq!(edited.status, StatusCode::OK, "{}", edited.body);
    assert_eq!(edited.body["messageId"], typo.as_str());
    let frame = bob_phone.next_of("messageEdited").await;
    assert_eq!((frame["messageId"].as_str(), frame["content"].as_str()), (Some(typo.as_str()), Some("hello bob")));
    assert_eq!((frame["kind"].as_str(), frame["senderId"].as_str()), (Some("direct"), Some(alice.id.as_str())));
    for (user, peer) in [(&alice, "bob"), (&bob, "alice")] {
        let history = client.full_history(user, peer).await;
        let message = find(&history, &typo);
        assert_eq!((message["content"].as_str(), message["editCount"].as_u64()), (Some("hello bob"), Some(1)));
        assert_eq!(message["editedAt"], edited.body["editedAt"], "{message}");
        let list = client.get("/chat/messages", Some(&user.token)).await;
        assert_eq!(list.body["conversations"][0]["lastMessage"]["content"], "hello bob", "{}", list.body);
    }
    // The same text again is a retry: nothing changes.
    let again = client.patch(&path, Some(&alice.token), json!({ "message": "hello bob" })).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    assert_eq!(find(&client.full_history(&bob, "alice").await, &typo)["editCount"], 1);

    // Only the sender edits or deletes; what the caller cannot see does not exist.
    for (method, reply) in [
        ("edit", client.patch(&path, Some(&bob.token), json!({ "message": "not mine" })).await),
        ("delete", client.delete(&path, Some(&bob.token)).await),
    ] {
        assert_eq!((reply.status, reply.error_code()), (StatusCode::FORBIDDEN, "not_your_message"), "{method}");
    }
    let carol = client.user("carol").await;
    let hers = client.patch(&path, Some(&carol.token), json!({ "message": "x" })).await;
    assert_eq!((hers.status, hers.error_code()), (StatusCode::NOT_FOUND, "message_not_found"));
    for missing in ["/chat/messages/not-an-id", "/chat/messages/0190a9a0-0000-7000-8000-000000000000"] {
        let reply = client.patch(missing, Some(&alice.token), json!({ "message": "x" })).await;
        assert_eq!((reply.status, reply.error_code()), (StatusCode::NOT_FOUND, "message_not_found"), "{missing}");
    }
    let blank = client.patch(&path, Some(&alice.token), json!({ "message": "  " })).await;
    assert_eq!((blank.status, blank.error_code()), (StatusCode::BAD_REQUEST, "empty_message"));

    let deleted = client.delete(&path, Some(&alice.token)).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.body);
    let frame = bob_phone.next_of("messageDeleted").await;
    assert_eq!(frame["messageId"], typo.as_str());
    assert!(frame.get("content").is_none(), "{frame}");
    for (user, peer) in [(&alice, "bob"), (&bob, "alice")] {
        let history = client.full_history(user, peer).await;
        let tombstone = find(&history, &typo);
        assert_eq!((tombstone["deleted"].as_bool(), tombstone["content"].as_str()), (Some(true), Some("")));
        assert!(tombstone["deletedAt"].as_str().is_some_and(|at| at.ends_with('Z')), "{tombstone}");
        assert!(tombstone.get("editCount").is_none() && tombstone.get("attachments").is_none(), "{tombstone}");
        let list = client.get("/chat/messages", Some(&user.token)).await;
        assert_eq!(list.body["conversations"][0]["lastMessage"]["deleted"], true, "{}", list.body);
    }
    let late = client.patch(&path, Some(&alice.token), json!({ "message": "too late" })).await;
    assert_eq!((late.status, late.error_code()), (StatusCode::CONFLICT, "message_deleted"));
    assert_eq!(client.delete(&path, Some(&alice.token)).await.status, StatusCode::NO_CONTENT, "again: a retry");

    // A deleted message's attachments go with it.
    let conversation = frame["conversationId"].as_str().unwrap().to_owned();
    let file = client.attachment(&alice, json!({ "recipient": "bob" }), b"a photo").await;
    let sent =
        client.post("/chat/send", Some(&alice.token), json!({ "recipient": "bob", "attachments": [file] })).await;
    let with_file = id(&sent);
    assert_eq!(
        client.delete(&format!("/chat/messages/{with_file}"), Some(&alice.token)).await.status,
        StatusCode::NO_CONTENT
    );
    let history = client.full_history(&bob, "alice").await;
    assert!(find(&history, &with_file).get("attachments").is_none(), "{history:?}");
    assert!(!conversation.is_empty());
}

async fn group_admins_delete_any_message_and_members_act_only_on_what_they_see(backend: Backend) {
    let deployment = Deployment::new(backend);
    let server = deployment.serve();
    let client = Client::new(&server.base_url);
    let (alice, bob, carol) = (client.user("alice").await, client.user("bob").await, client.user("carol").await);
    let group = client.group(&alice, "climbing", &["bob"]).await;
    let by_alice = id(&client.group_send(&alice, &group, "from the admin").await);
    let by_bob = id(&client.group_send(&bob, &group, "from bob").await);
    let path = |message: &str| format!("/groups/{group}/messages/{message}");

    let not_hers = client.patch(&path(&by_bob), Some(&alice.token), json!({ "message": "admin words" })).await;
    assert_eq!((not_hers.status, not_hers.error_code()), (StatusCode::FORBIDDEN, "not_your_message"));
    let not_his = client.delete(&path(&by_alice), Some(&bob.token)).await;
    assert_eq!((not_his.status, not_his.error_code()), (StatusCode::FORBIDDEN, "not_your_message"));
    let outsider = client.delete(&path(&by_alice), Some(&carol.token)).await;
    assert_eq!((outsider.status, outsider.error_code()), (StatusCode::FORBIDDEN, "not_a_member"));

    // Carol joins: she sees neither message, and cannot act on them.
    assert_eq!(client.add_member(&alice, &group, "carol").await.status, StatusCode::OK);
    let mut carol_phone = Socket::connect(&server.base_url, &carol.token, None).await;
    let before_her = client.patch(&path(&by_bob), Some(&carol.token), json!({ "message": "x" })).await;
    assert_eq!((before_her.status, before_her.error_code()), (StatusCode::NOT_FOUND, "message_not_found"));

    let edited =
        client.patch(&path(&by_alice), Some(&alice.token), json!({ "message": "from the admin, edited" })).await;
    assert_eq!(edited.status, StatusCode::OK, "{}", edited.body);
    assert_eq!(
        client.delete(&path(&by_bob), Some(&alice.token)).await.status,
        StatusCode::NO_CONTENT,
        "an admin deletes anyone's"
    );
    let history = client.group_history(&bob, &group).await;
    assert_eq!(find(&history, &by_alice)["content"], "from the admin, edited");
    assert_eq!(find(&history, &by_alice)["editCount"], 1);
    assert_eq!(
        (find(&history, &by_bob)["deleted"].as_bool(), find(&history, &by_bob)["content"].as_str()),
        (Some(true), Some(""))
    );

    // What she sees, she hears of; what came before her, she does not.
    let hers = id(&client.group_send(&bob, &group, "welcome carol").await);
    assert_eq!(carol_phone.next_of("message").await["messageId"], hers.as_str());
    let fixed = client.patch(&path(&hers), Some(&bob.token), json!({ "message": "welcome, carol!" })).await;
    assert_eq!(fixed.status, StatusCode::OK, "{}", fixed.body);
    let frame = carol_phone.next_of("messageEdited").await;
    assert_eq!(
        (frame["messageId"].as_str(), frame["content"].as_str()),
        (Some(hers.as_str()), Some("welcome, carol!")),
        "the first change she hears of is of what she sees"
    );
    assert_eq!((frame["kind"].as_str(), frame["groupId"].as_str()), (Some("group"), Some(group.as_str())));
    assert_eq!(client.group_contents(&carol, &group).await, ["welcome, carol!"]);
    let list = client.get("/groups", Some(&bob.token)).await;
    let listed = list.body["groups"].as_array().unwrap().iter().find(|g| g["groupId"] == group.as_str()).unwrap();
    assert_eq!(listed["lastMessage"]["content"], "welcome, carol!", "{listed}");
}

async fn edits_close_with_the_edit_window(backend: Backend) {
    let mut deployment = Deployment::new(backend);
    let _ = deployment.env("CONFAB_EDIT_WINDOW_SECS", "1");
    let server = deployment.serve();
    let client = Client::new(&server.base_url);
    let (alice, _bob) = (client.user("alice").await, client.user("bob").await);
    let sent = client.send(&alice, "bob", "said in haste").await;
    let message = id(&sent);
    // The window is counted from the send's own timestamp: wait until it has passed.
    let sent_at = chrono_ms(sent.body["timestamp"].as_str().unwrap());
    while now_ms() <= sent_at + 1_100 {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let late = client.patch(&format!("/chat/messages/{message}"), Some(&alice.token), json!({ "message": "x" })).await;
    assert_eq!((late.status, late.error_code()), (StatusCode::CONFLICT, "edit_window_closed"), "{}", late.body);
    let deleted = client.delete(&format!("/chat/messages/{message}"), Some(&alice.token)).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "a delete has no window");
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Milliseconds since the epoch of an RFC 3339 timestamp as the API writes them.
fn chrono_ms(rfc3339: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(rfc3339).unwrap().timestamp_millis()
}

backend_tests!(
    a_sender_edits_and_deletes_a_direct_message_for_both,
    group_admins_delete_any_message_and_members_act_only_on_what_they_see,
    edits_close_with_the_edit_window,
);
