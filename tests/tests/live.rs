//! Real-time delivery over `/ws`, with a real WebSocket client: live frames on every device,
//! authentication, resuming without loss or duplicates, slow clients, receipts and typing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    collections::{HashMap, HashSet},
    io::Write as _,
    time::Instant,
};

use confab_e2e::{Backend, Client, Deployment, Socket, WsError, backend_tests};
use futures::StreamExt;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// A frame's fields as the history endpoints show them: without `type`, `kind` and `cursor`.
fn as_history(frame: &Value) -> Value {
    let mut view = frame.clone();
    for field in ["type", "kind", "cursor"] {
        let _ = view.as_object_mut().unwrap().remove(field);
    }
    view
}

async fn messages_reach_every_device_of_everyone_in_the_conversation(backend: Backend) {
    let deployment = Deployment::new(backend);
    let server = deployment.serve();
    let client = Client::new(&server.base_url);
    let (alice, bob, carol) = (client.user("alice").await, client.user("bob").await, client.user("carol").await);
    let mut alice_phone = Socket::connect(&server.base_url, &alice.token, None).await;
    let mut alice_laptop = Socket::connect(&server.base_url, &alice.token, None).await;
    let mut bob_phone = Socket::connect(&server.base_url, &bob.token, None).await;

    // Direct: the recipient and every device of the sender, with the history's fields.
    let mut latencies = Vec::new();
    for i in 0..20 {
        let sent = client.send(&alice, "bob", &format!("hello {i}")).await;
        assert_eq!(sent.status, StatusCode::OK);
        let returned = Instant::now();
        let frame = bob_phone.next_of("message").await;
        latencies.push(returned.elapsed());
        assert_eq!(frame["kind"], "direct");
        assert_eq!(frame["messageId"], sent.body["messageId"]);
        assert_eq!(frame["content"], format!("hello {i}"));
        for device in [&mut alice_phone, &mut alice_laptop] {
            assert_eq!(device.next_of("message").await["messageId"], sent.body["messageId"]);
        }
    }
    let history = client.full_history(&bob, "alice").await;
    let last = bob_phone.cursor.clone();
    assert!(!last.is_empty());
    latencies.sort();
    // A figure for later benchmarks, not a threshold.
    let _ = writeln!(
        std::io::stderr(),
        "live delivery latency (send returned -> frame arrived), {} messages: p50 {:?}, max {:?}",
        latencies.len(),
        latencies[latencies.len() / 2],
        latencies[latencies.len() - 1]
    );

    // The frame carries exactly the history entry's fields.
    let sent = client.send(&bob, "alice", "same fields").await;
    let frame = alice_phone.next_of("message").await;
    let entry = client.full_history(&alice, "bob").await.into_iter().find(|m| m["messageId"] == sent.body["messageId"]);
    assert_eq!(as_history(&frame), entry.unwrap());
    assert_eq!(history.len(), 20);
    let _ = alice_laptop.next_of("message").await;
    let _ = bob_phone.next_of("message").await;

    // Groups: a `group` frame on creation, then messages to every member's devices.
    let group = client.group(&carol, "climbing", &["alice", "bob"]).await;
    for device in [&mut alice_phone, &mut alice_laptop, &mut bob_phone] {
        let created = device.next_of("group").await;
        assert_eq!(created["event"], "created");
        assert_eq!(created["groupId"], group);
        assert_eq!(created["name"], "climbing");
    }
    let sent = client.group_send(&carol, &group, "saturday?").await;
    assert_eq!(sent.status, StatusCode::OK);
    for device in [&mut alice_phone, &mut alice_laptop, &mut bob_phone] {
        let frame = device.next_of("message").await;
        assert_eq!(frame["kind"], "group");
        assert_eq!(frame["groupId"], group);
        assert_eq!(frame["sender"], "carol");
        assert_eq!(frame["content"], "saturday?");
    }
    let entry = client.group_history(&bob, &group).await.pop().unwrap();
    let renamed = client.patch(&format!("/groups/{group}"), Some(&carol.token), json!({ "name": "bouldering" })).await;
    assert_eq!(renamed.status, StatusCode::OK);
    let frame = bob_phone.next_of("group").await;
    assert_eq!((frame["event"].as_str(), frame["name"].as_str()), (Some("renamed"), Some("bouldering")));
    assert_eq!(entry["content"], "saturday?");
}

