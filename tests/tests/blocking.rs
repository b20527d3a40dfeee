//! Blocking: a block closes two users' direct conversation both ways (messages, receipts,
//! typing) and keeps the blocked user from adding the blocker to groups, from its place in the
//! conversation's order on, until it is lifted; the blocked user learns no more than a 403.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;

use confab_e2e::{Backend, Client, Deployment, Socket, append_from_outside, backend_tests, seal};
use confab_eventlog::{Header, Record};
use confab_schemas::{
    Codec, DirectMessageSent, DirectMessageSentPayload, Event, HEADER_EVENT_TYPE, HEADER_SCHEMA_FINGERPRINT,
};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Waits for the message `id` on `socket`. Messages sent before the socket opened may come
/// first (the notifier can be behind the log); none of them is one a block refused or dropped,
/// since those are after the block and `id` is after its lifting.
async fn next_message_is(socket: &mut Socket, id: &Value) {
    for _ in 0..10 {
        let frame = socket.next_of("message").await;
        if frame["messageId"] == *id {
            return;
        }
        assert_ne!(frame["content"], "raced the block", "{frame}");
    }
    panic!("message {id} did not come");
}

fn blocked(reply: &confab_e2e::Reply) -> bool {
    reply.status == StatusCode::FORBIDDEN && reply.error_code() == "blocked"
}

async fn a_block_closes_the_conversation_both_ways_until_lifted(backend: Backend) {
    let deployment = Deployment::new(backend);
    let mut server = deployment.serve();
    let client = Client::new(&server.base_url);
    let (alice, bob, carol) = (client.user("alice").await, client.user("bob").await, client.user("carol").await);
    let before = client.send(&bob, "alice", "before the block").await;
    assert_eq!(before.status, StatusCode::OK);
    let to_bob = client.send(&alice, "bob", "hi bob").await;
    let to_bob_id = to_bob.body["messageId"].as_str().unwrap().to_owned();

    let block = client.put("/me/blocked/BOB", Some(&alice.token), json!(null)).await;
    assert_eq!(block.status, StatusCode::NO_CONTENT, "{}", block.body);
    // Blocking again changes nothing (and appends nothing: counted below).
    assert_eq!(client.put("/me/blocked/bob", Some(&alice.token), json!(null)).await.status, StatusCode::NO_CONTENT);
    let list = client.get("/me/blocked", Some(&alice.token)).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    let listed = list.body["blocked"].as_array().unwrap();
    assert_eq!(listed.len(), 1, "{}", list.body);
    assert_eq!((listed[0]["username"].as_str(), listed[0]["userId"].as_str()), (Some("bob"), Some(bob.id.as_str())));
    assert!(listed[0]["since"].as_str().unwrap().ends_with('Z'));
    assert_eq!(client.get("/me/blocked", Some(&bob.token)).await.body["blocked"], json!([]));

    // Both ways: the blocked user and the blocker alike.
    let from_bob = client.send(&bob, "alice", "after the block").await;
    assert!(blocked(&from_bob), "{} {}", from_bob.status, from_bob.body);
    let from_alice = client.send(&alice, "bob", "me neither").await;
    assert!(blocked(&from_alice), "{}", from_alice.body);
    assert_ne!(from_bob.body["error"]["message"], from_alice.body["error"]["message"], "the blocker is told why");
    let read =
        client.post("/chat/read", Some(&bob.token), json!({ "recipient": "alice", "upToMessageId": to_bob_id })).await;
    assert!(blocked(&read), "{}", read.body);
    let mut bob_phone = Socket::connect(&server.base_url, &bob.token, None).await;
    bob_phone.send(json!({ "type": "typing", "to": "alice" })).await;
    let error = bob_phone.next_of("error").await;
    assert_eq!(error["code"], "blocked", "{error}");
    bob_phone.send(json!({ "type": "read", "to": "alice", "upToMessageId": to_bob_id })).await;
    assert_eq!(bob_phone.next_of("error").await["code"], "blocked");

    // The blocked user cannot add the blocker to a group, made or existing.
    let made = client.create_group(&bob, "with alice", &["carol", "alice"]).await;
    assert!(blocked(&made), "{}", made.body);
    let group = client.group(&bob, "bob and carol", &["carol"]).await;
    assert!(blocked(&client.add_member(&bob, &group, "alice").await));
    // The blocker may add the blocked user to hers: a group is shared space.
    let hers = client.group(&alice, "alice's", &["bob"]).await;
    assert_eq!(client.group_send(&bob, &hers, "in the group").await.status, StatusCode::OK);

    // Others are not touched; nor are the people themselves.
    assert_eq!(client.send(&carol, "alice", "hello alice").await.status, StatusCode::OK);
    let own = client.put("/me/blocked/alice", Some(&alice.token), json!(null)).await;
    assert_eq!((own.status, own.error_code()), (StatusCode::CONFLICT, "cannot_block_self"));
    let nobody = client.put("/me/blocked/nobody", Some(&alice.token), json!(null)).await;
    assert_eq!(nobody.status, StatusCode::NOT_FOUND);
    assert_eq!(client.put("/me/blocked/bob", None, json!(null)).await.status, StatusCode::UNAUTHORIZED);
    let history: Vec<String> =
        client.full_history(&alice, "bob").await.iter().map(|m| m["content"].as_str().unwrap().to_owned()).collect();
    assert_eq!(history, ["before the block", "hi bob"], "what came before the block stays");

    // Lifted: the conversation takes messages again, live as well.
    let mut alice_phone = Socket::connect(&server.base_url, &alice.token, None).await;
    let lift = client.delete("/me/blocked/bob", Some(&alice.token)).await;
    assert_eq!(lift.status, StatusCode::NO_CONTENT, "{}", lift.body);
    assert_eq!(client.delete("/me/blocked/bob", Some(&alice.token)).await.status, StatusCode::NO_CONTENT);
    assert_eq!(client.get("/me/blocked", Some(&alice.token)).await.body["blocked"], json!([]));
    let after = client.send(&bob, "alice", "friends again").await;
    assert_eq!(after.status, StatusCode::OK, "{}", after.body);
    next_message_is(&mut alice_phone, &after.body["messageId"]).await;
    assert_eq!(client.add_member(&bob, &group, "alice").await.status, StatusCode::OK);

    // On the log: one block and one lifting, in the two users' conversation.
    server.stop();
    let events = deployment.events("confab.messages");
    let of_type = |t: &str| -> Vec<&Value> { events.iter().filter(|e| e["type"] == t).collect() };
    let (blocks, lifts) = (of_type("io.confab.events.UserBlocked"), of_type("io.confab.events.UserUnblocked"));
    assert_eq!((blocks.len(), lifts.len()), (1, 1), "{events:?}");
    assert_eq!(blocks[0]["key"], before.body["conversationId"]);
    assert_eq!(blocks[0]["event"]["payload"]["blockedUsername"], "bob");
}

