//! Push notifications, against a test push service that checks every VAPID token against the
//! server's key and decrypts every payload with the subscription's private key: an offline
//! device gets one push per message, an online one none, a mute silences (mentions aside), a
//! 410 removes the target, a 429 is tried again after its Retry-After, and a push consumer
//! killed mid-stream loses nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use confab_e2e::{Backend, Client, Deployment, PushService, User, backend_tests};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Polls `check` until it holds; for what the push consumer does in its own time.
async fn eventually<F: AsyncFnMut() -> bool>(what: &str, mut check: F) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        // A poll interval, not a guess: the loop ends on the condition, whenever it holds.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A deployment that may push to the test service on loopback.
fn deployment(backend: Backend) -> Deployment {
    let mut deployment = Deployment::new(backend);
    let _ = deployment.env("CONFAB_PUSH_ALLOW_PRIVATE", "on");
    deployment
}

/// Logs `user` in again: another session, another device.
async fn device(client: &Client, user: &User) -> User {
    let login = client.login(&user.username, &format!("{}-password", user.username)).await;
    assert_eq!(login.status, StatusCode::OK, "{}", login.body);
    User { token: login.body["token"].as_str().unwrap().to_owned(), ..user.clone() }
}

/// Registers `subscription` as `user`'s device `device_id`; the subscription's id at the service.
async fn register(client: &Client, user: &User, device_id: &str, subscription: &Value, previews: bool) -> String {
    let body = json!({ "subscription": subscription, "previews": previews });
    let reply = client.put(&format!("/me/push/{device_id}"), Some(&user.token), body).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    subscription["endpoint"].as_str().unwrap().rsplit('/').next().unwrap().to_owned()
}

/// The message ids pushed to subscription `sid` and accepted, in arrival order.
async fn pushed(service: &PushService, sid: &str) -> Vec<String> {
    let received = service.received().await;
    received
        .iter()
        .filter(|r| r["subscription"] == sid && r["status"] == 201)
        .map(|r| r["payload"]["messageId"].as_str().unwrap().to_owned())
        .collect()
}

/// Waits until `message_id` was pushed to `sid`.
async fn pushed_to(service: &PushService, sid: &str, message_id: &str) {
    eventually(&format!("{message_id} is pushed to {sid}"), async || {
        pushed(service, sid).await.iter().any(|m| m == message_id)
    })
    .await;
}

fn id(reply: &confab_e2e::Reply) -> String {
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.body["messageId"].as_str().unwrap().to_owned()
}