async fn the_token_is_checked_before_the_upgrade(backend: Backend) {
    let deployment = Deployment::new(backend);
    let server = deployment.serve();
    let client = Client::new(&server.base_url);
    let alice = client.user("alice").await;
    let refused = |result: Result<Socket, WsError>| match result {
        Err(WsError::Http(response)) => {
            let body: Value = serde_json::from_slice(response.body().as_deref().unwrap_or_default()).unwrap();
            (response.status().as_u16(), body["error"]["code"].as_str().unwrap_or_default().to_owned())
        }
        Err(other) => panic!("expected an http refusal, got {other}"),
        Ok(_) => panic!("expected a refusal, got a connection"),
    };
    let none = Socket::open(Socket::request(&server.base_url, "")).await;
    assert_eq!(refused(none), (401, "unauthorized".to_owned()));
    let forged = Socket::open(Socket::request(&server.base_url, "?token=not.a.jwt")).await;
    assert_eq!(refused(forged), (401, "unauthorized".to_owned()));
    let mut header = Socket::request(&server.base_url, "");
    let _ = header.headers_mut().insert("authorization", "Basic abc".parse().unwrap());
    assert_eq!(refused(Socket::open(header).await).0, 401);
    let bad_cursor =
        Socket::open(Socket::request(&server.base_url, &format!("?token={}&since=xyz", alice.token))).await;
    assert_eq!(refused(bad_cursor), (400, "invalid_cursor".to_owned()));

    // A browser's two ways: the query string, and the protocol list.
    let by_query = Socket::open(Socket::request(&server.base_url, &format!("?token={}", alice.token))).await.unwrap();
    by_query.close().await;
    let mut by_protocol = Socket::request(&server.base_url, "");
    let _ =
        by_protocol.headers_mut().insert("sec-websocket-protocol", format!("bearer, {}", alice.token).parse().unwrap());
    let by_protocol = Socket::open(by_protocol).await.unwrap();
    by_protocol.close().await;

    // Plain HTTP on /ws is told to upgrade.
    let plain = client.get("/ws", Some(&alice.token)).await;
    assert_eq!(plain.status, StatusCode::UPGRADE_REQUIRED);
    assert_eq!(plain.error_code(), "upgrade_required");
}

async fn a_reconnect_with_since_gets_exactly_what_was_missed_then_live_frames(backend: Backend) {
    let deployment = Deployment::new(backend);
    let server = deployment.serve();
    let client = Client::new(&server.base_url);
    let (alice, bob, carol) = (client.user("alice").await, client.user("bob").await, client.user("carol").await);
    let group = client.group(&carol, "book club", &["bob"]).await;
    let mut bob_phone = Socket::connect(&server.base_url, &bob.token, None).await;
    let before = client.send(&alice, "bob", "before the tunnel").await;
    assert_eq!(bob_phone.next_of("message").await["messageId"], before.body["messageId"]);
    let cursor = bob_phone.cursor.clone();
    bob_phone.close().await;

    // 100 messages from others while bob is away, from two senders in two conversations, with
    // sends interleaved across both.
    let mut sent_direct = Vec::new();
    let mut sent_group = Vec::new();
    for i in 0..50 {
        let direct = client.send(&alice, "bob", &format!("direct {i}")).await;
        assert_eq!(direct.status, StatusCode::OK);
        sent_direct.push(direct.body["messageId"].clone());
        let grouped = client.group_send(&carol, &group, &format!("group {i}")).await;
        assert_eq!(grouped.status, StatusCode::OK);
        sent_group.push(grouped.body["messageId"].clone());
    }

    let mut bob_phone = Socket::connect(&server.base_url, &bob.token, Some(&cursor)).await;
    // The newest may come just after `ready`: a send waits for its projection, not for every
    // process's notifier, which may not have reached it when bob reconnected.
    let mut frames: Vec<Value> = bob_phone.missed.iter().filter(|f| f["type"] == "message").cloned().collect();
    while frames.len() < 100 {
        frames.push(bob_phone.next_of("message").await);
    }
    let missed: Vec<&Value> = frames.iter().collect();
    assert_eq!(missed.len(), 100, "exactly what was missed, nothing before the cursor");
    let ids: Vec<Value> = missed.iter().map(|f| f["messageId"].clone()).collect();
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 100, "no duplicates");
    let in_conversation = |kind: &str| -> Vec<Value> {
        missed.iter().filter(|f| f["kind"] == kind).map(|f| f["messageId"].clone()).collect()
    };
    assert_eq!(in_conversation("direct"), sent_direct, "conversation order");
    assert_eq!(in_conversation("group"), sent_group, "group order");
    let history: Vec<Value> = client.full_history(&bob, "alice").await.into_iter().skip(1).collect();
    let missed_direct: Vec<Value> = missed.iter().filter(|f| f["kind"] == "direct").map(|f| as_history(f)).collect();
    assert_eq!(missed_direct, history, "the same entries as the history");

    // Then live, with no gap.
    let live = client.send(&alice, "bob", "welcome back").await;
    assert_eq!(bob_phone.next_of("message").await["messageId"], live.body["messageId"]);

    // Resuming from the newest cursor misses nothing and repeats nothing.
    let newest = bob_phone.cursor.clone();
    bob_phone.close().await;
    let again = Socket::connect(&server.base_url, &bob.token, Some(&newest)).await;
    assert!(again.missed.is_empty(), "{:?}", again.missed);
    again.close().await;
}

