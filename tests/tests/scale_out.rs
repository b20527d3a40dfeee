//! The scaled-out layout on Kafka + DynamoDB: several API processes, separate workers, crashes,
//! poison records and a broker outage.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    collections::{HashMap, HashSet},
    process::{Child, Command, Stdio},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use confab_e2e::{Backend, Client, Deployment, User};
use rdkafka::{
    ClientConfig,
    producer::{FutureProducer, FutureRecord},
};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::sync::Notify;

/// Polls `check` until it holds; for state that another process makes true in its own time.
async fn eventually<F: AsyncFnMut() -> bool>(what: &str, check: F) {
    assert!(holds_in_time(check).await, "timed out waiting until {what}");
}

/// Polls `check` until it holds (true) or the deadline passes (false).
async fn holds_in_time<F: AsyncFnMut() -> bool>(mut check: F) -> bool {
    // Generous: a crashed member's partitions move after a session timeout plus a rejoin.
    let deadline = Instant::now() + Duration::from_secs(120);
    while !check().await {
        if Instant::now() >= deadline {
            return false;
        }
        // A poll interval, not a guess: the loop ends on the condition, whenever it holds.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    true
}

async fn relogin(client: &Client, user: &User) -> User {
    let login = client.login(&user.username, &format!("{}-password", user.username)).await;
    assert_eq!(login.status, StatusCode::OK, "{}", login.body);
    User { token: login.body["token"].as_str().unwrap().to_owned(), ..user.clone() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_api_processes_and_one_worker_share_one_log_and_one_store() {
    let Some(backend) = Backend::kafka_dynamodb("two_api_processes_and_one_worker") else { return };
    let mut deployment = Deployment::new(backend);
    // See a_sent_message_is_in_the_senders_very_next_read: a broken wait must show, not pass late.
    let _ = deployment.env("CONFAB_READ_YOUR_WRITES_TIMEOUT_MS", "30000");
    let worker = deployment.consume();
    let (first, second) = (deployment.api(), deployment.api());
    let (one, two) = (Client::new(&first.base_url), Client::new(&second.base_url));

    for api in [&one, &two] {
        let ready = api.get("/readyz", None).await;
        assert_eq!(ready.status, StatusCode::OK, "an api process cannot follow the projections: {}", ready.body);
    }
    let worker_health = Client::new(&worker.base_url);
    assert_eq!(worker_health.get("/healthz", None).await.status, StatusCode::OK);
    let mut worker_ready = None;
    eventually("the worker's projections report ready", async || {
        let ready = worker_health.get("/readyz", None).await;
        worker_ready = Some(ready.body.clone());
        ready.status == StatusCode::OK
    })
    .await;
    let worker_ready = worker_ready.unwrap_or_default();
    assert_eq!(worker_ready["projections"]["users"]["ok"], true, "{worker_ready}");
    assert_eq!(worker_ready["projections"]["messages"]["ok"], true, "{worker_ready}");
    assert_eq!(worker_ready["projections"]["groups"]["ok"], true, "{worker_ready}");
    assert_eq!(worker_health.get("/chat/send", None).await.status, StatusCode::NOT_FOUND);

    // Registered through one, logs in through the other at once.
    let alice = one.user("alice").await;
    let bob = two.user("bob").await;
    assert_eq!(two.login("alice", "alice-password").await.status, StatusCode::OK);

    // Read-your-writes for the sender, and the other process sees it too.
    let hops = async {
        for i in 0..10 {
            let sent = one.send(&alice, "bob", &format!("hop {i}")).await;
            assert_eq!(sent.status, StatusCode::OK);
            let own = one.get("/chat/messages?recipient=bob&limit=1", Some(&alice.token)).await;
            assert_eq!(own.body["messages"][0]["messageId"], sent.body["messageId"]);
            let other = two.get("/chat/messages?recipient=alice&limit=1", Some(&bob.token)).await;
            assert_eq!(other.body["messages"][0]["messageId"], sent.body["messageId"]);
        }
    };
    assert!(tokio::time::timeout(Duration::from_secs(20), hops).await.is_ok(), "writes waited out their timeout");

    // A group made through one process is usable through the other the moment create returns.
    let carol = two.user("carol").await;
    let group_hops = async {
        let group = one.group(&alice, "across", &["bob"]).await;
        assert_eq!(two.group_send(&bob, &group, "bob via two").await.status, StatusCode::OK);
        assert_eq!(one.group_contents(&alice, &group).await, ["bob via two"]);
        assert_eq!(two.add_member(&alice, &group, "carol").await.status, StatusCode::OK);
        assert_eq!(one.group_send(&carol, &group, "carol via one").await.status, StatusCode::OK);
        assert_eq!(two.group_contents(&carol, &group).await, ["carol via one"]);
    };
    assert!(tokio::time::timeout(Duration::from_secs(20), group_hops).await.is_ok(), "group writes waited out");

    // Usernames are unique across processes: of twelve registrations at once, one account. The
    // same password again is the same registration (a retry), answered with that account; any
    // other is refused.
    let attempts: Vec<_> = (0..12)
        .map(|i| {
            let client = if i % 2 == 0 { one.clone() } else { two.clone() };
            let password = if i % 3 == 0 { "password123" } else { "another-password" };
            tokio::spawn(async move { (password, client.register("contested", password).await) })
        })
        .collect();
    let mut accounts = std::collections::HashMap::new();
    for attempt in attempts {
        let (password, reply) = attempt.await.unwrap();
        match reply.status {
            StatusCode::CREATED => {
                let _ = accounts.entry(reply.body["userId"].as_str().unwrap().to_owned()).or_insert(password);
            }
            StatusCode::CONFLICT => assert_eq!(reply.error_code(), "username_taken"),
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(accounts.len(), 1, "{accounts:?}");

    // So is a client's idempotency key.
    let first_send = one.send_idempotent(&alice, "bob", "exactly once", "k-1").await;
    let retry = two.send_idempotent(&alice, "bob", "exactly once", "k-1").await;
    assert_eq!(first_send.status, StatusCode::OK);
    assert_eq!(retry.body, first_send.body);
    let history = two.full_history(&bob, "alice").await;
    assert_eq!(history.iter().filter(|m| m["clientMessageId"] == "k-1").count(), 1);
    let registrations = deployment
        .events("confab.users")
        .into_iter()
        .filter(|e| e["event"]["payload"]["username"] == "contested")
        .count();
    assert_eq!(registrations, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_worker_killed_mid_stream_resumes_without_losing_or_duplicating() {
    let Some(backend) = Backend::kafka_dynamodb("a_worker_killed_mid_stream") else { return };
    let mut deployment = Deployment::new(backend);
    // With its worker dead the API cannot wait for projections; it answers after this long.
    let _ = deployment.env("CONFAB_READ_YOUR_WRITES_TIMEOUT_MS", "200");
    let mut worker = deployment.consume();
    let api = deployment.api();
    let client = Client::new(&api.base_url);
    let (alice, bob) = (client.user_projected_elsewhere("alice").await, client.user_projected_elsewhere("bob").await);

    let acked: Arc<Mutex<Vec<String>>> = Arc::default();
    let killed = Arc::new(Notify::new());
    let done = Arc::new(AtomicBool::new(false));
    let senders: Vec<_> = (0..4)
        .map(|sender| {
            let (client, alice, acked, done) = (client.clone(), alice.clone(), Arc::clone(&acked), Arc::clone(&done));
            let killed = Arc::clone(&killed);
            tokio::spawn(async move {
                for i in 0.. {
                    if done.load(Ordering::Relaxed) {
                        break;
                    }
                    let reply = client.send(&alice, "bob", &format!("{sender}-{i}")).await;
                    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
                    let mut acked = acked.lock().unwrap();
                    acked.push(reply.body["messageId"].as_str().unwrap().to_owned());
                    if acked.len() == 60 {
                        killed.notify_one();
                    }
                }
            })
        })
        .collect();
    killed.notified().await;
    worker.kill9();
    // Keep sending while no worker runs, then bring it back.
    let before_restart = acked.lock().unwrap().len();
    eventually("more sends are acknowledged with the worker down", async || {
        acked.lock().unwrap().len() >= before_restart + 20
    })
    .await;
    worker.start_again();
    eventually("more sends are acknowledged after the restart", async || {
        acked.lock().unwrap().len() >= before_restart + 60
    })
    .await;
    done.store(true, Ordering::Relaxed);
    for sender in senders {
        sender.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();

    let bob = relogin(&client, &bob).await;
    let mut history = Vec::new();
    let projected = holds_in_time(async || {
        history = client.full_history(&bob, "alice").await;
        history.len() >= acked.len()
    })
    .await;
    if !projected {
        // Say which failure it is: messages lost, or a worker that stopped applying.
        let ids: HashSet<&str> = history.iter().map(|m| m["messageId"].as_str().unwrap()).collect();
        let missing: Vec<&String> = acked.iter().filter(|id| !ids.contains(id.as_str())).collect();
        let worker_status = Client::new(&worker.base_url).readiness().await.body;
        panic!(
            "timed out waiting until every acknowledged message is projected: {} of {} in history, \
             missing {missing:?}; the worker reports {worker_status}",
            history.len(),
            acked.len()
        );
    }
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for m in &history {
        *seen.entry(m["messageId"].as_str().unwrap()).or_default() += 1;
    }
    assert!(seen.values().all(|n| *n == 1), "a message was projected twice");
    assert!(acked.iter().all(|id| seen.contains_key(id.as_str())), "an acknowledged message is missing");
    assert_eq!(history.len(), acked.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_poison_record_is_dead_lettered_and_the_projection_keeps_going() {
    let Some(backend) = Backend::kafka_dynamodb("a_poison_record_is_dead_lettered") else { return };
    let external = backend.external().cloned().unwrap();
    let deployment = Deployment::new(backend);
    let server = deployment.serve();
    let client = Client::new(&server.base_url);
    let alice = client.user("alice").await;
    let _bob = client.user("bob").await;

    let producer: FutureProducer = ClientConfig::new().set("bootstrap.servers", &external.kafka).create().unwrap();
    let topic = format!("{}confab.messages", deployment.namespace);
    let poison = b"not avro at all";
    let delivered =
        producer.send(FutureRecord::to(&topic).key("poison-key").payload(&poison[..]), Duration::from_secs(10)).await;
    assert!(delivered.is_ok(), "cannot produce the poison record");

    // Messages after it are still projected.
    let sent = client.send(&alice, "bob", "after the poison").await;
    assert_eq!(sent.status, StatusCode::OK);
    let page = client.get("/chat/messages?recipient=bob", Some(&alice.token)).await;
    assert_eq!(page.body["messages"][0]["messageId"], sent.body["messageId"]);

    // Every group that reads the topic dead-letters it once: the messages projection, the
    // analytics consumer and the push consumer.
    let mut dead: Vec<Value> = Vec::new();
    eventually("the poison record is on the dead-letter topic for every group", async || {
        dead = deployment.events("confab.deadletter");
        dead.len() >= 3
    })
    .await;
    let mut groups: Vec<&str> = dead.iter().map(|l| l["headers"]["confab.dlq.group"].as_str().unwrap()).collect();
    groups.sort_unstable();
    assert_eq!(groups, ["confab.projector.analytics", "confab.projector.messages", "confab.projector.push"]);
    for letter in &dead {
        assert_eq!(letter["key"], "poison-key");
        assert_eq!(letter["event"]["base64"], json!(base64_of(poison)));
        assert_eq!(letter["headers"]["confab.dlq.topic"], "confab.messages");
        assert!(letter["headers"]["confab.dlq.offset"].as_str().unwrap().parse::<u64>().is_ok());
        assert!(letter["headers"]["confab.dlq.reason"].as_str().unwrap().contains("undecodable"));
    }
    let ready = client.get("/readyz", None).await;
    assert_eq!(ready.status, StatusCode::OK, "{}", ready.body);
}

fn base64_of(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A tansu broker of this test's own, on disk, to stop and start again.
struct Broker {
    bin: std::path::PathBuf,
    dir: tempfile::TempDir,
    port: u16,
    child: Option<Child>,
}

impl Broker {
    fn start(bin: &std::path::Path) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut broker = Self { bin: bin.to_owned(), dir: tempfile::tempdir().unwrap(), port, child: None };
        broker.resume();
        broker
    }

    fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn resume(&mut self) {
        let url = format!("tcp://{}", self.address());
        let child = Command::new(&self.bin)
            .args(["broker", "--listener-url", &url, "--advertised-listener-url", &url])
            .args(["--storage-engine", confab_e2e::TANSU_STORAGE])
            .current_dir(self.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start tansu");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(self.address()).is_err() {
            assert!(Instant::now() < deadline, "tansu did not start");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Freezes (SIGSTOP) or thaws (SIGCONT) the broker: what it was sent meanwhile it still
    /// handles once thawed, after the producer has given up waiting.
    fn signal(&self, signal: &str) {
        let pid = self.child.as_ref().expect("a running broker").id().to_string();
        assert!(Command::new("kill").args([signal, &pid]).status().unwrap().success());
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.kill();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn with_the_broker_down_sends_fail_fast_with_503_and_work_again_when_it_is_back() {
    let Some(backend) = Backend::kafka_dynamodb("with_the_broker_down") else { return };
    let Some(tansu) = backend.external().and_then(|e| e.tansu_bin.clone()) else {
        panic!("CONFAB_TEST_TANSU_BIN is needed to stop and start a broker");
    };
    let mut broker = Broker::start(&tansu);
    let mut deployment = Deployment::new(backend);
    let _ = deployment.use_kafka(&broker.address());
    let server = deployment.serve();
    let client = Client::new(&server.base_url);
    let alice = client.user("alice").await;
    let bob = client.user("bob").await;
    let mut acked = Vec::new();
    for i in 0..5 {
        let reply = client.send(&alice, "bob", &format!("before {i}")).await;
        assert_eq!(reply.status, StatusCode::OK);
        acked.push(reply.body["messageId"].as_str().unwrap().to_owned());
    }

    broker.kill();
    let started = Instant::now();
    let down = client.send(&alice, "bob", "while down").await;
    assert_eq!(down.status, StatusCode::SERVICE_UNAVAILABLE, "{}", down.body);
    assert_eq!(down.error_code(), "unavailable");
    // Which part failed, never what the client library said (broker addresses, internals).
    let message = down.body["error"]["message"].as_str().unwrap();
    assert!(message == "event log unavailable" || message.starts_with("event log did not confirm"), "{message}");
    // The produce bound (`CONFAB_KAFKA_TIMEOUT_MS`, 3 s in tests) plus librdkafka's once-a-second
    // timeout scan, with room for a loaded machine.
    assert!(started.elapsed() < Duration::from_secs(6), "503 took {:?}", started.elapsed());
    assert_eq!(client.get("/readyz", None).await.status, StatusCode::SERVICE_UNAVAILABLE);
    // A produce that timed out may have reached a broker: its claim is kept, so a retry with the
    // same key finishes that very record instead of appending another.
    let keyed = client.send_idempotent(&alice, "bob", "keyed while down", "down-1").await;
    assert_eq!(keyed.status, StatusCode::SERVICE_UNAVAILABLE, "{}", keyed.body);
    let registered = client.register("carol", "carol-password").await;
    assert_eq!(registered.status, StatusCode::SERVICE_UNAVAILABLE, "{}", registered.body);

    broker.resume();
    let mut keyed_id = None;
    eventually("the keyed retry is answered", async || {
        let reply = client.send_idempotent(&alice, "bob", "keyed while down", "down-1").await;
        keyed_id = (reply.status == StatusCode::OK).then(|| reply.body["messageId"].as_str().unwrap().to_owned());
        keyed_id.is_some()
    })
    .await;
    // And a registration retried is the registration, not a clash with itself. A broker that
    // has just come back may still time a produce out (503, which a client retries).
    let mut again = None;
    eventually("a retried registration is answered", async || {
        let reply = client.register("carol", "carol-password").await;
        let answered = reply.status != StatusCode::SERVICE_UNAVAILABLE;
        again = Some(reply);
        answered
    })
    .await;
    let again = again.unwrap();
    assert_eq!(again.status, StatusCode::CREATED, "{}", again.body);
    let mut after = None;
    eventually("a send succeeds again", async || {
        let reply = client.send(&alice, "bob", "after").await;
        if reply.status == StatusCode::OK {
            after = reply.body["messageId"].as_str().map(str::to_owned);
        }
        after.is_some()
    })
    .await;
    acked.extend(after);

    let mut history = Vec::new();
    eventually("every acknowledged message is readable", async || {
        history = client.full_history(&bob, "alice").await;
        let ids: HashSet<_> = history.iter().filter_map(|m| m["messageId"].as_str()).collect();
        acked.iter().all(|id| ids.contains(id.as_str()))
    })
    .await;
    let ids: Vec<_> = history.iter().filter_map(|m| m["messageId"].as_str()).collect();
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), ids.len(), "duplicates in the history");
    let keyed: Vec<_> = history.iter().filter(|m| m["clientMessageId"] == "down-1").collect();
    assert_eq!(keyed.len(), 1, "{keyed:?}");
    assert_eq!(keyed[0]["messageId"].as_str(), keyed_id.as_deref());
}

/// A produce that times out while the broker holds the request (librdkafka's "possibly
/// persisted") answers 503; the broker then writes the record. A retry with the same key finishes
/// that claim's own record (the same message id) instead of appending a second message.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_produce_that_timed_out_is_finished_by_its_retry_never_doubled() {
    let Some(backend) = Backend::kafka_dynamodb("a_produce_that_timed_out") else { return };
    let Some(tansu) = backend.external().and_then(|e| e.tansu_bin.clone()) else {
        panic!("CONFAB_TEST_TANSU_BIN is needed to freeze a broker");
    };
    let broker = Broker::start(&tansu);
    let mut deployment = Deployment::new(backend);
    let _ = deployment.use_kafka(&broker.address());
    let server = deployment.serve();
    let client = Client::new(&server.base_url);
    let alice = client.user("alice").await;
    let bob = client.user("bob").await;

    broker.signal("-STOP");
    let first = client.send_idempotent(&alice, "bob", "sent into a frozen broker", "frozen-1").await;
    broker.signal("-CONT");
    assert_eq!(first.status, StatusCode::SERVICE_UNAVAILABLE, "{}", first.body);

    let mut retried = None;
    eventually("the retry is answered", async || {
        let reply = client.send_idempotent(&alice, "bob", "sent into a frozen broker", "frozen-1").await;
        retried = (reply.status == StatusCode::OK).then_some(reply.body);
        retried.is_some()
    })
    .await;
    let history = client.full_history(&bob, "alice").await;
    let sent: Vec<_> = history.iter().filter(|m| m["clientMessageId"] == "frozen-1").collect();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0]["messageId"], retried.unwrap()["messageId"]);
}

/// A claim left pending by an API process that died between the claim and the produce, as it
/// would sit in the claims table.
async fn plant_orphaned_claim(deployment: &Deployment, dynamodb: &str, username: &str) -> String {
    use aws_sdk_dynamodb::{primitives::Blob, types::AttributeValue};
    use confab_eventlog::{Header, Record};
    use confab_schemas::{Codec, Event, UserRegistered, UserRegisteredPayload};

    let user_id = uuid::Uuid::now_v7().to_string();
    let claimed_at =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64 - 60_000;
    let event = Event::UserRegistered(UserRegistered {
        event_id: uuid::Uuid::now_v7().to_string(),
        occurred_at: claimed_at,
        actor_id: user_id.clone(),
        payload: UserRegisteredPayload {
            user_id: user_id.clone(),
            username: username.to_owned(),
            password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2g".into(),
        },
    });
    let encoded = Codec::new().unwrap().encode(&event).unwrap();
    let record = Record {
        key: username.as_bytes().to_vec(),
        headers: vec![
            Header { name: "confab.event-type".into(), value: encoded.event_type.as_bytes().to_vec() },
            Header { name: "confab.schema-fingerprint".into(), value: encoded.fingerprint_hex().into_bytes() },
        ],
        value: encoded.value,
        timestamp_ms: claimed_at,
    };
    let put = confab_e2e::dynamodb_client(dynamodb)
        .put_item()
        .table_name(format!("{}confab_claims", deployment.namespace))
        .item("scope", AttributeValue::S("username".into()))
        .item("claim_key", AttributeValue::S(username.into()))
        .item("value", AttributeValue::B(Blob::new(user_id.as_bytes())))
        .item("claimed_at_ms", AttributeValue::N(claimed_at.to_string()))
        .item("pending_topic", AttributeValue::S("confab.users".into()))
        .item("pending_record", AttributeValue::B(Blob::new(record.to_bytes())))
        .send()
        .await;
    assert!(put.is_ok(), "cannot plant the claim: {put:?}");
    user_id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_claim_orphaned_by_a_crash_is_finished_by_the_next_request() {
    let Some(backend) = Backend::kafka_dynamodb("a_claim_orphaned_by_a_crash") else { return };
    let external = backend.external().cloned().unwrap();
    let deployment = Deployment::new(backend);
    let server = deployment.serve();
    let client = Client::new(&server.base_url);
    let orphan_user = plant_orphaned_claim(&deployment, &external.dynamodb, "ghost").await;

    // The name is taken by the claim; the request finds it stale and appends its record.
    let first = client.register("ghost", "password123").await;
    assert_eq!(first.status, StatusCode::CONFLICT, "{}", first.body);
    let again = client.register("ghost", "password123").await;
    assert_eq!(again.status, StatusCode::CONFLICT);

    let mut registrations = Vec::new();
    eventually("the orphaned registration is on the log", async || {
        registrations = deployment
            .events("confab.users")
            .into_iter()
            .filter(|e| e["event"]["payload"]["username"] == "ghost")
            .collect();
        !registrations.is_empty()
    })
    .await;
    assert_eq!(registrations.len(), 1, "finished once, then settled");
    assert_eq!(registrations[0]["event"]["payload"]["userId"], orphan_user.as_str());
    let users = deployment.tables()["users"].to_string();
    assert!(users.contains(&orphan_user), "the projection has the orphan's account");
}

/// Who sees what in a group is decided in the log's order, not by a read model that lags: a
/// member added while the messages projection's worker is stopped sees nothing from before the
/// addition, in history, on resume, live and in the attachment list, once the worker is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_member_added_while_messages_lag_sees_nothing_from_before() {
    let Some(backend) = Backend::kafka_dynamodb("member_added_while_messages_lag") else { return };
    let mut deployment = Deployment::new(backend);
    // With the messages worker stopped, sends answer once durable, after this long.
    let _ = deployment.env("CONFAB_READ_YOUR_WRITES_TIMEOUT_MS", "300");
    let _others = deployment.consume_only(&["users", "groups", "attachments"]);
    let mut messages = deployment.consume_only(&["messages"]);
    let api = deployment.api();
    let client = Client::new(&api.base_url);
    let alice = client.user_projected_elsewhere("alice").await;
    let (bob, carol) = (client.user_projected_elsewhere("bob").await, client.user_projected_elsewhere("carol").await);
    let group = client.group(&alice, "climbing", &["bob"]).await;
    assert_eq!(client.group_send(&alice, &group, "before carol").await.status, StatusCode::OK);
    let early = client.attachment(&bob, json!({ "groupId": group }), b"an early topo").await;
    let mut carol_phone = confab_e2e::Socket::connect(&api.base_url, &carol.token, None).await;
    let carol_cursor = carol_phone.cursor.clone();

    messages.stop();
    for text in ["while behind 1", "while behind 2"] {
        assert_eq!(client.group_send(&alice, &group, text).await.status, StatusCode::OK);
    }
    let added = client.add_member(&alice, &group, "carol").await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.body);
    assert_eq!(client.group_send(&bob, &group, "welcome carol").await.status, StatusCode::OK);
    let live = carol_phone.next_of("message").await;
    assert_eq!(live["content"], "welcome carol", "live: the first message she hears is after her addition");
    carol_phone.close().await;
    messages.start_again();

    eventually("the messages projection is back", async || client.group_history(&bob, &group).await.len() == 4).await;
    let contents = client.group_contents(&carol, &group).await;
    assert_eq!(contents, ["welcome carol"], "history starts at her addition");
    let resumed = confab_e2e::Socket::connect(&api.base_url, &carol.token, Some(&carol_cursor)).await;
    let missed: Vec<&Value> = resumed.missed.iter().filter(|f| f["type"] == "message").collect();
    let missed: Vec<&str> = missed.iter().map(|f| f["content"].as_str().unwrap()).collect();
    assert_eq!(missed, ["welcome carol"], "resume from before her addition");
    let list = client.get(&format!("/groups/{group}/attachments"), Some(&carol.token)).await;
    assert_eq!(list.body["attachments"], json!([]), "no attachment from before: {}", list.body);
    let download = client.get(&format!("/attachments/{early}"), Some(&carol.token)).await;
    assert_eq!(download.status, StatusCode::FORBIDDEN);
    let later = client.attachment(&alice, json!({ "groupId": group }), b"a later topo").await;
    let list = client.get(&format!("/groups/{group}/attachments"), Some(&carol.token)).await;
    assert_eq!(list.body["attachments"][0]["attachmentId"], later.as_str());
}

/// A member removed through one API process hears nothing the group says afterwards, live on
/// another process, in history through either, or on resume.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_removed_member_gets_nothing_sent_after_the_removal_through_any_process() {
    let Some(backend) = Backend::kafka_dynamodb("removed_member_gets_nothing") else { return };
    let deployment = Deployment::new(backend);
    let _worker = deployment.consume();
    let (first, second) = (deployment.api(), deployment.api());
    let (one, two) = (Client::new(&first.base_url), Client::new(&second.base_url));
    let alice = one.user_projected_elsewhere("alice").await;
    let (bob, dave) = (one.user_projected_elsewhere("bob").await, one.user_projected_elsewhere("dave").await);
    let group = one.group(&alice, "leaving", &["bob", "dave"]).await;
    assert_eq!(one.group_send(&alice, &group, "before").await.status, StatusCode::OK);
    let mut bob_phone = confab_e2e::Socket::connect(&second.base_url, &bob.token, None).await;
    let bob_cursor = bob_phone.cursor.clone();
    let mut dave_phone = confab_e2e::Socket::connect(&second.base_url, &dave.token, None).await;

    let removed = one.delete(&format!("/groups/{group}/members/bob"), Some(&alice.token)).await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT, "{}", removed.body);
    assert_eq!(one.group_send(&alice, &group, "after bob left").await.status, StatusCode::OK);
    assert_eq!(two.group_send(&dave, &group, "dave after").await.status, StatusCode::OK);
    assert_eq!(one.group_send(&alice, &group, "last").await.status, StatusCode::OK);
    // Once dave hears the last, the second process's notifier has passed all three (one group,
    // one partition); anything it gave bob is queued ahead of what bob gets next.
    while dave_phone.next_of("message").await["content"] != "last" {}
    assert_eq!(one.send(&alice, "bob", "sentinel").await.status, StatusCode::OK);
    // "before" was sent before bob connected, and the second process may still push it live.
    let mut next = bob_phone.next_of("message").await;
    while next["content"] == "before" {
        next = bob_phone.next_of("message").await;
    }
    assert_eq!(next["content"], "sentinel", "live: nothing from the group after the removal: {next}");

    for api in [&one, &two] {
        let history = api.get(&format!("/groups/{group}/messages"), Some(&bob.token)).await;
        assert_eq!(history.status, StatusCode::FORBIDDEN, "{}", history.body);
    }
    let resumed = confab_e2e::Socket::connect(&second.base_url, &bob.token, Some(&bob_cursor)).await;
    let missed: Vec<&str> = resumed
        .missed
        .iter()
        .filter(|f| f["type"] == "message" && f["kind"] == "group")
        .map(|f| f["content"].as_str().unwrap())
        .collect();
    assert!(missed.is_empty(), "resume: nothing from the group after the removal: {missed:?}");
}

/// The analytics consumer counts a membership change only once the groups projection has
/// decided it, and waits for that however long it takes: with the groups worker stopped it
/// stays behind (it used to dead-letter the change after three tries, under a second), and
/// counts the addition once the worker is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn analytics_waits_for_the_groups_verdict_however_long() {
    let Some(backend) = Backend::kafka_dynamodb("analytics_waits_for_verdicts") else { return };
    let mut deployment = Deployment::new(backend);
    // With the groups worker stopped, an addition answers once durable, after this long.
    let _ = deployment.env("CONFAB_READ_YOUR_WRITES_TIMEOUT_MS", "300");
    let _others = deployment.consume_only(&["users", "messages", "attachments"]);
    let mut groups = deployment.consume_only(&["groups"]);
    let analytics = deployment.analytics();
    let api = deployment.api();
    let client = Client::new(&api.base_url);
    let alice = client.user_projected_elsewhere("alice").await;
    let (_bob, _carol) = (client.user_projected_elsewhere("bob").await, client.user_projected_elsewhere("carol").await);
    let group = client.group(&alice, "counted", &["bob"]).await;
    let sizes = || {
        let output = deployment.run(&["analytics", "report"]);
        let report: Value = serde_json::from_slice(&output.stdout).unwrap();
        report["groups"]["sizes"].clone()
    };
    eventually("analytics counts the group", async || sizes() == json!([{ "members": 2, "groups": 1 }])).await;

    groups.stop();
    assert_eq!(client.add_member(&alice, &group, "carol").await.status, StatusCode::OK);
    let health = Client::new(&analytics.base_url);
    eventually("analytics waits for the verdict", async || analytics_behind(&health).await).await;
    // Three tries took under a second; four times that, it is still waiting, and has
    // dead-lettered nothing.
    let window = Instant::now() + Duration::from_secs(4);
    while Instant::now() < window {
        assert!(analytics_behind(&health).await, "analytics stopped waiting for the groups projection");
        assert!(deployment.events("confab.deadletter").is_empty(), "the change was dead-lettered");
    }

    groups.start_again();
    eventually("analytics counts the addition", async || sizes() == json!([{ "members": 3, "groups": 1 }])).await;
}

/// Whether the analytics consumer reports that it waits for another projection's verdict.
async fn analytics_behind(health: &Client) -> bool {
    let ready = health.readiness().await;
    ready.body["projections"]["analytics"]["error"].as_str().is_some_and(|error| error.contains("not decided yet"))
}