async fn devices_register_and_remove_push_targets_and_mute_places(backend: Backend) {
    let Some(python) = PushService::python("devices_register_and_remove_push_targets") else { return };
    let deployment = deployment(backend);
    let server = deployment.serve();
    let client = Client::new(&server.base_url);
    let service = PushService::start(&python, &server.base_url);
    let (alice, bob) = (client.user("alice").await, client.user("bob").await);

    // The VAPID key browsers subscribe with: an uncompressed P-256 point, no sign-in needed.
    let vapid = client.get("/push/vapid", None).await;
    assert_eq!(vapid.status, StatusCode::OK);
    let point = URL_SAFE_NO_PAD.decode(vapid.body["publicKey"].as_str().unwrap()).unwrap();
    assert_eq!((point.len(), point[0]), (65, 4));

    let subscription = service.subscribe(json!([])).await;
    let _ = register(&client, &bob, "phone", &subscription, false).await;
    let hook = service.hook().await;
    let webhook = client.put("/me/push/desk-1", Some(&bob.token), json!({ "webhook": hook, "previews": true })).await;
    assert_eq!((webhook.status, webhook.body["kind"].as_str()), (StatusCode::OK, Some("webhook")), "{}", webhook.body);
    let listed = client.get("/me/push", Some(&bob.token)).await;
    let targets = listed.body["targets"].as_array().unwrap();
    let devices: Vec<(&str, &str, bool)> = targets
        .iter()
        .map(|t| (t["deviceId"].as_str().unwrap(), t["kind"].as_str().unwrap(), t["thisSession"].as_bool().unwrap()))
        .collect();
    assert_eq!(devices, [("desk-1", "webhook", true), ("phone", "webpush", true)]);
    assert_eq!(targets[1]["endpoint"], subscription["endpoint"]);
    assert_eq!(client.get("/me/push", Some(&alice.token)).await.body["targets"], json!([]));

    // What is refused, and why.
    let refused = |reply: confab_e2e::Reply| (reply.status, reply.error_code().to_owned());
    let bad_device = client.put("/me/push/a%20b", Some(&bob.token), json!({ "subscription": subscription })).await;
    assert_eq!(refused(bad_device), (StatusCode::BAD_REQUEST, "invalid_device_id".into()));
    let mut off_curve = subscription.clone();
    off_curve["keys"]["p256dh"] = json!(URL_SAFE_NO_PAD.encode([4u8; 65]));
    let bad_keys = client.put("/me/push/tab", Some(&bob.token), json!({ "subscription": off_curve })).await;
    assert_eq!(refused(bad_keys), (StatusCode::BAD_REQUEST, "invalid_push_keys".into()));
    let both = json!({ "subscription": subscription, "webhook": hook });
    assert_eq!(refused(client.put("/me/push/tab", Some(&bob.token), both).await).0, StatusCode::BAD_REQUEST);
    let relative = client.put("/me/push/tab", Some(&bob.token), json!({ "webhook": "/relative" })).await;
    assert_eq!(refused(relative).0, StatusCode::BAD_REQUEST);

    // Removed by the user; a second removal finds nothing.
    assert_eq!(client.delete("/me/push/desk-1", Some(&bob.token)).await.status, StatusCode::NO_CONTENT);
    let again = client.delete("/me/push/desk-1", Some(&bob.token)).await;
    assert_eq!(refused(again), (StatusCode::NOT_FOUND, "push_target_not_found".into()));
    // A session's end takes its devices along.
    let tablet = device(&client, &bob).await;
    let _ = register(&client, &tablet, "tablet", &service.subscribe(json!([])).await, false).await;
    let devices = |body: &Value| -> Vec<String> {
        body["targets"].as_array().unwrap().iter().map(|t| t["deviceId"].as_str().unwrap().to_owned()).collect()
    };
    assert_eq!(devices(&client.get("/me/push", Some(&bob.token)).await.body), ["phone", "tablet"]);
    let logout = client.post("/auth/logout", Some(&tablet.token), json!({})).await;
    assert_eq!(logout.status, StatusCode::NO_CONTENT);
    eventually("the tablet's target went with its session", async || {
        devices(&client.get("/me/push", Some(&bob.token)).await.body) == ["phone"]
    })
    .await;

    // Mutes: a conversation by username, a group by id; listed; lifted.
    let group = client.group(&alice, "climbers", &["bob"]).await;
    let until = chrono::Utc::now() + chrono::Duration::hours(8);
    let muted = client.put("/me/mutes/alice", Some(&bob.token), json!({ "until": until.to_rfc3339() })).await;
    assert_eq!((muted.status, muted.body["kind"].as_str()), (StatusCode::OK, Some("direct")), "{}", muted.body);
    assert!(muted.body["conversationId"].is_string());
    let everything = client.put(&format!("/me/mutes/{group}"), Some(&bob.token), json!({ "everything": true })).await;
    assert_eq!((everything.body["groupId"].as_str(), everything.body["until"].as_str()), (Some(group.as_str()), None));
    let listed = client.get("/me/mutes", Some(&bob.token)).await;
    assert_eq!(listed.body["mutes"].as_array().unwrap().len(), 2, "{}", listed.body);
    let past = client.put("/me/mutes/alice", Some(&bob.token), json!({ "until": "2020-01-01T00:00:00Z" })).await;
    assert_eq!(refused(past), (StatusCode::BAD_REQUEST, "invalid_until".into()));
    let carol = client.user("carol").await;
    let stranger = client.put(&format!("/me/mutes/{group}"), Some(&carol.token), json!({})).await;
    assert_eq!(refused(stranger), (StatusCode::FORBIDDEN, "not_a_member".into()));
    assert_eq!(client.delete("/me/mutes/alice", Some(&bob.token)).await.status, StatusCode::NO_CONTENT);
    let lifted = client.delete("/me/mutes/alice", Some(&bob.token)).await;
    assert_eq!(refused(lifted), (StatusCode::NOT_FOUND, "mute_not_found".into()));
    assert_eq!(client.get("/me/mutes", Some(&bob.token)).await.body["mutes"].as_array().unwrap().len(), 1);
    assert_eq!(service.rejected().await, Vec::<Value>::new());
}