async fn a_slow_client_is_disconnected_and_resumes_without_loss(backend: Backend) {
    let mut deployment = Deployment::new(backend);
    let _ = deployment.env("CONFAB_WS_QUEUE_FRAMES", "32").env("CONFAB_WS_PING_SECS", "60");
    let server = deployment.serve();
    let client = Client::new(&server.base_url);
    let (alice, bob) = (client.user("alice").await, client.user("bob").await);
    // A device on a bad network: a tiny receive window, and it reads nothing. Big frames fill
    // the server's socket buffer, then the connection's queue.
    let mut slow = Socket::connect_with_receive_window(&server.base_url, &bob.token, 4096).await;
    let mut fast = Socket::connect(&server.base_url, &bob.token, None).await;
    let body = "x".repeat(60 * 1024);
    let total = 300;
    let mut sends = futures::stream::iter(0..total)
        .map(|i| {
            let (client, alice, body) = (client.clone(), alice.clone(), body.clone());
            async move { client.send(&alice, "bob", &format!("{i} {body}")).await }
        })
        .buffered(4);
    let (mut ids, mut fast_got) = (Vec::new(), HashSet::new());
    while let Some(sent) = sends.next().await {
        assert_eq!(sent.status, StatusCode::OK, "{}", sent.body);
        ids.push(sent.body["messageId"].as_str().unwrap().to_owned());
        // The other device keeps up the whole time.
        let frame = fast.next_of("message").await;
        let _ = fast_got.insert(frame["messageId"].as_str().unwrap().to_owned());
    }
    assert_eq!(fast_got.len(), total, "a slow device never slows another");

    let (frames, close) = slow.until_closed().await;
    let close = close.expect("a close frame");
    assert_eq!(u16::from(close.code), 4001, "{close:?}");
    let mut received: HashSet<String> =
        frames.iter().filter(|f| f["type"] == "message").map(|f| f["messageId"].as_str().unwrap().to_owned()).collect();
    assert!(received.len() < total, "it was cut off");
    let mut resumed = Socket::connect(&server.base_url, &bob.token, Some(&slow.cursor)).await;
    for frame in resumed.missed.iter().filter(|f| f["type"] == "message") {
        assert!(received.insert(frame["messageId"].as_str().unwrap().to_owned()), "a duplicate after resuming");
    }
    // Any the notifier had not reached at reconnect come live, after `ready`.
    while received.len() < total {
        let frame = resumed.next_of("message").await;
        assert!(received.insert(frame["messageId"].as_str().unwrap().to_owned()), "a duplicate after resuming");
    }
    assert_eq!(received, ids.into_iter().collect::<HashSet<_>>());
}

