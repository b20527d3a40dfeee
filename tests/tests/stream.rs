//! The stream as a contract: records written by producers that know only an older version of a
//! schema, appended to a running deployment's log, still decode and project; sealed content in
//! the documented format opens with the deployment's keys.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use aes_gcm::{
    Aes256Gcm, KeyInit,
    aead::{Aead, Payload},
};
use base64::{Engine, engine::general_purpose::STANDARD, engine::general_purpose::URL_SAFE_NO_PAD};
use confab_e2e::{Backend, Client, Deployment, TEST_MASTER_KEYS, backend_tests};
use confab_eventlog::{EventLog, Header, Record, embedded::EmbeddedLog};
use confab_schemas::{Codec, HEADER_EVENT_TYPE, HEADER_SCHEMA_FINGERPRINT};
use rdkafka::{
    ClientConfig,
    message::{Header as KafkaHeader, OwnedHeaders},
    producer::{FutureProducer, FutureRecord},
};
use serde_json::{Value, json};

/// Seals `plaintext` as schemas/README.md describes: AES-256-GCM under HKDF-SHA256(master key,
/// `confab/<scope>`), the message id as associated data, `v1.<keyId>.<base64url nonce||ct||tag>`.
fn seal(scope: &str, plaintext: &str, aad: &str) -> String {
    let (key_id, master) = TEST_MASTER_KEYS.split_once(':').unwrap();
    let master = STANDARD.decode(master).unwrap();
    let mut key = [0u8; 32];
    hkdf::Hkdf::<sha2::Sha256>::new(None, &master).expand(format!("confab/{scope}").as_bytes(), &mut key).unwrap();
    let nonce = [7u8; 12];
    let sealed = Aes256Gcm::new_from_slice(&key)
        .unwrap()
        .encrypt((&nonce).into(), Payload { msg: plaintext.as_bytes(), aad: aad.as_bytes() })
        .unwrap();
    format!("v1.{key_id}.{}", URL_SAFE_NO_PAD.encode([nonce.as_slice(), &sealed].concat()))
}

/// A record as a producer writing schema file `path` makes it.
fn old_record(codec: &Codec, path: &str, event_type: &'static str, key: &str, event: &Value) -> Record {
    let file = codec.registry().files().find(|f| f.path == path).cloned().unwrap();
    let encoded = codec.encode_with(&file, event_type, event).unwrap();
    Record {
        key: key.as_bytes().to_vec(),
        headers: vec![
            Header { name: HEADER_EVENT_TYPE.into(), value: event_type.as_bytes().to_vec() },
            Header { name: HEADER_SCHEMA_FINGERPRINT.into(), value: encoded.fingerprint_hex().into_bytes() },
        ],
        value: encoded.value,
        timestamp_ms: event["occurredAt"].as_i64().unwrap(),
    }
}

/// Appends `record` to the deployment's `confab.messages` from outside Confab: with a Kafka
/// producer (Java's partitioner, as the contract says), or into the stopped embedded log.
async fn append_from_outside(deployment: &Deployment, record: Record) {
    match deployment.backend.external() {
        Some(external) => {
            let producer: FutureProducer = ClientConfig::new()
                .set("bootstrap.servers", &external.kafka)
                .set("partitioner", "murmur2_random")
                .create()
                .unwrap();
            let mut headers = OwnedHeaders::new();
            for h in &record.headers {
                headers = headers.insert(KafkaHeader { key: &h.name, value: Some(&h.value) });
            }
            let topic = format!("{}confab.messages", deployment.namespace);
            let delivered = producer
                .send(
                    FutureRecord::to(&topic)
                        .key(&record.key)
                        .payload(&record.value)
                        .headers(headers)
                        .timestamp(record.timestamp_ms),
                    Duration::from_secs(10),
                )
                .await;
            assert!(delivered.is_ok(), "{delivered:?}");
        }
        None => {
            let log = EmbeddedLog::open(&deployment.data_dir().join("log.redb")).unwrap();
            let _ = log.append("confab.messages", record).await.unwrap();
        }
    }
}