async fn an_offline_device_gets_one_push_per_message_and_an_online_one_none(backend: Backend) {
    let Some(python) = PushService::python("an_offline_device_gets_one_push_per_message") else { return };
    let deployment = deployment(backend);
    let server = deployment.serve();
    let client = Client::new(&server.base_url);
    let service = PushService::start(&python, &server.base_url);
    let (alice, bob) = (client.user("alice").await, client.user("bob").await);
    let laptop = device(&client, &bob).await;
    let phone_sid = register(&client, &bob, "phone", &service.subscribe(json!([])).await, false).await;
    let laptop_sid = register(&client, &laptop, "laptop", &service.subscribe(json!([])).await, true).await;

    // Both devices offline: each gets the first message.
    let first = id(&client.send(&alice, "bob", "first").await);
    pushed_to(&service, &phone_sid, &first).await;
    pushed_to(&service, &laptop_sid, &first).await;

    // The laptop connects: what it receives live is not pushed to it.
    let mut laptop_socket = confab_e2e::Socket::connect(&server.base_url, &laptop.token, None).await;
    eventually("bob shows online", async || {
        client.get("/users/bob/presence", Some(&alice.token)).await.body["status"] == "online"
    })
    .await;
    let second = id(&client.send(&alice, "bob", "second").await);
    // (The first may come live too, where the socket's live feed starts before it.)
    while laptop_socket.next_of("message").await["messageId"] != second.as_str() {}
    pushed_to(&service, &phone_sid, &second).await;
    // A batch is sent whole before the next is read, and this one was sent after the phone had
    // the second: once the phone has it too, nothing of the second is still on its way.
    let third = id(&client.send(&alice, "bob", "third").await);
    pushed_to(&service, &phone_sid, &third).await;
    assert_eq!(pushed(&service, &phone_sid).await, [first.clone(), second, third.clone()], "one push per message");
    assert_eq!(pushed(&service, &laptop_sid).await, vec![first.clone()], "none while its socket is open");

    // What a push says: the place, the sender, the message; the text only where asked for.
    let received = service.received().await;
    let phone_first = received.iter().find(|r| r["subscription"] == phone_sid.as_str()).unwrap();
    let payload = &phone_first["payload"];
    assert_eq!(
        (payload["kind"].as_str(), payload["senderId"].as_str(), payload["sender"].as_str()),
        (Some("direct"), Some(alice.id.as_str()), Some("alice"))
    );
    assert!(payload["conversationId"].is_string() && payload.get("content").is_none(), "{payload}");
    assert_eq!(phone_first["topic"], first.replace('-', ""), "the message id is the tag");
    assert_eq!(phone_first["urgency"], "high");
    let laptop_first = received.iter().find(|r| r["subscription"] == laptop_sid.as_str()).unwrap();
    assert_eq!(laptop_first["payload"]["content"], "first");
    assert_eq!(service.rejected().await, Vec::<Value>::new());
}

