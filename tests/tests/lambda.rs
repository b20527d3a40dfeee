//! The serverless layout, run here under a Lambda runtime of the test's own (the documented
//! Runtime API): `confab lambda api` behind each front API Gateway and ALB offer, serving the
//! spec's flows from real HTTP requests turned into events; `confab lambda consume` applying
//! events built from the real records of the test broker, once and again; and `confab setup`,
//! which makes what the functions need, since they make nothing. Kafka + DynamoDB + S3 only: a
//! function has no disk of its own.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use confab_e2e::{Backend, Client, Deployment, Front, Gateway, KafkaRecordIn, LambdaRuntime, Outcome, kafka_event};
use rdkafka::{
    ClientConfig, Message, Offset, TopicPartitionList,
    consumer::{BaseConsumer, Consumer},
    message::Headers,
    producer::{FutureProducer, FutureRecord},
};
use reqwest::StatusCode;
use serde_json::json;

/// The function whose handler is `lambda <args>`, under `runtime`, started as Lambda starts a
/// custom runtime: the binary without arguments, the handler in `_HANDLER` (so the one binary
/// plays every function); up once it polls for invocations.
fn function(
    deployment: &Deployment,
    runtime: &LambdaRuntime,
    args: &[&str],
    extra: &[(&str, &str)],
) -> confab_e2e::Confab {
    let mut command = deployment.command(&[]);
    let _ = command.env("_HANDLER", format!("lambda {}", args.join(" ")));
    runtime.environment(&mut command, &format!("confab-{}", args.join("-")));
    for (key, value) in extra {
        let _ = command.env(key, value);
    }
    deployment.spawn(command)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_api_function_serves_the_spec_flows_behind_every_front() {
    let Some(backend) = Backend::kafka_dynamodb("the_api_function_serves_the_spec_flows") else { return };
    let deployment = Deployment::new(backend);
    let setup: serde_json::Value = serde_json::from_slice(&deployment.run(&["setup"]).stdout).unwrap();
    let topics = setup["topics"].as_array().unwrap();
    assert!(topics.iter().any(|t| t.as_str().unwrap().ends_with("confab.messages")), "{setup}");
    let _projections = deployment.consume();

    for (n, front) in [Front::HttpApi, Front::RestApi, Front::Alb].into_iter().enumerate() {
        let runtime = LambdaRuntime::start().await;
        // A REST API's stage is not part of the routes (as SAM's template sets it too).
        let _api = function(&deployment, &runtime, &["api"], &[("AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH", "true")]);
        let gateway = Gateway::start(runtime.clone(), front).await;
        let client = Client::new(&gateway.base_url);
        let (alice, bob) = (client.user(&format!("alice{n}")).await, client.user(&format!("bob{n}")).await);
        for i in 0..3 {
            let body = json!({ "recipient": bob.username, "message": format!("hello {i} via {front:?}") });
            let sent = client.post("/chat/send", Some(&alice.token), body).await;
            assert_eq!(sent.status, StatusCode::OK, "{front:?}: {}", sent.body);
        }
        // Read-your-writes through the consumers' checkpoints; pages through query strings.
        let history = client.full_history(&bob, &alice.username).await;
        let texts: Vec<&str> = history.iter().map(|m| m["content"].as_str().unwrap()).collect();
        let expected: Vec<String> = (0..3).map(|i| format!("hello {i} via {front:?}")).collect();
        assert_eq!(texts, expected, "{front:?}");
        let page = client.get(&format!("/chat/messages?recipient={}&limit=1", alice.username), Some(&bob.token)).await;
        assert_eq!(page.status, StatusCode::OK, "{front:?}: {}", page.body);
        // Errors are the API's own JSON, and a wrong password is refused.
        let unknown =
            client.post("/chat/send", Some(&alice.token), json!({ "recipient": "nobody-here", "message": "x" })).await;
        assert_eq!((unknown.status, unknown.error_code()), (StatusCode::NOT_FOUND, "recipient_not_found"), "{front:?}");
        let wrong =
            client.post("/auth/login", None, json!({ "username": alice.username, "password": "not it at all" })).await;
        assert_eq!(wrong.status, StatusCode::UNAUTHORIZED, "{front:?}");
        assert_eq!(client.get("/healthz", None).await.status, StatusCode::OK);
    }
}

/// A cold start makes no topic, table or bucket: without `confab setup`, the function does not
/// start, and nothing was created in its name.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_function_creates_nothing_at_cold_start() {
    let Some(backend) = Backend::kafka_dynamodb("a_function_creates_nothing_at_cold_start") else { return };
    let dynamodb = backend.external().unwrap().dynamodb.clone();
    let deployment = Deployment::new(backend);
    let runtime = LambdaRuntime::start().await;
    let mut command = deployment.command(&["lambda", "api"]);
    runtime.environment(&mut command, "confab-api");
    let stderr = deployment.refused(command);
    assert!(stderr.contains("DynamoDB"), "{stderr}");
    let tables = confab_e2e::dynamodb_client(&dynamodb).list_tables().send().await.unwrap();
    let ours: Vec<&String> =
        tables.table_names().iter().filter(|t| t.starts_with(deployment.namespace.as_str())).collect();
    assert!(ours.is_empty(), "created at cold start: {ours:?}");
}