fn id(n: u32) -> String {
    format!("0190f5a2-7c1e-7000-8000-{n:012x}")
}

async fn records_written_with_older_schema_versions_decode_and_project(backend: Backend) {
    let deployment = Deployment::new(backend);
    let mut server = deployment.serve();
    let client = Client::new(&server.base_url);
    let (alice, bob) = (client.user("alice").await, client.user("bob").await);
    let first = client.send(&alice, "bob", "written by today's confab").await;
    let conversation = first.body["conversationId"].as_str().unwrap().to_owned();
    let group = client.group(&alice, "old timers", &["bob"]).await;
    if deployment.is_embedded() {
        server.stop();
    }

    // A DirectMessageSent v1 (no clientMessageId), a v2 (no attachments) and a GroupMessageSent
    // v1, each as a producer that knew only that version would write it.
    let codec = Codec::new().unwrap();
    let now = chrono::Utc::now().timestamp_millis();
    // Message ids are UUID v7, made after the first message's: history sorts by them.
    let direct = |n: u32, text: &str| {
        let message_id = uuid::Uuid::now_v7().to_string();
        json!({
            "eventId": id(0x200 + n), "occurredAt": now + i64::from(n), "actorId": alice.id,
            "payload": {
                "messageId": message_id, "conversationId": conversation, "senderId": alice.id,
                "senderUsername": "alice", "recipientId": bob.id, "recipientUsername": "bob",
                "content": seal(&format!("conversation/{conversation}"), text, &message_id),
            }
        })
    };
    let v1 = direct(1, "written by a v1 producer");
    let mut v2 = direct(2, "written by a v2 producer");
    v2["payload"]["clientMessageId"] = json!("old-client-1");
    let group_message_id = uuid::Uuid::now_v7().to_string();
    let group_v1 = json!({
        "eventId": id(0x203), "occurredAt": now + 3, "actorId": bob.id,
        "payload": {
            "messageId": group_message_id, "groupId": group, "senderId": bob.id, "senderUsername": "bob",
            "content": seal(&format!("group/{group}"), "a v1 group message", &group_message_id), "clientMessageId": null,
        }
    });
    let direct_type = "io.confab.events.DirectMessageSent";
    let records = [
        old_record(&codec, "DirectMessageSent/v1.avsc", direct_type, &conversation, &v1),
        old_record(&codec, "DirectMessageSent/v2.avsc", direct_type, &conversation, &v2),
        old_record(&codec, "GroupMessageSent/v1.avsc", "io.confab.events.GroupMessageSent", &group, &group_v1),
    ];
    for record in records {
        append_from_outside(&deployment, record).await;
    }
    if deployment.is_embedded() {
        server.start_again();
    }
    let client = Client::new(&server.base_url);

    // The projections apply them in their own time; the API then serves them like any other.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let history = loop {
        let history = client.full_history(&bob, "alice").await;
        if history.len() == 3 || std::time::Instant::now() > deadline {
            break history;
        }
        // A poll interval: the loop ends on the condition.
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let contents: Vec<&str> = history.iter().map(|m| m["content"].as_str().unwrap()).collect();
    assert_eq!(contents, ["written by today's confab", "written by a v1 producer", "written by a v2 producer"]);
    assert_eq!(history[1]["clientMessageId"], Value::Null);
    assert_eq!(history[2]["clientMessageId"], "old-client-1");
    assert!(history.iter().all(|m| m["attachments"].is_null()), "no attachments on old records");
    let group_history = loop {
        let group_history = client.group_history(&alice, &group).await;
        if !group_history.is_empty() || std::time::Instant::now() > deadline {
            break group_history;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(group_history.len(), 1);
    assert_eq!(group_history[0]["content"], "a v1 group message");
    assert_eq!(group_history[0]["sender"], "bob");

    // The export decodes them with the current schemas too.
    server.stop();
    let exported = deployment.events("confab.messages");
    let fingerprints: Vec<&str> =
        exported.iter().map(|e| e["headers"][HEADER_SCHEMA_FINGERPRINT].as_str().unwrap()).collect();
    assert_eq!(exported.len(), 4);
    assert_eq!(fingerprints.iter().collect::<std::collections::HashSet<_>>().len(), 4, "four writer versions");
    assert!(exported.iter().all(|e| e["type"].is_string()));
}

/// `events tail` prints the stream; sealed values stay sealed unless `--decrypt`.
async fn tail_prints_the_stream_sealed_or_opened(backend: Backend) {
    let deployment = Deployment::new(backend);
    let mut server = deployment.serve();
    let client = Client::new(&server.base_url);
    let alice = client.user("alice").await;
    let _bob = client.user("bob").await;
    let file = client.attachment(&alice, json!({ "recipient": "bob" }), b"tail me").await;
    let body = json!({ "recipient": "bob", "message": "hello from the tail", "attachments": [file] });
    assert_eq!(client.post("/chat/send", Some(&alice.token), body).await.status, reqwest::StatusCode::OK);
    server.stop();

    let lines = |extra: &[&str]| -> Vec<Value> {
        let mut args = vec!["events", "tail", "--topic", "confab.messages"];
        args.extend_from_slice(extra);
        let output = deployment.run(&args);
        String::from_utf8(output.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
    };
    assert_eq!(lines(&[]), Vec::<Value>::new(), "from the end without --follow: nothing");
    let sealed = lines(&["--from-beginning"]);
    assert_eq!(sealed.len(), 1);
    let event = &sealed[0];
    assert_eq!(event["type"], "io.confab.events.DirectMessageSent");
    assert_eq!(event["topic"], "confab.messages");
    assert!(event["offset"].is_u64() && event["timestampMs"].is_i64());
    assert!(event["event"]["payload"]["content"].as_str().unwrap().starts_with("v1.k1."));
    let opened = lines(&["--from-beginning", "--decrypt"]);
    assert_eq!(opened[0]["event"]["payload"]["content"], "hello from the tail");
    assert_eq!(opened[0]["event"]["payload"]["attachments"][0]["fileName"], "photo \u{1f4f7}.png");
    let requested = deployment.events("confab.attachments");
    assert!(requested[0]["event"]["payload"]["fileName"].as_str().unwrap().starts_with("v1.k1."));
}

/// `events tail --follow` prints what is appended while it runs (Kafka: the embedded log belongs
/// to the one process that serves it).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn tail_follow_prints_new_events_as_they_come() {
    use std::io::{BufRead, BufReader};
    let Some(backend) = Backend::kafka_dynamodb("tail_follow_prints_new_events_as_they_come") else { return };
    let deployment = Deployment::new(backend);
    let server = deployment.serve();
    let client = Client::new(&server.base_url);
    let _alice = client.user("alice").await;
    let mut tail = deployment
        .command(&["events", "tail", "--follow", "--topic", "confab.users"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(tail.stderr.take().unwrap());
    let mut started = String::new();
    while !started.contains("confab tailing") {
        started.clear();
        assert!(stderr.read_line(&mut started).unwrap() > 0, "tail exited before it started");
    }
    let _bob = client.user("bob").await;
    let (tx, rx) = std::sync::mpsc::channel();
    let stdout = tail.stdout.take().unwrap();
    let _reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let line = rx.recv_timeout(Duration::from_secs(30)).expect("a line for bob");
    let event: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(event["type"], "io.confab.events.UserRegistered");
    assert_eq!(event["event"]["payload"]["username"], "bob", "alice came before the tail started");
    let _ = std::process::Command::new("kill").args(["-TERM", &tail.id().to_string()]).status();
    assert!(tail.wait().unwrap().success(), "tail stops cleanly on SIGTERM");
}

backend_tests!(records_written_with_older_schema_versions_decode_and_project, tail_prints_the_stream_sealed_or_opened);