async fn acks_and_reads_become_receipts_for_the_sender_and_show_in_history(backend: Backend) {
    let deployment = Deployment::new(backend);
    let server = deployment.serve();
    let client = Client::new(&server.base_url);
    let (alice, bob, carol) = (client.user("alice").await, client.user("bob").await, client.user("carol").await);
    let mut alice_phone = Socket::connect(&server.base_url, &alice.token, None).await;
    let mut bob_phone = Socket::connect(&server.base_url, &bob.token, None).await;
    let mut bob_laptop = Socket::connect(&server.base_url, &bob.token, None).await;
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(client.send(&alice, "bob", &format!("m{i}")).await.body["messageId"].as_str().unwrap().to_owned());
    }
    let frames = bob_phone.messages(3).await;
    let _ = bob_laptop.messages(3).await;
    let acked: Vec<Value> = frames.iter().map(|f| f["messageId"].clone()).collect();
    bob_phone.send(json!({ "type": "ack", "messageIds": acked })).await;
    let receipt = alice_phone.next_of("receipt").await;
    assert_eq!(receipt["status"], "delivered");
    assert_eq!(receipt["kind"], "direct");
    assert_eq!(receipt["readerId"], bob.id);
    assert_eq!(receipt["upToMessageId"], ids[2]);
    // The second device acking the same frames adds nothing: the next receipt is the read.
    bob_laptop.send(json!({ "type": "ack", "messageIds": acked })).await;
    let read =
        client.post("/chat/read", Some(&bob.token), json!({ "recipient": "alice", "upToMessageId": ids[1] })).await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.body);
    let receipt = alice_phone.next_of("receipt").await;
    assert_eq!((receipt["status"].as_str(), receipt["upToMessageId"].as_str()), (Some("read"), Some(ids[1].as_str())));
    // The reader's own devices hear of the read too, to clear their unread badges.
    let echo = bob_laptop.next_of("receipt").await;
    assert_eq!(echo["status"], "read");

    // The sender's history shows each message's state.
    let history = client.full_history(&alice, "bob").await;
    let states: Vec<&str> = history.iter().map(|m| m["status"].as_str().unwrap()).collect();
    assert_eq!(states, ["read", "read", "delivered"]);
    let theirs = client.full_history(&bob, "alice").await;
    assert!(theirs.iter().all(|m| m.get("status").is_none()), "only the sender sees states");

    // Bad reads.
    for (body, status) in [
        (
            json!({ "recipient": "alice", "upToMessageId": "0190f5a2-7c1e-7000-8000-000000000000" }),
            StatusCode::NOT_FOUND,
        ),
        (json!({ "recipient": "alice", "upToMessageId": "nope" }), StatusCode::NOT_FOUND),
        (json!({ "recipient": "nobody", "upToMessageId": ids[0] }), StatusCode::NOT_FOUND),
        (json!({ "recipient": "alice" }), StatusCode::BAD_REQUEST),
    ] {
        assert_eq!(client.post("/chat/read", Some(&bob.token), body).await.status, status);
    }
    // Carol cannot mark alice and bob's conversation: hers with alice has no such message.
    let stranger =
        client.post("/chat/read", Some(&carol.token), json!({ "recipient": "alice", "upToMessageId": ids[0] })).await;
    assert_eq!(stranger.status, StatusCode::NOT_FOUND);

    // Groups: receipts go to the members, history counts them for the sender.
    let group = client.group(&alice, "trio", &["bob", "carol"]).await;
    let _ = bob_phone.next_of("group").await;
    let sent = client.group_send(&alice, &group, "hi both").await;
    let message_id = sent.body["messageId"].as_str().unwrap().to_owned();
    let frame = bob_phone.next_of("message").await;
    bob_phone.send(json!({ "type": "ack", "messageIds": [frame["messageId"]] })).await;
    let receipt = alice_phone.next_of("receipt").await;
    assert_eq!((receipt["kind"].as_str(), receipt["status"].as_str()), (Some("group"), Some("delivered")));
    bob_phone.send(json!({ "type": "read", "to": group, "upToMessageId": message_id })).await;
    let receipt = alice_phone.next_of("receipt").await;
    assert_eq!(receipt["status"], "read");
    let read =
        client.post(&format!("/groups/{group}/read"), Some(&carol.token), json!({ "upToMessageId": message_id })).await;
    assert_eq!(read.status, StatusCode::OK);
    let _ = alice_phone.next_of("receipt").await;
    let entry = client.group_history(&alice, &group).await.pop().unwrap();
    assert_eq!((entry["deliveredCount"].as_u64(), entry["readCount"].as_u64()), (Some(2), Some(2)), "{entry}");
    let outsider = client.user("dave").await;
    let refused = client
        .post(&format!("/groups/{group}/read"), Some(&outsider.token), json!({ "upToMessageId": message_id }))
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);

    // A bad frame gets an error frame, and the connection stays.
    bob_phone.send(json!({ "type": "launch" })).await;
    assert_eq!(bob_phone.next_of("error").await["code"], "invalid_frame");
    bob_phone.send(json!({ "type": "read", "to": "nobody", "upToMessageId": message_id })).await;
    assert_eq!(bob_phone.next_of("error").await["code"], "user_not_found");
}