async fn a_block_takes_effect_at_its_place_in_the_conversation_order(backend: Backend) {
    let deployment = Deployment::new(backend);
    let mut server = deployment.serve();
    let client = Client::new(&server.base_url);
    let (alice, bob) = (client.user("alice").await, client.user("bob").await);
    let mut alice_phone = Socket::connect(&server.base_url, &alice.token, None).await;

    // Bob's sends race Alice's block: whatever the checks read, the log's order decides.
    let senders = (0..4).map(|task| {
        let (client, bob) = (&client, &bob);
        async move {
            let mut answers = Vec::new();
            for i in 0..15 {
                let reply = client.send(bob, "alice", &format!("m{task}-{i}")).await;
                assert!(reply.status == StatusCode::OK || blocked(&reply), "{} {}", reply.status, reply.body);
                answers.push(reply.body["messageId"].as_str().map(str::to_owned));
            }
            answers
        }
    });
    let block = async {
        // Let some of the sends through first: wait for one of them to arrive.
        let _ = Socket::connect(&server.base_url, &alice.token, None).await.next_of("message").await;
        let reply = client.put("/me/blocked/bob", Some(&alice.token), json!(null)).await;
        assert_eq!(reply.status, StatusCode::NO_CONTENT);
    };
    let (answers, ()) = tokio::join!(futures::future::join_all(senders), block);
    let accepted: HashSet<String> = answers.into_iter().flatten().flatten().collect();
    assert!(!accepted.is_empty());
    let history: HashSet<String> =
        client.full_history(&alice, "bob").await.iter().map(|m| m["messageId"].as_str().unwrap().to_owned()).collect();
    assert_eq!(history, accepted, "every accepted send is kept; nothing refused is");

    // Live: the accepted ones, and none after the block: lifted, the next message is next.
    let mut pushed = HashSet::new();
    while pushed.len() < accepted.len() {
        let _ = pushed.insert(alice_phone.next_of("message").await["messageId"].as_str().unwrap().to_owned());
    }
    assert_eq!(pushed, accepted);
    assert_eq!(client.delete("/me/blocked/bob", Some(&alice.token)).await.status, StatusCode::NO_CONTENT);
    let sentinel = client.send(&bob, "alice", "after the lifting").await;
    assert_eq!(alice_phone.next_of("message").await["messageId"], sentinel.body["messageId"]);

    // On the log, every message after the block (there may be some: the race) was not kept.
    server.stop();
    let events = deployment.events("confab.messages");
    let block_offset = events
        .iter()
        .find(|e| e["type"] == "io.confab.events.UserBlocked")
        .map(|e| e["offset"].as_u64().unwrap())
        .unwrap();
    let lift_offset = events
        .iter()
        .find(|e| e["type"] == "io.confab.events.UserUnblocked")
        .map(|e| e["offset"].as_u64().unwrap())
        .unwrap();
    for event in events.iter().filter(|e| e["type"] == "io.confab.events.DirectMessageSent") {
        let (offset, id) =
            (event["offset"].as_u64().unwrap(), event["event"]["payload"]["messageId"].as_str().unwrap());
        let kept = offset < block_offset || offset > lift_offset;
        assert_eq!(kept, accepted.contains(id) || id == sentinel.body["messageId"], "{event}");
    }
}

