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
    let sent = client.send(&alice, "bob", "still here").await;
    assert_eq!(sent.body["conversationId"], frame["conversationId"], "the frames named the conversation");
}

/// The ids a listing `path` shows `user`: of `attachments` (`/chat/attachments?...`,
/// `/groups/{id}/attachments`) or of `pins` (`/chat/pins?...`, `/groups/{id}/pins`).
async fn listed(client: &Client, user: &confab_e2e::User, path: &str) -> Vec<String> {
    let page = client.get(path, Some(&user.token)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let (list, id) = if path.contains("/pins") { ("pins", "messageId") } else { ("attachments", "attachmentId") };
    page.body[list].as_array().unwrap().iter().map(|entry| entry[id].as_str().unwrap().into()).collect()
}

async fn send_file(client: &Client, user: &confab_e2e::User, to: &str, file: &str) -> confab_e2e::Reply {
    client.post("/chat/send", Some(&user.token), json!({ "recipient": to, "attachments": [file] })).await
}

async fn delete_direct(client: &Client, user: &confab_e2e::User, message: &str) -> StatusCode {
    client.delete(&format!("/chat/messages/{message}"), Some(&user.token)).await.status
}

async fn a_deleted_message_takes_its_files_along(backend: Backend) {
    let deployment = Deployment::new(backend);
    let server = deployment.serve();
    let client = Client::new(&server.base_url);
    let (alice, bob) = (client.user("alice").await, client.user("bob").await);
    let photo = client.attachment(&alice, json!({ "recipient": "bob" }), b"a photo").await;
    let first = id(&send_file(&client, &alice, "bob", &photo).await);
    let again = id(&send_file(&client, &bob, "alice", &photo).await);
    let ticket = client.get(&format!("/attachments/{photo}"), Some(&bob.token)).await;
    let early_url = ticket.body["downloadUrl"].as_str().unwrap().to_owned();

    // Bob's message still carries the photo when Alice takes hers back.
    assert_eq!(delete_direct(&client, &alice, &first).await, StatusCode::NO_CONTENT);
    assert_eq!(client.download(&bob, &photo).await, b"a photo");
    assert_eq!(listed(&client, &alice, "/chat/attachments?recipient=bob").await, vec![photo.clone()]);
    assert_eq!(
        find(&client.full_history(&alice, "bob").await, &again)["attachments"][0]["attachmentId"],
        photo.as_str()
    );

    // Once no message carries it, it is gone for both: listing, metadata, bytes, sending again.
    assert_eq!(delete_direct(&client, &bob, &again).await, StatusCode::NO_CONTENT);
    for (user, peer) in [(&alice, "bob"), (&bob, "alice")] {
        assert!(listed(&client, user, &format!("/chat/attachments?recipient={peer}")).await.is_empty());
        let gone = client.get(&format!("/attachments/{photo}"), Some(&user.token)).await;
        assert_eq!((gone.status, gone.error_code()), (StatusCode::NOT_FOUND, "attachment_withdrawn"), "{}", gone.body);
    }
    let resend = send_file(&client, &alice, "bob", &photo).await;
    assert_eq!((resend.status, resend.error_code()), (StatusCode::NOT_FOUND, "attachment_withdrawn"));
    let fetched = reqwest::get(&early_url).await.unwrap();
    assert!(!fetched.status().is_success(), "a download URL handed out before gets nothing: {}", fetched.status());

    // In a group, an admin's delete of a member's message takes the member's file.
    let group = client.group(&alice, "climbing", &["bob"]).await;
    let topo = client.attachment(&bob, json!({ "groupId": group }), b"the topo").await;
    let kept = client.attachment(&bob, json!({ "groupId": group }), b"another topo").await;
    let body = json!({ "message": "new route", "attachments": [topo] });
    let sent = id(&client.post(&format!("/groups/{group}/send"), Some(&bob.token), body).await);
    let files = format!("/groups/{group}/attachments");
    assert_eq!(listed(&client, &alice, &files).await, [kept.clone(), topo.clone()]);
    let admin = client.delete(&format!("/groups/{group}/messages/{sent}"), Some(&alice.token)).await;
    assert_eq!(admin.status, StatusCode::NO_CONTENT, "{}", admin.body);
    assert_eq!(listed(&client, &bob, &files).await, vec![kept.clone()], "a file no message carried stays");
    let gone = client.get(&format!("/attachments/{topo}"), Some(&bob.token)).await;
    assert_eq!((gone.status, gone.error_code()), (StatusCode::NOT_FOUND, "attachment_withdrawn"));
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

async fn a_reply_quotes_its_message_as_it_stands(backend: Backend) {
    let deployment = Deployment::new(backend);
    let server = deployment.serve();
    let client = Client::new(&server.base_url);
    let (alice, bob, carol) = (client.user("alice").await, client.user("bob").await, client.user("carol").await);
    let question = id(&client
        .send(
            &alice,
            "bob",
            &format!("lunch at noon? {}", "a question long enough to be cut short when quoted. ".repeat(3)),
        )
        .await);
    let mut alice_phone = Socket::connect(&server.base_url, &alice.token, None).await;
    let reply = |to: &str| json!({ "recipient": "alice", "message": "yes!", "replyTo": to });
    let answer = id(&client.post("/chat/send", Some(&bob.token), reply(&question)).await);
    // The question, sent before the socket opened, may come first (the notifier can be behind).
    let mut frame = alice_phone.next_of("message").await;
    if frame["messageId"] == question.as_str() {
        frame = alice_phone.next_of("message").await;
    }
    assert_eq!(frame["messageId"], answer.as_str());
    assert_eq!(frame["replyTo"]["messageId"], question.as_str(), "{frame}");
    assert_eq!(
        (frame["replyTo"]["sender"].as_str(), frame["replyTo"]["senderId"].as_str()),
        (Some("alice"), Some(alice.id.as_str()))
    );
    let preview = frame["replyTo"]["preview"].as_str().unwrap();
    assert!(preview.starts_with("lunch at noon?") && preview.chars().count() == 100, "{preview}");
    let quoted = async || find(&client.full_history(&alice, "bob").await, &answer)["replyTo"].clone();
    assert_eq!(quoted().await["preview"], preview);

    // The quote follows its message: edited, then deleted.
    let path = format!("/chat/messages/{question}");
    assert_eq!(
        client.patch(&path, Some(&alice.token), json!({ "message": "lunch at one?" })).await.status,
        StatusCode::OK
    );
    assert_eq!(quoted().await["preview"], "lunch at one?");
    assert_eq!(client.delete(&path, Some(&alice.token)).await.status, StatusCode::NO_CONTENT);
    let tombstone = quoted().await;
    assert_eq!((tombstone["deleted"].as_bool(), tombstone["preview"].as_str()), (Some(true), Some("")), "{tombstone}");
    let late = client.post("/chat/send", Some(&bob.token), reply(&question)).await;
    assert_eq!((late.status, late.error_code()), (StatusCode::CONFLICT, "message_deleted"), "{}", late.body);

    // Only a message of the same conversation, or group, that the sender sees.
    let elsewhere = id(&client.send(&carol, "alice", "hi alice").await);
    let across = client.post("/chat/send", Some(&bob.token), reply(&elsewhere)).await;
    assert_eq!((across.status, across.error_code()), (StatusCode::NOT_FOUND, "message_not_found"), "{}", across.body);
    let malformed = client.post("/chat/send", Some(&bob.token), reply("not-an-id")).await;
    assert_eq!((malformed.status, malformed.error_code()), (StatusCode::BAD_REQUEST, "invalid_reply_to"));
    let group = client.group(&alice, "lunch", &["bob"]).await;
    let before_carol = id(&client.group_send(&alice, &group, "before carol").await);
    assert_eq!(client.add_member(&alice, &group, "carol").await.status, StatusCode::OK);
    let body = json!({ "message": "what was that?", "replyTo": before_carol });
    let unseen = client.post(&format!("/groups/{group}/send"), Some(&carol.token), body.clone()).await;
    assert_eq!((unseen.status, unseen.error_code()), (StatusCode::NOT_FOUND, "message_not_found"));
    let seen = client.post(&format!("/groups/{group}/send"), Some(&bob.token), body).await;
    let bobs = id(&seen);
    let history = client.group_history(&carol, &group).await;
    assert_eq!(find(&history, &bobs)["replyTo"]["preview"], "before carol", "whoever sees a reply sees what it quotes");
}

async fn reactions_count_each_user_once_and_go_with_the_message(backend: Backend) {
    let deployment = Deployment::new(backend);
    let server = deployment.serve();
    let client = Client::new(&server.base_url);
    let (alice, bob, carol) = (client.user("alice").await, client.user("bob").await, client.user("carol").await);
    let group = client.group(&alice, "reacting", &["bob", "carol"]).await;
    let message = id(&client.group_send(&alice, &group, "summit at dawn").await);
    let mut alice_phone = Socket::connect(&server.base_url, &alice.token, None).await;
    let path = |emoji: &str| format!("/groups/{group}/messages/{message}/reactions/{emoji}");
    let thumbs = path("👍");

    // At the same time, from three users: each counted once.
    let (a, b, c) = tokio::join!(
        client.put(&thumbs, Some(&alice.token), json!(null)),
        client.put(&thumbs, Some(&bob.token), json!(null)),
        client.put(&thumbs, Some(&carol.token), json!(null)),
    );
    for reply in [a, b, c] {
        assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.body);
    }
    assert_eq!(
        client.put(&thumbs, Some(&bob.token), json!(null)).await.status,
        StatusCode::NO_CONTENT,
        "again: nothing changes"
    );
    assert_eq!(
        client.put(&path("🧗🏽"), Some(&bob.token), json!(null)).await.status,
        StatusCode::NO_CONTENT,
        "a sequence with a skin tone"
    );
    let mut heard = Vec::new();
    while heard.len() < 4 {
        let frame = alice_phone.next_of("reaction").await;
        assert_eq!(
            (frame["messageId"].as_str(), frame["added"].as_bool()),
            (Some(message.as_str()), Some(true)),
            "{frame}"
        );
        heard.push((frame["actorId"].as_str().unwrap().to_owned(), frame["emoji"].as_str().unwrap().to_owned()));
    }
    heard.sort();
    let mut expected: Vec<(String, String)> = [(&alice, "👍"), (&bob, "👍"), (&carol, "👍"), (&bob, "🧗🏽")]
        .iter()
        .map(|(u, e)| (u.id.clone(), (*e).to_owned()))
        .collect();
    expected.sort();
    assert_eq!(heard, expected, "one frame per change, none for the repeat");
    let reactions =
        async |user: &confab_e2e::User| find(&client.group_history(user, &group).await, &message)["reactions"].clone();
    assert_eq!(
        reactions(&carol).await,
        json!([{ "emoji": "👍", "count": 3, "me": true }, { "emoji": "🧗🏽", "count": 1, "me": false }])
    );
    assert_eq!(client.delete(&path("🧗🏽"), Some(&bob.token)).await.status, StatusCode::NO_CONTENT);
    assert_eq!(client.delete(&path("🧗🏽"), Some(&bob.token)).await.status, StatusCode::NO_CONTENT, "taken back twice");
    assert_eq!(reactions(&bob).await, json!([{ "emoji": "👍", "count": 3, "me": true }]));
    let list = client.get("/groups", Some(&carol.token)).await;
    assert_eq!(list.body["groups"][0]["lastMessage"]["reactions"][0]["count"], 3, "{}", list.body);

    for word in ["thumbsup", "👍👍", "a"] {
        let refused = client.put(&path(word), Some(&bob.token), json!(null)).await;
        assert_eq!((refused.status, refused.error_code()), (StatusCode::NOT_FOUND, "not_an_emoji"), "{word}");
    }
    let dave = client.user("dave").await;
    let outsider = client.put(&thumbs, Some(&dave.token), json!(null)).await;
    assert_eq!((outsider.status, outsider.error_code()), (StatusCode::FORBIDDEN, "not_a_member"));

    // A deleted message keeps no reactions, and takes no more.
    assert_eq!(
        client.delete(&format!("/groups/{group}/messages/{message}"), Some(&alice.token)).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(reactions(&bob).await, Value::Null);
    let late = client.put(&path("🎉"), Some(&bob.token), json!(null)).await;
    assert_eq!((late.status, late.error_code()), (StatusCode::CONFLICT, "message_deleted"));

    // Direct messages alike: both participants, and no one else.
    let hello = id(&client.send(&alice, "bob", "hello").await);
    let heart = format!("/chat/messages/{hello}/reactions/❤️");
    assert_eq!(client.put(&heart, Some(&bob.token), json!(null)).await.status, StatusCode::NO_CONTENT);
    let stranger = client.put(&heart, Some(&carol.token), json!(null)).await;
    assert_eq!((stranger.status, stranger.error_code()), (StatusCode::NOT_FOUND, "message_not_found"));
    let history = client.full_history(&alice, "bob").await;
    assert_eq!(find(&history, &hello)["reactions"], json!([{ "emoji": "❤️", "count": 1, "me": false }]));
}

async fn a_message_deleted_for_me_leaves_only_my_history(backend: Backend) {
    let deployment = Deployment::new(backend);
    let server = deployment.serve();
    let client = Client::new(&server.base_url);
    let (alice, bob) = (client.user("alice").await, client.user("bob").await);
    // His laptop's cursor from before the messages: a resume from it finds them all missed.
    let mut bob_laptop = Socket::connect(&server.base_url, &bob.token, None).await;
    let cursor = bob_laptop.cursor.clone();
    let mut sent = Vec::new();
    for i in 0..6 {
        sent.push(id(&client.send(&alice, "bob", &format!("m{i}")).await));
    }
    for hidden in [&sent[1], &sent[2], &sent[3], &sent[5]] {
        let reply = client.post(&format!("/chat/messages/{hidden}/hide"), Some(&bob.token), json!(null)).await;
        assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.body);
    }
    let again = client.post(&format!("/chat/messages/{}/hide", sent[1]), Some(&bob.token), json!(null)).await;
    assert_eq!(again.status, StatusCode::NO_CONTENT, "again: nothing changes");
    let frame = bob_laptop.next_of("messageHidden").await;
    assert_eq!(frame["messageId"], sent[1].as_str(), "his other devices hear of it");

    // Gone from his history, whole pages still: two at a time skips what he hid.
    let contents =
        |history: Vec<Value>| history.iter().map(|m| m["content"].as_str().unwrap().to_owned()).collect::<Vec<_>>();
    assert_eq!(contents(client.full_history(&bob, "alice").await), ["m0", "m4"]);
    let page = client.get("/chat/messages?recipient=alice&limit=1", Some(&bob.token)).await;
    assert_eq!(contents(page.body["messages"].as_array().unwrap().clone()), ["m4"]);
    let before = page.body["nextCursor"].as_str().unwrap();
    let older = client.get(&format!("/chat/messages?recipient=alice&limit=1&before={before}"), Some(&bob.token)).await;
    assert_eq!(contents(older.body["messages"].as_array().unwrap().clone()), ["m0"], "{}", older.body);
    assert_eq!(
        contents(client.full_history(&alice, "bob").await),
        ["m0", "m1", "m2", "m3", "m4", "m5"],
        "hers is whole"
    );
    let list = client.get("/chat/messages", Some(&bob.token)).await;
    let last = &list.body["conversations"][0]["lastMessage"];
    assert_eq!((last["hidden"].as_bool(), last["content"].as_str()), (Some(true), Some("")), "{last}");
    // Nor is it sent again when his devices resume.
    let resumed = Socket::connect(&server.base_url, &bob.token, Some(&cursor)).await;
    let missed: Vec<&str> =
        resumed.missed.iter().filter(|f| f["type"] == "message").map(|f| f["content"].as_str().unwrap()).collect();
    assert_eq!(missed, ["m0", "m4"]);
    let carol = client.user("carol").await;
    let stranger = client.post(&format!("/chat/messages/{}/hide", sent[0]), Some(&carol.token), json!(null)).await;
    assert_eq!((stranger.status, stranger.error_code()), (StatusCode::NOT_FOUND, "message_not_found"));

    let group = client.group(&alice, "hiding", &["bob"]).await;
    let noise = id(&client.group_send(&alice, &group, "noise").await);
    let hide = client.post(&format!("/groups/{group}/messages/{noise}/hide"), Some(&bob.token), json!(null)).await;
    assert_eq!(hide.status, StatusCode::NO_CONTENT, "{}", hide.body);
    assert!(client.group_history(&bob, &group).await.is_empty());
    assert_eq!(client.group_contents(&alice, &group).await, ["noise"]);
}

/// The caller's unread count of each conversation (by peer) or group (by id) in their lists.
async fn unread(client: &Client, user: &confab_e2e::User) -> std::collections::BTreeMap<String, u64> {
    let mut counts = std::collections::BTreeMap::new();
    let conversations = client.get("/chat/messages", Some(&user.token)).await;
    assert_eq!(conversations.status, StatusCode::OK, "{}", conversations.body);
    for entry in conversations.body["conversations"].as_array().unwrap() {
        let _ = counts
            .insert(entry["peer"]["username"].as_str().unwrap().to_owned(), entry["unreadCount"].as_u64().unwrap());
    }
    let groups = client.get("/groups", Some(&user.token)).await;
    for entry in groups.body["groups"].as_array().unwrap() {
        let _ = counts.insert(entry["name"].as_str().unwrap().to_owned(), entry["unreadCount"].as_u64().unwrap());
    }
    counts
}

fn counts<const N: usize>(expected: [(&str, u64); N]) -> std::collections::BTreeMap<String, u64> {
    expected.into_iter().map(|(place, count)| (place.to_owned(), count)).collect()
}

async fn read_direct(client: &Client, user: &confab_e2e::User, peer: &str, message: &str) -> StatusCode {
    let body = json!({ "recipient": peer, "upToMessageId": message });
    client.post("/chat/read", Some(&user.token), body).await.status
}

async fn unread_counts_follow_a_scripted_history(backend: Backend) {
    let deployment = Deployment::new(backend);
    let server = deployment.serve();
    let client = Client::new(&server.base_url);
    let (alice, bob, carol) = (client.user("alice").await, client.user("bob").await, client.user("carol").await);
    let mut sent = Vec::new();
    for text in ["one", "two", "three"] {
        sent.push(id(&client.send(&alice, "bob", text).await));
    }
    assert_eq!(unread(&client, &bob).await, counts([("alice", 3)]));
    assert_eq!(unread(&client, &alice).await, counts([("bob", 0)]), "one's own messages are seen");

    assert_eq!(read_direct(&client, &bob, "alice", &sent[1]).await, StatusCode::OK);
    assert_eq!(unread(&client, &bob).await, counts([("alice", 1)]), "read up to the second");
    // Edits, deletes and reactions neither add nor take away.
    let path = format!("/chat/messages/{}", sent[2]);
    assert_eq!(client.patch(&path, Some(&alice.token), json!({ "message": "3" })).await.status, StatusCode::OK);
    assert_eq!(unread(&client, &bob).await, counts([("alice", 1)]));
    // Writing is reading: bob's answer leaves nothing unread for him, one for alice.
    let answer = id(&client.send(&bob, "alice", "hi").await);
    assert_eq!(unread(&client, &bob).await, counts([("alice", 0)]));
    assert_eq!(unread(&client, &alice).await, counts([("bob", 1)]));
    assert_eq!(read_direct(&client, &alice, "bob", &answer).await, StatusCode::OK);
    assert_eq!(unread(&client, &alice).await, counts([("bob", 0)]));

    // A group: a member added later has nothing unread from before.
    let group = client.group(&alice, "crag", &["bob"]).await;
    for text in ["g1", "g2"] {
        assert_eq!(client.group_send(&alice, &group, text).await.status, StatusCode::OK);
    }
    assert_eq!(unread(&client, &bob).await, counts([("alice", 0), ("crag", 2)]));
    assert_eq!(client.add_member(&alice, &group, "carol").await.status, StatusCode::OK);
    assert_eq!(unread(&client, &carol).await, counts([("crag", 0)]));
    let g3 = id(&client.group_send(&bob, &group, "g3").await);
    assert_eq!(unread(&client, &carol).await, counts([("crag", 1)]));
    assert_eq!(unread(&client, &alice).await, counts([("bob", 0), ("crag", 1)]));
    assert_eq!(unread(&client, &bob).await, counts([("alice", 0), ("crag", 0)]));
    let body = json!({ "upToMessageId": g3 });
    assert_eq!(client.post(&format!("/groups/{group}/read"), Some(&carol.token), body).await.status, StatusCode::OK);
    assert_eq!(unread(&client, &carol).await, counts([("crag", 0)]));
    assert_eq!(unread(&client, &alice).await, counts([("bob", 0), ("crag", 1)]), "each reader their own");
}

async fn mentions_flag_the_mentioned_and_count_until_read(backend: Backend) {
    let deployment = Deployment::new(backend);
    let server = deployment.serve();
    let client = Client::new(&server.base_url);
    let (alice, bob, carol) = (client.user("alice").await, client.user("bob").await, client.user("carol").await);
    let dave = client.user("dave").await;
    let group = client.group(&alice, "crag", &["bob", "carol"]).await;
    let mut bob_phone = Socket::connect(&server.base_url, &bob.token, None).await;
    let mut carol_phone = Socket::connect(&server.base_url, &carol.token, None).await;

    // By name in the text (a non-member's name is only text, one's own is no mention), and by id.
    let body = json!({ "message": "@Bob, @dave and @alice: see carol", "mentions": [carol.id] });
    let sent = client.post(&format!("/groups/{group}/send"), Some(&alice.token), body).await;
    let first = id(&sent);
    let mut expected = vec![bob.id.clone(), carol.id.clone()];
    expected.sort();
    for phone in [&mut bob_phone, &mut carol_phone] {
        let frame = phone.next_of("message").await;
        assert_eq!((frame["messageId"].as_str(), frame["mention"].as_bool()), (Some(first.as_str()), Some(true)));
        assert_eq!(frame["mentions"], json!(expected));
    }
    let plain = id(&client.group_send(&alice, &group, "no one in particular").await);
    let frame = bob_phone.next_of("message").await;
    assert_eq!((frame["messageId"].as_str(), frame.get("mention")), (Some(plain.as_str()), None), "{frame}");
    let history = client.group_history(&bob, &group).await;
    assert_eq!(find(&history, &first)["mention"], true);
    assert!(find(&client.group_history(&alice, &group).await, &first).get("mention").is_none());

    let unread_of = |user: &confab_e2e::User| {
        let client = &client;
        let token = user.token.clone();
        async move {
            let groups = client.get("/groups", Some(&token)).await;
            let entry = &groups.body["groups"][0];
            (entry["unreadCount"].as_u64().unwrap(), entry["unreadMentions"].as_u64().unwrap())
        }
    };
    assert_eq!(unread_of(&bob).await, (2, 1));
    assert_eq!(unread_of(&carol).await, (2, 1));
    assert_eq!(unread_of(&alice).await, (0, 0));
    let body = json!({ "upToMessageId": first });
    assert_eq!(client.post(&format!("/groups/{group}/read"), Some(&bob.token), body).await.status, StatusCode::OK);
    assert_eq!(unread_of(&bob).await, (1, 0), "read past the mention");
    assert_eq!(unread_of(&carol).await, (2, 1), "each reader their own");

    // A mention by id of someone who is not a member is refused; so are too many.
    let stranger = json!({ "message": "hi", "mentions": [dave.id] });
    let refused = client.post(&format!("/groups/{group}/send"), Some(&alice.token), stranger).await;
    assert_eq!((refused.status, refused.error_code()), (StatusCode::NOT_FOUND, "mention_not_a_member"));
    let many = json!({ "message": "hi", "mentions": vec![bob.id.clone(); 51] });
    let refused = client.post(&format!("/groups/{group}/send"), Some(&alice.token), many).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
}

async fn pins_are_listed_for_whoever_sees_them(backend: Backend) {
    let deployment = Deployment::new(backend);
    let server = deployment.serve();
    let client = Client::new(&server.base_url);
    let (alice, bob, carol) = (client.user("alice").await, client.user("bob").await, client.user("carol").await);

    // Direct: either participant pins; both see it, and hear of it.
    let mut alice_phone = Socket::connect(&server.base_url, &alice.token, None).await;
    let first = id(&client.send(&alice, "bob", "the address").await);
    let second = id(&client.send(&alice, "bob", "the time").await);
    for message in [&first, &second, &first] {
        let pinned = client.put(&format!("/chat/messages/{message}/pin"), Some(&bob.token), json!(null)).await;
        assert_eq!(pinned.status, StatusCode::NO_CONTENT, "again: nothing changes; {}", pinned.body);
    }
    let frame = alice_phone.next_of("messagePinned").await;
    assert_eq!((frame["messageId"].as_str(), frame["pinned"].as_bool()), (Some(first.as_str()), Some(true)));
    assert_eq!(frame["actorId"], bob.id.as_str());
    assert_eq!(
        listed(&client, &alice, "/chat/pins?recipient=bob").await,
        [second.clone(), first.clone()],
        "newest first"
    );
    let history = client.full_history(&alice, "bob").await;
    assert_eq!(find(&history, &first)["pinnedBy"], bob.id.as_str());
    assert!(find(&history, &first)["pinnedAt"].as_str().is_some_and(|at| at.ends_with('Z')));
    let unpinned = client.delete(&format!("/chat/messages/{second}/pin"), Some(&alice.token)).await;
    assert_eq!(unpinned.status, StatusCode::NO_CONTENT);
    assert_eq!(listed(&client, &bob, "/chat/pins?recipient=alice").await, vec![first.clone()]);
    // A delete unpins; a deleted message cannot be pinned.
    assert_eq!(
        client.delete(&format!("/chat/messages/{first}"), Some(&alice.token)).await.status,
        StatusCode::NO_CONTENT
    );
    assert!(listed(&client, &bob, "/chat/pins?recipient=alice").await.is_empty());
    let refused = client.put(&format!("/chat/messages/{first}/pin"), Some(&bob.token), json!(null)).await;
    assert_eq!((refused.status, refused.error_code()), (StatusCode::CONFLICT, "message_deleted"));
    let stranger = client.put(&format!("/chat/messages/{second}/pin"), Some(&carol.token), json!(null)).await;
    assert_eq!((stranger.status, stranger.error_code()), (StatusCode::NOT_FOUND, "message_not_found"));

    // A group: admins pin; a member added later sees only the pins of what they see.
    let group = client.group(&alice, "crag", &["bob"]).await;
    let early = id(&client.group_send(&bob, &group, "before carol").await);
    let path = |message: &str| format!("/groups/{group}/messages/{message}/pin");
    let not_admin = client.put(&path(&early), Some(&bob.token), json!(null)).await;
    assert_eq!((not_admin.status, not_admin.error_code()), (StatusCode::FORBIDDEN, "not_an_admin"));
    assert_eq!(client.put(&path(&early), Some(&alice.token), json!(null)).await.status, StatusCode::NO_CONTENT);
    assert_eq!(client.add_member(&alice, &group, "carol").await.status, StatusCode::OK);
    let late = id(&client.group_send(&bob, &group, "after carol").await);
    assert_eq!(client.put(&path(&late), Some(&alice.token), json!(null)).await.status, StatusCode::NO_CONTENT);
    let pins = format!("/groups/{group}/pins");
    assert_eq!(listed(&client, &bob, &pins).await, [late.clone(), early.clone()]);
    assert_eq!(listed(&client, &carol, &pins).await, vec![late.clone()], "what came before her stays unseen");
    let outsider = client.user("dave").await;
    let refused = client.get(&format!("/groups/{group}/pins"), Some(&outsider.token)).await;
    assert_eq!((refused.status, refused.error_code()), (StatusCode::FORBIDDEN, "not_a_member"));
}

backend_tests!(
    pins_are_listed_for_whoever_sees_them,
    mentions_flag_the_mentioned_and_count_until_read,
    unread_counts_follow_a_scripted_history,
    a_deleted_message_takes_its_files_along,
    a_message_deleted_for_me_leaves_only_my_history,
    reactions_count_each_user_once_and_go_with_the_message,
    a_reply_quotes_its_message_as_it_stands,
    a_sender_edits_and_deletes_a_direct_message_for_both,
    group_admins_delete_any_message_and_members_act_only_on_what_they_see,
    edits_close_with_the_edit_window,
);