/// A group alice writes to, with a witness: a member never muted, whose pushes come in the
/// group's order.
struct Place<'a> {
    client: &'a Client,
    service: &'a PushService,
    alice: &'a User,
    group: &'a str,
    witness: &'a str,
}

impl Place<'_> {
    /// Sends `text` and waits until the witness has it: every message before it was decided.
    async fn send(&self, text: &str) -> String {
        let sent = id(&self.client.group_send(self.alice, self.group, text).await);
        pushed_to(self.service, self.witness, &sent).await;
        sent
    }
}

async fn a_mute_silences_a_group_but_mentions_unless_everything(backend: Backend) {
    let Some(python) = PushService::python("a_mute_silences_a_group") else { return };
    let deployment = deployment(backend);
    let server = deployment.serve();
    let client = Client::new(&server.base_url);
    let service = PushService::start(&python, &server.base_url);
    let (alice, bob, carol) = (client.user("alice").await, client.user("bob").await, client.user("carol").await);
    let group = client.group(&alice, "climbers", &["bob", "carol"]).await;
    let bob_sid = register(&client, &bob, "phone", &service.subscribe(json!([])).await, false).await;
    // Carol is never muted: the group's messages are pushed to her in order, so once she has
    // one, every message before it was decided for bob too.
    let carol_sid = register(&client, &carol, "phone", &service.subscribe(json!([])).await, false).await;
    let place = Place { client: &client, service: &service, alice: &alice, group: &group, witness: &carol_sid };
    let open = place.send("open").await;
    pushed_to(&service, &bob_sid, &open).await;

    let mute = client.put(&format!("/me/mutes/{group}"), Some(&bob.token), json!({})).await;
    assert_eq!(mute.status, StatusCode::OK, "{}", mute.body);
    let quiet = place.send("nothing for bob").await;
    let mention = place.send("@bob look").await;
    pushed_to(&service, &bob_sid, &mention).await;
    let received = service.received().await;
    let mentioned = received
        .iter()
        .find(|r| r["subscription"] == bob_sid.as_str() && r["payload"]["messageId"] == mention.as_str());
    assert_eq!(mentioned.unwrap()["payload"]["mention"], true);

    let all = client.put(&format!("/me/mutes/{group}"), Some(&bob.token), json!({ "everything": true })).await;
    assert_eq!(all.status, StatusCode::OK);
    let muted_mention = place.send("@bob again").await;
    // One more after it: sent once carol had the mention, so read in a later batch.
    let _after = place.send("and again").await;
    assert_eq!(pushed(&service, &bob_sid).await, [open, mention], "not {quiet}, not {muted_mention}");
    assert_eq!(client.delete(&format!("/me/mutes/{group}"), Some(&bob.token)).await.status, StatusCode::NO_CONTENT);
    let back = place.send("back").await;
    pushed_to(&service, &bob_sid, &back).await;
    assert_eq!(service.rejected().await, Vec::<Value>::new());
}