/// A direct message as a producer whose block check raced the block would append it.
fn raced_message(
    from: &confab_e2e::User,
    to: &confab_e2e::User,
    conversation_id: &str,
    text: &str,
) -> (String, Record) {
    let message_id = uuid::Uuid::now_v7().to_string();
    let occurred_at = chrono::Utc::now().timestamp_millis();
    let event = Event::DirectMessageSent(DirectMessageSent {
        event_id: uuid::Uuid::now_v7().to_string(),
        occurred_at,
        actor_id: from.id.clone(),
        payload: DirectMessageSentPayload {
            message_id: message_id.clone(),
            conversation_id: conversation_id.to_owned(),
            sender_id: from.id.clone(),
            sender_username: from.username.clone(),
            recipient_id: to.id.clone(),
            recipient_username: to.username.clone(),
            content: seal(&format!("conversation/{conversation_id}"), text, &message_id),
            client_message_id: None,
            attachments: Vec::new(),
            reply_to_message_id: None,
        },
    });
    let encoded = Codec::new().unwrap().encode(&event).unwrap();
    let record = Record {
        key: conversation_id.as_bytes().to_vec(),
        headers: vec![
            Header { name: HEADER_EVENT_TYPE.into(), value: encoded.event_type.as_bytes().to_vec() },
            Header { name: HEADER_SCHEMA_FINGERPRINT.into(), value: encoded.fingerprint_hex().into_bytes() },
        ],
        value: encoded.value,
        timestamp_ms: occurred_at,
    };
    (message_id, record)
}

async fn a_message_after_a_block_in_the_log_is_not_kept_however_its_check_raced(backend: Backend) {
    let deployment = Deployment::new(backend);
    let mut server = deployment.serve();
    let client = Client::new(&server.base_url);
    let (alice, bob) = (client.user("alice").await, client.user("bob").await);
    let before = client.send(&bob, "alice", "before").await;
    let conversation = before.body["conversationId"].as_str().unwrap().to_owned();
    assert_eq!(client.put("/me/blocked/bob", Some(&alice.token), json!(null)).await.status, StatusCode::NO_CONTENT);
    // Alice listens from before the raced message (on Kafka; the embedded log is written stopped).
    let phone = if deployment.is_embedded() {
        server.stop();
        None
    } else {
        Some(Socket::connect(&server.base_url, &alice.token, None).await)
    };
    // After the block in the conversation's order, whatever a check said when it was sent.
    let (raced_id, record) = raced_message(&bob, &alice, &conversation, "raced the block");
    append_from_outside(&deployment, "confab.messages", record).await;
    if deployment.is_embedded() {
        server.start_again();
    }
    let client = Client::new(&server.base_url);
    let mut phone = match phone {
        Some(phone) => phone,
        None => Socket::connect(&server.base_url, &alice.token, None).await,
    };
    // Lifted: the next message pushed is the one after the lifting, not the raced one.
    assert_eq!(client.delete("/me/blocked/bob", Some(&alice.token)).await.status, StatusCode::NO_CONTENT);
    let after = client.send(&bob, "alice", "after the lifting").await;
    assert_eq!(after.status, StatusCode::OK, "{}", after.body);
    next_message_is(&mut phone, &after.body["messageId"]).await;
    let history: Vec<Value> = client.full_history(&alice, "bob").await;
    let ids: Vec<&str> = history.iter().map(|m| m["messageId"].as_str().unwrap()).collect();
    assert_eq!(ids, [before.body["messageId"].as_str().unwrap(), after.body["messageId"].as_str().unwrap()]);
    assert!(!ids.contains(&raced_id.as_str()));
    // The conversation list's last message is not the raced one either.
    let list = client.get("/chat/messages", Some(&bob.token)).await;
    assert!(!list.body.to_string().contains(&raced_id), "{}", list.body);
}

backend_tests!(
    a_message_after_a_block_in_the_log_is_not_kept_however_its_check_raced,
    a_block_closes_the_conversation_both_ways_until_lifted,
    a_block_takes_effect_at_its_place_in_the_conversation_order,
);