/// Every record of `topic` (the broker's name), read with a client of the test's own.
fn broker_records(bootstrap: &str, topic: &str) -> Vec<KafkaRecordIn> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", format!("test-reader-{}", uuid::Uuid::new_v4()))
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let metadata = consumer.fetch_metadata(Some(topic), Duration::from_secs(10)).unwrap();
    let partitions = metadata.topics()[0].partitions().len() as i32;
    let mut assignment = TopicPartitionList::new();
    let mut ends = Vec::new();
    for partition in 0..partitions {
        let (_, high) = consumer.fetch_watermarks(topic, partition, Duration::from_secs(10)).unwrap();
        ends.push(high);
        assignment.add_partition_offset(topic, partition, Offset::Beginning).unwrap();
    }
    consumer.assign(&assignment).unwrap();
    let total: i64 = ends.iter().sum();
    let mut records = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while (records.len() as i64) < total {
        assert!(std::time::Instant::now() < deadline, "read {} of {total} records", records.len());
        let Some(message) = consumer.poll(Duration::from_millis(200)) else { continue };
        let message = message.unwrap();
        let headers = message
            .headers()
            .map(|h| h.iter().map(|h| (h.key.to_owned(), h.value.unwrap_or_default().to_vec())).collect())
            .unwrap_or_default();
        records.push(KafkaRecordIn {
            topic: topic.to_owned(),
            partition: message.partition(),
            offset: message.offset(),
            timestamp_ms: message.timestamp().to_millis().unwrap_or(0),
            key: message.key().map(<[u8]>::to_vec),
            value: message.payload().map(<[u8]>::to_vec),
            headers,
        });
    }
    records
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_consume_function_applies_real_records_and_a_replayed_batch_changes_nothing() {
    let Some(backend) = Backend::kafka_dynamodb("the_consume_function_applies_real_records") else { return };
    let bootstrap = backend.external().unwrap().kafka.clone();
    let deployment = Deployment::new(backend);
    let _ = deployment.run(&["setup"]);
    let api = deployment.api();
    let _others = deployment.consume_only(&["users", "groups", "attachments"]);
    let client = Client::new(&api.base_url);
    let (alice, bob) = (client.user("alice").await, client.user("bob").await);
    // Each send waits out --read-your-writes-timeout-ms, since nothing projects messages yet.
    for i in 0..3 {
        let sent = client.send(&alice, "bob", &format!("batch message {i}")).await;
        assert_eq!(sent.status, StatusCode::OK, "{}", sent.body);
    }
    let group = client.group(&alice, "lambda-fans", &["bob"]).await;
    let sent = client.group_send(&bob, &group, "in the group").await;
    assert_eq!(sent.status, StatusCode::OK, "{}", sent.body);
    assert!(client.full_history(&bob, "alice").await.is_empty(), "nothing projects messages yet");

    // A record no schema decodes, among the real ones: dead-lettered, not fatal.
    let topic = format!("{}confab.messages", deployment.namespace);
    let producer: FutureProducer = ClientConfig::new().set("bootstrap.servers", &bootstrap).create().unwrap();
    let poison = FutureRecord::to(&topic).key("poison").payload("not an avro record");
    let _ = producer.send(poison, Duration::from_secs(10)).await.unwrap();
    let records = broker_records(&bootstrap, &topic);
    assert_eq!(records.len(), 5, "three direct messages, one group message, one poison record");

    let runtime = LambdaRuntime::start().await;
    let _messages = function(&deployment, &runtime, &["consume", "messages"], &[]);
    let event = kafka_event(&records);
    let Outcome::Response(answer) = runtime.invoke(event.clone()).await else { panic!("the batch failed") };
    assert_eq!(answer["records"], 5);
    let texts: Vec<String> =
        client.full_history(&bob, "alice").await.iter().map(|m| m["content"].as_str().unwrap().to_owned()).collect();
    assert_eq!(texts, (0..3).map(|i| format!("batch message {i}")).collect::<Vec<_>>());
    assert_eq!(client.group_contents(&alice, &group).await, ["in the group"]);
    let dead = broker_records(&bootstrap, &format!("{}confab.deadletter", deployment.namespace));
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].value.as_deref(), Some(&b"not an avro record"[..]));
    assert!(dead[0].headers.iter().any(|(name, _)| name == "confab.dlq.offset"), "{:?}", dead[0].headers);

    // Lambda delivers a batch again after a timeout or a failed invocation: nothing changes.
    let before = deployment.tables();
    let Outcome::Response(again) = runtime.invoke(event).await else { panic!("the replayed batch failed") };
    assert_eq!(again["records"], 5);
    assert_eq!(deployment.tables(), before, "a replayed batch changes no read model");
    assert_eq!(client.full_history(&bob, "alice").await.len(), 3);

    // The analytics consumer the same way, on the three topics it reads, once and again.
    let mut everything = Vec::new();
    for topic in ["confab.users", "confab.messages", "confab.groups"] {
        everything.extend(broker_records(&bootstrap, &format!("{}{topic}", deployment.namespace)));
    }
    let runtime = LambdaRuntime::start().await;
    let _analytics = function(&deployment, &runtime, &["consume", "analytics"], &[]);
    let event = kafka_event(&everything);
    let report =
        || -> serde_json::Value { serde_json::from_slice(&deployment.run(&["analytics", "report"]).stdout).unwrap() };
    let Outcome::Response(_) = runtime.invoke(event.clone()).await else { panic!("the analytics batch failed") };
    let counted = report();
    assert_eq!(
        (counted["messages"]["direct"].as_i64(), counted["messages"]["group"].as_i64()),
        (Some(3), Some(1)),
        "{counted}"
    );
    let Outcome::Response(_) = runtime.invoke(event).await else { panic!("the replayed analytics batch failed") };
    assert_eq!(report(), counted, "a replayed batch counts nothing twice");
}