async fn a_gone_subscription_is_removed_and_a_busy_one_tried_again_after_retry_after(backend: Backend) {
    let Some(python) = PushService::python("a_gone_subscription_is_removed") else { return };
    let deployment = deployment(backend);
    let server = deployment.serve();
    let client = Client::new(&server.base_url);
    let service = PushService::start(&python, &server.base_url);
    let (alice, bob, carol) = (client.user("alice").await, client.user("bob").await, client.user("carol").await);
    let gone_sid = register(&client, &bob, "old-phone", &service.subscribe(json!([[410, null]])).await, false).await;
    let busy_sid = register(&client, &carol, "phone", &service.subscribe(json!([[429, 1]])).await, false).await;
    let hook = service.hook().await;
    let desk = client.put("/me/push/desk", Some(&carol.token), json!({ "webhook": hook, "previews": true })).await;
    assert_eq!(desk.status, StatusCode::OK, "{}", desk.body);

    let to_bob = id(&client.send(&alice, "bob", "are you there").await);
    eventually("the gone target is removed", async || {
        client.get("/me/push", Some(&bob.token)).await.body["targets"] == json!([])
    })
    .await;
    let attempts: Vec<Value> =
        service.received().await.into_iter().filter(|r| r["subscription"] == gone_sid.as_str()).collect();
    assert_eq!(attempts.len(), 1, "{attempts:?}");
    assert_eq!(
        (attempts[0]["status"].as_i64(), attempts[0]["payload"]["messageId"].as_str()),
        (Some(410), Some(to_bob.as_str()))
    );

    let to_carol = id(&client.send(&alice, "carol", "hello").await);
    pushed_to(&service, &busy_sid, &to_carol).await;
    let tries: Vec<Value> =
        service.received().await.into_iter().filter(|r| r["subscription"] == busy_sid.as_str()).collect();
    let statuses: Vec<i64> = tries.iter().map(|t| t["status"].as_i64().unwrap()).collect();
    assert_eq!(statuses, [429, 201]);
    let waited = tries[1]["at"].as_f64().unwrap() - tries[0]["at"].as_f64().unwrap();
    assert!(waited >= 0.95, "tried again after {waited} s, before its Retry-After of 1 s");
    // The gateway's webhook got the JSON, signed with the same VAPID key, with the text.
    let mut calls = Vec::new();
    eventually("the webhook is called", async || {
        calls = service.received().await.into_iter().filter(|r| r["hook"].is_string()).collect();
        !calls.is_empty()
    })
    .await;
    let call = &calls[0]["payload"];
    assert_eq!((call["deviceId"].as_str(), call["userId"].as_str()), (Some("desk"), Some(carol.id.as_str())));
    assert_eq!((call["messageId"].as_str(), call["content"].as_str()), (Some(to_carol.as_str()), Some("hello")));
    assert_eq!(service.rejected().await, Vec::<Value>::new());
}

backend_tests!(
    devices_register_and_remove_push_targets_and_mute_places,
    an_offline_device_gets_one_push_per_message_and_an_online_one_none,
    a_mute_silences_a_group_but_mentions_unless_everything,
    a_gone_subscription_is_removed_and_a_busy_one_tried_again_after_retry_after,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_push_consumer_killed_mid_stream_resumes_without_losing_a_push() {
    let Some(backend) = Backend::kafka_dynamodb("a_push_consumer_killed_mid_stream") else { return };
    let Some(python) = PushService::python("a_push_consumer_killed_mid_stream") else { return };
    let deployment = deployment(backend);
    let _worker = deployment.consume();
    let api = deployment.api();
    let mut pusher = deployment.push();
    let client = Client::new(&api.base_url);
    let service = PushService::start(&python, &api.base_url);
    let alice = client.user_projected_elsewhere("alice").await;
    let bob = client.user_projected_elsewhere("bob").await;
    let sid = register(&client, &bob, "phone", &service.subscribe(json!([])).await, false).await;
    let first = id(&client.send(&alice, "bob", "warm up").await);
    pushed_to(&service, &sid, &first).await;

    // Sent while the push consumer dies and comes back.
    let mut sent = vec![first];
    for i in 0..30 {
        if i == 10 {
            pusher.kill9();
        }
        if i == 20 {
            pusher.start_again();
        }
        sent.push(id(&client.send(&alice, "bob", &format!("message {i}")).await));
    }
    for message in &sent {
        pushed_to(&service, &sid, message).await;
    }
    // At least once, each under its message's tag: a repeat replaces, it does not add.
    let received = service.received().await;
    let mut per_message: HashMap<&str, usize> = HashMap::new();
    for record in received.iter().filter(|r| r["subscription"] == sid.as_str()) {
        let message = record["payload"]["messageId"].as_str().unwrap();
        assert_eq!(record["topic"], message.replace('-', ""));
        *per_message.entry(message).or_default() += 1;
    }
    assert_eq!(per_message.len(), sent.len());
    assert_eq!(service.rejected().await, Vec::<Value>::new());
}
