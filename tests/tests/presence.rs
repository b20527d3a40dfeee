//! Presence and typing between API processes: who is online, shown only to those who share a
//! conversation or group, hideable, with a grace period for reconnects; typing frames reaching
//! a recipient connected to another process; nothing of either in the stream.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use chrono::DateTime;
use confab_e2e::{Backend, Client, Deployment, Socket, User, backend_tests};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// The grace period the tests run with: long beside a reconnect (milliseconds), short beside
/// a test's patience.
const GRACE: Duration = Duration::from_secs(4);

fn ms(rfc3339: &Value) -> i64 {
    DateTime::parse_from_rfc3339(rfc3339.as_str().unwrap()).unwrap().timestamp_millis()
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

async fn presence(client: &Client, viewer: &User, username: &str) -> Value {
    let reply = client.get(&format!("/users/{username}/presence"), Some(&viewer.token)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.body
}

/// Polls `check` until it holds; for what another process makes true in its own time.
async fn eventually<F: AsyncFnMut() -> bool>(what: &str, mut check: F) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        // A poll interval, not a guess: the loop ends on the condition, whenever it holds.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn presence_is_shown_to_contacts_with_a_grace_period_and_can_be_hidden(backend: Backend) {
    let mut deployment = Deployment::new(backend);
    let _ = deployment.env("CONFAB_PRESENCE_GRACE_MS", &GRACE.as_millis().to_string());
    let mut server = deployment.serve();
    let client = Client::new(&server.base_url);
    let (alice, bob, carol) = (client.user("alice").await, client.user("bob").await, client.user("carol").await);
    let dave = client.user("dave").await;
    assert_eq!(client.send(&alice, "bob", "hi").await.status, StatusCode::OK);
    assert_eq!(client.send(&alice, "dave", "hi").await.status, StatusCode::OK);
    let _group = client.group(&dave, "climbers", &["bob"]).await;

    // Never connected: offline, last seen when the session began. A group in common is enough.
    let before = presence(&client, &alice, "bob").await;
    assert_eq!((before["status"].as_str(), before["userId"].as_str()), (Some("offline"), Some(bob.id.as_str())));
    assert!(before["lastSeen"].is_string(), "{before}");
    assert_eq!(presence(&client, &dave, "bob").await["status"], "offline");
    // Carol shares nothing with bob.
    let stranger = client.get("/users/bob/presence", Some(&carol.token)).await;
    assert_eq!((stranger.status, stranger.error_code()), (StatusCode::FORBIDDEN, "presence_not_shared"));
    assert_eq!(client.get("/users/nobody/presence", Some(&alice.token)).await.status, StatusCode::NOT_FOUND);

    // Alice watches bob (and two she may not watch, left out): his presence now, then changes.
    let mut alice_phone = Socket::connect(&server.base_url, &alice.token, None).await;
    alice_phone.send(json!({ "type": "presence", "users": ["bob", "carol", "nobody"] })).await;
    let now = alice_phone.next_of("presence").await;
    assert_eq!((now["username"].as_str(), now["status"].as_str()), (Some("bob"), Some("offline")));
    let bob_phone = Socket::connect(&server.base_url, &bob.token, None).await;
    let online = alice_phone.next_of("presence").await;
    assert_eq!((online["userId"].as_str(), online["status"].as_str()), (Some(bob.id.as_str()), Some("online")));
    assert_eq!(online["lastSeen"], Value::Null);
    assert_eq!(presence(&client, &alice, "bob").await["status"], "online");
    // Too many to watch at once.
    let many: Vec<String> = (0..257).map(|i| format!("u{i}")).collect();
    alice_phone.send(json!({ "type": "presence", "users": many })).await;
    assert_eq!(alice_phone.next_of("error").await["code"], "too_many_watched");
    alice_phone.send(json!({ "type": "presence", "users": ["bob"] })).await;
    assert_eq!(alice_phone.next_of("presence").await["status"], "online");

    // A reconnect within the grace period shows nothing: the next thing alice hears of bob is
    // his leaving for good, stamped when he left the second time.
    let first_close = Instant::now();
    bob_phone.close().await;
    let bob_phone = Socket::connect(&server.base_url, &bob.token, None).await;
    let reconnected_in = first_close.elapsed();
    let left_at = now_ms();
    bob_phone.close().await;
    let offline = alice_phone.next_of("presence").await;
    assert_eq!(offline["status"], "offline");
    if reconnected_in < GRACE {
        assert!(ms(&offline["lastSeen"]) >= left_at - 50, "the first close flapped: {offline}");
    }
    let later = presence(&client, &alice, "bob").await;
    assert_eq!((later["status"].as_str(), later["lastSeen"].as_str()), (Some("offline"), offline["lastSeen"].as_str()));

    // Bob hides his presence: nobody sees his, and he sees nobody's.
    let hidden = client.patch("/me", Some(&bob.token), json!({ "showPresence": false })).await;
    assert_eq!((hidden.status, hidden.body["showPresence"].as_bool()), (StatusCode::OK, Some(false)));
    let seen = presence(&client, &alice, "bob").await;
    assert_eq!((seen["status"].as_str(), &seen["lastSeen"]), (Some("hidden"), &Value::Null));
    assert_eq!(presence(&client, &bob, "alice").await["status"], "hidden");
    assert_eq!(client.get("/users/bob", Some(&alice.token)).await.body.get("showPresence"), None);
    alice_phone.send(json!({ "type": "presence", "users": ["bob", "dave"] })).await;
    let (first, second) = (alice_phone.next_of("presence").await, alice_phone.next_of("presence").await);
    assert_eq!((first["username"].as_str(), first["status"].as_str()), (Some("bob"), Some("hidden")));
    assert_eq!((second["username"].as_str(), second["status"].as_str()), (Some("dave"), Some("offline")));
    // While hidden he comes unseen: presence changes reach watchers in the order they happen,
    // so dave's coming after him is the next thing alice hears.
    let bob_phone = Socket::connect(&server.base_url, &bob.token, None).await;
    let dave_phone = Socket::connect(&server.base_url, &dave.token, None).await;
    let next = alice_phone.next_of("presence").await;
    assert_eq!((next["username"].as_str(), next["status"].as_str()), (Some("dave"), Some("online")), "{next}");
    // Shown again, his leaving is heard.
    let shown = client.patch("/me", Some(&bob.token), json!({ "showPresence": true, "about": "back" })).await;
    assert_eq!(shown.body["showPresence"], true);
    assert_eq!(presence(&client, &alice, "bob").await["status"], "online");
    bob_phone.close().await;
    let offline = alice_phone.next_of("presence").await;
    assert_eq!((offline["username"].as_str(), offline["status"].as_str()), (Some("bob"), Some("offline")));
    dave_phone.close().await;

    // Signals are not events: nothing of presence or typing is on the stream.
    let mut typing_bob = Socket::connect(&server.base_url, &bob.token, None).await;
    typing_bob.send(json!({ "type": "typing", "to": "alice" })).await;
    assert_eq!(alice_phone.next_of("typing").await["username"], "bob");
    typing_bob.close().await;
    server.stop();
    for topic in ["confab.users", "confab.messages"] {
        for event in deployment.events(topic) {
            let text = event.to_string();
            assert!(!text.contains("presence") || text.contains("showPresence"), "{text}");
            assert!(!text.contains("typing"), "{text}");
        }
    }
}

backend_tests!(presence_is_shown_to_contacts_with_a_grace_period_and_can_be_hidden);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn presence_and_typing_cross_api_processes() {
    let Some(backend) = Backend::kafka_dynamodb("presence_and_typing_cross_api_processes") else { return };
    let mut deployment = Deployment::new(backend);
    let _ = deployment.env("CONFAB_PRESENCE_GRACE_MS", &GRACE.as_millis().to_string());
    let _worker = deployment.consume();
    let (first, mut second) = (deployment.api(), deployment.api());
    let (one, two) = (Client::new(&first.base_url), Client::new(&second.base_url));
    let alice = one.user_projected_elsewhere("alice").await;
    let bob = two.user_projected_elsewhere("bob").await;
    assert_eq!(one.send(&alice, "bob", "hi").await.status, StatusCode::OK);
    eventually("the conversation is on both processes' read side", async || {
        two.get("/users/alice/presence", Some(&bob.token)).await.status == StatusCode::OK
    })
    .await;

    // Alice on the first process watches bob, who connects to the second.
    let mut alice_phone = Socket::connect(&first.base_url, &alice.token, None).await;
    alice_phone.send(json!({ "type": "presence", "users": ["bob"] })).await;
    assert_eq!(alice_phone.next_of("presence").await["status"], "offline");
    let mut bob_phone = Socket::connect(&second.base_url, &bob.token, None).await;
    let online = alice_phone.next_of("presence").await;
    assert_eq!((online["username"].as_str(), online["status"].as_str()), (Some("bob"), Some("online")));
    assert_eq!(presence(&one, &alice, "bob").await["status"], "online");

    // His typing reaches her across processes.
    bob_phone.send(json!({ "type": "typing", "to": "alice" })).await;
    let typing = alice_phone.next_of("typing").await;
    assert_eq!((typing["userId"].as_str(), typing["kind"].as_str()), (Some(bob.id.as_str()), Some("direct")));

    // A process started now learns who is online from the others.
    let third = deployment.api();
    let three = Client::new(&third.base_url);
    eventually("a new process knows bob is online", async || {
        presence(&three, &alice, "bob").await["status"] == "online"
    })
    .await;

    // The process holding bob dies: once it has been silent long enough, he is offline
    // everywhere, last seen about when it was last heard.
    let killed_at = now_ms();
    second.kill9();
    drop(bob_phone);
    eventually("bob is offline on the first process", async || {
        presence(&one, &alice, "bob").await["status"] == "offline"
    })
    .await;
    let offline = alice_phone.next_of("presence").await;
    assert_eq!(offline["status"], "offline", "{offline}");
    assert!(ms(&offline["lastSeen"]) <= killed_at + 1000, "{offline}");
    eventually("the new process has bob offline too", async || {
        presence(&three, &alice, "bob").await["status"] == "offline"
    })
    .await;
}