async fn typing_reaches_the_others_once_a_second_and_is_not_stored(backend: Backend) {
    let deployment = Deployment::new(backend);
    let mut server = deployment.serve();
    let client = Client::new(&server.base_url);
    let (alice, bob, carol) = (client.user("alice").await, client.user("bob").await, client.user("carol").await);
    let mut alice_phone = Socket::connect(&server.base_url, &alice.token, None).await;
    let mut bob_phone = Socket::connect(&server.base_url, &bob.token, None).await;
    let burst = std::time::Instant::now();
    for _ in 0..5 {
        bob_phone.send(json!({ "type": "typing", "to": "alice" })).await;
    }
    // Typing travels over the socket and the message over HTTP: the first typing frame is awaited
    // before the message is sent, since the two paths keep no order between them.
    let frame = alice_phone.next_of("typing").await;
    assert_eq!((frame["userId"].as_str(), frame["kind"].as_str()), (Some(bob.id.as_str()), Some("direct")));
    let sent = client.send(&bob, "alice", "there").await;
    let mut seen: HashMap<String, usize> = HashMap::from([("typing".to_owned(), 1)]);
    loop {
        let frame = alice_phone.next_frame().await;
        *seen.entry(frame["type"].as_str().unwrap().to_owned()).or_default() += 1;
        if frame["messageId"] == sent.body["messageId"] {
            break;
        }
    }
    // One a second: a busy machine that spread the burst's handling over more than a second may
    // rightly relay one more per second it took.
    let allowed = 1 + burst.elapsed().as_secs() as usize;
    let typing = seen["typing"];
    assert!(typing <= allowed, "five typing frames in a burst arrive as one: {typing} in {allowed} s");
    // Bob's own device does not hear his typing.
    let next = bob_phone.next_of("message").await;
    assert_eq!(next["messageId"], sent.body["messageId"]);

    let group = client.group(&carol, "g", &["alice", "bob"]).await;
    let _ = alice_phone.next_of("group").await;
    bob_phone.send(json!({ "type": "typing", "to": group })).await;
    let frame = alice_phone.next_of("typing").await;
    assert_eq!((frame["kind"].as_str(), frame["groupId"].as_str()), (Some("group"), Some(group.as_str())));
    let outsider = client.user("dave").await;
    let mut dave = Socket::connect(&server.base_url, &outsider.token, None).await;
    dave.send(json!({ "type": "typing", "to": group })).await;
    assert_eq!(dave.next_of("error").await["code"], "not_a_member");
    // Not on the log.
    server.stop();
    let types: Vec<String> = deployment
        .events("confab.messages")
        .iter()
        .map(|e| e["type"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert!(types.iter().all(|t| !t.to_lowercase().contains("typing")), "{types:?}");
}

/// A cursor taken before a receipt was written is behind the end of that partition; after a
/// restart, with nothing new there, it still resumes at once (the projections start from their
/// committed offsets) instead of waiting for a record that never comes.
async fn a_cursor_resumes_after_a_restart_with_nothing_new_in_its_partition(backend: Backend) {
    let deployment = Deployment::new(backend);
    let mut server = deployment.serve();
    let client = Client::new(&server.base_url);
    let (alice, bob) = (client.user("alice").await, client.user("bob").await);
    let mut bob_phone = Socket::connect(&server.base_url, &bob.token, None).await;
    let sent = client.send(&alice, "bob", "before the restart").await;
    assert_eq!(bob_phone.next_of("message").await["messageId"], sent.body["messageId"]);
    let cursor = bob_phone.cursor.clone();
    bob_phone.close().await;
    // A receipt after the message, in its partition: the cursor is now behind that partition's end.
    let read = client
        .post("/chat/read", Some(&bob.token), json!({"recipient": "alice", "upToMessageId": sent.body["messageId"]}))
        .await;
    assert_eq!(read.status, StatusCode::OK, "{read:?}");

    // Tokens outlive a restart: the same secret signs them.
    server.restart();
    let client = Client::new(&server.base_url);
    let mut bob_phone = Socket::connect(&server.base_url, &bob.token, Some(&cursor)).await;
    assert!(bob_phone.missed.iter().all(|f| f["type"] != "message"), "{:?}", bob_phone.missed);
    let after = client.send(&alice, "bob", "after the restart").await;
    assert_eq!(bob_phone.next_of("message").await["messageId"], after.body["messageId"]);
}

backend_tests!(
    a_cursor_resumes_after_a_restart_with_nothing_new_in_its_partition,
    messages_reach_every_device_of_everyone_in_the_conversation,
    the_token_is_checked_before_the_upgrade,
    a_reconnect_with_since_gets_exactly_what_was_missed_then_live_frames,
    a_slow_client_is_disconnected_and_resumes_without_loss,
    acks_and_reads_become_receipts_for_the_sender_and_show_in_history,
    typing_reaches_the_others_once_a_second_and_is_not_stored,
);

/// With Kafka, every API process runs its own notifier: a user connected to one process hears of
/// what was sent through another, and a cursor from one process resumes on the other.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn frames_cross_api_processes_and_cursors_resume_on_any_of_them() {
    let Some(backend) = Backend::kafka_dynamodb("frames_cross_api_processes") else { return };
    let deployment = Deployment::new(backend);
    let _worker = deployment.consume();
    let (first, second) = (deployment.api(), deployment.api());
    let (one, two) = (Client::new(&first.base_url), Client::new(&second.base_url));
    let _ = one.ready().await;
    let _ = two.ready().await;
    let (alice, bob) = (one.user("alice").await, two.user("bob").await);
    let mut alice_on_one = Socket::connect(&first.base_url, &alice.token, None).await;
    let mut bob_on_two = Socket::connect(&second.base_url, &bob.token, None).await;

    let sent = one.send(&alice, "bob", "through one").await;
    assert_eq!(sent.status, StatusCode::OK);
    let frame = bob_on_two.next_of("message").await;
    assert_eq!(frame["messageId"], sent.body["messageId"]);
    bob_on_two.send(json!({ "type": "ack", "messageIds": [frame["messageId"]] })).await;
    let receipt = alice_on_one.next_of("receipt").await;
    assert_eq!(receipt["status"], "delivered");
    assert_eq!(receipt["upToMessageId"], sent.body["messageId"]);

    let group = two.group(&bob, "across", &["alice"]).await;
    let _ = alice_on_one.next_of("group").await;
    let in_group = two.group_send(&bob, &group, "through two").await;
    assert_eq!(alice_on_one.next_of("message").await["messageId"], in_group.body["messageId"]);

    // Bob moves from process two to process one while alice keeps writing.
    let cursor = bob_on_two.cursor.clone();
    bob_on_two.close().await;
    let mut missed = Vec::new();
    for i in 0..10 {
        missed.push(one.send(&alice, "bob", &format!("while moving {i}")).await.body["messageId"].clone());
    }
    let mut bob_on_one = Socket::connect(&first.base_url, &bob.token, Some(&cursor)).await;
    // His own group message was queued to him on two, but he left before reading it: it is after
    // his cursor, so it comes again, then alice's. The newest may come just after `ready` (the
    // notifier of process one may not have reached it when he connected).
    missed.insert(0, in_group.body["messageId"].clone());
    let mut got: Vec<Value> =
        bob_on_one.missed.iter().filter(|f| f["type"] == "message").map(|f| f["messageId"].clone()).collect();
    while got.len() < missed.len() {
        got.push(bob_on_one.next_of("message").await["messageId"].clone());
    }
    assert_eq!(got, missed);
    let live = two.send(&alice, "bob", "and live again").await;
    assert_eq!(bob_on_one.next_of("message").await["messageId"], live.body["messageId"]);
}
